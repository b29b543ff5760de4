#include "oauth/oauth.h"

#include "store/store.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/text.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_MAX      (64 * 1024) /* a token answer is a few KiB */
#define CONNECT_SECS    10L
#define REQUEST_SECS    30L
#define EXPIRES_DEFAULT 3600  /* expires_in missing: what providers give */
#define EXPIRES_MAX     86400 /* a day: longer is not believed */
#define EXPIRES_MIN     30

/* --- one request to the provider ------------------------------------------ */

struct answer {
    long status; /* HTTP status; 0: no answer */
    json_t *json;
    char error[64];        /* the OAuth error code, "" for none */
    char description[256]; /* error_description, fit to show */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_start(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    struct mr_buf *b = ctx;
    return mr_buf_append(b, p, size * n) == 0 ? size * n : 0; /* past the cap: curl stops */
}

/* What a server said, fit to show in a message: printable ASCII only. */
static void shown(char *dst, size_t size, const char *src)
{
    size_t o = 0;
    for (; src && *src && o + 1 < size; src++)
        dst[o++] = (unsigned char)*src >= 0x20 && (unsigned char)*src < 0x7f ? *src : '?';
    dst[o] = '\0';
}

static void answer_clear(struct answer *a)
{
    json_decref(a->json);
    memset(a, 0, sizeof(*a));
}

/* POSTs form (application/x-www-form-urlencoded) to url. 0 with an answer
 * (whatever its status), or MR_ENET / MR_ETIMEOUT / MR_EPROTO. */
/* Through a network connector: SOCKS5 (the name resolved by the proxy or
 * here, as the connector says) or an HTTP CONNECT tunnel (TLS to the proxy
 * when it says so), with its credentials. */
static void set_proxy(CURL *curl, const struct mr_proxy *p, char *url, size_t size)
{
    int http = p->type == MR_PROXY_HTTP;
    snprintf(url, size, "%s://%s%s%s:%d",
             http ? (p->tls ? "https" : "http") : (p->resolve_local ? "socks5" : "socks5h"),
             strchr(p->host, ':') ? "[" : "", p->host, strchr(p->host, ':') ? "]" : "", p->port);
    curl_easy_setopt(curl, CURLOPT_PROXY, url);
    if (http)
        curl_easy_setopt(curl, CURLOPT_HTTPPROXYTUNNEL, 1L);
    if (p->username) {
        curl_easy_setopt(curl, CURLOPT_PROXYUSERNAME, p->username);
        curl_easy_setopt(curl, CURLOPT_PROXYPASSWORD, p->password ? p->password : "");
    }
    if (http && p->tls) {
        curl_easy_setopt(curl, CURLOPT_PROXY_SSL_VERIFYPEER, p->verify ? 1L : 0L);
        curl_easy_setopt(curl, CURLOPT_PROXY_SSL_VERIFYHOST, p->verify ? 2L : 0L);
        if (p->ca_file)
            curl_easy_setopt(curl, CURLOPT_PROXY_CAINFO, p->ca_file);
    }
}

static int post_form(const char *url, const char *form, const struct mr_proxy *via,
                     struct answer *a, mr_error *err)
{
    char proxy_url[600];
    char errbuf[CURL_ERROR_SIZE] = "";
    struct mr_buf body;
    memset(a, 0, sizeof(*a));
    mr_buf_init(&body, ANSWER_MAX);
    pthread_once(&curl_once, curl_start);
    CURL *curl = curl_easy_init();
    if (!curl)
        return mr_error_set(err, MR_EIO, "", "cannot start libcurl");
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http"); /* http: loopback only (checked) */
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CONNECT_SECS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, REQUEST_SECS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mailroom");
    if (via)
        set_proxy(curl, via, proxy_url, sizeof(proxy_url));
    else
        curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* not $https_proxy: connectors say */
    CURLcode cc = curl_easy_perform(curl);
    int rc = 0;
    if (cc == CURLE_WRITE_ERROR)
        rc = mr_error_set(err, MR_EPROTO, "", "the answer of %s is larger than %d KiB", url,
                          ANSWER_MAX / 1024);
    else if (cc != CURLE_OK && via)
        rc = mr_error_set(err, cc == CURLE_OPERATION_TIMEDOUT ? MR_ETIMEOUT : MR_ENET, "",
                          "cannot reach %s through network connector %s: %s", url,
                          via->name ? via->name : "", *errbuf ? errbuf : curl_easy_strerror(cc));
    else if (cc != CURLE_OK)
        rc = mr_error_set(err, cc == CURLE_OPERATION_TIMEDOUT ? MR_ETIMEOUT : MR_ENET, "",
                          "cannot reach %s: %s", url, *errbuf ? errbuf : curl_easy_strerror(cc));
    else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->status);
        a->json = json_loadb(body.data ? body.data : "", body.len, 0, NULL);
        if (!json_is_object(a->json)) {
            json_decref(a->json);
            a->json = NULL;
        }
        const char *e = json_string_value(json_object_get(a->json, "error"));
        shown(a->error, sizeof(a->error), e);
        shown(a->description, sizeof(a->description),
              json_string_value(json_object_get(a->json, "error_description")));
    }
    if (body.data)
        sodium_memzero(body.data, body.len); /* it held tokens */
    mr_buf_free(&body);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc;
}

