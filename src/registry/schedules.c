#include "registry/schedules.h"

#include "core/names.h"
#include "registry/audit.h"
#include "report/deliver.h"
#include "util/mem.h"
#include "util/safedir.h"
#include "util/text.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int finish(struct mr_registry *r, int rc, mr_error *err)
{
    if (rc == 0)
        return mr_store_commit(r->store, err);
    mr_store_rollback(r->store);
    return rc;
}

static json_t *schedule_changes(const struct mr_schedule *a, const struct mr_schedule *b)
{
    static const struct mr_schedule none = {.day = -1};
    char at_a[8], at_b[8], d_a[8], d_b[8], h_a[8], h_b[8];
    json_t *c = json_object();
    a = a ? a : &none;
    b = b ? b : &none;
    snprintf(at_a, sizeof(at_a), "%02d:%02d", a->hour, a->minute);
    snprintf(at_b, sizeof(at_b), "%02d:%02d", b->hour, b->minute);
    snprintf(d_a, sizeof(d_a), "%d", a->day);
    snprintf(d_b, sizeof(d_b), "%d", b->day);
    snprintf(h_a, sizeof(h_a), "%d", a->every_hours);
    snprintf(h_b, sizeof(h_b), "%d", b->every_hours);
    mr_audit_change(c, "name", a->name, b->name);
    mr_audit_change(c, "filters", a->filters, b->filters);
    mr_audit_change(c, "format", a->format, b->format);
    mr_audit_change(c, "recurrence", a->recurrence ? mr_recurrence_name(a->recurrence) : NULL,
                    b->recurrence ? mr_recurrence_name(b->recurrence) : NULL);
    mr_audit_change(c, "at", a->name ? at_a : NULL, b->name ? at_b : NULL);
    mr_audit_change(c, "day", a->day >= 0 ? d_a : NULL, b->day >= 0 ? d_b : NULL);
    mr_audit_change(c, "every_hours", a->every_hours ? h_a : NULL, b->every_hours ? h_b : NULL);
    mr_audit_change(c, "recipients", a->recipients, b->recipients);
    mr_audit_change(c, "directory", a->directory, b->directory);
    mr_audit_change(c, "enabled", a->name ? mr_yes_no(a->enabled) : NULL,
                    b->name ? mr_yes_no(b->enabled) : NULL);
    return c;
}

/* A directory given now must be one reports can be written to: under the
 * base, ours, writable by no one else. One saved earlier is checked again
 * when it is written to (the base or the directory may have changed). */
static void check_directory(const char *base, const struct mr_schedule *c,
                            const struct mr_input *in, struct mr_problems *p)
{
    mr_error e = {0};
    int fd;
    if (!c->directory || !mr_input_get(in, "directory") || mr_problems_has(p, "directory"))
        return;
    if (mr_safedir_open(base, c->directory, MR_REPORT_DIR_HINT, &fd, &e) != 0)
        mr_problems_add(p, "directory", "%s", e.message);
    else
        close(fd);
}

static int save(struct mr_registry *r, const char *base, struct mr_schedule *c,
                const struct mr_input *in, struct mr_problems *p, mr_error *err)
{
    size_t before = p->count;
    struct mr_account_filter f;
    char name[256];
    int taken = 0;
    for (size_t i = 0; i < in->count; i++)
        mr_schedule_set(c, in->items[i].key, in->items[i].value, p);
    if (!c->format)
        c->format = mr_xstrdup("csv");
    mr_schedule_validate(c, p);
    check_directory(base, c, in, p);
    if (!mr_problems_has(p, "filters"))
        mr_report_filter_from_json(c->filters, &f, name, p);
    int rc =
        c->name ? mr_store_name_taken(r->store, MR_OBJ_SCHEDULE, c->name, c->id, &taken, err) : 0;
    if (rc == 0 && taken)
        mr_problems_add(p, "name", "a report schedule named '%s' already exists", c->name);
    if (rc == 0 && p->count > before)
        rc = MR_EINVAL;
    c->next_run_at = mr_schedule_next(c, (int64_t)time(NULL));
    if (rc == 0)
        rc = c->id ? mr_store_schedule_update(r->store, c, err)
                   : mr_store_schedule_insert(r->store, c, err);
    return rc;
}

int mr_registry_schedule_add(struct mr_registry *r, const char *base, const struct mr_input *in,
                             int64_t *id, struct mr_problems *p, mr_error *err)
{
    struct mr_schedule c;
    mr_schedule_init(&c);
    int rc = mr_store_begin(r->store, err);
    if (rc == 0) {
        rc = save(r, base, &c, in, p, err);
        if (rc == 0)
            rc = mr_audit_record(r, "create", MR_OBJ_SCHEDULE, c.id, c.name,
                                 schedule_changes(NULL, &c), err);
        rc = finish(r, rc, err);
    }
    *id = c.id;
    mr_schedule_clear(&c);
    return rc;
}

static void copy_schedule(struct mr_schedule *dst, const struct mr_schedule *src)
{
    *dst = *src;
    dst->name = mr_xstrdup_or_null(src->name);
    dst->filters = mr_xstrdup_or_null(src->filters);
    dst->format = mr_xstrdup_or_null(src->format);
    dst->recipients = mr_xstrdup_or_null(src->recipients);
    dst->directory = mr_xstrdup_or_null(src->directory);
    dst->last_result = mr_xstrdup_or_null(src->last_result);
    dst->last_error = mr_xstrdup_or_null(src->last_error);
}

