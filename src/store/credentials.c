#include "store/store_private.h"

#include "util/mem.h"

#include <string.h>

#define CREDENTIAL_COLUMNS                                                                         \
    "id, name, kind, username, created_at, updated_at, oauth, token_state, token_error,"           \
    " token_expires_at, token_refreshed_at, token_signed_in_at"

static void read_row(sqlite3_stmt *st, void *out)
{
    struct mr_credential *c = out;
    mr_credential_init(c);
    c->id = sqlite3_column_int64(st, 0);
    c->name = mr_store_column_text(st, 1);
    if (mr_credential_kind_parse((const char *)sqlite3_column_text(st, 2), &c->kind) != 0)
        c->kind = MR_CREDENTIAL_PASSWORD;
    c->username = mr_store_column_text(st, 3);
    c->has_secret = 1;
    c->created_at = sqlite3_column_int64(st, 4);
    c->updated_at = sqlite3_column_int64(st, 5);
    if (c->kind == MR_CREDENTIAL_OAUTH2)
        mr_oauth_from_json((const char *)sqlite3_column_text(st, 6), &c->oauth);
    c->token_state = mr_store_column_text(st, 7);
    c->token_error = mr_store_column_text(st, 8);
    c->token_expires_at = sqlite3_column_int64(st, 9);
    c->token_refreshed_at = sqlite3_column_int64(st, 10);
    c->token_signed_in_at = sqlite3_column_int64(st, 11);
}

static void bind_oauth(sqlite3_stmt *st, int col, const struct mr_credential *c)
{
    char *json = c->kind == MR_CREDENTIAL_OAUTH2 ? mr_oauth_to_json(&c->oauth) : NULL;
    if (json)
        sqlite3_bind_text(st, col, json, -1, free);
    else
        sqlite3_bind_null(st, col);
}

int mr_store_credential_insert(struct mr_store *s, struct mr_credential *c, const void *sealed,
                               size_t sealed_len, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "INSERT INTO credentials (name, kind, username, secret, created_at,"
                              " updated_at, oauth) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              err);
    if (rc)
        return rc;
    c->created_at = c->updated_at = mr_store_now();
    mr_store_bind_text(st, 1, c->name);
    mr_store_bind_text(st, 2, mr_credential_kind_name(c->kind));
    mr_store_bind_text(st, 3, c->username);
    sqlite3_bind_blob(st, 4, sealed, (int)sealed_len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, c->created_at);
    sqlite3_bind_int64(st, 6, c->updated_at);
    bind_oauth(st, 7, c);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_CREDENTIAL, c->name, "adding a credential", err);
    mr_store_release(s, st);
    if (rc == 0)
        c->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int mr_store_credential_update(struct mr_store *s, struct mr_credential *c, const void *sealed,
                               size_t sealed_len, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "UPDATE credentials SET name = ?1, username = ?2,"
                              " secret = coalesce(?3, secret), updated_at = ?4, oauth = ?6"
                              " WHERE id = ?5",
                              err);
    if (rc)
        return rc;
    c->updated_at = mr_store_now();
    mr_store_bind_text(st, 1, c->name);
    mr_store_bind_text(st, 2, c->username);
    if (sealed)
        sqlite3_bind_blob(st, 3, sealed, (int)sealed_len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, c->updated_at);
    sqlite3_bind_int64(st, 5, c->id);
    bind_oauth(st, 6, c);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_CREDENTIAL, c->name, "updating a credential", err);
    mr_store_release(s, st);
    return rc;
}

int mr_store_credential_get(struct mr_store *s, int64_t id, struct mr_credential *out,
                            mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT " CREDENTIAL_COLUMNS " FROM credentials WHERE id = ?",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return mr_store_fetch_one(s, st, read_row, out, MR_OBJ_CREDENTIAL, id, err);
}

int mr_store_credential_secret(struct mr_store *s, int64_t id, struct mr_buf *sealed, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st, "SELECT secret FROM credentials WHERE id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = mr_buf_append(sealed, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    else if (step == SQLITE_DONE)
        rc = mr_error_set(err, MR_ENOTFOUND, "", "no credential with ID %lld", (long long)id);
    else
        rc = mr_store_fail(s, err, "reading a secret");
    if (rc == MR_ETOOBIG)
        mr_error_set(err, rc, "", "the secret of credential %lld is too big", (long long)id);
    mr_store_release(s, st);
    return rc;
}

static void clear_row(void *c)
{
    mr_credential_clear(c);
}

int mr_store_credential_list(struct mr_store *s, struct mr_credential **items, size_t *n,
                             mr_error *err)
{
    sqlite3_stmt *st;
    int rc =
        mr_store_prepare(s, &st, "SELECT " CREDENTIAL_COLUMNS " FROM credentials ORDER BY id", err);
    if (rc)
        return rc;
    return mr_store_collect(s, st, sizeof(**items), read_row, clear_row, (void **)items, n, err);
}

void mr_credential_list_free(struct mr_credential **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        mr_credential_clear(&(*items)[i]);
    mr_freep(items);
}

int mr_store_credential_delete(struct mr_store *s, int64_t id, mr_error *err)
{
    return mr_store_delete_unused(s, MR_OBJ_CREDENTIAL, id, err);
}

int mr_store_credential_set_tokens(struct mr_store *s, int64_t id, const void *sealed,
                                   size_t sealed_len, int64_t expires_at, int signed_in,
                                   mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "UPDATE credentials SET secret = ?1, token_state = 'ok',"
                              " token_error = NULL, token_expires_at = ?2,"
                              " token_refreshed_at = ?3,"
                              " token_signed_in_at = CASE WHEN ?5 THEN ?3 ELSE token_signed_in_at"
                              " END WHERE id = ?4",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, sealed, (int)sealed_len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, expires_at);
    sqlite3_bind_int64(st, 3, mr_store_now());
    sqlite3_bind_int64(st, 4, id);
    sqlite3_bind_int(st, 5, signed_in);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_fail(s, err, "saving a credential's tokens");
    else if (sqlite3_changes(s->db) == 0)
        rc = mr_error_set(err, MR_ENOTFOUND, "", "no credential with ID %lld", (long long)id);
    mr_store_release(s, st);
    return rc;
}

int mr_store_credential_set_token_state(struct mr_store *s, int64_t id, const char *state,
                                        const char *error, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st, "UPDATE credentials SET token_state = ?1, token_error = ?2 WHERE id = ?3", err);
    if (rc)
        return rc;
    mr_store_bind_text(st, 1, state);
    mr_store_bind_text(st, 2, error);
    sqlite3_bind_int64(st, 3, id);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_fail(s, err, "saving a credential's token state");
    mr_store_release(s, st);
    return rc;
}

int mr_store_credential_signed_in(struct mr_store *s, int64_t id, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "UPDATE credentials SET token_signed_in_at = ?1, token_state = NULL,"
                              " token_error = NULL WHERE id = ?2",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, mr_store_now());
    sqlite3_bind_int64(st, 2, id);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_fail(s, err, "saving a credential's sign-in");
    mr_store_release(s, st);
    return rc;
}
