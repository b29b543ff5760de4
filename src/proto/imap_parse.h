/* IMAP response parser, sans I/O: feed it bytes as they arrive, get back
 * one complete response at a time (or "need more"). It never touches a
 * socket, resumes anywhere in the input, and enforces hard limits on line
 * length, literal size, nesting depth and tokens, so a hostile server cannot
 * make it allocate from a size it announced or grow without bound.
 *
 * A response is split into: kind (tagged, untagged, continuation), tag,
 * an optional number ("* 5 EXISTS"), a name (OK, NO, BAD, BYE, PREAUTH,
 * EXISTS, FETCH, CAPABILITY, LIST, ...), and then either resp-text (for
 * status names: an optional [code] and human text) or a flat token list
 * where parenthesised lists appear as OPEN/CLOSE tokens.
 *
 * Literals ({n}) are kept inline up to a small size; a larger one is handed
 * to a sink as it arrives (the fetch engine streams message bodies that
 * way), or refused if no sink takes it. */
#ifndef MR_PROTO_IMAP_PARSE_H
#define MR_PROTO_IMAP_PARSE_H

#include "util/buf.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

#define MR_IMAP_LINE_MAX    (1u << 20) /* bytes of a response outside literals */
#define MR_IMAP_INLINE_MAX  (1u << 16) /* literals up to this stay in the response */
#define MR_IMAP_DEPTH_MAX   16
#define MR_IMAP_TOKENS_MAX  65536
#define MR_IMAP_LITERAL_MAX ((uint64_t)1 << 32) /* refused above, whatever the sink */

enum mr_imap_kind { MR_IMAP_TAGGED, MR_IMAP_UNTAGGED, MR_IMAP_CONTINUE };

enum mr_imap_status {
    MR_IMAP_NONE = 0, /* not a status response */
    MR_IMAP_OK,
    MR_IMAP_NO,
    MR_IMAP_BAD,
    MR_IMAP_PREAUTH,
    MR_IMAP_BYE,
};

enum mr_imap_tok {
    MR_IMAP_ATOM,   /* incl. numbers and BODY[...]<n> */
    MR_IMAP_STRING, /* quoted or inline literal (may hold NUL bytes) */
    MR_IMAP_NIL,
    MR_IMAP_OPEN,     /* ( */
    MR_IMAP_CLOSE,    /* ) */
    MR_IMAP_STREAMED, /* a literal that went to the sink; size holds its length */
};

struct mr_imap_token {
    enum mr_imap_tok type;
    const char *text; /* NUL-terminated; len excludes the NUL */
    size_t len;
    uint64_t size;
};

struct mr_imap_response {
    enum mr_imap_kind kind;
    const char *tag; /* tagged only */
    int has_number;
    uint32_t number;  /* "* 5 EXISTS" */
    const char *name; /* upper-cased */
    enum mr_imap_status status;
    const char *code; /* inside [ ], or NULL */
    const char *text; /* resp-text, or the continuation's text */
    struct mr_imap_token *tokens;
    size_t ntokens;
};

/* Streams big literals. begin() returns 1 to take the literal, 0 to leave
 * it to the parser (refused above MR_IMAP_INLINE_MAX), or a negative error;
 * `before` is the atom just before the literal ("BODY[]"). */
struct mr_imap_sink {
    int (*begin)(void *ctx, const char *before, uint64_t size, mr_error *err);
    int (*data)(void *ctx, const char *p, size_t n, mr_error *err);
    int (*end)(void *ctx, mr_error *err);
    void *ctx;
};

struct mr_imap_parser;

struct mr_imap_parser *mr_imap_parser_new(void);
void mr_imap_parser_free(struct mr_imap_parser **p);
void mr_imap_parser_set_sink(struct mr_imap_parser *p, const struct mr_imap_sink *sink);
/* Drops any partial response (after STARTTLS, everything before the
 * handshake is discarded). */
void mr_imap_parser_reset(struct mr_imap_parser *p);

/* Consumes bytes from data (*used tells how many) until one response is
 * complete: returns 1 and sets *resp (valid until the next feed), 0 when
 * all input was consumed without completing one, or MR_EPROTO (the message
 * says what was wrong) or a sink's error. After an error the parser must
 * be reset. */
int mr_imap_parser_feed(struct mr_imap_parser *p, const char *data, size_t len, size_t *used,
                        const struct mr_imap_response **resp, mr_error *err);

/* Helpers for callers. */
int mr_imap_token_is(const struct mr_imap_token *t, const char *atom); /* ASCII case-insens. */
/* A number token (uint32 range unless max says more); 0 or MR_EPROTO. */
int mr_imap_token_number(const struct mr_imap_token *t, uint64_t max, uint64_t *out);

#endif
