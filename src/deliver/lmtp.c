/* The LMTP transport (RFC 2033), over TCP (src/net's connections) or a
 * unix socket (net/unix.h): greeting, LHLO, MAIL FROM, one RCPT TO per
 * recipient not yet in the item's progress, DATA and the message
 * dot-stuffed with CRLF line ends (a bare LF goes out as CRLF), then one
 * reply per accepted recipient (§4.2), QUIT. Every wait is bounded by the
 * target's timeout, one deadline for the whole attempt. */
#include "deliver/deliver.h"
#include "deliver/transport_private.h"

#include "net/conn.h"
#include "net/unix.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LMTP_RCPT_MAX    100        /* recipients of one target */
#define LMTP_ADDR_MAX    320        /* bytes of one address */
#define LMTP_LINE_MAX    4096       /* bytes of one reply line */
#define LMTP_TEXT_MAX    300        /* of a reply's text, kept for messages */
#define LMTP_CHUNK       (64 << 10) /* the message goes out in pieces this big */
#define LMTP_CONNECT_MAX 15000      /* ms */

enum rcpt_state {
    RCPT_PENDING,  /* not asked yet, or no answer came */
    RCPT_ACCEPTED, /* RCPT TO answered 2xx: its reply after the message is due */
    RCPT_DONE,     /* the message was accepted for it */
    RCPT_TEMP,     /* 4xx (or an unexpected answer) */
    RCPT_PERM,     /* 5xx */
};

struct rcpt {
    char addr[LMTP_ADDR_MAX + 1];
    enum rcpt_state state;
    char said[LMTP_TEXT_MAX]; /* the server's reply, for messages */
};

struct reply {
    int code;
    char text[LMTP_TEXT_MAX]; /* the last line's, after the code */
    int has_8bitmime, has_size;
};

struct lmtp {
    const struct mr_target *t;
    struct mr_delivery_result *r;
    struct mr_conn *c;
    char where[300]; /* host:port, or the socket's path */
    int timeout;
    char in[2 * LMTP_LINE_MAX];
    size_t len;
    int has_8bitmime, has_size;
    struct rcpt *rcpts;
    size_t nrcpt;
    char io[600]; /* what went wrong on the connection, "" when nothing */
};

/* --- recipients -------------------------------------------------------------- */

/* The next comma-separated address of *list (spaces and <> around it
 * dropped) into out; 0 at the end, -1 for one too long or not plain. */
static int next_addr(const char **list, char *out, size_t size)
{
    const char *p = *list;
    for (;;) {
        p += strspn(p, ", \t");
        if (!*p)
            return 0;
        size_t n = strcspn(p, ",");
        const char *s = p;
        *list = p + n;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
            s++;
            n -= 2;
        }
        if (n == 0) {
            p = *list;
            continue;
        }
        if (n >= size)
            return -1;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7F || s[i] == '<' || s[i] == '>')
                return -1;
        memcpy(out, s, n);
        out[n] = '\0';
        return 1;
    }
}

static int in_progress(const char *progress, const char *addr)
{
    char a[LMTP_ADDR_MAX + 1];
    const char *p = progress ? progress : "";
    int rc;
    while ((rc = next_addr(&p, a, sizeof(a))) != 0)
        if (rc > 0 && mr_str_ieq(a, addr))
            return 1;
    return 0;
}

/* progress: the earlier attempts' and this one's accepted recipients. */
static void progress_add(struct mr_delivery_result *r, const char *addr)
{
    if (in_progress(r->progress, addr))
        return;
    size_t used = strlen(r->progress), n = strlen(addr);
    if (used + (used ? 1 : 0) + n + 1 > sizeof(r->progress))
        return; /* not kept: sent again next time, at worst a duplicate */
    snprintf(r->progress + used, sizeof(r->progress) - used, "%s%s", used ? "," : "", addr);
}

/* The target's recipients not accepted before; FAIL when there are none
 * or one is no address. */
static int recipients(struct lmtp *l, const struct mr_delivery_item *it)
{
    const char *p = l->t->recipients ? l->t->recipients : "";
    char a[LMTP_ADDR_MAX + 1];
    size_t all = 0;
    int rc;
    l->rcpts = mr_xcalloc(LMTP_RCPT_MAX, sizeof(*l->rcpts));
    while ((rc = next_addr(&p, a, sizeof(a))) != 0) {
        if (rc < 0 || all == LMTP_RCPT_MAX) {
            mr_dr_set(l->r, MR_DELIVERY_FAIL,
                      rc < 0 ? "the target's recipients hold one that is no plain address"
                             : "the target has more than 100 recipients");
            return -1;
        }
        all++;
        if (in_progress(it->progress, a)) {
            progress_add(l->r, a);
            continue;
        }
        snprintf(l->rcpts[l->nrcpt++].addr, LMTP_ADDR_MAX + 1, "%s", a);
    }
    if (all == 0) {
        mr_dr_set(l->r, MR_DELIVERY_FAIL, "the target names no recipients");
        return -1;
    }
    return 0;
}

