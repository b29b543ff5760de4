#include "fetch/push.h"

#include "proto/session.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/said.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define PUSH_LOGOUT_MS     5000   /* a goodbye waits this long for its answer */
#define PUSH_READ_MS       200    /* the watcher's read of a readable socket, at most */
#define PUSH_QUICK_DROP_MS 60000  /* a connection that lived less was dropped "quickly" */
#define PUSH_RETRY_MAX_MS  300000 /* quick drops in a row wait up to this before the next */
#define PUSH_SERVER_LEN    280
#define PUSH_EVENTS        256

enum mode { M_NONE, M_CONNECTING, M_LIVE, M_POLL, M_FAILING };
static const char *const mode_names[] = {"", "connecting", "push", "poll", "failing"};

/* A connection in IDLE. IDLING: the watcher's (armed in epoll); READING:
 * the watcher reads it, outside the lock; WOKEN: out of epoll, waiting for
 * the account's check to take it. */
enum cstate { C_IDLING, C_READING, C_WOKEN };

struct pushed {
    struct mr_mailbox *mb;
    /* While here, the session belongs to no run: it points at this
     * configuration, with nothing of the account in it but timeouts. */
    struct mr_mailbox_config cfg;
    unsigned char fp[32];
    char server[PUSH_SERVER_LEN];
    int fd;
    enum cstate state;
    int64_t idle_since_ms, heard_ms;
    int rewake, drop; /* asked while the watcher was reading */
};

struct acct {
    int64_t id;
    int64_t revision; /* of the settings its connection was opened with */
    int64_t want_rev; /* from the planner's last sync; -1: does not want push */
    uint64_t seen;    /* the sync that last listed it */
    enum mode mode;
    char why[256];
    char *why_said; /* JSON (util/said.h), or NULL */
    int64_t since_ms, connected_ms, retry_ms, notice_ms, latency_ms, last_drop_ms;
    int drops;
    int fails; /* network failures in a row (a server restarting): retried soon */
    uint64_t notices;
    struct pushed *c;
    int dirty;
};

struct server_count {
    char server[PUSH_SERVER_LEN];
    size_t n;
};

struct mr_push {
    struct mr_push_config cfg;
    mr_push_wake_fn wake;
    void *wake_ctx;
    pthread_mutex_t lock;
    pthread_t watcher;
    int ep, efd;
    volatile int stopping;
    /* accounts by ID: open addressing, never removed (an account not
     * wanted any more stays as M_NONE, a few hundred bytes) */
    struct acct **slots;
    size_t cap, count;
    uint64_t generation;
    size_t conns; /* connections held (any state) */
    struct server_count *servers;
    size_t nservers, capservers;
    struct mr_push_stats stats; /* notices, drops, latency */
};

/* --- accounts -------------------------------------------------------------- */

static size_t slot_of(const struct mr_push *p, int64_t id)
{
    return (size_t)(((uint64_t)id * 11400714819323198485ull) >> 20) & (p->cap - 1);
}

static struct acct *find(const struct mr_push *p, int64_t id)
{
    for (size_t i = slot_of(p, id);; i = (i + 1) & (p->cap - 1)) {
        struct acct *a = p->slots[i];
        if (!a || a->id == id)
            return a;
    }
}

static void grow(struct mr_push *p)
{
    struct acct **old = p->slots;
    size_t oldcap = p->cap;
    p->cap = oldcap ? oldcap * 2 : 1024;
    p->slots = mr_xcalloc(p->cap, sizeof(*p->slots));
    for (size_t i = 0; i < oldcap; i++)
        if (old[i]) {
            size_t j = slot_of(p, old[i]->id);
            while (p->slots[j])
                j = (j + 1) & (p->cap - 1);
            p->slots[j] = old[i];
        }
    free(old);
}

static struct acct *find_or_add(struct mr_push *p, int64_t id)
{
    struct acct *a = p->cap ? find(p, id) : NULL;
    if (a)
        return a;
    if ((p->count + 1) * 2 > p->cap)
        grow(p);
    a = mr_xcalloc(1, sizeof(*a));
    a->id = id;
    a->want_rev = -1;
    a->latency_ms = -1;
    size_t j = slot_of(p, id);
    while (p->slots[j])
        j = (j + 1) & (p->cap - 1);
    p->slots[j] = a;
    p->count++;
    return a;
}

