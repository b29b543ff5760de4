#include "store/store_private.h"

#include "util/mem.h"

#define CONNECTOR_COLUMNS                                                                          \
    "id, name, type, address, port, credential_id, created_at, updated_at, resolve_local, tls,"    \
    " skip_certificate, ca_file"

static void read_row(sqlite3_stmt *st, void *out)
{
    struct mr_connector *c = out;
    mr_connector_init(c);
    c->id = sqlite3_column_int64(st, 0);
    c->name = mr_store_column_text(st, 1);
    mr_connector_type_parse((const char *)sqlite3_column_text(st, 2), &c->type);
    c->address = mr_store_column_text(st, 3);
    c->port = sqlite3_column_int(st, 4);
    c->credential_id = sqlite3_column_int64(st, 5);
    c->created_at = sqlite3_column_int64(st, 6);
    c->updated_at = sqlite3_column_int64(st, 7);
    c->resolve_local = sqlite3_column_int(st, 8);
    c->tls = sqlite3_column_int(st, 9);
    c->skip_certificate = sqlite3_column_int(st, 10);
    c->ca_file = mr_store_column_text(st, 11);
}

static void clear_row(void *c)
{
    mr_connector_clear(c);
}

static void bind_fields(sqlite3_stmt *st, const struct mr_connector *c)
{
    mr_store_bind_text(st, 1, c->name);
    mr_store_bind_text(st, 2, mr_connector_type_name(c->type));
    mr_store_bind_text(st, 3, c->address);
    sqlite3_bind_int(st, 4, c->port);
    mr_store_bind_id(st, 5, c->credential_id);
    sqlite3_bind_int64(st, 6, c->updated_at);
    sqlite3_bind_int(st, 8, c->resolve_local);
    sqlite3_bind_int(st, 9, c->tls);
    sqlite3_bind_int(st, 10, c->skip_certificate);
    mr_store_bind_text(st, 11, c->ca_file);
}

int mr_store_connector_insert(struct mr_store *s, struct mr_connector *c, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "INSERT INTO connectors (name, type, address, port, credential_id,"
                              " updated_at, created_at, resolve_local, tls, skip_certificate,"
                              " ca_file) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?8, ?9, ?10, ?11)",
                              err);
    if (rc)
        return rc;
    c->created_at = c->updated_at = mr_store_now();
    bind_fields(st, c);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_CONNECTOR, c->name, "adding a connector", err);
    mr_store_release(s, st);
    if (rc == 0)
        c->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int mr_store_connector_update(struct mr_store *s, struct mr_connector *c, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "UPDATE connectors SET name = ?1, type = ?2, address = ?3, port = ?4,"
                              " credential_id = ?5, updated_at = ?6, resolve_local = ?8, tls = ?9,"
                              " skip_certificate = ?10, ca_file = ?11 WHERE id = ?7",
                              err);
    if (rc)
        return rc;
    c->updated_at = mr_store_now();
    bind_fields(st, c);
    sqlite3_bind_int64(st, 7, c->id);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_CONNECTOR, c->name, "updating a connector", err);
    mr_store_release(s, st);
    return rc;
}

int mr_store_connector_get(struct mr_store *s, int64_t id, struct mr_connector *out, mr_error *err)
{
    sqlite3_stmt *st;
    int rc =
        mr_store_prepare(s, &st, "SELECT " CONNECTOR_COLUMNS " FROM connectors WHERE id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return mr_store_fetch_one(s, st, read_row, out, MR_OBJ_CONNECTOR, id, err);
}

int mr_store_connector_list(struct mr_store *s, struct mr_connector **items, size_t *n,
                            mr_error *err)
{
    sqlite3_stmt *st;
    int rc =
        mr_store_prepare(s, &st, "SELECT " CONNECTOR_COLUMNS " FROM connectors ORDER BY id", err);
    if (rc)
        return rc;
    return mr_store_collect(s, st, sizeof(**items), read_row, clear_row, (void **)items, n, err);
}

void mr_connector_list_free(struct mr_connector **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        mr_connector_clear(&(*items)[i]);
    mr_freep(items);
}

int mr_store_connector_delete(struct mr_store *s, int64_t id, mr_error *err)
{
    return mr_store_delete_unused(s, MR_OBJ_CONNECTOR, id, err);
}

int mr_store_default_connector(struct mr_store *s, int64_t *id, mr_error *err)
{
    sqlite3_stmt *st;
    int rc =
        mr_store_prepare(s, &st, "SELECT default_connector_id FROM settings WHERE id = 1", err);
    if (rc)
        return rc;
    *id = 0;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    mr_store_release(s, st);
    return step == SQLITE_ROW ? 0 : mr_store_fail(s, err, "reading settings");
}

int mr_store_set_default_connector(struct mr_store *s, int64_t id, mr_error *err)
{
    sqlite3_stmt *st;
    int rc =
        mr_store_prepare(s, &st, "UPDATE settings SET default_connector_id = ? WHERE id = 1", err);
    if (rc)
        return rc;
    mr_store_bind_id(st, 1, id);
    return mr_store_run(s, st, "writing settings", err);
}

static void read_user(sqlite3_stmt *st, void *out)
{
    struct mr_connector_user *u = out;
    u->id = sqlite3_column_int64(st, 0);
    u->name = mr_store_column_text(st, 1);
    u->through_default = sqlite3_column_int(st, 2);
}

static void clear_user(void *u)
{
    mr_freep(&((struct mr_connector_user *)u)->name);
}

int mr_store_connector_users(struct mr_store *s, int64_t connector_id,
                             struct mr_connector_user **items, size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    int rc =
        mr_store_prepare(s, &st,
                         "SELECT a.id, a.name, a.connector_id IS NULL FROM accounts a, settings"
                         " WHERE settings.id = 1 AND a.use_connector = 1 AND"
                         " (a.connector_id = ?1 OR (a.connector_id IS NULL AND"
                         " settings.default_connector_id = ?1)) ORDER BY a.id",
                         err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, connector_id);
    return mr_store_collect(s, st, sizeof(**items), read_user, clear_user, (void **)items, n, err);
}

void mr_connector_users_free(struct mr_connector_user **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        clear_user(&(*items)[i]);
    mr_freep(items);
}
