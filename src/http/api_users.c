/* Users over the API, for admins: list, add, change role, set or generate
 * a password, remove. Every change goes through the registry, so it is
 * validated as on the command line (the last admin stays one) and audited
 * with the password only as "set" or "changed". No answer holds a
 * password, but for one mailroom generated: in the answer that made it. */
#include "http/api.h"

#include "registry/users.h"

#include <sodium.h>
#include <string.h>

#define GENERATED_LEN 25 /* mr_registry_random_password's, with its NUL */

/* How many API tokens each user has: counted once per request. */
struct token_counts {
    struct mr_token *items;
    size_t n;
};

static size_t tokens_of(const struct token_counts *c, int64_t user)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++)
        k += c->items[i].user_id == user;
    return k;
}

static json_t *user_view(const struct mr_user *u, const struct token_counts *c)
{
    return json_pack("{s:I, s:s, s:s, s:o, s:o, s:I}", "id", (json_int_t)u->id, "name", u->name,
                     "role", mr_role_name(u->role), "created_at", mr_api_time(u->created_at),
                     "updated_at", mr_api_time(u->updated_at), "api_tokens",
                     (json_int_t)tokens_of(c, u->id));
}

/* One user as the answer to a change: read back, with its token count. */
static int reply_user(struct mr_http_req *r, unsigned status, int64_t id, json_t *extra)
{
    struct mr_user u = {0};
    struct token_counts c = {0};
    mr_error err = {0};
    if (mr_store_user_get(r->reg->store, id, &u, &err) != 0 ||
        mr_store_token_list(r->reg->store, id, &c.items, &c.n, &err) != 0) {
        json_decref(extra);
        mr_user_clear(&u);
        return mr_http_fail(r, err.code ? err.code : MR_ESTORE, NULL, &err);
    }
    json_t *view = user_view(&u, &c);
    if (extra)
        json_object_update(view, extra);
    json_decref(extra);
    mr_token_list_free(&c.items, c.n);
    mr_user_clear(&u);
    return mr_http_json(r, status, view);
}

int mr_api_known_keys(json_t *body, const char *const *keys, const char *what,
                      struct mr_problems *p)
{
    const char *key;
    json_t *v;
    size_t before = p->count;
    json_object_foreach(body, key, v)
    {
        int known = 0;
        for (size_t i = 0; keys[i]; i++)
            known |= strcmp(key, keys[i]) == 0;
        if (!known)
            mr_problems_add(p, key, "is not a field of %s", what);
    }
    return p->count > before ? MR_EINVAL : 0;
}

/* A text member, or NULL when absent or null; another type is a problem. */
static const char *text_of(json_t *body, const char *key, size_t *len, struct mr_problems *p)
{
    json_t *v = json_object_get(body, key);
    *len = 0;
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        mr_problems_add(p, key, "must be text");
        return NULL;
    }
    *len = json_string_length(v);
    return json_string_value(v);
}

static int flag_of(json_t *body, const char *key, struct mr_problems *p)
{
    json_t *v = json_object_get(body, key);
    if (v && !json_is_boolean(v))
        mr_problems_add(p, key, "must be true or false");
    return json_is_true(v);
}

static enum mr_role role_of(json_t *body, struct mr_problems *p)
{
    size_t len;
    enum mr_role role = MR_ROLE_NONE;
    const char *text = text_of(body, "role", &len, p);
    if (text && mr_role_parse(text, &role) != 0)
        mr_problems_add(p, "role", "expected admin or viewer, got '%.40s'", text);
    return role;
}

/* The password a body asks for: typed ("password") or generated
 * ("generate_password": true), one of the two. *password points into the
 * body or at generated. */
static void password_of(json_t *body, char generated[GENERATED_LEN], const char **password,
                        size_t *len, struct mr_problems *p)
{
    json_t *typed = json_object_get(body, "password");
    *password = text_of(body, "password", len, p);
    int generate = flag_of(body, "generate_password", p);
    if (*password && generate)
        mr_problems_add(p, "password",
                        "give a password or ask for a generated one (generate_password), not both");
    else if (!*password && !generate && (!typed || json_is_null(typed)))
        mr_problems_add(p, "password",
                        "is required: at least %d characters, or \"generate_password\": true "
                        "for one mailroom makes and shows once",
                        MR_PASSWORD_MIN);
    if (generate && !*password) {
        mr_registry_random_password(generated);
        *password = generated;
        *len = strlen(generated);
    }
}

static json_t *generated_member(const char *password, const char *generated)
{
    return password == generated ? json_pack("{s:s}", "generated_password", generated)
                                 : json_object();
}