int mr_registry_schedule_edit(struct mr_registry *r, const char *base, int64_t id,
                              const struct mr_input *in, struct mr_problems *p, mr_error *err)
{
    struct mr_schedule c, old;
    mr_schedule_init(&c);
    mr_schedule_init(&old);
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_schedule_get(r->store, id, &c, err);
    if (rc == 0) {
        copy_schedule(&old, &c);
        rc = save(r, base, &c, in, p, err);
    }
    if (rc == 0)
        rc = mr_audit_record(r, "update", MR_OBJ_SCHEDULE, id, c.name, schedule_changes(&old, &c),
                             err);
    mr_schedule_clear(&old);
    mr_schedule_clear(&c);
    return finish(r, rc, err);
}

int mr_registry_schedule_remove(struct mr_registry *r, int64_t id, mr_error *err)
{
    struct mr_schedule c;
    mr_schedule_init(&c);
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_schedule_get(r->store, id, &c, err);
    if (rc == 0)
        rc = mr_store_schedule_delete(r->store, id, err);
    if (rc == 0)
        rc = mr_audit_record(r, "delete", MR_OBJ_SCHEDULE, id, c.name, schedule_changes(&c, NULL),
                             err);
    mr_schedule_clear(&c);
    return finish(r, rc, err);
}

static void smtp_field(struct mr_registry *r, struct mr_smtp_settings *m, const char *key,
                       const char *v, struct mr_problems *p, mr_error *err)
{
    long long port;
    char **text = strcmp(key, "smtp_host") == 0       ? &m->host
                  : strcmp(key, "smtp_from") == 0     ? &m->from
                  : strcmp(key, "smtp_security") == 0 ? &m->security
                                                      : NULL;
    if (text) {
        free(*text);
        *text = *v ? mr_xstrdup(v) : NULL;
    } else if (strcmp(key, "smtp_port") == 0) {
        if (*v && mr_parse_int(v, 1, 65535, &port) != 0)
            mr_problems_add(p, key, "must be a port from 1 to 65535");
        m->port = *v ? (int)port : 0;
    } else if (strcmp(key, "smtp_credential") == 0) {
        m->credential_id = 0;
        if (*v && mr_store_resolve(r->store, MR_OBJ_CREDENTIAL, v, &m->credential_id, err) != 0)
            mr_problems_add(p, key, "%s", err->message);
    } else
        mr_problems_add(p, key, "is not an SMTP setting");
}

/* Plain `none` takes no credential: its password would cross the network in
 * clear. The admin who wants that says none-insecure. */
static void check_smtp_security(struct mr_smtp_settings *m, const struct mr_input *in,
                                struct mr_problems *p)
{
    enum mr_smtp_security sec;
    if (mr_smtp_security_parse(m->security, &sec) != 0) {
        mr_problems_add(p, "smtp_security", "expected %s", MR_SMTP_SECURITY_VALUES);
        return;
    }
    free(m->security); /* stored by its name, lower case; the default written out */
    m->security = mr_xstrdup(mr_smtp_security_name(sec));
    if (sec == MR_SMTP_NONE && m->credential_id)
        mr_problems_add(p, mr_input_get(in, "smtp_security") ? "smtp_security" : "smtp_credential",
                        "none would send the credential's password in clear: choose starttls "
                        "or tls, no credential, or none-insecure to send it in clear anyway");
}

int mr_registry_smtp_apply(struct mr_registry *r, const struct mr_input *in, struct mr_problems *p,
                           mr_error *err)
{
    struct mr_smtp_settings m;
    size_t before = p->count;
    int rc = mr_store_smtp_get(r->store, &m, err);
    for (size_t i = 0; i < in->count && rc == 0; i++)
        smtp_field(r, &m, in->items[i].key, in->items[i].value, p, err);
    if (m.host)
        mr_check_host(m.host, "smtp_host", p);
    check_smtp_security(&m, in, p);
    if (m.from && !mr_email_valid(m.from))
        mr_problems_add(p, "smtp_from", "'%.80s' is not an e-mail address", m.from);
    if (rc == 0 && p->count > before)
        rc = MR_EINVAL;
    if (rc == 0)
        rc = mr_store_smtp_set(r->store, &m, err);
    if (rc == 0) {
        char *text = mr_xasprintf("{\"smtp\":\"changed\"}");
        rc = mr_store_audit_add(r->store, r->actor[0] ? r->actor : "unknown", "update", "settings",
                                0, "smtp relay", text, err);
        free(text);
    }
    mr_smtp_settings_clear(&m);
    return rc;
}

int mr_registry_smtp_set(struct mr_registry *r, const struct mr_input *in, struct mr_problems *p,
                         mr_error *err)
{
    int rc = mr_store_begin(r->store, err);
    return rc ? rc : finish(r, mr_registry_smtp_apply(r, in, p, err), err);
}

int mr_registry_settings_update(struct mr_registry *r, const char *connector,
                                const struct mr_input *smtp, struct mr_problems *p, mr_error *err)
{
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    if (connector)
        rc = mr_registry_default_connector_apply(r, *connector ? connector : "none",
                                                 "default_connector", err);
    if (rc == 0 && smtp->count)
        rc = mr_registry_smtp_apply(r, smtp, p, err);
    return finish(r, rc, err);
}
