/* Signing an oauth2 credential's user in from the console.
 *
 * The authorization code grant with PKCE: POST .../authorize answers the
 * provider's address; the provider sends the browser back to GET
 * /oauth/callback with the code. The session cookie is SameSite=Strict and
 * so never comes back with that cross-site navigation: the sign-in is
 * bound to the session that started it by a state (one use, 10 minutes)
 * and a nonce in a SameSite=Lax cookie set on that session's answer, for
 * /oauth/callback only. The code is exchanged with the PKCE verifier only
 * this process knows.
 *
 * The device grant: POST .../device starts it and answers the code; a
 * background job polls the provider; GET .../device says how it stands. */
#include "http/api.h"

#include "oauth/oauth.h"
#include "util/log.h"
#include "util/mem.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PENDING_MAX   64
#define PENDING_SECS  600
#define NONCE_COOKIE  "mailroom_oauth"
#define CALLBACK_PATH "/oauth/callback"

/* --- the authorization code grant ------------------------------------------ */

struct pending {
    char state[44], verifier[44];
    unsigned char nonce_hash[crypto_generichash_BYTES];
    int64_t credential_id;
    char actor[96];         /* who started it, for the audit log */
    char redirect_uri[600]; /* as sent: the token request repeats it */
    time_t started;
};

static struct pending pending[PENDING_MAX];
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;

static void hash_nonce(const char *nonce, unsigned char out[crypto_generichash_BYTES])
{
    crypto_generichash(out, crypto_generichash_BYTES, (const unsigned char *)nonce, strlen(nonce),
                       NULL, 0);
}

/* Where the provider sends the browser back: the console's public address
 * (serve --public-url), else the Host this request came to (checked
 * against the names the daemon answers). */
static void redirect_uri(struct mr_http_req *r, char *out, size_t size)
{
    const char *pub = r->srv->cfg.public_url;
    if (pub && *pub) {
        size_t n = strlen(pub);
        while (n && pub[n - 1] == '/')
            n--;
        snprintf(out, size, "%.*s%s", (int)n, pub, CALLBACK_PATH);
        return;
    }
    const char *host = mr_http_header(r, MHD_HTTP_HEADER_HOST);
    snprintf(out, size, "http%s://%s%s", r->srv->cfg.tls_cert ? "s" : "", host ? host : "",
             CALLBACK_PATH);
}

int mr_api_credential_authorize(struct mr_http_req *r)
{
    struct pending p = {0};
    char nonce[44];
    char *url = NULL;
    mr_error err = {0};
    if (mr_http_id(r, 1, &p.credential_id))
        return 0;
    mr_oauth_random(p.state);
    mr_oauth_random(p.verifier);
    mr_oauth_random(nonce);
    hash_nonce(nonce, p.nonce_hash);
    redirect_uri(r, p.redirect_uri, sizeof(p.redirect_uri));
    snprintf(p.actor, sizeof(p.actor), "%s", r->user.name ? r->user.name : "?");
    p.started = time(NULL);
    int rc = mr_oauth_sign_in_url(r->reg, p.credential_id, p.redirect_uri, p.state, p.verifier,
                                  &url, &err);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    /* the oldest (or a free, or an expired) slot */
    pthread_mutex_lock(&pending_lock);
    size_t slot = 0;
    for (size_t i = 0; i < PENDING_MAX; i++)
        if (pending[i].started < pending[slot].started)
            slot = i;
    pending[slot] = p;
    pthread_mutex_unlock(&pending_lock);
    sodium_memzero(&p, sizeof(p));
    int secure = r->srv->cfg.secure_cookies || r->srv->cfg.tls_cert;
    snprintf(r->cookie, sizeof(r->cookie),
             NONCE_COOKIE "=%s; Path=" CALLBACK_PATH "; HttpOnly; SameSite=Lax; Max-Age=%d%s",
             nonce, PENDING_SECS, secure ? "; Secure" : "");
    sodium_memzero(nonce, sizeof(nonce));
    char ru[600];
    redirect_uri(r, ru, sizeof(ru));
    mr_http_json(r, MHD_HTTP_OK, json_pack("{s:s, s:s}", "url", url, "redirect_uri", ru));
    free(url);
    return 0;
}

