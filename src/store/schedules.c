/* Report schedules and the SMTP relay they send through. */
#include "store/store_private.h"

#include "util/mem.h"

#include <stdio.h>
#include <string.h>

#define SCHEDULE_COLUMNS                                                                           \
    "id, name, filters, format, recurrence, at_time, day, every_hours, recipients, directory,"     \
    " enabled, next_run_at, last_run_at, last_result, last_error, failures, created_at,"           \
    " updated_at, language"

static void read_schedule(sqlite3_stmt *st, void *out)
{
    struct mr_schedule *c = out;
    mr_schedule_init(c);
    c->id = sqlite3_column_int64(st, 0);
    c->name = mr_store_column_text(st, 1);
    c->filters = mr_store_column_text(st, 2);
    c->format = mr_store_column_text(st, 3);
    mr_recurrence_parse((const char *)sqlite3_column_text(st, 4), &c->recurrence);
    const unsigned char *at = sqlite3_column_text(st, 5);
    if (at)
        sscanf((const char *)at, "%d:%d", &c->hour, &c->minute);
    c->day = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
    c->every_hours = sqlite3_column_int(st, 7);
    c->recipients = mr_store_column_text(st, 8);
    c->directory = mr_store_column_text(st, 9);
    c->enabled = sqlite3_column_int(st, 10);
    c->next_run_at = sqlite3_column_int64(st, 11);
    c->last_run_at = sqlite3_column_int64(st, 12);
    c->last_result = mr_store_column_text(st, 13);
    c->last_error = mr_store_column_text(st, 14);
    c->failures = sqlite3_column_int(st, 15);
    c->created_at = sqlite3_column_int64(st, 16);
    c->updated_at = sqlite3_column_int64(st, 17);
    mr_lang_parse((const char *)sqlite3_column_text(st, 18), &c->language);
    if (c->recipients && !*c->recipients)
        mr_freep(&c->recipients);
}

static void clear_schedule(void *c)
{
    mr_schedule_clear(c);
}

static void bind_schedule(sqlite3_stmt *st, const struct mr_schedule *c)
{
    char at[8];
    snprintf(at, sizeof(at), "%02d:%02d", c->hour, c->minute);
    mr_store_bind_text(st, 1, c->name);
    mr_store_bind_text(st, 2, c->filters ? c->filters : "{}");
    mr_store_bind_text(st, 3, c->format);
    mr_store_bind_text(st, 4, mr_recurrence_name(c->recurrence));
    mr_store_bind_text(st, 5, c->recurrence == MR_REC_HOURS ? NULL : at);
    if (c->day >= 0)
        sqlite3_bind_int(st, 6, c->day);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_int(st, 7, c->every_hours);
    mr_store_bind_text(st, 8, c->recipients ? c->recipients : "");
    mr_store_bind_text(st, 9, c->directory);
    sqlite3_bind_int(st, 10, c->enabled);
    sqlite3_bind_int64(st, 11, c->next_run_at);
    sqlite3_bind_int64(st, 12, c->updated_at);
    mr_store_bind_text(st, 14, mr_lang_name(c->language));
}

int mr_store_schedule_insert(struct mr_store *s, struct mr_schedule *c, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "INSERT INTO report_schedules (name, filters, format, recurrence,"
                              " at_time, day, every_hours, recipients, directory, enabled,"
                              " next_run_at, updated_at, created_at, language) VALUES (?1, ?2, ?3,"
                              " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?14)",
                              err);
    if (rc)
        return rc;
    c->created_at = c->updated_at = mr_store_now();
    bind_schedule(st, c);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_SCHEDULE, c->name, "adding a schedule", err);
    mr_store_release(s, st);
    if (rc == 0)
        c->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int mr_store_schedule_update(struct mr_store *s, struct mr_schedule *c, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "UPDATE report_schedules SET name = ?1, filters = ?2, format = ?3,"
                              " recurrence = ?4, at_time = ?5, day = ?6, every_hours = ?7,"
                              " recipients = ?8, directory = ?9, enabled = ?10, next_run_at = ?11,"
                              " updated_at = ?12, language = ?14 WHERE id = ?13",
                              err);
    if (rc)
        return rc;
    c->updated_at = mr_store_now();
    bind_schedule(st, c);
    sqlite3_bind_int64(st, 13, c->id);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = mr_store_write_failed(s, MR_OBJ_SCHEDULE, c->name, "updating a schedule", err);
    mr_store_release(s, st);
    return rc;
}

