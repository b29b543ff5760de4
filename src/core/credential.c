#include "core/credential.h"

#include "core/names.h"
#include "util/mem.h"
#include "util/text.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

void mr_credential_init(struct mr_credential *c)
{
    memset(c, 0, sizeof(*c));
}

void mr_credential_clear(struct mr_credential *c)
{
    mr_freep(&c->name);
    mr_freep(&c->username);
    mr_oauth_clear(&c->oauth);
    mr_freep(&c->token_state);
    mr_freep(&c->token_error);
}

const char *mr_credential_kind_name(enum mr_credential_kind k)
{
    return k == MR_CREDENTIAL_PASSWORD ? "password" : k == MR_CREDENTIAL_OAUTH2 ? "oauth2" : "";
}

int mr_credential_kind_parse(const char *s, enum mr_credential_kind *out)
{
    if (s && strcasecmp(s, "password") == 0)
        *out = MR_CREDENTIAL_PASSWORD;
    else if (s && strcasecmp(s, "oauth2") == 0)
        *out = MR_CREDENTIAL_OAUTH2;
    else
        return -1;
    return 0;
}

/* --- OAuth 2.0 providers ------------------------------------------------------
 * Sources (docs/oauth.md): Microsoft identity platform, "Authenticate an
 * IMAP, POP or SMTP connection using OAuth" and "OAuth 2.0 device
 * authorization grant"; Google, "OAuth 2.0 for TV and Limited-Input Device
 * Applications" and "OAuth 2.0 Mechanism" for Gmail IMAP. */

#define MS_LOGIN "https://login.microsoftonline.com/"
#define MS_DELEGATED_SCOPES                                                                        \
    "https://outlook.office.com/IMAP.AccessAsUser.All "                                            \
    "https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send "        \
    "offline_access"
#define MS_APP_SCOPES "https://outlook.office365.com/.default"
#define GOOGLE_SCOPES "https://mail.google.com/"

static const char *const provider_names[] = {"microsoft", "google", "other"};

const char *mr_oauth_provider_name(enum mr_oauth_provider p)
{
    return (unsigned)p < 3 ? provider_names[p] : "";
}

int mr_oauth_provider_parse(const char *s, enum mr_oauth_provider *out)
{
    for (int i = 0; s && i < 3; i++)
        if (strcasecmp(s, provider_names[i]) == 0) {
            *out = (enum mr_oauth_provider)i;
            return 0;
        }
    return -1;
}

const char *mr_oauth_flow_name(enum mr_oauth_flow f)
{
    return f == MR_OAUTH_APP ? "app" : "delegated";
}

int mr_oauth_flow_parse(const char *s, enum mr_oauth_flow *out)
{
    if (s && strcasecmp(s, "delegated") == 0)
        *out = MR_OAUTH_DELEGATED;
    else if (s && strcasecmp(s, "app") == 0)
        *out = MR_OAUTH_APP;
    else
        return -1;
    return 0;
}

void mr_oauth_clear(struct mr_oauth *o)
{
    mr_freep(&o->tenant);
    mr_freep(&o->client_id);
    mr_freep(&o->scopes);
    mr_freep(&o->authorize_url);
    mr_freep(&o->token_url);
    mr_freep(&o->device_url);
}

static const char *ms_tenant(const struct mr_oauth *o)
{
    return o->tenant && *o->tenant ? o->tenant : "common";
}

static char *preset_url(const struct mr_oauth *o, const char *typed, const char *ms_path,
                        const char *google)
{
    if (typed && *typed)
        return mr_xstrdup(typed);
    if (o->provider == MR_OAUTH_MICROSOFT)
        return mr_xasprintf(MS_LOGIN "%s/oauth2/v2.0/%s", ms_tenant(o), ms_path);
    if (o->provider == MR_OAUTH_GOOGLE && google)
        return mr_xstrdup(google);
    return NULL;
}

char *mr_oauth_token_url(const struct mr_oauth *o)
{
    return preset_url(o, o->token_url, "token", "https://oauth2.googleapis.com/token");
}

char *mr_oauth_authorize_url(const struct mr_oauth *o)
{
    return preset_url(o, o->authorize_url, "authorize",
                      "https://accounts.google.com/o/oauth2/v2/auth");
}

char *mr_oauth_device_url(const struct mr_oauth *o)
{
    return preset_url(o, o->device_url, "devicecode", "https://oauth2.googleapis.com/device/code");
}

char *mr_oauth_scopes(const struct mr_oauth *o)
{
    if (o->scopes && *o->scopes)
        return mr_xstrdup(o->scopes);
    if (o->provider == MR_OAUTH_MICROSOFT)
        return mr_xstrdup(o->flow == MR_OAUTH_APP ? MS_APP_SCOPES : MS_DELEGATED_SCOPES);
    if (o->provider == MR_OAUTH_GOOGLE)
        return mr_xstrdup(GOOGLE_SCOPES);
    return mr_xstrdup("");
}

static void put(json_t *obj, const char *key, const char *value)
{
    if (value && *value)
        json_object_set_new(obj, key, json_string(value));
}

