/* Opening the SQLite store, migrations, transactions and the helpers the
 * per-table files share. */
#include "store/store_private.h"

#include "util/mem.h"
#include "util/text.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t mr_store_now(void)
{
    return (int64_t)time(NULL);
}

int mr_store_fail(struct mr_store *s, mr_error *err, const char *doing)
{
    int code = sqlite3_errcode(s->db);
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
        return mr_error_set(err, MR_ESTORE, "",
                            "%s: %s (%s); the file is not a mailroom database "
                            "or is damaged",
                            s->path, doing, sqlite3_errmsg(s->db));
    if (code == SQLITE_BUSY)
        return mr_error_set(err, MR_ESTORE, "",
                            "%s: %s: the database is locked by another "
                            "process",
                            s->path, doing);
    return mr_error_set(err, MR_ESTORE, "", "%s: %s: %s", s->path, doing, sqlite3_errmsg(s->db));
}

int mr_store_prepare(struct mr_store *s, sqlite3_stmt **st, const char *sql, mr_error *err)
{
    struct mr_store_statement *slot = NULL;
    for (size_t i = 0; i < MR_STORE_STATEMENTS; i++) {
        struct mr_store_statement *c = &s->cache[i];
        if (c->sql && !c->in_use && strcmp(c->sql, sql) == 0) {
            c->in_use = 1;
            c->used_at = ++s->clock;
            *st = c->st;
            return 0;
        }
        if (!c->in_use && (!slot || (slot->sql && (!c->sql || c->used_at < slot->used_at))))
            slot = c; /* an empty slot, else the least recently used free one */
    }
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return mr_store_fail(s, err, "preparing a query");
    if (slot) {
        if (slot->sql) {
            sqlite3_finalize(slot->st);
            free(slot->sql);
        }
        slot->sql = mr_xstrdup(sql);
        slot->st = *st;
        slot->in_use = 1;
        slot->used_at = ++s->clock;
    }
    return 0;
}

void mr_store_release(struct mr_store *s, sqlite3_stmt *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < MR_STORE_STATEMENTS; i++) {
        if (s->cache[i].st == st && s->cache[i].in_use) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            s->cache[i].in_use = 0;
            return;
        }
    }
    sqlite3_finalize(st);
}

int mr_store_run(struct mr_store *s, sqlite3_stmt *st, const char *doing, mr_error *err)
{
    int rc = sqlite3_step(st);
    mr_store_release(s, st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return mr_store_fail(s, err, doing);
    return 0;
}

int mr_store_exec(struct mr_store *s, const char *sql, mr_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = mr_store_fail(s, err, "running SQL");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

void mr_store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

void mr_store_bind_id(sqlite3_stmt *st, int i, int64_t id)
{
    if (id)
        sqlite3_bind_int64(st, i, id);
    else
        sqlite3_bind_null(st, i);
}

char *mr_store_column_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? mr_xstrdup((const char *)t) : NULL;
}

const char *mr_object_name(enum mr_object kind)
{
    static const char *const names[] = {"account", "credential",      "network connector",
                                        "user",    "report schedule", "delivery target"};
    return names[kind];
}

const char *mr_object_a_name(enum mr_object kind)
{
    static const char *const names[] = {"an account", "a credential",      "a network connector",
                                        "a user",     "a report schedule", "a delivery target"};
    return names[kind];
}

static const char *table_of(enum mr_object kind)
{
    static const char *const tables[] = {"accounts", "credentials",      "connectors",
                                         "users",    "report_schedules", "delivery_targets"};
    return tables[kind];
}

int mr_store_write_failed(struct mr_store *s, enum mr_object kind, const char *name,
                          const char *doing, mr_error *err)
{
    if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE)
        return mr_error_set(err, MR_EEXIST, "name", "%s named '%s' already exists",
                            mr_object_a_name(kind), name);
    return mr_store_fail(s, err, doing);
}

int mr_store_fetch_one(struct mr_store *s, sqlite3_stmt *st, mr_row_reader read, void *out,
                       enum mr_object kind, int64_t id, mr_error *err)
{
    int rc = 0;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        read(st, out);
    else if (step == SQLITE_DONE)
        rc = mr_error_set(err, MR_ENOTFOUND, "", "no %s with ID %lld", mr_object_name(kind),
                          (long long)id);
    else
        rc = mr_store_fail(s, err, "reading");
    mr_store_release(s, st);
    return rc;
}

