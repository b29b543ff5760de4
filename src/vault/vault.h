/* Secrets at rest. Only this module sees a secret in clear outside the
 * protocol exchange. Secrets are sealed with XChaCha20-Poly1305 under a
 * 32-byte master key taken from $MAILROOM_MASTER_KEY (64 hex digits) or from
 * DIR/master.key (0600, made on first use). A sealed secret is
 *   version (1 byte) | nonce (24 bytes) | ciphertext + tag (16 bytes).
 * A key check (a sealed known text, kept in the store) tells a wrong key
 * from a damaged secret. */
#ifndef MR_VAULT_VAULT_H
#define MR_VAULT_VAULT_H

#include "util/buf.h"
#include "util/error.h"

#include <stddef.h>

#define MR_VAULT_KEY_FILE "master.key"
#define MR_VAULT_KEY_ENV  "MAILROOM_MASTER_KEY"

struct mr_vault;

/* Plain text of a secret, in locked memory that is wiped when freed. */
struct mr_secret {
    char *data; /* NUL-terminated */
    size_t len;
};

/* create: when no key exists, make DIR/master.key; otherwise a missing key
 * is an error. A key file readable by group or others is refused. */
int mr_vault_open(struct mr_vault **out, const char *dir, int create, mr_error *err);
void mr_vault_close(struct mr_vault **v);
/* Where the key came from, for messages: the file path or the variable. */
const char *mr_vault_key_source(const struct mr_vault *v);

int mr_vault_make_check(struct mr_vault *v, struct mr_buf *out, mr_error *err);
int mr_vault_verify_check(struct mr_vault *v, const void *check, size_t len, mr_error *err);

int mr_vault_seal(struct mr_vault *v, const void *plain, size_t len, struct mr_buf *out,
                  mr_error *err);
int mr_vault_unseal(struct mr_vault *v, const void *sealed, size_t len, struct mr_secret **out,
                    mr_error *err);
/* A copy of len bytes of text in locked memory (for a secret that did not
 * come out of the vault: a token a provider just sent). */
struct mr_secret *mr_secret_dup(const char *text, size_t len);
void mr_secret_free(struct mr_secret **s);

#endif
