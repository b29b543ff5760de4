/* Scheduled reports over the API. */
#include "http/api.h"

#include "registry/schedules.h"
#include "report/deliver.h"
#include "report/views.h"

#include <stdio.h>
#include <string.h>

static int reply(struct mr_http_req *r, int64_t id, unsigned status)
{
    struct mr_schedule c;
    mr_error err = {0};
    int rc = mr_store_schedule_get(r->reg->store, id, &c, &err);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    mr_http_json(r, status, mr_view_schedule(&c));
    mr_schedule_clear(&c);
    return 0;
}

int mr_api_schedules_list(struct mr_http_req *r)
{
    struct mr_schedule *items;
    size_t n;
    mr_error err = {0};
    if (mr_store_schedule_list(r->reg->store, &items, &n, &err))
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, mr_view_schedule(&items[i]));
    mr_schedule_list_free(&items, n);
    return mr_http_json(r, MHD_HTTP_OK, json_pack("{s:o}", "schedules", arr));
}

int mr_api_schedule_get(struct mr_http_req *r)
{
    int64_t id;
    return mr_http_id(r, 1, &id) ? 0 : reply(r, id, MHD_HTTP_OK);
}

static const char *const keys[] = {"name",       "filters",   "format",  "language",
                                   "recurrence", "at",        "day",     "every_hours",
                                   "recipients", "directory", "enabled", NULL};

/* The body's filters object becomes its JSON text. */
static int read_body(struct mr_http_req *r, struct mr_api_input *in, json_t **body, char **filters)
{
    struct mr_problems p = {0};
    *filters = NULL;
    *body = mr_http_body_object(r);
    if (!*body)
        return -1;
    json_t *f = json_object_get(*body, "filters");
    if (f && json_is_object(f)) {
        *filters = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS);
        json_object_set_new(*body, "filters", json_string(*filters));
    }
    if (mr_api_input(*body, keys, in, &p) != 0) {
        mr_http_fail(r, MR_EINVAL, &p, NULL);
        json_decref(*body);
        free(*filters);
        return -1;
    }
    return 0;
}

int mr_api_schedule_create(struct mr_http_req *r)
{
    struct mr_api_input in;
    struct mr_problems p = {0};
    mr_error err = {0};
    json_t *body;
    char *filters;
    int64_t id = 0;
    if (read_body(r, &in, &body, &filters))
        return 0;
    int rc = mr_registry_schedule_add(r->reg, r->srv->cfg.report_dir, &in.in, &id, &p, &err);
    json_decref(body);
    free(filters);
    return rc ? mr_http_fail(r, rc, &p, &err) : reply(r, id, MHD_HTTP_CREATED);
}

int mr_api_schedule_update(struct mr_http_req *r)
{
    struct mr_api_input in;
    struct mr_problems p = {0};
    mr_error err = {0};
    json_t *body;
    char *filters;
    int64_t id;
    if (mr_http_id(r, 1, &id) || read_body(r, &in, &body, &filters))
        return 0;
    int rc = mr_registry_schedule_edit(r->reg, r->srv->cfg.report_dir, id, &in.in, &p, &err);
    json_decref(body);
    free(filters);
    return rc ? mr_http_fail(r, rc, &p, &err) : reply(r, id, MHD_HTTP_OK);
}

int mr_api_schedule_delete(struct mr_http_req *r)
{
    mr_error err = {0};
    int64_t id;
    if (mr_http_id(r, 1, &id))
        return 0;
    int rc = mr_registry_schedule_remove(r->reg, id, &err);
    return rc ? mr_http_fail(r, rc, NULL, &err)
              : mr_http_json(r, MHD_HTTP_OK, json_pack("{s:I}", "deleted", (json_int_t)id));
}

/* Sends now; the result (and any error) is recorded on the schedule. */
int mr_api_schedule_run(struct mr_http_req *r)
{
    mr_error err = {0};
    int64_t id;
    if (mr_http_id(r, 1, &id))
        return 0;
    int rc = mr_report_run_schedule(r->reg, r->srv->cfg.report_dir, id, &err);
    if (rc == MR_ENOTFOUND)
        return mr_http_fail(r, rc, NULL, &err);
    return reply(r, id, MHD_HTTP_OK);
}
