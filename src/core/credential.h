/* Credentials: a name, a user name and a secret kept in the vault. The model
 * only knows whether a secret is set; the secret itself never enters it. */
#ifndef MR_CORE_CREDENTIAL_H
#define MR_CORE_CREDENTIAL_H

#include "util/error.h"

#include <stdint.h>

/* Only passwords today; the store's kind column leaves room for OAuth2. */
enum mr_credential_kind { MR_CREDENTIAL_PASSWORD = 0 };

#define MR_USERNAME_MAX 320 /* an e-mail address at its longest */
#define MR_SECRET_MAX   65536

struct mr_credential {
    int64_t id;
    char *name;
    enum mr_credential_kind kind;
    char *username;
    int has_secret;
    int64_t created_at, updated_at;
};

void mr_credential_init(struct mr_credential *c);
void mr_credential_clear(struct mr_credential *c);
const char *mr_credential_kind_name(enum mr_credential_kind k);
int mr_credential_validate(const struct mr_credential *c, struct mr_problems *p);
/* A secret is 1 to MR_SECRET_MAX bytes with no NUL. */
int mr_credential_check_secret(const char *secret, size_t len, struct mr_problems *p);

#endif
