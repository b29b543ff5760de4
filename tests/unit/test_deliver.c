/* The four delivery transports (deliver/deliver.h) against real things:
 * an HTTP receiver and an LMTP server scripted by a thread of this test on
 * loopback (and a unix socket), real Maildirs on disk (a full one on a
 * tiny tmpfs in a mount namespace of a child), and real commands run by
 * /bin/sh. Each scenario checks the outcome (delivered, retried, failed),
 * the words people see, and what arrived at the other side. */
#include "cmocka_all.h"

#include "deliver/deliver.h"
#include "helpers.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECRET   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define EVENT_ID "evt_0001_test"

/* CRLF, a bare LF, a NUL, 8-bit bytes and a line starting with a dot */
static const char RAW[] = "From: Ana <ana@example.com>\r\nTo: box@example.com\r\n"
                          "Subject: hi\r\n\r\nline one\r\n.starts with a dot\n"
                          "bare LF above, NUL here:\0, caf\xc3\xa9\r\n..two dots\r\nend";
#define RAW_LEN (sizeof(RAW) - 1)

static struct mr_message msg;
static struct mr_attachment att[1];

static void sample(struct mr_delivery_item *it, const void *raw, size_t len)
{
    memset(&msg, 0, sizeof(msg));
    msg.id = 42;
    msg.account_id = 7;
    msg.from = "Ana <ana@example.com>";
    msg.to = "box@example.com";
    msg.cc = NULL;
    msg.subject = "hi \x1b[31mred";
    msg.date = "2026-11-21T10:00:00Z";
    msg.message_id = "<m1@example.com>";
    msg.body_text = "line one\nbad utf-8: \xff\xfe end";
    msg.size = (int64_t)len;
    snprintf(msg.msg_class, sizeof(msg.msg_class), "ordinary");
    att[0] = (struct mr_attachment){1, "report.pdf", "application/pdf", 1234, 0};
    memset(it, 0, sizeof(*it));
    it->delivery_id = 9;
    it->event_id = EVENT_ID;
    it->attempt = 1;
    it->account_id = 7;
    it->account_name = "support";
    it->account_user = "support@example.com";
    it->msg = &msg;
    it->att = att;
    it->natt = 1;
    it->raw = raw;
    it->raw_len = len;
}

static void target(struct mr_target *t, enum mr_target_kind kind)
{
    mr_target_init(t);
    t->kind = kind;
    t->timeout = 5;
}

static int64_t elapsed_since(int64_t t0)
{
    return mr_now_ms() - t0;
}

/* No child of this process is left, reaped or not. */
static void assert_no_children(void)
{
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    struct mr_buf b;
    mr_buf_init(&b, 64 << 20);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        assert_int_equal(mr_buf_append(&b, chunk, n), 0);
    fclose(fp);
    *len = b.len;
    return b.data ? b.data : mr_xstrdup("");
}

static size_t entries(const char *dir, char *first, size_t size)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') {
            if (n++ == 0 && first)
                snprintf(first, size, "%s", e->d_name);
        }
    closedir(d);
    return n;
}

/* --- webhook: signature and payload --------------------------------------- */

/* The Standard Webhooks specification's published example (also in its
 * reference libraries' tests): this secret, id, timestamp and body sign to
 * exactly this. Cross-checked with Python: base64(hmac.new(
 * b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), b"msg_p5jXN8AQM9LWM0D4loKWxJek."
 * b"1614265330." b'{"test": 2432232314}', sha256).digest()). */
static void test_signature_vector(void **state)
{
    (void)state;
    char sig[128];
    const char *body = "{\"test\": 2432232314}";
    assert_int_equal(mr_webhook_signature(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                                          strlen(body), sig, sizeof(sig)),
                     0);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* a secret without the prefix is the key's bytes themselves */
    unsigned char mac[32];
    const char *signed_text = "id1.5.{}";
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)"plain key", 9);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)signed_text, strlen(signed_text));
    crypto_auth_hmacsha256_final(&st, mac);
    char b64[64], want[80];
    sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
    snprintf(want, sizeof(want), "v1,%s", b64);
    assert_int_equal(mr_webhook_signature("plain key", "id1", 5, "{}", 2, sig, sizeof(sig)), 0);
    assert_string_equal(sig, want);
    assert_int_equal(mr_webhook_signature("whsec_not base64!", "id", 1, "", 0, sig, sizeof(sig)),
                     MR_EINVAL);
    assert_int_equal(mr_webhook_signature(SECRET, "id", 1, "", 0, sig, 10), MR_ETOOBIG);
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("payload is no JSON: %s", e.text);
    return j;
}

