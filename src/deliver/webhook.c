/* The webhook transport: the message as JSON, POSTed with libcurl and
 * signed in the Standard Webhooks layout (webhook-id, webhook-timestamp,
 * webhook-signature: "v1," and the base64 HMAC-SHA256 over
 * "id.timestamp.body"). Redirects are never followed; at most
 * WEBHOOK_BODY_MAX bytes of an answer are read. */
#include "deliver/deliver.h"
#include "deliver/transport_private.h"

#include "util/buf.h"
#include "util/mem.h"
#include "util/text.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define WEBHOOK_BODY_MAX     (64 * 1024) /* of the receiver's answer, kept */
#define WEBHOOK_CONNECT_SECS 15L
#define WEBHOOK_SHOWN_MAX    300 /* of the receiver's body, in response */
#define WEBHOOK_KEY_MAX      256 /* bytes of a whsec_ key */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_start(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- the payload ---------------------------------------------------------- */

/* A JSON string of n bytes: invalid UTF-8 becomes U+FFFD (Jansson takes
 * only valid UTF-8); NULL gives null. */
static json_t *jstr(const char *s, size_t n)
{
    if (!s)
        return json_null();
    if (mr_utf8_valid(s, n))
        return json_stringn(s, n);
    struct mr_buf b;
    mr_buf_init(&b, n * 3 + 1);
    for (size_t i = 0; i < n;) {
        size_t len = 1;
        while (len <= 4 && i + len <= n && !mr_utf8_valid(s + i, len))
            len++;
        if (len <= 4 && i + len <= n) {
            mr_buf_append(&b, s + i, len);
            i += len;
        } else {
            mr_buf_puts(&b, "\xEF\xBF\xBD");
            i++;
        }
    }
    json_t *j = json_stringn(b.data ? b.data : "", b.len);
    mr_buf_free(&b);
    return j;
}

static json_t *jtext(const char *s)
{
    return jstr(s, s ? strlen(s) : 0);
}

static void iso_time(int64_t t, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *attachments(const struct mr_delivery_item *it)
{
    json_t *a = json_array();
    for (size_t i = 0; it->att && i < it->natt; i++)
        json_array_append_new(
            a, json_pack("{s:o, s:o, s:I, s:i, s:o}", "name", jtext(it->att[i].filename), "type",
                         jtext(it->att[i].content_type), "size", (json_int_t)it->att[i].size,
                         "position", it->att[i].position, "parent",
                         it->att[i].parent ? json_integer(it->att[i].parent) : json_null()));
    return a;
}

static json_t *message_json(const struct mr_target *t, const struct mr_delivery_item *it)
{
    static const struct mr_message none = {0};
    const struct mr_message *m = it->msg ? it->msg : &none;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(m->id));
    json_object_set_new(o, "event_id", jtext(it->event_id));
    json_object_set_new(o, "from", jtext(m->from));
    json_object_set_new(o, "to", jtext(m->to));
    json_object_set_new(o, "cc", jtext(m->cc));
    json_object_set_new(o, "subject", jtext(m->subject));
    json_object_set_new(o, "date", jtext(m->date));
    json_object_set_new(o, "message_id", jtext(m->message_id));
    json_object_set_new(o, "class", jtext(m->msg_class));
    json_object_set_new(o, "size", json_integer(m->size ? m->size : (json_int_t)it->raw_len));
    json_object_set_new(o, "text", jtext(m->body_text));
    json_object_set_new(o, "attachments", attachments(it));
    if (!it->raw_url || (long long)it->raw_len <= mr_target_inline_max(t))
        json_object_set_new(o, "raw", json_string("")); /* the bytes are spliced in after */
    else
        json_object_set_new(o, "raw_url", jtext(it->raw_url));
    return o;
}

/* The raw message goes into the dumped text as base64 (which needs no
 * escaping) instead of through Jansson, which would check and escape every
 * byte of it again: "raw" is the last member of the last objects, so the
 * text ends with "raw":""}}} when the bytes go inline. */
