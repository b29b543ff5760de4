#include "registry/registry.h"

#include "registry/audit.h"

#include "util/mem.h"
#include "util/text.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define VAULT_CHECK_KEY "vault_check"

void mr_input_add(struct mr_input *in, const char *key, const char *value)
{
    for (size_t i = 0; i < in->count; i++) {
        if (strcmp(in->items[i].key, key) == 0) { /* the last value given wins */
            in->items[i].value = value;
            return;
        }
    }
    if (in->count < MR_INPUT_MAX) {
        in->items[in->count].key = key;
        in->items[in->count].value = value;
        in->count++;
    }
}

const char *mr_input_get(const struct mr_input *in, const char *key)
{
    for (size_t i = 0; i < in->count; i++)
        if (strcmp(in->items[i].key, key) == 0)
            return in->items[i].value;
    return NULL;
}

int mr_registry_open(struct mr_registry *r, const char *dir, mr_error *err)
{
    r->vault = NULL;
    return mr_store_open(&r->store, dir, err);
}

void mr_registry_close(struct mr_registry *r)
{
    mr_vault_close(&r->vault);
    mr_store_close(&r->store);
}

int mr_registry_vault(struct mr_registry *r, struct mr_vault **out, mr_error *err)
{
    struct mr_buf check;
    mr_buf_init(&check, 4096);
    int rc = 0;
    if (r->vault)
        goto out;
    rc = mr_store_meta_get(r->store, VAULT_CHECK_KEY, &check, err);
    if (rc == 0) {
        rc = mr_vault_open(&r->vault, mr_store_dir(r->store), 0, err);
        if (rc == 0)
            rc = mr_vault_verify_check(r->vault, check.data, check.len, err);
    } else if (rc == MR_ENOTFOUND) { /* first secret of this store */
        rc = mr_vault_open(&r->vault, mr_store_dir(r->store), 1, err);
        if (rc == 0)
            rc = mr_vault_make_check(r->vault, &check, err);
        if (rc == 0)
            rc = mr_store_meta_set(r->store, VAULT_CHECK_KEY, check.data, check.len, err);
    }
    if (rc)
        mr_vault_close(&r->vault);
out:
    mr_buf_free(&check);
    *out = r->vault;
    return rc;
}

int mr_registry_credential_secret(struct mr_registry *r, int64_t id, struct mr_secret **out,
                                  mr_error *err)
{
    struct mr_vault *v;
    struct mr_buf sealed;
    mr_buf_init(&sealed, 2 * MR_SECRET_MAX);
    int rc = mr_store_credential_secret(r->store, id, &sealed, err);
    if (rc == 0)
        rc = mr_registry_vault(r, &v, err);
    if (rc == 0)
        rc = mr_vault_unseal(v, sealed.data, sealed.len, out, err);
    mr_buf_free(&sealed);
    return rc;
}

/* Runs the body of a write inside one transaction: commit on success,
 * roll back on anything else. */
static int finish(struct mr_registry *r, int rc, mr_error *err)
{
    if (rc == 0)
        return mr_store_commit(r->store, err);
    mr_store_rollback(r->store);
    return rc;
}

static int problems_result(const struct mr_problems *p, size_t before)
{
    return p->count > before ? MR_EINVAL : 0;
}

/* Adds "FIELD: no KIND named REF" for a reference that does not resolve. */
static int resolve_ref(struct mr_registry *r, enum mr_object kind, const char *field,
                       const char *ref, int64_t *id, struct mr_problems *p, mr_error *err)
{
    mr_error e = {0};
    int rc = mr_store_resolve(r->store, kind, ref, id, &e);
    if (rc == MR_ENOTFOUND) {
        mr_problems_add(p, field, "%s", e.message);
        return MR_EINVAL;
    }
    if (rc)
        *err = e;
    return rc;
}

