/* Delivery targets, the outbox and Failed deliveries over the API. Targets
 * are written by admins only: a command target runs a program as the
 * daemon's user, and any target receives every message of its account. */
#include "http/http_private.h"

#include "deliver/outbox.h"
#include "http/api.h"
#include "http/query.h"
#include "registry/targets.h"
#include "report/delivery_views.h"
#include "util/log.h"
#include "util/said.h"
#include "util/text.h"

#include <stdio.h>
#include <time.h>

#include <string.h>

static const char *const target_keys[] = {
    "name",        "kind",       "enabled",  "url",       "allow_http",   "secret_credential",
    "stop_status", "inline_max", "path",     "command",   "host",         "port",
    "recipients",  "timeout",    "parallel", "retry_for", "skip_classes", "account",
    NULL,
};

static int reply_target(struct mr_http_req *r, int64_t id, unsigned status)
{
    struct mr_target t;
    mr_error err = {0};
    mr_target_init(&t);
    int rc = mr_store_target_get(r->reg->store, id, &t, &err);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    mr_http_json(r, status, mr_view_target(r->reg->store, &t));
    mr_target_clear(&t);
    return 0;
}

static int list_targets(struct mr_http_req *r, int64_t account)
{
    struct mr_target *items = NULL;
    size_t n = 0;
    mr_error err = {0};
    if (mr_store_target_list(r->reg->store, account, &items, &n, &err) != 0)
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, mr_view_target(r->reg->store, &items[i]));
    mr_target_list_free(&items, n);
    return mr_http_json(r, MHD_HTTP_OK, json_pack("{s:o}", "targets", arr));
}

int mr_api_targets_list(struct mr_http_req *r)
{
    struct mr_query q = mr_http_query(r);
    struct mr_query_error e = {0};
    int64_t account = 0;
    if (mr_query_account_id(&q, &account, &e) != 0)
        return mr_http_query_fail(r, &e);
    return list_targets(r, account);
}

int mr_api_account_targets(struct mr_http_req *r)
{
    int64_t id;
    struct mr_account a;
    mr_error err = {0};
    if (mr_http_id(r, 1, &id))
        return 0;
    if (mr_store_account_get(r->reg->store, id, &a, &err) != 0)
        return mr_http_fail(r, MR_ENOTFOUND, NULL, &err);
    mr_account_clear(&a);
    return list_targets(r, id);
}

static int create(struct mr_http_req *r, int64_t account)
{
    struct mr_api_input in;
    struct mr_problems p = {0};
    mr_error err = {0};
    json_t *body;
    int64_t id = 0;
    char acct[24];
    if (mr_api_read_input(r, target_keys, &in, &body))
        return 0;
    if (account) {
        snprintf(acct, sizeof(acct), "%lld", (long long)account);
        if (mr_input_get(&in.in, "account"))
            mr_problems_add(&p, "account", "is given by the path: leave it out of the body");
        else
            mr_input_add(&in.in, "account", acct);
    }
    int rc = p.count ? MR_EINVAL : mr_registry_target_add(r->reg, &in.in, &id, &p, &err);
    json_decref(body);
    return rc ? mr_http_fail(r, rc, &p, &err) : reply_target(r, id, MHD_HTTP_CREATED);
}

int mr_api_target_create(struct mr_http_req *r)
{
    return create(r, 0);
}

int mr_api_account_target_create(struct mr_http_req *r)
{
    int64_t id;
    return mr_http_id(r, 1, &id) ? 0 : create(r, id);
}

int mr_api_target_get(struct mr_http_req *r)
{
    int64_t id;
    return mr_http_id(r, 1, &id) ? 0 : reply_target(r, id, MHD_HTTP_OK);
}

int mr_api_target_update(struct mr_http_req *r)
{
    struct mr_api_input in;
    struct mr_problems p = {0};
    mr_error err = {0};
    json_t *body;
    int64_t id;
    if (mr_http_id(r, 1, &id) || mr_api_read_input(r, target_keys, &in, &body))
        return 0;
    int rc = mr_registry_target_edit(r->reg, id, &in.in, &p, &err);
    json_decref(body);
    return rc ? mr_http_fail(r, rc, &p, &err) : reply_target(r, id, MHD_HTTP_OK);
}

int mr_api_target_delete(struct mr_http_req *r)
{
    mr_error err = {0};
    int64_t id;
    if (mr_http_id(r, 1, &id))
        return 0;
    int rc = mr_registry_target_remove(r->reg, id, &err);
    return rc ? mr_http_fail(r, rc, NULL, &err)
              : mr_http_json(r, MHD_HTTP_OK, json_pack("{s:I}", "deleted", (json_int_t)id));
}

static const char *outcome_name(enum mr_delivery_outcome o)
{
    return o == MR_DELIVERY_OK ? "delivered" : o == MR_DELIVERY_RETRY ? "retry" : "failed";
}

/* Send a test delivery: {"message": ID} (optional) sends that stored
 * message instead of the sample. 200 with ok false when the target refused:
 * the request worked, the target did not. */
