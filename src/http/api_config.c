/* Accounts, credentials, connectors and settings over the API: the same
 * registry calls as the command line, the same field names as its JSON. */
#include "http/api.h"

#include "oauth/oauth.h"
#include "registry/schedules.h"
#include "report/views.h"
#include "util/text.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- accounts --------------------------------------------------------------- */

static const char *const *account_keys(void)
{
    static const char *keys[32];
    if (!keys[0])
        for (size_t i = 0; i < mr_account_field_count && i < 31; i++)
            keys[i] = mr_account_fields[i].key;
    return keys;
}

int mr_api_account_filter(struct mr_http_req *r, struct mr_account_filter *f)
{
    struct mr_query q = mr_http_query(r);
    struct mr_query_error e;
    if (mr_query_account_filter(&q, f, &e) == 0)
        return 0;
    mr_http_query_fail(r, &e);
    return -1;
}

int mr_api_accounts_list(struct mr_http_req *r)
{
    struct mr_account_filter f;
    struct mr_account *items;
    size_t page, per_page, n, total;
    mr_error err = {0};
    if (mr_api_account_filter(r, &f) || mr_api_paging(r, &page, &per_page))
        return 0;
    if (mr_store_account_list(r->reg->store, &f, (page - 1) * per_page, per_page, &items, &n,
                              &total, &err))
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, mr_api_account_view(r->reg->store, &items[i]));
    mr_account_list_free(&items, n);
    return mr_api_page_reply(r, page, per_page, total, "accounts", arr);
}

static int reply_account(struct mr_http_req *r, int64_t id, unsigned status)
{
    struct mr_account a;
    mr_error err = {0};
    mr_account_init(&a);
    int rc = mr_store_account_get(r->reg->store, id, &a, &err);
    if (rc == 0)
        mr_http_json(r, status, mr_api_account_view(r->reg->store, &a));
    else
        mr_http_fail(r, rc, NULL, &err);
    mr_account_clear(&a);
    return 0;
}

int mr_api_account_get(struct mr_http_req *r)
{
    int64_t id;
    return mr_http_id(r, 1, &id) ? 0 : reply_account(r, id, MHD_HTTP_OK);
}

/* Reads the body into an input; replies and returns -1 when it is bad. */
int mr_api_account_create(struct mr_http_req *r)
{
    struct mr_api_input in;
    struct mr_problems p = {0};
    mr_error err = {0};
    json_t *body;
    int64_t id = 0;
    if (mr_api_read_input(r, account_keys(), &in, &body))
        return 0;
    int rc = mr_registry_account_add(r->reg, &in.in, &id, &p, &err);
    json_decref(body);
    return rc ? mr_http_fail(r, rc, &p, &err) : reply_account(r, id, MHD_HTTP_CREATED);
}

int mr_api_account_update(struct mr_http_req *r)
{
    struct mr_api_input in;
    struct mr_problems p = {0};
    mr_error err = {0};
    json_t *body;
    int64_t id;
    if (mr_http_id(r, 1, &id) || mr_api_read_input(r, account_keys(), &in, &body))
        return 0;
    int rc = mr_registry_account_edit(r->reg, id, &in.in, &p, &err);
    json_decref(body);
    return rc ? mr_http_fail(r, rc, &p, &err) : reply_account(r, id, MHD_HTTP_OK);
}

int mr_api_account_delete(struct mr_http_req *r)
{
    mr_error err = {0};
    int64_t id;
    const char *with = mr_http_arg(r, "delete_messages");
    int with_messages = 0;
    if (mr_http_id(r, 1, &id))
        return 0;
    if (with && mr_parse_yes_no(with, &with_messages) != 0)
        return mr_http_error(r, MHD_HTTP_BAD_REQUEST, "invalid", "delete_messages",
                             "delete_messages: expected true or false");
    int rc = mr_registry_account_remove(r->reg, id, with_messages, &err);
    return rc ? mr_http_fail(r, rc, NULL, &err)
              : mr_http_json(r, MHD_HTTP_OK, json_pack("{s:I}", "deleted", (json_int_t)id));
}

