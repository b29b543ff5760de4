/* Delivery targets and the outbox (issue 19). */
#include "store/store_private.h"

#include "util/clock.h"
#include "util/mem.h"
#include "util/notice.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* One row per enabled target of the message's account, in the transaction
 * that stores the message: pending, or skipped when the target skips the
 * message's class. The event ID is random, so two stores never share one.
 * The targets are read first and each row inserted alone: an INSERT ...
 * SELECT made SQLite write a statement journal even for no rows (the cost
 * guard, tests/perf, saw it), and most accounts have no target. */
int mr_store_outbox_add(struct mr_store *s, const struct mr_message *m, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st,
        "SELECT id, skip_classes FROM delivery_targets WHERE account_id = ? AND enabled = 1", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, m->account_id);
    int64_t ids[MR_TARGETS_PER_ACCOUNT_MAX];
    int skip[MR_TARGETS_PER_ACCOUNT_MAX];
    size_t n = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && n < MR_TARGETS_PER_ACCOUNT_MAX) {
        struct mr_target t = {.skip_classes = (char *)sqlite3_column_text(st, 1)};
        ids[n] = sqlite3_column_int64(st, 0);
        skip[n++] = mr_target_skips(&t, m->msg_class);
    }
    mr_store_release(s, st);
    if (step != SQLITE_DONE && step != SQLITE_ROW)
        return mr_store_fail(s, err, "reading delivery targets");
    if (n == 0)
        return 0;
    st = NULL;
    rc = mr_store_prepare(s, &st,
                          "INSERT INTO deliveries (event_id, message_id, target_id, account_id,"
                          " state, created_ms, window_ms, next_ms)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6)",
                          err);
    int64_t now = mr_now_wall_ms();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        unsigned char rnd[12];
        char event[32];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            return mr_error_set(err, MR_ESTORE, NULL, "no random bytes for an event ID");
        int k = snprintf(event, sizeof(event), "evt_");
        for (size_t j = 0; j < sizeof(rnd); j++)
            k += snprintf(event + k, sizeof(event) - (size_t)k, "%02x", rnd[j]);
        mr_store_bind_text(st, 1, event);
        sqlite3_bind_int64(st, 2, m->id);
        sqlite3_bind_int64(st, 3, ids[i]);
        sqlite3_bind_int64(st, 4, m->account_id);
        mr_store_bind_text(st, 5, skip[i] ? "skipped" : "pending");
        sqlite3_bind_int64(st, 6, now);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = mr_store_fail(s, err, "queueing deliveries");
        sqlite3_reset(st);
    }
    if (st)
        mr_store_release(s, st);
    if (rc == 0)
        s->outbox_added = 1;
    return rc;
}

static struct mr_notice kick = MR_NOTICE_INIT;

void mr_store_outbox_kick(void)
{
    mr_notice_raise(&kick);
}

uint64_t mr_store_outbox_kicks(void)
{
    return mr_notice_count(&kick);
}

void mr_store_outbox_wait(uint64_t seen, int64_t ms, const int *stop)
{
    mr_notice_wait(&kick, seen, ms, stop);
}

/* --- targets ---------------------------------------------------------------- */

#define TARGET_COLUMNS                                                                             \
    "id, account_id, name, kind, enabled, url, allow_http, secret_credential_id, stop_status,"     \
    " inline_max, path, command, host, port, recipients, timeout, parallel, retry_for,"            \
    " skip_classes, created_at, updated_at"

