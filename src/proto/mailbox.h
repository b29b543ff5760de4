/* The one interface the fetch engine and Test connection use to talk to a
 * mail server, whatever the protocol: a driver table per protocol (IMAP,
 * POP3), and the steps each open records for Test connection. */
#ifndef MR_PROTO_MAILBOX_H
#define MR_PROTO_MAILBOX_H

#include "core/account.h"
#include "net/conn.h"
#include "net/proxy.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

/* --- steps: what Test connection shows ------------------------------- */

#define MR_STEPS_MAX 24

struct mr_step {
    char name[32]; /* "resolve", "connect", "tls", "greeting", ... */
    int ok;        /* 1 passed, 0 failed, -1 skipped/informational */
    int64_t ms;
    char detail[512];    /* what was found, or the server's own words */
    struct mr_said said; /* detail as said, for the console's languages */
};

struct mr_steps {
    size_t count;
    struct mr_step items[MR_STEPS_MAX];
    /* told about each step as it is recorded (Test connection, live) */
    void (*on_step)(void *ctx, const struct mr_step *step);
    /* told what the session waits for next ("the greeting", "the answer to
     * LOGIN"), so a live test can say what it is waiting on; may be NULL */
    void (*on_wait)(void *ctx, const char *what);
    void *ctx;
};

void mr_steps_add(struct mr_steps *s, const char *name, int ok, int64_t ms, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A failed step whose detail is err's message (and its said, when it has
 * no prefix). */
void mr_steps_add_error(struct mr_steps *s, const char *name, int64_t ms, const mr_error *err);
/* A proxy's step (struct mr_proxy's on_step) into the steps at ctx. */
void mr_steps_proxy_step(void *ctx, const char *name, int ok, int64_t ms, const char *detail,
                         const struct mr_said *said);

/* --- the folders a server has: Test connection's folder picker -------- */

#define MR_FOLDERS_MAX 2000 /* a server listing more is cut short here */

struct mr_folder {
    char *name;       /* UTF-8, as a user types it */
    char special[12]; /* its RFC 6154 use ("\\Sent"), "" when none */
};

struct mr_folders {
    struct mr_folder *items;
    size_t count, cap;
    int truncated; /* the server listed more than MR_FOLDERS_MAX */
};

void mr_folders_add(struct mr_folders *f, const char *name, const char *special);
void mr_folders_free(struct mr_folders *f);

/* --- the protocol trace -------------------------------------------------- */

/* dir is 'C' (client) or 'S' (server); the line has no secrets: passwords
 * and SASL payloads are replaced before the callback sees them. */
typedef void (*mr_trace_fn)(void *ctx, char dir, const char *line, size_t len);

/* --- configuration of one session -------------------------------------- */

/* The longest pause a server may ask for that is honoured: one day. */
#define MR_SERVER_BACKOFF_MAX_MS (24LL * 3600 * 1000)

struct mr_mailbox_config {
    const char *host;
    int port;
    enum mr_security security;
    int verify_certificate;
    const char *ca_file;
    const char *username;
    const char *password; /* plain text, from the vault; never logged */
    /* OAuth 2.0 access token (an oauth2 credential); NULL for a password.
     * Guarded like the password: never logged or traced. */
    const char *bearer_token;
    const char *auth;   /* a mechanism name, or NULL for auto */
    const char *folder; /* IMAP */
    int read_only;      /* keep copy: EXAMINE and BODY.PEEK, nothing changed */
    /* The account's after-fetch action. The engine hands them to act(); a
     * kept session's fingerprint covers them (it caches the move folder). */
    enum mr_after_fetch after_fetch;
    const char *move_folder;
    int create_folder;
    enum mr_action_when action_when;
    struct mr_net_limits limits;
    const struct mr_proxy *proxy; /* NULL: connect directly */
    mr_trace_fn trace;
    void *trace_ctx;
    struct mr_steps *steps; /* may be NULL */
    /* Test connection: once logged in, an IMAP session lists the server's
     * selectable folders here, before it opens the folder. NULL: not. */
    struct mr_folders *folders;
    /* Set when the server asks to be left alone for a while (Exchange
     * Online: "Request is throttled. Suggested Backoff Time: N
     * milliseconds"): the longest wait it asked for, in ms. NULL: not. */
    int64_t *server_backoff_ms;
};

/* A message as the server lists it. */
struct mr_message_ref {
    uint64_t uid;  /* IMAP UID; POP3 message number */
    char uidl[72]; /* POP3 UIDL ("" for IMAP or a server without UIDL) */
    uint64_t size; /* as the server reports it */
};