/* Under the lock. */
static void set_mode(struct acct *a, enum mode m, const mr_error *why)
{
    if (a->mode != m)
        a->since_ms = mr_now_ms();
    a->mode = m;
    mr_freep(&a->why_said);
    if (why && why->message[0]) {
        snprintf(a->why, sizeof(a->why), "%.*s", (int)sizeof(a->why) - 1, why->message);
        a->why_said = mr_error_said_text(why);
    } else
        a->why[0] = '\0';
    a->dirty = 1;
}

/* --- servers --------------------------------------------------------------- */

static struct server_count *server_count(struct mr_push *p, const char *server, int add)
{
    for (size_t i = 0; i < p->nservers; i++)
        if (strcmp(p->servers[i].server, server) == 0)
            return &p->servers[i];
    if (!add)
        return NULL;
    if (p->nservers == p->capservers) {
        p->capservers = p->capservers ? p->capservers * 2 : 8;
        p->servers = mr_xrealloc(p->servers, p->capservers * sizeof(*p->servers));
    }
    struct server_count *c = &p->servers[p->nservers++];
    snprintf(c->server, sizeof(c->server), "%s", server);
    c->n = 0;
    return c;
}

/* A connection leaves the module's count (under the lock). */
static void uncount(struct mr_push *p, const struct pushed *c)
{
    struct server_count *s = server_count(p, c->server, 0);
    if (s && --s->n == 0)
        *s = p->servers[--p->nservers];
    p->conns--;
}

/* --- connections ----------------------------------------------------------- */

/* Logs the session out, its answers awaited until deadline; with polite 0
 * (or the deadline passed) the connection is just closed. */
static void close_conn(struct pushed *c, int64_t deadline, int polite)
{
    mr_error ignored = {0};
    c->cfg.limits.deadline_ms = deadline;
    c->cfg.limits.idle_timeout_ms = PUSH_LOGOUT_MS;
    if (c->mb->s.conn)
        c->mb->s.conn->limits = c->cfg.limits;
    c->mb->driver->close(&c->mb, polite && mr_now_ms() < deadline ? &ignored : NULL);
    free(c);
}

static void arm(struct mr_push *p, int64_t id, int fd, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT,
                             .data.u64 = (uint64_t)id};
    if (epoll_ctl(p->ep, op, fd, &ev) != 0 && op == EPOLL_CTL_ADD && errno == EEXIST)
        epoll_ctl(p->ep, EPOLL_CTL_MOD, fd, &ev); /* not expected: every wake takes it out */
}

/* Out of the watcher's set, waiting for a check (under the lock). */
static void wake_conn(struct mr_push *p, struct pushed *c)
{
    epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd, NULL);
    c->state = C_WOKEN;
}

/* The account's connection is gone (under the lock): it is remade at once,
 * or after a growing pause when connections keep dropping quickly. */
static void lost(struct mr_push *p, struct acct *a, const mr_error *why)
{
    int64_t now = mr_now_ms();
    uncount(p, a->c);
    a->c = NULL;
    if (!why) /* dropped on purpose */
        return;
    p->stats.drops++;
    a->drops = now - a->connected_ms < PUSH_QUICK_DROP_MS ? a->drops + 1 : 0;
    int64_t pause = 0;
    if (a->drops) {
        pause = 1000;
        for (int i = 1; i < a->drops && pause < PUSH_RETRY_MAX_MS; i++)
            pause *= 2;
        if (pause > PUSH_RETRY_MAX_MS)
            pause = PUSH_RETRY_MAX_MS;
    }
    a->retry_ms = now + pause;
    a->last_drop_ms = now;
    if (a->want_rev >= 0)
        set_mode(a, M_CONNECTING, why);
}

/* --- the watcher ----------------------------------------------------------- */

