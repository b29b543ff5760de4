/* Stored messages, fetch state, skipped messages and fetch history. */
#include "store/store_private.h"

#include "util/mem.h"

#include <stdio.h>
#include <string.h>

int mr_store_fetch_state(struct mr_store *s, int64_t account, uint32_t *uidvalidity,
                         uint64_t *last_uid, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st, "SELECT uidvalidity, last_uid FROM fetch_state WHERE account_id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    *uidvalidity = 0;
    *last_uid = 0;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *uidvalidity = (uint32_t)sqlite3_column_int64(st, 0);
        *last_uid = (uint64_t)sqlite3_column_int64(st, 1);
    }
    mr_store_release(s, st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : mr_store_fail(s, err, "reading state");
}

/* An UPDATE, or an INSERT for the first time: INSERT OR REPLACE deletes the
 * old row first, which with foreign keys makes SQLite keep a statement
 * journal (a 64 KiB page written to a temporary file per commit). */
int mr_store_set_fetch_state(struct mr_store *s, int64_t account, uint32_t uidvalidity,
                             uint64_t last_uid, mr_error *err)
{
    static const char *const sql[] = {
        "UPDATE fetch_state SET uidvalidity = ?2, last_uid = ?3 WHERE account_id = ?1",
        "INSERT INTO fetch_state (account_id, uidvalidity, last_uid) VALUES (?1, ?2, ?3)"};
    for (size_t i = 0; i < 2; i++) {
        sqlite3_stmt *st;
        int rc = mr_store_prepare(s, &st, sql[i], err);
        if (rc)
            return rc;
        sqlite3_bind_int64(st, 1, account);
        sqlite3_bind_int64(st, 2, uidvalidity);
        sqlite3_bind_int64(st, 3, (int64_t)last_uid);
        if ((rc = mr_store_run(s, st, "writing fetch state", err)))
            return rc;
        if (sqlite3_changes(s->db) > 0)
            break;
    }
    return 0;
}

/* *found: whether the row exists; *flag: its first column. */
static int exists(struct mr_store *s, const char *sql, int64_t account, uint32_t uidvalidity,
                  uint64_t uid, const char *uidl, int *found, int *flag, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, sql, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, uidvalidity);
    sqlite3_bind_int64(st, 3, (int64_t)uid);
    mr_store_bind_text(st, 4, uidl);
    int step = sqlite3_step(st);
    *found = step == SQLITE_ROW;
    *flag = *found && sqlite3_column_int(st, 0);
    mr_store_release(s, st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : mr_store_fail(s, err, "looking up");
}

int mr_store_message_known(struct mr_store *s, int64_t account, uint32_t uidvalidity, uint64_t uid,
                           const char *uidl, int *stored, int *mismatch, int *skipped,
                           mr_error *err)
{
    const char *where = uidl ? " WHERE account_id = ?1 AND uidl = ?4 AND ?2 = ?2 AND ?3 = ?3"
                             : " WHERE account_id = ?1 AND uidvalidity = ?2 AND uid = ?3"
                               " AND ?4 IS ?4";
    char *sql = mr_xasprintf("SELECT listed_size IS NOT NULL FROM messages%s", where);
    int ignored;
    int rc = exists(s, sql, account, uidvalidity, uid, uidl, stored, mismatch, err);
    free(sql);
    sql = mr_xasprintf("SELECT 1 FROM skipped%s", where);
    if (rc == 0)
        rc = exists(s, sql, account, uidvalidity, uid, uidl, skipped, &ignored, err);
    free(sql);
    return rc;
}

int mr_store_message_by_digest(struct mr_store *s, int64_t account, const unsigned char *sha256,
                               const char *message_id, int (*accept)(void *ctx, const char *uidl),
                               void *ctx, int64_t *id, int *mismatch, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT id, uidl, listed_size IS NOT NULL FROM messages"
                              " WHERE account_id = ? AND sha256 = ? AND message_id IS ?",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_blob(st, 2, sha256, 32, SQLITE_STATIC);
    mr_store_bind_text(st, 3, message_id);
    *id = 0;
    *mismatch = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (accept && !accept(ctx, (const char *)sqlite3_column_text(st, 1)))
            continue;
        *id = sqlite3_column_int64(st, 0);
        *mismatch = sqlite3_column_int(st, 2);
        break;
    }
    mr_store_release(s, st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : mr_store_fail(s, err, "looking up");
}