int mr_api_target_test(struct mr_http_req *r)
{
    static const char *const keys[] = {"message", NULL};
    struct mr_api_input in;
    json_t *body = NULL;
    int64_t id, message = 0;
    mr_error err = {0};
    if (mr_http_id(r, 1, &id))
        return 0;
    if (r->body.len) {
        if (mr_api_read_input(r, keys, &in, &body))
            return 0;
        const char *m = mr_input_get(&in.in, "message");
        long long v;
        if (m && *m && mr_parse_int(m, 1, INT64_MAX, &v) != 0) {
            json_decref(body);
            return mr_http_error(r, MHD_HTTP_BAD_REQUEST, "invalid", "message",
                                 "message must be a message ID");
        }
        message = m && *m ? v : 0;
        json_decref(body);
    }
    struct mr_delivery_result res;
    int rc = mr_outbox_test(r->reg, id, message, r->srv->cfg.delivery_base, &res, &err);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    MR_LOG(res.outcome == MR_DELIVERY_OK ? MR_LOG_INFO : MR_LOG_WARN, "delivery_test",
           MR_LI("target", id), MR_LS("result", outcome_name(res.outcome)),
           MR_LS("error", res.error[0] ? res.error : NULL));
    json_t *j =
        json_pack("{s:b, s:s, s:s?, s:s?, s:I}", "ok", res.outcome == MR_DELIVERY_OK, "outcome",
                  outcome_name(res.outcome), "error", res.error[0] ? res.error : NULL, "response",
                  res.response[0] ? res.response : NULL, "ms", (json_int_t)res.ms);
    json_t *said = res.error[0] ? mr_said_json(&res.said) : NULL;
    if (said)
        json_object_set_new(j, "error_said", json_pack("[o]", said));
    return mr_http_json(r, MHD_HTTP_OK, j);
}

int mr_api_deliveries_list(struct mr_http_req *r)
{
    struct mr_query q = mr_http_query(r);
    struct mr_query_error e = {0};
    struct mr_delivery_filter f;
    size_t page, per_page;
    if (mr_query_delivery_filter(&q, &f, &e) != 0)
        return mr_http_query_fail(r, &e);
    if (mr_api_paging(r, &page, &per_page))
        return 0;
    struct mr_delivery *items = NULL;
    size_t n = 0, total = 0;
    mr_error err = {0};
    if (mr_store_delivery_list(r->reg->store, &f, (page - 1) * per_page, per_page, &items, &n,
                               &total, &err) != 0)
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, mr_view_delivery(&items[i]));
    mr_delivery_list_free(&items, n);
    return mr_api_page_reply(r, page, per_page, total, "deliveries", arr);
}

int mr_api_delivery_get(struct mr_http_req *r)
{
    int64_t id;
    struct mr_delivery d;
    mr_error err = {0};
    if (mr_http_id(r, 1, &id))
        return 0;
    if (mr_store_delivery_get(r->reg->store, id, &d, &err) != 0)
        return mr_http_fail(r, MR_ENOTFOUND, NULL, &err);
    mr_http_json(r, MHD_HTTP_OK, mr_view_delivery(&d));
    mr_delivery_clear(&d);
    return 0;
}

static int replay(struct mr_http_req *r, const struct mr_delivery_filter *f)
{
    size_t n = 0;
    mr_error err = {0};
    int rc = mr_registry_delivery_replay(r->reg, f, &n, &err);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    mr_outbox_kick();
    return mr_http_json(r, MHD_HTTP_OK, json_pack("{s:I}", "replayed", (json_int_t)n));
}

int mr_api_delivery_replay_one(struct mr_http_req *r)
{
    int64_t id;
    mr_error err = {0};
    if (mr_http_id(r, 1, &id))
        return 0;
    int rc = mr_registry_delivery_replay_one(r->reg, id, &err);
    if (rc == MR_EINVAL)
        return mr_http_error(r, MHD_HTTP_CONFLICT, "not_failed", NULL, "%s", err.message);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    mr_outbox_kick();
    return mr_http_json(r, MHD_HTTP_OK, json_pack("{s:I}", "replayed", (json_int_t)1));
}

/* {"target": ID, "account": ID, "since": WHEN, "all": true}: at least one. */
int mr_api_deliveries_replay(struct mr_http_req *r)
{
    static const char *const keys[] = {"target", "account", "since", "all", NULL};
    struct mr_api_input in;
    json_t *body;
    if (mr_api_read_input(r, keys, &in, &body))
        return 0;
    struct mr_delivery_filter f = {0};
    struct mr_problems p = {0};
    long long v;
    int64_t when;
    const char *t = mr_input_get(&in.in, "target"), *a = mr_input_get(&in.in, "account"),
               *since = mr_input_get(&in.in, "since"), *all = mr_input_get(&in.in, "all");
    if (t && *t && mr_parse_int(t, 1, INT64_MAX, &v) == 0)
        f.target = v;
    else if (t && *t)
        mr_problems_add(&p, "target", "must be a delivery target ID");
    if (a && *a && mr_parse_int(a, 1, INT64_MAX, &v) == 0)
        f.account = v;
    else if (a && *a)
        mr_problems_add(&p, "account", "must be an account ID");
    if (since && *since && mr_parse_when(since, (int64_t)time(NULL), &when) == 0)
        f.since_ms = when * 1000;
    else if (since && *since)
        mr_problems_add(&p, "since",
                        "must be a date (2026-12-01), a time (2026-12-01T08:00Z) or a span "
                        "before now (30m, 2h, 3d)");
    int every = all && strcmp(all, "yes") == 0;
    if (!p.count && !f.target && !f.account && !f.since_ms && !every)
        mr_problems_add(&p, "all",
                        "say which: target, account, since, or all: true for every failed "
                        "delivery");
    json_decref(body);
    if (p.count)
        return mr_http_fail(r, MR_EINVAL, &p, NULL);
    return replay(r, &f);
}
