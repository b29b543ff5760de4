/* After-fetch actions (issue 19): which stored messages still wait for
 * their action on the server (seen, move, delete), and the flag cleared
 * once the server has done it. A message's deliveries are done when none
 * of them is pending or failed (delivered and skipped are done). */
#include "store/store_private.h"

#include "util/mem.h"

#include <string.h>

#define DELIVERIES_DONE                                                                            \
    "NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id"                             \
    " AND d.state IN ('pending', 'failed'))"

static void read_item(sqlite3_stmt *st, void *out)
{
    struct mr_action_item *it = out;
    it->id = sqlite3_column_int64(st, 0);
    it->uid = (uint64_t)sqlite3_column_int64(st, 1);
}

static void clear_item(void *it)
{
    (void)it; /* nothing owned */
}

int mr_store_actions_pending(struct mr_store *s, int64_t account, uint32_t uidvalidity,
                             int delivered, struct mr_action_item **items, size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    *items = NULL;
    *n = 0;
    int rc = mr_store_prepare(s, &st,
                              "SELECT m.id, m.uid FROM messages m"
                              " WHERE m.account_id = ?1 AND m.action_pending = 1"
                              " AND m.uidvalidity = ?2 AND (?3 = 0 OR " DELIVERIES_DONE ")"
                              " ORDER BY m.uid",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, uidvalidity);
    sqlite3_bind_int(st, 3, delivered ? 1 : 0);
    return mr_store_collect(s, st, sizeof(**items), read_item, clear_item, (void **)items, n, err);
}

int mr_store_action_find(struct mr_store *s, int64_t account, uint32_t uidvalidity, uint64_t uid,
                         const char *uidl, int64_t *id, mr_error *err)
{
    sqlite3_stmt *st;
    *id = 0;
    int rc = mr_store_prepare(s, &st,
                              uidl ? "SELECT id FROM messages WHERE account_id = ?1 AND uidl = ?4"
                                     " AND ?2 = ?2 AND ?3 = ?3"
                                   : "SELECT id FROM messages WHERE account_id = ?1"
                                     " AND uidvalidity = ?2 AND uid = ?3 AND ?4 IS ?4",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, uidvalidity);
    sqlite3_bind_int64(st, 3, (int64_t)uid);
    mr_store_bind_text(st, 4, uidl);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    mr_store_release(s, st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : mr_store_fail(s, err, "looking up");
}

int mr_store_actions_deliveries_done(struct mr_store *s, const int64_t *ids, size_t n, int *done,
                                     mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT " DELIVERIES_DONE " FROM (SELECT ?1 AS id) m", err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_bind_int64(st, 1, ids[i]);
        int step = sqlite3_step(st);
        done[i] = step == SQLITE_ROW && sqlite3_column_int(st, 0);
        if (step != SQLITE_ROW)
            rc = mr_store_fail(s, err, "reading deliveries");
        sqlite3_reset(st);
    }
    mr_store_release(s, st);
    return rc;
}

/* One short transaction of its own, unless the caller has one open. */
int mr_store_actions_clear(struct mr_store *s, const int64_t *ids, size_t n, mr_error *err)
{
    if (!n)
        return 0;
    int own = !mr_store_in_transaction(s);
    int rc = own ? mr_store_begin(s, err) : 0;
    sqlite3_stmt *st = NULL;
    if (rc == 0)
        rc = mr_store_prepare(s, &st, "UPDATE messages SET action_pending = 0 WHERE id = ?1", err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_bind_int64(st, 1, ids[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = mr_store_fail(s, err, "clearing an after-fetch action");
        sqlite3_reset(st);
    }
    if (st)
        mr_store_release(s, st);
    if (own && rc == 0)
        rc = mr_store_commit(s, err);
    else if (own && mr_store_in_transaction(s))
        mr_store_rollback(s);
    return rc;
}