int mr_store_message_relocate(struct mr_store *s, int64_t id, uint32_t uidvalidity, uint64_t uid,
                              mr_error *err)
{
    sqlite3_stmt *st;
    int rc =
        mr_store_prepare(s, &st, "UPDATE messages SET uidvalidity = ?, uid = ? WHERE id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, uidvalidity);
    sqlite3_bind_int64(st, 2, (int64_t)uid);
    sqlite3_bind_int64(st, 3, id);
    return mr_store_run(s, st, "updating a message", err);
}

int mr_store_message_relocate_uidl(struct mr_store *s, int64_t id, const char *uidl,
                                   const struct mr_message *arrived, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st, "UPDATE messages SET uidl = ?, listed_size = coalesce(listed_size, ?) WHERE id = ?",
        err);
    if (rc)
        return rc;
    mr_store_bind_text(st, 1, uidl);
    if (arrived->size_mismatch)
        sqlite3_bind_int64(st, 2, (int64_t)arrived->listed_size);
    sqlite3_bind_int64(st, 3, id);
    return mr_store_run(s, st, "updating a message", err);
}

/* IDs per message_blocks block (migration 9). */
#define BLOCK_BITS 12

static void bind_message(sqlite3_stmt *st, const struct mr_message *m)
{
    sqlite3_bind_int64(st, 1, m->account_id);
    if (m->uid) {
        sqlite3_bind_int64(st, 2, m->uidvalidity);
        sqlite3_bind_int64(st, 3, (int64_t)m->uid);
    }
    mr_store_bind_text(st, 4, m->uidl);
    sqlite3_bind_blob(st, 5, m->sha256, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, m->size);
    sqlite3_bind_int64(st, 7, m->fetched_at);
    mr_store_bind_text(st, 8, mr_message_status_name(m->status));
    mr_store_bind_text(st, 9, m->message_id);
    mr_store_bind_text(st, 10, m->date);
    if (m->date)
        sqlite3_bind_int64(st, 11, m->date_unix);
    mr_store_bind_text(st, 12, m->from);
    mr_store_bind_text(st, 13, m->to);
    mr_store_bind_text(st, 14, m->cc);
    mr_store_bind_text(st, 15, m->subject);
    sqlite3_bind_int(st, 16, m->attachments);
    mr_store_bind_text(st, 17, m->body_text);
    if (m->size_mismatch)
        sqlite3_bind_int64(st, 18, (int64_t)m->listed_size);
    if (m->msg_class[0])
        mr_store_bind_text(st, 19, m->msg_class);
    sqlite3_bind_int(st, 20, m->action_pending ? 1 : 0);
}

static int insert_raw(struct mr_store *s, int64_t id, const void *raw, size_t len, mr_error *err)
{
    sqlite3_stmt *st;
    int rc =
        mr_store_prepare(s, &st, "INSERT INTO message_raw (message_id, raw) VALUES (?, ?)", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_blob64(st, 2, raw, len, SQLITE_STATIC);
    return mr_store_run(s, st, "storing a message", err);
}

static int insert_attachments(struct mr_store *s, int64_t id, const struct mr_attachment *a,
                              size_t n, mr_error *err)
{
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st;
        int rc = mr_store_prepare(s, &st,
                                  "INSERT INTO attachments (message_id, position, filename,"
                                  " content_type, size, parent) VALUES (?, ?, ?, ?, ?, ?)",
                                  err);
        if (rc)
            return rc;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, a[i].position);
        mr_store_bind_text(st, 3, a[i].filename);
        mr_store_bind_text(st, 4, a[i].content_type);
        sqlite3_bind_int64(st, 5, a[i].size);
        if (a[i].parent)
            sqlite3_bind_int(st, 6, a[i].parent);
        else
            sqlite3_bind_null(st, 6);
        if ((rc = mr_store_run(s, st, "storing an attachment summary", err)))
            return rc;
    }
    return 0;
}

/* A new message's share of the inbox counters (tables of migrations 8 and
 * 9): its account's count and its block's, for its status. Since migration
 * 10 they are kept here, not by insert triggers (see there). */
