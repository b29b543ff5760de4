#include "http/query.h"

#include "util/text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int fail(struct mr_query_error *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct mr_query_error *e, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    e->field = field;
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -1;
}

static const char *arg(const struct mr_query *q, const char *name)
{
    return q->get(q->ctx, name);
}

int mr_query_paging(const struct mr_query *q, size_t *page, size_t *per_page,
                    struct mr_query_error *e)
{
    long long v;
    const char *pg = arg(q, "page"), *pp = arg(q, "per_page");
    *page = 1;
    *per_page = 30;
    if (pg && mr_parse_int(pg, 1, 1000000000, &v) != 0)
        return fail(e, "page", "page must be a number from 1");
    if (pg)
        *page = (size_t)v;
    if (pp && mr_parse_int(pp, 1, 1000, &v) != 0)
        return fail(e, "per_page", "per_page must be a number from 1 to 1000");
    if (pp)
        *per_page = (size_t)v;
    return 0;
}

static int tristate(const struct mr_query *q, const char *name, enum mr_tristate *out, int status,
                    struct mr_query_error *e)
{
    const char *v = arg(q, name);
    if (!v || (status ? mr_status_parse(v, out) : mr_tristate_parse(v, out)) == 0)
        return 0;
    return fail(e, name, "%s: expected %s, got '%.40s'", name,
                status ? "enabled, disabled or all" : "yes, no or any", v);
}

int mr_query_account_filter(const struct mr_query *q, struct mr_account_filter *f,
                            struct mr_query_error *e)
{
    mr_account_filter_init(f);
    f->name = arg(q, "name");
    if (tristate(q, "secure", &f->secure, 0, e) ||
        tristate(q, "automatic_check", &f->automatic_check, 0, e) ||
        tristate(q, "keep_copy", &f->keep_copy, 0, e) || tristate(q, "status", &f->enabled, 1, e) ||
        tristate(q, "errors", &f->errors, 0, e))
        return -1;
    return 0;
}

/* An ID from 1: the whole value must be the number. */
static int id_arg(const struct mr_query *q, const char *name, const char *what, int64_t *out,
                  struct mr_query_error *e)
{
    const char *v = arg(q, name);
    long long id;
    *out = 0;
    if (!v)
        return 0;
    if (mr_parse_int(v, 1, INT64_MAX, &id) != 0)
        return fail(e, name, "%s must be %s", name, what);
    *out = id;
    return 0;
}

/* since/until: YYYY-MM-DD (UTC days; until includes its day) or seconds. */
static int date_arg(const struct mr_query *q, const char *name, int end_of_day, int64_t *out,
                    struct mr_query_error *e)
{
    const char *v = arg(q, name);
    struct tm tm = {0};
    long long secs;
    *out = 0;
    if (!v || !*v)
        return 0;
    const char *rest = strptime(v, "%Y-%m-%d", &tm);
    if (rest && !*rest)
        *out = (int64_t)timegm(&tm) + (end_of_day ? 86400 : 0);
    else if (mr_parse_int(v, 1, INT64_MAX, &secs) == 0)
        *out = secs;
    else
        return fail(e, name, "%s: expected a date YYYY-MM-DD, got '%.40s'", name, v);
    return 0;
}

int mr_query_message_filter(const struct mr_query *q, struct mr_message_filter *f,
                            struct mr_query_error *e)
{
    memset(f, 0, sizeof(*f));
    if (id_arg(q, "account", "an account ID", &f->account, e))
        return -1;
    f->from = arg(q, "from");
    f->subject = arg(q, "subject");
    f->status = arg(q, "status");
    if (f->status && strcmp(f->status, "size_mismatch") == 0) {
        f->status = NULL; /* a mark beside the status, filtered like one */
        f->size_mismatch = 1;
    }
    if (f->status && *f->status && strcmp(f->status, "stored") != 0 &&
        strcmp(f->status, "parse_failed") != 0)
        return fail(e, "status",
                    "status must be stored, parse_failed or size_mismatch (skipped messages: "
                    "/api/v1/skipped)");
    if (date_arg(q, "since", 0, &f->since, e) || date_arg(q, "until", 1, &f->until, e))
        return -1;
    /* keyset paging: ?before=ID gives the page after the one that ended at
     * ID, as fast on the thousandth page as on the first */
    return id_arg(q, "before", "a message ID (the last of the previous page)", &f->before, e);
}

int mr_query_account_id(const struct mr_query *q, int64_t *account, struct mr_query_error *e)
{
    return id_arg(q, "account", "an account ID", account, e);
}

int mr_query_audit_filter(const struct mr_query *q, struct mr_audit_filter *f, int *csv,
                          struct mr_query_error *e)
{
    const char *format = arg(q, "format");
    f->object = arg(q, "object");
    f->actor = arg(q, "actor");
    *csv = format && strcmp(format, "csv") == 0;
    if (format && !*csv && strcmp(format, "json") != 0)
        return fail(e, "format", "format must be json or csv");
    return id_arg(q, "object_id", "an object ID", &f->object_id, e);
}

int mr_query_delivery_filter(const struct mr_query *q, struct mr_delivery_filter *f,
                             struct mr_query_error *e)
{
    static const char *const states[] = {"pending", "delivered", "failed", "skipped", NULL};
    memset(f, 0, sizeof(*f));
    const char *state = arg(q, "state");
    if (state && *state) {
        for (size_t i = 0; states[i]; i++)
            if (strcmp(state, states[i]) == 0)
                f->state = states[i];
        if (!f->state)
            return fail(e, "state", "state must be pending, delivered, failed or skipped");
    }
    if (id_arg(q, "account", "an account ID", &f->account, e) ||
        id_arg(q, "target", "a delivery target ID", &f->target, e) ||
        id_arg(q, "message", "a message ID", &f->message, e))
        return -1;
    const char *since = arg(q, "since");
    int64_t when;
    if (since && *since) {
        if (mr_parse_when(since, (int64_t)time(NULL), &when) != 0)
            return fail(e, "since",
                        "since: expected a date (2026-12-01), a time (2026-12-01T08:00Z), "
                        "seconds or a span before now (30m, 2h, 3d), got '%.40s'",
                        since);
        f->since_ms = when * 1000;
    }
    return 0;
}
