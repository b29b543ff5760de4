#include "sched/scheduler.h"

#include "fetch/fetch.h"
#include "report/deliver.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct mr_scheduler {
    struct mr_scheduler_config cfg;
    char *data_dir;
    char *report_dir;
    struct mr_registry planner_reg;
    pthread_t planner;
    pthread_t reports; /* scheduled reports: apart, so a slow relay delays no check */
    pthread_t *workers;
    int nworkers;
    pthread_mutex_t lock;
    pthread_cond_t work; /* a run was queued, or stopping */
    pthread_cond_t wake; /* the planner's sleep */
    int64_t *queue;      /* accounts waiting, oldest first */
    size_t qhead, qlen, qcap; /* a ring: queue[qhead] is the next, push's wakes go in front */
    /* Queued, running, or finished after the planner's last look at the
     * store: never twice. A finished run stays here, marked with the
     * generation it ended in, until the planner has read the store after
     * that run's result was committed; otherwise a snapshot taken while the
     * run was ending would find the account still due and check it again. */
    struct busy {
        int64_t id;
        uint64_t done; /* 0 while queued or running; else the generation it ended in */
        int again;     /* woken by push while running: queued again when it ends */
    } * busy;
    size_t nbusy, busycap;
    /* busy_ids[id] says id is in busy (account IDs are dense: SQLite's
     * rowids), so the planner's look at every account is not n * n */
    unsigned char *busy_ids;
    size_t busy_ids_cap;
    uint64_t generation; /* counts finished runs */
    size_t running;
    uint64_t started, failed;
    volatile int stopping;
    struct mr_keep *keep; /* sessions kept open between checks; NULL: none */
    struct mr_push *push; /* push connections; NULL: none */
};

/* A fixed per-account spread, so accounts added together do not fire
 * together. */
static int64_t jitter(int64_t id, int64_t span)
{
    uint64_t h = (uint64_t)id * 2654435761u;
    return span > 1 ? (int64_t)(h % (uint64_t)span) : 0;
}

int64_t mr_next_check(const struct mr_check_status *c, int divisor)
{
    int64_t interval = c->interval / (divisor > 0 ? divisor : 1);
    if (interval < 1)
        interval = 1;
    if (!c->last_started) /* never checked: soon, spread over up to a minute */
        return c->created_at + jitter(c->account_id, interval < 60 ? interval : 60);
    int64_t delay = interval;
    int64_t cap = MR_BACKOFF_MAX_SECS / (divisor > 0 ? divisor : 1);
    for (int i = 0; i < c->failures && delay < cap; i++)
        delay *= 2;
    if (cap < interval)
        cap = interval;
    if (delay > cap)
        delay = cap;
    int64_t base = c->last_ended ? c->last_ended : c->last_started;
    int64_t next = base + delay + jitter(c->account_id, delay / 10 < 30 ? delay / 10 : 30);
    return c->retry_after > next ? c->retry_after : next; /* the server asked for a pause */
}

static int is_busy(const struct mr_scheduler *s, int64_t id)
{
    return id >= 0 && (size_t)id < s->busy_ids_cap && s->busy_ids[id];
}

static void mark_busy(struct mr_scheduler *s, int64_t id, int busy)
{
    if (id < 0)
        return;
    if ((size_t)id >= s->busy_ids_cap) {
        size_t cap = s->busy_ids_cap ? s->busy_ids_cap : 1024;
        while (cap <= (size_t)id)
            cap *= 2;
        s->busy_ids = mr_xrealloc(s->busy_ids, cap);
        memset(s->busy_ids + s->busy_ids_cap, 0, cap - s->busy_ids_cap);
        s->busy_ids_cap = cap;
    }
    s->busy_ids[id] = (unsigned char)busy;
}

/* Removes busy entry i (under the lock). */
static void unbusy_at(struct mr_scheduler *s, size_t i)
{
    mark_busy(s, s->busy[i].id, 0);
    s->busy[i] = s->busy[--s->nbusy];
}

static void queue_at(struct mr_scheduler *s, int64_t id, int first)
{
    if (s->qlen == s->qcap) { /* grown, and unwrapped */
        size_t cap = s->qcap ? s->qcap * 2 : 64;
        int64_t *q = mr_xcalloc(cap, sizeof(*q));
        for (size_t i = 0; i < s->qlen; i++)
            q[i] = s->queue[(s->qhead + i) % s->qcap];
        free(s->queue);
        s->queue = q;
        s->qcap = cap;
        s->qhead = 0;
    }
    if (first) {
        s->qhead = (s->qhead + s->qcap - 1) % s->qcap;
        s->queue[s->qhead] = id;
    } else
        s->queue[(s->qhead + s->qlen) % s->qcap] = id;
    s->qlen++;
}