static void read_target(sqlite3_stmt *st, void *out)
{
    struct mr_target *t = out;
    mr_target_init(t);
    t->id = sqlite3_column_int64(st, 0);
    t->account_id = sqlite3_column_int64(st, 1);
    t->name = mr_store_column_text(st, 2);
    mr_target_kind_parse((const char *)sqlite3_column_text(st, 3), &t->kind);
    t->enabled = sqlite3_column_int(st, 4);
    t->url = mr_store_column_text(st, 5);
    t->allow_http = sqlite3_column_int(st, 6);
    t->secret_credential_id = sqlite3_column_int64(st, 7);
    t->stop_status = mr_store_column_text(st, 8);
    t->inline_max = sqlite3_column_int64(st, 9);
    t->path = mr_store_column_text(st, 10);
    t->command = mr_store_column_text(st, 11);
    t->host = mr_store_column_text(st, 12);
    t->port = sqlite3_column_int(st, 13);
    t->recipients = mr_store_column_text(st, 14);
    t->timeout = sqlite3_column_int(st, 15);
    t->parallel = sqlite3_column_int(st, 16);
    t->retry_for = sqlite3_column_int(st, 17);
    t->skip_classes = mr_store_column_text(st, 18);
    t->created_at = sqlite3_column_int64(st, 19);
    t->updated_at = sqlite3_column_int64(st, 20);
}

static void clear_target(void *t)
{
    mr_target_clear(t);
}

static void bind_int_or_null(sqlite3_stmt *st, int i, long long v)
{
    if (v)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static void bind_target(sqlite3_stmt *st, const struct mr_target *t)
{
    sqlite3_bind_int64(st, 1, t->account_id);
    mr_store_bind_text(st, 2, t->name);
    mr_store_bind_text(st, 3, mr_target_kind_name(t->kind));
    sqlite3_bind_int(st, 4, t->enabled ? 1 : 0);
    mr_store_bind_text(st, 5, t->url);
    sqlite3_bind_int(st, 6, t->allow_http ? 1 : 0);
    mr_store_bind_id(st, 7, t->secret_credential_id);
    mr_store_bind_text(st, 8, t->stop_status);
    bind_int_or_null(st, 9, t->inline_max);
    mr_store_bind_text(st, 10, t->path);
    mr_store_bind_text(st, 11, t->command);
    mr_store_bind_text(st, 12, t->host);
    bind_int_or_null(st, 13, t->port);
    mr_store_bind_text(st, 14, t->recipients);
    bind_int_or_null(st, 15, t->timeout);
    sqlite3_bind_int(st, 16, t->parallel ? 1 : 0);
    bind_int_or_null(st, 17, t->retry_for);
    mr_store_bind_text(st, 18, t->skip_classes);
    sqlite3_bind_int64(st, 19, t->updated_at);
}

int mr_store_target_insert(struct mr_store *s, struct mr_target *t, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st,
        "INSERT INTO delivery_targets (account_id, name, kind, enabled, url, allow_http,"
        " secret_credential_id, stop_status, inline_max, path, command, host, port, recipients,"
        " timeout, parallel, retry_for, skip_classes, updated_at, created_at) VALUES (?1, ?2, ?3,"
        " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?19)",
        err);
    if (rc)
        return rc;
    t->created_at = t->updated_at = mr_store_now();
    bind_target(st, t);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_TARGET, t->name, "adding a delivery target", err);
    mr_store_release(s, st);
    if (rc == 0)
        t->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int mr_store_target_update(struct mr_store *s, struct mr_target *t, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st,
        "UPDATE delivery_targets SET account_id = ?1, name = ?2, kind = ?3, enabled = ?4,"
        " url = ?5, allow_http = ?6, secret_credential_id = ?7, stop_status = ?8,"
        " inline_max = ?9, path = ?10, command = ?11, host = ?12, port = ?13, recipients = ?14,"
        " timeout = ?15, parallel = ?16, retry_for = ?17, skip_classes = ?18, updated_at = ?19"
        " WHERE id = ?20",
        err);
    if (rc)
        return rc;
    t->updated_at = mr_store_now();
    bind_target(st, t);
    sqlite3_bind_int64(st, 20, t->id);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_TARGET, t->name, "updating a delivery target", err);
    mr_store_release(s, st);
    return rc;
}

