/* What changed, for the console's live updates: a process-wide notice after
 * commits that change what it shows, and cursors over the store that find
 * the changes, whichever process made them. */
#include "store/store_private.h"

#include "util/mem.h"
#include "util/notice.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Rows read per look: past these the rest wait for the next look. */
#define NEW_ROWS_MAX    10000
#define WINDOW_ROWS_MAX 5000
/* Commits are not seen in the order of the times they wrote: a look goes
 * back this far behind the latest time it saw, and skips the rows it
 * reported last time. */
#define ENDED_SLACK_SECS 2
#define ATTEMPT_SLACK_MS 2000

/* --- the notice ------------------------------------------------------------- */

static struct mr_notice notice = MR_NOTICE_INIT;

void mr_store_events_notify(void)
{
    mr_notice_raise(&notice);
}

void mr_store_events_touch(struct mr_store *s)
{
    if (s->in_transaction)
        s->events_touched = 1;
    else
        mr_store_events_notify();
}

uint64_t mr_store_events_notices(void)
{
    return mr_notice_count(&notice);
}

void mr_store_events_wait(uint64_t seen, int64_t ms, const int *stop)
{
    mr_notice_wait(&notice, seen, ms, stop);
}

/* --- the cursor ------------------------------------------------------------- */

static int one_value(struct mr_store *s, const char *sql, int64_t *out, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, sql, err);
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = mr_store_fail(s, err, "reading what changed");
    mr_store_release(s, st);
    return rc;
}

void mr_store_cursor_clear(struct mr_store_cursor *c)
{
    mr_freep(&c->seen_runs);
    mr_freep(&c->seen_attempts);
    memset(c, 0, sizeof(*c));
}

int mr_store_events_cursor(struct mr_store *s, struct mr_store_cursor *c, mr_error *err)
{
    mr_store_cursor_clear(c);
    int rc = one_value(s, "SELECT coalesce(max(id), 0) FROM messages", &c->message_id, err);
    if (rc == 0)
        rc = one_value(s, "SELECT coalesce(max(id), 0) FROM fetch_runs", &c->run_id, err);
    if (rc == 0)
        rc = one_value(s, "SELECT coalesce(max(ended_at), 0) FROM fetch_runs", &c->ended_at, err);
    if (rc == 0)
        rc = one_value(s,
                       "SELECT coalesce(max(last_attempt_ms), 0) FROM deliveries"
                       " WHERE last_attempt_ms IS NOT NULL",
                       &c->attempt_ms, err);
    /* what is inside the windows now is old news: looked at once, unreported */
    struct mr_store_changes ignored;
    int any = 0;
    c->data_version = -1;
    if (rc == 0)
        rc = mr_store_events_since(s, c, &ignored, &any, err);
    return rc;
}

static void account_changed(struct mr_store_changes *ch, int64_t id, const char *state)
{
    size_t i = 0;
    while (i < ch->naccounts && ch->accounts[i].id != id)
        i++;
    if (i == MR_STORE_CHANGES_MAX) {
        ch->more_accounts = 1;
        return;
    }
    if (i == ch->naccounts)
        ch->naccounts++;
    ch->accounts[i].id = id;
    snprintf(ch->accounts[i].state, sizeof(ch->accounts[i].state), "%s",
             strcmp(state, "running") == 0 || strcmp(state, "ok") == 0 ? state : "error");
}

/* Adds v to a small set of distinct IDs; 1 if it did not fit. */
static int id_add(int64_t *set, size_t *n, int64_t v)
{
    for (size_t i = 0; i < *n; i++)
        if (set[i] == v)
            return 0;
    if (*n == MR_STORE_CHANGES_MAX)
        return 1;
    set[(*n)++] = v;
    return 0;
}

static int new_messages(struct mr_store *s, struct mr_store_cursor *c, struct mr_store_changes *ch,
                        mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st, "SELECT id, account_id FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, c->message_id);
    sqlite3_bind_int(st, 2, NEW_ROWS_MAX);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        c->message_id = ch->message_last = sqlite3_column_int64(st, 0);
        ch->messages++;
        id_add(ch->message_accounts, &ch->nmessage_accounts, sqlite3_column_int64(st, 1));
    }
    ch->more_messages = ch->messages == NEW_ROWS_MAX;
    if (step != SQLITE_DONE)
        rc = mr_store_fail(s, err, "reading new messages");
    mr_store_release(s, st);
    return rc;
}