/* --- forms ------------------------------------------------------------------ */

struct form {
    struct mr_buf b;
};

/* Room for the usual form at once: a buffer that grew would leave copies
 * of the secrets in it behind. */
static void form_init(struct form *f)
{
    mr_buf_init(&f->b, 4 * MR_SECRET_MAX);
    mr_buf_reserve_exact(&f->b, 16384);
}

static void form_add(struct form *f, const char *key, const char *value)
{
    if (!value || !*value)
        return;
    char *v = curl_easy_escape(NULL, value, 0);
    if (f->b.len)
        mr_buf_putc(&f->b, '&');
    mr_buf_puts(&f->b, key);
    mr_buf_putc(&f->b, '=');
    mr_buf_puts(&f->b, v ? v : "");
    if (v) {
        sodium_memzero(v, strlen(v));
        curl_free(v);
    }
}

static const char *form_text(struct form *f)
{
    mr_buf_putc(&f->b, '\0');
    return f->b.data;
}

static void form_free(struct form *f)
{
    if (f->b.data)
        sodium_memzero(f->b.data, f->b.len);
    mr_buf_free(&f->b);
}

/* --- the credential's sealed tokens ------------------------------------------ */

struct tokens {
    struct mr_secret *plain; /* the sealed JSON */
    json_t *json;            /* its object: client_secret, refresh_token, access_token */
};

static const char *tok(const struct tokens *t, const char *key)
{
    const char *v = json_string_value(json_object_get(t->json, key));
    return v && *v ? v : NULL;
}

static int tokens_load(struct mr_registry *r, int64_t id, struct tokens *t, mr_error *err)
{
    memset(t, 0, sizeof(*t));
    int rc = mr_registry_credential_secret(r, id, &t->plain, err);
    if (rc == 0)
        t->json = json_loads(t->plain->data, 0, NULL);
    if (rc == 0 && !json_is_object(t->json)) {
        json_decref(t->json);
        t->json = json_object();
    }
    return rc;
}

static void tokens_clear(struct tokens *t)
{
    json_decref(t->json);
    mr_secret_free(&t->plain);
    memset(t, 0, sizeof(*t));
}

/* The tokens in a: access_token (and a rotated refresh_token) go into t,
 * sealed and saved in one statement with state ok. */
