#include "proto/imap_parse.h"

#include "util/mem.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

enum state { ST_LINE, ST_LITERAL };

struct tok {
    enum mr_imap_tok type;
    size_t off, len;
    uint64_t size;
};

struct mr_imap_parser {
    enum state state;
    struct mr_buf line;  /* the current fragment: up to LF, outside literals */
    struct mr_buf arena; /* NUL-terminated texts of the response in progress */
    struct tok *toks;
    size_t ntoks, cap;
    size_t line_total; /* non-literal bytes of this response */
    int header_done, depth, done;
    /* header */
    enum mr_imap_kind kind;
    size_t tag, name, code, text; /* arena offsets; SIZE_MAX = none */
    int has_number;
    uint32_t number;
    enum mr_imap_status status;
    /* literal in progress */
    uint64_t lit_left;
    int lit_streamed;
    struct mr_imap_sink sink;
    int has_sink;
    /* the response handed out */
    struct mr_imap_response resp;
    struct mr_imap_token *out;
    size_t out_cap;
};

static void reset_response(struct mr_imap_parser *p)
{
    mr_buf_reset(&p->line);
    mr_buf_reset(&p->arena);
    p->ntoks = 0;
    p->line_total = 0;
    p->header_done = p->depth = p->done = 0;
    p->tag = p->name = p->code = p->text = SIZE_MAX;
    p->has_number = 0;
    p->number = 0;
    p->status = MR_IMAP_NONE;
    p->state = ST_LINE;
    p->lit_left = 0;
    p->lit_streamed = 0;
}

struct mr_imap_parser *mr_imap_parser_new(void)
{
    struct mr_imap_parser *p = mr_xcalloc(1, sizeof(*p));
    mr_buf_init(&p->line, MR_IMAP_LINE_MAX + 2);
    mr_buf_init(&p->arena, MR_IMAP_LINE_MAX + 2 * MR_IMAP_INLINE_MAX + MR_IMAP_TOKENS_MAX);
    reset_response(p);
    return p;
}

void mr_imap_parser_free(struct mr_imap_parser **pp)
{
    struct mr_imap_parser *p = *pp;
    if (!p)
        return;
    mr_buf_free(&p->line);
    mr_buf_free(&p->arena);
    free(p->toks);
    free(p->out);
    free(p);
    *pp = NULL;
}

void mr_imap_parser_set_sink(struct mr_imap_parser *p, const struct mr_imap_sink *sink)
{
    p->has_sink = sink != NULL;
    if (sink)
        p->sink = *sink;
}

void mr_imap_parser_reset(struct mr_imap_parser *p)
{
    reset_response(p);
}

static int fail(mr_error *err, const char *what)
{
    return mr_error_set(err, MR_EPROTO, "", "malformed IMAP response: %s", what);
}

/* Copies n bytes into the arena, NUL-terminated; returns the offset. */
static int save(struct mr_imap_parser *p, const char *s, size_t n, size_t *off, mr_error *err)
{
    *off = p->arena.len;
    if (mr_buf_append(&p->arena, s, n) || mr_buf_putc(&p->arena, '\0'))
        return fail(err, "the response is too large");
    return 0;
}

static int push(struct mr_imap_parser *p, enum mr_imap_tok type, size_t off, size_t len,
                uint64_t size, mr_error *err)
{
    if (p->ntoks >= MR_IMAP_TOKENS_MAX)
        return fail(err, "too many tokens in one response");
    if (p->ntoks == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->toks = mr_xrealloc(p->toks, p->cap * sizeof(*p->toks));
    }
    p->toks[p->ntoks++] = (struct tok){type, off, len, size};
    return 0;
}

static int is_atom_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '(' && c != ')' && c != '{' && c != '"';
}

/* An atom; '[' opens a section that may hold spaces and parentheses, as in
 * BODY[HEADER.FIELDS (FROM)]<0>. */