/* --- credentials -------------------------------------------------------------- */

static const char *const credential_keys[] = {
    "name",       "username",      "password",      "kind",          "provider",
    "flow",       "tenant",        "client_id",     "scopes",        "token_url",
    "device_url", "authorize_url", "client_secret", "refresh_token", NULL};

static int is_secret_key(const char *key)
{
    return strcmp(key, "password") == 0 || strcmp(key, "client_secret") == 0 ||
           strcmp(key, "refresh_token") == 0;
}

/* The credential as the API shows it: for oauth2 also which secrets it
 * holds (client_secret_set, refresh_token_set), never them. */
static json_t *credential_json(struct mr_http_req *r, const struct mr_credential *c)
{
    json_t *j = mr_view_credential(c);
    struct mr_oauth_held held;
    mr_error ignored = {0};
    json_t *o = json_object_get(j, "oauth");
    if (o && mr_registry_oauth_held(r->reg, c->id, &held, &ignored) == 0) {
        json_object_set_new(o, "client_secret_set", json_boolean(held.client_secret));
        json_object_set_new(o, "refresh_token_set", json_boolean(held.refresh_token));
    }
    return j;
}

static int reply_credential(struct mr_http_req *r, int64_t id, unsigned status)
{
    struct mr_credential c;
    mr_error err = {0};
    int rc = mr_store_credential_get(r->reg->store, id, &c, &err);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    mr_http_json(r, status, credential_json(r, &c));
    mr_credential_clear(&c);
    return 0;
}

int mr_api_credentials_list(struct mr_http_req *r)
{
    struct mr_credential *items;
    size_t n;
    mr_error err = {0};
    if (mr_store_credential_list(r->reg->store, &items, &n, &err))
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, credential_json(r, &items[i]));
    mr_credential_list_free(&items, n);
    return mr_http_json(r, MHD_HTTP_OK, json_pack("{s:o}", "credentials", arr));
}

int mr_api_credential_get(struct mr_http_req *r)
{
    int64_t id;
    return mr_http_id(r, 1, &id) ? 0 : reply_credential(r, id, MHD_HTTP_OK);
}

/* The password goes to the vault, never back out; the rest to the input. */
static int save_credential(struct mr_http_req *r, int64_t id, unsigned status)
{
    struct mr_api_input in;
    struct mr_problems p = {0};
    mr_error err = {0};
    json_t *body;
    if (mr_api_read_input(r, credential_keys, &in, &body))
        return 0;
    const char *password = mr_input_get(&in.in, "password");
    const char *client_secret = mr_input_get(&in.in, "client_secret"),
               *refresh_token = mr_input_get(&in.in, "refresh_token");
    struct mr_input fields = {0};
    for (size_t i = 0; i < in.in.count; i++)
        if (!is_secret_key(in.in.items[i].key))
            mr_input_add(&fields, in.in.items[i].key, in.in.items[i].value);
    /* oauth2: the secrets given go as the JSON object the registry merges
     * into the sealed one */
    char *tokens = NULL;
    if (client_secret || refresh_token) {
        json_t *obj = json_object();
        if (client_secret)
            json_object_set_new(obj, "client_secret", json_string(client_secret));
        if (refresh_token)
            json_object_set_new(obj, "refresh_token", json_string(refresh_token));
        tokens = json_dumps(obj, JSON_COMPACT);
        json_decref(obj);
    }
    const char *secret = tokens ? tokens : password;
    size_t len = secret ? strlen(secret) : 0;
    int rc = 0;
    if (tokens && password) {
        mr_problems_add(&p, "password",
                        "is for password credentials; oauth2 ones take "
                        "client_secret and refresh_token");
        rc = MR_EINVAL;
    } else
        rc = id ? mr_registry_credential_edit(r->reg, id, &fields, secret, len, &p, &err)
                : mr_registry_credential_add(r->reg, &fields, secret, len, &id, &p, &err);
    for (size_t i = 0; i < in.in.count; i++) /* the body held them in clear */
        if (is_secret_key(in.in.items[i].key))
            sodium_memzero((char *)in.in.items[i].value, strlen(in.in.items[i].value));
    if (tokens) {
        sodium_memzero(tokens, strlen(tokens));
        free(tokens);
    }
    json_decref(body);
    return rc ? mr_http_fail(r, rc, &p, &err) : reply_credential(r, id, status);
}

