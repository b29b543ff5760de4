#include "deliver/outbox.h"

#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/said.h"
#include "vault/vault.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* How many deliveries a worker takes at once: as many as fit in two minutes
 * of the target's timeout, so a crash leaves none leased for longer. */
#define BATCH_MAX      32
#define LEASE_BUDGET_S 120
/* How often idle workers look for deliveries queued by another process. */
#define POLL_MS 1000

void mr_outbox_kick(void)
{
    mr_store_outbox_kick();
}

struct mr_outbox {
    struct mr_outbox_config cfg;
    char *data_dir, *public_url;
    pthread_t *threads;
    int nthreads;
    int stopping;
    /* targets being delivered to by this process's workers (ordered ones
     * are given to one worker at a time) */
    pthread_mutex_t lock;
    int64_t *busy;
};

int64_t mr_outbox_backoff_ms(int attempts, int divisor)
{
    int64_t ms = MR_OUTBOX_RETRY_FIRST_MS;
    for (int i = 1; i < attempts && ms < MR_OUTBOX_RETRY_CAP_MS; i++)
        ms *= 2;
    if (ms > MR_OUTBOX_RETRY_CAP_MS)
        ms = MR_OUTBOX_RETRY_CAP_MS;
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint32_t)mr_now_ms();
    ms = ms * 4 / 5 + (int64_t)(r % (uint32_t)(ms * 2 / 5 + 1)); /* 80% to 120% */
    return ms / (divisor > 0 ? divisor : 1);
}

/* "gave up after N attempts in" the span ms, before err: a sentence per
 * unit, the numbers its arguments, so each is said whole. */
static void gave_up(mr_error *err, int attempts, int64_t ms)
{
    long long s = ms / 1000;
    if (s >= 86400)
        mr_error_prefix(err, "gave up after %d attempts in %lld d %lld h", attempts, s / 86400,
                        s % 86400 / 3600);
    else if (s >= 3600)
        mr_error_prefix(err, "gave up after %d attempts in %lld h %lld min", attempts, s / 3600,
                        s % 3600 / 60);
    else
        mr_error_prefix(err,
                        s >= 60 ? "gave up after %d attempts in %lld min"
                                : "gave up after %d attempts in %lld s",
                        attempts, s >= 60 ? s / 60 : s);
}

/* What one delivery needs besides the target: loaded per delivery. */
struct loaded {
    struct mr_delivery d;
    struct mr_message m;
    struct mr_attachment *att;
    size_t natt;
    struct mr_buf raw;
    char raw_url[512];
};

static void loaded_clear(struct loaded *l)
{
    mr_delivery_clear(&l->d);
    mr_message_clear(&l->m);
    mr_attachments_free(&l->att, l->natt);
    mr_buf_free(&l->raw);
    memset(l, 0, sizeof(*l));
}

/* base (https://host:port, maybe with a path and a slash at the end) and
 * the message's raw route. */
static void raw_link(const char *base, int64_t message_id, char *out, size_t size)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    snprintf(out, size, "%.*s/api/v1/messages/%lld/raw", (int)n, base, (long long)message_id);
}

static int load(struct mr_store *s, int64_t id, const char *public_url, struct loaded *l,
                mr_error *err)
{
    memset(l, 0, sizeof(*l));
    mr_buf_init(&l->raw, (size_t)1 << 31);
    int rc = mr_store_delivery_get(s, id, &l->d, err);
    if (rc == 0)
        rc = mr_store_message_get(s, l->d.message_id, &l->m, err);
    if (rc == 0)
        rc = mr_store_message_attachments(s, l->d.message_id, &l->att, &l->natt, err);
    if (rc == 0)
        rc = mr_store_message_raw(s, l->d.message_id, &l->raw, err);
    if (rc == 0 && public_url && public_url[0])
        raw_link(public_url, l->d.message_id, l->raw_url, sizeof(l->raw_url));
    return rc;
}