int mr_store_schedule_get(struct mr_store *s, int64_t id, struct mr_schedule *out, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st, "SELECT " SCHEDULE_COLUMNS " FROM report_schedules WHERE id = ?", err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return mr_store_fetch_one(s, st, read_schedule, out, MR_OBJ_SCHEDULE, id, err);
}

int mr_store_schedule_list(struct mr_store *s, struct mr_schedule **items, size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT " SCHEDULE_COLUMNS " FROM report_schedules ORDER BY id", err);
    if (rc)
        return rc;
    return mr_store_collect(s, st, sizeof(**items), read_schedule, clear_schedule, (void **)items,
                            n, err);
}

void mr_schedule_list_free(struct mr_schedule **items, size_t n)
{
    for (size_t i = 0; *items && i < n; i++)
        mr_schedule_clear(&(*items)[i]);
    mr_freep(items);
}

int mr_store_schedule_delete(struct mr_store *s, int64_t id, mr_error *err)
{
    return mr_store_delete_unused(s, MR_OBJ_SCHEDULE, id, err);
}

static void read_id(sqlite3_stmt *st, void *out)
{
    *(int64_t *)out = sqlite3_column_int64(st, 0);
}

static void no_clear(void *p)
{
    (void)p;
}

int mr_store_schedules_due(struct mr_store *s, int64_t now, int64_t **ids, size_t *n, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "SELECT id FROM report_schedules WHERE enabled = 1 AND"
                              " next_run_at <= ? ORDER BY next_run_at",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, now);
    return mr_store_collect(s, st, sizeof(**ids), read_id, no_clear, (void **)ids, n, err);
}

int mr_store_schedule_result(struct mr_store *s, int64_t id, const char *result, const char *error,
                             int failures, int64_t next_run_at, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "UPDATE report_schedules SET last_run_at = ?, last_result = ?,"
                              " last_error = ?, failures = ?, next_run_at = ? WHERE id = ?",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, mr_store_now());
    mr_store_bind_text(st, 2, result);
    mr_store_bind_text(st, 3, error);
    sqlite3_bind_int(st, 4, failures);
    sqlite3_bind_int64(st, 5, next_run_at);
    sqlite3_bind_int64(st, 6, id);
    return mr_store_run(s, st, "recording a report run", err);
}

void mr_smtp_settings_clear(struct mr_smtp_settings *m)
{
    mr_freep(&m->host);
    mr_freep(&m->security);
    mr_freep(&m->from);
}

int mr_store_smtp_get(struct mr_store *s, struct mr_smtp_settings *out, mr_error *err)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof(*out));
    int rc = mr_store_prepare(s, &st,
                              "SELECT smtp_host, smtp_port, smtp_security, smtp_credential_id,"
                              " smtp_from FROM settings WHERE id = 1",
                              err);
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        out->host = mr_store_column_text(st, 0);
        out->port = sqlite3_column_int(st, 1);
        out->security = mr_store_column_text(st, 2);
        out->credential_id = sqlite3_column_int64(st, 3);
        out->from = mr_store_column_text(st, 4);
    }
    mr_store_release(s, st);
    return step == SQLITE_ROW ? 0 : mr_store_fail(s, err, "reading settings");
}

int mr_store_smtp_set(struct mr_store *s, const struct mr_smtp_settings *in, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(s, &st,
                              "UPDATE settings SET smtp_host = ?, smtp_port = ?, smtp_security = ?,"
                              " smtp_credential_id = ?, smtp_from = ? WHERE id = 1",
                              err);
    if (rc)
        return rc;
    mr_store_bind_text(st, 1, in->host);
    if (in->port)
        sqlite3_bind_int(st, 2, in->port);
    else
        sqlite3_bind_null(st, 2);
    mr_store_bind_text(st, 3, in->security);
    mr_store_bind_id(st, 4, in->credential_id);
    mr_store_bind_text(st, 5, in->from);
    return mr_store_run(s, st, "writing settings", err);
}

int mr_store_schedule_claim(struct mr_store *s, int64_t id, int64_t now, int64_t lease_until,
                            int *claimed, mr_error *err)
{
    sqlite3_stmt *st;
    *claimed = 0;
    int rc = mr_store_prepare(s, &st,
                              "UPDATE report_schedules SET next_run_at = ?"
                              " WHERE id = ? AND enabled = 1 AND next_run_at <= ?",
                              err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, lease_until);
    sqlite3_bind_int64(st, 2, id);
    sqlite3_bind_int64(st, 3, now);
    rc = mr_store_run(s, st, "taking a due report", err);
    *claimed = rc == 0 && sqlite3_changes(s->db) == 1;
    return rc;
}