static char *splice_raw(char *text, const struct mr_delivery_item *it)
{
    static const char tail[] = "\"raw\":\"\"}}}";
    size_t n = strlen(text), tl = sizeof(tail) - 1;
    if (n < tl || strcmp(text + n - tl, tail) != 0)
        return text; /* a link instead */
    /* OpenSSL's base64, not libsodium's: that one is constant-time, for
     * secrets, and several times slower on a whole message */
    size_t b64 = 4 * ((it->raw_len + 2) / 3);
    size_t head = n - 4; /* up to and with the opening quote of the value */
    char *out = mr_xmalloc(head + b64 + 8);
    memcpy(out, text, head);
    size_t at = head;
    for (size_t off = 0; off < it->raw_len;) { /* EVP_EncodeBlock takes an int length */
        size_t chunk = it->raw_len - off < ((size_t)1 << 30) ? it->raw_len - off : (size_t)3 << 28;
        at += (size_t)EVP_EncodeBlock((unsigned char *)out + at, it->raw + off, (int)chunk);
        off += chunk;
    }
    memcpy(out + at, "\"}}}", 5);
    free(text);
    return out;
}

char *mr_webhook_payload(const struct mr_target *t, const struct mr_delivery_item *it,
                         int64_t timestamp)
{
    char when[32];
    iso_time(timestamp, when, sizeof(when));
    json_t *account = json_object();
    json_object_set_new(account, "id", json_integer(it->account_id));
    json_object_set_new(account, "name", jtext(it->account_name));
    json_t *data = json_object();
    json_object_set_new(data, "account", account);
    json_object_set_new(data, "message", message_json(t, it));
    json_t *root = json_object();
    json_object_set_new(root, "type", json_string(it->test ? "message.test" : "message.received"));
    json_object_set_new(root, "timestamp", json_string(when));
    json_object_set_new(root, "data", data);
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) {
        fputs("mailroom: out of memory\n", stderr);
        abort();
    }
    return splice_raw(text, it);
}

/* --- the signature -------------------------------------------------------- */

int mr_webhook_signature(const char *secret, const char *id, int64_t timestamp, const char *body,
                         size_t len, char *out, size_t size)
{
    unsigned char key[WEBHOOK_KEY_MAX], mac[crypto_auth_hmacsha256_BYTES];
    size_t klen = 0;
    const char *s = secret ? secret : "";
    if (strncmp(s, "whsec_", 6) == 0) {
        const char *b64 = s + 6;
        if (sodium_base642bin(key, sizeof(key), b64, strlen(b64), NULL, &klen, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            klen == 0)
            return MR_EINVAL;
    } else {
        klen = strlen(s);
        if (klen > sizeof(key))
            klen = 0; /* hashed below, as HMAC does with long keys */
        else
            memcpy(key, s, klen);
    }
    char stamp[24];
    int sn = snprintf(stamp, sizeof(stamp), "%lld", (long long)timestamp);
    /* OpenSSL's SHA-256 uses the CPU's SHA extensions: the body is the
     * whole message in base64, hashed once per attempt */
    const unsigned char *k = klen ? key : (const unsigned char *)s;
    size_t kl = klen ? klen : strlen(s);
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    size_t maclen = 0;
    int ok = ctx && EVP_MAC_init(ctx, kl ? k : (const unsigned char *)"", kl, params) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)stamp, (size_t)sn) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)body, len) == 1 &&
             EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) == 1 && maclen == sizeof(mac);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    sodium_memzero(key, sizeof(key));
    if (!ok)
        return MR_EINVAL;
    char b64[sodium_base64_ENCODED_LEN(sizeof(mac), sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
    if ((size_t)snprintf(out, size, "v1,%s", b64) >= size)
        return MR_ETOOBIG;
    return 0;
}

/* --- the request ---------------------------------------------------------- */

struct answer {
    struct mr_buf body;
    int cut; /* more came than WEBHOOK_BODY_MAX: the transfer was stopped */
};

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    struct answer *a = ctx;
    size_t len = size * n, room = a->body.max - a->body.len;
    if (len <= room)
        return mr_buf_append(&a->body, p, len) == 0 ? len : 0;
    mr_buf_append(&a->body, p, room);
    a->cut = 1;
    return 0; /* curl stops with CURLE_WRITE_ERROR */
}