struct mr_mailbox_status {
    uint64_t messages;    /* in the folder / maildrop */
    uint64_t total_size;  /* POP3 STAT; IMAP: 0 (not asked) */
    uint32_t uidvalidity; /* IMAP */
    int has_uidl;         /* POP3: the server answers UIDL */
    char mechanism[32];   /* how we logged in */
    /* Set by a failed open when the server refused the bearer token (not
     * for a passing condition such as IMAP [UNAVAILABLE]): the caller may
     * get a new access token and try once more, then ask for consent. */
    int token_refused;
    char token_status[48]; /* the error challenge's status ("invalid_token"; Google's
                            * XOAUTH2 says "401"), sanitised; "" when it sent none */
};

/* Receives message bodies as they arrive. begin/data stream the bytes;
 * done tells which message they were (IMAP may name the UID only after the
 * body). */
struct mr_fetch_sink {
    int (*begin)(void *ctx, uint64_t size, mr_error *err);
    int (*data)(void *ctx, const char *p, size_t n, mr_error *err);
    int (*done)(void *ctx, const struct mr_message_ref *ref, mr_error *err);
    void *ctx;
};

struct mr_mailbox; /* an open, logged-in session */

struct mr_mailbox_driver {
    const char *name;
    /* Connects, secures, reads the greeting and capabilities, logs in and
     * opens the folder (IMAP) or reads STAT (POP3). Fills status. */
    int (*open)(struct mr_mailbox **out, const struct mr_mailbox_config *cfg,
                struct mr_mailbox_status *status, mr_error *err);
    /* Lists messages with UID >= min_uid (IMAP; POP3 lists all). The array
     * is the caller's to free. */
    int (*list)(struct mr_mailbox *mb, uint64_t min_uid, struct mr_message_ref **refs, size_t *n,
                mr_error *err);
    /* Fetches the given messages (pipelined), streaming each to sink. */
    int (*fetch)(struct mr_mailbox *mb, const struct mr_message_ref *refs, size_t n,
                 const struct mr_fetch_sink *sink, mr_error *err);
    /* Marks the messages deleted: IMAP STORE \Deleted and expunge; POP3 DELE
     * (applied only by a successful close). */
    int (*remove)(struct mr_mailbox *mb, const struct mr_message_ref *refs, size_t n,
                  mr_error *err);
    /* Logs out (POP3 QUIT: its +OK is what makes deletions happen) and
     * frees the session; with err NULL it drops the connection without a
     * word. */
    int (*close)(struct mr_mailbox **mb, mr_error *err);
    /* Takes up a session kept open since an earlier run with the same
     * settings (fetch/keep.h): adopts cfg (its timeouts, trace) and opens
     * the folder again, which shows what arrived meanwhile. NULL when the
     * protocol cannot keep a session (POP3). */
    int (*reuse)(struct mr_mailbox *mb, const struct mr_mailbox_config *cfg,
                 struct mr_mailbox_status *status, mr_error *err);
    /* The after-fetch action on refs (in ascending UID order), in batches
     * of UIDs, on a folder opened read-write: MR_AFTER_SEEN sets \Seen;
     * MR_AFTER_MOVE moves them to folder (UTF-8, either delimiter, found
     * with LIST as the fetch folder is; UID MOVE when offered, else UID COPY
     * and remove's STORE and expunge), and when LIST finds no such folder
     * CREATEs it if create, else fails with MR_ENOTFOUND naming it and moves
     * nothing; MR_AFTER_DELETE is remove. UIDs no longer in the folder are
     * ignored. NULL when the protocol has no such actions (POP3). */
    int (*act)(struct mr_mailbox *mb, enum mr_after_fetch action, const char *folder, int create,
               const struct mr_message_ref *refs, size_t n, mr_error *err);
    /* Push (RFC 2177 IDLE, fetch/push.h); NULL for POP3. idle starts IDLE
     * on a session whose run is done (a round trip: the server's "+"), with
     * *news set when the server has told of mail the run did not list; it
     * fails with MR_ESERVER when the server does not offer IDLE or refuses
     * it. idle_read takes what arrived during IDLE with one read at most
     * (call it when the socket is readable): *news when the server told of
     * new mail or ended the IDLE itself, an error when the session ended
     * (BYE, closed, garbage). reuse and close end the IDLE (DONE). */
    int (*idle)(struct mr_mailbox *mb, int *news, mr_error *err);
    int (*idle_read)(struct mr_mailbox *mb, int *news, mr_error *err);
};

extern const struct mr_mailbox_driver mr_imap_driver;
extern const struct mr_mailbox_driver mr_pop3_driver;
const struct mr_mailbox_driver *mr_mailbox_driver_for(enum mr_protocol p);

#endif
