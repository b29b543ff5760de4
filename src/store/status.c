/* Check status and totals, derived from the fetch history: nothing extra to
 * keep in step, and it survives restarts. */
#include "store/store_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per account: its last finished run, and the errors since its last success. */
#define STATUS_SELECT                                                                              \
    "SELECT a.id, a.check_interval, a.created_at, r.started_at, r.ended_at, r.result,"             \
    " r.fetched, r.error,"                                                                         \
    " (SELECT count(*) FROM fetch_runs f WHERE f.account_id = a.id AND f.result = 'error'"         \
    "   AND f.id > coalesce((SELECT max(g.id) FROM fetch_runs g WHERE g.account_id = a.id"         \
    "   AND g.result = 'ok'), 0)),"                                                                \
    " EXISTS (SELECT 1 FROM fetch_runs x WHERE x.account_id = a.id AND x.result = 'running'),"     \
    " (SELECT ended_at FROM fetch_runs o WHERE o.id = (SELECT max(id) FROM fetch_runs"             \
    "   WHERE account_id = a.id AND result = 'ok')), r.retry_after, r.error_said"                  \
    " FROM accounts a LEFT JOIN fetch_runs r ON r.id = nullif(max("                                \
    "   coalesce((SELECT max(id) FROM fetch_runs WHERE account_id = a.id AND result = 'ok'), 0),"  \
    "   coalesce((SELECT max(id) FROM fetch_runs WHERE account_id = a.id AND result = 'error'), "  \
    "0)"                                                                                           \
    " ), 0)"

static void read_status(sqlite3_stmt *st, void *out)
{
    struct mr_check_status *c = out;
    memset(c, 0, sizeof(*c));
    c->account_id = sqlite3_column_int64(st, 0);
    c->interval = sqlite3_column_int(st, 1);
    c->created_at = sqlite3_column_int64(st, 2);
    c->last_started = sqlite3_column_int64(st, 3);
    c->last_ended = sqlite3_column_int64(st, 4);
    const unsigned char *res = sqlite3_column_text(st, 5);
    snprintf(c->last_result, sizeof(c->last_result), "%s", res ? (const char *)res : "");
    c->last_fetched = (uint64_t)sqlite3_column_int64(st, 6);
    const unsigned char *e = sqlite3_column_text(st, 7);
    snprintf(c->last_error, sizeof(c->last_error), "%s", e ? (const char *)e : "");
    c->failures = sqlite3_column_int(st, 8);
    c->running = sqlite3_column_int(st, 9);
    c->last_success = sqlite3_column_int64(st, 10);
    c->retry_after = sqlite3_column_int64(st, 11);
}

static void clear_status(void *p)
{
    (void)p;
}

int mr_store_due_candidates(struct mr_store *s, struct mr_check_status **items, size_t *n,
                            mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st, STATUS_SELECT " WHERE a.enabled = 1 AND a.automatic_check = 1 ORDER BY a.id", err);
    if (rc)
        return rc;
    return mr_store_collect(s, st, sizeof(**items), read_status, clear_status, (void **)items, n,
                            err);
}

struct status_said {
    struct mr_check_status *c;
    char **said;
};

/* The status and its error as said from the same row: read apart, a run
 * ending between the two would pair one run's error with another's said. */
static void read_status_said(sqlite3_stmt *st, void *out)
{
    struct status_said *ss = out;
    read_status(st, ss->c);
    *ss->said = ss->c->last_error[0] ? mr_store_column_text(st, 12) : NULL;
}

int mr_store_check_status_said(struct mr_store *s, int64_t account, struct mr_check_status *out,
                               char **said, mr_error *err)
{
    sqlite3_stmt *st;
    char *ignored = NULL;
    struct status_said ss = {out, said ? said : &ignored};
    *ss.said = NULL;
    int rc = mr_store_prepare(s, &st, STATUS_SELECT " WHERE a.id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    rc = mr_store_fetch_one(s, st, read_status_said, &ss, MR_OBJ_ACCOUNT, account, err);
    free(ignored);
    return rc;
}

int mr_store_check_status(struct mr_store *s, int64_t account, struct mr_check_status *out,
                          mr_error *err)
{
    return mr_store_check_status_said(s, account, out, NULL, err);
}

static void read_id(sqlite3_stmt *st, void *out)
{
    *(int64_t *)out = sqlite3_column_int64(st, 0);
}

int mr_store_accounts_running(struct mr_store *s, int64_t **ids, size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st, "SELECT DISTINCT account_id FROM fetch_runs WHERE result = 'running'", err);
    if (rc)
        return rc;
    return mr_store_collect(s, st, sizeof(**ids), read_id, clear_status, (void **)ids, n, err);
}

int mr_store_close_stale_runs(struct mr_store *s, int64_t account, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "UPDATE fetch_runs SET result = 'error', ended_at = started_at,"
                              " error = 'interrupted: mailroom stopped during the run (what was"
                              " stored is kept; nothing unstored was deleted)'"
                              " WHERE result = 'running' AND account_id = ?",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    return mr_store_run(s, st, "closing interrupted runs", err);
}

static int one_row(struct mr_store *s, const char *sql, sqlite3_int64 *vals, int nvals,
                   mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, sql, err);
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    for (int i = 0; i < nvals && step == SQLITE_ROW; i++)
        vals[i] = sqlite3_column_int64(st, i);
    mr_store_release(s, st);
    return step == SQLITE_ROW ? 0 : mr_store_fail(s, err, "reading totals");
}

int mr_store_fetch_totals(struct mr_store *s, struct mr_fetch_totals *t, mr_error *err)
{
    sqlite3_int64 v[16] = {0};
    memset(t, 0, sizeof(*t));
    int rc = one_row(s,
                     "SELECT count(*), coalesce(sum(result = 'error'), 0),"
                     " coalesce(sum(fetched), 0), coalesce(sum(bytes), 0),"
                     " coalesce(sum(ended_at - started_at <= 1), 0),"
                     " coalesce(sum(ended_at - started_at <= 2), 0),"
                     " coalesce(sum(ended_at - started_at <= 5), 0),"
                     " coalesce(sum(ended_at - started_at <= 10), 0),"
                     " coalesce(sum(ended_at - started_at <= 30), 0),"
                     " coalesce(sum(ended_at - started_at <= 60), 0),"
                     " coalesce(sum(ended_at - started_at <= 300), 0),"
                     " coalesce(sum(ended_at - started_at), 0)"
                     " FROM fetch_runs WHERE result <> 'running'",
                     v, 12, err);
    if (rc)
        return rc;
    t->runs = (uint64_t)v[0];
    t->failed = (uint64_t)v[1];
    t->fetched = (uint64_t)v[2];
    t->bytes = (uint64_t)v[3];
    for (int i = 0; i < 7; i++)
        t->duration_buckets[i] = (uint64_t)v[4 + i];
    t->duration_buckets[7] = t->runs;
    t->duration_sum = (double)v[11];
    rc = one_row(
        s, "SELECT coalesce(sum(enabled = 1), 0), coalesce(sum(enabled = 0), 0) FROM accounts", v,
        2, err);
    t->accounts_enabled = (uint64_t)v[0];
    t->accounts_disabled = (uint64_t)v[1];
    if (rc == 0)
        rc = one_row(s,
                     "SELECT count(*) FROM accounts a WHERE (SELECT result FROM fetch_runs"
                     " WHERE account_id = a.id AND result <> 'running' ORDER BY id DESC LIMIT 1)"
                     " = 'error'",
                     v, 1, err);
    t->accounts_with_errors = (uint64_t)v[0];
    return rc;
}