/* The URL as shown: scheme://host[:port]/path, never its query or user
 * part (either may hold a token). Returns 0, or -1 when it is no URL. */
static int url_shown(const char *url, char *scheme, size_t ssize, char *host, size_t hsize,
                     char *out, size_t size)
{
    CURLU *u = curl_url();
    char *sch = NULL, *h = NULL, *port = NULL, *path = NULL;
    int rc = -1;
    if (u && url && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &sch, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        curl_url_get(u, CURLUPART_PATH, &path, 0);
        snprintf(scheme, ssize, "%s", sch);
        snprintf(host, hsize, "%s", h);
        snprintf(out, size, "%s://%s%s%s%s", sch, h, port ? ":" : "", port ? port : "",
                 path ? path : "/");
        rc = 0;
    }
    curl_free(sch);
    curl_free(h);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return rc;
}

static struct curl_slist *headers(const char *secret, const struct mr_delivery_item *it, int64_t ts,
                                  const char *body, int *bad_secret)
{
    char line[160];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    snprintf(line, sizeof(line), "webhook-id: %.100s", it->event_id ? it->event_id : "");
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "webhook-timestamp: %lld", (long long)ts);
    h = curl_slist_append(h, line);
    *bad_secret = 0;
    if (secret) {
        char sig[96];
        if (mr_webhook_signature(secret, it->event_id ? it->event_id : "", ts, body, strlen(body),
                                 sig, sizeof(sig)) != 0)
            *bad_secret = 1;
        snprintf(line, sizeof(line), "webhook-signature: %s", sig);
        if (!*bad_secret)
            h = curl_slist_append(h, line);
        sodium_memzero(line, sizeof(line));
    }
    return h;
}

/* curl's failure, for people: what went wrong and with which receiver. */
static void curl_failed(struct mr_delivery_result *r, CURLcode rc, const char *errbuf,
                        const char *url, const char *host, const char *shown, int timeout)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc), *query = strchr(url, '?');
    if (query && query[1] && strstr(why, query + 1))
        why = curl_easy_strerror(rc); /* never the query: it may hold a token */
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        mr_dr_set(r, MR_DELIVERY_RETRY, "could not resolve host %s (posting to %s)", host, shown);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        mr_dr_set(r, MR_DELIVERY_RETRY, "no answer from %s in %d s (the target's timeout)", shown,
                  timeout);
        break;
    case CURLE_COULDNT_CONNECT:
        mr_dr_set(r, MR_DELIVERY_RETRY, "connecting to %s: %s", shown, why);
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        mr_dr_set(r, MR_DELIVERY_RETRY, "TLS with %s failed: %s", shown, why);
        break;
    default:
        mr_dr_set(r, MR_DELIVERY_RETRY, "posting to %s: %s", shown, why);
        break;
    }
}

/* The outcome of an answer with HTTP status code. */
static void judge(const struct mr_target *t, CURL *curl, long code, const struct answer *a,
                  const char *shown, struct mr_delivery_result *r)
{
    if (code >= 200 && code < 300) {
        r->outcome = MR_DELIVERY_OK;
        if (a->cut)
            mr_dr_respond(r, " ", "(body cut at 64 KiB)", 20);
        return;
    }
    if (a->cut) {
        mr_dr_set(r, MR_DELIVERY_RETRY, "the receiver %s answered %ld with more than 64 KiB", shown,
                  code);
        return;
    }
    if (mr_target_is_stop_status(t, code)) {
        mr_dr_set(r, MR_DELIVERY_FAIL,
                  "the receiver %s answered %ld, one of the target's stop statuses: not retried",
                  shown, code);
        return;
    }
    if (code >= 300 && code < 400) {
        char *loc = NULL, scheme[16], host[256], where[600] = "(no Location)";
        curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &loc);
        if (loc &&
            url_shown(loc, scheme, sizeof(scheme), host, sizeof(host), where, sizeof(where)) != 0)
            snprintf(where, sizeof(where), "(a Location that is no URL)");
        mr_dr_set(r, MR_DELIVERY_RETRY,
                  "the receiver redirected to %s; mailroom does not follow redirects (answer %ld "
                  "from %s)",
                  where, code, shown);
        return;
    }
    mr_dr_set(r, MR_DELIVERY_RETRY, "the receiver %s answered %ld", shown, code);
}