static void enqueue_at(struct mr_scheduler *s, int64_t id, int first)
{
    if (s->nbusy == s->busycap) {
        s->busycap = s->busycap ? s->busycap * 2 : 64;
        s->busy = mr_xrealloc(s->busy, s->busycap * sizeof(*s->busy));
    }
    queue_at(s, id, first);
    s->busy[s->nbusy++] = (struct busy){id, 0, 0};
    mark_busy(s, id, 1);
}

static void enqueue(struct mr_scheduler *s, int64_t id)
{
    enqueue_at(s, id, 0);
}

static void release(struct mr_scheduler *s, int64_t id)
{
    for (size_t i = 0; i < s->nbusy; i++) {
        if (s->busy[i].id == id && !s->busy[i].done) {
            if (s->busy[i].again) { /* push woke it meanwhile: at once, first */
                s->busy[i].again = 0;
                queue_at(s, id, 1);
                pthread_cond_signal(&s->work);
            } else
                s->busy[i].done = ++s->generation;
            return;
        }
    }
}

/* Push: the server told of mail (or a connection's timer is up, or it must
 * be remade): the account goes first in the queue. */
static void push_wake(void *ctx, int64_t id)
{
    struct mr_scheduler *s = ctx;
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    size_t i = 0;
    while (i < s->nbusy && s->busy[i].id != id)
        i++;
    if (i < s->nbusy && !s->busy[i].done) {
        int queued = 0;
        for (size_t q = 0; q < s->qlen && !queued; q++)
            queued = s->queue[(s->qhead + q) % s->qcap] == id;
        if (!queued) /* running: again when it ends */
            s->busy[i].again = 1;
    } else {
        if (i < s->nbusy) /* ended, not yet seen by the planner: that is no reason to wait */
            unbusy_at(s, i);
        enqueue_at(s, id, 1);
        pthread_cond_signal(&s->work);
    }
    pthread_mutex_unlock(&s->lock);
}

/* The accounts that want push, handed to the push module (its edits,
 * removals and new accounts), and the modes that changed written down. */
static void plan_push(struct mr_scheduler *s)
{
    struct mr_push_want *want = NULL;
    size_t n = 0;
    mr_error err = {0};
    if (mr_store_push_wanted(s->planner_reg.store, &want, &n, &err) != 0) {
        MR_LOG(MR_LOG_ERROR, "push", MR_LS("error", err.message));
        return;
    }
    mr_push_sync(s->push, want, n);
    free(want);
}

/* One look at what is due. */
static void plan(struct mr_scheduler *s)
{
    struct mr_check_status *items = NULL;
    size_t n = 0;
    mr_error err = {0};
    if (s->push)
        plan_push(s);
    pthread_mutex_lock(&s->lock);
    uint64_t seen = s->generation; /* runs ended by now are in the snapshot below */
    pthread_mutex_unlock(&s->lock);
    if (mr_store_due_candidates(s->planner_reg.store, &items, &n, &err) != 0) {
        MR_LOG(MR_LOG_ERROR, "scheduler", MR_LS("error", err.message));
        return;
    }
    int64_t now = (int64_t)time(NULL), now_ms = mr_now_ms();
    enum mr_push_plan *pushed = NULL;
    if (s->push) { /* asked outside the scheduler's lock: the push module's own comes first */
        pushed = mr_xcalloc(n ? n : 1, sizeof(*pushed));
        for (size_t i = 0; i < n; i++)
            pushed[i] = mr_push_plan(s->push, items[i].account_id, now_ms);
    }
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nbusy;) {
        if (s->busy[i].done && s->busy[i].done <= seen)
            unbusy_at(s, i);
        else
            i++;
    }
    for (size_t i = 0; i < n; i++) {
        enum mr_push_plan pp = pushed ? pushed[i] : MR_PUSH_PLAN_POLL;
        if (pp == MR_PUSH_PLAN_SKIP || is_busy(s, items[i].account_id))
            continue;
        if (pp == MR_PUSH_PLAN_NOW || mr_next_check(&items[i], s->cfg.divisor) <= now)
            enqueue(s, items[i].account_id);
    }
    if (s->qlen)
        pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->lock);
    free(pushed);
    free(items);
    if (s->push && mr_push_flush(s->push, s->planner_reg.store, &err) != 0)
        MR_LOG(MR_LOG_ERROR, "push", MR_LS("error", err.message));
}

/* Keeps the fetch history to --history-days (each account's last run stays). */
static void prune(struct mr_scheduler *s)
{
    int64_t deleted = 0;
    mr_error err = {0};
    int64_t before = (int64_t)time(NULL) - (int64_t)s->cfg.history_days * 86400;
    if (mr_store_prune_history(s->planner_reg.store, before, &deleted, &err) != 0)
        MR_LOG(MR_LOG_ERROR, "history", MR_LS("error", err.message));
    else if (deleted > 0)
        MR_LOG(MR_LOG_INFO, "history", MR_LI("pruned", deleted),
               MR_LI("older_than_days", s->cfg.history_days));
}