/* A sentence per kind of object, so that its noun is said too. */
static void name_taken(struct mr_problems *p, enum mr_object kind, const char *name)
{
    switch (kind) {
    case MR_OBJ_ACCOUNT:
        mr_problems_add(p, "name", "an account named '%s' already exists", name);
        break;
    case MR_OBJ_CREDENTIAL:
        mr_problems_add(p, "name", "a credential named '%s' already exists", name);
        break;
    case MR_OBJ_CONNECTOR:
        mr_problems_add(p, "name", "a network connector named '%s' already exists", name);
        break;
    case MR_OBJ_USER:
        mr_problems_add(p, "name", "a user named '%s' already exists", name);
        break;
    case MR_OBJ_SCHEDULE:
        mr_problems_add(p, "name", "a report schedule named '%s' already exists", name);
        break;
    default:
        mr_problems_add(p, "name", "a delivery target named '%s' already exists", name);
    }
}

static int check_unique(struct mr_registry *r, enum mr_object kind, const char *name, int64_t id,
                        struct mr_problems *p, mr_error *err)
{
    int taken = 0;
    if (!name || !*name)
        return 0;
    int rc = mr_store_name_taken(r->store, kind, name, id, &taken, err);
    if (rc == 0 && taken)
        name_taken(p, kind, name);
    return rc;
}

static int exists(struct mr_registry *r, enum mr_object kind, int64_t id)
{
    char ref[24];
    int64_t found;
    snprintf(ref, sizeof(ref), "%lld", (long long)id);
    return id && mr_store_resolve(r->store, kind, ref, &found, NULL) == 0;
}

/* --- accounts ---------------------------------------------------------- */

static int apply_account_input(struct mr_registry *r, struct mr_account *a,
                               const struct mr_input *in, struct mr_problems *p, mr_error *err)
{
    for (size_t i = 0; i < in->count; i++) {
        const char *key = in->items[i].key, *value = in->items[i].value;
        const struct mr_field *f = mr_account_field(key);
        char idtext[24];
        if (f && f->kind == MR_FIELD_REF && *value) {
            int64_t id = 0;
            enum mr_object kind =
                strcmp(key, "credential") == 0 ? MR_OBJ_CREDENTIAL : MR_OBJ_CONNECTOR;
            int rc = resolve_ref(r, kind, key, value, &id, p, err);
            if (rc == MR_EINVAL)
                continue;
            if (rc)
                return rc;
            snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
            value = idtext;
        }
        mr_account_set(a, key, value, p);
    }
    const char *connector = mr_input_get(in, "connector");
    const char *use = mr_input_get(in, "use_connector");
    if (connector && *connector && !use)
        a->use_connector = 1;
    if (use && !a->use_connector && !connector)
        a->connector_id = 0;
    return 0;
}

static int validate_account(struct mr_registry *r, struct mr_account *a, struct mr_problems *p,
                            mr_error *err)
{
    struct mr_account_refs refs = {0};
    int64_t def = 0;
    int rc = mr_store_default_connector(r->store, &def, err);
    if (rc == 0)
        rc = check_unique(r, MR_OBJ_ACCOUNT, a->name, a->id, p, err);
    if (rc)
        return rc;
    refs.default_connector_set = def != 0;
    refs.credential_exists = exists(r, MR_OBJ_CREDENTIAL, a->credential_id);
    refs.connector_exists = exists(r, MR_OBJ_CONNECTOR, a->connector_id);
    mr_account_validate(a, &refs, p);
    return 0;
}

static int save_account(struct mr_registry *r, struct mr_account *a, const struct mr_input *in,
                        struct mr_problems *p, mr_error *err)
{
    size_t before = p->count;
    int rc = apply_account_input(r, a, in, p, err);
    if (rc == 0)
        rc = validate_account(r, a, p, err);
    if (rc == 0)
        rc = problems_result(p, before);
    if (rc == 0)
        rc = a->id ? mr_store_account_update(r->store, a, err)
                   : mr_store_account_insert(r->store, a, err);
    return rc;
}