static int count_inserted(struct mr_store *s, const struct mr_message *m, mr_error *err)
{
    sqlite3_stmt *st;
    int failed = m->status == MR_MSG_PARSE_FAILED;
    int rc = mr_store_prepare(s, &st,
                              "INSERT INTO message_counts (account_id, stored, parse_failed)"
                              " VALUES (?1, ?2, ?3) ON CONFLICT (account_id) DO UPDATE"
                              " SET stored = stored + ?2, parse_failed = parse_failed + ?3",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, m->account_id);
    sqlite3_bind_int(st, 2, !failed);
    sqlite3_bind_int(st, 3, failed);
    if ((rc = mr_store_run(s, st, "counting a message", err)))
        return rc;
    rc = mr_store_prepare(s, &st,
                          "INSERT INTO message_blocks (status, block, n) VALUES (?1, ?2, 1)"
                          " ON CONFLICT (status, block) DO UPDATE SET n = n + 1",
                          err);
    if (rc)
        return rc;
    mr_store_bind_text(st, 1, mr_message_status_name(m->status));
    sqlite3_bind_int64(st, 2, m->id >> BLOCK_BITS);
    return mr_store_run(s, st, "counting a message", err);
}

int mr_store_message_insert(struct mr_store *s, struct mr_message *m,
                            const struct mr_attachment *att, size_t natt, const void *raw,
                            size_t len, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st,
        "INSERT INTO messages (account_id, uidvalidity, uid, uidl, sha256, size, fetched_at,"
        " status, message_id, date, date_unix, from_addr, to_addr, cc_addr, subject,"
        " attachments, body_text, listed_size, class, action_pending) VALUES (?1, ?2, ?3, ?4, ?5,"
        " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        err);
    if (rc)
        return rc;
    bind_message(st, m);
    rc = mr_store_run(s, st, "storing a message", err);
    if (rc)
        return rc;
    m->id = sqlite3_last_insert_rowid(s->db);
    rc = count_inserted(s, m, err);
    if (rc == 0)
        rc = insert_raw(s, m->id, raw, len, err);
    if (rc == 0)
        rc = insert_attachments(s, m->id, att, natt, err);
    mr_store_events_touch(s);
    return rc ? rc : mr_store_outbox_add(s, m, err);
}

int mr_store_skipped_insert(struct mr_store *s, int64_t account, uint32_t uidvalidity, uint64_t uid,
                            const char *uidl, uint64_t size, const char *reason, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "INSERT OR IGNORE INTO skipped (account_id, uidvalidity, uid, uidl,"
                              " size, reason, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    if (uid) {
        sqlite3_bind_int64(st, 2, uidvalidity);
        sqlite3_bind_int64(st, 3, (int64_t)uid);
    }
    mr_store_bind_text(st, 4, uidl);
    sqlite3_bind_int64(st, 5, (int64_t)size);
    mr_store_bind_text(st, 6, reason);
    sqlite3_bind_int64(st, 7, mr_store_now());
    return mr_store_run(s, st, "recording a skipped message", err);
}

/* Run history is bookkeeping, not mail: its rows are written with
 * synchronous=NORMAL (durable at the next fsync, which the next message
 * commit or checkpoint makes), saving two fsyncs per check; a crash can lose
 * at most the last runs' history lines, never a message or its state. */
static int history_write(struct mr_store *s, sqlite3_stmt *st, mr_error *err)
{
    mr_error ignored = {0};
    int relaxed = sqlite3_get_autocommit(s->db) && /* not inside someone's transaction */
                  mr_store_exec(s, "PRAGMA synchronous=NORMAL", &ignored) == 0;
    int rc = mr_store_run(s, st, "recording a fetch", err);
    if (relaxed && mr_store_exec(s, "PRAGMA synchronous=FULL", &ignored) != 0)
        rc = rc ? rc
                : mr_error_set(err, MR_ESTORE, NULL, "restoring durable commits: %s",
                               ignored.message);
    return rc;
}

int mr_store_run_start(struct mr_store *s, int64_t account, int64_t *run, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "INSERT INTO fetch_runs (account_id, started_at, result)"
                              " VALUES (?, ?, 'running')",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, mr_store_now());
    rc = history_write(s, st, err);
    *run = rc ? 0 : sqlite3_last_insert_rowid(s->db);
    mr_store_events_touch(s);
    return rc;
}