/* Every hour: a warning for each OAuth 2.0 sign-in that needs a person
 * (consent needed) or lapses within two weeks unless renewed. */
static void oauth_warnings(struct mr_scheduler *s)
{
    struct mr_credential *items = NULL;
    size_t n = 0;
    mr_error err = {0};
    if (mr_store_credential_list(s->planner_reg.store, &items, &n, &err) != 0)
        return;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        const struct mr_credential *c = &items[i];
        const char *why;
        int64_t lapses = mr_oauth_lapses_at(c, &why);
        if (c->kind != MR_CREDENTIAL_OAUTH2)
            continue;
        if (c->token_state && strcmp(c->token_state, MR_TOKEN_CONSENT_NEEDED) == 0)
            MR_LOG(MR_LOG_WARN, "oauth", MR_LI("credential", c->id), MR_LS("name", c->name),
                   MR_LS("state", c->token_state),
                   MR_LS("fix", "sign in again: mailroom credential sign-in, or the console"));
        else if (lapses && lapses - now < 14 * 86400) {
            char at[32];
            time_t t = (time_t)lapses;
            struct tm tm;
            strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
            MR_LOG(MR_LOG_WARN, "oauth", MR_LI("credential", c->id), MR_LS("name", c->name),
                   MR_LS("lapses_at", at), MR_LS("why", why),
                   MR_LS("fix", "sign in again before then"));
        }
    }
    mr_credential_list_free(&items, n);
}

/* A second's sleep that stopping cuts short. */
static void pause_a_second(struct mr_scheduler *s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_mutex_lock(&s->lock);
    if (!s->stopping)
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
    pthread_mutex_unlock(&s->lock);
}

static void *planner(void *arg)
{
    struct mr_scheduler *s = arg;
    time_t pruned = 0, warned = 0;
    while (!s->stopping) {
        if (s->cfg.history_days > 0 && time(NULL) - pruned >= 3600) {
            prune(s);
            pruned = time(NULL);
        }
        if (time(NULL) - warned >= 3600) {
            oauth_warnings(s);
            warned = time(NULL);
        }
        plan(s);
        if (s->keep)
            mr_keep_expire(s->keep); /* sessions not taken back in time */
        pause_a_second(s);
    }
    return NULL;
}

/* Due report schedules, one at a time; each records its own result. */
static void *reports(void *arg)
{
    struct mr_scheduler *s = arg;
    struct mr_registry reg;
    mr_error err = {0};
    if (mr_registry_open(&reg, s->data_dir, &err) != 0) {
        MR_LOG(MR_LOG_ERROR, "report", MR_LS("error", err.message));
        return NULL;
    }
    mr_registry_set_actor(&reg, "scheduler");
    while (!s->stopping) {
        int64_t *ids = NULL;
        size_t n = 0;
        if (mr_store_schedules_due(reg.store, (int64_t)time(NULL), &ids, &n, &err) == 0)
            for (size_t i = 0; i < n && !s->stopping; i++) {
                mr_error e = {0};
                int64_t now = (int64_t)time(NULL);
                int taken = 0;
                /* one runner per due run, even with two daemons on one data
                 * directory; the lease is replaced by the run's result */
                if (mr_store_schedule_claim(reg.store, ids[i], now, now + 3600, &taken, &e) != 0)
                    MR_LOG(MR_LOG_ERROR, "report", MR_LI("schedule", ids[i]),
                           MR_LS("error", e.message));
                if (!taken)
                    continue;
                int rc = mr_report_run_schedule(&reg, s->report_dir, ids[i], &e);
                if (rc)
                    MR_LOG(MR_LOG_WARN, "report", MR_LI("schedule", ids[i]),
                           MR_LS("result", "error"), MR_LS("error", e.message));
                else
                    MR_LOG(MR_LOG_INFO, "report", MR_LI("schedule", ids[i]), MR_LS("result", "ok"));
            }
        free(ids);
        pause_a_second(s);
    }
    mr_registry_close(&reg);
    return NULL;
}

static void log_run(int64_t id, int rc, const struct mr_fetch_result *res, const mr_error *err)
{
    if (rc == 0)
        MR_LOG(MR_LOG_INFO, "check", MR_LI("account", id), MR_LS("result", "ok"),
               MR_LI("fetched", res->fetched), MR_LI("bytes", res->bytes),
               MR_LI("deleted", res->deleted), MR_LI("skipped", res->skipped));
    else
        MR_LOG(MR_LOG_WARN, "check", MR_LI("account", id), MR_LS("result", "error"),
               MR_LS("error", err->message));
}