/* The target, its account's name and user, and the signing secret. */
struct target_ctx {
    struct mr_target t;
    struct mr_account a;
    char *user;
    struct mr_secret *secret;
};

static void target_ctx_clear(struct target_ctx *c)
{
    mr_target_clear(&c->t);
    mr_account_clear(&c->a);
    free(c->user);
    mr_secret_free(&c->secret);
    memset(c, 0, sizeof(*c));
}

static int load_target(struct mr_registry *r, int64_t id, struct target_ctx *c, mr_error *err)
{
    memset(c, 0, sizeof(*c));
    mr_target_init(&c->t);
    mr_account_init(&c->a);
    int rc = mr_store_target_get(r->store, id, &c->t, err);
    if (rc == 0)
        rc = mr_store_account_get(r->store, c->t.account_id, &c->a, err);
    if (rc == 0 && c->a.credential_id) {
        struct mr_credential cred;
        if (mr_store_credential_get(r->store, c->a.credential_id, &cred, NULL) == 0) {
            c->user = mr_xstrdup_or_null(cred.username);
            mr_credential_clear(&cred);
        }
    }
    if (rc == 0 && c->t.kind == MR_TARGET_WEBHOOK && c->t.secret_credential_id)
        rc = mr_registry_credential_secret(r, c->t.secret_credential_id, &c->secret, err);
    return rc;
}

static void item_of(const struct target_ctx *c, const struct loaded *l, struct mr_delivery_item *it)
{
    memset(it, 0, sizeof(*it));
    it->delivery_id = l->d.id;
    it->event_id = l->d.event_id;
    it->attempt = l->d.attempts + 1;
    it->account_id = c->a.id;
    it->account_name = c->a.name;
    it->account_user = c->user;
    it->msg = &l->m;
    it->att = l->att;
    it->natt = l->natt;
    it->raw = (const unsigned char *)l->raw.data;
    it->raw_len = l->raw.len;
    it->raw_url = l->raw_url[0] ? l->raw_url : NULL;
    it->progress = l->d.progress;
}

/* Records one attempt; returns the state it left the delivery in. */
static const char *record(struct mr_store *s, const struct target_ctx *c, const struct loaded *l,
                          const struct mr_delivery_result *res, int divisor, mr_error *err)
{
    int64_t now = mr_now_wall_ms();
    const char *state = "delivered";
    int64_t next = now;
    mr_error said; /* the error, and how it was said, for the console's languages */
    mr_error_from_said(&said, MR_ENET, res->error, &res->said);
    if (res->outcome == MR_DELIVERY_FAIL)
        state = "failed";
    else if (res->outcome == MR_DELIVERY_RETRY) {
        int attempts = l->d.attempts + 1;
        next = now + mr_outbox_backoff_ms(attempts, divisor);
        int64_t window = (int64_t)mr_target_retry_for(&c->t) * 1000 / (divisor > 0 ? divisor : 1);
        if (next > l->d.window_ms + window) {
            gave_up(&said, attempts, now - l->d.window_ms);
            state = "failed";
        } else
            state = "pending";
    }
    mr_error ignored = {0};
    int relaxed = mr_store_outbox_relaxed(s, 1, &ignored) == 0;
    char *said_text = said.message[0] ? mr_error_said_text(&said) : NULL;
    int rc = mr_store_begin(s, err);
    if (rc == 0)
        rc = mr_store_delivery_result(s, l->d.id, state, now, next, said.message, said_text,
                                      res->response, res->progress, err);
    free(said_text);
    if (rc == 0)
        rc = mr_store_commit(s, err);
    else
        mr_store_rollback(s);
    if (relaxed && mr_store_outbox_relaxed(s, 0, err) != 0 && rc == 0)
        rc = MR_ESTORE;
    return rc ? NULL : state;
}