int mr_store_collect(struct mr_store *s, sqlite3_stmt *st, size_t size, mr_row_reader read,
                     mr_row_clear clear, void **items, size_t *n, mr_error *err)
{
    char *arr = NULL;
    size_t count = 0, cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? cap * 2 : 32;
            arr = mr_xrealloc(arr, cap * size);
        }
        read(st, arr + count++ * size);
    }
    mr_store_release(s, st);
    if (step != SQLITE_DONE) {
        for (size_t i = 0; i < count; i++)
            clear(arr + i * size);
        free(arr);
        *items = NULL;
        *n = 0;
        return mr_store_fail(s, err, "listing");
    }
    *items = arr;
    *n = count;
    return 0;
}

/* --- opening ----------------------------------------------------------- */

static int make_dir(const char *dir, mr_error *err)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return mr_error_set(err, MR_EIO, "data", "cannot create data directory %s: %s", dir,
                            strerror(errno));
    if (stat(dir, &st) != 0)
        return mr_error_set(err, MR_EIO, "data", "cannot read data directory %s: %s", dir,
                            strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return mr_error_set(err, MR_EIO, "data", "data directory %s is not a directory", dir);
    if (access(dir, R_OK | W_OK | X_OK) != 0)
        return mr_error_set(err, MR_EIO, "data", "data directory %s is not accessible: %s", dir,
                            strerror(errno));
    return 0;
}

static int configure(struct mr_store *s, mr_error *err)
{
    sqlite3_busy_timeout(s->db, 5000);
    /* The first statement reads the file: a corrupt one fails here. WAL with
     * synchronous=FULL makes every commit durable (fsync of the WAL). A new
     * store gets 64 KiB pages (an existing one keeps its own): a message's
     * bytes go to the WAL in a sixteenth of the frames, and syscalls, that
     * 4 KiB pages take; an idle check, which writes two small history rows,
     * costs about the same either way (docs/performance.md). When the WAL
     * starts over, its file is cut back to 64 MiB: what one very big
     * transaction left is not kept on disk (checkpoint.c bounds the rest). */
    int rc = mr_store_exec(s, "PRAGMA page_size=65536; PRAGMA journal_mode=WAL", err);
    if (rc == 0)
        rc = mr_store_exec(s,
                           "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                           "PRAGMA journal_size_limit=67108864;",
                           err);
    return rc;
}

int mr_store_schema_version(struct mr_store *s)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    mr_store_release(s, st);
    return v;
}

int mr_store_latest_schema_version(void)
{
    return (int)mr_store_migration_count;
}