int mr_api_credential_token(struct mr_http_req *r)
{
    struct mr_secret *token = NULL;
    struct mr_oauth_token_info info;
    mr_error err = {0};
    int64_t id;
    if (mr_http_id(r, 1, &id))
        return 0;
    json_t *body = r->body.len ? mr_http_body_object(r) : json_object();
    if (!body)
        return 0;
    int force = json_is_true(json_object_get(body, "refresh"));
    json_decref(body);
    int rc = mr_oauth_access_token(r->reg, id, force, NULL, &token, &info, &err);
    mr_secret_free(&token);
    /* the provider's answer, not the caller's: 502, never a 401 that would
     * read as the session's end */
    if (rc == MR_EAUTH)
        return mr_http_error(r, MHD_HTTP_BAD_GATEWAY, "token_refused", NULL, "%s", err.message);
    if (rc == MR_ENET || rc == MR_ETIMEOUT || rc == MR_EPROTO)
        return mr_http_error(r, MHD_HTTP_BAD_GATEWAY, "provider_unreachable", NULL, "%s",
                             err.message);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    char until[32];
    mr_format_time(info.expires_at, until);
    return mr_http_json(r, MHD_HTTP_OK,
                        json_pack("{s:s, s:s, s:s}", "source",
                                  info.refreshed ? "provider" : "stored", "expires_at", until,
                                  "scope", info.scope));
}

int mr_api_credential_create(struct mr_http_req *r)
{
    return save_credential(r, 0, MHD_HTTP_CREATED);
}

int mr_api_credential_update(struct mr_http_req *r)
{
    int64_t id;
    return mr_http_id(r, 1, &id) ? 0 : save_credential(r, id, MHD_HTTP_OK);
}

int mr_api_credential_delete(struct mr_http_req *r)
{
    mr_error err = {0};
    int64_t id;
    if (mr_http_id(r, 1, &id))
        return 0;
    int rc = mr_registry_credential_remove(r->reg, id, &err);
    return rc ? mr_http_fail(r, rc, NULL, &err)
              : mr_http_json(r, MHD_HTTP_OK, json_pack("{s:I}", "deleted", (json_int_t)id));
}

/* --- connectors --------------------------------------------------------------- */

static const char *const connector_keys[] = {"name",       "type",    "address", "port",
                                             "credential", "resolve", "tls",     "skip_certificate",
                                             "ca_file",    NULL};

static json_t *connector_view(struct mr_store *s, const struct mr_connector *c, int64_t def)
{
    return mr_view_connector_in_store(s, c, def, NULL);
}

static int reply_connector(struct mr_http_req *r, int64_t id, unsigned status)
{
    struct mr_connector c;
    int64_t def = 0;
    mr_error err = {0};
    int rc = mr_store_connector_get(r->reg->store, id, &c, &err);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    mr_store_default_connector(r->reg->store, &def, NULL);
    mr_http_json(r, status, connector_view(r->reg->store, &c, def));
    mr_connector_clear(&c);
    return 0;
}

int mr_api_connectors_list(struct mr_http_req *r)
{
    struct mr_connector *items;
    size_t n;
    int64_t def = 0;
    mr_error err = {0};
    if (mr_store_connector_list(r->reg->store, &items, &n, &err) ||
        mr_store_default_connector(r->reg->store, &def, &err))
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, connector_view(r->reg->store, &items[i], def));
    mr_connector_list_free(&items, n);
    return mr_http_json(r, MHD_HTTP_OK, json_pack("{s:o}", "connectors", arr));
}

int mr_api_connector_get(struct mr_http_req *r)
{
    int64_t id;
    return mr_http_id(r, 1, &id) ? 0 : reply_connector(r, id, MHD_HTTP_OK);
}