int mr_store_target_get(struct mr_store *s, int64_t id, struct mr_target *out, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT " TARGET_COLUMNS " FROM delivery_targets WHERE id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return mr_store_fetch_one(s, st, read_target, out, MR_OBJ_TARGET, id, err);
}

int mr_store_target_list(struct mr_store *s, int64_t account, struct mr_target **items, size_t *n,
                         mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT " TARGET_COLUMNS " FROM delivery_targets"
                              " WHERE ?1 = 0 OR account_id = ?1 ORDER BY id",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    return mr_store_collect(s, st, sizeof(**items), read_target, clear_target, (void **)items, n,
                            err);
}

void mr_target_list_free(struct mr_target **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        mr_target_clear(&(*items)[i]);
    mr_freep(items);
}

int mr_store_target_delete(struct mr_store *s, int64_t id, mr_error *err)
{
    return mr_store_delete_unused(s, MR_OBJ_TARGET, id, err);
}

int mr_store_target_counts(struct mr_store *s, int64_t target, uint64_t counts[4], mr_error *err)
{
    static const char *const states[] = {"pending", "delivered", "failed", "skipped"};
    sqlite3_stmt *st;
    memset(counts, 0, 4 * sizeof(*counts));
    int rc = mr_store_prepare(
        s, &st, "SELECT state, count(*) FROM deliveries WHERE target_id = ? GROUP BY state", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, target);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        for (size_t i = 0; i < 4; i++)
            if (strcmp((const char *)sqlite3_column_text(st, 0), states[i]) == 0)
                counts[i] = (uint64_t)sqlite3_column_int64(st, 1);
    mr_store_release(s, st);
    return step == SQLITE_DONE ? 0 : mr_store_fail(s, err, "counting deliveries");
}

/* --- the outbox ------------------------------------------------------------- */

void mr_delivery_clear(struct mr_delivery *d)
{
    if (!d)
        return;
    free(d->last_error);
    free(d->last_error_said);
    free(d->last_response);
    free(d->progress);
    free(d->target_name);
    free(d->target_kind);
    free(d->account_name);
    free(d->subject);
    free(d->from);
    memset(d, 0, sizeof(*d));
}

void mr_delivery_list_free(struct mr_delivery **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        mr_delivery_clear(&(*items)[i]);
    mr_freep(items);
}

#define DELIVERY_COLUMNS                                                                           \
    "d.id, d.message_id, d.target_id, d.account_id, d.event_id, d.state, d.attempts,"              \
    " d.created_ms, d.window_ms, d.next_ms, d.lease_ms, d.last_attempt_ms, d.done_ms,"             \
    " d.last_error, d.last_response, d.progress, t.name, t.kind, a.name, m.subject, m.from_addr,"  \
    " d.last_error_said"
#define DELIVERY_FROM                                                                              \
    " FROM deliveries d JOIN delivery_targets t ON t.id = d.target_id"                             \
    " JOIN accounts a ON a.id = d.account_id JOIN messages m ON m.id = d.message_id"

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int i)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    snprintf(dst, size, "%s", v ? (const char *)v : "");
}

static void read_delivery(sqlite3_stmt *st, void *out)
{
    struct mr_delivery *d = out;
    memset(d, 0, sizeof(*d));
    d->id = sqlite3_column_int64(st, 0);
    d->message_id = sqlite3_column_int64(st, 1);
    d->target_id = sqlite3_column_int64(st, 2);
    d->account_id = sqlite3_column_int64(st, 3);
    copy_text(d->event_id, sizeof(d->event_id), st, 4);
    copy_text(d->state, sizeof(d->state), st, 5);
    d->attempts = sqlite3_column_int(st, 6);
    d->created_ms = sqlite3_column_int64(st, 7);
    d->window_ms = sqlite3_column_int64(st, 8);
    d->next_ms = sqlite3_column_int64(st, 9);
    d->lease_ms = sqlite3_column_int64(st, 10);
    d->last_attempt_ms = sqlite3_column_int64(st, 11);
    d->done_ms = sqlite3_column_int64(st, 12);
    d->last_error = mr_store_column_text(st, 13);
    d->last_response = mr_store_column_text(st, 14);
    d->progress = mr_store_column_text(st, 15);
    d->target_name = mr_store_column_text(st, 16);
    d->target_kind = mr_store_column_text(st, 17);
    d->account_name = mr_store_column_text(st, 18);
    d->subject = mr_store_column_text(st, 19);
    d->from = mr_store_column_text(st, 20);
    d->last_error_said = mr_store_column_text(st, 21);
}

