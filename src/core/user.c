#include "core/user.h"

#include "util/mem.h"
#include "util/text.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void mr_user_clear(struct mr_user *u)
{
    mr_freep(&u->name);
}

void mr_token_clear(struct mr_token *t)
{
    mr_freep(&t->user_name);
    mr_freep(&t->name);
}

void mr_check_token_name(const char *name, struct mr_problems *p)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0)
        mr_problems_add(p, "name", "is required");
    else if (n > MR_TOKEN_NAME_MAX)
        mr_problems_add(p, "name", "is longer than %d bytes", MR_TOKEN_NAME_MAX);
    else if (!mr_utf8_valid(name, n) || mr_str_has_control(name))
        mr_problems_add(p, "name", "must be UTF-8 text without control characters");
}

const char *mr_role_name(enum mr_role r)
{
    return r == MR_ROLE_ADMIN ? "admin" : r == MR_ROLE_VIEWER ? "viewer" : "";
}

int mr_role_parse(const char *s, enum mr_role *out)
{
    if (strcasecmp(s, "admin") == 0)
        *out = MR_ROLE_ADMIN;
    else if (strcasecmp(s, "viewer") == 0)
        *out = MR_ROLE_VIEWER;
    else
        return MR_EINVAL;
    return 0;
}

void mr_check_user_name(const char *name, struct mr_problems *p)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0) {
        mr_problems_add(p, "name", "is required");
        return;
    }
    if (n > 64) {
        mr_problems_add(p, "name", "is longer than 64 characters");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && !strchr(".-_@", c)) {
            mr_problems_add(p, "name", "may hold only letters, digits, '.', '-', '_' and '@'");
            return;
        }
    }
}

void mr_check_password(const char *password, size_t len, struct mr_problems *p)
{
    if (len < MR_PASSWORD_MIN)
        mr_problems_add(p, "password", "must be at least %d characters", MR_PASSWORD_MIN);
    else if (len > 1024 || memchr(password, '\0', len))
        mr_problems_add(p, "password", "must be at most 1024 characters, without NUL");
}
