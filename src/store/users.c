/* Users, console sessions and API tokens. */
#include "store/store_private.h"

#include "util/mem.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define USER_COLUMNS "id, name, role, created_at, updated_at"

static void read_user(sqlite3_stmt *st, void *out)
{
    struct mr_user *u = out;
    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(st, 0);
    u->name = mr_store_column_text(st, 1);
    mr_role_parse((const char *)sqlite3_column_text(st, 2), &u->role);
    u->created_at = sqlite3_column_int64(st, 3);
    u->updated_at = sqlite3_column_int64(st, 4);
}

static void clear_user(void *u)
{
    mr_user_clear(u);
}

int mr_store_user_insert(struct mr_store *s, struct mr_user *u, const char *hash, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "INSERT INTO users (name, role, password_hash, created_at,"
                              " updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                              err);
    if (rc)
        return rc;
    u->created_at = u->updated_at = mr_store_now();
    mr_store_bind_text(st, 1, u->name);
    mr_store_bind_text(st, 2, mr_role_name(u->role));
    mr_store_bind_text(st, 3, hash);
    sqlite3_bind_int64(st, 4, u->created_at);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_USER, u->name, "adding a user", err);
    mr_store_release(s, st);
    if (rc == 0)
        u->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int mr_store_user_update(struct mr_store *s, const struct mr_user *u, const char *hash,
                         mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "UPDATE users SET role = ?1, password_hash = coalesce(?2,"
                              " password_hash), updated_at = ?3 WHERE id = ?4",
                              err);
    if (rc)
        return rc;
    mr_store_bind_text(st, 1, mr_role_name(u->role));
    mr_store_bind_text(st, 2, hash);
    sqlite3_bind_int64(st, 3, mr_store_now());
    sqlite3_bind_int64(st, 4, u->id);
    return mr_store_run(s, st, "updating a user", err);
}

int mr_store_user_get(struct mr_store *s, int64_t id, struct mr_user *out, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT " USER_COLUMNS " FROM users WHERE id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return mr_store_fetch_one(s, st, read_user, out, MR_OBJ_USER, id, err);
}

int mr_store_user_by_name(struct mr_store *s, const char *name, struct mr_user *out, char **hash,
                          mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st, "SELECT " USER_COLUMNS ", password_hash FROM users WHERE name = ?", err);
    if (rc)
        return rc;
    mr_store_bind_text(st, 1, name);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        read_user(st, out);
        *hash = mr_store_column_text(st, 5);
    } else if (step == SQLITE_DONE)
        rc = mr_error_set(err, MR_ENOTFOUND, "", "no user named '%s'", name);
    else
        rc = mr_store_fail(s, err, "reading a user");
    mr_store_release(s, st);
    return rc;
}

int mr_store_user_list(struct mr_store *s, struct mr_user **items, size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT " USER_COLUMNS " FROM users ORDER BY id", err);
    if (rc)
        return rc;
    return mr_store_collect(s, st, sizeof(**items), read_user, clear_user, (void **)items, n, err);
}

void mr_user_list_free(struct mr_user **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        mr_user_clear(&(*items)[i]);
    mr_freep(items);
}

int mr_store_user_delete(struct mr_store *s, int64_t id, mr_error *err)
{
    return mr_store_delete_unused(s, MR_OBJ_USER, id, err);
}

int mr_store_admin_count(struct mr_store *s, size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT count(*) FROM users WHERE role = 'admin'", err);
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    *n = step == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
    mr_store_release(s, st);
    return step == SQLITE_ROW ? 0 : mr_store_fail(s, err, "counting users");
}

/* --- sessions and tokens -------------------------------------------------- */

int mr_store_session_insert(struct mr_store *s, const unsigned char hash[32], int64_t user,
                            const char *csrf, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "INSERT INTO sessions (token_hash, user_id, csrf, created_at,"
                              " last_seen_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, user);
    mr_store_bind_text(st, 3, csrf);
    sqlite3_bind_int64(st, 4, mr_store_now());
    return mr_store_run(s, st, "starting a session", err);
}

static int exec_hash(struct mr_store *s, const char *sql, const unsigned char hash[32], int64_t arg,
                     mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, sql, err);
    if (rc)
        return rc;
    if (hash)
        sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, arg);
    return mr_store_run(s, st, "updating sessions", err);
}

/* How stale a session's last_seen_at or a token's last_used_at may get
 * before a request writes it again: a write per request would be an fsync'd
 * commit per request, queued behind the fetches' transactions. A session may
 * so end up to this much earlier than idle_seconds after its last request. */
static int64_t touch_every(int idle_seconds)
{
    int64_t every = idle_seconds / 30;
    return every > 60 ? 60 : every;
}

/* Sessions idle too long or past their lifetime end; best effort
 * (bookkeeping). */