static int tokens_save(struct mr_registry *r, int64_t id, struct tokens *t, const struct answer *a,
                       int signed_in, struct mr_oauth_token_info *info, mr_error *err)
{
    json_t *access = json_object_get(a->json, "access_token");
    json_t *refresh = json_object_get(a->json, "refresh_token");
    const char *type = json_string_value(json_object_get(a->json, "token_type"));
    json_t *expires = json_object_get(a->json, "expires_in");
    if (!json_is_string(access) || json_string_length(access) == 0 ||
        json_string_length(access) > MR_SECRET_MAX / 4)
        return mr_error_set(err, MR_EPROTO, "", "the provider's answer has no usable access_token");
    if (type && strcasecmp(type, "bearer") != 0)
        return mr_error_set(err, MR_EPROTO, "",
                            "the provider gave a token of type '%.20s', not Bearer", type);
    json_int_t secs = EXPIRES_DEFAULT;
    if (json_is_integer(expires))
        secs = json_integer_value(expires);
    else if (json_is_string(expires)) /* some providers send it as text */
        secs = strtoll(json_string_value(expires), NULL, 10);
    secs = secs < EXPIRES_MIN ? EXPIRES_MIN : secs > EXPIRES_MAX ? EXPIRES_MAX : secs;
    json_object_set(t->json, "access_token", access);
    if (json_is_string(refresh) && json_string_length(refresh) > 0 &&
        json_string_length(refresh) <= MR_SECRET_MAX / 4)
        json_object_set(t->json, "refresh_token", refresh);
    char *plain = json_dumps(t->json, JSON_COMPACT);
    struct mr_vault *v;
    struct mr_buf sealed;
    mr_buf_init(&sealed, 2 * MR_SECRET_MAX);
    info->expires_at = (int64_t)time(NULL) + (int64_t)secs;
    info->refreshed = 1;
    shown(info->scope, sizeof(info->scope), json_string_value(json_object_get(a->json, "scope")));
    int rc = plain ? mr_registry_vault(r, &v, err) : mr_error_set(err, MR_EIO, "", "out of memory");
    if (rc == 0)
        rc = mr_vault_seal(v, plain, strlen(plain), &sealed, err);
    if (rc == 0)
        rc = mr_store_credential_set_tokens(r->store, id, sealed.data, sealed.len, info->expires_at,
                                            signed_in, err);
    if (plain) {
        sodium_memzero(plain, strlen(plain));
        free(plain);
    }
    mr_buf_free(&sealed);
    return rc;
}

/* --- refusals ------------------------------------------------------------------ */

const char *mr_oauth_state_text(const char *state)
{
    if (!state || !*state)
        return "not signed in yet";
    if (strcmp(state, MR_TOKEN_OK) == 0)
        return "ok";
    if (strcmp(state, MR_TOKEN_CONSENT_NEEDED) == 0)
        return "consent needed: sign in again";
    if (strcmp(state, MR_TOKEN_CLIENT_MISCONFIGURED) == 0)
        return "client misconfigured: check the client ID, secret, tenant and scopes";
    if (strcmp(state, MR_TOKEN_PROVIDER_UNREACHABLE) == 0)
        return "provider unreachable: retried at the next check";
    return "refused by the provider";
}

/* An answer that is not a token: its class goes on the credential (the
 * stored tokens stay); the message says what to do. */
static int refused(struct mr_registry *r, int64_t id, const char *url, const struct answer *a,
                   mr_error *err)
{
    const char *state = MR_TOKEN_REFUSED;
    int code = MR_EAUTH;
    if (strcmp(a->error, "invalid_grant") == 0)
        state = MR_TOKEN_CONSENT_NEEDED;
    else if (strcmp(a->error, "invalid_client") == 0 ||
             strcmp(a->error, "unauthorized_client") == 0 ||
             strcmp(a->error, "invalid_scope") == 0 ||
             strcmp(a->error, "unsupported_grant_type") == 0)
        state = MR_TOKEN_CLIENT_MISCONFIGURED;
    else if (!a->error[0] && (a->status >= 500 || a->status == 429 || a->status == 0)) {
        state = MR_TOKEN_PROVIDER_UNREACHABLE;
        code = MR_ENET;
    }
    int revoked = strcmp(state, MR_TOKEN_CONSENT_NEEDED) == 0;
    int client = strcmp(state, MR_TOKEN_CLIENT_MISCONFIGURED) == 0;
    int retried = strcmp(state, MR_TOKEN_PROVIDER_UNREACHABLE) == 0;
    /* the advice in each sentence, so that each is said whole */
    if (a->error[0] && a->description[0])
        mr_error_set(err, code, "",
                     revoked  ? "the token endpoint %s refused (HTTP %ld, %s: %s): the sign-in "
                                "was revoked or has expired; sign in again"
                     : client ? "the token endpoint %s refused (HTTP %ld, %s: %s): check the "
                                "client ID, client secret, tenant and scopes registered with the "
                                "provider"
                              : "the token endpoint %s refused (HTTP %ld, %s: %s)",
                     url, a->status, a->error, a->description);
    else if (a->error[0])
        mr_error_set(err, code, "",
                     revoked  ? "the token endpoint %s refused (HTTP %ld, %s): the sign-in was "
                                "revoked or has expired; sign in again"
                     : client ? "the token endpoint %s refused (HTTP %ld, %s): check the client "
                                "ID, client secret, tenant and scopes registered with the "
                                "provider"
                              : "the token endpoint %s refused (HTTP %ld, %s)",
                     url, a->status, a->error);
    else if (a->json)
        mr_error_set(err, code, "",
                     retried ? "the token endpoint %s answered HTTP %ld: retried at the next check"
                             : "the token endpoint %s answered HTTP %ld (no OAuth error in the "
                               "answer)",
                     url, a->status);
    else
        mr_error_set(err, code, "",
                     retried ? "the token endpoint %s answered HTTP %ld without JSON: retried at "
                               "the next check"
                             : "the token endpoint %s answered HTTP %ld without JSON (no OAuth "
                               "error in the answer)",
                     url, a->status);
    mr_error ignored = {0};
    mr_store_credential_set_token_state(r->store, id, state, err->message, &ignored);
    return code;
}

