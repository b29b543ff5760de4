/* Credentials: a name, a user name and a secret kept in the vault. The model
 * only knows whether a secret is set; the secret itself never enters it. */
#ifndef MR_CORE_CREDENTIAL_H
#define MR_CORE_CREDENTIAL_H

#include "util/error.h"

#include <stdint.h>

/* A password, or an OAuth 2.0 grant: the provider's settings here, the
 * client secret and the tokens sealed in the vault (oauth/token.h). */
enum mr_credential_kind { MR_CREDENTIAL_PASSWORD = 0, MR_CREDENTIAL_OAUTH2 = 1 };

#define MR_USERNAME_MAX  320 /* an e-mail address at its longest */
#define MR_SECRET_MAX    65536
#define MR_OAUTH_URL_MAX 2048

enum mr_oauth_provider { MR_OAUTH_MICROSOFT, MR_OAUTH_GOOGLE, MR_OAUTH_OTHER };
/* delegated: a user signed in (authorization code, device code or an
 * imported refresh token); app: the application's own access (client
 * credentials, Microsoft 365 app-only) */
enum mr_oauth_flow { MR_OAUTH_DELEGATED, MR_OAUTH_APP };

struct mr_oauth {
    enum mr_oauth_provider provider;
    enum mr_oauth_flow flow;
    char *tenant;    /* Microsoft: a tenant ID or domain, organizations, consumers, common */
    char *client_id; /* the application (client) ID */
    char *scopes;    /* space-separated; NULL: the provider's for the flow */
    /* NULL: the provider's; other: typed in (authorize and device optional) */
    char *authorize_url, *token_url, *device_url;
};

/* What the last token request said (the store keeps it; NULL: none yet). */
#define MR_TOKEN_OK                   "ok"
#define MR_TOKEN_CONSENT_NEEDED       "consent_needed"
#define MR_TOKEN_CLIENT_MISCONFIGURED "client_misconfigured"
#define MR_TOKEN_PROVIDER_UNREACHABLE "provider_unreachable"
#define MR_TOKEN_REFUSED              "refused"

struct mr_credential {
    int64_t id;
    char *name;
    enum mr_credential_kind kind;
    char *username; /* oauth2: the mailbox (login name), which may differ from who consented */
    int has_secret;
    struct mr_oauth oauth; /* oauth2 only */
    char *token_state, *token_error;
    int64_t token_expires_at, token_refreshed_at; /* the access token's; 0: none */
    int64_t token_signed_in_at; /* a user's last sign-in (or imported refresh token); 0: none */
    int64_t created_at, updated_at;
};

void mr_credential_init(struct mr_credential *c);
void mr_credential_clear(struct mr_credential *c);
const char *mr_credential_kind_name(enum mr_credential_kind k);
int mr_credential_validate(const struct mr_credential *c, struct mr_problems *p);
/* A secret is 1 to MR_SECRET_MAX bytes with no NUL. */
int mr_credential_check_secret(const char *secret, size_t len, struct mr_problems *p);
int mr_credential_kind_parse(const char *s, enum mr_credential_kind *out);

const char *mr_oauth_provider_name(enum mr_oauth_provider p);
int mr_oauth_provider_parse(const char *s, enum mr_oauth_provider *out);
const char *mr_oauth_flow_name(enum mr_oauth_flow f);
int mr_oauth_flow_parse(const char *s, enum mr_oauth_flow *out);
void mr_oauth_clear(struct mr_oauth *o);
/* The endpoints and scopes in effect: typed in, else the provider's. Each
 * is a new string (NULL when there is none: a device URL for "other"). */
char *mr_oauth_token_url(const struct mr_oauth *o);
char *mr_oauth_authorize_url(const struct mr_oauth *o);
char *mr_oauth_device_url(const struct mr_oauth *o);
char *mr_oauth_scopes(const struct mr_oauth *o);
/* The settings as stored (JSON text, to free) and back. */
char *mr_oauth_to_json(const struct mr_oauth *o);
int mr_oauth_from_json(const char *text, struct mr_oauth *o);
/* When a delegated sign-in lapses unless renewed (0: no known limit), and
 * why: Microsoft drops a refresh token unused for 90 days; Google one of an
 * app still "in testing" 7 days after the sign-in. */
int64_t mr_oauth_lapses_at(const struct mr_credential *c, const char **why);
/* Where a token endpoint may be: https, or http on this machine only (a
 * client secret and refresh tokens never cross a network in clear). */
int mr_oauth_check_url(const char *url, const char *field, struct mr_problems *p);

#endif