static void purge_sessions(struct mr_store *s, int64_t now, const struct mr_session_limits *l)
{
    sqlite3_stmt *st;
    if (mr_store_prepare(s, &st,
                         "DELETE FROM sessions WHERE last_seen_at <= ?1 OR created_at <= ?2", NULL))
        return;
    sqlite3_bind_int64(st, 1, now - l->idle_seconds);
    sqlite3_bind_int64(st, 2, now - l->max_seconds);
    mr_store_run(s, st, "ending sessions", NULL);
}

int mr_store_session_lookup(struct mr_store *s, const unsigned char hash[32],
                            const struct mr_session_limits *limits, struct mr_user *user,
                            char csrf[72], mr_error *err)
{
    int64_t now = mr_store_now(), last_seen = 0, started = 0;
    int idle_seconds = limits->idle_seconds;
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT u.id, u.name, u.role, u.created_at, u.updated_at, s.csrf,"
                              " s.last_seen_at, s.created_at"
                              " FROM sessions s JOIN users u ON u.id = s.user_id"
                              " WHERE s.token_hash = ?",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        read_user(st, user);
        snprintf(csrf, 72, "%s", (const char *)sqlite3_column_text(st, 5));
        last_seen = sqlite3_column_int64(st, 6);
        started = sqlite3_column_int64(st, 7);
    }
    mr_store_release(s, st);
    if (step == SQLITE_DONE)
        return MR_ENOTFOUND;
    if (step != SQLITE_ROW)
        return mr_store_fail(s, err, "reading a session");
    if (now - last_seen >= idle_seconds || now - started >= limits->max_seconds) {
        mr_user_clear(user); /* expired: it and every other one */
        purge_sessions(s, now, limits);
        return MR_ENOTFOUND;
    }
    /* still valid if this bookkeeping fails (a busy store) */
    if (now - last_seen >= touch_every(idle_seconds) &&
        exec_hash(s, "UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1", hash, now,
                  NULL) == 0)
        purge_sessions(s, now, limits);
    return 0;
}

int mr_store_session_delete(struct mr_store *s, const unsigned char hash[32], mr_error *err)
{
    return exec_hash(s, "DELETE FROM sessions WHERE token_hash = ?1 AND ?2 = ?2", hash, 0, err);
}

int mr_store_user_sessions_delete(struct mr_store *s, int64_t user, mr_error *err)
{
    return exec_hash(s, "DELETE FROM sessions WHERE ?1 IS NULL AND user_id = ?2", NULL, user, err);
}

int mr_store_token_insert(struct mr_store *s, const unsigned char hash[32], struct mr_token *t,
                          mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "INSERT INTO api_tokens (token_hash, user_id, name, created_at,"
                              " expires_at, read_only) VALUES (?, ?, ?, ?, ?, ?)",
                              err);
    if (rc)
        return rc;
    t->created_at = mr_store_now();
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, t->user_id);
    mr_store_bind_text(st, 3, t->name);
    sqlite3_bind_int64(st, 4, t->created_at);
    mr_store_bind_id(st, 5, t->expires_at);
    sqlite3_bind_int(st, 6, t->read_only);
    rc = mr_store_run(s, st, "creating a token", err);
    t->id = rc ? 0 : sqlite3_last_insert_rowid(s->db);
    return rc;
}

int mr_store_token_lookup(struct mr_store *s, const unsigned char hash[32], struct mr_user *user,
                          int *read_only, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT u.id, u.name, u.role, u.created_at, u.updated_at,"
                              " t.last_used_at, t.expires_at, t.read_only, t.id"
                              " FROM api_tokens t JOIN users u ON u.id = t.user_id"
                              " WHERE t.token_hash = ?",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int64_t last_used = 0, expires = 0, id = 0, now = mr_store_now();
    if (step == SQLITE_ROW) {
        read_user(st, user);
        last_used = sqlite3_column_int64(st, 5); /* 0 (NULL) when never used */
        expires = sqlite3_column_int64(st, 6);   /* 0 (NULL): never */
        *read_only = sqlite3_column_int(st, 7);
        id = sqlite3_column_int64(st, 8);
    }
    mr_store_release(s, st);
    if (step == SQLITE_DONE)
        return MR_ENOTFOUND;
    if (step != SQLITE_ROW)
        return mr_store_fail(s, err, "reading a token");
    if (expires && now >= expires) {
        char when[32];
        time_t t = (time_t)expires;
        struct tm tm;
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        mr_user_clear(user);
        return mr_error_set(err, MR_EAUTH, "", "API token %lld expired at %s; create a new one",
                            (long long)id, when);
    }
    if (now - last_used >= 60) /* bookkeeping: the token works if this fails */
        exec_hash(s, "UPDATE api_tokens SET last_used_at = ?2 WHERE token_hash = ?1", hash, now,
                  NULL);
    return 0;
}