static void *worker(void *arg)
{
    struct mr_scheduler *s = arg;
    struct mr_registry reg;
    mr_error err = {0};
    mr_fetch_background_priority();
    if (mr_registry_open(&reg, s->data_dir, &err) != 0) {
        MR_LOG(MR_LOG_ERROR, "scheduler", MR_LS("error", err.message));
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->stopping && s->qlen == 0)
            pthread_cond_wait(&s->work, &s->lock);
        if (s->stopping) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        int64_t id = s->queue[s->qhead];
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
        s->running++;
        s->started++;
        pthread_mutex_unlock(&s->lock);

        struct mr_fetch_result res;
        struct mr_fetch_options o = {
            .cancel = &s->stopping, .keep = s->keep, .push = s->push, .trigger = "check"};
        if (mr_log_enabled(MR_LOG_DEBUG)) {
            o.trace = mr_log_trace;
            o.trace_ctx = (void *)(intptr_t)id;
        }
        mr_error e = {0};
        int rc = mr_fetch_account(&reg, id, &o, &res, &e);
        if (rc != MR_EINUSE) /* busy means someone else is fetching it: fine */
            log_run(id, rc, &res, &e);

        pthread_mutex_lock(&s->lock);
        s->running--;
        s->failed += rc != 0 && rc != MR_EINUSE;
        release(s, id);
        pthread_mutex_unlock(&s->lock);
    }
    mr_registry_close(&reg);
    return NULL;
}

int mr_scheduler_start(struct mr_scheduler **out, const struct mr_scheduler_config *c,
                       mr_error *err)
{
    struct mr_scheduler *s = mr_xcalloc(1, sizeof(*s));
    *out = NULL;
    s->cfg = *c;
    s->data_dir = mr_xstrdup(c->data_dir);
    s->cfg.data_dir = s->data_dir;
    s->report_dir = mr_report_base(c->report_dir, c->data_dir);
    s->cfg.report_dir = s->report_dir;
    s->cfg.divisor = c->divisor > 0 ? c->divisor : 1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->wake, NULL);
    int rc = mr_registry_open(&s->planner_reg, s->data_dir, err);
    if (rc == 0)
        rc = mr_fetch_recover(s->planner_reg.store, err);
    if (rc) {
        mr_registry_close(&s->planner_reg);
        free(s->data_dir);
        free(s->report_dir);
        free(s);
        return rc;
    }
    if (c->keep_sessions)
        s->keep = mr_keep_new(c->keep_sessions, c->keep_per_server ? c->keep_per_server : 1,
                              s->cfg.divisor);
    if (c->push) { /* what an earlier daemon's connections did is over */
        rc = mr_store_push_status_clear(s->planner_reg.store, err);
        if (rc == 0)
            rc = mr_push_new(&s->push, &c->push_cfg, push_wake, s, err);
        if (rc) {
            mr_keep_free(&s->keep);
            mr_registry_close(&s->planner_reg);
            free(s->data_dir);
            free(s->report_dir);
            free(s);
            return rc;
        }
    }
    s->nworkers = c->workers > 0 ? c->workers : 8;
    s->workers = mr_xcalloc((size_t)s->nworkers, sizeof(*s->workers));
    for (int i = 0; i < s->nworkers; i++)
        pthread_create(&s->workers[i], NULL, worker, s);
    pthread_create(&s->planner, NULL, planner, s);
    pthread_create(&s->reports, NULL, reports, s);
    *out = s;
    return 0;
}

/* A stopped daemon pushes nothing: its modes go. */
static int push_clear(struct mr_scheduler *s)
{
    mr_error err = {0};
    return s->cfg.push ? mr_store_push_status_clear(s->planner_reg.store, &err) : 0;
}

void mr_scheduler_stop(struct mr_scheduler **sp)
{
    struct mr_scheduler *s = *sp;
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_broadcast(&s->work);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->planner, NULL);
    pthread_join(s->reports, NULL);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    mr_push_free(&s->push); /* every push connection logged out */
    if (push_clear(s))
        MR_LOG(MR_LOG_WARN, "push", MR_LS("error", "the push connections' modes stay recorded"));
    mr_registry_close(&s->planner_reg);
    mr_keep_free(&s->keep); /* every kept session logged out */
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->wake);
    free(s->workers);
    free(s->queue);
    free(s->busy);
    free(s->busy_ids);
    free(s->data_dir);
    free(s->report_dir);
    free(s);
    *sp = NULL;
}

void mr_scheduler_stats(struct mr_scheduler *s, struct mr_sched_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    out->queued = s->qlen;
    out->running = s->running;
    out->started = s->started;
    out->failed = s->failed;
    pthread_mutex_unlock(&s->lock);
    out->kept = s->keep ? mr_keep_count(s->keep) : 0;
    out->push = s->push != NULL;
    if (s->push)
        mr_push_stats(s->push, &out->push_stats);
}
