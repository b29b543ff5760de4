/* Helpers the API handlers share. */
#include "http/api.h"

#include "report/views.h"
#include "sched/scheduler.h"
#include "util/text.h"

#include <stdio.h>
#include <string.h>

static int is_allowed(const char *const *allowed, const char *key)
{
    for (; *allowed; allowed++)
        if (strcmp(*allowed, key) == 0)
            return 1;
    return 0;
}

static const char *value_text(json_t *v, char scratch[MR_API_SCRATCH])
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_boolean(v))
        return json_is_true(v) ? "yes" : "no";
    if (json_is_null(v))
        return "";
    if (json_is_object(v) && json_is_integer(json_object_get(v, "id")))
        v = json_object_get(v, "id"); /* a reference as the API returns it */
    if (json_is_integer(v)) {
        snprintf(scratch, MR_API_SCRATCH, "%lld", (long long)json_integer_value(v));
        return scratch;
    }
    return NULL;
}

int mr_api_input(json_t *obj, const char *const *allowed, struct mr_api_input *in,
                 struct mr_problems *p)
{
    const char *key;
    json_t *v;
    size_t before = p->count;
    memset(&in->in, 0, sizeof(in->in));
    json_object_foreach(obj, key, v)
    {
        if (!is_allowed(allowed, key)) {
            mr_problems_add(p, key, "is not a field here");
            continue;
        }
        if (in->in.count >= MR_INPUT_MAX)
            break;
        const char *text = value_text(v, in->scratch[in->in.count]);
        if (!text)
            mr_problems_add(p, key, "has the wrong type (a string, number, boolean or null)");
        else
            mr_input_add(&in->in, key, text);
    }
    return p->count > before ? MR_EINVAL : 0;
}

int mr_api_page_reply(struct mr_http_req *r, size_t page, size_t per_page, size_t total,
                      const char *key, json_t *items)
{
    size_t pages = total ? (total + per_page - 1) / per_page : 1;
    return mr_http_json(r, MHD_HTTP_OK,
                        json_pack("{s:I, s:I, s:I, s:I, s:o}", "page", (json_int_t)page, "pages",
                                  (json_int_t)pages, "per_page", (json_int_t)per_page, "total",
                                  (json_int_t)total, key, items));
}

int mr_api_paging(struct mr_http_req *r, size_t *page, size_t *per_page)
{
    struct mr_query q = mr_http_query(r);
    struct mr_query_error e;
    if (mr_query_paging(&q, page, per_page, &e) == 0)
        return 0;
    mr_http_query_fail(r, &e);
    return -1;
}

json_t *mr_api_account_view(struct mr_store *s, const struct mr_account *a)
{
    struct mr_credential cred;
    struct mr_connector conn, def;
    int64_t def_id = 0;
    mr_credential_init(&cred);
    mr_connector_init(&conn);
    mr_connector_init(&def);
    mr_store_credential_get(s, a->credential_id, &cred, NULL);
    if (a->connector_id)
        mr_store_connector_get(s, a->connector_id, &conn, NULL);
    if (mr_store_default_connector(s, &def_id, NULL) == 0 && def_id)
        mr_store_connector_get(s, def_id, &def, NULL);
    struct mr_account_names names = {cred.name, conn.name, def.name};
    json_t *j = mr_view_account(a, &names);
    mr_view_add_credential_token(j, &cred);
    struct mr_check_status st;
    if (mr_store_check_status(s, a->id, &st, NULL) == 0) {
        mr_view_add_status(j, &st, a->enabled && a->automatic_check ? mr_next_check(&st, 1) : 0);
        char *said = NULL; /* the last check's error, for the console's languages */
        json_t *last = json_object_get(j, "last_check");
        if (json_is_object(last) && json_string_value(json_object_get(last, "error")) &&
            mr_store_last_error_said(s, a->id, &said, NULL) == 0 && said) {
            json_t *parts = json_loads(said, 0, NULL);
            if (parts)
                json_object_set_new(last, "error_said", parts);
        }
        free(said);
    }
    struct mr_push_status push;
    if (mr_store_push_status_get(s, a->id, &push, NULL) == 0) {
        json_object_set_new(j, "push_status", mr_view_push(a, &push));
        mr_push_status_clear(&push);
    }
    size_t stored; /* the report's "View inbox" count: the account's messages in the store */
    if (mr_store_message_count(s, a->id, &stored, NULL) == 0)
        json_object_set_new(j, "message_count", json_integer((json_int_t)stored));
    mr_credential_clear(&cred);
    mr_connector_clear(&conn);
    mr_connector_clear(&def);
    return j;
}

int mr_api_read_input(struct mr_http_req *r, const char *const *keys, struct mr_api_input *in,
                      json_t **body)
{
    struct mr_problems p = {0};
    *body = mr_http_body_object(r);
    if (!*body)
        return -1;
    if (mr_api_input(*body, keys, in, &p) != 0) {
        mr_http_fail(r, MR_EINVAL, &p, NULL);
        json_decref(*body);
        return -1;
    }
    return 0;
}