int mr_store_run_finish(struct mr_store *s, const struct mr_fetch_run *r, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "UPDATE fetch_runs SET ended_at = ?, result = ?, fetched = ?,"
                              " bytes = ?, deleted = ?, skipped = ?, error = ?, retry_after = ?,"
                              " error_said = ?, trigger = ?, latency_ms = ? WHERE id = ?",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, mr_store_now());
    mr_store_bind_text(st, 2, r->result);
    sqlite3_bind_int64(st, 3, (int64_t)r->fetched);
    sqlite3_bind_int64(st, 4, (int64_t)r->bytes);
    sqlite3_bind_int64(st, 5, (int64_t)r->deleted);
    sqlite3_bind_int64(st, 6, (int64_t)r->skipped);
    mr_store_bind_text(st, 7, r->error);
    if (r->retry_after)
        sqlite3_bind_int64(st, 8, r->retry_after);
    else
        sqlite3_bind_null(st, 8);
    mr_store_bind_text(st, 9, r->error_said);
    mr_store_bind_text(st, 10, r->trigger[0] ? r->trigger : NULL);
    if (r->latency_ms >= 0 && r->trigger[0])
        sqlite3_bind_int64(st, 11, r->latency_ms);
    else
        sqlite3_bind_null(st, 11);
    sqlite3_bind_int64(st, 12, r->id);
    rc = history_write(s, st, err);
    mr_store_events_touch(s);
    return rc;
}

int mr_store_run_progress(struct mr_store *s, int64_t run, uint64_t fetched, uint64_t bytes,
                          mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st, "UPDATE fetch_runs SET fetched = ?, bytes = ? WHERE id = ? AND result = 'running'",
        err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)fetched);
    sqlite3_bind_int64(st, 2, (int64_t)bytes);
    sqlite3_bind_int64(st, 3, run);
    return mr_store_run(s, st, "recording a fetch's progress", err);
}

int mr_store_prune_history(struct mr_store *s, int64_t before, int64_t *deleted, mr_error *err)
{
    sqlite3_stmt *st;
    int rc =
        mr_store_prepare(s, &st,
                         "DELETE FROM fetch_runs WHERE ended_at < ? AND result <> 'running'"
                         " AND id NOT IN (SELECT max(id) FROM fetch_runs WHERE result <> 'running'"
                         " GROUP BY account_id)",
                         err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, before);
    rc = mr_store_run(s, st, "pruning the fetch history", err);
    *deleted = rc ? 0 : sqlite3_changes64(s->db);
    return rc;
}

/* --- the inbox ------------------------------------------------------------ */

#define MESSAGE_COLUMNS                                                                            \
    "id, account_id, uidvalidity, uid, uidl, sha256, size, fetched_at, status, message_id, date,"  \
    " date_unix, from_addr, to_addr, cc_addr, subject, attachments, body_text, listed_size,"       \
    " class, action_pending, (SELECT CASE WHEN count(*) = 0 THEN NULL"                             \
    "  WHEN sum(state = 'failed') > 0 THEN 'failed' WHEN sum(state = 'pending') > 0 THEN "         \
    "'pending'"                                                                                    \
    "  ELSE 'delivered' END FROM deliveries WHERE deliveries.message_id = messages.id)"

