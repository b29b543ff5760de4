#include "core/credential.h"

#include "core/names.h"
#include "util/mem.h"
#include "util/text.h"

#include <string.h>

void mr_credential_init(struct mr_credential *c)
{
    memset(c, 0, sizeof(*c));
}

void mr_credential_clear(struct mr_credential *c)
{
    mr_freep(&c->name);
    mr_freep(&c->username);
}

const char *mr_credential_kind_name(enum mr_credential_kind k)
{
    return k == MR_CREDENTIAL_PASSWORD ? "password" : "";
}

int mr_credential_validate(const struct mr_credential *c, struct mr_problems *p)
{
    size_t before = p->count;
    mr_check_name(c->name, "name", p);
    if (!c->username || !*c->username)
        mr_problems_add(p, "username", "is required");
    else if (strlen(c->username) > MR_USERNAME_MAX)
        mr_problems_add(p, "username", "is longer than %d bytes", MR_USERNAME_MAX);
    else if (!mr_utf8_valid(c->username, strlen(c->username)) || mr_str_has_control(c->username))
        mr_problems_add(p, "username", "must be UTF-8 text without control characters");
    if (!c->has_secret)
        mr_problems_add(p, "password", "is required");
    return p->count > before ? MR_EINVAL : 0;
}

int mr_credential_check_secret(const char *secret, size_t len, struct mr_problems *p)
{
    if (len == 0) {
        mr_problems_add(p, "password", "is empty");
        return MR_EINVAL;
    }
    if (len > MR_SECRET_MAX) {
        mr_problems_add(p, "password", "is longer than %d bytes", MR_SECRET_MAX);
        return MR_EINVAL;
    }
    if (memchr(secret, '\0', len)) {
        mr_problems_add(p, "password", "must not contain a NUL byte");
        return MR_EINVAL;
    }
    return 0;
}