static int runs_started(struct mr_store *s, struct mr_store_cursor *c, struct mr_store_changes *ch,
                        mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st, "SELECT id, account_id, result FROM fetch_runs WHERE id > ?1 ORDER BY id LIMIT ?2",
        err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, c->run_id);
    sqlite3_bind_int(st, 2, NEW_ROWS_MAX);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        c->run_id = sqlite3_column_int64(st, 0);
        account_changed(ch, sqlite3_column_int64(st, 1), (const char *)sqlite3_column_text(st, 2));
    }
    if (step != SQLITE_DONE)
        rc = mr_store_fail(s, err, "reading checks started");
    mr_store_release(s, st);
    return rc;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_pair(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

/* Whether the last look reported key (sets of none have no array). */
static int reported(const void *key, const int64_t *set, size_t n, size_t size,
                    int (*cmp)(const void *, const void *))
{
    return n && bsearch(key, set, n, size, cmp);
}

/* Checks ended inside the window that the last look did not report. */
static int runs_ended(struct mr_store *s, struct mr_store_cursor *c, struct mr_store_changes *ch,
                      mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT id, account_id, result, ended_at FROM fetch_runs"
                              " WHERE ended_at >= ?1 ORDER BY ended_at LIMIT ?2",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, c->ended_at - ENDED_SLACK_SECS);
    sqlite3_bind_int(st, 2, WINDOW_ROWS_MAX);
    int64_t *seen = mr_xcalloc(WINDOW_ROWS_MAX, sizeof(*seen));
    size_t n = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        seen[n++] = id;
        c->ended_at = sqlite3_column_int64(st, 3);
        if (!reported(&id, c->seen_runs, c->nseen_runs, sizeof(id), cmp_id))
            account_changed(ch, sqlite3_column_int64(st, 1),
                            (const char *)sqlite3_column_text(st, 2));
    }
    if (step != SQLITE_DONE)
        rc = mr_store_fail(s, err, "reading checks ended");
    mr_store_release(s, st);
    qsort(seen, n, sizeof(*seen), cmp_id);
    free(c->seen_runs);
    c->seen_runs = seen;
    c->nseen_runs = n;
    return rc;
}

/* Deliveries attempted inside the window that the last look did not
 * report: their messages' processing changed. */
static int attempts(struct mr_store *s, struct mr_store_cursor *c, struct mr_store_changes *ch,
                    mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT id, attempts, message_id, last_attempt_ms FROM deliveries"
                              " WHERE last_attempt_ms IS NOT NULL AND last_attempt_ms >= ?1"
                              " ORDER BY last_attempt_ms LIMIT ?2",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, c->attempt_ms - ATTEMPT_SLACK_MS);
    sqlite3_bind_int(st, 2, WINDOW_ROWS_MAX);
    int64_t *seen = mr_xcalloc(2 * WINDOW_ROWS_MAX, sizeof(*seen));
    size_t n = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t *pair = seen + 2 * n++;
        pair[0] = sqlite3_column_int64(st, 0);
        pair[1] = sqlite3_column_int64(st, 1);
        c->attempt_ms = sqlite3_column_int64(st, 3);
        if (!reported(pair, c->seen_attempts, c->nseen_attempts, 2 * sizeof(*pair), cmp_pair))
            ch->more_statuses |= id_add(ch->statuses, &ch->nstatuses, sqlite3_column_int64(st, 2));
    }
    if (step != SQLITE_DONE)
        rc = mr_store_fail(s, err, "reading deliveries attempted");
    mr_store_release(s, st);
    qsort(seen, n, 2 * sizeof(*seen), cmp_pair);
    free(c->seen_attempts);
    c->seen_attempts = seen;
    c->nseen_attempts = n;
    return rc;
}

int mr_store_events_since(struct mr_store *s, struct mr_store_cursor *c,
                          struct mr_store_changes *ch, int *any, mr_error *err)
{
    memset(ch, 0, sizeof(*ch));
    *any = 0;
    int64_t version = 0;
    int rc = one_value(s, "PRAGMA data_version", &version, err);
    if (rc || version == c->data_version) /* no other connection committed */
        return rc;
    c->data_version = version;
    rc = new_messages(s, c, ch, err);
    if (rc == 0)
        rc = runs_started(s, c, ch, err);
    if (rc == 0)
        rc = runs_ended(s, c, ch, err);
    if (rc == 0)
        rc = attempts(s, c, ch, err);
    *any = rc == 0 && (ch->messages || ch->naccounts || ch->more_accounts || ch->nstatuses ||
                       ch->more_statuses);
    return rc;
}