static void read_message(sqlite3_stmt *st, void *out)
{
    struct mr_message *m = out;
    memset(m, 0, sizeof(*m));
    m->id = sqlite3_column_int64(st, 0);
    m->account_id = sqlite3_column_int64(st, 1);
    m->uidvalidity = (uint32_t)sqlite3_column_int64(st, 2);
    m->uid = (uint64_t)sqlite3_column_int64(st, 3);
    m->uidl = mr_store_column_text(st, 4);
    if (sqlite3_column_bytes(st, 5) == 32)
        memcpy(m->sha256, sqlite3_column_blob(st, 5), 32);
    m->size = sqlite3_column_int64(st, 6);
    m->fetched_at = sqlite3_column_int64(st, 7);
    const unsigned char *status = sqlite3_column_text(st, 8);
    m->status = status && strcmp((const char *)status, "parse_failed") == 0 ? MR_MSG_PARSE_FAILED
                                                                            : MR_MSG_STORED;
    m->message_id = mr_store_column_text(st, 9);
    m->date = mr_store_column_text(st, 10);
    m->date_unix = sqlite3_column_int64(st, 11);
    m->from = mr_store_column_text(st, 12);
    m->to = mr_store_column_text(st, 13);
    m->cc = mr_store_column_text(st, 14);
    m->subject = mr_store_column_text(st, 15);
    m->attachments = sqlite3_column_int(st, 16);
    m->body_text = mr_store_column_text(st, 17);
    m->size_mismatch = sqlite3_column_type(st, 18) != SQLITE_NULL;
    m->listed_size = (uint64_t)sqlite3_column_int64(st, 18);
    const unsigned char *cls = sqlite3_column_text(st, 19);
    if (cls)
        snprintf(m->msg_class, sizeof(m->msg_class), "%s", (const char *)cls);
    m->action_pending = sqlite3_column_int(st, 20);
    const unsigned char *dl = sqlite3_column_text(st, 21);
    if (dl)
        snprintf(m->delivery, sizeof(m->delivery), "%s", (const char *)dl);
}

static void clear_message(void *m)
{
    mr_message_clear(m);
}

/* From the counters (kept by the insert and the delete triggers): account
 * 0 counts every account; status NULL counts both. */