static int unreachable(struct mr_registry *r, int64_t id, mr_error *err)
{
    mr_error ignored = {0};
    mr_store_credential_set_token_state(r->store, id, MR_TOKEN_PROVIDER_UNREACHABLE, err->message,
                                        &ignored);
    return err->code;
}

/* --- one refresh at a time per credential ----------------------------------------- */

#define STRIPES 64
static pthread_mutex_t stripes[STRIPES] = {[0 ... STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};

/* Byte ID of DIR/oauth.lock, as fetch.lock: threads of one process exclude
 * each other by the mutex, processes by the open-file-description lock. */
static int lock_credential(struct mr_registry *r, int64_t id, int *fd, mr_error *err)
{
    char *path = mr_xasprintf("%s/oauth.lock", mr_store_dir(r->store));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)id, .l_len = 1};
    int rc = 0;
    pthread_mutex_lock(&stripes[(uint64_t)id % STRIPES]);
    *fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0)
        rc = mr_error_set(err, MR_EIO, "", "cannot open %s: %s", path, strerror(errno));
    else
        while ((rc = fcntl(*fd, F_OFD_SETLKW, &fl)) != 0 && errno == EINTR)
            ;
    if (rc && *fd >= 0) {
        rc = mr_error_set(err, MR_EIO, "", "cannot lock %s: %s", path, strerror(errno));
        close(*fd);
        *fd = -1;
    }
    if (rc)
        pthread_mutex_unlock(&stripes[(uint64_t)id % STRIPES]);
    free(path);
    return rc;
}

static void unlock_credential(int64_t id, int fd)
{
    close(fd);
    pthread_mutex_unlock(&stripes[(uint64_t)id % STRIPES]);
}

/* The credential and its tokens, read under its lock (another thread or
 * process may have just refreshed them); *fd is the lock, or -1. */
static int open_locked(struct mr_registry *r, int64_t id, int *fd, struct mr_credential *c,
                       struct tokens *t, mr_error *err)
{
    int rc = lock_credential(r, id, fd, err);
    if (rc == 0)
        rc = mr_store_credential_get(r->store, id, c, err);
    if (rc == 0 && c->kind != MR_CREDENTIAL_OAUTH2)
        rc = mr_error_set(err, MR_EINVAL, "credential", "credential %s is not an oauth2 one",
                          c->name);
    if (rc == 0)
        rc = tokens_load(r, id, t, err);
    return rc;
}

/* The request that gets a new access token: the refresh token, or the
 * application's own credentials. */
static int token_request(const struct mr_credential *c, const struct tokens *t, struct form *f,
                         mr_error *err)
{
    char *scopes = mr_oauth_scopes(&c->oauth);
    int rc = 0;
    if (c->oauth.flow == MR_OAUTH_APP) {
        if (!tok(t, "client_secret"))
            rc = mr_error_set(err, MR_EAUTH, "",
                              "app access needs the client secret: set it with 'mailroom "
                              "credential edit %s --client-secret-stdin'",
                              c->name);
        form_add(f, "grant_type", "client_credentials");
    } else {
        if (!tok(t, "refresh_token"))
            rc = mr_error_set(err, MR_EAUTH, "",
                              "credential %s is not signed in yet: sign in with 'mailroom "
                              "credential sign-in %s', or import a refresh token",
                              c->name, c->name);
        form_add(f, "grant_type", "refresh_token");
        form_add(f, "refresh_token", tok(t, "refresh_token"));
    }
    form_add(f, "client_id", c->oauth.client_id);
    form_add(f, "client_secret", tok(t, "client_secret"));
    form_add(f, "scope", scopes);
    free(scopes);
    return rc;
}

