/* XOAUTH2 and OAUTHBEARER in whole IMAP and POP3 sessions: the real
 * drivers (mr_imap_driver, mr_pop3_driver) against a scripted server on a
 * loopback port run by a thread of this test. Each scenario checks what
 * went over the wire (the command, the initial response with or without
 * SASL-IR or the POP3 line limit, the response that ends a refused
 * exchange), what the caller learns (the error, token_refused, the
 * authentication step), and that the token never reaches the trace.
 * No credential kind feeds a token to the CLI yet, so these drive the
 * mailbox interface directly; test_sasl.c has the parts. */
#include "cmocka_all.h"

#include "proto/mailbox.h"
#include "proto/sasl.h"
#include "util/buf.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOKEN "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJl-_~+/="
#define USER  "shared,box=1@example.com"

/* as long as Microsoft's (a JWT of 1-2 KB) */
static char long_token[1500];

/* --- the scripted server ------------------------------------------------- */

struct script {
    int pop3;
    const char *caps;      /* IMAP: in the greeting's CAPABILITY; POP3: CAPA lines, \r\n apart */
    int refuse_mech;       /* NO / -ERR to the AUTH command itself (no SASL-IR) */
    int refuse;            /* answer the initial response with NO / -ERR ... */
    const char *challenge; /* ... after this error challenge (NULL: straight away) */
    const char *no;        /* the tagged NO / -ERR text */
    int ask_again;         /* after the response that ends the exchange, challenge again */
};

struct srv {
    const struct script *sc;
    int lfd, fd, port;
    pthread_t thread;
    char in[256 * 1024];
    size_t len;
    char line[256 * 1024];
    /* what the client did */
    char command[64];    /* "AUTHENTICATE OAUTHBEARER", "AUTH XOAUTH2": the line, its payload cut */
    int inline_response; /* the initial response came with the command */
    char payload[8192];  /* the initial response, decoded */
    size_t payload_len;
    char ending[64]; /* the line answering the error challenge */
    int got_ending;
    int lines;
};

/* The client's next line without its CRLF, or NULL at EOF or after 10 s. */
static const char *srv_line(struct srv *s)
{
    for (;;) {
        char *nl = memchr(s->in, '\n', s->len);
        if (nl) {
            size_t n = (size_t)(nl - s->in);
            memcpy(s->line, s->in, n);
            s->line[n && s->line[n - 1] == '\r' ? n - 1 : n] = '\0';
            memmove(s->in, nl + 1, s->len - n - 1);
            s->len -= n + 1;
            s->lines++;
            return s->line;
        }
        struct pollfd pfd = {s->fd, POLLIN, 0};
        if (s->len == sizeof(s->in) || poll(&pfd, 1, 10000) != 1)
            return NULL;
        ssize_t got = read(s->fd, s->in + s->len, sizeof(s->in) - s->len);
        if (got <= 0)
            return NULL;
        s->len += (size_t)got;
    }
}

static void srv_send(struct srv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void srv_send(struct srv *s, const char *fmt, ...)
{
    va_list ap;
    char *text = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n > 0)
        (void)!send(s->fd, text, (size_t)n, MSG_NOSIGNAL);
    free(text);
}