static void log_attempt(const struct target_ctx *c, const struct loaded *l, const char *state,
                        const struct mr_delivery_result *res)
{
    enum mr_log_level level = strcmp(state, "delivered") == 0 ? MR_LOG_INFO : MR_LOG_WARN;
    MR_LOG(level, "delivery", MR_LI("account", c->a.id), MR_LI("target", c->t.id),
           MR_LS("kind", mr_target_kind_name(c->t.kind)), MR_LI("message", l->d.message_id),
           MR_LS("event", l->d.event_id), MR_LS("result", state),
           MR_LI("attempt", l->d.attempts + 1), MR_LI("ms", res->ms),
           MR_LS("error", res->error[0] ? res->error : NULL));
}

/* What could not even be tried (the target's signing secret does not open,
 * the message does not load) is a failed attempt like any other: recorded
 * with its backoff, so a broken vault never makes the workers spin. */
static const char *defer(struct mr_store *s, const struct target_ctx *c, int64_t id,
                         const mr_error *why, const struct mr_outbox_config *cfg,
                         struct mr_outbox_counts *counts, mr_error *err)
{
    struct loaded l;
    memset(&l, 0, sizeof(l));
    mr_buf_init(&l.raw, 1);
    const char *state = NULL;
    if (mr_store_delivery_get(s, id, &l.d, err) == 0) {
        struct mr_delivery_result res;
        memset(&res, 0, sizeof(res));
        res.outcome = MR_DELIVERY_RETRY;
        snprintf(res.error, sizeof(res.error), "mailroom could not prepare the delivery: %.400s",
                 why->message);
        state = record(s, c, &l, &res, cfg->divisor, err);
        if (cfg->log)
            MR_LOG(MR_LOG_WARN, "delivery", MR_LI("target", l.d.target_id),
                   MR_LI("message", l.d.message_id), MR_LS("result", state ? state : "error"),
                   MR_LS("error", res.error));
        if (state && counts) {
            counts->retried += strcmp(state, "pending") == 0;
            counts->failed += strcmp(state, "failed") == 0;
        }
    }
    loaded_clear(&l);
    return state;
}

/* Delivers the claimed ids of one target in order. An ordered target stops
 * at the first delivery to be retried (the rest go back untried: they may
 * not overtake it). */
static int deliver_claimed(struct mr_registry *r, int64_t target, const int64_t *ids, size_t n,
                           const struct mr_outbox_config *cfg, struct mr_outbox_counts *counts,
                           mr_error *err)
{
    struct target_ctx c;
    int rc = load_target(r, target, &c, err);
    size_t done = 0;
    if (rc && rc != MR_ENOTFOUND) {
        mr_error why = *err;
        for (; done < n; done++)
            if (!defer(r->store, &c, ids[done], &why, cfg, counts, err)) {
                rc = MR_ESTORE;
                break;
            }
        if (done == n)
            rc = 0;
    }
    for (; rc == 0 && done < n; done++) {
        struct loaded l;
        struct mr_delivery_item it;
        struct mr_delivery_result res;
        rc = load(r->store, ids[done], cfg->public_url, &l, err);
        if (rc == MR_ENOTFOUND) { /* removed meanwhile with its message or target */
            loaded_clear(&l);
            rc = 0;
            continue;
        }
        if (rc) {
            loaded_clear(&l);
            mr_error why = *err;
            rc = defer(r->store, &c, ids[done], &why, cfg, counts, err) ? 0 : MR_ESTORE;
            if (rc == 0 && !c.t.parallel) {
                done++;
                break;
            }
            continue;
        }
        item_of(&c, &l, &it);
        memset(&res, 0, sizeof(res));
        mr_deliver(&c.t, c.secret ? c.secret->data : NULL, &it, &res);
        const char *state = record(r->store, &c, &l, &res, cfg->divisor, err);
        if (!state)
            rc = MR_ESTORE;
        else {
            if (cfg->log)
                log_attempt(&c, &l, state, &res);
            if (counts) {
                counts->delivered += strcmp(state, "delivered") == 0;
                counts->retried += strcmp(state, "pending") == 0;
                counts->failed += strcmp(state, "failed") == 0;
            }
        }
        loaded_clear(&l);
        if (state && strcmp(state, "pending") == 0 && !c.t.parallel) {
            done++;
            break;
        }
    }
    if (done < n) {
        mr_error ignored = {0};
        if (mr_store_begin(r->store, &ignored) == 0) {
            if (mr_store_delivery_release(r->store, ids + done, n - done, &ignored) == 0)
                mr_store_commit(r->store, &ignored);
            else
                mr_store_rollback(r->store);
        }
    }
    if (rc && c.t.id == 0 && rc == MR_ENOTFOUND)
        rc = 0; /* the target went away after the claim */
    target_ctx_clear(&c);
    return rc;
}