int mr_oauth_access_token(struct mr_registry *r, int64_t id, int force, const struct mr_proxy *via,
                          struct mr_secret **token, struct mr_oauth_token_info *info, mr_error *err)
{
    struct mr_credential c;
    struct tokens t = {0};
    struct form f;
    struct answer a = {0};
    int fd = -1;
    *token = NULL;
    memset(info, 0, sizeof(*info));
    mr_credential_init(&c);
    form_init(&f);
    int rc = open_locked(r, id, &fd, &c, &t, err);
    const char *stored = rc == 0 ? tok(&t, "access_token") : NULL;
    int64_t now = (int64_t)time(NULL);
    if (rc == 0 && stored && !force && c.token_expires_at - now > MR_OAUTH_EARLY_SECS) {
        *token = mr_secret_dup(stored, strlen(stored));
        info->expires_at = c.token_expires_at;
        goto done;
    }
    char *url = rc == 0 ? mr_oauth_token_url(&c.oauth) : NULL;
    if (rc == 0 && (rc = token_request(&c, &t, &f, err)) == MR_EAUTH) {
        mr_error ignored = {0};
        mr_store_credential_set_token_state(r->store, id, MR_TOKEN_CONSENT_NEEDED, err->message,
                                            &ignored);
    }
    if (rc == 0 && (rc = post_form(url, form_text(&f), via, &a, err)) != 0)
        rc = unreachable(r, id, err);
    if (rc == 0 && (a.status != 200 || a.error[0] || !a.json))
        rc = refused(r, id, url, &a, err);
    if (rc == 0)
        rc = tokens_save(r, id, &t, &a, 0, info, err);
    if (rc == 0) {
        const char *fresh = tok(&t, "access_token");
        *token = mr_secret_dup(fresh, strlen(fresh));
    } else if (rc == MR_EPROTO)
        unreachable(r, id, err);
    free(url);
done:
    answer_clear(&a);
    form_free(&f);
    tokens_clear(&t);
    if (fd >= 0)
        unlock_credential(id, fd);
    if (rc)
        mr_error_prefix(err, "credential %s", c.name ? c.name : "?");
    mr_credential_clear(&c);
    return rc;
}

/* --- the device authorization grant (RFC 8628) --------------------------------- */

static int device_poll_once(struct mr_registry *r, int64_t id, const struct mr_credential *c,
                            struct tokens *t, const struct mr_oauth_device *d, const char *url,
                            int *wait, mr_error *err)
{
    struct form f;
    struct answer a = {0};
    struct mr_oauth_token_info info;
    form_init(&f);
    form_add(&f, "grant_type", "urn:ietf:params:oauth:grant-type:device_code");
    form_add(&f, "device_code", d->device_code->data);
    form_add(&f, "client_id", c->oauth.client_id);
    form_add(&f, "client_secret", tok(t, "client_secret"));
    int rc = post_form(url, form_text(&f), NULL, &a, err);
    form_free(&f);
    if (rc == 0 && a.status == 200 && !a.error[0] && a.json)
        rc = tokens_save(r, id, t, &a, 1, &info, err);
    else if (rc == 0 && strcmp(a.error, "authorization_pending") == 0)
        rc = 1; /* not yet */
    else if (rc == 0 && strcmp(a.error, "slow_down") == 0) {
        *wait += 5; /* RFC 8628 section 3.5 */
        rc = 1;
    } else if (rc == 0 && strcmp(a.error, "expired_token") == 0)
        rc = mr_error_set(err, MR_ETIMEOUT, "",
                          "the code expired before the sign-in was done: start again");
    else if (rc == 0 && strcmp(a.error, "access_denied") == 0)
        rc = mr_error_set(err, MR_EAUTH, "", "the sign-in was refused at the provider");
    else if (rc == 0)
        rc = refused(r, id, url, &a, err);
    answer_clear(&a);
    return rc;
}

static int copy_field(json_t *obj, const char *key, char *dst, size_t size)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (!v)
        return -1;
    shown(dst, size, v);
    return 0;
}

