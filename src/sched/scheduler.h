/* Automatic checks: inside `mailroom serve`, every enabled account with
 * automatic check on is fetched every `interval` seconds. A planner thread
 * looks once a second at what is due (from the fetch history, so the plan
 * survives restarts and sees every change to an account at once) and hands
 * it to a bounded pool of workers. An account never has two runs at once:
 * the queue holds it once, and its fetch lock keeps out "fetch now" and
 * other processes. Failures back off exponentially, up to an hour. */
#ifndef MR_SCHED_SCHEDULER_H
#define MR_SCHED_SCHEDULER_H

#include "fetch/push.h"
#include "store/store.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

#define MR_BACKOFF_MAX_SECS 3600

struct mr_scheduler_config {
    const char *data_dir;
    const char *report_dir; /* the report base (scheduled reports' directories are under it) */
    int workers;            /* default 8 */
    int divisor;      /* tests only: every interval and delay is divided by it (1 = real time) */
    int history_days; /* fetch history kept; older runs pruned hourly (0 = forever) */
    size_t keep_sessions;   /* IMAP sessions kept open between checks, in all (0 = none) */
    size_t keep_per_server; /* ... and on one server */
    int push;               /* IMAP IDLE connections for accounts with push on (fetch/push.h) */
    struct mr_push_config push_cfg;
};

struct mr_sched_stats {
    size_t queued, running;
    size_t kept; /* IMAP sessions kept open between checks */
    uint64_t started, failed;
    int push; /* push on: push_stats holds its figures */
    struct mr_push_stats push_stats;
};

struct mr_scheduler;

int mr_scheduler_start(struct mr_scheduler **out, const struct mr_scheduler_config *c,
                       mr_error *err);
/* No new runs; runs in progress stop after their current batch. */
void mr_scheduler_stop(struct mr_scheduler **s);
void mr_scheduler_stats(struct mr_scheduler *s, struct mr_sched_stats *out);

/* When the account's next check is due (unix seconds): the interval after
 * the last check, doubled for each failure since the last success up to
 * MR_BACKOFF_MAX_SECS, and never before the pause the server asked for. */
int64_t mr_next_check(const struct mr_check_status *c, int divisor);

#endif
