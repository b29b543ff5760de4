/* GET /api/v1/dashboard: how the accounts are doing now (counts, the
 * failing ones with their reasons, the ones needing a sign-in), how far
 * the first steps are, and the last 24 hours by hour and the last 7 days
 * by day: messages fetched, checks and failed checks, the outbox's
 * backlog. Times are UTC epoch seconds; the console renders them. */
#include "http/api.h"

#include "util/text.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DASHBOARD_HOURS 24
#define DASHBOARD_DAYS  7
#define LIST_DEFAULT    20
#define LIST_MAX        200
#define OFFSET_MAX      (14 * 60) /* UTC-14:00 .. UTC+14:00, in minutes */

static json_t *epoch_or_null(int64_t t)
{
    return t ? json_integer((json_int_t)t) : json_null();
}

/* n buckets of step seconds, the last one holding now; aligned to the
 * viewer's hours or midnights (offset seconds east of UTC). */
static json_t *series(struct mr_http_req *r, int64_t now, int64_t offset, int64_t step, size_t n,
                      mr_error *err)
{
    int64_t local = now + offset;
    int64_t start = local - (local % step + step) % step - offset - (int64_t)(n - 1) * step;
    struct mr_dashboard_bucket b[DASHBOARD_HOURS];
    if (mr_store_dashboard_series(r->reg->store, start, step, n, b, err) != 0)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:I, s:I, s:I, s:I, s:I}", "start", (json_int_t)b[i].start, "fetched",
                           (json_int_t)b[i].fetched, "checks", (json_int_t)b[i].checks, "failures",
                           (json_int_t)b[i].failures, "backlog", (json_int_t)b[i].backlog));
    return json_pack("{s:I, s:I, s:I, s:o}", "start", (json_int_t)start, "step", (json_int_t)step,
                     "end", (json_int_t)(start + (int64_t)n * step), "buckets", arr);
}

static json_t *failing_list(struct mr_http_req *r, const struct mr_dashboard *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < d->nfailing; i++) {
        const struct mr_dashboard_account *a = &d->failing_list[i];
        struct mr_check_status c;
        mr_error err = {0};
        char *said = NULL; /* the reason as said, from the same row */
        if (mr_store_check_status_said(r->reg->store, a->id, &c, &said, &err) != 0)
            memset(&c, 0, sizeof(c));
        json_t *row =
            json_pack("{s:I, s:s, s:s?, s:i, s:o, s:o}", "id", (json_int_t)a->id, "name", a->name,
                      "error", c.last_error[0] ? c.last_error : NULL, "failures", c.failures,
                      "last_check_at", epoch_or_null(c.last_ended ? c.last_ended : c.last_started),
                      "last_success_at", epoch_or_null(c.last_success));
        json_t *parts = row && said && c.last_error[0] ? json_loads(said, 0, NULL) : NULL;
        if (parts)
            json_object_set_new(row, "error_said", parts);
        free(said);
        if (row)
            json_array_append_new(arr, row);
    }
    return arr;
}

static json_t *consent_list(const struct mr_dashboard *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < d->nconsent; i++) {
        const struct mr_dashboard_account *a = &d->consent_list[i];
        json_array_append_new(arr,
                              json_pack("{s:I, s:s, s:{s:I, s:s?}}", "id", (json_int_t)a->id,
                                        "name", a->name, "credential", "id",
                                        (json_int_t)a->credential_id, "name", a->credential_name));
    }
    return arr;
}

static int number_arg(struct mr_http_req *r, const char *name, long long min, long long max,
                      long long fallback, const char *what, long long *out)
{
    const char *v = mr_http_arg(r, name);
    *out = fallback;
    if (!v || mr_parse_int(v, min, max, out) == 0)
        return 0;
    mr_http_error(r, MHD_HTTP_BAD_REQUEST, "invalid", name, "%s must be %s, not '%.40s'", name,
                  what, v);
    return -1;
}

int mr_api_dashboard(struct mr_http_req *r)
{
    long long offset, limit;
    if (number_arg(r, "utc_offset", -OFFSET_MAX, OFFSET_MAX, 0,
                   "the viewer's offset from UTC in minutes, from -840 to 840 (UTC-03:00 is -180)",
                   &offset) ||
        number_arg(r, "limit", 1, LIST_MAX, LIST_DEFAULT,
                   "how many failing accounts to list, from 1 to 200", &limit))
        return 0;
    struct mr_dashboard d;
    mr_error err = {0};
    int64_t now = (int64_t)time(NULL);
    if (mr_store_dashboard(r->reg->store, (size_t)limit, &d, &err) != 0)
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    json_t *hourly = series(r, now, offset * 60, 3600, DASHBOARD_HOURS, &err);
    json_t *daily = hourly ? series(r, now, offset * 60, 86400, DASHBOARD_DAYS, &err) : NULL;
    if (!daily) {
        json_decref(hourly);
        mr_dashboard_clear(&d);
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    }
    json_t *body = json_pack(
        "{s:I, s:i, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:b, s:I, s:b},"
        " s:o, s:I, s:o, s:{s:b, s:I, s:I}, s:o, s:o}",
        "now", (json_int_t)now, "utc_offset", (int)offset, "accounts", "total",
        (json_int_t)d.accounts, "ok", (json_int_t)d.ok, "failing", (json_int_t)d.failing,
        "disabled", (json_int_t)d.disabled, "never_checked", (json_int_t)d.never_checked,
        "needs_consent", (json_int_t)d.needs_consent, "setup", "credentials",
        (json_int_t)d.credentials, "accounts", (json_int_t)d.accounts, "checked_ok", d.checked_ok,
        "messages", (json_int_t)d.messages, "done",
        d.credentials && d.accounts && d.checked_ok && d.messages, "failing", failing_list(r, &d),
        "failing_total", (json_int_t)d.failing, "needs_consent", consent_list(&d), "outbox",
        "targets", d.deliveries, "pending", (json_int_t)d.pending, "failed", (json_int_t)d.failed,
        "hourly", hourly, "daily", daily);
    mr_dashboard_clear(&d);
    return mr_http_json(r, MHD_HTTP_OK, body);
}