/* A user can sign in to c at endpoint (its URL for field, NULL: none). */
static int can_sign_in(const struct mr_credential *c, const char *endpoint, const char *field,
                       int device, mr_error *err)
{
    if (c->kind != MR_CREDENTIAL_OAUTH2 || c->oauth.flow != MR_OAUTH_DELEGATED)
        return mr_error_set(err, MR_EINVAL, "credential",
                            "credential %s is not an oauth2 credential for a user (flow "
                            "delegated): app access needs no sign-in",
                            c->name);
    if (!endpoint)
        return mr_error_set(err, MR_EINVAL, field,
                            device ? "credential %s has no device authorization endpoint: set %s"
                                   : "credential %s has no authorization endpoint: set %s",
                            c->name, field);
    return 0;
}

int mr_oauth_device_start(struct mr_registry *r, int64_t id, struct mr_oauth_device *d,
                          mr_error *err)
{
    struct mr_credential c;
    struct tokens t = {0};
    struct form f;
    struct answer a = {0};
    memset(d, 0, sizeof(*d));
    mr_credential_init(&c);
    form_init(&f);
    int rc = mr_store_credential_get(r->store, id, &c, err);
    char *url = rc == 0 ? mr_oauth_device_url(&c.oauth) : NULL;
    if (rc == 0)
        rc = can_sign_in(&c, url, "device_url", 1, err);
    if (rc == 0)
        rc = tokens_load(r, id, &t, err);
    if (rc == 0) {
        char *scopes = mr_oauth_scopes(&c.oauth);
        form_add(&f, "client_id", c.oauth.client_id);
        form_add(&f, "client_secret", tok(&t, "client_secret"));
        form_add(&f, "scope", scopes);
        free(scopes);
        rc = post_form(url, form_text(&f), NULL, &a, err);
    }
    if (rc == 0 && (a.status != 200 || a.error[0] || !a.json))
        rc = refused(r, id, url, &a, err);
    const char *code = rc == 0 ? json_string_value(json_object_get(a.json, "device_code")) : NULL;
    if (rc == 0 && (!code || !*code || strlen(code) > 4096 ||
                    copy_field(a.json, "user_code", d->user_code, sizeof(d->user_code)) != 0 ||
                    (copy_field(a.json, "verification_uri", d->verification_uri,
                                sizeof(d->verification_uri)) != 0 &&
                     copy_field(a.json, "verification_url", d->verification_uri, /* Google's name */
                                sizeof(d->verification_uri)) != 0)))
        rc = mr_error_set(err, MR_EPROTO, "",
                          "the device authorization answer of %s lacks device_code, user_code "
                          "or verification_uri",
                          url);
    if (rc == 0) {
        d->device_code = mr_secret_dup(code, strlen(code));
        copy_field(a.json, "verification_uri_complete", d->verification_uri_complete,
                   sizeof(d->verification_uri_complete));
        copy_field(a.json, "message", d->message, sizeof(d->message));
        json_int_t in = json_integer_value(json_object_get(a.json, "expires_in"));
        json_int_t every = json_integer_value(json_object_get(a.json, "interval"));
        d->expires_in = in > 0 && in <= 3600 ? (int)in : 900;
        d->interval = every > 0 && every <= 60 ? (int)every : 5; /* RFC 8628: 5 unless said */
    }
    if (rc)
        mr_error_prefix(err, "credential %s", c.name ? c.name : "?");
    free(url);
    answer_clear(&a);
    form_free(&f);
    tokens_clear(&t);
    mr_credential_clear(&c);
    return rc;
}

int mr_oauth_device_wait(struct mr_registry *r, int64_t id, struct mr_oauth_device *d,
                         int (*cancelled)(void *ctx), void *ctx, mr_error *err)
{
    struct mr_credential c;
    struct tokens t = {0};
    mr_credential_init(&c);
    int rc = mr_store_credential_get(r->store, id, &c, err);
    char *url = rc == 0 ? mr_oauth_token_url(&c.oauth) : NULL;
    int wait = d->interval;
    time_t until = time(NULL) + d->expires_in;
    if (rc == 0)
        rc = tokens_load(r, id, &t, err);
    for (rc = rc ? rc : 1; rc == 1;) {
        if (time(NULL) + wait > until) {
            rc = mr_error_set(err, MR_ETIMEOUT, "",
                              "the code expired before the sign-in was done: start again");
            break;
        }
        for (int i = 0; i < wait && !(cancelled && cancelled(ctx)); i++)
            sleep(1);
        if (cancelled && cancelled(ctx)) {
            rc = mr_error_set(err, MR_EINVAL, "", "cancelled");
            break;
        }
        rc = device_poll_once(r, id, &c, &t, d, url, &wait, err);
    }
    if (rc)
        mr_error_prefix(err, "credential %s", c.name ? c.name : "?");
    free(url);
    tokens_clear(&t);
    mr_credential_clear(&c);
    return rc;
}

