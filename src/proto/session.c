#include "proto/session.h"

#include "util/clock.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void steps_add_v(struct mr_steps *s, const char *name, int ok, int64_t ms,
                        const mr_error *from, const char *fmt, va_list ap)
{
    if (!s || s->count >= MR_STEPS_MAX)
        return;
    struct mr_step *st = &s->items[s->count++];
    snprintf(st->name, sizeof(st->name), "%s", name);
    st->ok = ok;
    st->ms = ms;
    st->nprefix = 0;
    va_list aq;
    va_copy(aq, ap);
    vsnprintf(st->detail, sizeof(st->detail), fmt, ap);
    if (from && mr_error_said_valid(from) && from->nprefix <= MR_SAID_PREFIXES) {
        st->said = from->said;
        st->nprefix = from->nprefix;
        memcpy(st->prefix, from->prefix, from->nprefix * sizeof(from->prefix[0]));
    } else if (from)
        st->said.format = NULL; /* said as English only */
    else
        mr_said_capture(&st->said, fmt, aq);
    va_end(aq);
    if (s->on_step)
        s->on_step(s->ctx, st);
}

void mr_steps_add(struct mr_steps *s, const char *name, int ok, int64_t ms, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    steps_add_v(s, name, ok, ms, NULL, fmt, ap);
    va_end(ap);
}

static void steps_add_from(struct mr_steps *s, const char *name, int ok, int64_t ms,
                           const mr_error *err, ...)
{
    va_list ap;
    va_start(ap, err);
    steps_add_v(s, name, ok, ms, err, "%s", ap);
    va_end(ap);
}

void mr_steps_add_said(struct mr_steps *s, const char *name, int ok, int64_t ms,
                       const mr_error *err)
{
    steps_add_from(s, name, ok, ms, err, err->message);
}

void mr_steps_add_error(struct mr_steps *s, const char *name, int64_t ms, const mr_error *err)
{
    mr_steps_add_said(s, name, 0, ms, err);
}

void mr_folders_add(struct mr_folders *f, const char *name, const char *special)
{
    if (f->count == MR_FOLDERS_MAX) {
        f->truncated = 1;
        return;
    }
    if (f->count == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->items = mr_xrealloc(f->items, f->cap * sizeof(f->items[0]));
    }
    struct mr_folder *it = &f->items[f->count++];
    it->name = mr_xstrdup(name);
    snprintf(it->special, sizeof(it->special), "%s", special ? special : "");
}

void mr_folders_free(struct mr_folders *f)
{
    for (size_t i = 0; i < f->count; i++)
        free(f->items[i].name);
    free(f->items);
    memset(f, 0, sizeof(*f));
}

void mr_session_note_backoff(struct mr_session *s, const char *text)
{
    static const char key[] = "backoff time:";
    const char *at = text ? strcasestr(text, key) : NULL;
    if (!at || !s->cfg->server_backoff_ms)
        return;
    const char *digits = at + sizeof(key) - 1;
    while (*digits == ' ')
        digits++;
    if (!isdigit((unsigned char)*digits))
        return; /* no number, or a negative one: no pause asked */
    char *end;
    errno = 0;
    unsigned long long ms = strtoull(digits, &end, 10);
    if (errno == ERANGE)
        ms = MR_SERVER_BACKOFF_MAX_MS;
    if (ms > MR_SERVER_BACKOFF_MAX_MS)
        ms = MR_SERVER_BACKOFF_MAX_MS;
    if ((int64_t)ms > *s->cfg->server_backoff_ms)
        *s->cfg->server_backoff_ms = (int64_t)ms;
}

void mr_session_step(struct mr_session *s, const char *name, int ok, int64_t t0, const char *fmt,
                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    steps_add_v(s->cfg->steps, name, ok, t0 ? mr_now_ms() - t0 : 0, NULL, fmt, ap);
    va_end(ap);
}

void mr_session_step_error(struct mr_session *s, const char *name, int64_t t0, const mr_error *err)
{
    mr_steps_add_error(s->cfg->steps, name, t0 ? mr_now_ms() - t0 : 0, err);
}

void mr_session_step_said(struct mr_session *s, const char *name, int ok, int64_t t0,
                          const mr_error *err)
{
    mr_steps_add_said(s->cfg->steps, name, ok, t0 ? mr_now_ms() - t0 : 0, err);
}

void mr_session_init(struct mr_session *s, const struct mr_mailbox_config *cfg, const char *proto)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->proto = proto;
    s->opened_ms = mr_now_ms();
    s->in = mr_xmalloc(MR_SESSION_READ_SIZE);
    mr_buf_init(&s->out, 1 << 20);
}

void mr_session_free(struct mr_session *s)
{
    mr_conn_close(&s->conn);
    mr_freep(&s->in);
    mr_buf_free(&s->out);
}

void mr_session_trace(struct mr_session *s, char dir, const char *line, size_t len)
{
    if (s->cfg->trace)
        s->cfg->trace(s->cfg->trace_ctx, dir, line, len);
}

