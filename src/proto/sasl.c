#include "proto/sasl.h"

#include "util/mem.h"

#include <gsasl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct mr_sasl {
    Gsasl *ctx;
    Gsasl_session *session;
    /* what a SCRAM SaltedPassword depends on, but salt and iterations */
    unsigned char identity[crypto_generichash_BYTES];
};

/* --- SCRAM SaltedPassword cache --------------------------------------------
 * SCRAM's Hi() is thousands of HMAC rounds on each side of every login; with
 * a thousand accounts checked every few minutes it is most of mailroom's
 * CPU. RFC 5802 (section 5.1) lets a client keep SaltedPassword for a salt
 * and iteration count, which the server keeps while the password is
 * unchanged. The cache lives in memory only, keyed by a hash of mechanism,
 * user, password, salt and iterations, so a changed password or salt simply
 * misses; a wrong value cannot log in (the server checks the proof) and is
 * replaced on the next success. Entries are password equivalents: they are
 * never written, logged or traced. */
#define SCRAM_CACHE_SIZE 512

static struct {
    unsigned char key[crypto_generichash_BYTES];
    char salted[2 * 64 + 1]; /* hex; SHA-256 at most needs 64 */
} scram_cache[SCRAM_CACHE_SIZE];
static size_t scram_next;
static pthread_mutex_t scram_lock = PTHREAD_MUTEX_INITIALIZER;

static int scram_key(const struct mr_sasl *s, Gsasl_session *sctx, unsigned char *key)
{
    const char *salt = gsasl_property_fast(sctx, GSASL_SCRAM_SALT);
    const char *iter = gsasl_property_fast(sctx, GSASL_SCRAM_ITER);
    if (!salt || !iter)
        return -1;
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
    crypto_generichash_update(&st, s->identity, sizeof(s->identity));
    crypto_generichash_update(&st, (const unsigned char *)salt, strlen(salt) + 1);
    crypto_generichash_update(&st, (const unsigned char *)iter, strlen(iter) + 1);
    crypto_generichash_final(&st, key, crypto_generichash_BYTES);
    return 0;
}

static int callback(Gsasl *ctx, Gsasl_session *sctx, Gsasl_property prop)
{
    (void)ctx;
    struct mr_sasl *s = gsasl_session_hook_get(sctx);
    unsigned char key[crypto_generichash_BYTES];
    if (prop != GSASL_SCRAM_SALTED_PASSWORD || !s || scram_key(s, sctx, key) != 0)
        return GSASL_NO_CALLBACK;
    int rc = GSASL_NO_CALLBACK;
    pthread_mutex_lock(&scram_lock);
    for (size_t i = 0; i < SCRAM_CACHE_SIZE && rc != GSASL_OK; i++) {
        if (scram_cache[i].salted[0] && sodium_memcmp(scram_cache[i].key, key, sizeof(key)) == 0)
            rc = gsasl_property_set(sctx, GSASL_SCRAM_SALTED_PASSWORD, scram_cache[i].salted);
    }
    pthread_mutex_unlock(&scram_lock);
    return rc;
}

/* After a successful exchange: remember what the mechanism computed. */
static void scram_remember(struct mr_sasl *s)
{
    unsigned char key[crypto_generichash_BYTES];
    const char *salted = gsasl_property_fast(s->session, GSASL_SCRAM_SALTED_PASSWORD);
    if (!salted || strlen(salted) >= sizeof(scram_cache[0].salted) ||
        scram_key(s, s->session, key) != 0)
        return;
    pthread_mutex_lock(&scram_lock);
    size_t slot = scram_next;
    for (size_t i = 0; i < SCRAM_CACHE_SIZE; i++) {
        if (sodium_memcmp(scram_cache[i].key, key, sizeof(key)) == 0) {
            slot = i; /* the same login again: refresh in place */
            break;
        }
    }
    if (slot == scram_next)
        scram_next = (scram_next + 1) % SCRAM_CACHE_SIZE;
    memcpy(scram_cache[slot].key, key, sizeof(key));
    snprintf(scram_cache[slot].salted, sizeof(scram_cache[slot].salted), "%s", salted);
    pthread_mutex_unlock(&scram_lock);
}