static void test_payload_shape(void **state)
{
    (void)state;
    struct mr_target t;
    struct mr_delivery_item it;
    target(&t, MR_TARGET_WEBHOOK);
    sample(&it, RAW, RAW_LEN);
    char *text = mr_webhook_payload(&t, &it, 1614265330);
    json_t *j = parse(text);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "message.received");
    assert_string_equal(json_string_value(json_object_get(j, "timestamp")), "2021-02-25T15:02:10Z");
    json_t *data = json_object_get(j, "data"), *acc = json_object_get(data, "account");
    assert_int_equal(json_integer_value(json_object_get(acc, "id")), 7);
    assert_string_equal(json_string_value(json_object_get(acc, "name")), "support");
    json_t *m = json_object_get(data, "message");
    assert_int_equal(json_integer_value(json_object_get(m, "id")), 42);
    assert_string_equal(json_string_value(json_object_get(m, "event_id")), EVENT_ID);
    assert_string_equal(json_string_value(json_object_get(m, "from")), msg.from);
    assert_string_equal(json_string_value(json_object_get(m, "to")), msg.to);
    assert_true(json_is_null(json_object_get(m, "cc")));
    assert_string_equal(json_string_value(json_object_get(m, "subject")), msg.subject);
    assert_string_equal(json_string_value(json_object_get(m, "date")), msg.date);
    assert_string_equal(json_string_value(json_object_get(m, "message_id")), msg.message_id);
    assert_string_equal(json_string_value(json_object_get(m, "class")), "ordinary");
    assert_int_equal(json_integer_value(json_object_get(m, "size")), RAW_LEN);
    /* the bad bytes of the text became U+FFFD: the string is valid UTF-8 */
    assert_string_equal(json_string_value(json_object_get(m, "text")),
                        "line one\nbad utf-8: \xEF\xBF\xBD\xEF\xBF\xBD end");
    json_t *a = json_array_get(json_object_get(m, "attachments"), 0);
    assert_string_equal(json_string_value(json_object_get(a, "name")), "report.pdf");
    assert_string_equal(json_string_value(json_object_get(a, "type")), "application/pdf");
    assert_int_equal(json_integer_value(json_object_get(a, "size")), 1234);
    /* the raw bytes round-trip through base64, NUL and 8-bit bytes too */
    const char *b64 = json_string_value(json_object_get(m, "raw"));
    assert_non_null(b64);
    unsigned char back[RAW_LEN + 8];
    size_t blen = 0;
    assert_int_equal(sodium_base642bin(back, sizeof(back), b64, strlen(b64), NULL, &blen, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(blen, RAW_LEN);
    assert_memory_equal(back, RAW, RAW_LEN);
    assert_null(json_object_get(m, "raw_url"));
    assert_null(strstr(text, "MfKQ9r8"));
    json_decref(j);
    free(text);

    /* above the inline size: the link instead, when there is one */
    t.inline_max = 10;
    it.raw_url = "https://mail.example.com/api/v1/messages/42/raw";
    it.test = 1;
    text = mr_webhook_payload(&t, &it, 0);
    j = parse(text);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "message.test");
    m = json_object_get(json_object_get(j, "data"), "message");
    assert_null(json_object_get(m, "raw"));
    assert_string_equal(json_string_value(json_object_get(m, "raw_url")), it.raw_url);
    json_decref(j);
    free(text);
    /* no link known: the bytes go inline whatever their size */
    it.raw_url = NULL;
    text = mr_webhook_payload(&t, &it, 0);
    j = parse(text);
    m = json_object_get(json_object_get(j, "data"), "message");
    assert_non_null(json_string_value(json_object_get(m, "raw")));
    json_decref(j);
    free(text);
    mr_target_clear(&t);
}

/* --- webhook: a real HTTP receiver ------------------------------------------------- */

enum http_answer {
    H_OK,
    H_500,
    H_STOP,
    H_REDIRECT,
    H_BIG_OK,
    H_BIG_500,
    H_SILENT,
    H_CLOSE_MID,
};

struct http_srv {
    enum http_answer answer;
    int lfd, port;
    pthread_t thread;
    struct mr_buf head, body; /* the request as received */
    int got;
};

static int recv_some(int fd, struct mr_buf *b, int ms)
{
    char chunk[65536];
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, ms) != 1)
        return -1;
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0)
        return -1;
    return mr_buf_append(b, chunk, (size_t)n) == 0 ? 0 : -1;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static const char *header(const struct http_srv *s, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = s->head.data; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1 + strspn(p + n + 1, " ");
            snprintf(out, size, "%.*s", (int)strcspn(v, "\r\n"), v);
            return out;
        }
    }
    return NULL;
}

static void http_read_request(struct http_srv *s, int fd)
{
    struct mr_buf in;
    char *end = NULL, cl[32];
    mr_buf_init(&in, 64 << 20);
    while (!(in.data && (end = strstr(in.data, "\r\n\r\n"))))
        if (recv_some(fd, &in, 10000) != 0)
            goto out;
    mr_buf_append(&s->head, in.data, (size_t)(end - in.data) + 2);
    size_t want = header(s, "Content-Length", cl, sizeof(cl)) ? strtoul(cl, NULL, 10) : 0;
    size_t have = in.len - (size_t)(end + 4 - in.data);
    mr_buf_append(&s->body, end + 4, have);
    while (s->body.len < want) {
        size_t before = in.len;
        if (recv_some(fd, &in, 10000) != 0)
            goto out;
        mr_buf_append(&s->body, in.data + before, in.len - before);
    }
    s->got = 1;
out:
    mr_buf_free(&in);
}

static void http_answer(struct http_srv *s, int fd)
{
    static const char *const simple[] = {
        [H_OK] = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nthanks\r\n",
        [H_500] =
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 10\r\n\r\nbroken \x01\xff!",
        [H_STOP] = "HTTP/1.1 410 Gone\r\nContent-Length: 4\r\n\r\ngone",
        [H_REDIRECT] =
            "HTTP/1.1 302 Found\r\nLocation: "
            "https://elsewhere.example/next?token=t0ps3cret\r\nContent-Length: 0\r\n\r\n",
        [H_CLOSE_MID] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
    };
    if (s->answer == H_BIG_OK || s->answer == H_BIG_500) {
        size_t n = 1 << 20;
        char *big = mr_xmalloc(n);
        memset(big, 'x', n);
        char head[128];
        int hn = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Length: %zu\r\n\r\n",
                          s->answer == H_BIG_OK ? "200 OK" : "500 Oops", n);
        send_all(fd, head, (size_t)hn);
        send_all(fd, big, n);
        free(big);
    } else if (s->answer == H_SILENT) {
        struct mr_buf rest;
        mr_buf_init(&rest, 1 << 20);
        while (recv_some(fd, &rest, 10000) == 0) /* until the client gives up */
            ;
        mr_buf_free(&rest);
    } else {
        send_all(fd, simple[s->answer], strlen(simple[s->answer]));
    }
}

static void *http_main(void *arg)
{
    struct http_srv *s = arg;
    struct pollfd p = {s->lfd, POLLIN, 0};
    int fd;
    if (poll(&p, 1, 10000) == 1 && (fd = accept(s->lfd, NULL, NULL)) >= 0) {
        http_read_request(s, fd);
        if (s->got)
            http_answer(s, fd);
        shutdown(fd, SHUT_WR);
        close(fd);
    }
    return NULL;
}