#define TOKEN_COLUMNS                                                                              \
    "t.id, t.user_id, u.name, t.name, t.created_at, t.expires_at, t.last_used_at, t.read_only"     \
    " FROM api_tokens t JOIN users u ON u.id = t.user_id"

static void read_token(sqlite3_stmt *st, void *out)
{
    struct mr_token *t = out;
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(st, 0);
    t->user_id = sqlite3_column_int64(st, 1);
    t->user_name = mr_store_column_text(st, 2);
    t->name = mr_store_column_text(st, 3);
    t->created_at = sqlite3_column_int64(st, 4);
    t->expires_at = sqlite3_column_int64(st, 5);
    t->last_used_at = sqlite3_column_int64(st, 6);
    t->read_only = sqlite3_column_int(st, 7);
}

static void clear_token(void *t)
{
    mr_token_clear(t);
}

int mr_store_token_list(struct mr_store *s, int64_t user, struct mr_token **items, size_t *n,
                        mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT " TOKEN_COLUMNS " WHERE ?1 = 0 OR t.user_id = ?1"
                              " ORDER BY t.id DESC",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, user);
    return mr_store_collect(s, st, sizeof(**items), read_token, clear_token, (void **)items, n,
                            err);
}

void mr_token_list_free(struct mr_token **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        mr_token_clear(&(*items)[i]);
    mr_freep(items);
}

int mr_store_token_get(struct mr_store *s, int64_t id, struct mr_token *out, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT " TOKEN_COLUMNS " WHERE t.id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_token(st, out);
    mr_store_release(s, st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return mr_error_set(err, MR_ENOTFOUND, "", "no API token with ID %lld", (long long)id);
    return mr_store_fail(s, err, "reading a token");
}

int mr_store_token_delete(struct mr_store *s, int64_t id, mr_error *err)
{
    return exec_hash(s, "DELETE FROM api_tokens WHERE ?1 IS NULL AND id = ?2", NULL, id, err);
}

int mr_store_user_tokens_delete(struct mr_store *s, int64_t user, size_t *n, mr_error *err)
{
    int rc =
        exec_hash(s, "DELETE FROM api_tokens WHERE ?1 IS NULL AND user_id = ?2", NULL, user, err);
    *n = rc ? 0 : (size_t)sqlite3_changes(s->db);
    return rc;
}

/* --- fetch history ---------------------------------------------------------- */

static void read_run(sqlite3_stmt *st, void *out)
{
    struct mr_fetch_run *r = out;
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    r->account_id = sqlite3_column_int64(st, 1);
    r->started_at = sqlite3_column_int64(st, 2);
    r->ended_at = sqlite3_column_int64(st, 3);
    snprintf(r->result, sizeof(r->result), "%s", (const char *)sqlite3_column_text(st, 4));
    r->fetched = (uint64_t)sqlite3_column_int64(st, 5);
    r->bytes = (uint64_t)sqlite3_column_int64(st, 6);
    r->deleted = (uint64_t)sqlite3_column_int64(st, 7);
    r->skipped = (uint64_t)sqlite3_column_int64(st, 8);
    r->error = mr_store_column_text(st, 9);
    r->error_said = mr_store_column_text(st, 10);
    const unsigned char *trigger = sqlite3_column_text(st, 11);
    snprintf(r->trigger, sizeof(r->trigger), "%s", trigger ? (const char *)trigger : "");
    r->latency_ms = sqlite3_column_type(st, 12) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 12);
}

static void clear_run(void *r)
{
    mr_freep(&((struct mr_fetch_run *)r)->error);
    mr_freep(&((struct mr_fetch_run *)r)->error_said);
}

int mr_store_run_list(struct mr_store *s, int64_t account, size_t offset, size_t limit,
                      struct mr_fetch_run **items, size_t *n, size_t *total, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT count(*) FROM fetch_runs WHERE account_id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    *total = sqlite3_step(st) == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
    mr_store_release(s, st);
    rc =
        mr_store_prepare(s, &st,
                         "SELECT id, account_id, started_at, ended_at, result, fetched, bytes,"
                         " deleted, skipped, error, error_said, trigger, latency_ms FROM fetch_runs"
                         " WHERE account_id = ?"
                         " ORDER BY id DESC LIMIT ? OFFSET ?",
                         err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
    sqlite3_bind_int64(st, 3, (int64_t)offset);
    return mr_store_collect(s, st, sizeof(**items), read_run, clear_run, (void **)items, n, err);
}

void mr_fetch_run_list_free(struct mr_fetch_run **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        clear_run(&(*items)[i]);
    mr_freep(items);
}