static void ready(struct mr_push *p, int64_t id)
{
    pthread_mutex_lock(&p->lock);
    struct acct *a = find(p, id);
    struct pushed *c = a ? a->c : NULL;
    if (!c || c->state != C_IDLING) {
        pthread_mutex_unlock(&p->lock);
        return;
    }
    c->state = C_READING;
    pthread_mutex_unlock(&p->lock);

    int news = 0, rc = 0;
    mr_error e = {0};
    c->mb->s.conn->limits = c->cfg.limits;
    /* what TLS took from the socket with the last read is read too */
    for (int i = 0; i < 16 && rc == 0 && !news; i++) {
        rc = c->mb->driver->idle_read(c->mb, &news, &e);
        if (!mr_conn_pending(c->mb->s.conn) && c->mb->s.in_off >= c->mb->s.in_len)
            break;
    }

    int64_t now = mr_now_ms();
    struct pushed *gone = NULL;
    int wake = 0;
    pthread_mutex_lock(&p->lock);
    c->heard_ms = now;
    if (rc || c->drop) {
        gone = c;
        int polite = !rc;
        lost(p, a, rc ? &e : NULL);
        wake = rc && a->want_rev >= 0 && a->retry_ms <= now;
        if (rc)
            MR_LOG(MR_LOG_INFO, "push", MR_LI("account", id), MR_LS("event", "connection lost"),
                   MR_LS("why", e.message));
        pthread_mutex_unlock(&p->lock);
        close_conn(gone, now + PUSH_LOGOUT_MS, polite);
    } else if (news || c->rewake) {
        wake_conn(p, c);
        if (news) {
            a->notice_ms = now;
            a->notices++;
            p->stats.notices++;
            a->dirty = 1;
        }
        wake = 1;
        pthread_mutex_unlock(&p->lock);
    } else {
        c->state = C_IDLING;
        arm(p, id, c->fd, EPOLL_CTL_MOD);
        pthread_mutex_unlock(&p->lock);
    }
    if (wake)
        p->wake(p->wake_ctx, id);
}

/* Once a second: connections whose refresh or silence time is up. */
static void tick(struct mr_push *p)
{
    int64_t now = mr_now_ms();
    int64_t refresh = (int64_t)p->cfg.refresh_s * 1000, silence = (int64_t)p->cfg.silence_s * 1000;
    int64_t *due = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->cap; i++) {
        struct acct *a = p->slots[i];
        if (!a || !a->c || a->c->state != C_IDLING)
            continue;
        if (now - a->c->idle_since_ms < refresh && now - a->c->heard_ms < silence)
            continue;
        wake_conn(p, a->c);
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            due = mr_xrealloc(due, cap * sizeof(*due));
        }
        due[n++] = a->id;
    }
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < n; i++)
        p->wake(p->wake_ctx, due[i]);
    free(due);
}