static int credential_bound_elsewhere(struct mr_registry *r, const struct mr_account *a, int *bound,
                                      mr_error *err)
{
    struct mr_account *items;
    struct mr_buf users;
    size_t n;
    *bound = 0;
    int rc = mr_store_accounts_with_credential(r->store, a->credential_id, &items, &n, err);
    int same = 0;
    for (size_t i = 0; rc == 0 && i < n && !same; i++)
        same = mr_account_same_destination(a, &items[i]);
    mr_account_list_free(&items, n);
    if (rc || same)
        return rc;
    mr_buf_init(&users, 4096);
    rc = mr_store_users_of(r->store, MR_OBJ_CREDENTIAL, a->credential_id, &users, err);
    *bound = rc == 0 && users.len > 0;
    mr_buf_free(&users);
    return rc;
}

/* A test with unsaved values sends a stored password only where a saved
 * account already sends it (the form's own, or another one with that
 * credential), or when nothing uses the credential yet (it was typed for
 * this form). Anywhere else it must be typed again: an unsaved test leaves
 * no audit entry, and a new host with security none would get the vault's
 * password in clear. */
static int check_test_credential(struct mr_registry *r, const struct mr_account *a,
                                 struct mr_problems *p, mr_error *err)
{
    struct mr_credential c;
    int bound;
    int rc = credential_bound_elsewhere(r, a, &bound, err);
    if (rc || !bound)
        return rc;
    mr_credential_init(&c);
    rc = mr_store_credential_get(r->store, a->credential_id, &c, err);
    if (rc == 0)
        mr_problems_add(p, "credential",
                        "the password of credential '%.60s' is sent only where a saved account "
                        "sends it: to test another server, port, protocol, security or "
                        "connector, type it again (a new credential) and test with that",
                        c.name);
    mr_credential_clear(&c);
    return rc;
}

int mr_registry_account_build(struct mr_registry *r, int64_t id, const struct mr_input *in,
                              struct mr_account *out, struct mr_problems *p, mr_error *err)
{
    size_t before = p->count;
    mr_account_init(out);
    int rc = id ? mr_store_account_get(r->store, id, out, err) : 0;
    if (rc == 0)
        rc = apply_account_input(r, out, in, p, err);
    if (rc == 0)
        rc = validate_account(r, out, p, err);
    if (rc == 0 && p->count == before)
        rc = check_test_credential(r, out, p, err);
    return rc ? rc : problems_result(p, before);
}

int mr_registry_account_add(struct mr_registry *r, const struct mr_input *in, int64_t *id,
                            struct mr_problems *p, mr_error *err)
{
    struct mr_account a;
    mr_account_init(&a);
    int rc = mr_store_begin(r->store, err);
    if (rc == 0) {
        rc = save_account(r, &a, in, p, err);
        if (rc == 0)
            rc = mr_audit_record(r, "create", MR_OBJ_ACCOUNT, a.id, a.name,
                                 mr_audit_account_changes(NULL, &a), err);
        rc = finish(r, rc, err);
        *id = a.id;
    }
    mr_account_clear(&a);
    return rc;
}

int mr_registry_account_edit(struct mr_registry *r, int64_t id, const struct mr_input *in,
                             struct mr_problems *p, mr_error *err)
{
    struct mr_account a;
    mr_account_init(&a);
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_account_get(r->store, id, &a, err);
    struct mr_account old;
    mr_account_copy(&old, &a);
    if (rc == 0)
        rc = save_account(r, &a, in, p, err);
    if (rc == 0)
        rc = mr_audit_record(r, "update", MR_OBJ_ACCOUNT, id, a.name,
                             mr_audit_account_changes(&old, &a), err);
    mr_account_clear(&old);
    mr_account_clear(&a);
    return finish(r, rc, err);
}

int mr_registry_account_remove(struct mr_registry *r, int64_t id, int with_messages, mr_error *err)
{
    struct mr_account a;
    mr_account_init(&a);
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_account_get(r->store, id, &a, err);
    if (rc == 0)
        rc = mr_store_account_delete(r->store, id, with_messages, err);
    if (rc == 0)
        rc = mr_audit_record(r, "delete", MR_OBJ_ACCOUNT, id, a.name,
                             mr_audit_account_changes(&a, NULL), err);
    mr_account_clear(&a);
    return finish(r, rc, err);
}

