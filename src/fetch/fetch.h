/* The fetch engine: one account, one run. It opens the account's mailbox
 * through the protocol-blind driver table, fetches what is new, stores each
 * message whole in batched transactions that are committed durably, and
 * only then — when the account does not keep a copy — deletes the stored
 * messages from the server. A run killed at any instant loses nothing and
 * stores nothing twice: a message is identified by IMAP (UIDVALIDITY, UID)
 * or POP3 UIDL, and after a UIDVALIDITY change, without UIDL, or when a
 * POP3 server changed its UIDLs, by its SHA-256 and Message-ID. Every run
 * leaves a row in the fetch history.
 *
 * Test connection runs the same open, records each step, and counts what is
 * waiting, changing nothing. */
#ifndef MR_FETCH_FETCH_H
#define MR_FETCH_FETCH_H

#include "fetch/keep.h"
#include "fetch/push.h"
#include "proto/mailbox.h"
#include "registry/registry.h"

#define MR_RUN_DEADLINE_MS    (30 * 60 * 1000) /* a run ends after 30 minutes, whatever */
#define MR_BATCH_MESSAGES     256
#define MR_BATCH_BYTES        (32u << 20)
#define MR_CHECKPOINTER_BYTES (16u << 20) /* a fetch this big checkpoints in a thread */
#define MR_PIPELINE_BYTES     (3u << 20)  /* received and not yet stored, at most */

struct mr_fetch_options {
    mr_trace_fn trace; /* protocol trace, secrets redacted; NULL = off */
    void *trace_ctx;
    int64_t deadline_ms;        /* 0 = MR_RUN_DEADLINE_MS from now */
    int idle_timeout_ms;        /* 0 = MR_IDLE_TIMEOUT_MS */
    const volatile int *cancel; /* when it becomes non-zero the run stops after its batch */
    struct mr_keep *keep;       /* the daemon's kept sessions (fetch/keep.h); NULL: log out */
    struct mr_push *push;       /* the daemon's push connections (fetch/push.h); NULL: none */
    const char *trigger;        /* for the history: "check" (the scheduler); NULL: asked for */
    /* Test connection: told about each step as it happens */
    void (*on_step)(void *ctx, const struct mr_step *step);
    void (*on_wait)(void *ctx, const char *what); /* what a step waits on (may be NULL) */
    void *step_ctx;
};

struct mr_fetch_result {
    int64_t run_id;
    uint64_t listed;  /* messages on the server */
    uint64_t fetched; /* stored by this run */
    uint64_t bytes;
    uint64_t deleted;        /* removed from the server after being stored */
    uint64_t acted;          /* marked seen or moved on the server (after-fetch action) */
    uint64_t skipped;        /* too big: left on the server and recorded */
    uint64_t duplicates;     /* already stored (matched by digest) */
    char note[512];          /* something the user should know about this run */
    int64_t retry_after;     /* the server asked for no check before then (unix s); 0: no */
    int64_t first_commit_ms; /* when the first message stored was committed (mr_now_ms); 0: none */
    int64_t notice_ms;       /* push: when the server told of the mail (mr_now_ms); 0: not pushed */
};

int mr_fetch_account(struct mr_registry *r, int64_t account_id, const struct mr_fetch_options *o,
                     struct mr_fetch_result *res, mr_error *err);

/* Lowers the calling thread's CPU priority (nice 10; on Linux it is per
 * thread, and the fetch pipeline's threads inherit it): the daemon's
 * background fetches then leave the CPU to the console and API first. */
void mr_fetch_background_priority(void);

/* Whether a run of the account holds its lock right now. */
int mr_fetch_running(struct mr_store *s, int64_t account_id);
/* Runs recorded as running whose process is gone (no lock held) become
 * "interrupted" errors, so history and status tell the truth. */
int mr_fetch_recover(struct mr_store *s, mr_error *err);

struct mr_test_result {
    struct mr_steps steps;
    uint64_t messages, total_size;
    int ok;
    struct mr_folders folders; /* IMAP, once logged in: the server's folders */
};

void mr_test_result_clear(struct mr_test_result *res);

/* Runs the real steps against the server with the account's settings (a
 * stored account, or unsaved values). Returns 0 when every step passed;
 * otherwise err names the failing step's problem. */
int mr_test_account(struct mr_registry *r, const struct mr_account *a,
                    const struct mr_fetch_options *o, struct mr_test_result *res, mr_error *err);

/* A network connector ready to use: its proxy settings with the
 * credential's secret opened from the vault. */
struct mr_loaded_proxy {
    struct mr_connector connector;
    struct mr_credential cred;
    struct mr_secret *secret;
    struct mr_proxy proxy;
};

int mr_proxy_load(struct mr_registry *r, int64_t connector_id, struct mr_loaded_proxy *lp,
                  mr_error *err);
void mr_proxy_unload(struct mr_loaded_proxy *lp);

/* Test connector: connects to the proxy and authenticates; with a host,
 * also opens a tunnel to host:port. Records each step like Test connection. */
int mr_test_connector(struct mr_registry *r, int64_t connector_id, const char *host, int port,
                      const struct mr_fetch_options *o, struct mr_test_result *res, mr_error *err);

#endif