static void clear_delivery(void *d)
{
    mr_delivery_clear(d);
}

/* The filter's conditions, only those it sets, so that SQLite can use the
 * outbox's indexes (an "?2 = 0 OR ..." keeps it from them); parameters ?1
 * to ?5 keep their numbers. Freed by the caller. */
static char *delivery_where(const struct mr_delivery_filter *f, const char *state)
{
    return mr_xasprintf(
        " WHERE 1%s%s%s%s%s", state ? " AND d.state = ?1" : "",
        f->account ? " AND d.account_id = ?2" : "", f->target ? " AND d.target_id = ?3" : "",
        f->message ? " AND d.message_id = ?4" : "",
        f->since_ms ? " AND (CASE WHEN d.state = 'failed' THEN d.done_ms ELSE d.created_ms END)"
                      " >= ?5"
                    : "");
}

static void bind_delivery_filter(sqlite3_stmt *st, const struct mr_delivery_filter *f,
                                 const char *state)
{
    mr_store_bind_text(st, 1, state);
    sqlite3_bind_int64(st, 2, f->account);
    sqlite3_bind_int64(st, 3, f->target);
    sqlite3_bind_int64(st, 4, f->message);
    sqlite3_bind_int64(st, 5, f->since_ms);
}

int mr_store_delivery_list(struct mr_store *s, const struct mr_delivery_filter *f, size_t offset,
                           size_t limit, struct mr_delivery **items, size_t *n, size_t *total,
                           mr_error *err)
{
    sqlite3_stmt *st;
    *items = NULL;
    *n = 0;
    char *where = delivery_where(f, f->state);
    char *sql = mr_xasprintf("SELECT count(*) FROM deliveries d%s", where);
    int rc = mr_store_prepare(s, &st, sql, err);
    free(sql);
    if (rc) {
        free(where);
        return rc;
    }
    bind_delivery_filter(st, f, f->state);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW && total)
        *total = (size_t)sqlite3_column_int64(st, 0);
    mr_store_release(s, st);
    if (step != SQLITE_ROW) {
        free(where);
        return mr_store_fail(s, err, "counting deliveries");
    }
    sql = mr_xasprintf("SELECT " DELIVERY_COLUMNS DELIVERY_FROM "%s ORDER BY d.id DESC"
                       " LIMIT ?6 OFFSET ?7",
                       where);
    free(where);
    rc = mr_store_prepare(s, &st, sql, err);
    free(sql);
    if (rc)
        return rc;
    bind_delivery_filter(st, f, f->state);
    sqlite3_bind_int64(st, 6, limit ? (int64_t)limit : -1);
    sqlite3_bind_int64(st, 7, (int64_t)offset);
    return mr_store_collect(s, st, sizeof(**items), read_delivery, clear_delivery, (void **)items,
                            n, err);
}