/* Strongest first. NTLM is last: it is offered only when asked for. */
static const char *const preference[] = {"SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5",
                                         "PLAIN",         "LOGIN",       NULL};

static int listed(const char *list, const char *mech)
{
    size_t n = strlen(mech);
    for (const char *p = list; (p = strcasestr(p, mech)) != NULL; p += n) {
        int starts = p == list || p[-1] == ' ';
        int ends = p[n] == '\0' || p[n] == ' ';
        if (starts && ends)
            return 1;
    }
    return 0;
}

int mr_sasl_choose(const char *server_mechs, char *out, size_t size)
{
    Gsasl *ctx = NULL;
    if (gsasl_init(&ctx) != GSASL_OK)
        return MR_ENOTFOUND;
    int rc = MR_ENOTFOUND;
    for (int i = 0; preference[i] && rc; i++) {
        if (listed(server_mechs, preference[i]) && gsasl_client_support_p(ctx, preference[i])) {
            snprintf(out, size, "%s", preference[i]);
            rc = 0;
        }
    }
    gsasl_done(ctx);
    return rc;
}

int mr_sasl_client_first(const char *mech)
{
    return strcasecmp(mech, "PLAIN") == 0 || strncasecmp(mech, "SCRAM-", 6) == 0 ||
           strcasecmp(mech, "NTLM") == 0;
}

int mr_sasl_start(struct mr_sasl **out, const char *mech, const char *user, const char *password,
                  mr_error *err)
{
    struct mr_sasl *s = mr_xcalloc(1, sizeof(*s));
    *out = NULL;
    int rc = gsasl_init(&s->ctx);
    if (rc == GSASL_OK)
        rc = gsasl_client_start(s->ctx, mech, &s->session);
    if (rc != GSASL_OK) {
        mr_sasl_free(&s);
        return mr_error_set(err, MR_EAUTH, "auth", "SASL mechanism %s: %s", mech,
                            gsasl_strerror(rc));
    }
    gsasl_property_set(s->session, GSASL_AUTHID, user);
    gsasl_property_set(s->session, GSASL_PASSWORD, password);
    if (strncasecmp(mech, "SCRAM-", 6) == 0) {
        crypto_generichash_state st;
        crypto_generichash_init(&st, NULL, 0, sizeof(s->identity));
        crypto_generichash_update(&st, (const unsigned char *)mech, strlen(mech) + 1);
        crypto_generichash_update(&st, (const unsigned char *)user, strlen(user) + 1);
        crypto_generichash_update(&st, (const unsigned char *)password, strlen(password) + 1);
        crypto_generichash_final(&st, s->identity, sizeof(s->identity));
        gsasl_callback_set(s->ctx, callback);
        gsasl_session_hook_set(s->session, s);
    }
    *out = s;
    return 0;
}

int mr_sasl_step(struct mr_sasl *s, const char *challenge, char **answer, int *done, mr_error *err)
{
    char *output = NULL;
    int rc = gsasl_step64(s->session, challenge, &output);
    if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
        gsasl_free(output);
        return mr_error_set(err, MR_EAUTH, "auth", "SASL exchange failed: %s", gsasl_strerror(rc));
    }
    *answer = mr_xstrdup(output ? output : "");
    gsasl_free(output);
    *done = rc == GSASL_OK;
    if (*done && gsasl_session_hook_get(s->session) == s)
        scram_remember(s);
    return 0;
}

void mr_sasl_free(struct mr_sasl **sp)
{
    struct mr_sasl *s = *sp;
    if (!s)
        return;
    sodium_memzero(s->identity, sizeof(s->identity));
    if (s->session)
        gsasl_finish(s->session);
    if (s->ctx)
        gsasl_done(s->ctx);
    free(s);
    *sp = NULL;
}