static int exec_migration(struct mr_store *s, size_t i, mr_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, mr_store_migrations[i].sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    mr_error_set(err, MR_ESTORE, "", "%s: migration %zu (%s) failed: %s", s->path, i + 1,
                 mr_store_migrations[i].name, msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return MR_ESTORE;
}

/* A store written by a newer mailroom is not touched. */
static int newer_schema(struct mr_store *s, int version, mr_error *err)
{
    return mr_error_set(err, MR_ESTORE, "",
                        "%s: schema version %d is newer than this mailroom knows (%zu); "
                        "use a newer mailroom",
                        s->path, version, mr_store_migration_count);
}

/* Every pending migration in one transaction: a new store is created with
 * one commit (one fsync) instead of one per migration, and a failed
 * upgrade leaves the store as it was. */
static int migrate(struct mr_store *s, mr_error *err)
{
    int version = mr_store_schema_version(s);
    if (version < 0)
        return mr_store_fail(s, err, "reading the schema version");
    if ((size_t)version > mr_store_migration_count)
        return newer_schema(s, version, err);
    if ((size_t)version == mr_store_migration_count)
        return 0;
    int rc = mr_store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc)
        return rc;
    version = mr_store_schema_version(s); /* another process may have migrated it */
    if (version < 0)
        rc = mr_store_fail(s, err, "reading the schema version");
    else if ((size_t)version > mr_store_migration_count)
        rc = newer_schema(s, version, err);
    for (size_t i = (size_t)version; rc == 0 && i < mr_store_migration_count; i++)
        rc = exec_migration(s, i, err);
    if (rc == 0) {
        char *sql = mr_xasprintf("PRAGMA user_version = %zu; COMMIT", mr_store_migration_count);
        rc = mr_store_exec(s, sql, err);
        free(sql);
    }
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int mr_store_open(struct mr_store **out, const char *dir, mr_error *err)
{
    *out = NULL;
    int rc = make_dir(dir, err);
    if (rc)
        return rc;
    struct mr_store *s = mr_xcalloc(1, sizeof(*s));
    s->dir = mr_xstrdup(dir);
    s->path = mr_xasprintf("%s/%s", dir, MR_STORE_DB_NAME);
    if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = mr_error_set(err, MR_ESTORE, "data", "cannot open database %s: %s", s->path,
                          s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    if (chmod(s->path, 0600) != 0) {
        rc = mr_error_set(err, MR_EIO, "data", "cannot set permissions of %s: %s", s->path,
                          strerror(errno));
        goto out;
    }
    rc = configure(s, err);
    if (rc == 0)
        rc = migrate(s, err);
out:
    if (rc)
        mr_store_close(&s);
    *out = s;
    return rc;
}

void mr_store_close(struct mr_store **sp)
{
    struct mr_store *s = *sp;
    if (!s)
        return;
    if (s->in_transaction)
        mr_store_rollback(s);
    for (size_t i = 0; i < MR_STORE_STATEMENTS; i++) {
        sqlite3_finalize(s->cache[i].st);
        free(s->cache[i].sql);
    }
    sqlite3_close_v2(s->db);
    free(s->dir);
    free(s->path);
    free(s);
    *sp = NULL;
}

int mr_store_in_transaction(const struct mr_store *s)
{
    return s->in_transaction;
}

const char *mr_store_dir(const struct mr_store *s)
{
    return s->dir;
}

/* --- transactions ------------------------------------------------------ */

int mr_store_begin(struct mr_store *s, mr_error *err)
{
    int rc = mr_store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc == 0)
        s->in_transaction = 1;
    return rc;
}

int mr_store_commit(struct mr_store *s, mr_error *err)
{
    int rc = mr_store_exec(s, "COMMIT", err);
    if (rc == 0)
        s->in_transaction = 0;
    if (rc == 0 && s->outbox_added)
        mr_store_outbox_kick();
    if (rc == 0 && s->events_touched)
        mr_store_events_notify();
    s->outbox_added = s->events_touched = 0;
    return rc;
}

void mr_store_rollback(struct mr_store *s)
{
    if (s->in_transaction)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_transaction = 0;
    s->outbox_added = s->events_touched = 0;
}

/* --- meta -------------------------------------------------------------- */

int mr_store_meta_get(struct mr_store *s, const char *key, struct mr_buf *out, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT value FROM meta WHERE key = ?", err);
    if (rc)
        return rc;
    mr_store_bind_text(st, 1, key);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = mr_buf_append(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    else if (step == SQLITE_DONE)
        rc = MR_ENOTFOUND;
    else
        rc = mr_store_fail(s, err, "reading meta data");
    if (rc == MR_ETOOBIG)
        mr_error_set(err, rc, "", "meta value %s is too big", key);
    mr_store_release(s, st);
    return rc;
}

int mr_store_meta_set(struct mr_store *s, const char *key, const void *val, size_t len,
                      mr_error *err)
{
    sqlite3_stmt *st;
    int rc =
        mr_store_prepare(s, &st, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", err);
    if (rc)
        return rc;
    mr_store_bind_text(st, 1, key);
    sqlite3_bind_blob(st, 2, val, (int)len, SQLITE_TRANSIENT);
    return mr_store_run(s, st, "writing meta data", err);
}

/* --- names, references and usage --------------------------------------- */

int mr_store_name_taken(struct mr_store *s, enum mr_object kind, const char *name,
                        int64_t except_id, int *taken, mr_error *err)
{
    sqlite3_stmt *st;
    char *sql = mr_xasprintf("SELECT 1 FROM %s WHERE name = ? AND id <> ?", table_of(kind));
    int rc = mr_store_prepare(s, &st, sql, err);
    free(sql);
    if (rc)
        return rc;
    mr_store_bind_text(st, 1, name);
    sqlite3_bind_int64(st, 2, except_id);
    int step = sqlite3_step(st);
    *taken = step == SQLITE_ROW;
    mr_store_release(s, st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : mr_store_fail(s, err, "reading names");
}

int mr_store_resolve(struct mr_store *s, enum mr_object kind, const char *ref, int64_t *id,
                     mr_error *err)
{
    sqlite3_stmt *st;
    int by_id = mr_str_all_digits(ref);
    char *sql =
        mr_xasprintf("SELECT id FROM %s WHERE %s = ?", table_of(kind), by_id ? "id" : "name");
    int rc = mr_store_prepare(s, &st, sql, err);
    free(sql);
    if (rc)
        return rc;
    mr_store_bind_text(st, 1, ref);
    int step = sqlite3_step(st);
    int more = 0; /* target names are unique per account only */
    if (step == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        more = sqlite3_step(st) == SQLITE_ROW;
    }
    mr_store_release(s, st);
    if (more)
        return mr_error_set(err, MR_EINVAL, "", "more than one %s is named '%s'; use its ID",
                            mr_object_name(kind), ref);
    if (step == SQLITE_ROW)
        return 0;
    if (step != SQLITE_DONE)
        return mr_store_fail(s, err, "looking up a name");
    if (by_id)
        return mr_error_set(err, MR_ENOTFOUND, "", "no %s with ID %s", mr_object_name(kind), ref);
    return mr_error_set(err, MR_ENOTFOUND, "", "no %s named '%s'", mr_object_name(kind), ref);
}

/* Each query lists "what: name" for one kind of reference to ?1. */
static const char *const users_queries[][4] = {
    [MR_OBJ_ACCOUNT] =
        {
            "SELECT count(*) || ' stored messages' FROM messages WHERE account_id = ?1"
            " HAVING count(*) > 0",
            NULL,
            NULL,
        },
    [MR_OBJ_CREDENTIAL] =
        {
            "SELECT 'account ' || name FROM accounts WHERE credential_id = ?1 ORDER BY id",
            "SELECT 'network connector ' || name FROM connectors WHERE credential_id = ?1 "
            "ORDER BY id",
            "SELECT 'the SMTP relay setting' FROM settings WHERE smtp_credential_id = ?1",
            "SELECT 'delivery target ' || name FROM delivery_targets"
            " WHERE secret_credential_id = ?1 ORDER BY id",
        },
    [MR_OBJ_CONNECTOR] =
        {
            "SELECT 'account ' || name FROM accounts WHERE connector_id = ?1 ORDER BY id",
            "SELECT 'the default connector setting' FROM settings WHERE default_connector_id = ?1",
            "SELECT 'account ' || name || ' (through the default)' FROM accounts, settings "
            "WHERE use_connector = 1 AND connector_id IS NULL AND default_connector_id = ?1 "
            "ORDER BY accounts.id",
        },
    [MR_OBJ_USER] = {NULL, NULL, NULL},
    [MR_OBJ_SCHEDULE] = {NULL, NULL, NULL},
    [MR_OBJ_TARGET] = {NULL, NULL, NULL},
};

static int collect_names(struct mr_store *s, const char *sql, int64_t id, struct mr_buf *out,
                         mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, sql, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && rc == 0) {
        if (out->len)
            rc = mr_buf_puts(out, ", ");
        if (rc == 0)
            rc = mr_buf_puts(out, (const char *)sqlite3_column_text(st, 0));
    }
    mr_store_release(s, st);
    if (rc == MR_ETOOBIG) /* a long list is cut, not an error */
        return 0;
    return step == SQLITE_DONE || step == SQLITE_ROW ? 0 : mr_store_fail(s, err, "listing users");
}

int mr_store_users_of(struct mr_store *s, enum mr_object kind, int64_t id, struct mr_buf *out,
                      mr_error *err)
{
    for (int i = 0; i < 4 && users_queries[kind][i]; i++) {
        int rc = collect_names(s, users_queries[kind][i], id, out, err);
        if (rc)
            return rc;
    }
    return 0;
}

int mr_store_accounts_on_default(struct mr_store *s, struct mr_buf *out, mr_error *err)
{
    return collect_names(s,
                         "SELECT name FROM accounts WHERE use_connector = 1 AND "
                         "connector_id IS NULL AND ?1 = ?1 ORDER BY id",
                         0, out, err);
}

int mr_store_delete_unused(struct mr_store *s, enum mr_object kind, int64_t id, mr_error *err)
{
    struct mr_buf users;
    mr_buf_init(&users, 800);
    int rc = mr_store_users_of(s, kind, id, &users, err);
    if (rc == 0 && users.len)
        rc =
            mr_error_set(err, MR_EINUSE, "", "%s %lld %s %s; %s", mr_object_name(kind),
                         (long long)id, kind == MR_OBJ_ACCOUNT ? "has" : "is in use by", users.data,
                         kind == MR_OBJ_ACCOUNT ? "remove it with --delete-messages to delete "
                                                  "them too"
                                                : "change those first");
    mr_buf_free(&users);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    char *sql = mr_xasprintf("DELETE FROM %s WHERE id = ?", table_of(kind));
    rc = mr_store_prepare(s, &st, sql, err);
    free(sql);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = mr_store_run(s, st, "deleting", err);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = mr_error_set(err, MR_ENOTFOUND, "", "no %s with ID %lld", mr_object_name(kind),
                          (long long)id);
    return rc;
}
