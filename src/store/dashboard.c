/* The dashboard: how the accounts are doing now, and checks, messages and
 * the outbox's backlog over the last hours and days. Everything comes from
 * the fetch history and the outbox, each query on an index (see
 * mr_store_dashboard_plans and the migration "dashboard indexes"). */
#include "store/store_private.h"

#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

/* Each account with its last finished check (the report's "errors"
 * filter reads the same run) and whether its credential needs a sign-in. */
#define LAST_CHECKS                                                                                \
    "WITH last AS (SELECT a.id, a.name, a.enabled, a.credential_id, c.name AS credential,"         \
    " (SELECT r.result FROM fetch_runs r WHERE r.account_id = a.id AND r.result <> 'running'"      \
    "  ORDER BY r.id DESC LIMIT 1) AS result,"                                                     \
    " (c.kind = 'oauth2' AND (c.token_state = 'consent_needed' OR (c.token_state IS NULL"          \
    "  AND coalesce(json_extract(c.oauth, '$.flow'), 'delegated') <> 'app'))) AS consent"          \
    " FROM accounts a LEFT JOIN credentials c ON c.id = a.credential_id) "

static const char COUNTS_SQL[] = LAST_CHECKS
    "SELECT count(*), coalesce(sum(enabled = 1 AND coalesce(result, '') <> 'error'), 0),"
    " coalesce(sum(enabled = 1 AND result = 'error'), 0),"
    " coalesce(sum(enabled = 0), 0), coalesce(sum(enabled = 1 AND result IS NULL), 0),"
    " coalesce(sum(enabled = 1 AND consent), 0) FROM last";

static const char FAILING_SQL[] =
    LAST_CHECKS "SELECT id, name, credential_id, credential FROM last"
                " WHERE enabled = 1 AND result = 'error' ORDER BY name LIMIT ?";

static const char CONSENT_SQL[] =
    LAST_CHECKS "SELECT id, name, credential_id, credential FROM last"
                " WHERE enabled = 1 AND consent ORDER BY name LIMIT ?";

static const char SETUP_SQL[] =
    "SELECT (SELECT count(*) FROM credentials),"
    " EXISTS (SELECT 1 FROM accounts a WHERE EXISTS (SELECT 1 FROM fetch_runs r"
    "  WHERE r.account_id = a.id AND r.result = 'ok')),"
    " EXISTS (SELECT 1 FROM delivery_targets),"
    " (SELECT count(*) FROM deliveries INDEXED BY deliveries_pending_since"
    "  WHERE state = 'pending'),"
    " (SELECT count(*) FROM deliveries INDEXED BY deliveries_failed WHERE state = 'failed')";

/* ?1 start, ?2 step, ?3 end (seconds) */
static const char RUNS_SQL[] =
    "SELECT (ended_at - ?1) / ?2, coalesce(sum(fetched), 0), coalesce(sum(result = 'error'), 0),"
    " count(*) FROM fetch_runs WHERE ended_at >= ?1 AND ended_at < ?3 AND result <> 'running'"
    " GROUP BY 1";

/* ?1 start, ?2 step (ms). A delivery was pending from its creation to its
 * end (done_ms): the pending ones, and those done since the start. */
static const char BACKLOG_SQL[] =
    "SELECT max(created_ms - ?1, 0) / ?2, -1, count(*) FROM deliveries"
    " INDEXED BY deliveries_pending_since WHERE state = 'pending' GROUP BY 1"
    " UNION ALL "
    "SELECT max(created_ms - ?1, 0) / ?2, (done_ms - ?1) / ?2, count(*) FROM deliveries"
    " WHERE done_ms >= ?1 GROUP BY 1, 2";

static const char *const PLANNED[] = {COUNTS_SQL, FAILING_SQL, CONSENT_SQL,
                                      SETUP_SQL,  RUNS_SQL,    BACKLOG_SQL};

static void read_account(sqlite3_stmt *st, void *out)
{
    struct mr_dashboard_account *a = out;
    a->id = sqlite3_column_int64(st, 0);
    a->name = mr_store_column_text(st, 1);
    a->credential_id = sqlite3_column_int64(st, 2);
    a->credential_name = mr_store_column_text(st, 3);
}

static void clear_account(void *p)
{
    struct mr_dashboard_account *a = p;
    free(a->name);
    free(a->credential_name);
}

static int accounts(struct mr_store *s, const char *sql, size_t limit,
                    struct mr_dashboard_account **items, size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, sql, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
    return mr_store_collect(s, st, sizeof(**items), read_account, clear_account, (void **)items, n,
                            err);
}

static int row(struct mr_store *s, const char *sql, sqlite3_int64 *v, int nv, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, sql, err);
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    for (int i = 0; i < nv && step == SQLITE_ROW; i++)
        v[i] = sqlite3_column_int64(st, i);
    mr_store_release(s, st);
    return step == SQLITE_ROW ? 0 : mr_store_fail(s, err, "reading the dashboard");
}