int mr_api_users_list(struct mr_http_req *r)
{
    struct mr_user *items;
    struct token_counts c = {0};
    size_t n;
    mr_error err = {0};
    if (mr_store_user_list(r->reg->store, &items, &n, &err))
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    if (mr_store_token_list(r->reg->store, 0, &c.items, &c.n, &err)) {
        mr_user_list_free(&items, n);
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, user_view(&items[i], &c));
    mr_token_list_free(&c.items, c.n);
    mr_user_list_free(&items, n);
    return mr_http_json(r, MHD_HTTP_OK, json_pack("{s:o}", "users", arr));
}

/* The one handler of a body with a password: a new user (id 0: {"name",
 * "role": admin|viewer, "password" | "generate_password": true}) or a
 * user's new password (id: {"password" | "generate_password": true,
 * "revoke_tokens": bool}, which ends every session of the user, and its
 * API tokens too when asked; the answer says how many were revoked). */
static int user_with_password(struct mr_http_req *r, int64_t id)
{
    static const char *const add_keys[] = {"name", "role", "password", "generate_password", NULL};
    static const char *const change_keys[] = {"password", "generate_password", "revoke_tokens",
                                              NULL};
    struct mr_problems p = {0};
    char generated[GENERATED_LEN];
    const char *password, *name = NULL;
    size_t len, name_len, revoked = 0;
    enum mr_role role = MR_ROLE_NONE;
    int revoke = 0, add = id == 0;
    mr_error err = {0};
    json_t *body = mr_http_body_object(r);
    if (!body)
        return 0;
    mr_api_known_keys(body, add ? add_keys : change_keys, add ? "a user" : "a password change", &p);
    if (add) {
        name = text_of(body, "name", &name_len, &p);
        role = role_of(body, &p);
    }
    password_of(body, generated, &password, &len, &p);
    if (!add)
        revoke = flag_of(body, "revoke_tokens", &p);
    int rc =
        p.count ? MR_EINVAL
        : add   ? mr_registry_user_add(r->reg, name ? name : "", role, password, len, &id, &p, &err)
                : mr_registry_user_edit(r->reg, id, MR_ROLE_NONE, password, len, &p, &err);
    json_t *extra = rc ? NULL : generated_member(password, generated);
    sodium_memzero(generated, sizeof(generated));
    json_decref(body);
    if (rc == 0 && revoke)
        rc = mr_registry_tokens_revoke_user(r->reg, id, &revoked, &err);
    if (rc) {
        json_decref(extra);
        return mr_http_fail(r, rc, &p, &err);
    }
    if (!add) {
        json_object_set_new(extra, "sessions_ended", json_true());
        json_object_set_new(extra, "tokens_revoked", json_integer((json_int_t)revoked));
    }
    return reply_user(r, add ? MHD_HTTP_CREATED : MHD_HTTP_OK, id, extra);
}

int mr_api_user_create(struct mr_http_req *r)
{
    return user_with_password(r, 0);
}

/* {"role": admin|viewer}; the last admin stays one. */
int mr_api_user_update(struct mr_http_req *r)
{
    static const char *const keys[] = {"role", NULL};
    struct mr_problems p = {0};
    int64_t id;
    mr_error err = {0};
    if (mr_http_id(r, 1, &id))
        return 0;
    json_t *body = mr_http_body_object(r);
    if (!body)
        return 0;
    if (json_object_get(body, "password")) {
        mr_problems_add(&p, "password", "is set with POST /users/%lld/password", (long long)id);
        json_object_del(body, "password");
    }
    mr_api_known_keys(body, keys, "a user here", &p);
    enum mr_role role = role_of(body, &p);
    if (!p.count && role == MR_ROLE_NONE)
        mr_problems_add(&p, "role", "is required (admin or viewer)");
    json_decref(body);
    int rc = p.count ? MR_EINVAL : mr_registry_user_edit(r->reg, id, role, NULL, 0, &p, &err);
    return rc ? mr_http_fail(r, rc, &p, &err) : reply_user(r, MHD_HTTP_OK, id, NULL);
}

int mr_api_user_password(struct mr_http_req *r)
{
    int64_t id;
    return mr_http_id(r, 1, &id) ? 0 : user_with_password(r, id);
}

/* Its sessions and API tokens go with it (the schema cascades); the last
 * admin stays. */
int mr_api_user_delete(struct mr_http_req *r)
{
    struct token_counts c = {0};
    int64_t id;
    mr_error err = {0};
    if (mr_http_id(r, 1, &id))
        return 0;
    if (mr_store_token_list(r->reg->store, id, &c.items, &c.n, &err) != 0)
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    mr_token_list_free(&c.items, c.n);
    int rc = mr_registry_user_remove(r->reg, id, &err);
    return rc ? mr_http_fail(r, rc, NULL, &err)
              : mr_http_json(r, MHD_HTTP_OK,
                             json_pack("{s:I, s:I}", "deleted", (json_int_t)id, "tokens_revoked",
                                       (json_int_t)c.n));
}