static void session_waits(struct mr_session *s, const char *what)
{
    const struct mr_steps *st = s->cfg->steps;
    if (st && st->on_wait)
        st->on_wait(st->ctx, what);
}

void mr_session_expect(struct mr_session *s, int transfer, const char *fmt, ...)
{
    char what[96];
    va_list ap;
    if (!s->conn)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    session_waits(s, what);
    if (transfer)
        mr_conn_transfer(s->conn, what);
    else
        mr_conn_step(s->conn, what);
}

void mr_session_expect_answer(struct mr_session *s, const char *command)
{
    size_t n = strcspn(command, " ");
    if (strncmp(command, "UID ", 4) == 0) /* IMAP: "UID FETCH" */
        n = 4 + strcspn(command + 4, " ");
    mr_session_expect(s, 0, "the answer to %.*s", (int)(n < 40 ? n : 40), command);
}

static int start_tls(struct mr_session *s, int implicit, mr_error *err)
{
    struct mr_tls_info info;
    struct mr_tls_opts o = {s->cfg->host, s->cfg->verify_certificate, s->cfg->ca_file, 0, implicit};
    int64_t t0 = mr_now_ms();
    session_waits(s, "the TLS handshake");
    int rc = mr_tls_start(s->conn, &o, &info, err);
    if (rc) {
        mr_session_step_error(s, "tls", t0, err);
        return rc;
    }
    s->tls = 1;
    if (info.skipped)
        mr_session_step(s, "tls", 1, t0,
                        info.resumed ? "%s, %s, session resumed; certificate subject %s, issuer "
                                       "%s, expires %s; verification: skipped (Skip certificate "
                                       "is yes)"
                                     : "%s, %s; certificate subject %s, issuer %s, expires %s; "
                                       "verification: skipped (Skip certificate is yes)",
                        info.version, info.cipher, info.subject, info.issuer, info.not_after);
    else
        mr_session_step(s, "tls", 1, t0,
                        info.resumed ? "%s, %s, session resumed; certificate subject %s, issuer "
                                       "%s, expires %s; verification: %s"
                                     : "%s, %s; certificate subject %s, issuer %s, expires %s; "
                                       "verification: %s",
                        info.version, info.cipher, info.subject, info.issuer, info.not_after,
                        info.verify_text);
    return 0;
}

void mr_steps_proxy_step(void *ctx, const char *name, int ok, int64_t ms, const mr_error *detail)
{
    mr_steps_add_said(ctx, name, ok, ms, detail);
}

/* Through the account's network connector: its steps come from the proxy
 * layer, then the tunnel is the connection. */
static int connect_via_proxy(struct mr_session *s, mr_error *err)
{
    const struct mr_mailbox_config *c = s->cfg;
    struct mr_proxy p = *c->proxy;
    p.on_step = c->steps ? mr_steps_proxy_step : NULL;
    p.step_ctx = c->steps;
    int64_t t0 = mr_now_ms();
    char what[300];
    snprintf(what, sizeof(what), "the connection to %s port %d through the proxy", c->host,
             c->port);
    session_waits(s, what);
    int rc = mr_net_connect_proxy(&s->conn, &p, c->host, c->port, &c->limits, err);
    if (rc)
        return rc;
    mr_steps_add(c->steps, "connect", 1, mr_now_ms() - t0, "connected to %s port %d through %s",
                 c->host, c->port, p.type == MR_PROXY_SOCKS5 ? "SOCKS5" : "HTTP CONNECT");
    return c->security == MR_SEC_TLS ? start_tls(s, 1, err) : 0;
}

int mr_session_connect(struct mr_session *s, mr_error *err)
{
    struct mr_net_info info;
    const struct mr_mailbox_config *c = s->cfg;
    if (c->proxy)
        return connect_via_proxy(s, err);
    char what[300];
    snprintf(what, sizeof(what), "the connection to %s port %d", c->host, c->port);
    session_waits(s, what);
    int rc = mr_net_connect(&s->conn, c->host, c->port, &c->limits, &info, err);
    struct mr_steps *steps = c->steps;
    if (rc && !info.addresses[0]) {
        mr_steps_add_error(steps, "resolve", info.resolve_ms, err);
        return rc;
    }
    mr_steps_add(steps, "resolve", 1, info.resolve_ms, "%s: %s", c->host, info.addresses);
    if (rc) {
        mr_steps_add_error(steps, "connect", info.connect_ms, err);
        return rc;
    }
    mr_steps_add(steps, "connect", 1, info.connect_ms, "connected to %s port %d", info.peer,
                 c->port);
    return c->security == MR_SEC_TLS ? start_tls(s, 1, err) : 0;
}

int mr_session_starttls(struct mr_session *s, mr_error *err)
{
    s->in_off = s->in_len = 0; /* never trust bytes from before the handshake */
    return start_tls(s, 0, err);
}

#define GREETING_QUICK_MS 3000

static int tls_record(const unsigned char *b, size_t n)
{
    return n >= 2 && b[0] >= 0x14 && b[0] <= 0x17 && b[1] == 3;
}

/* Whether a second connection to the account's port (through the same
 * proxy, if any) completes a TLS handshake (not verifying: the question
 * is only whether it speaks TLS). -1: no second connection was made. */