static void *watch(void *arg)
{
    struct mr_push *p = arg;
    struct epoll_event ev[PUSH_EVENTS];
    int64_t ticked = mr_now_ms();
    while (!p->stopping) {
        int n = epoll_wait(p->ep, ev, PUSH_EVENTS, 1000);
        for (int i = 0; i < n && !p->stopping; i++) {
            if (ev[i].data.u64 == 0) { /* the eventfd: stopping */
                uint64_t v;
                if (read(p->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                    break;
                continue;
            }
            ready(p, (int64_t)ev[i].data.u64);
        }
        if (mr_now_ms() - ticked >= 1000) {
            tick(p);
            ticked = mr_now_ms();
        }
    }
    return NULL;
}

/* --- the module ------------------------------------------------------------ */

int mr_push_new(struct mr_push **out, const struct mr_push_config *c, mr_push_wake_fn wake,
                void *ctx, mr_error *err)
{
    struct mr_push *p = mr_xcalloc(1, sizeof(*p));
    *out = NULL;
    p->cfg = *c;
    if (!p->cfg.refresh_s)
        p->cfg.refresh_s = MR_PUSH_DEFAULT_REFRESH;
    if (!p->cfg.silence_s)
        p->cfg.silence_s = MR_PUSH_DEFAULT_SILENCE;
    if (!p->cfg.max_age_s)
        p->cfg.max_age_s = MR_PUSH_DEFAULT_MAX_AGE;
    p->wake = wake;
    p->wake_ctx = ctx;
    pthread_mutex_init(&p->lock, NULL);
    p->ep = epoll_create1(EPOLL_CLOEXEC);
    p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
    if (p->ep < 0 || p->efd < 0 || epoll_ctl(p->ep, EPOLL_CTL_ADD, p->efd, &ev) != 0 ||
        pthread_create(&p->watcher, NULL, watch, p) != 0) {
        int e = errno;
        if (p->ep >= 0)
            close(p->ep);
        if (p->efd >= 0)
            close(p->efd);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return mr_error_set(err, MR_EIO, "", "starting the push watcher: %s", strerror(e));
    }
    *out = p;
    return 0;
}

void mr_push_free(struct mr_push **pp)
{
    struct mr_push *p = *pp;
    if (!p)
        return;
    uint64_t one = 1;
    p->stopping = 1;
    if (write(p->efd, &one, sizeof(one)) < 0) {
        /* the watcher's epoll_wait ends within a second anyway */
    }
    pthread_join(p->watcher, NULL);
    int64_t deadline = mr_now_ms() + PUSH_LOGOUT_MS; /* for all: a stop takes 5 s at most */
    for (size_t i = 0; i < p->cap; i++) {
        struct acct *a = p->slots[i];
        if (!a)
            continue;
        if (a->c)
            close_conn(a->c, deadline, 1);
        free(a->why_said);
        free(a);
    }
    close(p->ep);
    close(p->efd);
    pthread_mutex_destroy(&p->lock);
    free(p->slots);
    free(p->servers);
    free(p);
    *pp = NULL;
}

void mr_push_sync(struct mr_push *p, const struct mr_push_want *want, size_t n)
{
    int64_t *wake = NULL;
    size_t nwake = 0;
    struct pushed **gone = NULL;
    size_t ngone = 0;
    pthread_mutex_lock(&p->lock);
    uint64_t gen = ++p->generation;
    if (n) {
        wake = mr_xcalloc(n, sizeof(*wake));
        for (size_t i = 0; i < n; i++) {
            struct acct *a = find_or_add(p, want[i].account_id);
            a->seen = gen;
            if (a->want_rev < 0 && !a->c && a->mode == M_NONE) {
                a->retry_ms = 0; /* new to push (or the daemon just started): now */
                set_mode(a, M_CONNECTING, NULL);
            }
            a->want_rev = want[i].revision;
            if (a->c && a->revision != want[i].revision) { /* edited: new settings now */
                if (a->c->state == C_IDLING) {
                    wake_conn(p, a->c);
                    wake[nwake++] = a->id;
                } else
                    a->c->rewake = 1;
            }
        }
    }
    for (size_t i = 0; i < p->cap; i++) {
        struct acct *a = p->slots[i];
        if (!a || a->seen == gen || a->want_rev < 0)
            continue;
        a->want_rev = -1; /* disabled, push or automatic check off, removed */
        set_mode(a, M_NONE, NULL);
        if (!a->c)
            continue;
        if (a->c->state == C_READING) {
            a->c->drop = 1;
            continue;
        }
        if (a->c->state == C_IDLING)
            epoll_ctl(p->ep, EPOLL_CTL_DEL, a->c->fd, NULL);
        gone = mr_xrealloc(gone, (ngone + 1) * sizeof(*gone));
        gone[ngone++] = a->c;
        uncount(p, a->c);
        a->c = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    int64_t deadline = mr_now_ms() + PUSH_LOGOUT_MS;
    for (size_t i = 0; i < ngone; i++)
        close_conn(gone[i], deadline, 1);
    for (size_t i = 0; i < nwake; i++)
        p->wake(p->wake_ctx, wake[i]);
    free(gone);
    free(wake);
}

enum mr_push_plan mr_push_plan(struct mr_push *p, int64_t account, int64_t now_ms)
{
    enum mr_push_plan plan = MR_PUSH_PLAN_POLL;
    pthread_mutex_lock(&p->lock);
    struct acct *a = p->cap ? find(p, account) : NULL;
    if (a && a->want_rev >= 0) {
        if (a->c)
            plan = a->c->state == C_WOKEN ? MR_PUSH_PLAN_NOW : MR_PUSH_PLAN_SKIP;
        else if (a->mode == M_CONNECTING || (a->mode == M_FAILING && a->fails))
            plan = a->retry_ms <= now_ms ? MR_PUSH_PLAN_NOW : MR_PUSH_PLAN_SKIP;
    }
    pthread_mutex_unlock(&p->lock);
    return plan;
}

struct mr_mailbox *mr_push_take(struct mr_push *p, int64_t account, const unsigned char fp[32],
                                int64_t *notice_ms)
{
    *notice_ms = 0;
    pthread_mutex_lock(&p->lock);
    struct acct *a = p->cap ? find(p, account) : NULL;
    struct pushed *c = a ? a->c : NULL;
    if (!c || c->state != C_WOKEN) {
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    uncount(p, c);
    a->c = NULL;
    *notice_ms = a->notice_ms;
    a->notice_ms = 0;
    pthread_mutex_unlock(&p->lock);
    int64_t now = mr_now_ms();
    if (memcmp(c->fp, fp, 32) != 0 ||
        now - c->mb->s.opened_ms >= (int64_t)p->cfg.max_age_s * 1000) {
        close_conn(c, now + PUSH_LOGOUT_MS, 1); /* other settings, or time for a new login */
        return NULL;
    }
    struct mr_mailbox *mb = c->mb;
    free(c);
    return mb;
}

static int refuse(struct mr_push *p, int64_t account, enum mode m, const mr_error *why)
{
    pthread_mutex_lock(&p->lock);
    struct acct *a = find_or_add(p, account);
    if (a->want_rev >= 0)
        set_mode(a, m, why);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

int mr_push_put(struct mr_push *p, int64_t account, int64_t revision, const unsigned char fp[32],
                struct mr_mailbox *mb)
{
    static const unsigned char none[32];
    mr_error e = {0};
    if (!mb->driver->idle || !mb->s.conn || memcmp(fp, none, 32) == 0)
        return 0;
    struct pushed *c = mr_xcalloc(1, sizeof(*c));
    snprintf(c->server, sizeof(c->server), "%s:%d", mb->s.conn->host, mb->s.conn->port);
    /* a slot first: the caps hold however many checks end at once */
    pthread_mutex_lock(&p->lock);
    struct acct *a = find_or_add(p, account);
    struct server_count *sc = server_count(p, c->server, 1);
    int over_total = p->conns >= p->cfg.max_total, over_server = sc->n >= p->cfg.max_per_server;
    if (!over_total && !over_server && a->want_rev >= 0 && !a->c) {
        p->conns++;
        sc->n++;
    } else if (sc->n == 0)
        *sc = p->servers[--p->nservers];
    int want = a->want_rev >= 0, taken = !a->c;
    pthread_mutex_unlock(&p->lock);
    if (!want || !taken || over_total || over_server) {
        if (over_total)
            mr_error_set(&e, MR_EINVAL, "",
                         "the daemon's push connections are at their limit (%zu in all, "
                         "serve --push-max): checking every interval instead",
                         p->cfg.max_total);
        else if (over_server)
            mr_error_set(&e, MR_EINVAL, "",
                         "the push connections to %s are at their limit (%zu, serve "
                         "--push-max-per-server): checking every interval instead",
                         c->server, p->cfg.max_per_server);
        free(c);
        return want && taken ? refuse(p, account, M_POLL, &e) : 0;
    }

    /* IDLE: a round trip, in the caller's thread */
    int news = 0;
    int rc = mb->driver->idle(mb, &news, &e);
    int64_t now = mr_now_ms();
    pthread_mutex_lock(&p->lock);
    if (rc) {
        struct server_count *s = server_count(p, c->server, 0);
        if (s && --s->n == 0)
            *s = p->servers[--p->nservers];
        p->conns--;
        if (a->want_rev >= 0) { /* refused: polled (the mode says so); else remade */
            set_mode(a, rc == MR_ESERVER ? M_POLL : M_CONNECTING, &e);
            a->retry_ms = now;
        }
        pthread_mutex_unlock(&p->lock);
        free(c);
        return 0;
    }
    mr_conn_keepalive(mb->s.conn, 60, 15, 4);
    c->cfg.limits.connect_timeout_ms = PUSH_LOGOUT_MS;
    c->cfg.limits.idle_timeout_ms = PUSH_READ_MS;
    mb->s.cfg = &c->cfg; /* the run's configuration is about to be freed */
    mb->s.conn->limits = c->cfg.limits;
    c->mb = mb;
    c->fd = mb->s.conn->fd;
    memcpy(c->fp, fp, 32);
    c->idle_since_ms = c->heard_ms = now;
    a->c = c;
    a->revision = revision;
    if (a->mode != M_LIVE || a->connected_ms != mb->s.opened_ms) {
        a->connected_ms = mb->s.opened_ms;
        set_mode(a, M_LIVE, NULL);
    }
    int wake = news || mr_conn_pending(mb->s.conn) || mb->s.in_off < mb->s.in_len ||
               a->want_rev != revision;
    if (wake)
        c->state = C_WOKEN; /* told of mail already, or edited meanwhile: check again now */
    else {
        c->state = C_IDLING;
        arm(p, account, c->fd, EPOLL_CTL_ADD);
    }
    pthread_mutex_unlock(&p->lock);
    if (wake)
        p->wake(p->wake_ctx, account);
    return 1;
}

void mr_push_ran(struct mr_push *p, int64_t account, int rc, const mr_error *err,
                 int64_t latency_ms)
{
    static const double bounds[MR_PUSH_LATENCY_BUCKETS - 1] = {0.1, 0.25, 0.5, 1, 2, 5, 10};
    struct pushed *gone = NULL;
    pthread_mutex_lock(&p->lock);
    struct acct *a = p->cap ? find(p, account) : NULL;
    if (a && rc && rc != MR_EINUSE && a->c && a->c->state == C_WOKEN) {
        gone = a->c; /* the run failed before it took the session (its settings, the vault) */
        uncount(p, gone);
        a->c = NULL;
    }
    if (a && rc == 0 && latency_ms >= 0) {
        double s = (double)latency_ms / 1000;
        size_t b = 0;
        while (b < MR_PUSH_LATENCY_BUCKETS - 1 && s > bounds[b])
            b++;
        p->stats.latency_buckets[b]++;
        p->stats.latency_sum += s;
        p->stats.latency_count++;
        a->latency_ms = latency_ms;
        a->dirty = 1;
    } else if (a && rc && rc != MR_EINUSE && a->want_rev >= 0 && !a->c) {
        set_mode(a, M_FAILING, err);
        /* the server unreachable (restarting, a network blip): tried again
         * after 1, 2, 4 ... 300 s; any other failure (a password refused)
         * waits as a poll's would, so a server is not asked too often */
        a->fails = rc == MR_ENET || rc == MR_ETIMEOUT ? a->fails + 1 : 0;
        int64_t pause = 1000;
        for (int i = 1; i < a->fails && pause < PUSH_RETRY_MAX_MS; i++)
            pause *= 2;
        a->retry_ms = mr_now_ms() + (pause < PUSH_RETRY_MAX_MS ? pause : PUSH_RETRY_MAX_MS);
    }
    if (a && rc == 0)
        a->fails = 0;
    pthread_mutex_unlock(&p->lock);
    if (gone)
        close_conn(gone, mr_now_ms() + PUSH_LOGOUT_MS, 1);
}

/* A time on mr_now_ms()'s monotonic clock as unix seconds, for the store. */
static int64_t wall_s(int64_t mono_ms)
{
    return (mr_now_wall_ms() - (mr_now_ms() - mono_ms)) / 1000;
}

int mr_push_flush(struct mr_push *p, struct mr_store *s, mr_error *err)
{
    struct mr_push_status *rows = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->cap; i++) {
        struct acct *a = p->slots[i];
        if (!a || !a->dirty)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            rows = mr_xrealloc(rows, cap * sizeof(*rows));
        }
        struct mr_push_status *r = &rows[n++];
        memset(r, 0, sizeof(*r));
        r->account_id = a->id;
        snprintf(r->mode, sizeof(r->mode), "%s", mode_names[a->mode]);
        snprintf(r->reason, sizeof(r->reason), "%s", a->why);
        r->reason_said = a->why_said ? mr_xstrdup(a->why_said) : NULL;
        r->since = wall_s(a->since_ms);
        r->connected_at = a->mode == M_LIVE ? wall_s(a->connected_ms) : 0;
        r->latency_ms = a->latency_ms;
        r->notices = a->notices;
        a->dirty = 0;
    }
    pthread_mutex_unlock(&p->lock);
    int rc = n ? mr_store_push_status_save(s, rows, n, err) : 0;
    if (rc) { /* written next time */
        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < n; i++) {
            struct acct *a = find(p, rows[i].account_id);
            if (a)
                a->dirty = 1;
        }
        pthread_mutex_unlock(&p->lock);
    }
    for (size_t i = 0; i < n; i++)
        mr_push_status_clear(&rows[i]);
    free(rows);
    return rc;
}

void mr_push_stats(struct mr_push *p, struct mr_push_stats *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    out->live = out->connecting = out->polling = out->failing = 0;
    for (size_t i = 0; i < p->cap; i++) {
        const struct acct *a = p->slots[i];
        if (!a)
            continue;
        out->live += a->mode == M_LIVE;
        out->connecting += a->mode == M_CONNECTING;
        out->polling += a->mode == M_POLL;
        out->failing += a->mode == M_FAILING;
    }
    pthread_mutex_unlock(&p->lock);
}
