/* Users, logins and API tokens: passwords hashed with Argon2id (libsodium),
 * session and token secrets kept only as their SHA-256. */
#ifndef MR_REGISTRY_USERS_H
#define MR_REGISTRY_USERS_H

#include "registry/registry.h"

#define MR_SECRET_TOKEN_LEN 64 /* hex characters of a session or API token */

int mr_registry_user_add(struct mr_registry *r, const char *name, enum mr_role role,
                         const char *password, size_t len, int64_t *id, struct mr_problems *p,
                         mr_error *err);
/* Changes the password (ends the user's sessions) and/or the role (role
 * MR_ROLE_NONE keeps it); the last admin cannot stop being one. */
int mr_registry_user_edit(struct mr_registry *r, int64_t id, enum mr_role role,
                          const char *password, size_t len, struct mr_problems *p, mr_error *err);
int mr_registry_user_remove(struct mr_registry *r, int64_t id, mr_error *err);
/* Checks a password; MR_EAUTH (one message whatever was wrong). */
int mr_registry_login(struct mr_registry *r, const char *name, const char *password,
                      struct mr_user *out, mr_error *err);

/* A new session for user: token for the cookie, csrf for the header. */
int mr_registry_session_start(struct mr_registry *r, int64_t user,
                              char token[MR_SECRET_TOKEN_LEN + 1], char csrf[72], mr_error *err);
int mr_registry_session_find(struct mr_registry *r, const char *token,
                             const struct mr_session_limits *limits, struct mr_user *user,
                             char csrf[72], mr_error *err);
int mr_registry_session_end(struct mr_registry *r, const char *token, mr_error *err);
/* A new API token for t->user_id, shown once: t's name, read_only and
 * expires_in_days (0: never expires) are checked (problems go to p), and
 * its id, created_at and expires_at filled in. Audited on the user. */
int mr_registry_token_create(struct mr_registry *r, struct mr_token *t, int expires_in_days,
                             char token[MR_SECRET_TOKEN_LEN + 1], struct mr_problems *p,
                             mr_error *err);
/* The user a bearer token acts for and whether it only reads; MR_ENOTFOUND,
 * or MR_EAUTH with a message for an expired one. */
int mr_registry_token_find(struct mr_registry *r, const char *token, struct mr_user *user,
                           int *read_only, mr_error *err);
int mr_registry_token_revoke(struct mr_registry *r, int64_t id, mr_error *err);
/* Revokes every token of the user (a changed password: the old one may
 * have leaked with them); *n says how many. */
int mr_registry_tokens_revoke_user(struct mr_registry *r, int64_t user, size_t *n, mr_error *err);
/* A random password for the first admin. */
void mr_registry_random_password(char out[25]);

#endif