static int port_speaks_tls(struct mr_session *s)
{
    const struct mr_mailbox_config *c = s->cfg;
    struct mr_net_limits l = c->limits;
    l.connect_timeout_ms = l.idle_timeout_ms = l.step_timeout_ms = GREETING_QUICK_MS;
    l.min_speed = 0;
    struct mr_conn *probe = NULL;
    mr_error ignored = {0};
    int rc;
    if (c->proxy) {
        struct mr_proxy p = *c->proxy;
        p.on_step = NULL; /* the probe is no step of its own */
        rc = mr_net_connect_proxy(&probe, &p, c->host, c->port, &l, &ignored);
    } else
        rc = mr_net_connect(&probe, c->host, c->port, &l, NULL, &ignored);
    if (rc)
        return -1;
    struct mr_tls_opts o = {c->host, 0, NULL, 0, 1};
    int tls = mr_tls_start(probe, &o, NULL, &ignored) == 0;
    mr_conn_close(&probe);
    return tls;
}

int mr_session_await_greeting(struct mr_session *s, mr_error *err)
{
    const struct mr_mailbox_config *c = s->cfg;
    const struct mr_net_limits *l = &c->limits;
    unsigned char first[8];
    size_t got = 0;
    if (!s->conn || s->tls || s->in_off < s->in_len)
        return 0;
    /* a short run (a small idle or step timeout, a near deadline) just waits */
    int quick = l->idle_timeout_ms > GREETING_QUICK_MS &&
                (!l->step_timeout_ms || l->step_timeout_ms > GREETING_QUICK_MS) &&
                (!l->deadline_ms || l->deadline_ms - mr_now_ms() > 2 * GREETING_QUICK_MS);
    int rc = mr_conn_peek(s->conn, quick ? GREETING_QUICK_MS : 0, first, sizeof(first), &got);
    if (rc == 1 && tls_record(first, got))
        return mr_error_set(err, MR_ETLS, "",
                            "the server sent a TLS record where the %s greeting should be: port "
                            "%d speaks implicit TLS; use security tls",
                            s->proto, c->port);
    if (rc != 0 || !quick)
        return 0;
    int tls = port_speaks_tls(s);
    if (tls == 1)
        return mr_error_set(err, MR_ETLS, "",
                            "no greeting in %d s: port %d answers a TLS handshake, so it speaks "
                            "implicit TLS; use security tls",
                            GREETING_QUICK_MS / 1000, c->port);
    if (tls == -1 && (c->port == 993 || c->port == 995)) /* no probe: the port says it */
        return mr_error_set(err, MR_ETLS, "",
                            "no greeting in %d s: port %d is usually implicit TLS; use security "
                            "tls",
                            GREETING_QUICK_MS / 1000, c->port);
    return 0;
}

int mr_session_other_protocol(struct mr_session *s, mr_error *err)
{
    const char *in = s->in;
    size_t n = s->in_len;
    int imap = strcmp(s->proto, "IMAP") == 0;
    if (imap && n >= 3 && memcmp(in, "+OK", 3) == 0)
        return mr_error_set(err, MR_EPROTO, "",
                            "this server speaks POP3 (+OK greeting); set protocol pop3");
    if (!imap && n >= 4 &&
        (memcmp(in, "* OK", 4) == 0 || (n >= 9 && memcmp(in, "* PREAUTH", 9) == 0) ||
         (n >= 5 && memcmp(in, "* BYE", 5) == 0)))
        return mr_error_set(err, MR_EPROTO, "",
                            "this server speaks IMAP (* OK greeting); set protocol imap");
    return 0;
}

int mr_session_queue(struct mr_session *s, const char *line, size_t secret_from, mr_error *err)
{
    size_t n = strlen(line);
    if (s->cfg->trace) {
        if (secret_from < n) {
            char *shown = mr_xasprintf("%.*s<redacted>", (int)secret_from, line);
            mr_session_trace(s, 'C', shown, strlen(shown));
            free(shown);
        } else
            mr_session_trace(s, 'C', line, n);
    }
    if (mr_buf_append(&s->out, line, n) || mr_buf_append(&s->out, "\r\n", 2))
        return mr_error_set(err, MR_ETOOBIG, "", "too many commands queued");
    return 0;
}

int mr_session_flush(struct mr_session *s, mr_error *err)
{
    if (s->out.len == 0)
        return 0;
    int rc = mr_conn_write(s->conn, s->out.data, s->out.len, err);
    if (s->out.data) /* the buffer may have held a password */
        memset(s->out.data, 0, s->out.len);
    mr_buf_reset(&s->out);
    return rc;
}

int mr_session_fill(struct mr_session *s, mr_error *err)
{
    if (s->in_off < s->in_len)
        return 0;
    int rc = mr_session_flush(s, err);
    if (rc)
        return rc;
    size_t got = 0;
    s->in_off = s->in_len = 0;
    rc = mr_conn_read(s->conn, s->in, MR_SESSION_READ_SIZE, &got, err);
    s->in_len = got;
    return rc;
}