int mr_store_delivery_get(struct mr_store *s, int64_t id, struct mr_delivery *out, mr_error *err)
{
    sqlite3_stmt *st;
    int rc =
        mr_store_prepare(s, &st, "SELECT " DELIVERY_COLUMNS DELIVERY_FROM " WHERE d.id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_delivery(st, out);
    mr_store_release(s, st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return mr_error_set(err, MR_ENOTFOUND, "", "no delivery with ID %lld", (long long)id);
    return mr_store_fail(s, err, "reading a delivery");
}

/* The targets with pending deliveries, rotated so that each claim starts
 * after the target the last one served: one busy target cannot starve the
 * others. */
static int pending_targets(struct mr_store *s, int64_t after, int64_t **ids, int **parallel,
                           size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT t.id, t.parallel FROM delivery_targets t"
                              " WHERE t.enabled = 1 AND EXISTS (SELECT 1 FROM deliveries d"
                              "  WHERE d.target_id = t.id AND d.state = 'pending')"
                              " ORDER BY t.id <= ?1, t.id",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, after);
    size_t cap = 0;
    *ids = NULL;
    *parallel = NULL;
    *n = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *ids = mr_xrealloc(*ids, cap * sizeof(**ids));
            *parallel = mr_xrealloc(*parallel, cap * sizeof(**parallel));
        }
        (*ids)[*n] = sqlite3_column_int64(st, 0);
        (*parallel)[(*n)++] = sqlite3_column_int(st, 1);
    }
    mr_store_release(s, st);
    return step == SQLITE_DONE ? 0 : mr_store_fail(s, err, "reading the outbox");
}

/* Up to max due, unleased deliveries of one target into ids. In order:
 * from the oldest pending one, stopping at the first that is not due (or
 * leased: another worker has the target). */
static int due_of_target(struct mr_store *s, int64_t target, int parallel, int64_t now_ms,
                         size_t max, int64_t *ids, size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st,
        parallel ? "SELECT id, next_ms, lease_ms FROM deliveries WHERE target_id = ?1"
                   " AND state = 'pending' AND next_ms <= ?2 AND lease_ms <= ?2 ORDER BY id"
                   " LIMIT ?3"
                 : "SELECT id, next_ms, lease_ms FROM deliveries WHERE target_id = ?1"
                   " AND state = 'pending' AND ?2 = ?2 ORDER BY id LIMIT ?3",
        err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, target);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, (int64_t)max);
    *n = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int64(st, 1) > now_ms || sqlite3_column_int64(st, 2) > now_ms)
            break;
        ids[(*n)++] = sqlite3_column_int64(st, 0);
    }
    mr_store_release(s, st);
    return step == SQLITE_DONE || step == SQLITE_ROW ? 0
                                                     : mr_store_fail(s, err, "reading the outbox");
}

/* Who holds a lease: this host's name and this process's ID. */
static const char *lease_owner(void)
{
    static __thread char owner[300];
    if (!owner[0]) {
        char host[256] = "";
        gethostname(host, sizeof(host) - 1);
        snprintf(owner, sizeof(owner), "%s:%ld", host, (long)getpid());
    }
    return owner;
}

