#include "proto/pop3_parse.h"

#include "util/mem.h"

#include <string.h>

enum state {
    ST_STATUS, /* reading a status line */
    ST_BOL,    /* body: at the beginning of a line */
    ST_DOT,    /* body: a line began with '.' */
    ST_DOT_CR, /* body: ".\r" */
    ST_MID,    /* body: inside a line */
};

struct mr_pop3_parser {
    enum state state;
    int multiline;
    struct mr_buf line;
    int line_done; /* line holds the last event's status line, read whole */
};

struct mr_pop3_parser *mr_pop3_parser_new(void)
{
    struct mr_pop3_parser *p = mr_xcalloc(1, sizeof(*p));
    mr_buf_init(&p->line, MR_POP3_STATUS_MAX);
    return p;
}

void mr_pop3_parser_free(struct mr_pop3_parser **pp)
{
    if (!*pp)
        return;
    mr_buf_free(&(*pp)->line);
    free(*pp);
    *pp = NULL;
}

void mr_pop3_parser_expect(struct mr_pop3_parser *p, int multiline)
{
    p->multiline = multiline;
}

void mr_pop3_parser_reset(struct mr_pop3_parser *p)
{
    p->state = ST_STATUS;
    p->multiline = 0;
    p->line_done = 0;
    mr_buf_reset(&p->line);
}

int mr_pop3_parser_in_body(const struct mr_pop3_parser *p)
{
    return p->state != ST_STATUS;
}

/* A whole status line, ended by CRLF or by LF alone (a server with bare LF
 * line ends): the terminator becomes the text's NUL, which for a bare LF
 * overwrites the LF itself, so whether the line was read whole is kept in
 * line_done rather than read back from its last byte. */
static int status_line(struct mr_pop3_parser *p, struct mr_pop3_event *ev, mr_error *err)
{
    char *s = p->line.data;
    size_t n = p->line.len - 1; /* LF */
    if (n > 0 && s[n - 1] == '\r')
        n--;
    s[n] = '\0';
    p->line_done = 1;
    if (memchr(s, '\0', n))
        return mr_error_set(err, MR_EPROTO, "",
                            "malformed POP3 response: a NUL byte in a status line");
    ev->type = MR_POP3_STATUS;
    if (s[0] == '+' && (s[1] == ' ' || s[1] == '\0')) { /* SASL challenge */
        ev->type = MR_POP3_CONTINUE;
        ev->ok = 1;
        ev->text = s + (s[1] == ' ' ? 2 : 1);
        return 1;
    }
    if (strncmp(s, "+OK", 3) == 0 && (s[3] == ' ' || s[3] == '\0'))
        ev->ok = 1;
    else if (strncmp(s, "-ERR", 4) == 0 && (s[4] == ' ' || s[4] == '\0'))
        ev->ok = 0;
    else
        return mr_error_set(err, MR_EPROTO, "",
                            "malformed POP3 response: expected +OK or -ERR, got '%.60s'", s);
    ev->text = s + (ev->ok ? 3 : 4) + (s[ev->ok ? 3 : 4] == ' ');
    p->state = ev->ok && p->multiline ? ST_BOL : ST_STATUS;
    p->multiline = 0;
    return 1;
}

static int feed_status(struct mr_pop3_parser *p, const char *data, size_t len, size_t *used,
                       struct mr_pop3_event *ev, mr_error *err)
{
    if (p->line_done) { /* the last event's line */
        mr_buf_reset(&p->line);
        p->line_done = 0;
    }
    const char *nl = memchr(data, '\n', len);
    size_t take = nl ? (size_t)(nl - data) + 1 : len;
    *used = take;
    if (mr_buf_append(&p->line, data, take))
        return mr_error_set(err, MR_EPROTO, "",
                            "malformed POP3 response: a status line longer than %d bytes",
                            MR_POP3_STATUS_MAX);
    return nl ? status_line(p, ev, err) : 0;
}

static int data_event(struct mr_pop3_event *ev, const char *d, size_t n)
{
    ev->type = MR_POP3_DATA;
    ev->data = d;
    ev->len = n;
    return 1;
}

/* Inside a line: everything up to the next LF that is followed by a dot
 * (or by the end of the input) goes out as one chunk. */
static int feed_mid(struct mr_pop3_parser *p, const char *data, size_t len, size_t *used,
                    struct mr_pop3_event *ev)
{
    size_t pos = 0;
    for (;;) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        if (!nl) {
            *used = len;
            return data_event(ev, data, len);
        }
        pos = (size_t)(nl - data) + 1;
        if (pos == len || data[pos] == '.') {
            p->state = ST_BOL;
            *used = pos;
            return data_event(ev, data, pos);
        }
    }
}

static int feed_body(struct mr_pop3_parser *p, const char *data, size_t len, size_t *used,
                     struct mr_pop3_event *ev)
{
    *used = 1;
    switch (p->state) {
    case ST_BOL:
        if (data[0] == '.') {
            p->state = ST_DOT;
            return 0;
        }
        p->state = ST_MID;
        return feed_mid(p, data, len, used, ev);
    case ST_DOT:
        if (data[0] == '\r') {
            p->state = ST_DOT_CR;
            return 0;
        }
        if (data[0] == '\n')
            break;         /* ".\n": a server with bare LF line ends */
        p->state = ST_MID; /* a stuffed dot: drop it, keep the rest */
        return feed_mid(p, data, len, used, ev);
    case ST_DOT_CR:
        if (data[0] == '\n')
            break;
        p->state = ST_MID; /* ".\r" then something: pass "\r" on, look again */
        *used = 0;
        return data_event(ev, "\r", 1);
    default:
        return feed_mid(p, data, len, used, ev);
    }
    p->state = ST_STATUS;
    ev->type = MR_POP3_END;
    return 1;
}

int mr_pop3_parser_feed(struct mr_pop3_parser *p, const char *data, size_t len, size_t *used,
                        struct mr_pop3_event *ev, mr_error *err)
{
    size_t off = 0;
    while (off < len) {
        size_t n = 0;
        int rc = p->state == ST_STATUS ? feed_status(p, data + off, len - off, &n, ev, err)
                                       : feed_body(p, data + off, len - off, &n, ev);
        off += n;
        if (rc != 0) {
            *used = off;
            return rc;
        }
    }
    *used = off;
    return 0;
}

/* got within pct percent of listed (128 bits: a server may list 2^64-1) */
static int within(uint64_t listed, uint64_t got, unsigned pct)
{
    uint64_t diff = got > listed ? got - listed : listed - got;
    return (unsigned __int128)diff * 100 <= (unsigned __int128)listed * pct;
}

int mr_pop3_size_matches(uint64_t listed, const char *data, size_t len, unsigned tolerance_pct)
{
    if (len == listed)
        return 1;
    uint64_t lf = 0, crlf = 0;
    const char *end = len ? data + len : data;
    for (const char *p = data; p != end && (p = memchr(p, '\n', (size_t)(end - p))); p++) {
        lf++;
        crlf += p > data && p[-1] == '\r';
    }
    return within(listed, len, tolerance_pct) || within(listed, len + (lf - crlf), tolerance_pct) ||
           within(listed, len - crlf, tolerance_pct);
}