/* Takes the pending sign-in of state if this browser's nonce matches. */
static int take_pending(const char *state, const char *nonce, struct pending *out)
{
    unsigned char h[crypto_generichash_BYTES];
    int found = 0;
    if (!state || !nonce || strlen(state) != 43)
        return 0;
    hash_nonce(nonce, h);
    pthread_mutex_lock(&pending_lock);
    for (size_t i = 0; i < PENDING_MAX && !found; i++) {
        struct pending *p = &pending[i];
        if (p->started && sodium_memcmp(p->state, state, 43) == 0) {
            found = sodium_memcmp(p->nonce_hash, h, sizeof(h)) == 0 &&
                    time(NULL) - p->started <= PENDING_SECS;
            if (found)
                *out = *p;
            sodium_memzero(p, sizeof(*p)); /* one use, even a failed one */
        }
    }
    pthread_mutex_unlock(&pending_lock);
    return found;
}

static void redirect(struct mr_http_req *r, int64_t id, const char *error)
{
    char *q = error ? curl_easy_escape(NULL, error, 0) : NULL;
    if (id)
        snprintf(r->location, sizeof(r->location), "/#/credentials/%lld?%s%s", (long long)id,
                 q ? "sign_in_error=" : "signed_in=1", q ? q : "");
    else
        snprintf(r->location, sizeof(r->location), "/#/credentials?sign_in_error=%s", q ? q : "");
    curl_free(q);
    snprintf(r->cookie, sizeof(r->cookie),
             NONCE_COOKIE "=; Path=" CALLBACK_PATH "; HttpOnly; SameSite=Lax; Max-Age=0");
    r->status = MHD_HTTP_FOUND;
    r->content_type = "text/plain; charset=utf-8";
    mr_buf_puts(&r->out, "Back to the console\n");
}

int mr_api_oauth_callback(struct mr_http_req *r)
{
    struct pending p;
    mr_error err = {0};
    const char *state = mr_http_arg(r, "state"), *code = mr_http_arg(r, "code");
    const char *error = mr_http_arg(r, "error"), *described = mr_http_arg(r, "error_description");
    if (!take_pending(state, mr_http_cookie(r, NONCE_COOKIE), &p)) {
        redirect(r, 0,
                 "this sign-in was not started from this browser, was used already or has "
                 "expired: start it again from the credential");
        return 0;
    }
    if (error || !code) {
        char text[400];
        snprintf(text, sizeof(text), "the provider refused the sign-in (%.60s%s%.200s)",
                 error ? error : "no code", described ? ": " : "", described ? described : "");
        redirect(r, p.credential_id, text);
    } else {
        mr_registry_set_actor(r->reg, p.actor);
        if (mr_oauth_exchange_code(r->reg, p.credential_id, code, p.verifier, p.redirect_uri,
                                   &err) != 0) {
            MR_LOG(MR_LOG_WARN, "sign_in", MR_LI("credential", p.credential_id),
                   MR_LS("error", err.message));
            redirect(r, p.credential_id, err.message);
        } else {
            MR_LOG(MR_LOG_INFO, "sign_in", MR_LI("credential", p.credential_id),
                   MR_LS("result", "ok"), MR_LS("user", p.actor));
            redirect(r, p.credential_id, NULL);
        }
    }
    sodium_memzero(&p, sizeof(p));
    return 0;
}

/* --- the device grant, from the console --------------------------------------- */

struct device_state {
    int64_t credential_id;
    char status[16]; /* pending, signed_in, expired, denied, error */
    char message[300];
    int cancel; /* a newer start for the same credential */
    unsigned generation;
};

static struct device_state devices[PENDING_MAX];
static pthread_mutex_t devices_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned generations;

struct device_job {
    struct mr_http_server *srv;
    struct mr_oauth_device d;
    int64_t credential_id;
    unsigned generation;
};

static int device_cancelled(void *ctx)
{
    struct device_job *job = ctx;
    int stop = job->srv->stopping;
    pthread_mutex_lock(&devices_lock);
    for (size_t i = 0; i < PENDING_MAX; i++)
        if (devices[i].generation == job->generation)
            stop |= devices[i].cancel;
    pthread_mutex_unlock(&devices_lock);
    return stop;
}