/* --- credentials ------------------------------------------------------- */

static int seal_secret(struct mr_registry *r, const char *secret, size_t len, struct mr_buf *out,
                       struct mr_problems *p, mr_error *err)
{
    struct mr_vault *v;
    if (mr_credential_check_secret(secret, len, p) != 0)
        return MR_EINVAL;
    int rc = mr_registry_vault(r, &v, err);
    return rc ? rc : mr_vault_seal(v, secret, len, out, err);
}

/* The OAuth 2.0 settings a credential takes (none of them secret). */
static char **oauth_field(struct mr_oauth *o, const char *key)
{
    if (strcmp(key, "tenant") == 0)
        return &o->tenant;
    if (strcmp(key, "client_id") == 0)
        return &o->client_id;
    if (strcmp(key, "scopes") == 0)
        return &o->scopes;
    if (strcmp(key, "authorize_url") == 0)
        return &o->authorize_url;
    if (strcmp(key, "token_url") == 0)
        return &o->token_url;
    if (strcmp(key, "device_url") == 0)
        return &o->device_url;
    return NULL;
}

static void apply_credential_input(struct mr_credential *c, const struct mr_input *in,
                                   struct mr_problems *p)
{
    const char *kind = mr_input_get(in, "kind");
    enum mr_credential_kind k = c->kind;
    if (kind && mr_credential_kind_parse(kind, &k) != 0)
        mr_problems_add(p, "kind", "expected password or oauth2, got '%.40s'", kind);
    else if (kind && c->id && k != c->kind)
        mr_problems_add(p, "kind", "cannot change from %s: add a new credential instead",
                        mr_credential_kind_name(c->kind));
    else
        c->kind = k;
    for (size_t i = 0; i < in->count; i++) {
        const char *key = in->items[i].key, *value = in->items[i].value;
        char **field = oauth_field(&c->oauth, key);
        int oauth_key = field || strcmp(key, "provider") == 0 || strcmp(key, "flow") == 0;
        if (strcmp(key, "kind") == 0)
            continue;
        if (strcmp(key, "name") == 0) {
            free(c->name);
            c->name = mr_xstrdup(value);
        } else if (strcmp(key, "username") == 0) {
            free(c->username);
            c->username = mr_xstrdup(value);
        } else if (oauth_key && c->kind != MR_CREDENTIAL_OAUTH2)
            mr_problems_add(p, key, "applies only to oauth2 credentials");
        else if (strcmp(key, "provider") == 0) {
            if (mr_oauth_provider_parse(value, &c->oauth.provider) != 0)
                mr_problems_add(p, key, "expected microsoft, google or other, got '%.40s'", value);
        } else if (strcmp(key, "flow") == 0) {
            if (mr_oauth_flow_parse(value, &c->oauth.flow) != 0)
                mr_problems_add(p, key, "expected delegated or app, got '%.40s'", value);
        } else if (field) {
            free(*field);
            *field = *value ? mr_xstrdup(value) : NULL;
        } else
            mr_problems_add(p, key, "is not a credential field");
    }
}

/* oauth2: the sealed secret is a JSON object of client_secret,
 * refresh_token and access_token. A write names the ones it sets ("" takes
 * one away) and keeps the rest; what changed goes to *changed. */
static const char *const token_keys[] = {"client_secret", "refresh_token", "access_token"};

