/* Registering and changing what mailroom manages: accounts, credentials,
 * network connectors and settings. Each call is one transaction: it
 * validates everything (collecting every problem with its field), resolves
 * references by ID or name, seals secrets through the vault, and writes, or
 * changes nothing. The CLI uses it now; the HTTP API uses the same calls. */
#ifndef MR_REGISTRY_REGISTRY_H
#define MR_REGISTRY_REGISTRY_H

#include "store/store.h"
#include "util/error.h"
#include "vault/vault.h"

#include <stddef.h>
#include <stdint.h>

struct mr_registry {
    struct mr_store *store;
    struct mr_vault *vault; /* opened on first need */
    char actor[96];         /* who is changing things, for the audit log */
};

/* "cli:alice", or an API user's name. */
void mr_registry_set_actor(struct mr_registry *r, const char *actor);

/* Field values as text, keyed like the model's field tables. */
#define MR_INPUT_MAX 32

struct mr_input {
    size_t count;
    struct {
        const char *key;
        const char *value;
    } items[MR_INPUT_MAX];
};

void mr_input_add(struct mr_input *in, const char *key, const char *value);
const char *mr_input_get(const struct mr_input *in, const char *key);

int mr_registry_open(struct mr_registry *r, const char *dir, mr_error *err);
void mr_registry_close(struct mr_registry *r);
/* The vault for this store: on first use it makes the master key and
 * records its key check; after that it insists on the same key. */
int mr_registry_vault(struct mr_registry *r, struct mr_vault **out, mr_error *err);

/* oauth2: which secrets the credential holds (client_secret,
 * refresh_token, access_token: 1 each when held), never them. */
struct mr_oauth_held {
    int client_secret, refresh_token, access_token;
};
int mr_registry_oauth_held(struct mr_registry *r, int64_t id, struct mr_oauth_held *out,
                           mr_error *err);

/* The plain text of a credential's secret, for the protocol exchange only. */
int mr_registry_credential_secret(struct mr_registry *r, int64_t id, struct mr_secret **out,
                                  mr_error *err);

/* Accounts: keys are those of mr_account_fields; credential and connector
 * take an ID or a name. Giving a connector implies use_connector = yes;
 * use_connector = no alone clears the connector. MR_EINVAL with problems. */
/* An account from stored values (id, or 0 for defaults) changed by in,
 * validated but not saved: for testing a form's values. Its credential's
 * stored password goes only where a saved account already sends it (same
 * address, port, protocol, security, connector and certificate checks), or
 * nowhere yet: elsewhere a problem on "credential" asks for it typed again. */
int mr_registry_account_build(struct mr_registry *r, int64_t id, const struct mr_input *in,
                              struct mr_account *out, struct mr_problems *p, mr_error *err);
int mr_registry_account_add(struct mr_registry *r, const struct mr_input *in, int64_t *id,
                            struct mr_problems *p, mr_error *err);
int mr_registry_account_edit(struct mr_registry *r, int64_t id, const struct mr_input *in,
                             struct mr_problems *p, mr_error *err);
/* with_messages: delete its stored messages too (else refused if any). */
int mr_registry_account_remove(struct mr_registry *r, int64_t id, int with_messages, mr_error *err);

/* Credentials: name and username; the secret comes separately (NULL on edit
 * keeps the stored one) and is sealed before it reaches the store. */
int mr_registry_credential_add(struct mr_registry *r, const struct mr_input *in, const char *secret,
                               size_t secret_len, int64_t *id, struct mr_problems *p,
                               mr_error *err);
int mr_registry_credential_edit(struct mr_registry *r, int64_t id, const struct mr_input *in,
                                const char *secret, size_t secret_len, struct mr_problems *p,
                                mr_error *err);
int mr_registry_credential_remove(struct mr_registry *r, int64_t id, mr_error *err);

/* Connectors: keys name, type, address, port, credential (ID or name; empty
 * for none). */
int mr_registry_connector_add(struct mr_registry *r, const struct mr_input *in, int64_t *id,
                              struct mr_problems *p, mr_error *err);
int mr_registry_connector_edit(struct mr_registry *r, int64_t id, const struct mr_input *in,
                               struct mr_problems *p, mr_error *err);
int mr_registry_connector_remove(struct mr_registry *r, int64_t id, mr_error *err);

/* ref: an ID or name, or NULL / "none" to unset (refused while accounts
 * rely on the default). */
int mr_registry_set_default_connector(struct mr_registry *r, const char *ref, mr_error *err);
/* The same inside the caller's transaction (mr_registry_settings_update);
 * errors name field (the CLI's option or the API's key). */
int mr_registry_default_connector_apply(struct mr_registry *r, const char *ref, const char *field,
                                        mr_error *err);

#endif
