/* The audit log: who changed what, when. */
#include "store/store_private.h"

#include "util/mem.h"

#include <string.h>

int mr_store_audit_add(struct mr_store *s, const char *actor, const char *action,
                       const char *object, int64_t object_id, const char *object_name,
                       const char *changes, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "INSERT INTO audit_log (at, actor, action, object, object_id,"
                              " object_name, changes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, mr_store_now());
    mr_store_bind_text(st, 2, actor);
    mr_store_bind_text(st, 3, action);
    mr_store_bind_text(st, 4, object);
    mr_store_bind_id(st, 5, object_id);
    mr_store_bind_text(st, 6, object_name);
    mr_store_bind_text(st, 7, changes);
    return mr_store_run(s, st, "writing the audit log", err);
}

#define AUDIT_WHERE                                                                                \
    " WHERE (?1 IS NULL OR object = ?1) AND (?2 IS NULL OR actor = ?2)"                            \
    " AND (?3 = 0 OR object_id = ?3)"

static void bind_filter(sqlite3_stmt *st, const struct mr_audit_filter *f)
{
    mr_store_bind_text(st, 1, f->object && *f->object ? f->object : NULL);
    mr_store_bind_text(st, 2, f->actor && *f->actor ? f->actor : NULL);
    sqlite3_bind_int64(st, 3, f->object_id);
}

static void read_entry(sqlite3_stmt *st, void *out)
{
    struct mr_audit_entry *e = out;
    e->id = sqlite3_column_int64(st, 0);
    e->at = sqlite3_column_int64(st, 1);
    e->actor = mr_store_column_text(st, 2);
    e->action = mr_store_column_text(st, 3);
    e->object = mr_store_column_text(st, 4);
    e->object_id = sqlite3_column_int64(st, 5);
    e->object_name = mr_store_column_text(st, 6);
    e->changes = mr_store_column_text(st, 7);
}

static void clear_entry(void *p)
{
    struct mr_audit_entry *e = p;
    mr_freep(&e->actor);
    mr_freep(&e->action);
    mr_freep(&e->object);
    mr_freep(&e->object_name);
    mr_freep(&e->changes);
}

int mr_store_audit_list(struct mr_store *s, const struct mr_audit_filter *f, size_t offset,
                        size_t limit, struct mr_audit_entry **items, size_t *n, size_t *total,
                        mr_error *err)
{
    sqlite3_stmt *st;
    *items = NULL;
    *n = 0;
    int rc = mr_store_prepare(s, &st, "SELECT count(*) FROM audit_log" AUDIT_WHERE, err);
    if (rc)
        return rc;
    bind_filter(st, f);
    *total = sqlite3_step(st) == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
    mr_store_release(s, st);
    rc = mr_store_prepare(s, &st,
                          "SELECT id, at, actor, action, object, object_id, object_name, changes"
                          " FROM audit_log" AUDIT_WHERE " ORDER BY id DESC LIMIT ?4 OFFSET ?5",
                          err);
    if (rc)
        return rc;
    bind_filter(st, f);
    sqlite3_bind_int64(st, 4, limit ? (int64_t)limit : -1);
    sqlite3_bind_int64(st, 5, (int64_t)offset);
    return mr_store_collect(s, st, sizeof(**items), read_entry, clear_entry, (void **)items, n,
                            err);
}

void mr_audit_list_free(struct mr_audit_entry **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        clear_entry(&(*items)[i]);
    mr_freep(items);
}