static int merge_tokens(struct mr_registry *r, int64_t id, const char *update, char **out,
                        char changed[96], struct mr_problems *p, mr_error *err)
{
    json_t *old = NULL, *upd = json_loads(update, 0, NULL);
    struct mr_secret *sec = NULL;
    int rc = 0;
    *out = NULL;
    changed[0] = '\0';
    if (!json_is_object(upd)) {
        json_decref(upd);
        mr_problems_add(p, "secret", "must be a JSON object of client_secret and refresh_token");
        return MR_EINVAL;
    }
    if (id && (rc = mr_registry_credential_secret(r, id, &sec, err)) == 0)
        old = json_loads(sec->data, 0, NULL);
    mr_secret_free(&sec);
    if (!json_is_object(old)) {
        json_decref(old);
        old = json_object();
    }
    const char *key;
    json_t *v;
    json_object_foreach(upd, key, v)
    {
        size_t i = 0;
        while (i < 3 && strcmp(key, token_keys[i]) != 0)
            i++;
        if (i == 3 || !json_is_string(v) || json_string_length(v) > MR_SECRET_MAX ||
            memchr(json_string_value(v), '\0', json_string_length(v)))
            mr_problems_add(p, i == 3 ? "secret" : key,
                            i == 3 ? "has an unknown key" : "must be text without NUL");
        else {
            if (json_string_length(v) == 0)
                json_object_del(old, key);
            else
                json_object_set(old, key, v);
            snprintf(changed + strlen(changed), 96 - strlen(changed), "%s%s", *changed ? "," : "",
                     key);
        }
    }
    if (rc == 0 && p->count == 0)
        *out = json_dumps(old, JSON_COMPACT);
    json_decref(old);
    json_decref(upd);
    return rc ? rc : p->count ? MR_EINVAL : 0;
}

int mr_registry_oauth_held(struct mr_registry *r, int64_t id, struct mr_oauth_held *out,
                           mr_error *err)
{
    struct mr_secret *plain = NULL;
    memset(out, 0, sizeof(*out));
    int rc = mr_registry_credential_secret(r, id, &plain, err);
    json_t *obj = rc == 0 ? json_loads(plain->data, 0, NULL) : NULL;
    int *flag[] = {&out->client_secret, &out->refresh_token, &out->access_token};
    for (size_t i = 0; i < 3; i++)
        *flag[i] = json_string_length(json_object_get(obj, token_keys[i])) > 0;
    json_decref(obj);
    mr_secret_free(&plain);
    return rc;
}

static json_t *credential_changes(const char *old_name, const char *old_user,
                                  const struct mr_credential *c, int secret_changed,
                                  const char *tokens_changed)
{
    json_t *changes = json_object();
    mr_audit_change(changes, "name", old_name, c->name);
    mr_audit_change(changes, "username", old_user, c->username);
    if (tokens_changed && *tokens_changed) /* which ones, never their values */
        json_object_set_new(changes, "secret", json_string(tokens_changed));
    else if (secret_changed && c->kind == MR_CREDENTIAL_PASSWORD) /* never the secret itself */
        json_object_set_new(changes, "password", json_string(old_name ? "changed" : "set"));
    return changes;
}