/* Claims the next batch: *n 0 when nothing is due. */
static int claim(struct mr_store *s, const int64_t *skip, size_t nskip, int64_t *target,
                 int64_t *ids, size_t *n, mr_error *err)
{
    int64_t now = mr_now_wall_ms();
    mr_error ignored = {0};
    int relaxed = mr_store_outbox_relaxed(s, 1, &ignored) == 0;
    int rc = mr_store_begin(s, err);
    if (rc) {
        if (relaxed)
            mr_store_outbox_relaxed(s, 0, &ignored);
        return rc;
    }
    /* the lease covers the batch at the longest timeout a target may have
     * for BATCH_MAX; the batch is cut below to what the target's allows */
    rc = mr_store_outbox_claim(s, now, now + (int64_t)(LEASE_BUDGET_S + 60) * 1000, skip, nskip,
                               BATCH_MAX, target, ids, n, err);
    if (rc == 0 && *n) {
        struct mr_target t;
        mr_target_init(&t);
        if (mr_store_target_get(s, *target, &t, err) == 0) {
            size_t fit = (size_t)(LEASE_BUDGET_S / mr_target_timeout(&t));
            fit = fit ? fit : 1;
            if (*n > fit) {
                rc = mr_store_delivery_release(s, ids + fit, *n - fit, err);
                *n = fit;
            }
        }
        mr_target_clear(&t);
    }
    if (rc == 0)
        rc = mr_store_commit(s, err);
    else {
        mr_store_rollback(s);
        *n = 0;
    }
    if (relaxed && mr_store_outbox_relaxed(s, 0, &ignored) != 0 && rc == 0)
        rc = mr_error_set(err, MR_ESTORE, NULL, "restoring durable commits: %s", ignored.message);
    return rc;
}

int mr_outbox_run(struct mr_registry *r, const struct mr_outbox_config *c,
                  struct mr_outbox_counts *counts, mr_error *err)
{
    int64_t ids[BATCH_MAX], target;
    size_t n;
    memset(counts, 0, sizeof(*counts));
    int64_t *tried = NULL; /* a target retried in this run is not tried again in it */
    size_t ntried = 0, freed;
    int rc = mr_store_outbox_recover(r->store, &freed, err);
    while (rc == 0 && (rc = claim(r->store, tried, ntried, &target, ids, &n, err)) == 0 && n) {
        size_t retried = counts->retried;
        rc = deliver_claimed(r, target, ids, n, c, counts, err);
        if (rc)
            break;
        if (counts->retried > retried) {
            tried = mr_xrealloc(tried, (ntried + 1) * sizeof(*tried));
            tried[ntried++] = target;
        }
    }
    free(tried);
    return rc;
}

/* --- the daemon's workers ----------------------------------------------------- */

static int take_busy(struct mr_outbox *o, int slot, int64_t **skip, size_t *n)
{
    pthread_mutex_lock(&o->lock);
    *skip = mr_xmalloc((size_t)o->nthreads * sizeof(**skip));
    *n = 0;
    for (int i = 0; i < o->nthreads; i++)
        if (i != slot && o->busy[i])
            (*skip)[(*n)++] = o->busy[i];
    int stopping = o->stopping;
    pthread_mutex_unlock(&o->lock);
    return stopping;
}

