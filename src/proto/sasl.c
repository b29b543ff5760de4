#include "proto/sasl.h"

#include "util/buf.h"
#include "util/mem.h"

#include <gsasl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum bearer_state {
    BEARER_NONE,    /* a GNU SASL mechanism */
    BEARER_START,   /* the initial response not yet sent */
    BEARER_SENT,    /* sent: the server answers OK, or challenges with its error */
    BEARER_REFUSED, /* the error challenge answered: NO / -ERR comes next */
};

struct mr_sasl {
    Gsasl *ctx;
    Gsasl_session *session;
    /* what a SCRAM SaltedPassword depends on, but salt and iterations */
    unsigned char identity[crypto_generichash_BYTES];
    /* XOAUTH2, OAUTHBEARER */
    enum bearer_state bearer;
    char mech[16];
    struct mr_sasl_login login; /* the caller's strings */
    struct mr_sasl_bearer_error error;
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

int mr_sasl_is_bearer(const char *mech)
{
    return mech && (strcasecmp(mech, "XOAUTH2") == 0 || strcasecmp(mech, "OAUTHBEARER") == 0);
}

int mr_sasl_pick(const char *want, const char *offered, int bearer, char *out, size_t size,
                 mr_error *err)
{
    if (want && !!bearer != mr_sasl_is_bearer(want))
        return mr_error_set(err, MR_EINVAL, "auth",
                            bearer ? "the mechanism %s takes a password, and this account's "
                                     "credential is an OAuth 2.0 token: choose auto, "
                                     "OAUTHBEARER or XOAUTH2"
                                   : "the mechanism %s takes an OAuth 2.0 token, and this "
                                     "account's credential is a password: choose auto or a "
                                     "password mechanism",
                            want);
    if (want) {
        snprintf(out, size, "%s", want);
        return 0;
    }
    if (!bearer)
        return mr_sasl_choose(offered, out, size);
    const char *mech = listed(offered, "OAUTHBEARER") ? "OAUTHBEARER"
                       : listed(offered, "XOAUTH2")   ? "XOAUTH2"
                                                      : NULL;
    if (mech) {
        snprintf(out, size, "%s", mech);
        return 0;
    }
    size_t skip = strspn(offered, " "), n = strlen(offered);
    while (n > skip && offered[n - 1] == ' ')
        n--;
    return mr_error_set(err, MR_EAUTH, "auth",
                        n > skip ? "an OAuth 2.0 token needs OAUTHBEARER or XOAUTH2, and the "
                                   "server offers neither (its SASL mechanisms: %.*s)"
                                 : "an OAuth 2.0 token needs OAUTHBEARER or XOAUTH2, and the "
                                   "server offers neither (it offers no SASL mechanism)",
                        (int)(n - skip < 200 ? n - skip : 200), offered + skip);
}

int mr_sasl_unoffered(const char *want, const char *offered, char *out, size_t size)
{
    if (!want || listed(offered, want))
        return 0;
    size_t skip = strspn(offered, " "), n = strlen(offered);
    while (n > skip && offered[n - 1] == ' ')
        n--;
    snprintf(out, size, "%.*s", (int)(n - skip < 200 ? n - skip : 200), offered + skip);
    return 1;
}

void mr_sasl_unoffered_note(mr_error *note, const char *want, const char *list)
{
    mr_error_set(note, 0, "auth",
                 *list ? "the server does not offer %s; it offers %s; trying it anyway"
                       : "the server does not offer %s; it offers no SASL mechanism; trying it "
                         "anyway",
                 want, list);
}

int mr_sasl_unoffered_refused(mr_error *err, const char *want, const char *list, const char *words)
{
    if (*list)
        return mr_error_set(err, MR_EAUTH, "auth",
                            "the server does not offer %s; it offers %s; tried anyway, it "
                            "refused the login: %s",
                            want, list, words);
    return mr_error_set(err, MR_EAUTH, "auth",
                        "the server does not offer %s; it offers no SASL mechanism; tried "
                        "anyway, it refused the login: %s",
                        want, words);
}

void mr_sasl_unoffered_prefix(mr_error *err, const char *want, const char *list)
{
    mr_error_prefix(err,
                    *list ? "the server does not offer %s; it offers %s"
                          : "the server does not offer %s; it offers no SASL mechanism",
                    want, list);
}

int mr_sasl_client_first(const char *mech)
{
    return strcasecmp(mech, "PLAIN") == 0 || strncasecmp(mech, "SCRAM-", 6) == 0 ||
           strcasecmp(mech, "NTLM") == 0 || mr_sasl_is_bearer(mech);
}

static int start_bearer(struct mr_sasl *s, const char *mech, const struct mr_sasl_login *login,
                        mr_error *err)
{
    if (!login->bearer_token)
        return mr_error_set(err, MR_EINVAL, "auth",
                            "the mechanism %s takes an OAuth 2.0 token, and there is none", mech);
    s->bearer = BEARER_START;
    snprintf(s->mech, sizeof(s->mech), "%s",
             strcasecmp(mech, "XOAUTH2") ? "OAUTHBEARER" : "XOAUTH2");
    s->login = *login;
    return 0;
}

int mr_sasl_start(struct mr_sasl **out, const char *mech, const struct mr_sasl_login *login,
                  mr_error *err)
{
    struct mr_sasl *s = mr_xcalloc(1, sizeof(*s));
    *out = NULL;
    if (mr_sasl_is_bearer(mech)) {
        int rc = start_bearer(s, mech, login, err);
        if (rc)
            mr_sasl_free(&s);
        *out = s;
        return rc;
    }
    if (!login->password) {
        mr_sasl_free(&s);
        return mr_error_set(err, MR_EINVAL, "auth",
                            "the mechanism %s takes a password, and there is none", mech);
    }
    int rc = gsasl_init(&s->ctx);
    if (rc == GSASL_OK)
        rc = gsasl_client_start(s->ctx, mech, &s->session);
    if (rc != GSASL_OK) {
        mr_sasl_free(&s);
        return mr_error_set(err, MR_EAUTH, "auth", "SASL mechanism %s: %s", mech,
                            gsasl_strerror(rc));
    }
    const char *user = login->user ? login->user : "", *password = login->password;
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

static int step_bearer(struct mr_sasl *s, const char *challenge, char **answer, int *done,
                       mr_error *err)
{
    *done = 1;
    switch (s->bearer) {
    case BEARER_START: /* AUTHENTICATE without SASL-IR: "+ " asks for it */
        s->bearer = BEARER_SENT;
        return mr_sasl_bearer_response(s->mech, &s->login, answer, err);
    case BEARER_SENT: /* the server's error; the answer ends the exchange */
        mr_sasl_bearer_error_parse(challenge, strlen(challenge), &s->error);
        s->bearer = BEARER_REFUSED;
        *answer = mr_xstrdup(strcmp(s->mech, "XOAUTH2") == 0 ? "" : "AQ==");
        return 0;
    default:
        return mr_error_set(err, MR_EPROTO, "auth",
                            "the server asked for more after the %s exchange had ended", s->mech);
    }
}

int mr_sasl_step(struct mr_sasl *s, const char *challenge, char **answer, int *done, mr_error *err)
{
    *answer = NULL;
    if (s->bearer != BEARER_NONE)
        return step_bearer(s, challenge, answer, done, err);
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
    sodium_memzero(&s->login, sizeof(s->login));
    if (s->session)
        gsasl_finish(s->session);
    if (s->ctx)
        gsasl_done(s->ctx);
    free(s);
    *sp = NULL;
}

/* --- bearer mechanisms: messages ------------------------------------------ */

static int has_control(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" /
 * "~" / "+" / "/" ) *"=" */
static int is_b64token(const char *t)
{
    size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/");
    return n > 0 && t[n + strspn(t + n, "=")] == '\0';
}

/* RFC 5801 section 4: a saslname with ',' and '=' as =2C and =3D. */
static void put_saslname(struct mr_buf *b, const char *name)
{
    for (; *name; name++) {
        if (*name == ',')
            mr_buf_puts(b, "=2C");
        else if (*name == '=')
            mr_buf_puts(b, "=3D");
        else
            mr_buf_putc(b, *name);
    }
}

static void bearer_message(const char *mech, const struct mr_sasl_login *l, struct mr_buf *b)
{
    const char *user = l->user ? l->user : "";
    if (strcasecmp(mech, "XOAUTH2") == 0) {
        mr_buf_puts(b, "user=");
        mr_buf_puts(b, user);
        mr_buf_putc(b, '\x01');
    } else {
        mr_buf_puts(b, "n,");
        if (*user) {
            mr_buf_puts(b, "a=");
            put_saslname(b, user);
        }
        mr_buf_puts(b, ",\x01");
        if (l->host && *l->host) {
            mr_buf_puts(b, "host=");
            mr_buf_puts(b, l->host);
            mr_buf_putc(b, '\x01');
        }
        if (l->port > 0 && l->port <= 65535) {
            char port[16];
            snprintf(port, sizeof(port), "port=%d\x01", l->port);
            mr_buf_puts(b, port);
        }
    }
    mr_buf_puts(b, "auth=Bearer ");
    mr_buf_puts(b, l->bearer_token);
    mr_buf_puts(b, "\x01\x01");
}

int mr_sasl_bearer_response(const char *mech, const struct mr_sasl_login *login, char **out,
                            mr_error *err)
{
    const char *t = login->bearer_token;
    *out = NULL;
    if (!t || !*t)
        return mr_error_set(err, MR_EINVAL, "auth", "the OAuth 2.0 access token is empty");
    if (strlen(t) > MR_SASL_TOKEN_MAX)
        return mr_error_set(err, MR_EINVAL, "auth",
                            "the OAuth 2.0 access token is longer than %d bytes",
                            MR_SASL_TOKEN_MAX);
    if (!is_b64token(t)) /* never name or show the token */
        return mr_error_set(err, MR_EINVAL, "auth",
                            "the OAuth 2.0 access token has characters a bearer token cannot "
                            "have (RFC 6750)");
    if (has_control(login->user) || has_control(login->host))
        return mr_error_set(err, MR_EINVAL, "auth",
                            "the user name or server address has control characters %s cannot "
                            "carry",
                            mech);
    size_t user = login->user ? strlen(login->user) : 0,
           host = login->host ? strlen(login->host) : 0;
    struct mr_buf b;
    mr_buf_init(&b, (size_t)-1 / 2);
    /* all at once: a buffer that grew would leave copies of the token behind */
    mr_buf_reserve_exact(&b, 3 * user + host + strlen(t) + 64);
    bearer_message(mech, login, &b);
    size_t size = sodium_base64_ENCODED_LEN(b.len, sodium_base64_VARIANT_ORIGINAL);
    *out = mr_xmalloc(size);
    sodium_bin2base64(*out, size, (const unsigned char *)b.data, b.len,
                      sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(b.data, b.len);
    mr_buf_free(&b);
    return 0;
}

/* --- bearer mechanisms: the server's error challenge ----------------------- */

/* Copies what a server sent, fit to show: printable ASCII, others '?',
 * control characters dropped, "..." where cut. */
static void shown(char *dst, size_t size, const char *src, size_t len)
{
    size_t o = 0, i = 0;
    for (; i < len && o + 1 < size; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c >= 0x20 && c < 0x7f)
            dst[o++] = (char)c;
        else if (c >= 0x80)
            dst[o++] = '?';
    }
    dst[o] = '\0';
    if (i < len && size > 4)
        memcpy(dst + (o > size - 4 ? size - 4 : o), "...", 4);
}

static void json_field(json_t *obj, const char *key, char *dst, size_t size)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        shown(dst, size, json_string_value(v), json_string_length(v));
}

static int decode64(const char *in, size_t len, unsigned char *bin, size_t cap, size_t *got)
{
    const char *end = NULL;
    if (sodium_base642bin(bin, cap, in, len, NULL, got, &end, sodium_base64_VARIANT_ORIGINAL) ==
            0 &&
        end == in + len)
        return 0;
    return sodium_base642bin(bin, cap, in, len, NULL, got, &end,
                             sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0 &&
                   end == in + len
               ? 0
               : -1;
}

void mr_sasl_bearer_error_parse(const char *challenge, size_t len, struct mr_sasl_bearer_error *e)
{
    unsigned char bin[MR_SASL_CHALLENGE_MAX];
    size_t got = 0;
    memset(e, 0, sizeof(*e));
    while (len && (challenge[len - 1] == ' ' || challenge[len - 1] == '\r'))
        len--;
    if (len == 0) {
        snprintf(e->problem, sizeof(e->problem), "empty");
        return;
    }
    if (len > MR_SASL_CHALLENGE_MAX) {
        snprintf(e->problem, sizeof(e->problem), "too long (%zu bytes)", len);
        e->too_long = len;
        return;
    }
    if (decode64(challenge, len, bin, sizeof(bin), &got) != 0) {
        snprintf(e->problem, sizeof(e->problem), "not base64");
        return;
    }
    json_error_t jerr;
    json_t *obj = json_loadb((const char *)bin, got, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(obj))
        snprintf(e->problem, sizeof(e->problem), "not a JSON object");
    else {
        json_field(obj, "status", e->status, sizeof(e->status));
        json_field(obj, "scope", e->scope, sizeof(e->scope));
        if (!e->status[0])
            snprintf(e->problem, sizeof(e->problem), "no status");
    }
    json_decref(obj);
}

/* What to do about a status (RFC 6750 section 3.1; Google's XOAUTH2 gives
 * HTTP codes): the sentence said for each, its scope quoted or not given. */
enum advice { ADVICE_NONE, ADVICE_SIGN_IN, ADVICE_SCOPE };

static enum advice advice(const char *status)
{
    if (strcmp(status, "invalid_token") == 0 || strcmp(status, "401") == 0)
        return ADVICE_SIGN_IN;
    if (strcmp(status, "insufficient_scope") == 0 || strcmp(status, "403") == 0)
        return ADVICE_SCOPE;
    return ADVICE_NONE;
}

static int token_refused(const struct mr_sasl *s, const char *words, mr_error *err)
{
    const struct mr_sasl_bearer_error *e = &s->error;
    enum advice a = advice(e->status);
    if (e->scope[0])
        return mr_error_set(
            err, MR_EAUTH, "auth",
            a == ADVICE_SIGN_IN ? "the server refused the OAuth 2.0 access token (%s): status "
                                  "\"%s\", scope \"%s\"; the token is invalid or expired: sign "
                                  "in again; the server said: %s"
            : a == ADVICE_SCOPE ? "the server refused the OAuth 2.0 access token (%s): status "
                                  "\"%s\", scope \"%s\"; the token lacks a scope the server "
                                  "needs: sign in again granting it; the server said: %s"
                                : "the server refused the OAuth 2.0 access token (%s): status "
                                  "\"%s\", scope \"%s\"; the server said: %s",
            s->mech, e->status, e->scope, words);
    return mr_error_set(
        err, MR_EAUTH, "auth",
        a == ADVICE_SIGN_IN ? "the server refused the OAuth 2.0 access token (%s): status \"%s\", "
                              "scope not given; the token is invalid or expired: sign in again; "
                              "the server said: %s"
        : a == ADVICE_SCOPE ? "the server refused the OAuth 2.0 access token (%s): status \"%s\", "
                              "scope not given; the token lacks a scope the server needs: sign "
                              "in again granting it; the server said: %s"
                            : "the server refused the OAuth 2.0 access token (%s): status \"%s\", "
                              "scope not given; the server said: %s",
        s->mech, e->status, words);
}

/* A challenge that could not be read, said per reason. */
static int challenge_unread(const struct mr_sasl *s, const char *words, mr_error *err)
{
    const struct mr_sasl_bearer_error *e = &s->error;
    if (e->too_long)
        return mr_error_set(err, MR_EAUTH, "auth",
                            "the server refused the OAuth 2.0 access token (%s); its error "
                            "challenge could not be read (too long: %zu bytes); the server "
                            "said: %s",
                            s->mech, e->too_long, words);
    const char *p = e->problem;
    return mr_error_set(err, MR_EAUTH, "auth",
                        strcmp(p, "empty") == 0
                            ? "the server refused the OAuth 2.0 access token (%s); its error "
                              "challenge could not be read (empty); the server said: %s"
                        : strcmp(p, "not base64") == 0
                            ? "the server refused the OAuth 2.0 access token (%s); its error "
                              "challenge could not be read (not base64); the server said: %s"
                        : strcmp(p, "not a JSON object") == 0
                            ? "the server refused the OAuth 2.0 access token (%s); its error "
                              "challenge could not be read (not a JSON object); the server "
                              "said: %s"
                            : "the server refused the OAuth 2.0 access token (%s); its error "
                              "challenge could not be read (no status); the server said: %s",
                        s->mech, words);
}

int mr_sasl_bearer_refused(const struct mr_sasl *s, const char *server_words, int temporary,
                           struct mr_mailbox_status *st, mr_error *err)
{
    const struct mr_sasl_bearer_error *e = &s->error;
    int challenged = s->bearer == BEARER_REFUSED;
    const char *words = server_words && *server_words ? server_words : "(no text)";
    st->token_refused = s->bearer != BEARER_START && (challenged || !temporary);
    snprintf(st->token_status, sizeof(st->token_status), "%s", challenged ? e->status : "");
    if (s->bearer == BEARER_START) /* the mechanism itself, not the token */
        return mr_error_set(err, MR_EAUTH, "auth",
                            "the server refused %s before the token was sent: %s", s->mech, words);
    if (!st->token_refused)
        return mr_error_set(err, MR_EAUTH, "auth",
                            "the server did not take the OAuth 2.0 token now (%s), for a "
                            "passing reason: %s",
                            s->mech, words);
    if (!challenged)
        return mr_error_set(err, MR_EAUTH, "auth",
                            "the server refused the OAuth 2.0 access token (%s): %s", s->mech,
                            words);
    if (e->problem[0] && !e->status[0])
        return challenge_unread(s, words, err);
    return token_refused(s, words, err);
}
