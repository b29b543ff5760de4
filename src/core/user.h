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

/* An API token as listed: never its secret, which only its creator saw. */
struct mr_token {
    int64_t id, user_id;
    char *user_name, *name;
    int64_t created_at;
    int64_t expires_at;   /* 0: never */
    int64_t last_used_at; /* 0: never used (kept to the minute) */
    int read_only;        /* 1: reads only, whatever the user's role */
};

#define MR_TOKEN_NAME_MAX     100
#define MR_TOKEN_EXPIRES_DAYS 3650 /* the longest expiry one can ask for */

void mr_user_clear(struct mr_user *u);
void mr_token_clear(struct mr_token *t);
/* A token's label: 1 to MR_TOKEN_NAME_MAX bytes of UTF-8 without control
 * characters. */
void mr_check_token_name(const char *name, struct mr_problems *p);
const char *mr_role_name(enum mr_role r);
int mr_role_parse(const char *s, enum mr_role *out);
/* A user name: 1-64 of letters, digits, '.', '-', '_', '@'. */
void mr_check_user_name(const char *name, struct mr_problems *p);
/* At least MR_PASSWORD_MIN characters. */
void mr_check_password(const char *password, size_t len, struct mr_problems *p);

#endif