void mr_oauth_device_clear(struct mr_oauth_device *d)
{
    mr_secret_free(&d->device_code);
    memset(d, 0, sizeof(*d));
}

/* --- the authorization code grant with PKCE --------------------------------------- */

void mr_oauth_random(char out[44])
{
    unsigned char bytes[32];
    randombytes_buf(bytes, sizeof(bytes));
    sodium_bin2base64(out, 44, bytes, sizeof(bytes), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void challenge_of(const char *verifier, char out[44])
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, (const unsigned char *)verifier, strlen(verifier));
    sodium_bin2base64(out, 44, hash, sizeof(hash), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int mr_oauth_sign_in_url(struct mr_registry *r, int64_t id, const char *redirect_uri,
                         const char *state, const char *verifier, char **url, mr_error *err)
{
    struct mr_credential c;
    struct form q;
    char challenge[44];
    *url = NULL;
    mr_credential_init(&c);
    form_init(&q);
    int rc = mr_store_credential_get(r->store, id, &c, err);
    char *base = rc == 0 ? mr_oauth_authorize_url(&c.oauth) : NULL;
    if (rc == 0)
        rc = can_sign_in(&c, base, "authorize_url", 0, err);
    if (rc == 0) {
        char *scopes = mr_oauth_scopes(&c.oauth);
        challenge_of(verifier, challenge);
        form_add(&q, "response_type", "code");
        form_add(&q, "client_id", c.oauth.client_id);
        form_add(&q, "redirect_uri", redirect_uri);
        form_add(&q, "scope", scopes);
        form_add(&q, "state", state);
        form_add(&q, "code_challenge", challenge);
        form_add(&q, "code_challenge_method", "S256");
        form_add(&q, "login_hint", c.username);    /* the mailbox's user, as both providers take */
        if (c.oauth.provider == MR_OAUTH_GOOGLE) { /* a refresh token, every time */
            form_add(&q, "access_type", "offline");
            form_add(&q, "prompt", "consent");
        }
        *url = mr_xasprintf("%s%c%s", base, strchr(base, '?') ? '&' : '?', form_text(&q));
        free(scopes);
    }
    free(base);
    form_free(&q);
    mr_credential_clear(&c);
    return rc;
}

int mr_oauth_exchange_code(struct mr_registry *r, int64_t id, const char *code,
                           const char *verifier, const char *redirect_uri, mr_error *err)
{
    struct mr_credential c;
    struct tokens t = {0};
    struct form f;
    struct answer a = {0};
    struct mr_oauth_token_info info;
    int fd = -1;
    mr_credential_init(&c);
    form_init(&f);
    int rc = open_locked(r, id, &fd, &c, &t, err);
    char *url = rc == 0 ? mr_oauth_token_url(&c.oauth) : NULL;
    if (rc == 0) {
        form_add(&f, "grant_type", "authorization_code");
        form_add(&f, "code", code);
        form_add(&f, "redirect_uri", redirect_uri);
        form_add(&f, "client_id", c.oauth.client_id);
        form_add(&f, "client_secret", tok(&t, "client_secret"));
        form_add(&f, "code_verifier", verifier);
        if ((rc = post_form(url, form_text(&f), NULL, &a, err)) != 0)
            rc = unreachable(r, id, err);
    }
    if (rc == 0 && (a.status != 200 || a.error[0] || !a.json))
        rc = refused(r, id, url, &a, err);
    if (rc == 0 && !json_is_string(json_object_get(a.json, "refresh_token")))
        rc = mr_error_set(err, MR_EAUTH, "",
                          "the provider gave no refresh token: ask for offline access "
                          "(Microsoft: the offline_access scope)");
    if (rc == 0)
        rc = tokens_save(r, id, &t, &a, 1, &info, err);
    if (rc)
        mr_error_prefix(err, "credential %s", c.name ? c.name : "?");
    free(url);
    answer_clear(&a);
    form_free(&f);
    tokens_clear(&t);
    if (fd >= 0)
        unlock_credential(id, fd);
    mr_credential_clear(&c);
    return rc;
}