int mr_store_dashboard(struct mr_store *s, size_t limit, struct mr_dashboard *out, mr_error *err)
{
    sqlite3_int64 v[6] = {0};
    memset(out, 0, sizeof(*out));
    int rc = row(s, COUNTS_SQL, v, 6, err);
    if (rc)
        return rc;
    out->accounts = (uint64_t)v[0];
    out->ok = (uint64_t)v[1];
    out->failing = (uint64_t)v[2];
    out->disabled = (uint64_t)v[3];
    out->never_checked = (uint64_t)v[4];
    out->needs_consent = (uint64_t)v[5];
    rc = row(s, SETUP_SQL, v, 5, err);
    if (rc)
        return rc;
    out->credentials = (uint64_t)v[0];
    out->checked_ok = (int)v[1];
    out->deliveries = (int)v[2];
    out->pending = (uint64_t)v[3];
    out->failed = (uint64_t)v[4];
    size_t messages = 0;
    rc = mr_store_message_count(s, 0, &messages, err);
    out->messages = messages;
    if (rc == 0)
        rc = accounts(s, FAILING_SQL, limit, &out->failing_list, &out->nfailing, err);
    if (rc == 0)
        rc = accounts(s, CONSENT_SQL, limit, &out->consent_list, &out->nconsent, err);
    if (rc)
        mr_dashboard_clear(out);
    return rc;
}

void mr_dashboard_clear(struct mr_dashboard *d)
{
    for (size_t i = 0; i < d->nfailing; i++)
        clear_account(&d->failing_list[i]);
    for (size_t i = 0; i < d->nconsent; i++)
        clear_account(&d->consent_list[i]);
    free(d->failing_list);
    free(d->consent_list);
    memset(d, 0, sizeof(*d));
}

int mr_store_dashboard_series(struct mr_store *s, int64_t start, int64_t step, size_t n,
                              struct mr_dashboard_bucket *out, mr_error *err)
{
    if (step <= 0 || n == 0)
        return mr_error_set(err, MR_EINVAL, NULL, "a dashboard series needs buckets");
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].start = start + (int64_t)i * step;
    }
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, RUNS_SQL, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, start);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_int64(st, 3, start + (int64_t)n * step);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 b = sqlite3_column_int64(st, 0);
        if (b < 0 || (size_t)b >= n)
            continue;
        out[b].fetched = (uint64_t)sqlite3_column_int64(st, 1);
        out[b].failures = (uint64_t)sqlite3_column_int64(st, 2);
        out[b].checks = (uint64_t)sqlite3_column_int64(st, 3);
    }
    mr_store_release(s, st);
    if (r != SQLITE_DONE)
        return mr_store_fail(s, err, "reading the check history");

    /* pending at the end of bucket i: created in bucket cb <= i, done in
     * bucket db > i (or not done); summed from the differences */
    int64_t *diff = mr_xcalloc(n + 1, sizeof(*diff));
    rc = mr_store_prepare(s, &st, BACKLOG_SQL, err);
    if (rc) {
        free(diff);
        return rc;
    }
    sqlite3_bind_int64(st, 1, start * 1000);
    sqlite3_bind_int64(st, 2, step * 1000);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 cb = sqlite3_column_int64(st, 0), db = sqlite3_column_int64(st, 1);
        int64_t count = sqlite3_column_int64(st, 2);
        if (cb >= (sqlite3_int64)n)
            continue; /* created after the last bucket (a clock step) */
        if (db >= 0 && db <= cb)
            continue; /* created and done within one bucket */
        diff[cb] += count;
        if (db >= 0 && db < (sqlite3_int64)n)
            diff[db] -= count;
    }
    mr_store_release(s, st);
    if (r != SQLITE_DONE) {
        free(diff);
        return mr_store_fail(s, err, "reading the outbox's history");
    }
    int64_t pending = 0;
    for (size_t i = 0; i < n; i++) {
        pending += diff[i];
        out[i].backlog = pending > 0 ? (uint64_t)pending : 0;
    }
    free(diff);
    return 0;
}

int mr_store_dashboard_plans(struct mr_store *s, struct mr_buf *out, mr_error *err)
{
    for (size_t q = 0; q < sizeof(PLANNED) / sizeof(PLANNED[0]); q++) {
        char *sql = mr_xasprintf("EXPLAIN QUERY PLAN %s", PLANNED[q]);
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        free(sql);
        if (rc != SQLITE_OK)
            return mr_store_fail(s, err, "explaining the dashboard's queries");
        mr_buf_printf(out, "query %zu\n", q);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            mr_buf_printf(out, "%s\n", (const char *)sqlite3_column_text(st, 3));
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return mr_store_fail(s, err, "explaining the dashboard's queries");
    }
    return 0;
}