char *mr_oauth_to_json(const struct mr_oauth *o)
{
    json_t *obj = json_object();
    put(obj, "provider", mr_oauth_provider_name(o->provider));
    put(obj, "flow", mr_oauth_flow_name(o->flow));
    put(obj, "tenant", o->tenant);
    put(obj, "client_id", o->client_id);
    put(obj, "scopes", o->scopes);
    put(obj, "authorize_url", o->authorize_url);
    put(obj, "token_url", o->token_url);
    put(obj, "device_url", o->device_url);
    char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(obj);
    return text;
}

static char *get(json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? mr_xstrdup(v) : NULL;
}

int mr_oauth_from_json(const char *text, struct mr_oauth *o)
{
    json_t *obj = text ? json_loads(text, 0, NULL) : NULL;
    mr_oauth_clear(o);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return -1;
    }
    int rc =
        mr_oauth_provider_parse(json_string_value(json_object_get(obj, "provider")), &o->provider) |
        mr_oauth_flow_parse(json_string_value(json_object_get(obj, "flow")), &o->flow);
    o->tenant = get(obj, "tenant");
    o->client_id = get(obj, "client_id");
    o->scopes = get(obj, "scopes");
    o->authorize_url = get(obj, "authorize_url");
    o->token_url = get(obj, "token_url");
    o->device_url = get(obj, "device_url");
    json_decref(obj);
    return rc ? -1 : 0;
}

int64_t mr_oauth_lapses_at(const struct mr_credential *c, const char **why)
{
    *why = "";
    if (c->kind != MR_CREDENTIAL_OAUTH2 || c->oauth.flow != MR_OAUTH_DELEGATED ||
        !c->token_signed_in_at)
        return 0;
    if (c->oauth.provider == MR_OAUTH_MICROSOFT) {
        int64_t used = c->token_refreshed_at > c->token_signed_in_at ? c->token_refreshed_at
                                                                     : c->token_signed_in_at;
        *why = "Microsoft drops a refresh token unused for 90 days";
        return used + 90 * 86400;
    }
    if (c->oauth.provider == MR_OAUTH_GOOGLE) {
        *why = "if the app is still in testing at Google, its sign-ins last 7 days";
        return c->token_signed_in_at + 7 * 86400;
    }
    return 0;
}

int mr_oauth_check_url(const char *url, const char *field, struct mr_problems *p)
{
    size_t before = p->count;
    if (!url || !*url)
        return 0;
    if (strlen(url) > MR_OAUTH_URL_MAX || mr_str_has_control(url) || strchr(url, ' '))
        mr_problems_add(p, field, "is not a URL of at most %d bytes", MR_OAUTH_URL_MAX);
    else if (strncasecmp(url, "https://", 8) != 0) {
        static const char *const local[] = {"http://127.", "http://localhost:", "http://localhost/",
                                            "http://[::1]"};
        int ok = 0;
        for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
            ok |= strncasecmp(url, local[i], strlen(local[i])) == 0;
        if (!ok)
            mr_problems_add(p, field,
                            "must be an https:// URL (http only on this machine: the client "
                            "secret and tokens would cross the network in clear)");
    }
    return p->count > before ? MR_EINVAL : 0;
}

static int token_chars(const char *s, size_t max)
{
    return s && *s && strlen(s) <= max && !mr_str_has_control(s) && mr_utf8_valid(s, strlen(s));
}

static void validate_oauth(const struct mr_oauth *o, struct mr_problems *p)
{
    if (!o->client_id || !*o->client_id)
        mr_problems_add(p, "client_id", "is required (the application ID the provider gave)");
    else if (!token_chars(o->client_id, 256) || strchr(o->client_id, ' '))
        mr_problems_add(p, "client_id", "must be at most 256 bytes, without spaces");
    if (o->tenant && *o->tenant &&
        strspn(o->tenant, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR"
                          "STUVWXYZ0123456789.-") != strlen(o->tenant))
        mr_problems_add(p, "tenant", "must be a tenant ID or domain (letters, digits, . and -)");
    if (o->tenant && *o->tenant && o->provider != MR_OAUTH_MICROSOFT)
        mr_problems_add(p, "tenant", "applies only to Microsoft");
    if (o->scopes && *o->scopes && !token_chars(o->scopes, 1024))
        mr_problems_add(p, "scopes", "must be at most 1024 bytes of text");
    mr_oauth_check_url(o->token_url, "token_url", p);
    mr_oauth_check_url(o->authorize_url, "authorize_url", p);
    mr_oauth_check_url(o->device_url, "device_url", p);
    if (o->provider == MR_OAUTH_OTHER && (!o->token_url || !*o->token_url))
        mr_problems_add(p, "token_url", "is required for provider other");
    if (o->flow == MR_OAUTH_APP && o->provider == MR_OAUTH_GOOGLE)
        mr_problems_add(p, "flow",
                        "Google has no client-credentials access to mailboxes: use delegated");
    if (o->flow == MR_OAUTH_APP && o->provider == MR_OAUTH_MICROSOFT) {
        const char *t = ms_tenant(o);
        if (strcmp(t, "common") == 0 || strcmp(t, "organizations") == 0 ||
            strcmp(t, "consumers") == 0)
            mr_problems_add(p, "tenant",
                            "app access needs your tenant's ID or domain (not %s): Microsoft "
                            "Entra admin center, Overview, Tenant ID",
                            t);
    }
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
    if (c->kind == MR_CREDENTIAL_OAUTH2)
        validate_oauth(&c->oauth, p);
    else if (!c->has_secret)
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