/* --- the connection --------------------------------------------------------------- */

static int io_failed(struct lmtp *l, int rc, const char *doing, const mr_error *e)
{
    if (rc == MR_ETIMEOUT)
        snprintf(l->io, sizeof(l->io),
                 "%.150s from the LMTP server %.200s: no answer in %d s (the "
                 "target's timeout)",
                 doing, l->where, l->timeout);
    else
        snprintf(l->io, sizeof(l->io), "%.150s from the LMTP server %.200s: %.200s", doing,
                 l->where, e->message);
    return -1;
}

/* One line of the reply, without its CRLF, into line. */
static int read_line(struct lmtp *l, const char *what, char *line, size_t size)
{
    for (;;) {
        char *nl = memchr(l->in, '\n', l->len);
        if (nl) {
            size_t n = (size_t)(nl - l->in), keep = n && l->in[n - 1] == '\r' ? n - 1 : n;
            if (keep >= size)
                keep = size - 1;
            memcpy(line, l->in, keep);
            line[keep] = '\0';
            memmove(l->in, nl + 1, l->len - n - 1);
            l->len -= n + 1;
            return 0;
        }
        if (l->len >= LMTP_LINE_MAX) {
            snprintf(l->io, sizeof(l->io),
                     "waiting for %s: the LMTP server %s sent a line longer than %d bytes", what,
                     l->where, LMTP_LINE_MAX);
            return -1;
        }
        size_t got = 0;
        mr_error e = {0};
        int rc = mr_conn_read(l->c, l->in + l->len, sizeof(l->in) - l->len, &got, &e);
        if (rc) {
            char doing[200];
            snprintf(doing, sizeof(doing), "waiting for %s", what);
            return io_failed(l, rc, doing, &e);
        }
        l->len += got;
    }
}

static int cap_is(const char *text, const char *word)
{
    size_t n = strlen(word);
    return strncasecmp(text, word, n) == 0 && (text[n] == '\0' || text[n] == ' ');
}

/* A whole reply: lines "ddd-text" and a last "ddd text". */
static int read_reply(struct lmtp *l, const char *what, struct reply *rep)
{
    char line[LMTP_LINE_MAX];
    memset(rep, 0, sizeof(*rep));
    mr_conn_step(l->c, what);
    for (;;) {
        if (read_line(l, what, line, sizeof(line)) != 0)
            return -1;
        int ok = line[0] >= '2' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' &&
                 line[2] >= '0' && line[2] <= '9' &&
                 (line[3] == '\0' || line[3] == ' ' || line[3] == '-');
        int code = ok ? atoi((char[4]){line[0], line[1], line[2], '\0'}) : 0;
        if (!ok || (rep->code && code != rep->code)) {
            char shown[120];
            mr_dr_printable(line, strlen(line), 0, shown, sizeof(shown));
            snprintf(l->io, sizeof(l->io),
                     "waiting for %s: the LMTP server %s sent \"%s\", which is no LMTP reply", what,
                     l->where, shown);
            return -1;
        }
        rep->code = code;
        const char *text = line[3] ? line + 4 : "";
        rep->has_8bitmime |= cap_is(text, "8BITMIME");
        rep->has_size |= cap_is(text, "SIZE");
        if (line[3] != '-') {
            mr_dr_printable(text, strlen(text), 0, rep->text, sizeof(rep->text));
            mr_dr_respond(l->r, "\n", line, strlen(line));
            return 0;
        }
    }
}

static int send_text(struct lmtp *l, const char *what, const char *data, size_t n)
{
    mr_error e = {0};
    mr_conn_step(l->c, what);
    int rc = mr_conn_write(l->c, data, n, &e);
    if (rc) {
        char doing[200];
        snprintf(doing, sizeof(doing), "sending %s", what);
        return io_failed(l, rc, doing, &e);
    }
    return 0;
}