static int listen_tcp(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

struct hook_run {
    struct http_srv srv;
    struct mr_delivery_result r;
    int64_t ms;
};

/* One delivery to a receiver answering answer; the receiver checks. */
static void hook(struct hook_run *h, enum http_answer answer, int timeout, const char *secret)
{
    struct mr_target t;
    struct mr_delivery_item it;
    memset(h, 0, sizeof(*h));
    h->srv.answer = answer;
    mr_buf_init(&h->srv.head, 1 << 20);
    mr_buf_init(&h->srv.body, 64 << 20);
    h->srv.lfd = listen_tcp(&h->srv.port);
    assert_int_equal(pthread_create(&h->srv.thread, NULL, http_main, &h->srv), 0);
    target(&t, MR_TARGET_WEBHOOK);
    t.url = mr_xasprintf("http://127.0.0.1:%d/hooks/mail?token=url-t0ken", h->srv.port);
    t.allow_http = 1;
    t.timeout = timeout;
    sample(&it, RAW, RAW_LEN);
    int64_t t0 = mr_now_ms();
    mr_deliver(&t, secret, &it, &h->r);
    h->ms = elapsed_since(t0);
    pthread_join(h->srv.thread, NULL);
    close(h->srv.lfd);
    mr_target_clear(&t);
    /* no secret, nor the URL's query, in what people see */
    assert_null(strstr(h->r.error, "url-t0ken"));
    assert_null(strstr(h->r.response, "url-t0ken"));
    assert_null(strstr(h->r.error, "MfKQ9r8"));
    assert_null(strstr(h->r.response, "MfKQ9r8"));
}

static void hook_free(struct hook_run *h)
{
    mr_buf_free(&h->srv.head);
    mr_buf_free(&h->srv.body);
}

/* What the receiver saw: the headers, a signature it can check, the body. */
static void assert_signed_request(const struct http_srv *s)
{
    char v[256], ts[32], sig[256];
    assert_true(s->got);
    assert_true(strncmp(s->head.data, "POST /hooks/mail?token=url-t0ken HTTP/1.1\r\n", 43) == 0);
    assert_string_equal(header(s, "Content-Type", v, sizeof(v)), "application/json");
    assert_string_equal(header(s, "User-Agent", v, sizeof(v)), "mailroom/" MR_VERSION);
    assert_string_equal(header(s, "webhook-id", v, sizeof(v)), EVENT_ID);
    assert_non_null(header(s, "webhook-timestamp", ts, sizeof(ts)));
    long long when = strtoll(ts, NULL, 10);
    assert_true(llabs(when - (long long)time(NULL)) < 60);
    assert_non_null(header(s, "webhook-signature", v, sizeof(v)));
    assert_int_equal(
        mr_webhook_signature(SECRET, EVENT_ID, when, s->body.data, s->body.len, sig, sizeof(sig)),
        0);
    assert_string_equal(v, sig);
    json_t *j = parse(s->body.data);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "message.received");
    json_decref(j);
    assert_null(strstr(s->body.data, "MfKQ9r8"));
}

static void test_webhook_delivered(void **state)
{
    (void)state;
    struct hook_run h;
    hook(&h, H_OK, 5, SECRET);
    assert_int_equal(h.r.outcome, MR_DELIVERY_OK);
    assert_string_equal(h.r.error, "");
    assert_string_equal(h.r.response, "HTTP 200 thanks\n");
    assert_true(h.r.ms >= 0);
    assert_signed_request(&h.srv);
    hook_free(&h);
    /* unsigned: no signature header at all */
    hook(&h, H_OK, 5, NULL);
    char v[128];
    assert_int_equal(h.r.outcome, MR_DELIVERY_OK);
    assert_null(header(&h.srv, "webhook-signature", v, sizeof(v)));
    assert_non_null(header(&h.srv, "webhook-id", v, sizeof(v)));
    hook_free(&h);
}

