/* API tokens over the API: list (never a secret), create (the secret shown
 * in that one answer), revoke. Admins only; a read-only token can do none
 * of the writes. */
#include "http/api.h"

#include "registry/users.h"
#include "report/views.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

json_t *mr_api_time(int64_t t)
{
    char text[32];
    if (!t)
        return json_null();
    mr_format_time(t, text);
    return json_string(text);
}

static json_t *token_view(const struct mr_token *t)
{
    return json_pack("{s:I, s:{s:I, s:s}, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)t->id,
                     "user", "id", (json_int_t)t->user_id, "name", t->user_name, "name", t->name,
                     "scope", t->read_only ? "read-only" : "read-write", "created_at",
                     mr_api_time(t->created_at), "expires_at", mr_api_time(t->expires_at),
                     "last_used_at", mr_api_time(t->last_used_at));
}

/* A user named by ID or name, in a query argument or a JSON member. */
static int user_ref(struct mr_http_req *r, json_t *v, const char *text, int64_t *id,
                    struct mr_problems *p)
{
    char digits[24];
    mr_error err = {0};
    if (json_is_integer(v)) {
        snprintf(digits, sizeof(digits), "%lld", (long long)json_integer_value(v));
        text = digits;
    } else if (v)
        text = json_string_value(v);
    if (!text || !*text) {
        mr_problems_add(p, "user", "is required: a user's ID or name");
        return MR_EINVAL;
    }
    if (mr_store_resolve(r->reg->store, MR_OBJ_USER, text, id, &err) == 0)
        return 0;
    mr_problems_add(p, "user", "%s", err.message);
    return MR_EINVAL;
}

int mr_api_tokens_list(struct mr_http_req *r)
{
    struct mr_problems p = {0};
    struct mr_token *items;
    size_t n;
    int64_t user = 0;
    mr_error err = {0};
    const char *ref = mr_http_arg(r, "user");
    if (ref && user_ref(r, NULL, ref, &user, &p))
        return mr_http_fail(r, MR_EINVAL, &p, &err);
    if (mr_store_token_list(r->reg->store, user, &items, &n, &err))
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, token_view(&items[i]));
    mr_token_list_free(&items, n);
    return mr_http_json(r, MHD_HTTP_OK, json_pack("{s:o}", "tokens", arr));
}

/* {"user": ID or name, "name": label, "expires_in_days": N or null,
 *  "read_only": bool} */
int mr_api_token_create(struct mr_http_req *r)
{
    static const char *const keys[] = {"user", "name", "expires_in_days", "read_only", NULL};
    struct mr_problems p = {0};
    struct mr_token t = {0};
    mr_error err = {0};
    json_t *body = mr_http_body_object(r);
    if (!body)
        return 0;
    mr_api_known_keys(body, keys, "an API token", &p);
    json_t *days = json_object_get(body, "expires_in_days");
    json_t *ro = json_object_get(body, "read_only");
    json_t *name = json_object_get(body, "name");
    if (days && !json_is_null(days) &&
        (!json_is_integer(days) || json_integer_value(days) < 1 ||
         json_integer_value(days) > MR_TOKEN_EXPIRES_DAYS))
        mr_problems_add(&p, "expires_in_days", "must be a number of days from 1 to %d, or null",
                        MR_TOKEN_EXPIRES_DAYS);
    if (ro && !json_is_boolean(ro))
        mr_problems_add(&p, "read_only", "must be true or false");
    if (name && !json_is_string(name))
        mr_problems_add(&p, "name", "must be text");
    user_ref(r, json_object_get(body, "user"), NULL, &t.user_id, &p);
    t.name = (char *)(name && json_is_string(name) ? json_string_value(name) : "api");
    t.read_only = json_is_true(ro);
    char token[MR_SECRET_TOKEN_LEN + 1];
    int rc = p.count ? MR_EINVAL
                     : mr_registry_token_create(
                           r->reg, &t, json_is_integer(days) ? (int)json_integer_value(days) : 0,
                           token, &p, &err);
    if (rc) {
        json_decref(body);
        return mr_http_fail(r, rc, &p, &err);
    }
    char user_name[128];
    struct mr_user u = {0};
    snprintf(user_name, sizeof(user_name), "%s",
             mr_store_user_get(r->reg->store, t.user_id, &u, &err) == 0 ? u.name : "");
    mr_user_clear(&u);
    t.user_name = user_name;
    json_t *view = token_view(&t);
    json_object_set_new(view, "token", json_string(token));
    sodium_memzero(token, sizeof(token));
    json_decref(body); /* t.name pointed into it */
    return mr_http_json(r, MHD_HTTP_CREATED, view);
}

int mr_api_token_revoke(struct mr_http_req *r)
{
    int64_t id;
    mr_error err = {0};
    if (mr_http_id(r, 1, &id))
        return 0;
    int rc = mr_registry_token_revoke(r->reg, id, &err);
    return rc ? mr_http_fail(r, rc, NULL, &err)
              : mr_http_json(r, MHD_HTTP_OK, json_pack("{s:I}", "deleted", (json_int_t)id));
}