int mr_store_outbox_recover(struct mr_store *s, size_t *n, mr_error *err)
{
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    size_t hl = strlen(host);
    sqlite3_stmt *st;
    *n = 0;
    int rc =
        mr_store_prepare(s, &st,
                         "SELECT DISTINCT lease_owner FROM deliveries"
                         " WHERE state = 'pending' AND lease_ms > ?1 AND lease_owner IS NOT NULL",
                         err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, mr_now_wall_ms());
    char **dead = NULL;
    size_t ndead = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *o = (const char *)sqlite3_column_text(st, 0);
        if (!o || strncmp(o, host, hl) != 0 || o[hl] != ':')
            continue; /* another machine's: its lease runs out by itself */
        long pid = atol(o + hl + 1);
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        dead = mr_xrealloc(dead, (ndead + 1) * sizeof(*dead));
        dead[ndead++] = mr_xstrdup(o);
    }
    mr_store_release(s, st);
    if (step != SQLITE_DONE)
        rc = mr_store_fail(s, err, "reading the outbox");
    if (rc == 0 && ndead)
        rc = mr_store_prepare(s, &st,
                              "UPDATE deliveries SET lease_ms = 0, lease_owner = NULL"
                              " WHERE lease_owner = ?1 AND state = 'pending'",
                              err);
    for (size_t i = 0; rc == 0 && i < ndead; i++) {
        mr_store_bind_text(st, 1, dead[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = mr_store_fail(s, err, "releasing deliveries");
        else
            *n += (size_t)sqlite3_changes(s->db);
        sqlite3_reset(st);
    }
    if (rc == 0 && ndead)
        mr_store_release(s, st);
    for (size_t i = 0; i < ndead; i++)
        free(dead[i]);
    free(dead);
    return rc;
}

int mr_store_outbox_claim(struct mr_store *s, int64_t now_ms, int64_t lease_until_ms,
                          const int64_t *skip, size_t nskip, size_t max, int64_t *target,
                          int64_t *ids, size_t *n, mr_error *err)
{
    static int64_t last_served; /* where the rotation starts; a hint, races are harmless */
    int64_t *targets = NULL;
    int *parallel = NULL;
    size_t nt = 0;
    *n = 0;
    *target = 0;
    int rc = pending_targets(s, __atomic_load_n(&last_served, __ATOMIC_RELAXED), &targets,
                             &parallel, &nt, err);
    for (size_t i = 0; rc == 0 && i < nt && *n == 0; i++) {
        int busy = 0;
        for (size_t k = 0; k < nskip && !busy; k++)
            busy = skip[k] == targets[i] && !parallel[i];
        if (busy)
            continue;
        rc = due_of_target(s, targets[i], parallel[i], now_ms, max, ids, n, err);
        if (rc == 0 && *n)
            *target = targets[i];
    }
    free(targets);
    free(parallel);
    if (rc || *n == 0)
        return rc;
    __atomic_store_n(&last_served, *target, __ATOMIC_RELAXED);
    sqlite3_stmt *st = NULL;
    rc = mr_store_prepare(
        s, &st, "UPDATE deliveries SET lease_ms = ?1, lease_owner = ?3 WHERE id = ?2", err);
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        sqlite3_bind_int64(st, 1, lease_until_ms);
        sqlite3_bind_int64(st, 2, ids[i]);
        mr_store_bind_text(st, 3, lease_owner());
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = mr_store_fail(s, err, "claiming deliveries");
        sqlite3_reset(st);
    }
    if (st)
        mr_store_release(s, st);
    return rc;
}

int mr_store_delivery_result(struct mr_store *s, int64_t id, const char *state, int64_t now_ms,
                             int64_t next_ms, const char *error, const char *error_said,
                             const char *response, const char *progress, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st,
        "UPDATE deliveries SET state = ?2, attempts = attempts + 1, last_attempt_ms = ?3,"
        " next_ms = ?4, lease_ms = 0, done_ms = CASE WHEN ?2 = 'pending' THEN NULL ELSE ?3 END,"
        " last_error = ?5, last_response = ?6, progress = coalesce(?7, progress),"
        " last_error_said = ?8 WHERE id = ?1",
        err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    mr_store_bind_text(st, 2, state);
    sqlite3_bind_int64(st, 3, now_ms);
    sqlite3_bind_int64(st, 4, next_ms);
    mr_store_bind_text(st, 5, error && error[0] ? error : NULL);
    mr_store_bind_text(st, 6, response && response[0] ? response : NULL);
    mr_store_bind_text(st, 7, progress && progress[0] ? progress : NULL);
    mr_store_bind_text(st, 8, error && error[0] ? error_said : NULL);
    rc = mr_store_run(s, st, "recording a delivery", err);
    mr_store_events_touch(s);
    return rc;
}