static char *b64(const char *data, size_t len)
{
    size_t size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *out = mr_xmalloc(size);
    sodium_bin2base64(out, size, (const unsigned char *)data, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

/* Splits "VERB MECH [PAYLOAD]" (after the tag for IMAP): payload or NULL. */
static const char *split_auth(struct srv *s, const char *line)
{
    const char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    size_t n = sp2 ? (size_t)(sp2 - line) : strlen(line);
    snprintf(s->command, sizeof(s->command), "%.*s", (int)n, line);
    return sp2 ? sp2 + 1 : NULL;
}

static void decode_payload(struct srv *s, const char *p)
{
    s->payload_len = 0;
    if (sodium_base642bin((unsigned char *)s->payload, sizeof(s->payload) - 1, p, strlen(p), NULL,
                          &s->payload_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        s->payload_len = 0;
    s->payload[s->payload_len] = '\0';
}

/* The login: the initial response (inline or after "+ "), then accept or
 * the error challenge and NO. Returns whether the client is logged in. */
static int srv_login(struct srv *s, const char *auth_line, const char *ok, const char *no_fmt)
{
    const char *payload = split_auth(s, auth_line);
    s->inline_response = payload != NULL;
    if (!payload && s->sc->refuse_mech) {
        srv_send(s, no_fmt, s->sc->no ? s->sc->no : "failed");
        return 0;
    }
    if (!payload) {
        srv_send(s, "+ \r\n");
        payload = srv_line(s);
        if (!payload)
            return 0;
    }
    decode_payload(s, payload);
    if (!s->sc->refuse) {
        srv_send(s, "%s", ok);
        return 1;
    }
    const char *end = NULL;
    if (s->sc->challenge) {
        srv_send(s, "+ %s\r\n", s->sc->challenge);
        end = srv_line(s);
    }
    if (end) {
        s->got_ending = 1;
        snprintf(s->ending, sizeof(s->ending), "%s", end);
    }
    if (end && s->sc->ask_again) {
        srv_send(s, "+ eyJzdGF0dXMiOiJhZ2FpbiJ9\r\n");
        return 0;
    }
    srv_send(s, no_fmt, s->sc->no ? s->sc->no : "failed");
    return 0;
}

static void imap_scenario(struct srv *s)
{
    srv_send(s, "* OK [CAPABILITY IMAP4rev1 %s] ready\r\n", s->sc->caps);
    const char *l = srv_line(s);
    if (!l || strncmp(l, "a0001 ", 6) != 0)
        return;
    if (strncmp(l + 6, "AUTHENTICATE ", 13) != 0) {
        snprintf(s->command, sizeof(s->command), "%.60s", l + 6);
        return;
    }
    if (!srv_login(s, l + 6, "a0001 OK [CAPABILITY IMAP4rev1] logged in\r\n", "a0001 NO %s\r\n"))
        return;
    while ((l = srv_line(s)) != NULL) {
        char tag[16];
        snprintf(tag, sizeof(tag), "%.*s", (int)strcspn(l, " "), l);
        if (strstr(l, "EXAMINE") || strstr(l, "SELECT"))
            srv_send(s, "* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n%s OK [READ-ONLY] done\r\n", tag);
        else if (strstr(l, "LOGOUT")) {
            srv_send(s, "* BYE bye\r\n%s OK done\r\n", tag);
            return;
        } else
            srv_send(s, "%s BAD what\r\n", tag);
    }
}

static void pop3_scenario(struct srv *s)
{
    srv_send(s, "+OK ready\r\n");
    const char *l = srv_line(s);
    if (!l || strcmp(l, "CAPA") != 0)
        return;
    srv_send(s, "+OK\r\n%s\r\n.\r\n", s->sc->caps);
    if (!(l = srv_line(s)))
        return;
    if (strncmp(l, "AUTH ", 5) != 0) {
        snprintf(s->command, sizeof(s->command), "%.60s", l);
        return;
    }
    if (!srv_login(s, l, "+OK logged in\r\n", "-ERR %s\r\n"))
        return;
    while ((l = srv_line(s)) != NULL) {
        if (strcmp(l, "STAT") == 0)
            srv_send(s, "+OK 0 0\r\n");
        else if (strcmp(l, "QUIT") == 0) {
            srv_send(s, "+OK bye\r\n");
            return;
        } else
            srv_send(s, "-ERR what\r\n");
    }
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    struct pollfd pfd = {s->lfd, POLLIN, 0};
    if (poll(&pfd, 1, 10000) == 1 && (s->fd = accept(s->lfd, NULL, NULL)) >= 0) {
        if (s->sc->pop3)
            pop3_scenario(s);
        else
            imap_scenario(s);
        /* the client may still be sending: read to its end, then close */
        shutdown(s->fd, SHUT_WR);
        while (srv_line(s))
            ;
        close(s->fd);
    }
    return NULL;
}

static struct srv *srv_start(const struct script *sc)
{
    struct srv *s = mr_xcalloc(1, sizeof(*s));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    s->sc = sc;
    s->fd = -1;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 1), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
    return s;
}

/* --- the client ------------------------------------------------------------ */

static struct mr_buf trace;

static void on_trace(void *ctx, char dir, const char *line, size_t len)
{
    (void)ctx;
    mr_buf_printf(&trace, "%c: %.*s\n", dir, (int)len, line);
}

struct run {
    struct srv *srv;
    struct mr_mailbox_config cfg;
    struct mr_steps steps;
    struct mr_mailbox_status st;
    mr_error err;
    int rc;
};

/* What the server saw, kept after it is gone. */
static struct srv seen;

/* Opens a session to a scripted server and closes it again. */
static void run(struct run *r, const struct script *sc, const char *token, const char *password,
                const char *auth)
{
    memset(r, 0, sizeof(*r));
    mr_buf_free(&trace);
    mr_buf_init(&trace, 1 << 20);
    r->srv = srv_start(sc);
    struct mr_mailbox_config *c = &r->cfg;
    c->host = "127.0.0.1";
    c->port = r->srv->port;
    c->security = MR_SEC_NONE;
    c->username = USER;
    c->password = password;
    c->bearer_token = token;
    c->auth = auth;
    c->read_only = 1;
    c->limits.connect_timeout_ms = 10000;
    c->limits.idle_timeout_ms = 10000;
    c->trace = on_trace;
    c->steps = &r->steps;
    struct mr_mailbox *mb = NULL;
    const struct mr_mailbox_driver *d = sc->pop3 ? &mr_pop3_driver : &mr_imap_driver;
    r->rc = d->open(&mb, c, &r->st, &r->err);
    if (r->rc == 0) {
        mr_error e = {0};
        assert_int_equal(d->close(&mb, &e), 0);
    }
    pthread_join(r->srv->thread, NULL);
    close(r->srv->lfd);
    memcpy(&seen, r->srv, sizeof(seen));
    free(r->srv);
    r->srv = NULL;
}

static const struct mr_step *step(const struct run *r, const char *name)
{
    for (size_t i = 0; i < r->steps.count; i++)
        if (strcmp(r->steps.items[i].name, name) == 0)
            return &r->steps.items[i];
    return NULL;
}

/* The token, and the initial response that carries it, are nowhere in the
 * trace, the error or the steps. */
static void assert_no_token(const struct run *r, const char *token, const char *mech)
{
    assert_null(strstr(trace.data ? trace.data : "", token));
    assert_null(strstr(r->err.message, token));
    for (size_t i = 0; i < r->steps.count; i++)
        assert_null(strstr(r->steps.items[i].detail, token));
    if (mech) {
        struct mr_sasl_login l = {USER, NULL, token, "127.0.0.1", r->cfg.port};
        char *ir = NULL;
        assert_int_equal(mr_sasl_bearer_response(mech, &l, &ir, NULL), 0);
        assert_null(strstr(trace.data ? trace.data : "", ir));
        /* a part of it neither (the trace shows no line of it at all) */
        char part[33];
        snprintf(part, sizeof(part), "%s", ir + 8);
        assert_null(strstr(trace.data ? trace.data : "", part));
        free(ir);
    }
}

static void expect_payload(const char *mech, const char *token, int port)
{
    struct mr_sasl_login l = {USER, NULL, token, "127.0.0.1", port};
    char *ir = NULL, want[8192];
    size_t n = 0;
    assert_int_equal(mr_sasl_bearer_response(mech, &l, &ir, NULL), 0);
    assert_int_equal(sodium_base642bin((unsigned char *)want, sizeof(want), ir, strlen(ir), NULL,
                                       &n, NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
    free(ir);
    assert_int_equal(seen.payload_len, n);
    assert_memory_equal(seen.payload, want, n);
}

/* --- IMAP ------------------------------------------------------------------ */

static void test_imap_oauthbearer_sasl_ir(void **state)
{
    (void)state;
    struct script sc = {.caps = "SASL-IR AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER"};
    struct run r;
    run(&r, &sc, TOKEN, NULL, NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(seen.command, "AUTHENTICATE OAUTHBEARER");
    assert_true(seen.inline_response);
    expect_payload("OAUTHBEARER", TOKEN, r.cfg.port);
    /* the gs2 header escapes the shared mailbox's name; host and port are the server's */
    char want[128];
    snprintf(want, sizeof(want),
             "n,a=shared=2Cbox=3D1@example.com,\x01host=127.0.0.1\x01port=%d\x01", r.cfg.port);
    assert_memory_equal(seen.payload, want, strlen(want));
    assert_string_equal(r.st.mechanism, "OAUTHBEARER");
    assert_false(r.st.token_refused);
    const struct mr_step *a = step(&r, "authentication");
    assert_non_null(a);
    assert_int_equal(a->ok, 1);
    assert_string_equal(a->detail, "OAUTHBEARER accepted");
    assert_non_null(strstr(trace.data, "C: a0001 AUTHENTICATE OAUTHBEARER <redacted>\n"));
    assert_no_token(&r, TOKEN, "OAUTHBEARER");
}

static void test_imap_xoauth2_without_sasl_ir(void **state)
{
    (void)state;
    struct script sc = {.caps = "AUTH=PLAIN AUTH=XOAUTH2"};
    struct run r;
    run(&r, &sc, TOKEN, NULL, NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(seen.command, "AUTHENTICATE XOAUTH2");
    assert_false(seen.inline_response);
    expect_payload("XOAUTH2", TOKEN, r.cfg.port);
    assert_string_equal(r.st.mechanism, "XOAUTH2");
    /* the response after "+" shows as <redacted> */
    assert_non_null(strstr(trace.data, "C: a0001 AUTHENTICATE XOAUTH2\n"));
    assert_non_null(strstr(trace.data, "\nC: <redacted>\n"));
    assert_no_token(&r, TOKEN, "XOAUTH2");
}

static void test_imap_named_mechanism(void **state)
{
    (void)state;
    struct script sc = {.caps = "SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER"};
    struct run r;
    run(&r, &sc, TOKEN, NULL, "XOAUTH2");
    assert_int_equal(r.rc, 0);
    assert_string_equal(seen.command, "AUTHENTICATE XOAUTH2");
    expect_payload("XOAUTH2", TOKEN, r.cfg.port);
}

#define INVALID_TOKEN_JSON                                                                         \
    "{\"status\":\"invalid_token\",\"schemes\":\"bearer\",\"scope\":\"https://mail.google.com/\"}"

static void test_imap_refused_oauthbearer(void **state)
{
    (void)state;
    char *challenge = b64(INVALID_TOKEN_JSON, strlen(INVALID_TOKEN_JSON));
    struct script sc = {.caps = "SASL-IR AUTH=OAUTHBEARER",
                        .refuse = 1,
                        .challenge = challenge,
                        .no = "[AUTHENTICATIONFAILED] Authentication failed."};
    struct run r;
    run(&r, &sc, TOKEN, NULL, NULL);
    free(challenge);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_string_equal(r.err.field, "auth");
    assert_true(seen.got_ending);
    assert_string_equal(seen.ending, "AQ=="); /* 0x01: the end of the exchange */
    assert_string_equal(r.err.message,
                        "the server refused the OAuth 2.0 access token (OAUTHBEARER): status "
                        "\"invalid_token\", scope \"https://mail.google.com/\"; the token is "
                        "invalid or expired: sign in again; the server said: "
                        "[AUTHENTICATIONFAILED] Authentication failed.");
    assert_true(r.st.token_refused);
    assert_string_equal(r.st.token_status, "invalid_token");
    /* said whole: the advice is in the sentence, not an English argument */
    assert_string_equal(r.err.said.format,
                        "the server refused the OAuth 2.0 access token (%s): status \"%s\", scope "
                        "\"%s\"; the token is invalid or expired: sign in again; the server "
                        "said: %s");
    assert_int_equal(r.err.said.nargs, 4);
    const struct mr_step *a = step(&r, "authentication");
    assert_non_null(a);
    assert_int_equal(a->ok, 0);
    assert_non_null(strstr(a->detail, "invalid_token"));
    assert_ptr_equal(a->said.format, r.err.said.format); /* the step said as its error */
    assert_null(step(&r, "folder"));
    assert_no_token(&r, TOKEN, "OAUTHBEARER");
}

static void test_imap_refused_xoauth2_google(void **state)
{
    (void)state;
    struct script sc = {.caps = "AUTH=XOAUTH2",
                        .refuse = 1,
                        .challenge = "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJod"
                                     "HRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
                        .no = "Invalid credentials (Failure)"};
    struct run r;
    run(&r, &sc, TOKEN, NULL, NULL);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_true(seen.got_ending);
    assert_string_equal(seen.ending, ""); /* XOAUTH2: an empty line */
    assert_true(r.st.token_refused);
    assert_string_equal(r.st.token_status, "401");
    assert_non_null(strstr(r.err.message, "status \"401\""));
    assert_non_null(strstr(r.err.message, "sign in again"));
    assert_non_null(strstr(r.err.message, "Invalid credentials (Failure)"));
    assert_no_token(&r, TOKEN, "XOAUTH2");
}

static void test_imap_refused_without_challenge(void **state)
{
    (void)state;
    /* Microsoft: a NO and no error challenge */
    struct script sc = {.caps = "SASL-IR AUTH=XOAUTH2", .refuse = 1, .no = "AUTHENTICATE failed."};
    struct run r;
    run(&r, &sc, TOKEN, NULL, NULL);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_false(seen.got_ending);
    assert_true(r.st.token_refused);
    assert_string_equal(r.st.token_status, "");
    assert_string_equal(r.err.message, "the server refused the OAuth 2.0 access token (XOAUTH2): "
                                       "AUTHENTICATE failed.");
    /* NO [UNAVAILABLE]: the server's trouble, not the token's */
    struct script busy = {
        .caps = "SASL-IR AUTH=OAUTHBEARER", .refuse = 1, .no = "[UNAVAILABLE] try later"};
    run(&r, &busy, TOKEN, NULL, NULL);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_false(r.st.token_refused);
    assert_non_null(strstr(r.err.message, "[UNAVAILABLE] try later"));
    assert_no_token(&r, TOKEN, "OAUTHBEARER");
}

static void test_mechanism_refused(void **state)
{
    (void)state;
    /* NO to AUTHENTICATE XOAUTH2 before any "+": the token never went out */
    struct script sc = {.caps = "AUTH=XOAUTH2", .refuse_mech = 1, .no = "Unsupported mechanism"};
    struct run r;
    run(&r, &sc, TOKEN, NULL, NULL);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_false(seen.inline_response);
    assert_int_equal(seen.payload_len, 0);
    assert_false(r.st.token_refused);
    assert_string_equal(r.err.message,
                        "the server refused XOAUTH2 before the token was sent: Unsupported "
                        "mechanism");
    /* POP3, a long token waiting for the "+" */
    struct script pop = {
        .pop3 = 1, .caps = "SASL OAUTHBEARER", .refuse_mech = 1, .no = "[AUTH] no such mechanism"};
    run(&r, &pop, long_token, NULL, NULL);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_string_equal(seen.command, "AUTH OAUTHBEARER");
    assert_int_equal(seen.payload_len, 0);
    assert_false(r.st.token_refused);
    assert_string_equal(r.err.message,
                        "the server refused the login (OAUTHBEARER): [AUTH] no such mechanism");
    assert_no_token(&r, long_token, "OAUTHBEARER");
}

static void test_imap_offers_neither(void **state)
{
    (void)state;
    struct script sc = {.caps = "SASL-IR AUTH=PLAIN AUTH=SCRAM-SHA-256"};
    struct run r;
    run(&r, &sc, TOKEN, NULL, NULL);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_string_equal(r.err.message, "an OAuth 2.0 token needs OAUTHBEARER or XOAUTH2, and the "
                                       "server offers neither (its SASL mechanisms: PLAIN "
                                       "SCRAM-SHA-256)");
    assert_string_equal(seen.command, ""); /* nothing sent: no LOGIN, no AUTHENTICATE */
    assert_string_equal(mr_said_arg(&r.err.said, 0), "PLAIN SCRAM-SHA-256");
    const struct mr_step *a = step(&r, "authentication");
    assert_non_null(a);
    assert_int_equal(a->ok, 0);
    assert_non_null(strstr(a->detail, "PLAIN SCRAM-SHA-256"));
    assert_int_equal(a->nprefix, 0);
    assert_non_null(a->said.format);
    assert_false(r.st.token_refused);
    /* no SASL at all: no LOGIN command with a token either */
    struct script bare = {.caps = "IDLE"};
    run(&r, &bare, TOKEN, NULL, NULL);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_non_null(strstr(r.err.message, "it offers no SASL mechanism"));
    assert_string_equal(seen.command, "");
}

static void test_imap_mismatch(void **state)
{
    (void)state;
    struct script sc = {.caps = "SASL-IR AUTH=PLAIN AUTH=XOAUTH2"};
    struct run r;
    run(&r, &sc, TOKEN, NULL, "PLAIN");
    assert_int_equal(r.rc, MR_EINVAL);
    assert_non_null(strstr(r.err.message, "PLAIN takes a password"));
    assert_non_null(strstr(r.err.message, "OAuth 2.0 token"));
    assert_string_equal(seen.command, "");
    run(&r, &sc, NULL, "secret", "XOAUTH2");
    assert_int_equal(r.rc, MR_EINVAL);
    assert_non_null(strstr(r.err.message, "XOAUTH2 takes an OAuth 2.0 token"));
    assert_non_null(strstr(r.err.message, "a password"));
    assert_string_equal(seen.command, "");
    /* a password with auto never gets a bearer mechanism */
    struct script only = {.caps = "AUTH=XOAUTH2 AUTH=OAUTHBEARER"};
    run(&r, &only, NULL, "secret", NULL);
    assert_string_equal(seen.command, "LOGIN \"shared,box=1@example.com\" \"secret\"");
}

static void test_imap_asks_again(void **state)
{
    (void)state;
    struct script sc = {.caps = "SASL-IR AUTH=OAUTHBEARER",
                        .refuse = 1,
                        .challenge = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=",
                        .ask_again = 1};
    struct run r;
    run(&r, &sc, TOKEN, NULL, NULL);
    assert_int_equal(r.rc, MR_EPROTO);
    assert_non_null(strstr(r.err.message, "asked for more after the OAUTHBEARER exchange"));
    assert_no_token(&r, TOKEN, "OAUTHBEARER");
}

static void test_imap_hostile_challenges(void **state)
{
    (void)state;
    struct run r;
    /* 200 KB of base64: not decoded, the exchange still ended */
    size_t big = 200 * 1024;
    char *huge = mr_xmalloc(big + 1);
    memset(huge, 'Q', big);
    huge[big] = '\0';
    struct script sc = {
        .caps = "SASL-IR AUTH=OAUTHBEARER", .refuse = 1, .challenge = huge, .no = "no"};
    run(&r, &sc, TOKEN, NULL, NULL);
    free(huge);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_string_equal(seen.ending, "AQ==");
    assert_non_null(strstr(r.err.message, "could not be read (too long"));
    assert_true(r.st.token_refused);
    assert_true(strlen(r.err.message) < 300);
    /* control characters in the JSON's values: gone from the message */
    const char *json =
        "{\"status\":\"invalid_token\\u001b]0;pwned\\u0007\",\"scope\":\"a\\r\\nb\"}";
    char *c = b64(json, strlen(json));
    struct script ctl = {
        .caps = "SASL-IR AUTH=OAUTHBEARER", .refuse = 1, .challenge = c, .no = "no"};
    run(&r, &ctl, TOKEN, NULL, NULL);
    free(c);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_string_equal(r.st.token_status, "invalid_token]0;pwned");
    assert_non_null(strstr(r.err.message, "scope \"ab\""));
    for (const char *p = r.err.message; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    /* not base64, not JSON */
    struct script junk = {
        .caps = "SASL-IR AUTH=XOAUTH2", .refuse = 1, .challenge = "{\"status\":1}", .no = "no"};
    run(&r, &junk, TOKEN, NULL, NULL);
    assert_string_equal(seen.ending, "");
    assert_non_null(strstr(r.err.message, "could not be read (not base64)"));
    struct script text = {
        .caps = "SASL-IR AUTH=XOAUTH2", .refuse = 1, .challenge = "aGVsbG8=", .no = "no"};
    run(&r, &text, TOKEN, NULL, NULL);
    assert_non_null(strstr(r.err.message, "could not be read (not a JSON object)"));
}

/* --- POP3 ------------------------------------------------------------------ */

static void test_pop3_oauthbearer_inline(void **state)
{
    (void)state;
    struct script sc = {.pop3 = 1, .caps = "USER\r\nSASL PLAIN XOAUTH2 OAUTHBEARER\r\nUIDL"};
    struct run r;
    run(&r, &sc, "tok", NULL, NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(seen.command, "AUTH OAUTHBEARER");
    assert_true(seen.inline_response);
    expect_payload("OAUTHBEARER", "tok", r.cfg.port);
    assert_string_equal(r.st.mechanism, "OAUTHBEARER");
    assert_non_null(strstr(trace.data, "C: AUTH OAUTHBEARER <redacted>\n"));
    assert_no_token(&r, "tok", NULL);
}

static void test_pop3_long_token_after_continuation(void **state)
{
    (void)state;
    /* a real access token is longer than RFC 2449's 255-octet line: it
     * goes after the server's "+" */
    struct script sc = {.pop3 = 1, .caps = "SASL XOAUTH2"};
    struct run r;
    run(&r, &sc, long_token, NULL, NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(seen.command, "AUTH XOAUTH2");
    assert_false(seen.inline_response);
    expect_payload("XOAUTH2", long_token, r.cfg.port);
    assert_non_null(strstr(trace.data, "C: AUTH XOAUTH2\nS: \nC: <redacted>\n"));
    assert_no_token(&r, long_token, "XOAUTH2");
    /* the same over IMAP with SASL-IR: one line */
    struct script imap = {.caps = "SASL-IR AUTH=XOAUTH2"};
    run(&r, &imap, long_token, NULL, NULL);
    assert_int_equal(r.rc, 0);
    assert_true(seen.inline_response);
    expect_payload("XOAUTH2", long_token, r.cfg.port);
    assert_no_token(&r, long_token, "XOAUTH2");
}

static void test_pop3_refused(void **state)
{
    (void)state;
    char *challenge = b64(INVALID_TOKEN_JSON, strlen(INVALID_TOKEN_JSON));
    struct script sc = {.pop3 = 1,
                        .caps = "SASL OAUTHBEARER",
                        .refuse = 1,
                        .challenge = challenge,
                        .no = "[AUTH] Authentication failed."};
    struct run r;
    run(&r, &sc, TOKEN, NULL, NULL);
    free(challenge);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_string_equal(seen.ending, "AQ==");
    assert_true(r.st.token_refused);
    assert_string_equal(r.st.token_status, "invalid_token");
    assert_non_null(strstr(r.err.message, "refused the OAuth 2.0 access token (OAUTHBEARER)"));
    assert_non_null(strstr(r.err.message, "scope \"https://mail.google.com/\""));
    assert_non_null(strstr(r.err.message, "sign in again"));
    assert_non_null(strstr(r.err.message, "[AUTH] Authentication failed."));
    const struct mr_step *a = step(&r, "authentication");
    assert_non_null(a);
    assert_int_equal(a->ok, 0);
    assert_null(step(&r, "stat"));
    assert_no_token(&r, TOKEN, "OAUTHBEARER");
    /* XOAUTH2: the empty line */
    challenge = b64(INVALID_TOKEN_JSON, strlen(INVALID_TOKEN_JSON));
    struct script x = {
        .pop3 = 1, .caps = "SASL XOAUTH2", .refuse = 1, .challenge = challenge, .no = "no"};
    run(&r, &x, TOKEN, NULL, NULL);
    free(challenge);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_true(seen.got_ending);
    assert_string_equal(seen.ending, "");
}

static void test_pop3_offers_neither(void **state)
{
    (void)state;
    struct script sc = {.pop3 = 1, .caps = "USER\r\nSASL PLAIN LOGIN\r\nTOP\r\nUIDL"};
    struct run r;
    run(&r, &sc, TOKEN, NULL, NULL);
    assert_int_equal(r.rc, MR_EAUTH);
    /* what the SASL line offers, not the other capabilities */
    assert_string_equal(r.err.message, "an OAuth 2.0 token needs OAUTHBEARER or XOAUTH2, and the "
                                       "server offers neither (its SASL mechanisms: PLAIN LOGIN)");
    assert_string_equal(seen.command, "");
    struct script none = {.pop3 = 1, .caps = "USER\r\nUIDL"};
    run(&r, &none, TOKEN, NULL, NULL);
    assert_int_equal(r.rc, MR_EAUTH);
    assert_non_null(strstr(r.err.message, "it offers no SASL mechanism"));
    assert_string_equal(seen.command, ""); /* no USER with a token */
    run(&r, &none, TOKEN, NULL, "APOP");
    assert_int_equal(r.rc, MR_EINVAL);
    assert_non_null(strstr(r.err.message, "APOP takes a password"));
}

static void test_pop3_password_mechanisms(void **state)
{
    (void)state;
    /* auto with a password skips the bearer mechanisms */
    struct script sc = {.pop3 = 1, .caps = "SASL XOAUTH2 OAUTHBEARER PLAIN"};
    struct run r;
    run(&r, &sc, NULL, "secret", NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(seen.command, "AUTH PLAIN");
    assert_true(seen.inline_response);
    assert_int_equal(seen.payload_len, strlen(USER) + 8);
    /* a PLAIN response too long for the AUTH line goes after the "+" */
    char password[300];
    memset(password, 'p', sizeof(password) - 1);
    password[sizeof(password) - 1] = '\0';
    run(&r, &sc, NULL, password, NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(seen.command, "AUTH PLAIN");
    assert_false(seen.inline_response);
    assert_int_equal(seen.payload_len, strlen(USER) + 2 + strlen(password));
    assert_null(strstr(trace.data, password));
}

static void test_pop3_temporary(void **state)
{
    (void)state;
    char *challenge = b64(INVALID_TOKEN_JSON, strlen(INVALID_TOKEN_JSON));
    struct script sc = {.pop3 = 1,
                        .caps = "SASL XOAUTH2",
                        .refuse = 1,
                        .challenge = challenge,
                        .no = "[SYS/TEMP] busy"};
    struct run r;
    /* with an error challenge the token was refused, whatever the -ERR says */
    run(&r, &sc, TOKEN, NULL, NULL);
    free(challenge);
    assert_true(r.st.token_refused);
}

static int teardown(void **state)
{
    (void)state;
    mr_buf_free(&trace);
    return 0;
}

int main(void)
{
    memset(long_token, 'T', sizeof(long_token) - 1);
    memcpy(long_token, "eyJ0eXAiOiJKV1Qi.", 17);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_imap_oauthbearer_sasl_ir, teardown),
        cmocka_unit_test_teardown(test_imap_xoauth2_without_sasl_ir, teardown),
        cmocka_unit_test_teardown(test_imap_named_mechanism, teardown),
        cmocka_unit_test_teardown(test_imap_refused_oauthbearer, teardown),
        cmocka_unit_test_teardown(test_imap_refused_xoauth2_google, teardown),
        cmocka_unit_test_teardown(test_imap_refused_without_challenge, teardown),
        cmocka_unit_test_teardown(test_mechanism_refused, teardown),
        cmocka_unit_test_teardown(test_imap_offers_neither, teardown),
        cmocka_unit_test_teardown(test_imap_mismatch, teardown),
        cmocka_unit_test_teardown(test_imap_asks_again, teardown),
        cmocka_unit_test_teardown(test_imap_hostile_challenges, teardown),
        cmocka_unit_test_teardown(test_pop3_oauthbearer_inline, teardown),
        cmocka_unit_test_teardown(test_pop3_long_token_after_continuation, teardown),
        cmocka_unit_test_teardown(test_pop3_refused, teardown),
        cmocka_unit_test_teardown(test_pop3_offers_neither, teardown),
        cmocka_unit_test_teardown(test_pop3_password_mechanisms, teardown),
        cmocka_unit_test_teardown(test_pop3_temporary, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