static int scan_atom(const char *s, size_t n, size_t pos, size_t *end)
{
    size_t i = pos;
    while (i < n && (is_atom_char((unsigned char)s[i]) || s[i] == '{')) {
        if (s[i] == '[') {
            const char *close = memchr(s + i, ']', n - i);
            if (!close)
                return -1;
            i = (size_t)(close - s);
        }
        i++;
    }
    if (i < n && s[i] != ' ' && s[i] != '(' && s[i] != ')')
        return -1; /* a control character or a quote glued to the atom */
    *end = i;
    return i > pos ? 0 : -1;
}

static int scan_quoted(struct mr_imap_parser *p, const char *s, size_t n, size_t *pos,
                       mr_error *err)
{
    size_t i = *pos + 1, off = p->arena.len;
    for (; i < n && s[i] != '"'; i++) {
        if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '\\' || s[i + 1] == '"'))
            i++;
        if (mr_buf_putc(&p->arena, s[i]))
            return fail(err, "the response is too large");
    }
    if (i >= n)
        return fail(err, "a quoted string is not closed");
    if (mr_buf_putc(&p->arena, '\0'))
        return fail(err, "the response is too large");
    *pos = i + 1;
    return push(p, MR_IMAP_STRING, off, p->arena.len - off - 1, 0, err);
}

static const char *previous_atom(const struct mr_imap_parser *p)
{
    if (p->ntoks && p->toks[p->ntoks - 1].type == MR_IMAP_ATOM)
        return p->arena.data + p->toks[p->ntoks - 1].off;
    return "";
}

/* {n} or {n+} at the very end of the fragment: the literal's bytes follow. */
static int start_literal(struct mr_imap_parser *p, const char *s, size_t n, size_t pos,
                         mr_error *err)
{
    uint64_t size = 0;
    size_t i = pos + 1;
    if (i >= n || !isdigit((unsigned char)s[i]))
        return fail(err, "a literal size is not a number");
    for (; i < n && isdigit((unsigned char)s[i]); i++) {
        size = size * 10 + (uint64_t)(s[i] - '0');
        if (size > MR_IMAP_LITERAL_MAX)
            return mr_error_set(err, MR_EPROTO, "",
                                "malformed IMAP response: a literal of more than %llu bytes",
                                (unsigned long long)MR_IMAP_LITERAL_MAX);
    }
    if (i < n && s[i] == '+')
        i++;
    if (i + 1 != n || s[i] != '}')
        return fail(err, "a literal marker is not at the end of its line");
    int take = 0;
    if (p->has_sink && size > 0) {
        take = p->sink.begin(p->sink.ctx, previous_atom(p), size, err);
        if (take < 0)
            return take;
    }
    if (!take && size > MR_IMAP_INLINE_MAX)
        return mr_error_set(err, MR_EPROTO, "",
                            "malformed IMAP response: an unexpected literal of %llu bytes",
                            (unsigned long long)size);
    p->lit_streamed = take;
    p->lit_left = size;
    p->state = ST_LITERAL;
    return push(p, take ? MR_IMAP_STREAMED : MR_IMAP_STRING, p->arena.len, 0, size, err);
}

/* Tokens of one fragment; 1 when the response is complete, 0 when a literal
 * follows. */
static int tokenize(struct mr_imap_parser *p, const char *s, size_t n, size_t pos, mr_error *err)
{
    int rc = 0;
    while (rc == 0) {
        while (pos < n && s[pos] == ' ')
            pos++;
        if (pos >= n)
            return p->depth == 0 ? 1 : fail(err, "a parenthesised list is not closed");
        size_t end, off;
        switch (s[pos]) {
        case '(':
            if (++p->depth > MR_IMAP_DEPTH_MAX)
                return fail(err, "lists nested too deeply");
            rc = push(p, MR_IMAP_OPEN, 0, 0, 0, err);
            pos++;
            break;
        case ')':
            if (p->depth-- == 0)
                return fail(err, "a ')' without its '('");
            rc = push(p, MR_IMAP_CLOSE, 0, 0, 0, err);
            pos++;
            break;
        case '"':
            rc = scan_quoted(p, s, n, &pos, err);
            break;
        case '{':
            rc = start_literal(p, s, n, pos, err);
            return rc ? rc : 0;
        default:
            if (scan_atom(s, n, pos, &end) != 0)
                return fail(err, "an invalid character");
            if ((rc = save(p, s + pos, end - pos, &off, err)) == 0)
                rc = push(p,
                          end - pos == 3 && strncasecmp(s + pos, "NIL", 3) == 0 ? MR_IMAP_NIL
                                                                                : MR_IMAP_ATOM,
                          off, end - pos, 0, err);
            pos = end;
        }
    }
    return rc;
}