struct worker_arg {
    struct mr_outbox *o;
    int slot;
};

static void *worker(void *arg)
{
    struct worker_arg *wa = arg;
    struct mr_outbox *o = wa->o;
    int slot = wa->slot;
    free(wa);
    struct mr_registry reg;
    mr_error err = {0};
    if (mr_registry_open(&reg, o->data_dir, &err) != 0) {
        MR_LOG(MR_LOG_ERROR, "outbox", MR_LS("error", err.message));
        return NULL;
    }
    mr_registry_set_actor(&reg, "outbox");
    int64_t recovered_at = 0;
    for (;;) {
        if (slot == 0 && mr_now_ms() - recovered_at > 60000) {
            size_t freed = 0;
            if (mr_store_outbox_recover(reg.store, &freed, &err) != 0)
                MR_LOG(MR_LOG_ERROR, "outbox", MR_LS("error", err.message));
            else if (freed)
                MR_LOG(MR_LOG_INFO, "outbox", MR_LI("released", freed));
            recovered_at = mr_now_ms();
        }
        int64_t *skip, ids[BATCH_MAX], target = 0;
        size_t nskip, n = 0;
        uint64_t seen = mr_store_outbox_kicks();
        if (take_busy(o, slot, &skip, &nskip)) {
            free(skip);
            break;
        }
        /* claim under the lock so two workers of this process never take
         * the same ordered target */
        pthread_mutex_lock(&o->lock);
        int rc = claim(reg.store, skip, nskip, &target, ids, &n, &err);
        if (rc == 0 && n)
            o->busy[slot] = target;
        pthread_mutex_unlock(&o->lock);
        free(skip);
        if (rc) {
            MR_LOG(MR_LOG_ERROR, "outbox", MR_LS("error", err.message));
            n = 0;
        }
        if (n) {
            rc = deliver_claimed(&reg, target, ids, n, &o->cfg, NULL, &err);
            if (rc)
                MR_LOG(MR_LOG_ERROR, "outbox", MR_LI("target", target),
                       MR_LS("error", err.message));
            pthread_mutex_lock(&o->lock);
            o->busy[slot] = 0;
            pthread_mutex_unlock(&o->lock);
            if (rc == 0)
                continue;
        }
        /* nothing due (or the store failed): wait for a kick, the next due
         * time, or the poll */
        int64_t next = INT64_MAX, wait_ms = POLL_MS;
        if (rc == 0 && mr_store_outbox_next_due(reg.store, &next, &err) == 0 && next != INT64_MAX) {
            /* due now but not claimable: leased, or behind an ordered
             * target's head another worker has; a kick or the poll wakes */
            int64_t until = next - mr_now_wall_ms();
            if (until > 0 && until < wait_ms)
                wait_ms = until < 10 ? 10 : until;
        }
        mr_store_outbox_wait(seen, wait_ms, &o->stopping);
    }
    mr_registry_close(&reg);
    return NULL;
}

int mr_outbox_start(struct mr_outbox **out, const struct mr_outbox_config *c, mr_error *err)
{
    (void)err;
    struct mr_outbox *o = mr_xcalloc(1, sizeof(*o));
    o->cfg = *c;
    o->data_dir = mr_xstrdup(c->data_dir);
    o->public_url = mr_xstrdup_or_null(c->public_url);
    o->cfg.data_dir = o->data_dir;
    o->cfg.public_url = o->public_url;
    o->cfg.divisor = c->divisor > 0 ? c->divisor : 1;
    o->nthreads = c->workers > 0 ? c->workers : MR_OUTBOX_WORKERS_DEFAULT;
    o->threads = mr_xcalloc((size_t)o->nthreads, sizeof(*o->threads));
    o->busy = mr_xcalloc((size_t)o->nthreads, sizeof(*o->busy));
    pthread_mutex_init(&o->lock, NULL);
    for (int i = 0; i < o->nthreads; i++) {
        struct worker_arg *wa = mr_xmalloc(sizeof(*wa));
        wa->o = o;
        wa->slot = i;
        pthread_create(&o->threads[i], NULL, worker, wa);
    }
    *out = o;
    return 0;
}