static int save_credential(struct mr_registry *r, struct mr_credential *c,
                           const struct mr_input *in, const char *secret, size_t secret_len,
                           struct mr_problems *p, mr_error *err)
{
    struct mr_buf sealed;
    mr_buf_init(&sealed, 2 * MR_SECRET_MAX);
    size_t before = p->count;
    char *old_name = mr_xstrdup_or_null(c->name), *old_user = mr_xstrdup_or_null(c->username);
    char *old_oauth = c->kind == MR_CREDENTIAL_OAUTH2 ? mr_oauth_to_json(&c->oauth) : NULL;
    char *merged = NULL, tokens_changed[96] = "";
    int existed = c->id != 0;
    apply_credential_input(c, in, p);
    int rc = check_unique(r, MR_OBJ_CREDENTIAL, c->name, c->id, p, err);
    if (rc == 0 && c->kind == MR_CREDENTIAL_OAUTH2 && (secret || !existed)) {
        rc = merge_tokens(r, c->id, secret ? secret : "{}", &merged, tokens_changed, p, err);
        rc = rc == MR_EINVAL ? 0 : rc;
        secret = merged;
        secret_len = merged ? strlen(merged) : 0;
    }
    if (rc == 0 && secret) {
        rc = seal_secret(r, secret, secret_len, &sealed, p, err);
        c->has_secret = rc == 0;
        rc = rc == MR_EINVAL ? 0 : rc;
    }
    if (rc == 0)
        mr_credential_validate(c, p);
    if (rc == 0)
        rc = problems_result(p, before);
    if (rc == 0)
        rc = c->id ? mr_store_credential_update(r->store, c, secret ? sealed.data : NULL,
                                                sealed.len, err)
                   : mr_store_credential_insert(r->store, c, sealed.data, sealed.len, err);
    if (rc == 0 && strstr(tokens_changed, "refresh_token")) /* imported: a sign-in */
        rc = mr_store_credential_signed_in(r->store, c->id, err);
    if (rc == 0) {
        json_t *changes = credential_changes(old_name, old_user, c, secret != NULL, tokens_changed);
        if (c->kind == MR_CREDENTIAL_OAUTH2) {
            char *now = mr_oauth_to_json(&c->oauth);
            mr_audit_change(changes, "oauth", old_oauth, now);
            free(now);
        }
        rc = mr_audit_record(r, existed ? "update" : "create", MR_OBJ_CREDENTIAL, c->id, c->name,
                             changes, err);
    }
    if (merged) {
        sodium_memzero(merged, strlen(merged));
        free(merged);
    }
    free(old_oauth);
    free(old_name);
    free(old_user);
    mr_buf_free(&sealed);
    return rc;
}

int mr_registry_credential_add(struct mr_registry *r, const struct mr_input *in, const char *secret,
                               size_t secret_len, int64_t *id, struct mr_problems *p, mr_error *err)
{
    struct mr_credential c;
    mr_credential_init(&c);
    int rc = mr_store_begin(r->store, err);
    if (rc == 0) {
        rc = finish(r, save_credential(r, &c, in, secret, secret_len, p, err), err);
        *id = c.id;
    }
    mr_credential_clear(&c);
    return rc;
}

int mr_registry_credential_edit(struct mr_registry *r, int64_t id, const struct mr_input *in,
                                const char *secret, size_t secret_len, struct mr_problems *p,
                                mr_error *err)
{
    struct mr_credential c;
    mr_credential_init(&c);
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_credential_get(r->store, id, &c, err);
    if (rc == 0)
        rc = save_credential(r, &c, in, secret, secret_len, p, err);
    mr_credential_clear(&c);
    return finish(r, rc, err);
}

int mr_registry_credential_remove(struct mr_registry *r, int64_t id, mr_error *err)
{
    struct mr_credential c;
    mr_credential_init(&c);
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_credential_get(r->store, id, &c, err);
    if (rc == 0)
        rc = mr_store_credential_delete(r->store, id, err);
    if (rc == 0)
        rc = mr_audit_record(
            r, "delete", MR_OBJ_CREDENTIAL, id, c.name,
            credential_changes(c.name, c.username, &(struct mr_credential){0}, 0, NULL), err);
    mr_credential_clear(&c);
    return finish(r, rc, err);
}

/* --- connectors -------------------------------------------------------- */