/* One libcurl handle per thread, reset between requests: its connection
 * cache keeps the connection (and the TLS session) to a receiver open from
 * one delivery to the next, instead of a handshake per message. Freed when
 * the thread ends. */
static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

static void free_handle(void *h)
{
    curl_easy_cleanup(h);
}

static void make_key(void)
{
    pthread_key_create(&handle_key, free_handle);
}

static CURL *thread_handle(void)
{
    pthread_once(&handle_once, make_key);
    CURL *curl = pthread_getspecific(handle_key);
    if (curl) {
        curl_easy_reset(curl);
        return curl;
    }
    curl = curl_easy_init();
    if (curl)
        pthread_setspecific(handle_key, curl);
    return curl;
}

static void post(const struct mr_target *t, const char *secret, const struct mr_delivery_item *it,
                 const char *shown, const char *host, struct mr_delivery_result *r)
{
    int64_t ts = (int64_t)time(NULL);
    char *body = mr_webhook_payload(t, it, ts), errbuf[CURL_ERROR_SIZE] = "";
    int bad_secret;
    struct curl_slist *h = headers(secret, it, ts, body, &bad_secret);
    struct answer a = {0};
    int timeout = mr_target_timeout(t);
    mr_buf_init(&a.body, WEBHOOK_BODY_MAX);
    CURL *curl = bad_secret ? NULL : thread_handle();
    if (bad_secret) {
        mr_dr_set(r, MR_DELIVERY_FAIL,
                  "the signing secret starts with whsec_ but the rest is not base64: no request "
                  "was made");
        goto out;
    }
    if (!curl) {
        mr_dr_set(r, MR_DELIVERY_RETRY, "libcurl could not start a request");
        goto out;
    }
    curl_easy_setopt(curl, CURLOPT_URL, t->url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mailroom/" MR_VERSION);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout * 1000L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
                     timeout < WEBHOOK_CONNECT_SECS ? (long)timeout : WEBHOOK_CONNECT_SECS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* not $https_proxy from the environment */
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (code) {
        char status[32];
        snprintf(status, sizeof(status), "HTTP %ld", code);
        mr_dr_respond(r, NULL, status, strlen(status));
        if (a.body.len)
            mr_dr_respond(r, " ", a.body.data,
                          a.body.len < WEBHOOK_SHOWN_MAX ? a.body.len : WEBHOOK_SHOWN_MAX);
    }
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && a.cut && code))
        judge(t, curl, code, &a, shown, r);
    else
        curl_failed(r, rc, errbuf, t->url, host, shown, timeout);
out:
    if (curl) /* the thread's handle: nothing of this request may stay in it */
        curl_easy_reset(curl);
    curl_slist_free_all(h);
    mr_buf_free(&a.body);
    free(body);
}

void mr_deliver_webhook(const struct mr_target *t, const char *secret,
                        const struct mr_delivery_item *it, struct mr_delivery_result *r)
{
    char scheme[16], host[256], shown[600];
    mr_dr_begin(r);
    pthread_once(&curl_once, curl_start);
    if (!t->url ||
        url_shown(t->url, scheme, sizeof(scheme), host, sizeof(host), shown, sizeof(shown)) != 0) {
        mr_dr_set(r, MR_DELIVERY_FAIL, "the target's URL is missing or is not a URL");
        return;
    }
    if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
        mr_dr_set(r, MR_DELIVERY_FAIL, "%s: only https:// (or http://, when allowed) is posted to",
                  shown);
        return;
    }
    if (strcmp(scheme, "http") == 0 && !t->allow_http) {
        mr_dr_set(r, MR_DELIVERY_FAIL,
                  "%s is plain http://, which the target does not allow: use https://, or allow "
                  "HTTP on the target (allow_http) for a receiver on a trusted network",
                  shown);
        return;
    }
    post(t, secret, it, shown, host, r);
}
