/* Push (IMAP IDLE): which accounts want it, and what the daemon's push
 * connections are doing (push_status), for the report, the API and the
 * command line. */
#include "store/store_private.h"

#include "util/mem.h"

#include <stdio.h>
#include <string.h>

static void read_want(sqlite3_stmt *st, void *out)
{
    struct mr_push_want *w = out;
    w->account_id = sqlite3_column_int64(st, 0);
    w->revision = sqlite3_column_int64(st, 1);
}

int mr_store_push_wanted(struct mr_store *s, struct mr_push_want **items, size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT id, revision FROM accounts WHERE enabled = 1"
                              " AND automatic_check = 1 AND push = 1 AND protocol = 'imap'"
                              " ORDER BY id",
                              err);
    if (rc)
        return rc;
    return mr_store_collect(s, st, sizeof(**items), read_want, NULL, (void **)items, n, err);
}

int mr_store_push_status_save(struct mr_store *s, const struct mr_push_status *rows, size_t n,
                              mr_error *err)
{
    sqlite3_stmt *put, *del;
    int rc = mr_store_begin(s, err);
    if (rc)
        return rc;
    rc = mr_store_prepare(s, &put,
                          "INSERT OR REPLACE INTO push_status (account_id, mode, reason,"
                          " reason_said, since, connected_at, latency_ms, notices)"
                          " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8"
                          " WHERE EXISTS (SELECT 1 FROM accounts WHERE id = ?1)",
                          err);
    if (rc) {
        mr_store_rollback(s);
        return rc;
    }
    rc = mr_store_prepare(s, &del, "DELETE FROM push_status WHERE account_id = ?", err);
    if (rc) {
        mr_store_release(s, put);
        mr_store_rollback(s);
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct mr_push_status *r = &rows[i];
        sqlite3_stmt *st = r->mode[0] ? put : del;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, r->account_id);
        if (r->mode[0]) {
            mr_store_bind_text(st, 2, r->mode);
            mr_store_bind_text(st, 3, r->reason[0] ? r->reason : NULL);
            mr_store_bind_text(st, 4, r->reason_said);
            sqlite3_bind_int64(st, 5, r->since);
            if (r->connected_at)
                sqlite3_bind_int64(st, 6, r->connected_at);
            if (r->latency_ms >= 0)
                sqlite3_bind_int64(st, 7, r->latency_ms);
            sqlite3_bind_int64(st, 8, (int64_t)r->notices);
        }
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = mr_store_fail(s, err, "recording the push connections");
    }
    mr_store_release(s, put);
    mr_store_release(s, del);
    if (rc == 0)
        return mr_store_commit(s, err);
    mr_store_rollback(s);
    return rc;
}

int mr_store_push_status_clear(struct mr_store *s, mr_error *err)
{
    return mr_store_exec(s, "DELETE FROM push_status", err);
}

static void read_status(sqlite3_stmt *st, void *out)
{
    struct mr_push_status *r = out;
    memset(r, 0, sizeof(*r));
    r->account_id = sqlite3_column_int64(st, 0);
    snprintf(r->mode, sizeof(r->mode), "%s", (const char *)sqlite3_column_text(st, 1));
    const unsigned char *reason = sqlite3_column_text(st, 2);
    snprintf(r->reason, sizeof(r->reason), "%s", reason ? (const char *)reason : "");
    r->reason_said = mr_store_column_text(st, 3);
    r->since = sqlite3_column_int64(st, 4);
    r->connected_at = sqlite3_column_int64(st, 5);
    r->latency_ms = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 6);
    r->notices = (uint64_t)sqlite3_column_int64(st, 7);
}

static void clear_status(void *r)
{
    mr_push_status_clear(r);
}

#define STATUS_COLUMNS                                                                             \
    "SELECT account_id, mode, reason, reason_said, since, connected_at, latency_ms, notices"       \
    " FROM push_status"

int mr_store_push_status_get(struct mr_store *s, int64_t account, struct mr_push_status *out,
                             mr_error *err)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof(*out));
    out->latency_ms = -1;
    int rc = mr_store_prepare(s, &st, STATUS_COLUMNS " WHERE account_id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    mr_error e = {0};
    rc = mr_store_fetch_one(s, st, read_status, out, MR_OBJ_ACCOUNT, account, &e);
    if (rc == MR_ENOTFOUND) { /* none recorded: not pushed */
        memset(out, 0, sizeof(*out));
        out->account_id = account;
        out->latency_ms = -1;
        return 0;
    }
    if (rc && err)
        *err = e;
    return rc;
}

int mr_store_push_status_list(struct mr_store *s, struct mr_push_status **items, size_t *n,
                              mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, STATUS_COLUMNS " ORDER BY account_id", err);
    if (rc)
        return rc;
    return mr_store_collect(s, st, sizeof(**items), read_status, clear_status, (void **)items, n,
                            err);
}

void mr_push_status_clear(struct mr_push_status *r)
{
    mr_freep(&r->reason_said);
}

void mr_push_status_list_free(struct mr_push_status **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mr_push_status_clear(&(*items)[i]);
    mr_freep(items);
}