static int apply_connector_field(struct mr_registry *r, struct mr_connector *c, const char *key,
                                 const char *value, struct mr_problems *p, mr_error *err)
{
    long long port;
    if (strcmp(key, "name") == 0 || strcmp(key, "address") == 0) {
        char **dst = key[0] == 'n' ? &c->name : &c->address;
        free(*dst);
        *dst = mr_xstrdup(value);
    } else if (strcmp(key, "type") == 0) {
        if (mr_connector_type_parse(value, &c->type) != 0)
            mr_problems_add(p, key, "expected socks5 or http, got '%.40s'", value);
    } else if (strcmp(key, "port") == 0) {
        if (mr_parse_int(value, 1, 65535, &port) != 0)
            mr_problems_add(p, key, "must be a number between 1 and 65535, got '%.40s'", value);
        else
            c->port = (int)port;
    } else if (strcmp(key, "credential") == 0) {
        c->credential_id = 0;
        if (*value) {
            int rc = resolve_ref(r, MR_OBJ_CREDENTIAL, key, value, &c->credential_id, p, err);
            return rc == MR_EINVAL ? 0 : rc;
        }
    } else if (strcmp(key, "resolve") == 0) {
        if (strcasecmp(value, "proxy") == 0 || strcasecmp(value, "local") == 0)
            c->resolve_local = strcasecmp(value, "local") == 0;
        else
            mr_problems_add(p, key, "expected proxy or local, got '%.40s'", value);
    } else if (strcmp(key, "tls") == 0 || strcmp(key, "skip_certificate") == 0) {
        if (mr_parse_yes_no(value, key[0] == 't' ? &c->tls : &c->skip_certificate) != 0)
            mr_problems_add(p, key, "expected yes or no, got '%.40s'", value);
    } else if (strcmp(key, "ca_file") == 0) {
        mr_freep(&c->ca_file);
        c->ca_file = *value ? mr_xstrdup(value) : NULL;
    } else
        mr_problems_add(p, key, "is not a network connector field");
    return 0;
}

static json_t *connector_changes(const struct mr_connector *a, const struct mr_connector *b)
{
    static const struct mr_connector none = {0};
    char ap[16], bp[16], ac[24], bc[24];
    json_t *changes = json_object();
    a = a ? a : &none;
    b = b ? b : &none;
    snprintf(ap, sizeof(ap), "%d", a->port);
    snprintf(bp, sizeof(bp), "%d", b->port);
    snprintf(ac, sizeof(ac), "%lld", (long long)a->credential_id);
    snprintf(bc, sizeof(bc), "%lld", (long long)b->credential_id);
    mr_audit_change(changes, "name", a->name, b->name);
    mr_audit_change(changes, "type", a->type ? mr_connector_type_name(a->type) : NULL,
                    b->type ? mr_connector_type_name(b->type) : NULL);
    mr_audit_change(changes, "address", a->address, b->address);
    mr_audit_change(changes, "port", a->port ? ap : NULL, b->port ? bp : NULL);
    mr_audit_change(changes, "credential", a->credential_id ? ac : NULL,
                    b->credential_id ? bc : NULL);
    mr_audit_change(changes, "resolve", a->type ? (a->resolve_local ? "local" : "proxy") : NULL,
                    b->type ? (b->resolve_local ? "local" : "proxy") : NULL);
    mr_audit_change(changes, "tls", a->type ? (a->tls ? "yes" : "no") : NULL,
                    b->type ? (b->tls ? "yes" : "no") : NULL);
    mr_audit_change(changes, "skip_certificate",
                    a->type ? (a->skip_certificate ? "yes" : "no") : NULL,
                    b->type ? (b->skip_certificate ? "yes" : "no") : NULL);
    mr_audit_change(changes, "ca_file", a->ca_file, b->ca_file);
    return changes;
}

static int save_connector(struct mr_registry *r, struct mr_connector *c, const struct mr_input *in,
                          struct mr_problems *p, mr_error *err)
{
    size_t before = p->count;
    int rc = 0;
    struct mr_connector old = *c;
    old.name = mr_xstrdup_or_null(c->name);
    old.address = mr_xstrdup_or_null(c->address);
    old.ca_file = mr_xstrdup_or_null(c->ca_file);
    for (size_t i = 0; i < in->count && rc == 0; i++)
        rc = apply_connector_field(r, c, in->items[i].key, in->items[i].value, p, err);
    if (rc == 0)
        rc = check_unique(r, MR_OBJ_CONNECTOR, c->name, c->id, p, err);
    if (rc == 0 && !mr_problems_has(p, "credential"))
        mr_connector_validate(c, exists(r, MR_OBJ_CREDENTIAL, c->credential_id), p);
    if (rc == 0)
        rc = problems_result(p, before);
    if (rc == 0)
        rc = c->id ? mr_store_connector_update(r->store, c, err)
                   : mr_store_connector_insert(r->store, c, err);
    if (rc == 0)
        rc = mr_audit_record(r, old.id ? "update" : "create", MR_OBJ_CONNECTOR, c->id, c->name,
                             connector_changes(old.id ? &old : NULL, c), err);
    mr_connector_clear(&old);
    return rc;
}

