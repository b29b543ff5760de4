/* People who use the console and the API, and what they may do. */
#ifndef MR_CORE_USER_H
#define MR_CORE_USER_H

#include "util/error.h"

#include <stdint.h>

enum mr_role {
    MR_ROLE_NONE = 0,
    MR_ROLE_VIEWER, /* reads reports and the inbox, changes nothing */
    MR_ROLE_ADMIN,  /* everything */
};

#define MR_PASSWORD_MIN 10

struct mr_user {
    int64_t id;
    char *name;
    enum mr_role role;
    int64_t created_at, updated_at;
};

void mr_user_clear(struct mr_user *u);
const char *mr_role_name(enum mr_role r);
int mr_role_parse(const char *s, enum mr_role *out);
/* A user name: 1-64 of letters, digits, '.', '-', '_', '@'. */
void mr_check_user_name(const char *name, struct mr_problems *p);
/* At least MR_PASSWORD_MIN characters. */
void mr_check_password(const char *password, size_t len, struct mr_problems *p);

#endif