int mr_store_delivery_release(struct mr_store *s, const int64_t *ids, size_t n, mr_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = mr_store_prepare(s, &st, "UPDATE deliveries SET lease_ms = 0 WHERE id = ?", err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_bind_int64(st, 1, ids[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = mr_store_fail(s, err, "releasing deliveries");
        sqlite3_reset(st);
    }
    if (st)
        mr_store_release(s, st);
    return rc;
}

int mr_store_delivery_replay(struct mr_store *s, const struct mr_delivery_filter *f, int64_t now_ms,
                             size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    char *where = delivery_where(f, "failed");
    char *sql = mr_xasprintf("UPDATE deliveries AS d SET state = 'pending', window_ms = ?6,"
                             " next_ms = ?6, lease_ms = 0, done_ms = NULL%s",
                             where);
    free(where);
    int rc = mr_store_prepare(s, &st, sql, err);
    free(sql);
    if (rc)
        return rc;
    bind_delivery_filter(st, f, "failed");
    sqlite3_bind_int64(st, 6, now_ms);
    rc = mr_store_run(s, st, "replaying deliveries", err);
    *n = rc ? 0 : (size_t)sqlite3_changes(s->db);
    return rc;
}

int mr_store_outbox_next_due(struct mr_store *s, int64_t *next_ms, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT min(max(next_ms, lease_ms)) FROM deliveries"
                              " WHERE state = 'pending'",
                              err);
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    *next_ms = step == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL
                   ? sqlite3_column_int64(st, 0)
                   : INT64_MAX;
    mr_store_release(s, st);
    return step == SQLITE_ROW ? 0 : mr_store_fail(s, err, "reading the outbox");
}

int mr_store_outbox_totals(struct mr_store *s, struct mr_outbox_totals *t, mr_error *err)
{
    memset(t, 0, sizeof(*t));
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT count(*), min(created_ms) FROM deliveries"
                              " WHERE state = 'pending'",
                              err);
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        t->pending = (uint64_t)sqlite3_column_int64(st, 0);
        t->oldest_pending_ms = sqlite3_column_int64(st, 1);
    }
    mr_store_release(s, st);
    if (step != SQLITE_ROW)
        return mr_store_fail(s, err, "reading the outbox");
    rc = mr_store_prepare(
        s, &st,
        "SELECT t.id, t.name, t.account_id, t.kind,"
        " (SELECT count(*) FROM deliveries WHERE target_id = t.id AND state = 'pending'),"
        " (SELECT count(*) FROM deliveries WHERE target_id = t.id AND state = 'delivered'),"
        " (SELECT count(*) FROM deliveries WHERE target_id = t.id AND state = 'failed'),"
        " (SELECT count(*) FROM deliveries WHERE target_id = t.id AND state = 'skipped')"
        " FROM delivery_targets t ORDER BY t.id",
        err);
    if (rc)
        return rc;
    size_t cap = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (t->ntargets == cap) {
            cap = cap ? cap * 2 : 16;
            t->targets = mr_xrealloc(t->targets, cap * sizeof(*t->targets));
        }
        struct mr_delivery_counts *c = &t->targets[t->ntargets++];
        c->target_id = sqlite3_column_int64(st, 0);
        c->target_name = mr_store_column_text(st, 1);
        c->account_id = sqlite3_column_int64(st, 2);
        c->kind = mr_store_column_text(st, 3);
        c->pending = (uint64_t)sqlite3_column_int64(st, 4);
        c->delivered = (uint64_t)sqlite3_column_int64(st, 5);
        c->failed = (uint64_t)sqlite3_column_int64(st, 6);
        c->skipped = (uint64_t)sqlite3_column_int64(st, 7);
    }
    mr_store_release(s, st);
    if (step != SQLITE_DONE) {
        mr_outbox_totals_clear(t);
        return mr_store_fail(s, err, "reading the outbox");
    }
    return 0;
}

void mr_outbox_totals_clear(struct mr_outbox_totals *t)
{
    for (size_t i = 0; i < t->ntargets; i++) {
        free(t->targets[i].target_name);
        free(t->targets[i].kind);
    }
    free(t->targets);
    memset(t, 0, sizeof(*t));
}

int mr_store_outbox_relaxed(struct mr_store *s, int relaxed, mr_error *err)
{
    return mr_store_exec(s, relaxed ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", err);
}