static enum mr_imap_status status_of(const char *name)
{
    static const char *const names[] = {"", "OK", "NO", "BAD", "PREAUTH", "BYE"};
    for (int i = 1; i < 6; i++)
        if (strcmp(name, names[i]) == 0)
            return (enum mr_imap_status)i;
    return MR_IMAP_NONE;
}

/* [code] text, to the end of the line. */
static int resp_text(struct mr_imap_parser *p, const char *s, size_t n, size_t pos, mr_error *err)
{
    while (pos < n && s[pos] == ' ')
        pos++;
    if (pos < n && s[pos] == '[') {
        const char *close = memchr(s + pos, ']', n - pos);
        if (!close)
            return fail(err, "a response code is not closed");
        int rc = save(p, s + pos + 1, (size_t)(close - s) - pos - 1, &p->code, err);
        if (rc)
            return rc;
        pos = (size_t)(close - s) + 1;
        while (pos < n && s[pos] == ' ')
            pos++;
    }
    int rc = save(p, s + pos, n - pos, &p->text, err);
    return rc ? rc : 1;
}

static int parse_number(const char *s, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static size_t word_end(const char *s, size_t n, size_t pos)
{
    const char *sp = memchr(s + pos, ' ', n - pos);
    return sp ? (size_t)(sp - s) : n;
}

static int header(struct mr_imap_parser *p, const char *s, size_t n, mr_error *err)
{
    size_t end = word_end(s, n, 0), pos;
    if (end == 0)
        return fail(err, "a line without a tag");
    p->header_done = 1;
    if (end == 1 && s[0] == '+') {
        p->kind = MR_IMAP_CONTINUE;
        return resp_text(p, s, n, end, err);
    }
    p->kind = end == 1 && s[0] == '*' ? MR_IMAP_UNTAGGED : MR_IMAP_TAGGED;
    int rc = save(p, s, end, &p->tag, err);
    pos = end + 1;
    if (rc == 0 && pos < n && isdigit((unsigned char)s[pos]) && p->kind == MR_IMAP_UNTAGGED) {
        end = word_end(s, n, pos);
        if (parse_number(s + pos, end - pos, &p->number) != 0)
            return fail(err, "a message number that is not a 32-bit number");
        p->has_number = 1;
        pos = end + 1;
    }
    if (rc || pos >= n)
        return rc ? rc : fail(err, "a response without a name");
    end = word_end(s, n, pos);
    if ((rc = save(p, s + pos, end - pos, &p->name, err)))
        return rc;
    for (char *c = p->arena.data + p->name; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    p->status = status_of(p->arena.data + p->name);
    if (p->status != MR_IMAP_NONE && !p->has_number)
        return resp_text(p, s, n, end, err);
    if (p->kind == MR_IMAP_TAGGED)
        return fail(err, "a tagged response that is not OK, NO or BAD");
    return tokenize(p, s, n, end, err);
}

static int fragment(struct mr_imap_parser *p, mr_error *err)
{
    const char *s = p->line.data;
    size_t n = p->line.len;
    n -= 1; /* LF */
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (memchr(s, '\0', n))
        return fail(err, "a NUL byte in a response line");
    return p->header_done ? tokenize(p, s, n, 0, err) : header(p, s, n, err);
}

static const char *at(const struct mr_imap_parser *p, size_t off)
{
    return off == SIZE_MAX ? NULL : p->arena.data + off;
}

static void build(struct mr_imap_parser *p)
{
    struct mr_imap_response *r = &p->resp;
    if (p->ntoks > p->out_cap) {
        p->out_cap = p->ntoks;
        p->out = mr_xrealloc(p->out, p->out_cap * sizeof(*p->out));
    }
    for (size_t i = 0; i < p->ntoks; i++) {
        const struct tok *t = &p->toks[i];
        p->out[i] = (struct mr_imap_token){t->type, p->arena.data + t->off, t->len, t->size};
        if (t->type == MR_IMAP_OPEN || t->type == MR_IMAP_CLOSE)
            p->out[i].text = t->type == MR_IMAP_OPEN ? "(" : ")";
    }
    r->kind = p->kind;
    r->tag = at(p, p->tag);
    r->has_number = p->has_number;
    r->number = p->number;
    r->name = at(p, p->name) ? at(p, p->name) : "";
    r->status = p->status;
    r->code = at(p, p->code);
    r->text = at(p, p->text) ? at(p, p->text) : "";
    r->tokens = p->out;
    r->ntokens = p->ntoks;
}

static int feed_literal(struct mr_imap_parser *p, const char *data, size_t n, mr_error *err)
{
    int rc = 0;
    if (p->lit_streamed)
        rc = p->sink.data(p->sink.ctx, data, n, err);
    else if (mr_buf_append(&p->arena, data, n))
        rc = fail(err, "the response is too large");
    p->lit_left -= n;
    if (rc || p->lit_left > 0)
        return rc;
    p->state = ST_LINE;
    if (p->lit_streamed)
        return p->sink.end(p->sink.ctx, err);
    struct tok *t = &p->toks[p->ntoks - 1];
    t->len = p->arena.len - t->off;
    return mr_buf_putc(&p->arena, '\0') ? fail(err, "the response is too large") : 0;
}

int mr_imap_parser_feed(struct mr_imap_parser *p, const char *data, size_t len, size_t *used,
                        const struct mr_imap_response **resp, mr_error *err)
{
    size_t i = 0;
    int rc = 0;
    if (p->done)
        reset_response(p);
    while (i < len && rc == 0) {
        if (p->state == ST_LITERAL) {
            size_t take = p->lit_left < len - i ? (size_t)p->lit_left : len - i;
            rc = feed_literal(p, data + i, take, err);
            i += take;
            continue;
        }
        const char *nl = memchr(data + i, '\n', len - i);
        size_t take = nl ? (size_t)(nl - data - i) + 1 : len - i;
        p->line_total += take;
        if (p->line_total > MR_IMAP_LINE_MAX || mr_buf_append(&p->line, data + i, take))
            rc = mr_error_set(err, MR_EPROTO, "",
                              "malformed IMAP response: a line longer than %u bytes",
                              MR_IMAP_LINE_MAX);
        i += take;
        if (rc || !nl)
            continue;
        rc = fragment(p, err);
        mr_buf_reset(&p->line);
    }
    *used = i;
    if (rc == 1) {
        build(p);
        p->done = 1;
        *resp = &p->resp;
    }
    return rc;
}

int mr_imap_token_is(const struct mr_imap_token *t, const char *atom)
{
    return t->type == MR_IMAP_ATOM && strcasecmp(t->text, atom) == 0;
}

int mr_imap_token_number(const struct mr_imap_token *t, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (t->type != MR_IMAP_ATOM || t->len == 0 || t->len > 20)
        return MR_EPROTO;
    for (size_t i = 0; i < t->len; i++) {
        if (!isdigit((unsigned char)t->text[i]))
            return MR_EPROTO;
        uint64_t d = (uint64_t)(t->text[i] - '0');
        if (v > (max - d) / 10)
            return MR_EPROTO;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}
