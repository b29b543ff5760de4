/* OAuth 2.0 tokens for oauth2 credentials. An access token comes from the
 * provider's token endpoint (with the refresh token, or the application's
 * own client credentials), is sealed in the vault with the refresh token
 * and reused until shortly before it expires; a refresh the provider
 * refuses is classified and kept on the credential (token_state) for the
 * report, the API and the console. The device authorization grant (RFC
 * 8628) signs a user in from a terminal. Every request is libcurl with its
 * own deadlines and a bounded answer; no token is ever logged. */
#ifndef MR_OAUTH_OAUTH_H
#define MR_OAUTH_OAUTH_H

#include "net/proxy.h"
#include "registry/registry.h"
#include "vault/vault.h"

#include <stdint.h>

/* A stored access token is used while it has more than this left. */
#define MR_OAUTH_EARLY_SECS 120

struct mr_oauth_token_info {
    int64_t expires_at; /* unix time */
    int refreshed;      /* 1: from the token endpoint just now; 0: the stored one */
    char scope[512];    /* as the provider granted it ("" when it did not say) */
};

/* An access token for credential_id (an oauth2 credential): the stored one
 * (via: the network connector to reach the provider through, as the
 * account's mail server is; NULL: directly)
 * while it is fresh (unless force: the server refused it), else a new one,
 * saved before it is returned, a rotated refresh token with it. One
 * request at a time per credential across threads and processes: the
 * others wait, then take what it saved. Errors: MR_EAUTH (the provider
 * refused: consent needed, client misconfigured; token_state says which),
 * MR_ENET / MR_ETIMEOUT / MR_EPROTO (the provider unreachable or its answer
 * unreadable: the stored tokens stay). */
int mr_oauth_access_token(struct mr_registry *r, int64_t credential_id, int force,
                          const struct mr_proxy *via, struct mr_secret **token,
                          struct mr_oauth_token_info *info, mr_error *err);

/* The device authorization grant: start asks the provider for a code the
 * user types at verification_uri; wait polls the token endpoint as the
 * provider says (interval, slow_down) until the user has signed in (the
 * tokens are saved), refused, or the code expired. */
struct mr_oauth_device {
    char user_code[64];
    char verification_uri[512];
    char verification_uri_complete[1024]; /* "" when the provider gives none */
    int expires_in, interval;             /* seconds */
    struct mr_secret *device_code;
    char message[512]; /* the provider's own instructions, when it gives them */
};
int mr_oauth_device_start(struct mr_registry *r, int64_t credential_id, struct mr_oauth_device *d,
                          mr_error *err);
/* cancelled (may be NULL) is asked every second; when it says so, the wait
 * ends with MR_EINVAL "cancelled". */
int mr_oauth_device_wait(struct mr_registry *r, int64_t credential_id, struct mr_oauth_device *d,
                         int (*cancelled)(void *ctx), void *ctx, mr_error *err);

/* The authorization code grant with PKCE (RFC 7636, S256), for the
 * console: the provider's sign-in address for the credential (to free),
 * with state and the challenge of verifier; then the code it sends back
 * exchanged for tokens, saved. redirect_uri must be the same in both and
 * registered with the provider. */
int mr_oauth_sign_in_url(struct mr_registry *r, int64_t credential_id, const char *redirect_uri,
                         const char *state, const char *verifier, char **url, mr_error *err);
int mr_oauth_exchange_code(struct mr_registry *r, int64_t credential_id, const char *code,
                           const char *verifier, const char *redirect_uri, mr_error *err);
/* A random URL-safe string of 43 characters (256 bits), for state, PKCE
 * verifiers and nonces. */
void mr_oauth_random(char out[44]);
void mr_oauth_device_clear(struct mr_oauth_device *d);

/* A plain-language line for a token_state (MR_TOKEN_*), for lists. */
const char *mr_oauth_state_text(const char *state);

#endif