static int send_line(struct lmtp *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int send_line(struct lmtp *l, const char *fmt, ...)
{
    char line[LMTP_ADDR_MAX + 128], what[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    snprintf(what, sizeof(what), "%.*s", (int)strcspn(line, ":< "), line);
    memcpy(line + n, "\r\n", 3);
    return send_text(l, what, line, (size_t)n + 2);
}

static int open_conn(struct lmtp *l)
{
    struct mr_net_limits lim = {0};
    mr_error e = {0};
    int ms = l->timeout * 1000;
    lim.connect_timeout_ms = ms < LMTP_CONNECT_MAX ? ms : LMTP_CONNECT_MAX;
    lim.idle_timeout_ms = ms;
    lim.step_timeout_ms = ms;
    lim.deadline_ms = mr_now_ms() + ms;
    int rc;
    if (l->t->host && *l->t->host) {
        snprintf(l->where, sizeof(l->where), "%s:%d", l->t->host, mr_target_port(l->t));
        rc = mr_net_connect(&l->c, l->t->host, mr_target_port(l->t), &lim, NULL, &e);
    } else {
        snprintf(l->where, sizeof(l->where), "%s", l->t->path ? l->t->path : "");
        rc = mr_net_connect_unix(&l->c, l->t->path, &lim, &e);
    }
    if (rc) {
        if (rc == MR_ETIMEOUT)
            snprintf(l->io, sizeof(l->io), "connecting to the LMTP server %s: no answer in %d s",
                     l->where, lim.connect_timeout_ms / 1000);
        else
            snprintf(l->io, sizeof(l->io), "the LMTP server %.200s: %.300s", l->where, e.message);
        return -1;
    }
    return 0;
}

/* --- the exchange ------------------------------------------------------------------- */

/* A refusal of the session's own steps (the connection, LHLO, MAIL FROM,
 * DATA: command, NULL for the connection). */
static int refused(struct lmtp *l, const char *command, const struct reply *rep)
{
    enum mr_delivery_outcome o = rep->code >= 500 ? MR_DELIVERY_FAIL : MR_DELIVERY_RETRY;
    if (command)
        mr_dr_set(l->r, o, "the LMTP server %s answered %s with %d %s", l->where, command,
                  rep->code, rep->text);
    else
        mr_dr_set(l->r, o, "the LMTP server %s answered the connection with %d %s", l->where,
                  rep->code, rep->text);
    return -1;
}

static void wire_measure(const struct mr_delivery_item *it, size_t *size, int *eight_bit)
{
    size_t n = 0;
    *eight_bit = 0;
    for (size_t i = 0; i < it->raw_len; i++) {
        unsigned char ch = it->raw[i];
        *eight_bit |= ch >= 0x80;
        n += ch == '\n' && (i == 0 || it->raw[i - 1] != '\r') ? 2 : 1;
    }
    if (it->raw_len && it->raw[it->raw_len - 1] != '\n')
        n += 2;
    *size = n;
}

/* The message as DATA wants it: CRLF line ends, a '.' doubled at a line's
 * start, a CRLF after the last line, then ".\r\n". */
static int send_message(struct lmtp *l, const struct mr_delivery_item *it)
{
    struct mr_buf b;
    int bol = 1, rc = 0;
    mr_buf_init(&b, LMTP_CHUNK + 8);
    for (size_t i = 0; i < it->raw_len && rc == 0; i++) {
        unsigned char ch = it->raw[i];
        if (bol && ch == '.')
            mr_buf_putc(&b, '.');
        if (ch == '\n' && (i == 0 || it->raw[i - 1] != '\r'))
            mr_buf_putc(&b, '\r');
        mr_buf_putc(&b, (char)ch);
        bol = ch == '\n';
        if (b.len >= LMTP_CHUNK) {
            rc = send_text(l, "the message", b.data, b.len);
            mr_buf_reset(&b);
        }
    }
    if (rc == 0) {
        mr_buf_puts(&b, bol ? ".\r\n" : "\r\n.\r\n");
        rc = send_text(l, "the message", b.data, b.len);
    }
    mr_buf_free(&b);
    return rc;
}

static void rcpt_answer(struct rcpt *rc, const struct reply *rep, enum rcpt_state ok)
{
    rc->state = rep->code >= 200 && rep->code < 300 ? ok : rep->code >= 500 ? RCPT_PERM : RCPT_TEMP;
    snprintf(rc->said, sizeof(rc->said), "%d %.280s", rep->code, rep->text);
}

static int envelope(struct lmtp *l, const struct mr_delivery_item *it, size_t *accepted)
{
    struct reply rep;
    char host[256], sender[LMTP_ADDR_MAX + 1], params[64] = "";
    size_t size;
    int eight_bit;
    mr_dr_hostname(host, sizeof(host));
    if (read_reply(l, "the greeting", &rep) != 0)
        return -1;
    if (rep.code != 220)
        return refused(l, NULL, &rep);
    if (send_line(l, "LHLO %s", host) != 0 || read_reply(l, "the answer to LHLO", &rep) != 0)
        return -1;
    if (rep.code != 250)
        return refused(l, "LHLO", &rep);
    wire_measure(it, &size, &eight_bit);
    if (rep.has_8bitmime && eight_bit)
        snprintf(params, sizeof(params), " BODY=8BITMIME");
    if (rep.has_size)
        snprintf(params + strlen(params), sizeof(params) - strlen(params), " SIZE=%zu", size);
    mr_dr_sender(it->msg ? it->msg->from : NULL, sender, sizeof(sender));
    if (send_line(l, "MAIL FROM:<%s>%s", sender, params) != 0 ||
        read_reply(l, "the answer to MAIL FROM", &rep) != 0)
        return -1;
    if (rep.code / 100 != 2)
        return refused(l, "MAIL FROM", &rep);
    *accepted = 0;
    for (size_t i = 0; i < l->nrcpt; i++) {
        char what[LMTP_ADDR_MAX + 40];
        snprintf(what, sizeof(what), "the answer to RCPT TO:<%s>", l->rcpts[i].addr);
        if (send_line(l, "RCPT TO:<%s>", l->rcpts[i].addr) != 0 || read_reply(l, what, &rep) != 0)
            return -1;
        rcpt_answer(&l->rcpts[i], &rep, RCPT_ACCEPTED);
        *accepted += l->rcpts[i].state == RCPT_ACCEPTED;
    }
    return 0;
}

static int data(struct lmtp *l, const struct mr_delivery_item *it)
{
    struct reply rep;
    if (send_line(l, "DATA") != 0 || read_reply(l, "the answer to DATA", &rep) != 0)
        return -1;
    if (rep.code != 354)
        return refused(l, "DATA", &rep);
    if (send_message(l, it) != 0)
        return -1;
    for (size_t i = 0; i < l->nrcpt; i++) {
        if (l->rcpts[i].state != RCPT_ACCEPTED)
            continue;
        char what[LMTP_ADDR_MAX + 40];
        snprintf(what, sizeof(what), "the reply for %s after the message", l->rcpts[i].addr);
        if (read_reply(l, what, &rep) != 0)
            return -1;
        rcpt_answer(&l->rcpts[i], &rep, RCPT_DONE);
        if (l->rcpts[i].state == RCPT_DONE)
            progress_add(l->r, l->rcpts[i].addr);
    }
    return 0;
}

/* "a@b (550 no such user), c@d (...)" of the recipients in state s. */
static int list_of(const struct lmtp *l, enum rcpt_state s, char *out, size_t size)
{
    size_t o = 0;
    int n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l->nrcpt && o + 1 < size; i++)
        if (l->rcpts[i].state == s) {
            int w = snprintf(out + o, size - o, "%s%s (%s)", n ? ", " : "", l->rcpts[i].addr,
                             l->rcpts[i].said);
            o += w > 0 ? (size_t)w : 0;
            n++;
        }
    return n;
}

static void outcome(struct lmtp *l)
{
    char list[sizeof(l->r->error)];
    if (l->r->outcome != MR_DELIVERY_OK)
        return; /* a refusal of the session already said it */
    if (list_of(l, RCPT_PERM, list, sizeof(list))) {
        mr_dr_set(l->r, MR_DELIVERY_FAIL, "the LMTP server %s refused %s%s%s", l->where, list,
                  l->io[0] ? "; then " : "", l->io);
        return;
    }
    if (l->io[0]) {
        mr_dr_set(l->r, MR_DELIVERY_RETRY, "%s", l->io);
        return;
    }
    if (list_of(l, RCPT_TEMP, list, sizeof(list))) {
        mr_dr_set(l->r, MR_DELIVERY_RETRY, "the LMTP server %s deferred %s", l->where, list);
        return;
    }
    for (size_t i = 0; i < l->nrcpt; i++)
        if (l->rcpts[i].state != RCPT_DONE) {
            mr_dr_set(l->r, MR_DELIVERY_RETRY, "the LMTP server %s gave no answer for %s", l->where,
                      l->rcpts[i].addr);
            return;
        }
}

void mr_deliver_lmtp(const struct mr_target *t, const struct mr_delivery_item *it,
                     struct mr_delivery_result *r)
{
    struct lmtp l = {.t = t, .r = r, .timeout = mr_target_timeout(t)};
    size_t accepted = 0;
    mr_dr_begin(r);
    if (recipients(&l, it) != 0 || l.nrcpt == 0)
        goto out; /* a bad list, or everyone accepted it before */
    if (open_conn(&l) == 0 && envelope(&l, it, &accepted) == 0 && accepted)
        data(&l, it);
    if (l.c && !l.io[0]) {
        struct reply rep;
        if (send_line(&l, "QUIT") == 0)
            read_reply(&l, "the answer to QUIT", &rep);
        l.io[0] = '\0'; /* what happens after the replies changes nothing */
    }
    outcome(&l);
out:
    mr_conn_close(&l.c);
    free(l.rcpts);
}