static int counted(struct mr_store *s, int64_t account, const char *status, size_t *n,
                   mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT coalesce(sum(CASE ?2 WHEN 'stored' THEN stored"
                              " WHEN 'parse_failed' THEN parse_failed"
                              " ELSE stored + parse_failed END), 0)"
                              " FROM message_counts WHERE ?1 = 0 OR account_id = ?1",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    mr_store_bind_text(st, 2, status);
    int step = sqlite3_step(st);
    *n = step == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
    mr_store_release(s, st);
    return step == SQLITE_ROW ? 0 : mr_store_fail(s, err, "counting messages");
}

int mr_store_message_count(struct mr_store *s, int64_t account, size_t *n, mr_error *err)
{
    return counted(s, account, NULL, n, err);
}

#define MESSAGE_WHERE                                                                              \
    " WHERE (?1 = 0 OR account_id = ?1)"                                                           \
    " AND (?2 IS NULL OR instr(lower(from_addr), lower(?2)) > 0)"                                  \
    " AND (?3 IS NULL OR instr(lower(subject), lower(?3)) > 0)"                                    \
    " AND (?4 = 0 OR fetched_at >= ?4) AND (?5 = 0 OR fetched_at < ?5)"                            \
    " AND (?8 IS NULL OR status = ?8) AND (?9 = 0 OR id < ?9)"

static void bind_message_filter(sqlite3_stmt *st, const struct mr_message_filter *f)
{
    sqlite3_bind_int64(st, 1, f->account);
    mr_store_bind_text(st, 2, f->from && *f->from ? f->from : NULL);
    mr_store_bind_text(st, 3, f->subject && *f->subject ? f->subject : NULL);
    sqlite3_bind_int64(st, 4, f->since);
    sqlite3_bind_int64(st, 5, f->until);
    mr_store_bind_text(st, 8, f->status && *f->status ? f->status : NULL);
    sqlite3_bind_int64(st, 9, f->before);
}

/* For a page deep in the whole inbox (or one status): the ID below which
 * it starts (*upper) and how many messages below that to skip (*skip, less
 * than a block), from the per-block counts. 0 = nothing to gain here. */
static int deep_page_start(struct mr_store *s, const char *status, size_t offset, int64_t *upper,
                           size_t *skip, mr_error *err)
{
    sqlite3_stmt *st;
    *upper = 0;
    int rc = mr_store_prepare(s, &st,
                              "SELECT block, sum(n) FROM message_blocks"
                              " WHERE ?1 IS NULL OR status = ?1 GROUP BY block ORDER BY block DESC",
                              err);
    if (rc)
        return rc;
    mr_store_bind_text(st, 1, status);
    size_t newer = 0; /* messages in the blocks above */
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_int64(st, 1);
        if (newer + n > offset) {
            *upper = (sqlite3_column_int64(st, 0) + 1) << BLOCK_BITS;
            *skip = offset - newer;
            break;
        }
        newer += n;
    }
    mr_store_release(s, st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : mr_store_fail(s, err, "paging messages");
}

/* Without text or time filters the page is chosen from a compact index
 * (messages_by_account, messages_by_status or messages_recent: ids only, so
 * even a deep OFFSET reads little) and the total comes from the counters. */
static int list_indexed(struct mr_store *s, const struct mr_message_filter *f, size_t offset,
                        size_t limit, struct mr_message **items, size_t *n, size_t *total,
                        mr_error *err)
{
    const char *status = f->status && *f->status ? f->status : NULL;
    int rc = counted(s, f->account, status, total, err);
    if (rc)
        return rc;
    int64_t before = f->before;
    if (!f->account && !before && offset >= ((size_t)1 << BLOCK_BITS)) {
        int64_t upper = 0;
        size_t skip = 0;
        rc = deep_page_start(s, status, offset, &upper, &skip, err);
        if (rc)
            return rc;
        if (upper) {
            before = upper;
            offset = skip;
        }
    }
    const char *pick = f->account && status
                           ? "SELECT id FROM messages WHERE account_id = ?1 AND status = ?2"
                       : f->account ? "SELECT id FROM messages INDEXED BY messages_by_account"
                                      " WHERE account_id = ?1 AND ?2 IS ?2"
                       : status     ? "SELECT id FROM messages INDEXED BY messages_by_status"
                                      " WHERE status = ?2 AND ?1 = ?1"
                                    : "SELECT id FROM messages INDEXED BY messages_recent"
                                      " WHERE ?1 = ?1 AND ?2 IS ?2";
    /* with a keyset (before), the range is part of the index scan */
    char *sql = mr_xasprintf("SELECT " MESSAGE_COLUMNS " FROM messages WHERE id IN (%s%s"
                             " ORDER BY id DESC LIMIT ?3 OFFSET ?4) ORDER BY id DESC",
                             pick, before ? " AND id < ?5" : "");
    sqlite3_stmt *st;
    rc = mr_store_prepare(s, &st, sql, err);
    free(sql);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, f->account);
    mr_store_bind_text(st, 2, status);
    sqlite3_bind_int64(st, 3, limit ? (int64_t)limit : -1);
    sqlite3_bind_int64(st, 4, (int64_t)offset);
    if (before)
        sqlite3_bind_int64(st, 5, before);
    return mr_store_collect(s, st, sizeof(**items), read_message, clear_message, (void **)items, n,
                            err);
}

int mr_store_message_list(struct mr_store *s, const struct mr_message_filter *f, size_t offset,
                          size_t limit, struct mr_message **items, size_t *n, size_t *total,
                          mr_error *err)
{
    sqlite3_stmt *st;
    *items = NULL;
    *n = 0;
    if (!(f->from && *f->from) && !(f->subject && *f->subject) && !f->since && !f->until &&
        !f->size_mismatch)
        return list_indexed(s, f, offset, limit, items, n, total, err);
    /* the size mismatches (few) from their partial index, which SQLite
     * takes only for the term written out */
    const char *mismatch = f->size_mismatch ? " AND listed_size IS NOT NULL" : "";
    char *sql = mr_xasprintf("SELECT count(*) FROM messages" MESSAGE_WHERE "%s", mismatch);
    int rc = mr_store_prepare(s, &st, sql, err);
    free(sql);
    if (rc)
        return rc;
    bind_message_filter(st, f);
    int step = sqlite3_step(st);
    *total = step == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
    mr_store_release(s, st);
    if (step != SQLITE_ROW)
        return mr_store_fail(s, err, "counting messages");
    sql = mr_xasprintf("SELECT " MESSAGE_COLUMNS " FROM messages" MESSAGE_WHERE
                       "%s ORDER BY id DESC LIMIT ?6 OFFSET ?7",
                       mismatch);
    rc = mr_store_prepare(s, &st, sql, err);
    free(sql);
    if (rc)
        return rc;
    bind_message_filter(st, f);
    sqlite3_bind_int64(st, 6, limit ? (int64_t)limit : -1);
    sqlite3_bind_int64(st, 7, (int64_t)offset);
    return mr_store_collect(s, st, sizeof(**items), read_message, clear_message, (void **)items, n,
                            err);
}

static void read_skipped(sqlite3_stmt *st, void *out)
{
    struct mr_skipped *k = out;
    k->id = sqlite3_column_int64(st, 0);
    k->account_id = sqlite3_column_int64(st, 1);
    k->uidvalidity = sqlite3_column_int64(st, 2);
    k->uid = sqlite3_column_int64(st, 3);
    k->uidl = mr_store_column_text(st, 4);
    k->size = sqlite3_column_int64(st, 5);
    k->reason = mr_store_column_text(st, 6);
    k->seen_at = sqlite3_column_int64(st, 7);
}

static void clear_skipped(void *p)
{
    struct mr_skipped *k = p;
    mr_freep(&k->uidl);
    mr_freep(&k->reason);
}

int mr_store_skipped_list(struct mr_store *s, int64_t account, size_t offset, size_t limit,
                          struct mr_skipped **items, size_t *n, size_t *total, mr_error *err)
{
    sqlite3_stmt *st;
    *items = NULL;
    *n = 0;
    int rc = mr_store_prepare(s, &st,
                              "SELECT count(*) FROM skipped WHERE ?1 = 0 OR account_id = ?1", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    int step = sqlite3_step(st);
    *total = step == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
    mr_store_release(s, st);
    if (step != SQLITE_ROW)
        return mr_store_fail(s, err, "counting skipped messages");
    rc = mr_store_prepare(s, &st,
                          "SELECT id, account_id, uidvalidity, uid, uidl, size, reason, seen_at"
                          " FROM skipped WHERE ?1 = 0 OR account_id = ?1"
                          " ORDER BY id DESC LIMIT ?2 OFFSET ?3",
                          err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
    sqlite3_bind_int64(st, 3, (int64_t)offset);
    return mr_store_collect(s, st, sizeof(**items), read_skipped, clear_skipped, (void **)items, n,
                            err);
}

void mr_skipped_list_free(struct mr_skipped **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        clear_skipped(&(*items)[i]);
    mr_freep(items);
}

void mr_message_list_free(struct mr_message **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        mr_message_clear(&(*items)[i]);
    mr_freep(items);
}

int mr_store_message_get(struct mr_store *s, int64_t id, struct mr_message *out, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT " MESSAGE_COLUMNS " FROM messages WHERE id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = mr_store_fetch_one(s, st, read_message, out, MR_OBJ_ACCOUNT, id, err);
    if (rc == MR_ENOTFOUND)
        mr_error_set(err, MR_ENOTFOUND, "", "no message with ID %lld", (long long)id);
    return rc;
}

int mr_store_message_raw(struct mr_store *s, int64_t id, struct mr_buf *out, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT raw FROM message_raw WHERE message_id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = mr_buf_append(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    else if (step == SQLITE_DONE)
        rc = mr_error_set(err, MR_ENOTFOUND, "", "no message with ID %lld", (long long)id);
    else
        rc = mr_store_fail(s, err, "reading a message");
    mr_store_release(s, st);
    if (rc == MR_ETOOBIG)
        mr_error_set(err, rc, "", "message %lld is too big to read here", (long long)id);
    return rc;
}

static void read_attachment(sqlite3_stmt *st, void *out)
{
    struct mr_attachment *a = out;
    a->position = sqlite3_column_int(st, 0);
    a->filename = mr_store_column_text(st, 1);
    a->content_type = mr_store_column_text(st, 2);
    a->size = sqlite3_column_int64(st, 3);
    a->parent = sqlite3_column_int(st, 4); /* NULL (the top, or stored before it was kept): 0 */
}

static void clear_attachment(void *p)
{
    struct mr_attachment *a = p;
    mr_freep(&a->filename);
    mr_freep(&a->content_type);
}

int mr_store_message_attachments(struct mr_store *s, int64_t id, struct mr_attachment **items,
                                 size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    int rc =
        mr_store_prepare(s, &st,
                         "SELECT position, filename, content_type, size, parent FROM attachments"
                         " WHERE message_id = ? ORDER BY position",
                         err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return mr_store_collect(s, st, sizeof(**items), read_attachment, clear_attachment,
                            (void **)items, n, err);
}