void mr_outbox_stop(struct mr_outbox **op)
{
    struct mr_outbox *o = *op;
    if (!o)
        return;
    pthread_mutex_lock(&o->lock);
    __atomic_store_n(&o->stopping, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&o->lock);
    mr_outbox_kick();
    for (int i = 0; i < o->nthreads; i++)
        pthread_join(o->threads[i], NULL);
    pthread_mutex_destroy(&o->lock);
    free(o->threads);
    free(o->busy);
    free(o->data_dir);
    free(o->public_url);
    free(o);
    *op = NULL;
}

/* --- Send a test delivery ------------------------------------------------------ */

static const char sample[] =
    "From: mailroom <mailroom@example.invalid>\r\n"
    "To: you@example.invalid\r\n"
    "Subject: mailroom test delivery\r\n"
    "Message-ID: <test@mailroom.invalid>\r\n"
    "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "This is a test delivery from mailroom. It is not a message from the mailbox.\r\n";

int mr_outbox_test(struct mr_registry *r, int64_t target_id, int64_t message_id,
                   const char *public_url, struct mr_delivery_result *res, mr_error *err)
{
    struct target_ctx c;
    memset(res, 0, sizeof(*res));
    int rc = load_target(r, target_id, &c, err);
    struct loaded l;
    memset(&l, 0, sizeof(l));
    mr_buf_init(&l.raw, (size_t)1 << 31);
    if (rc == 0 && message_id) {
        rc = mr_store_message_get(r->store, message_id, &l.m, err);
        if (rc == 0 && l.m.account_id != c.t.account_id)
            rc = mr_error_set(err, MR_EINVAL, "message",
                              "message %lld is not from this target's account",
                              (long long)message_id);
        if (rc == 0)
            rc = mr_store_message_attachments(r->store, message_id, &l.att, &l.natt, err);
        if (rc == 0)
            rc = mr_store_message_raw(r->store, message_id, &l.raw, err);
        if (rc == 0 && public_url && public_url[0])
            raw_link(public_url, message_id, l.raw_url, sizeof(l.raw_url));
    } else if (rc == 0) {
        l.m.account_id = c.a.id;
        l.m.from = mr_xstrdup("mailroom <mailroom@example.invalid>");
        l.m.to = mr_xstrdup("you@example.invalid");
        l.m.subject = mr_xstrdup("mailroom test delivery");
        l.m.message_id = mr_xstrdup("<test@mailroom.invalid>");
        l.m.date = mr_xstrdup("2026-01-01T00:00:00Z");
        l.m.body_text =
            mr_xstrdup("This is a test delivery from mailroom. It is not a message from the "
                       "mailbox.\r\n");
        l.m.size = (int64_t)(sizeof(sample) - 1);
        snprintf(l.m.msg_class, sizeof(l.m.msg_class), "ordinary");
        mr_buf_append(&l.raw, sample, sizeof(sample) - 1);
    }
    if (rc == 0) {
        char event[40];
        unsigned char rnd[10];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            memset(rnd, 0, sizeof(rnd));
        int k = snprintf(event, sizeof(event), "evt_test_");
        for (size_t i = 0; i < sizeof(rnd); i++)
            k += snprintf(event + k, sizeof(event) - (size_t)k, "%02x", rnd[i]);
        snprintf(l.d.event_id, sizeof(l.d.event_id), "%.31s", event);
        struct mr_delivery_item it;
        item_of(&c, &l, &it);
        it.test = 1;
        it.attempt = 1;
        it.progress = NULL;
        mr_deliver(&c.t, c.secret ? c.secret->data : NULL, &it, res);
    }
    loaded_clear(&l);
    target_ctx_clear(&c);
    return rc;
}