int mr_registry_connector_add(struct mr_registry *r, const struct mr_input *in, int64_t *id,
                              struct mr_problems *p, mr_error *err)
{
    struct mr_connector c;
    mr_connector_init(&c);
    int rc = mr_store_begin(r->store, err);
    if (rc == 0) {
        rc = finish(r, save_connector(r, &c, in, p, err), err);
        *id = c.id;
    }
    mr_connector_clear(&c);
    return rc;
}

int mr_registry_connector_edit(struct mr_registry *r, int64_t id, const struct mr_input *in,
                               struct mr_problems *p, mr_error *err)
{
    struct mr_connector c;
    mr_connector_init(&c);
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_connector_get(r->store, id, &c, err);
    if (rc == 0)
        rc = save_connector(r, &c, in, p, err);
    mr_connector_clear(&c);
    return finish(r, rc, err);
}

int mr_registry_connector_remove(struct mr_registry *r, int64_t id, mr_error *err)
{
    struct mr_connector c;
    mr_connector_init(&c);
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_connector_get(r->store, id, &c, err);
    if (rc == 0)
        rc = mr_store_connector_delete(r->store, id, err);
    if (rc == 0)
        rc = mr_audit_record(r, "delete", MR_OBJ_CONNECTOR, id, c.name, connector_changes(&c, NULL),
                             err);
    mr_connector_clear(&c);
    return finish(r, rc, err);
}

/* --- settings ---------------------------------------------------------- */

static int unset_default(struct mr_registry *r, const char *field, mr_error *err)
{
    struct mr_buf users;
    mr_buf_init(&users, 800);
    int rc = mr_store_accounts_on_default(r->store, &users, err);
    if (rc == 0 && users.len)
        rc = mr_error_set(err, MR_EINUSE, field,
                          "accounts use the default connector: %s; give them a connector of "
                          "their own or set Use network connector to no first",
                          users.data);
    mr_buf_free(&users);
    return rc ? rc : mr_store_set_default_connector(r->store, 0, err);
}

static int audit_default(struct mr_registry *r, int64_t old, int64_t new, mr_error *err)
{
    char a[24], b[24];
    if (old == new)
        return 0;
    json_t *changes = json_object();
    snprintf(a, sizeof(a), "%lld", (long long)old);
    snprintf(b, sizeof(b), "%lld", (long long)new);
    mr_audit_change(changes, "default_connector", old ? a : NULL, new ? b : NULL);
    char *text = json_dumps(changes, JSON_COMPACT);
    json_decref(changes);
    int rc = mr_store_audit_add(r->store, r->actor[0] ? r->actor : "unknown", "update", "settings",
                                0, "settings", text ? text : "{}", err);
    free(text);
    return rc;
}

int mr_registry_default_connector_apply(struct mr_registry *r, const char *ref, const char *field,
                                        mr_error *err)
{
    int64_t old = 0, id = 0;
    int rc = mr_store_default_connector(r->store, &old, err);
    if (rc == 0 && (!ref || !*ref || strcmp(ref, "none") == 0))
        rc = unset_default(r, field, err);
    else if (rc == 0) {
        rc = mr_store_resolve(r->store, MR_OBJ_CONNECTOR, ref, &id, err);
        if (rc == 0)
            rc = mr_store_set_default_connector(r->store, id, err);
        if (rc == MR_ENOTFOUND)
            snprintf(err->field, sizeof(err->field), "%s", field);
    }
    if (rc == 0)
        rc = audit_default(r, old, id, err);
    return rc;
}

int mr_registry_set_default_connector(struct mr_registry *r, const char *ref, mr_error *err)
{
    int rc = mr_store_begin(r->store, err);
    return rc ? rc
              : finish(r, mr_registry_default_connector_apply(r, ref, "default-connector", err),
                       err);
}