static void device_set(unsigned generation, const char *status, const char *message)
{
    pthread_mutex_lock(&devices_lock);
    for (size_t i = 0; i < PENDING_MAX; i++)
        if (devices[i].generation == generation) {
            snprintf(devices[i].status, sizeof(devices[i].status), "%s", status);
            snprintf(devices[i].message, sizeof(devices[i].message), "%.*s",
                     (int)sizeof(devices[i].message) - 1, message); /* cut if longer */
        }
    pthread_mutex_unlock(&devices_lock);
}

static void *device_job(void *arg)
{
    struct device_job *job = arg;
    struct mr_registry reg;
    mr_error err = {0};
    int rc = mr_registry_open(&reg, job->srv->data_dir, &err);
    if (rc == 0) {
        rc = mr_oauth_device_wait(&reg, job->credential_id, &job->d, device_cancelled, job, &err);
        mr_registry_close(&reg);
    }
    const char *status = rc == 0                          ? "signed_in"
                         : rc == MR_ETIMEOUT              ? "expired"
                         : strstr(err.message, "refused") ? "denied"
                                                          : "error";
    if (!(rc == MR_EINVAL && strstr(err.message, "cancelled")))
        device_set(job->generation, status, rc ? err.message : "signed in");
    MR_LOG(rc ? MR_LOG_WARN : MR_LOG_INFO, "sign_in", MR_LI("credential", job->credential_id),
           MR_LS("flow", "device"), MR_LS("result", status), MR_LS("error", rc ? err.message : ""));
    mr_oauth_device_clear(&job->d);
    struct mr_http_server *s = job->srv;
    free(job);
    mr_http_job_done(s);
    return NULL;
}

int mr_api_credential_device_start(struct mr_http_req *r)
{
    int64_t id;
    mr_error err = {0};
    if (mr_http_id(r, 1, &id))
        return 0;
    struct device_job *job = mr_xcalloc(1, sizeof(*job));
    job->srv = r->srv;
    job->credential_id = id;
    if (mr_oauth_device_start(r->reg, id, &job->d, &err) != 0) {
        free(job);
        if (err.code == MR_EAUTH || err.code == MR_ENET || err.code == MR_ETIMEOUT ||
            err.code == MR_EPROTO)
            return mr_http_error(r, MHD_HTTP_BAD_GATEWAY, "provider", NULL, "%s", err.message);
        return mr_http_fail(r, err.code, NULL, &err);
    }
    json_t *answer = json_pack("{s:s, s:s, s:s, s:i, s:i}", "user_code", job->d.user_code,
                               "verification_uri", job->d.verification_uri,
                               "verification_uri_complete", job->d.verification_uri_complete,
                               "expires_in", job->d.expires_in, "interval", job->d.interval);
    /* one waiting sign-in per credential: a newer start replaces it */
    pthread_mutex_lock(&devices_lock);
    size_t slot = PENDING_MAX;
    for (size_t i = 0; i < PENDING_MAX; i++) {
        if (devices[i].credential_id == id) {
            devices[i].cancel = 1;
            devices[i].credential_id = 0;
        }
        if (slot == PENDING_MAX && strcmp(devices[i].status, "pending") != 0)
            slot = i;
    }
    if (slot == PENDING_MAX)
        slot = 0;
    job->generation = ++generations;
    devices[slot] = (struct device_state){.credential_id = id, .generation = job->generation};
    snprintf(devices[slot].status, sizeof(devices[slot].status), "pending");
    snprintf(devices[slot].message, sizeof(devices[slot].message), "waiting for the sign-in");
    pthread_mutex_unlock(&devices_lock);
    if (mr_http_job_start(r->srv, device_job, job) != 0) {
        device_set(job->generation, "error", "cannot start the wait");
        mr_oauth_device_clear(&job->d);
        free(job);
    }
    return mr_http_json(r, MHD_HTTP_OK, answer);
}

int mr_api_credential_device_status(struct mr_http_req *r)
{
    int64_t id;
    if (mr_http_id(r, 1, &id))
        return 0;
    char status[16] = "none", message[300] = "";
    pthread_mutex_lock(&devices_lock);
    for (size_t i = 0; i < PENDING_MAX; i++)
        if (devices[i].credential_id == id) {
            snprintf(status, sizeof(status), "%s", devices[i].status);
            snprintf(message, sizeof(message), "%s", devices[i].message);
        }
    pthread_mutex_unlock(&devices_lock);
    return mr_http_json(r, MHD_HTTP_OK,
                        json_pack("{s:s, s:s}", "status", status, "message", message));
}
