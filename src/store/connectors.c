#include "store/store_private.h"

#include "util/mem.h"

#define CONNECTOR_COLUMNS "id, name, type, address, port, credential_id, created_at, updated_at"

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
}

int mr_store_connector_insert(struct mr_store *s, struct mr_connector *c, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "INSERT INTO connectors (name, type, address, port, credential_id,"
                              " updated_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                              err);
    if (rc)
        return rc;
    c->created_at = c->updated_at = mr_store_now();
    bind_fields(st, c);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_CONNECTOR, c->name, "adding a connector", err);
    sqlite3_finalize(st);
    if (rc == 0)
        c->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int mr_store_connector_update(struct mr_store *s, struct mr_connector *c, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "UPDATE connectors SET name = ?1, type = ?2, address = ?3, port = ?4,"
                              " credential_id = ?5, updated_at = ?6 WHERE id = ?7",
                              err);
    if (rc)
        return rc;
    c->updated_at = mr_store_now();
    bind_fields(st, c);
    sqlite3_bind_int64(st, 7, c->id);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_CONNECTOR, c->name, "updating a connector", err);
    sqlite3_finalize(st);
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
    sqlite3_finalize(st);
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