static void test_webhook_refusals(void **state)
{
    (void)state;
    struct hook_run h;
    hook(&h, H_500, 5, SECRET);
    assert_int_equal(h.r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(strstr(h.r.error, "answered 500"));
    assert_non_null(strstr(h.r.error, "http://127.0.0.1:"));
    /* said as said, for the console's languages: the format and its words */
    assert_string_equal(h.r.said.format, "the receiver %s answered %ld");
    assert_int_equal(h.r.said.nargs, 2);
    assert_string_equal(mr_said_arg(&h.r.said, 1), "500");
    assert_string_equal(h.r.response, "HTTP 500 broken ?"
                                      "?!"); /* made printable */
    assert_signed_request(&h.srv);
    hook_free(&h);

    hook(&h, H_STOP, 5, SECRET);
    assert_int_equal(h.r.outcome, MR_DELIVERY_FAIL);
    assert_non_null(strstr(h.r.error, "410"));
    assert_non_null(strstr(h.r.error, "stop status"));
    hook_free(&h);

    hook(&h, H_REDIRECT, 5, SECRET);
    assert_int_equal(h.r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(strstr(h.r.error, "the receiver redirected to https://elsewhere.example/next; "
                                      "mailroom does not follow redirects"));
    assert_null(strstr(h.r.error, "t0ps3cret"));
    hook_free(&h);
}

static void test_webhook_big_answers(void **state)
{
    (void)state;
    struct hook_run h;
    hook(&h, H_BIG_OK, 5, SECRET);
    assert_int_equal(h.r.outcome, MR_DELIVERY_OK);
    assert_true(strncmp(h.r.response, "HTTP 200 xxxx", 13) == 0);
    assert_non_null(strstr(h.r.response, "(body cut at 64 KiB)"));
    hook_free(&h);
    hook(&h, H_BIG_500, 5, SECRET);
    assert_int_equal(h.r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(strstr(h.r.error, "more than 64 KiB"));
    hook_free(&h);
}

static void test_webhook_timeout_and_cut(void **state)
{
    (void)state;
    struct hook_run h;
    hook(&h, H_SILENT, 1, SECRET);
    assert_int_equal(h.r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(strstr(h.r.error, "no answer from http://127.0.0.1:"));
    assert_non_null(strstr(h.r.error, "in 1 s"));
    assert_true(h.ms >= 900 && h.ms < 3000);
    hook_free(&h);
    hook(&h, H_CLOSE_MID, 5, SECRET);
    assert_int_equal(h.r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(strstr(h.r.error, "posting to http://127.0.0.1:"));
    hook_free(&h);
}

static void test_webhook_bad_targets(void **state)
{
    (void)state;
    struct mr_target t;
    struct mr_delivery_item it;
    struct mr_delivery_result r;
    sample(&it, RAW, RAW_LEN);
    target(&t, MR_TARGET_WEBHOOK);
    t.url = mr_xstrdup("http://127.0.0.1:9/hook?key=abc");
    mr_deliver(&t, SECRET, &it, &r);
    assert_int_equal(r.outcome, MR_DELIVERY_FAIL);
    assert_non_null(strstr(r.error, "plain http://"));
    assert_null(strstr(r.error, "key=abc"));
    mr_freep(&t.url);

    t.url = mr_xstrdup("https://nothing.invalid/hook?key=abc");
    mr_deliver(&t, SECRET, &it, &r);
    assert_int_equal(r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(strstr(r.error, "could not resolve host nothing.invalid"));
    assert_null(strstr(r.error, "key=abc"));
    mr_freep(&t.url);

    t.url = mr_xstrdup("ftp://127.0.0.1/x");
    mr_deliver(&t, SECRET, &it, &r);
    assert_int_equal(r.outcome, MR_DELIVERY_FAIL);
    mr_freep(&t.url);

    /* nobody listening: a retry naming the receiver */
    int port, fd = listen_tcp(&port);
    close(fd);
    t.url = mr_xasprintf("http://127.0.0.1:%d/", port);
    t.allow_http = 1;
    mr_deliver(&t, SECRET, &it, &r);
    assert_int_equal(r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(strstr(r.error, "connecting to http://127.0.0.1:"));
    /* a whsec_ secret that is no base64 is the target's fault */
    mr_deliver(&t, "whsec_***", &it, &r);
    assert_int_equal(r.outcome, MR_DELIVERY_FAIL);
    assert_null(strstr(r.error, "***"));
    mr_target_clear(&t);
}

/* --- maildir ------------------------------------------------------------------ */

struct fixture {
    char *tmp;
};

static int setup(void **state)
{
    struct fixture *f = mr_xcalloc(1, sizeof(*f));
    f->tmp = mr_test_tempdir();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mr_test_rmtree(f->tmp);
    free(f);
    return 0;
}

static void maildir_once(const char *dir, const void *raw, size_t len, struct mr_delivery_result *r)
{
    struct mr_target t;
    struct mr_delivery_item it;
    target(&t, MR_TARGET_MAILDIR);
    t.path = mr_xstrdup(dir);
    sample(&it, raw, len);
    mr_deliver(&t, NULL, &it, r);
    mr_target_clear(&t);
}

static void test_maildir_byte_exact(void **state)
{
    struct fixture *f = *state;
    char *dir = mr_xasprintf("%s/Maildir/", f->tmp), path[4096], name[1024], name2[1024];
    struct mr_delivery_result r;
    maildir_once(dir, RAW, RAW_LEN, &r);
    assert_int_equal(r.outcome, MR_DELIVERY_OK);
    snprintf(path, sizeof(path), "%snew", dir);
    assert_int_equal(entries(path, name, sizeof(name)), 1);
    snprintf(path, sizeof(path), "%stmp", dir);
    assert_int_equal(entries(path, NULL, 0), 0);
    snprintf(path, sizeof(path), "%scur", dir);
    assert_int_equal(entries(path, NULL, 0), 0);
    char hint[32];
    snprintf(hint, sizeof(hint), ",S=%zu", RAW_LEN);
    assert_non_null(strstr(name, hint));
    assert_string_equal(strstr(name, hint), hint); /* at the end */
    assert_non_null(strstr(name, ".M"));
    assert_null(strchr(name, '/'));
    assert_null(strchr(name, ':'));
    snprintf(path, sizeof(path), "new/%s", name);
    assert_string_equal(r.response, path);
    snprintf(path, sizeof(path), "%snew/%s", dir, name);
    size_t len;
    char *back = read_file(path, &len);
    assert_int_equal(len, RAW_LEN);
    assert_memory_equal(back, RAW, RAW_LEN);
    free(back);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    /* a second one: another name, both there */
    maildir_once(dir, "x", 1, &r);
    assert_int_equal(r.outcome, MR_DELIVERY_OK);
    snprintf(path, sizeof(path), "%snew", dir);
    assert_int_equal(entries(path, NULL, 0), 2);
    snprintf(name2, sizeof(name2), "%.1000s", r.response + 4);
    assert_string_not_equal(name, name2);
    free(dir);
}

static void test_maildir_refusals(void **state)
{
    struct fixture *f = *state;
    struct mr_delivery_result r;
    char *real = mr_xasprintf("%s/real", f->tmp), *link = mr_xasprintf("%s/link", f->tmp);
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink(real, link), 0);
    maildir_once(link, RAW, RAW_LEN, &r);
    assert_int_equal(r.outcome, MR_DELIVERY_FAIL);
    assert_non_null(strstr(r.error, "symlink"));
    assert_int_equal(entries(real, NULL, 0), 0);

    /* a symlinked tmp/ inside a real Maildir */
    char *box = mr_xasprintf("%s/box", f->tmp), *tmp = mr_xasprintf("%s/box/tmp", f->tmp);
    assert_int_equal(mkdir(box, 0700), 0);
    assert_int_equal(symlink(real, tmp), 0);
    maildir_once(box, RAW, RAW_LEN, &r);
    assert_int_equal(r.outcome, MR_DELIVERY_FAIL);
    assert_non_null(strstr(r.error, "symlink"));
    assert_int_equal(entries(real, NULL, 0), 0);

    maildir_once("relative/Maildir", RAW, RAW_LEN, &r);
    assert_int_equal(r.outcome, MR_DELIVERY_FAIL);
    assert_non_null(strstr(r.error, "absolute"));

    /* the parent must exist */
    char *deep = mr_xasprintf("%s/no/such/Maildir", f->tmp);
    maildir_once(deep, RAW, RAW_LEN, &r);
    assert_int_equal(r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(strstr(r.error, "No such file"));
    free(deep);
    free(box);
    free(tmp);
    free(real);
    free(link);
}

/* In a child: a mount namespace of its own (a user namespace too when not
 * root) with a 16 KiB tmpfs on dir, and a 256 KiB message delivered into
 * it. Writes "outcome|tmp entries|error" to fd, or "skip|why". */
static void full_disk_child(const char *dir, int fd)
{
    char out[1024];
    uid_t uid = geteuid();
    gid_t gid = getegid();
    int flags = CLONE_NEWNS | (uid != 0 ? CLONE_NEWUSER : 0);
    if (unshare(flags) != 0) {
        dprintf(fd, "skip|unshare(%s) is not allowed here: %s",
                uid ? "CLONE_NEWUSER|CLONE_NEWNS" : "CLONE_NEWNS", strerror(errno));
        _exit(0);
    }
    if (uid != 0) {
        char map[64];
        int m = open("/proc/self/setgroups", O_WRONLY);
        if (m >= 0 && (write(m, "deny", 4) < 0 || close(m) != 0))
            _exit(1);
        snprintf(map, sizeof(map), "%ld %ld 1", (long)uid, (long)uid);
        m = open("/proc/self/uid_map", O_WRONLY);
        if (m < 0 || write(m, map, strlen(map)) < 0 || close(m) != 0)
            _exit(1);
        snprintf(map, sizeof(map), "%ld %ld 1", (long)gid, (long)gid);
        m = open("/proc/self/gid_map", O_WRONLY);
        if (m < 0 || write(m, map, strlen(map)) < 0 || close(m) != 0)
            _exit(1);
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", 0, "size=16k,mode=0700") != 0) {
        dprintf(fd, "skip|no tmpfs could be mounted in a mount namespace: %s", strerror(errno));
        _exit(0);
    }
    size_t len = 256 << 10;
    char *big = mr_xmalloc(len);
    memset(big, 'm', len);
    struct mr_delivery_result r;
    char *box = mr_xasprintf("%s/Maildir", dir), *tmp = mr_xasprintf("%s/Maildir/tmp", dir);
    maildir_once(box, big, len, &r);
    snprintf(out, sizeof(out), "%d|%zu|%s", (int)r.outcome, entries(tmp, NULL, 0), r.error);
    dprintf(fd, "%s", out);
    _exit(0);
}

static void test_maildir_full_disk(void **state)
{
    struct fixture *f = *state;
    char *dir = mr_xasprintf("%s/small", f->tmp), said[1100] = "";
    int p[2];
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        full_disk_child(dir, p[1]);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t got;
    while ((got = read(p[0], said + n, sizeof(said) - 1 - n)) > 0)
        n += (size_t)got;
    said[n] = '\0';
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(dir);
    if (strncmp(said, "skip|", 5) == 0) {
        print_message("skipped: %s\n", said + 5);
        skip();
    }
    char want[64];
    snprintf(want, sizeof(want), "%d|0|the disk holding ", (int)MR_DELIVERY_RETRY);
    assert_true(strncmp(said, want, strlen(want)) == 0);
    assert_non_null(strstr(said, " is full"));
}

/* --- command --------------------------------------------------------------------- */

static void command_once(const char *command, int timeout, const void *raw, size_t len,
                         struct mr_delivery_result *r, int64_t *ms)
{
    struct mr_target t;
    struct mr_delivery_item it;
    target(&t, MR_TARGET_COMMAND);
    t.command = mr_xstrdup(command);
    t.timeout = timeout;
    sample(&it, raw, len);
    it.attempt = 2;
    int64_t t0 = mr_now_ms();
    mr_deliver(&t, NULL, &it, r);
    if (ms)
        *ms = elapsed_since(t0);
    mr_target_clear(&t);
}

static void test_command_stdin_and_env(void **state)
{
    struct fixture *f = *state;
    struct mr_delivery_result r;
    char *cmd = mr_xasprintf("cat > '%s/got'; env > '%s/env'; echo stored", f->tmp, f->tmp);
    setenv("MR_TEST_LEAK", "must-not-pass", 1);
    command_once(cmd, 5, RAW, RAW_LEN, &r, NULL);
    unsetenv("MR_TEST_LEAK");
    assert_int_equal(r.outcome, MR_DELIVERY_OK);
    assert_string_equal(r.error, "");
    assert_string_equal(r.response, "stored\n");
    char *path = mr_xasprintf("%s/got", f->tmp);
    size_t len;
    char *back = read_file(path, &len);
    assert_int_equal(len, RAW_LEN);
    assert_memory_equal(back, RAW, RAW_LEN);
    free(back);
    free(path);
    path = mr_xasprintf("%s/env", f->tmp);
    char *env = read_file(path, &len);
    static const char *const want[] = {
        "PATH=/usr/local/bin:/usr/bin:/bin\n",
        "MAILROOM_EVENT_ID=" EVENT_ID "\n",
        "MAILROOM_DELIVERY_ID=9\n",
        "MAILROOM_ACCOUNT=support\n",
        "MAILROOM_ACCOUNT_ID=7\n",
        "MAILROOM_USER=support@example.com\n",
        "MAILROOM_MESSAGE_ID=42\n",
        "MAILROOM_HEADER_MESSAGE_ID=<m1@example.com>\n",
        "MAILROOM_FROM=Ana <ana@example.com>\n",
        "MAILROOM_SENDER=ana@example.com\n",
        "MAILROOM_TO=box@example.com\n",
        "MAILROOM_SUBJECT=hi [31mred\n", /* the ESC stripped */
        "MAILROOM_CLASS=ordinary\n",
        "MAILROOM_ATTEMPT=2\n",
        "MAILROOM_TEST=0\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(env, want[i]))
            fail_msg("%s missing from the environment:\n%s", want[i], env);
    char size[64];
    snprintf(size, sizeof(size), "MAILROOM_SIZE=%zu\n", RAW_LEN);
    assert_non_null(strstr(env, size));
    assert_non_null(strstr(env, "HOME=/"));
    assert_null(strstr(env, "MR_TEST_LEAK"));
    free(env);
    free(path);
    free(cmd);
    assert_no_children();
}

static void test_command_exit_statuses(void **state)
{
    (void)state;
    struct mr_delivery_result r;
    command_once("cat >/dev/null; exit 75", 5, RAW, RAW_LEN, &r, NULL);
    assert_int_equal(r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(strstr(r.error, "status 75 (EX_TEMPFAIL)"));
    command_once("echo out; echo err >&2; exit 3", 5, RAW, RAW_LEN, &r, NULL);
    assert_int_equal(r.outcome, MR_DELIVERY_FAIL);
    assert_string_equal(r.error, "the command exited with status 3");
    assert_non_null(strstr(r.response, "out\n"));
    assert_non_null(strstr(r.response, "err\n"));
    command_once("kill -USR1 $$", 5, RAW, RAW_LEN, &r, NULL);
    assert_int_equal(r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(strstr(r.error, "signal 10 (USR1)"));
    /* more output than kept: the start, made printable, and no hang */
    command_once("head -c 3000000 /dev/zero; printf '\\001'; exit 0", 5, RAW, RAW_LEN, &r, NULL);
    assert_int_equal(r.outcome, MR_DELIVERY_OK);
    assert_true(strlen(r.response) < sizeof(r.response));
    assert_true(r.response[0] == '?');
    assert_no_children();
}

/* The pid in the file is gone, or a zombie that is not ours. */
static void assert_gone(const char *pidfile)
{
    size_t len;
    char *text = read_file(pidfile, &len), path[64], stat_text[512] = "";
    long pid = strtol(text, NULL, 10);
    free(text);
    assert_true(pid > 0);
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    for (int i = 0; i < 100; i++) {
        FILE *fp = fopen(path, "r");
        if (!fp)
            return;
        size_t n = fread(stat_text, 1, sizeof(stat_text) - 1, fp);
        stat_text[n] = '\0';
        fclose(fp);
        const char *st = strrchr(stat_text, ')');
        if (st && st[1] == ' ' && st[2] == 'Z')
            return;
        usleep(20000);
    }
    fail_msg("process %ld is still running: %s", pid, stat_text);
}

static void test_command_deadline(void **state)
{
    struct fixture *f = *state;
    struct mr_delivery_result r;
    int64_t ms;
    char *cmd = mr_xasprintf("sleep 60 & echo $! > '%s/pid'; wait", f->tmp);
    command_once(cmd, 1, RAW, RAW_LEN, &r, &ms);
    assert_int_equal(r.outcome, MR_DELIVERY_RETRY);
    assert_string_equal(r.error, "the command did not finish in 1 s and was killed");
    assert_true(ms >= 900 && ms < 4000);
    assert_no_children();
    char *pidfile = mr_xasprintf("%s/pid", f->tmp);
    assert_gone(pidfile);
    free(cmd);
    /* one that ignores SIGTERM: SIGKILL 2 s later */
    cmd = mr_xasprintf("trap '' TERM; sleep 60 & echo $! > '%s/pid'; wait", f->tmp);
    command_once(cmd, 1, RAW, RAW_LEN, &r, &ms);
    assert_int_equal(r.outcome, MR_DELIVERY_RETRY);
    assert_true(ms >= 2900 && ms < 5000);
    assert_no_children();
    assert_gone(pidfile);
    free(pidfile);
    free(cmd);
}

static void test_command_unread_stdin(void **state)
{
    (void)state;
    struct mr_delivery_result r;
    size_t len = 5 << 20;
    char *big = mr_xmalloc(len);
    memset(big, 'a', len);
    /* SIGPIPE is at its default here: were it raised, this process would die */
    struct sigaction sa;
    sigaction(SIGPIPE, NULL, &sa);
    assert_true(sa.sa_handler == SIG_DFL);
    command_once("exit 0", 5, big, len, &r, NULL);
    assert_int_equal(r.outcome, MR_DELIVERY_OK);
    command_once("head -c 10 >/dev/null; echo read ten", 5, big, len, &r, NULL);
    assert_int_equal(r.outcome, MR_DELIVERY_OK);
    assert_string_equal(r.response, "read ten\n");
    /* no SIGPIPE left pending for this thread either */
    sigset_t pending;
    sigpending(&pending);
    assert_false(sigismember(&pending, SIGPIPE));
    free(big);
    assert_no_children();
}

/* --- lmtp: a scripted server ----------------------------------------------------------- */

struct lmtp_script {
    int silent;            /* never greets */
    int drop_after_data;   /* closes once the message is in */
    const char *rcpt[4];   /* the answers to RCPT TO, in order (NULL: 250) */
    const char *after[4];  /* the replies after the message (NULL: 250) */
    const char *unix_path; /* listen there instead of on loopback */
    int unused;            /* no connection is expected: do not wait long for one */
};

struct lmtp_srv {
    const struct lmtp_script *sc;
    int lfd, fd, port;
    pthread_t thread;
    char in[1 << 16];
    size_t len;
    char line[8192];
    struct mr_buf commands; /* every command line, "\n" after each */
    struct mr_buf data;     /* the DATA lines as they came, CRLFs included */
};

/* The next line with its line end (in line), or NULL. */
static const char *lsrv_line(struct lmtp_srv *s, size_t *n)
{
    for (;;) {
        char *nl = memchr(s->in, '\n', s->len);
        if (nl) {
            *n = (size_t)(nl - s->in) + 1;
            memcpy(s->line, s->in, *n);
            s->line[*n] = '\0';
            memmove(s->in, nl + 1, s->len - *n);
            s->len -= *n;
            return s->line;
        }
        struct pollfd p = {s->fd, POLLIN, 0};
        if (s->len == sizeof(s->in) || poll(&p, 1, 10000) != 1)
            return NULL;
        ssize_t got = read(s->fd, s->in + s->len, sizeof(s->in) - s->len);
        if (got <= 0)
            return NULL;
        s->len += (size_t)got;
    }
}

static void lsrv_send(struct lmtp_srv *s, const char *text)
{
    send_all(s->fd, text, strlen(text));
    send_all(s->fd, "\r\n", 2);
}

static void lmtp_scenario(struct lmtp_srv *s)
{
    const char *l;
    size_t n;
    int rcpts = 0, accepted = 0;
    if (s->sc->silent) {
        while (lsrv_line(s, &n))
            ;
        return;
    }
    lsrv_send(s, "220 test.example LMTP ready");
    while ((l = lsrv_line(s, &n)) != NULL) {
        mr_buf_append(&s->commands, l, strcspn(l, "\r\n"));
        mr_buf_putc(&s->commands, '\n');
        if (strncmp(l, "LHLO ", 5) == 0) {
            lsrv_send(s, "250-test.example\r\n250-8BITMIME\r\n250-SIZE 100000000\r\n"
                         "250-ENHANCEDSTATUSCODES\r\n250 PIPELINING");
        } else if (strncmp(l, "MAIL FROM:", 10) == 0) {
            lsrv_send(s, "250 2.1.0 OK");
        } else if (strncmp(l, "RCPT TO:", 8) == 0) {
            const char *a = rcpts < 4 && s->sc->rcpt[rcpts] ? s->sc->rcpt[rcpts] : "250 2.1.5 OK";
            accepted += a[0] == '2';
            rcpts++;
            lsrv_send(s, a);
        } else if (strncmp(l, "DATA", 4) == 0) {
            lsrv_send(s, "354 OK");
            while ((l = lsrv_line(s, &n)) != NULL && strcmp(l, ".\r\n") != 0)
                mr_buf_append(&s->data, l, n);
            if (!l || s->sc->drop_after_data)
                return;
            for (int i = 0; i < accepted; i++)
                lsrv_send(s, i < 4 && s->sc->after[i] ? s->sc->after[i] : "250 2.0.0 saved");
        } else if (strncmp(l, "QUIT", 4) == 0) {
            lsrv_send(s, "221 2.0.0 bye");
            return;
        } else {
            lsrv_send(s, "500 what");
        }
    }
}

static void *lmtp_main(void *arg)
{
    struct lmtp_srv *s = arg;
    struct pollfd p = {s->lfd, POLLIN, 0};
    if (poll(&p, 1, s->sc->unused ? 200 : 10000) == 1 &&
        (s->fd = accept(s->lfd, NULL, NULL)) >= 0) {
        lmtp_scenario(s);
        close(s->fd);
    }
    return NULL;
}

struct lmtp_run {
    struct lmtp_srv srv;
    struct mr_delivery_result r;
    int64_t ms;
};

static void lmtp(struct lmtp_run *run, const struct lmtp_script *sc, const char *recipients,
                 const char *progress, int timeout)
{
    struct mr_target t;
    struct mr_delivery_item it;
    memset(run, 0, sizeof(*run));
    struct lmtp_srv *s = &run->srv;
    s->sc = sc;
    mr_buf_init(&s->commands, 1 << 20);
    mr_buf_init(&s->data, 1 << 20);
    target(&t, MR_TARGET_LMTP);
    if (sc->unix_path) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", sc->unix_path);
        s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(s->lfd, 4), 0);
        t.path = mr_xstrdup(sc->unix_path);
    } else {
        s->lfd = listen_tcp(&s->port);
        t.host = mr_xstrdup("127.0.0.1");
        t.port = s->port;
    }
    assert_int_equal(pthread_create(&s->thread, NULL, lmtp_main, s), 0);
    t.recipients = mr_xstrdup(recipients);
    t.timeout = timeout;
    sample(&it, RAW, RAW_LEN);
    it.progress = progress;
    int64_t t0 = mr_now_ms();
    mr_deliver(&t, NULL, &it, &run->r);
    run->ms = elapsed_since(t0);
    pthread_join(s->thread, NULL);
    close(s->lfd);
    mr_target_clear(&t);
}

static void lmtp_free(struct lmtp_run *run)
{
    mr_buf_free(&run->srv.commands);
    mr_buf_free(&run->srv.data);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_lmtp_all_accepted(void **state)
{
    (void)state;
    struct lmtp_run run;
    struct lmtp_script sc = {0};
    lmtp(&run, &sc, "a@example.org, <b@example.org>", NULL, 5);
    assert_int_equal(run.r.outcome, MR_DELIVERY_OK);
    assert_string_equal(run.r.error, "");
    assert_string_equal(run.r.progress, "a@example.org,b@example.org");
    const char *cmds = run.srv.commands.data;
    assert_true(strncmp(cmds, "LHLO ", 5) == 0);
    /* the From's addr-spec; 8-bit bytes and SIZE offered: both said (the
     * size as it goes out: every line end a CRLF) */
    char mail[128];
    snprintf(mail, sizeof(mail), "MAIL FROM:<ana@example.com> BODY=8BITMIME SIZE=%zu\n",
             RAW_LEN + 3);
    assert_non_null(strstr(cmds, mail));
    assert_non_null(strstr(cmds, "RCPT TO:<a@example.org>\nRCPT TO:<b@example.org>\nDATA\n"));
    assert_non_null(strstr(cmds, "QUIT\n"));
    /* dot-stuffed, CRLF everywhere, a CRLF added after the last line */
    static const char want[] = "From: Ana <ana@example.com>\r\nTo: box@example.com\r\n"
                               "Subject: hi\r\n\r\nline one\r\n..starts with a dot\r\n"
                               "bare LF above, NUL here:\0, caf\xc3\xa9\r\n...two dots\r\nend\r\n";
    assert_int_equal(run.srv.data.len, sizeof(want) - 1);
    assert_memory_equal(run.srv.data.data, want, sizeof(want) - 1);
    assert_non_null(strstr(run.r.response, "250 2.0.0 saved"));
    lmtp_free(&run);
}

static void test_lmtp_per_recipient(void **state)
{
    (void)state;
    struct lmtp_run run;
    struct lmtp_script sc = {.rcpt = {"250 2.1.5 OK", "452 4.2.2 Mailbox is full"}};
    lmtp(&run, &sc, "a@example.org,b@example.org", NULL, 5);
    assert_int_equal(run.r.outcome, MR_DELIVERY_RETRY);
    assert_string_equal(run.r.progress, "a@example.org");
    assert_non_null(strstr(run.r.error, "deferred b@example.org (452 4.2.2 Mailbox is full)"));
    lmtp_free(&run);
    /* the next attempt: only the one still missing */
    struct lmtp_script ok = {0};
    lmtp(&run, &ok, "a@example.org,b@example.org", "a@example.org", 5);
    assert_int_equal(run.r.outcome, MR_DELIVERY_OK);
    assert_string_equal(run.r.progress, "a@example.org,b@example.org");
    assert_int_equal(count(run.srv.commands.data, "RCPT TO:"), 1);
    assert_non_null(strstr(run.srv.commands.data, "RCPT TO:<b@example.org>\n"));
    lmtp_free(&run);
    /* everyone accepted before: nothing to do */
    struct lmtp_script none = {.unused = 1};
    lmtp(&run, &none, "a@example.org,b@example.org", "b@example.org,a@example.org", 5);
    assert_int_equal(run.r.outcome, MR_DELIVERY_OK);
    assert_int_equal(run.srv.commands.len, 0); /* no connection at all */
    lmtp_free(&run);
    /* a temporary failure after the message, for one of two */
    struct lmtp_script late = {.after = {"250 2.0.0 saved", "451 4.3.0 Try later"}};
    lmtp(&run, &late, "a@example.org,b@example.org", NULL, 5);
    assert_int_equal(run.r.outcome, MR_DELIVERY_RETRY);
    assert_string_equal(run.r.progress, "a@example.org");
    assert_non_null(strstr(run.r.error, "b@example.org (451 4.3.0 Try later)"));
    lmtp_free(&run);
}

static void test_lmtp_permanent(void **state)
{
    (void)state;
    struct lmtp_run run;
    struct lmtp_script sc = {.rcpt = {"550 5.1.1 <nobody@example.org> User doesn't exist"}};
    lmtp(&run, &sc, "nobody@example.org", NULL, 5);
    assert_int_equal(run.r.outcome, MR_DELIVERY_FAIL);
    assert_non_null(strstr(run.r.error, "refused nobody@example.org (550 5.1.1"));
    assert_non_null(strstr(run.r.error, "User doesn't exist"));
    assert_null(strstr(run.srv.commands.data, "DATA"));
    assert_string_equal(run.r.progress, "");
    lmtp_free(&run);
    /* one accepted, one refused after the message: a failure, the one kept */
    struct lmtp_script mix = {.after = {"250 2.0.0 saved", "552 5.2.2 Quota exceeded"}};
    lmtp(&run, &mix, "a@example.org,b@example.org", NULL, 5);
    assert_int_equal(run.r.outcome, MR_DELIVERY_FAIL);
    assert_string_equal(run.r.progress, "a@example.org");
    assert_non_null(strstr(run.r.error, "b@example.org (552 5.2.2 Quota exceeded)"));
    lmtp_free(&run);
}

static void test_lmtp_broken_servers(void **state)
{
    (void)state;
    struct lmtp_run run;
    struct lmtp_script silent = {.silent = 1};
    lmtp(&run, &silent, "a@example.org", NULL, 1);
    assert_int_equal(run.r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(
        strstr(run.r.error, "waiting for the greeting from the LMTP server 127.0.0.1:"));
    assert_non_null(strstr(run.r.error, "no answer in 1 s"));
    assert_true(run.ms >= 900 && run.ms < 3000);
    lmtp_free(&run);
    struct lmtp_script drop = {.drop_after_data = 1};
    lmtp(&run, &drop, "a@example.org", NULL, 5);
    assert_int_equal(run.r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(
        strstr(run.r.error, "waiting for the reply for a@example.org after the message"));
    assert_non_null(strstr(run.r.error, "closed the connection"));
    assert_string_equal(run.r.progress, "");
    lmtp_free(&run);
    /* nobody listening */
    int port, fd = listen_tcp(&port);
    close(fd);
    struct mr_target t;
    struct mr_delivery_item it;
    target(&t, MR_TARGET_LMTP);
    t.host = mr_xstrdup("127.0.0.1");
    t.port = port;
    t.recipients = mr_xstrdup("a@example.org");
    sample(&it, RAW, RAW_LEN);
    mr_deliver(&t, NULL, &it, &run.r);
    assert_int_equal(run.r.outcome, MR_DELIVERY_RETRY);
    assert_non_null(strstr(run.r.error, "refused"));
    mr_target_clear(&t);
}

static void test_lmtp_unix_socket(void **state)
{
    struct fixture *f = *state;
    struct lmtp_run run;
    char *path = mr_xasprintf("%s/lmtp.sock", f->tmp);
    struct lmtp_script sc = {.unix_path = path};
    lmtp(&run, &sc, "a@example.org", NULL, 5);
    assert_int_equal(run.r.outcome, MR_DELIVERY_OK);
    assert_string_equal(run.r.progress, "a@example.org");
    assert_non_null(strstr(run.srv.commands.data, "RCPT TO:<a@example.org>\nDATA\n"));
    lmtp_free(&run);
    free(path);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_vector),
        cmocka_unit_test(test_payload_shape),
        cmocka_unit_test(test_webhook_delivered),
        cmocka_unit_test(test_webhook_refusals),
        cmocka_unit_test(test_webhook_big_answers),
        cmocka_unit_test(test_webhook_timeout_and_cut),
        cmocka_unit_test(test_webhook_bad_targets),
        T(test_maildir_byte_exact),
        T(test_maildir_refusals),
        T(test_maildir_full_disk),
        T(test_command_stdin_and_env),
        T(test_command_exit_statuses),
        T(test_command_deadline),
        T(test_command_unread_stdin),
        cmocka_unit_test(test_lmtp_all_accepted),
        cmocka_unit_test(test_lmtp_per_recipient),
        cmocka_unit_test(test_lmtp_permanent),
        cmocka_unit_test(test_lmtp_broken_servers),
        T(test_lmtp_unix_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
