/* Push: IMAP IDLE (RFC 2177) connections, so new mail is fetched the moment
 * the server tells of it, not at the next check.
 *
 * After a successful check of an account that wants push (enabled,
 * automatic check on, push on, IMAP) the engine does not log out: it starts
 * IDLE on the session (mr_push_put) and hands it here. One watcher thread
 * waits on every such connection at once (epoll; a connection costs its
 * socket, its TLS state and a few kilobytes, no thread). When the server
 * tells of new mail (EXISTS above the count, RECENT), ends the IDLE, or a
 * timer is up, the watcher takes the connection out of its set and wakes
 * the account (the scheduler queues it first); the check that runs takes
 * the session back (mr_push_take: DONE, the folder opened again), fetches
 * through the same engine and rules as every check, and hands it back in
 * IDLE. Nothing is fetched by the watcher itself: push only decides when a
 * check runs, so the no-loss rules are the engine's.
 *
 * Timers, each bounding how long a connection can be wrong unnoticed:
 * - refresh: every refresh_s (default 15 minutes, well inside the 29 of
 *   RFC 2177) the IDLE is ended and the account checked: the re-issued
 *   IDLE, and the safety-net check that finds mail whose notice was lost;
 * - silence: nothing heard from the server for silence_s (default 3
 *   minutes; Dovecot says "Still here" every 2) and the account is checked:
 *   DONE must be answered within 10 s or the session is dropped and a new
 *   one logged in. TCP keepalive (probes after 60 s, 4 of them 15 s apart)
 *   notices a peer whose host is gone;
 * - max_age_s (default an hour): a connection older than that logs in
 *   afresh at its next check, so a password revoked on the server stops
 *   working within the hour.
 *
 * A connection the server closes (BYE, a reset, garbage) is remade at once;
 * one that lived less than a minute is remade after 1, 2, 4 ... 300 s, and
 * so is one whose server cannot be reached (restarting); any other failed
 * check (a refused password) backs off as a poll's does. An
 * account whose server does not offer IDLE, refuses it, or is past the
 * caps (max_total connections in all, max_per_server to one host and port)
 * polls at its interval and shows why; each successful poll tries push
 * again. An edit to the account, its credential or its connector (the
 * store's revision) ends its connection and checks it with the new
 * settings at once. */
#ifndef MR_FETCH_PUSH_H
#define MR_FETCH_PUSH_H

#include "proto/mailbox.h"
#include "store/store.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

#define MR_PUSH_DEFAULT_TOTAL   10000
#define MR_PUSH_DEFAULT_PER_SRV 2000
#define MR_PUSH_DEFAULT_REFRESH 900
#define MR_PUSH_DEFAULT_SILENCE 180
#define MR_PUSH_DEFAULT_MAX_AGE 3600
#define MR_PUSH_REFRESH_MAX                                                                        \
    (29 * 60 - 60) /* RFC 2177: a server may drop an idle client after 29                          \
                    */

struct mr_push_config {
    size_t max_total;      /* push connections in all */
    size_t max_per_server; /* ... to one server (host:port) */
    int refresh_s, silence_s, max_age_s;
};

/* Called (from the watcher or the planner, never under a lock of this
 * module) when an account should be checked now. */
typedef void (*mr_push_wake_fn)(void *ctx, int64_t account);

struct mr_push;

int mr_push_new(struct mr_push **out, const struct mr_push_config *c, mr_push_wake_fn wake,
                void *ctx, mr_error *err);
/* Stops the watcher and logs every connection out (5 s in all at most). */
void mr_push_free(struct mr_push **p);

/* The planner, once a second, with every account that wants push (sorted
 * by ID): connections of accounts no longer in it are logged out, those
 * whose revision changed are checked again at once, and accounts new to
 * the list are checked at once (a daemon's start brings every connection
 * up). */
void mr_push_sync(struct mr_push *p, const struct mr_push_want *want, size_t n);

enum mr_push_plan {
    MR_PUSH_PLAN_POLL, /* not pushed: the account's interval decides */
    MR_PUSH_PLAN_SKIP, /* pushed, or being remade later: no check now */
    MR_PUSH_PLAN_NOW,  /* check now (a woken connection, or one to be made) */
};
enum mr_push_plan mr_push_plan(struct mr_push *p, int64_t account, int64_t now_ms);

/* The engine, opening a session: the account's pushed session when the
 * watcher woke it and it was opened with the same settings (fp: keep.h's
 * fingerprint) and is younger than max_age_s; else NULL (a session of
 * other settings is logged out). *notice_ms: when the server told of mail
 * (0: a timer or an edit woke it). */
struct mr_mailbox *mr_push_take(struct mr_push *p, int64_t account, const unsigned char fp[32],
                                int64_t *notice_ms);

/* The engine, after a successful run of an account that wants push: IDLE
 * on the session and keep it. 1 when kept (this module owns mb now); 0
 * when not (no IDLE, refused, past a cap, or the account does not want
 * push), the reason recorded as the account's mode, the caller closing mb. */
int mr_push_put(struct mr_push *p, int64_t account, int64_t revision, const unsigned char fp[32],
                struct mr_mailbox *mb);

/* The engine, after every run of the account with push options: its
 * result (a failure makes a pushed account "failing" until a success),
 * and for a woken run the time from the notice to the first commit. */
void mr_push_ran(struct mr_push *p, int64_t account, int rc, const mr_error *err,
                 int64_t latency_ms);

/* Writes the modes that changed into the store's push_status (the
 * planner's connection, once a second). */
int mr_push_flush(struct mr_push *p, struct mr_store *s, mr_error *err);

/* For /metrics. Latency buckets: <= 0.1, 0.25, 0.5, 1, 2, 5, 10 s, +Inf. */
#define MR_PUSH_LATENCY_BUCKETS 8
struct mr_push_stats {
    size_t live, connecting, polling, failing; /* accounts by mode */
    uint64_t notices, drops;
    uint64_t latency_buckets[MR_PUSH_LATENCY_BUCKETS];
    double latency_sum;
    uint64_t latency_count;
};
void mr_push_stats(struct mr_push *p, struct mr_push_stats *out);

#endif
