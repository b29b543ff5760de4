/* What the IMAP and POP3 sessions share: the connection, a read buffer that
 * feeds the parser, sending lines with a redacting trace, the step log, and
 * the connect / TLS / STARTTLS steps. */
#ifndef MR_PROTO_SESSION_H
#define MR_PROTO_SESSION_H

#include "proto/mailbox.h"
#include "util/buf.h"

#define MR_SESSION_READ_SIZE (64 * 1024)

struct mr_session {
    const struct mr_mailbox_config *cfg;
    struct mr_conn *conn;
    char *in; /* bytes read and not yet consumed */
    size_t in_off, in_len;
    struct mr_buf out; /* commands waiting to be sent */
    int tls;
    const char *proto; /* "IMAP", "POP3": for messages */
    int64_t opened_ms; /* when the session began (mr_now_ms) */
};

/* Every driver's session starts with this, so the table's functions can
 * take a struct mr_mailbox and the driver its own larger struct. */
struct mr_mailbox {
    const struct mr_mailbox_driver *driver;
    struct mr_session s;
};

void mr_session_init(struct mr_session *s, const struct mr_mailbox_config *cfg, const char *proto);
void mr_session_free(struct mr_session *s);

/* Resolve, connect, and for implicit TLS the handshake: steps recorded. */
int mr_session_connect(struct mr_session *s, mr_error *err);
/* After the server's OK to STARTTLS/STLS: drops every byte received so far
 * (a man in the middle may have injected them), then the handshake. */
int mr_session_starttls(struct mr_session *s, mr_error *err);

/* Before the greeting is read (plain text, for STARTTLS or none): a port
 * that speaks implicit TLS fails at once, not after the step timeout.
 * A TLS record where the greeting should be is one sign. The other is
 * silence, since such a server waits for our ClientHello: after 3 s
 * without a greeting, a second connection to the same port tries a TLS
 * handshake (certificates unchecked, 3 s at most); when it succeeds the
 * port speaks implicit TLS. Through a network connector (no direct probe)
 * the silence of ports 993 and 995 is taken as the sign. Otherwise the
 * wait goes on as usual. */
int mr_session_await_greeting(struct mr_session *s, mr_error *err);
/* After a greeting that did not parse: an IMAP account that reached a
 * POP3 server (a "+OK" greeting) or the other way round ("* OK") gets an
 * error saying so and naming the protocol to set; 0 when neither. */
int mr_session_other_protocol(struct mr_session *s, mr_error *err);

/* Queues a command line (CRLF added). Everything from `secret_from` on
 * (an offset into line; (size_t)-1 for none) is shown as <redacted> in the
 * trace. */
int mr_session_queue(struct mr_session *s, const char *line, size_t secret_from, mr_error *err);
int mr_session_flush(struct mr_session *s, mr_error *err);
/* What the next reads wait for (net/conn.h): the answer to a command line
 * (named by its verb, never its arguments: a password stays out of
 * errors), or a transfer; what is a phrase for errors. */
void mr_session_expect_answer(struct mr_session *s, const char *command);
void mr_session_expect(struct mr_session *s, int transfer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reads more bytes when the buffer is empty. */
int mr_session_fill(struct mr_session *s, mr_error *err);
void mr_session_trace(struct mr_session *s, char dir, const char *line, size_t len);
/* Records a step when the config asks for steps. */
/* A server's refusal or goodbye that asks for a pause ("Suggested Backoff
 * Time: N milliseconds"): recorded in cfg->server_backoff_ms. */
void mr_session_note_backoff(struct mr_session *s, const char *text);
/* A failed step whose detail is err's message, said as err was. */
void mr_session_step_error(struct mr_session *s, const char *name, int64_t t0, const mr_error *err);
/* A step of any result whose detail is err's message, said as err was. */
void mr_session_step_said(struct mr_session *s, const char *name, int ok, int64_t t0,
                          const mr_error *err);
void mr_session_step(struct mr_session *s, const char *name, int ok, int64_t t0, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));

#endif