int mr_api_connector_create(struct mr_http_req *r)
{
    struct mr_api_input in;
    struct mr_problems p = {0};
    mr_error err = {0};
    json_t *body;
    int64_t id = 0;
    if (mr_api_read_input(r, connector_keys, &in, &body))
        return 0;
    int rc = mr_registry_connector_add(r->reg, &in.in, &id, &p, &err);
    json_decref(body);
    return rc ? mr_http_fail(r, rc, &p, &err) : reply_connector(r, id, MHD_HTTP_CREATED);
}

int mr_api_connector_update(struct mr_http_req *r)
{
    struct mr_api_input in;
    struct mr_problems p = {0};
    mr_error err = {0};
    json_t *body;
    int64_t id;
    if (mr_http_id(r, 1, &id) || mr_api_read_input(r, connector_keys, &in, &body))
        return 0;
    int rc = mr_registry_connector_edit(r->reg, id, &in.in, &p, &err);
    json_decref(body);
    return rc ? mr_http_fail(r, rc, &p, &err) : reply_connector(r, id, MHD_HTTP_OK);
}

int mr_api_connector_delete(struct mr_http_req *r)
{
    mr_error err = {0};
    int64_t id;
    if (mr_http_id(r, 1, &id))
        return 0;
    int rc = mr_registry_connector_remove(r->reg, id, &err);
    return rc ? mr_http_fail(r, rc, NULL, &err)
              : mr_http_json(r, MHD_HTTP_OK, json_pack("{s:I}", "deleted", (json_int_t)id));
}

/* --- settings -------------------------------------------------------------------- */

int mr_api_settings_get(struct mr_http_req *r)
{
    struct mr_connector c;
    struct mr_credential cred;
    struct mr_smtp_settings m = {0};
    int64_t id = 0;
    mr_error err = {0};
    mr_connector_init(&c);
    mr_credential_init(&cred);
    if (mr_store_default_connector(r->reg->store, &id, &err) ||
        (id && mr_store_connector_get(r->reg->store, id, &c, &err)) ||
        mr_store_smtp_get(r->reg->store, &m, &err) ||
        (m.credential_id && mr_store_credential_get(r->reg->store, m.credential_id, &cred, &err))) {
        mr_connector_clear(&c);
        mr_smtp_settings_clear(&m);
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    }
    enum mr_smtp_security sec;
    mr_smtp_security_parse(m.security, &sec);
    mr_http_json(r, MHD_HTTP_OK,
                 json_pack("{s:o, s:s?, s:o, s:s, s:o, s:s?, s:s?}", "default_connector",
                           mr_view_ref(id, c.name), "smtp_host", m.host, "smtp_port",
                           m.port ? json_integer(m.port) : json_null(), "smtp_security",
                           mr_smtp_security_name(sec), "smtp_credential",
                           mr_view_ref(m.credential_id, cred.name), "smtp_from", m.from,
                           "report_dir", r->srv->cfg.report_dir));
    mr_connector_clear(&c);
    mr_credential_clear(&cred);
    mr_smtp_settings_clear(&m);
    return 0;
}

int mr_api_settings_update(struct mr_http_req *r)
{
    static const char *const keys[] = {
        "default_connector", "smtp_host", "smtp_port", "smtp_security",
        "smtp_credential",   "smtp_from", NULL};
    struct mr_api_input in;
    struct mr_input smtp = {0};
    struct mr_problems p = {0};
    mr_error err = {0};
    json_t *body;
    if (mr_api_read_input(r, keys, &in, &body))
        return 0;
    for (size_t i = 0; i < in.in.count; i++)
        if (strncmp(in.in.items[i].key, "smtp_", 5) == 0)
            mr_input_add(&smtp, in.in.items[i].key, in.in.items[i].value);
    /* one transaction: a bad SMTP field leaves the connector unchanged too */
    int rc = mr_registry_settings_update(r->reg, mr_input_get(&in.in, "default_connector"), &smtp,
                                         &p, &err);
    json_decref(body);
    return rc ? mr_http_fail(r, rc, &p, &err) : mr_api_settings_get(r);
}
