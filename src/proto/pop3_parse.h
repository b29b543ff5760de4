/* POP3 response parser, sans I/O. A response is a status line (+OK or -ERR
 * and text); after +OK to a command that has a multi-line answer (CAPA,
 * UIDL, LIST, RETR, TOP), the body follows as DATA events — dot-unstuffed,
 * in chunks that point into the caller's input, never buffered whole — and
 * an END event at the terminating ".". Line ends inside the body are passed
 * through as they came. Lines end in CRLF or, from a server with bare LF
 * line ends (as fetchmail and getmail accept), in LF alone: status lines,
 * body lines and the final ".\n" alike; a body line is any run of bytes up
 * to an LF, so a lone "." followed by a bare LF ends the body even amid
 * CRLF lines (a server must dot-stuff it; the fetch engine's size check
 * catches one that did not). */
#ifndef MR_PROTO_POP3_PARSE_H
#define MR_PROTO_POP3_PARSE_H

#include "util/buf.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

#define MR_POP3_STATUS_MAX 8192 /* RFC 1939 says 512; servers add more text */

enum mr_pop3_event_type {
    MR_POP3_STATUS,   /* +OK or -ERR */
    MR_POP3_CONTINUE, /* "+ challenge" during AUTH (text = the challenge) */
    MR_POP3_DATA,
    MR_POP3_END,
};

struct mr_pop3_event {
    enum mr_pop3_event_type type;
    int ok;           /* STATUS: +OK or -ERR */
    const char *text; /* STATUS: the text after +OK/-ERR, NUL-terminated */
    const char *data; /* DATA */
    size_t len;
};

struct mr_pop3_parser;

struct mr_pop3_parser *mr_pop3_parser_new(void);
void mr_pop3_parser_free(struct mr_pop3_parser **p);
/* Before each command: whether its +OK answer has a body. */
void mr_pop3_parser_expect(struct mr_pop3_parser *p, int multiline);
void mr_pop3_parser_reset(struct mr_pop3_parser *p);
/* 1 with an event (DATA points into data; valid until the next feed), 0
 * when all input was consumed, or MR_EPROTO. *used says how much was read. */
int mr_pop3_parser_feed(struct mr_pop3_parser *p, const char *data, size_t len, size_t *used,
                        struct mr_pop3_event *ev, mr_error *err);
/* Whether a multi-line body is being read. */
int mr_pop3_parser_in_body(const struct mr_pop3_parser *p);

/* Whether a message as received (len bytes, unstuffed) has the size LIST
 * announced: exactly; or counting each bare LF as CRLF (a server that
 * counts CRLF and sends LF), or each CRLF as one byte (one that counts LF
 * and sends CRLF); each of those within tolerance_pct percent of the
 * announced size. Reads the bytes only when the sizes differ. */
int mr_pop3_size_matches(uint64_t listed, const char *data, size_t len, unsigned tolerance_pct);

#endif
