/* The API's routes and who may use them. */
#include "http/http_private.h"

#include "http/api.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

enum access {
    PUBLIC, /* no login */
    READ,   /* any user */
    WRITE,  /* admins, with the CSRF token when logged in by cookie */
    ADMIN,  /* admins, reading */
};

struct route {
    const char *method;
    const char *pattern; /* below /api/v1; '*' is one segment (an ID) */
    int (*fn)(struct mr_http_req *r);
    enum access access;
};

static const struct route routes[] = {
    {"POST", "session", mr_api_login, PUBLIC},
    {"GET", "session", mr_api_session, READ},
    {"DELETE", "session", mr_api_logout, READ},
    {"GET", "dashboard", mr_api_dashboard, READ},
    {"GET", "events", mr_api_events, READ},
    {"GET", "accounts", mr_api_accounts_list, READ},
    {"POST", "accounts", mr_api_account_create, WRITE},
    {"POST", "accounts/test", mr_api_account_test_unsaved, WRITE},
    {"POST", "accounts/discover", mr_api_account_discover, WRITE},
    {"GET", "accounts/*", mr_api_account_get, READ},
    {"PATCH", "accounts/*", mr_api_account_update, WRITE},
    {"PUT", "accounts/*", mr_api_account_update, WRITE},
    {"DELETE", "accounts/*", mr_api_account_delete, WRITE},
    {"POST", "accounts/*/test", mr_api_account_test, WRITE},
    {"POST", "accounts/*/fetch", mr_api_account_fetch, WRITE},
    {"GET", "accounts/*/history", mr_api_account_history, READ},
    {"GET", "accounts/*/messages", mr_api_messages_list, READ},
    {"GET", "accounts/*/targets", mr_api_account_targets, READ},
    {"POST", "accounts/*/targets", mr_api_account_target_create, WRITE},
    {"GET", "credentials", mr_api_credentials_list, READ},
    {"POST", "credentials", mr_api_credential_create, WRITE},
    {"GET", "credentials/*", mr_api_credential_get, READ},
    {"PATCH", "credentials/*", mr_api_credential_update, WRITE},
    {"PUT", "credentials/*", mr_api_credential_update, WRITE},
    {"DELETE", "credentials/*", mr_api_credential_delete, WRITE},
    {"POST", "credentials/*/token", mr_api_credential_token, WRITE},
    {"POST", "credentials/*/authorize", mr_api_credential_authorize, WRITE},
    {"POST", "credentials/*/device", mr_api_credential_device_start, WRITE},
    {"GET", "credentials/*/device", mr_api_credential_device_status, READ},
    {"GET", "connectors", mr_api_connectors_list, READ},
    {"POST", "connectors", mr_api_connector_create, WRITE},
    {"GET", "connectors/*", mr_api_connector_get, READ},
    {"PATCH", "connectors/*", mr_api_connector_update, WRITE},
    {"PUT", "connectors/*", mr_api_connector_update, WRITE},
    {"DELETE", "connectors/*", mr_api_connector_delete, WRITE},
    {"POST", "connectors/*/test", mr_api_connector_test, WRITE},
    {"GET", "settings", mr_api_settings_get, READ},
    {"PATCH", "settings", mr_api_settings_update, WRITE},
    {"PUT", "settings", mr_api_settings_update, WRITE},
    {"GET", "messages", mr_api_messages_list, READ},
    {"GET", "skipped", mr_api_skipped_list, READ},
    {"GET", "messages/*", mr_api_message_get, READ},
    {"GET", "messages/*/raw", mr_api_message_raw, READ},
    {"GET", "messages/*/attachments/*", mr_api_message_attachment, READ},
    {"GET", "reports/accounts.csv", mr_api_report_csv, READ},
    {"GET", "users", mr_api_users_list, ADMIN},
    {"POST", "users", mr_api_user_create, WRITE},
    {"PATCH", "users/*", mr_api_user_update, WRITE},
    {"DELETE", "users/*", mr_api_user_delete, WRITE},
    {"POST", "users/*/password", mr_api_user_password, WRITE},
    {"GET", "tokens", mr_api_tokens_list, ADMIN},
    {"POST", "tokens", mr_api_token_create, WRITE},
    {"DELETE", "tokens/*", mr_api_token_revoke, WRITE},
    {"GET", "audit", mr_api_audit_list, ADMIN},
    {"GET", "schedules", mr_api_schedules_list, READ},
    {"POST", "schedules", mr_api_schedule_create, WRITE},
    {"GET", "schedules/*", mr_api_schedule_get, READ},
    {"PATCH", "schedules/*", mr_api_schedule_update, WRITE},
    {"DELETE", "schedules/*", mr_api_schedule_delete, WRITE},
    {"POST", "schedules/*/run", mr_api_schedule_run, WRITE},
    {"GET", "targets", mr_api_targets_list, READ},
    {"POST", "targets", mr_api_target_create, WRITE},
    {"GET", "targets/*", mr_api_target_get, READ},
    {"PATCH", "targets/*", mr_api_target_update, WRITE},
    {"PUT", "targets/*", mr_api_target_update, WRITE},
    {"DELETE", "targets/*", mr_api_target_delete, WRITE},
    {"POST", "targets/*/test", mr_api_target_test, WRITE},
    {"GET", "deliveries", mr_api_deliveries_list, READ},
    {"POST", "deliveries/replay", mr_api_deliveries_replay, WRITE},
    {"GET", "deliveries/*", mr_api_delivery_get, READ},
    {"POST", "deliveries/*/replay", mr_api_delivery_replay_one, WRITE},
};

/* Splits the path below /api/v1 into segments, kept in the second half of
 * r->path. */
static int split(struct mr_http_req *r, const char *rest)
{
    r->nseg = 0;
    size_t len = strlen(rest);
    if (len >= sizeof(r->path) / 2)
        return -1;
    char *copy = r->path + sizeof(r->path) / 2;
    memcpy(copy, rest, len + 1);
    char *save = NULL; /* strtok_r: requests are split on several threads at once */
    for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (r->nseg == MR_HTTP_SEGMENTS)
            return -1;
        r->seg[r->nseg++] = tok;
    }
    return 0;
}

static int matches(const struct mr_http_req *r, const char *pattern)
{
    char copy[128];
    size_t i = 0;
    snprintf(copy, sizeof(copy), "%s", pattern);
    for (char *save = NULL, *tok = strtok_r(copy, "/", &save); tok;
         tok = strtok_r(NULL, "/", &save), i++)
        if (i >= r->nseg || (strcmp(tok, "*") != 0 && strcmp(tok, r->seg[i]) != 0))
            return 0;
    return i == r->nseg;
}

/* A request that changes something must come from our own pages: an Origin
 * header, when sent, names this host. */
static int same_origin(struct mr_http_req *r)
{
    const char *origin = mr_http_header(r, "Origin");
    const char *host = mr_http_header(r, MHD_HTTP_HEADER_HOST);
    if (!origin)
        return 1;
    if (!host)
        return 0;
    const char *rest = strncmp(origin, "http://", 7) == 0    ? origin + 7
                       : strncmp(origin, "https://", 8) == 0 ? origin + 8
                                                             : NULL;
    return rest && strcasecmp(rest, host) == 0;
}

/* The CSRF token compared in constant time: how long a wrong guess takes
 * says nothing about how much of it was right. (Its length is no secret.) */
static int csrf_matches(const char *sent, const char *expected)
{
    size_t n = strlen(expected);
    return sent && n && strlen(sent) == n && sodium_memcmp(sent, expected, n) == 0;
}

static int is_write(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* Whether the request may go on; if not, the refusal is the reply. */
static int allowed(struct mr_http_req *r, enum access access)
{
    const char *csrf = mr_http_header(r, "X-CSRF-Token");
    if (is_write(r->method) && !same_origin(r))
        mr_http_error(r, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                      "requests from another site are refused");
    else if (access != PUBLIC && !mr_http_authenticate(r))
        mr_http_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", NULL, "%s",
                      r->auth_error[0] ? r->auth_error : "log in, or send an API token");
    else if (access == WRITE && r->read_only)
        mr_http_error(r, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                      "this API token is read-only: it may read but not change anything");
    else if ((access == WRITE || access == ADMIN) && r->user.role != MR_ROLE_ADMIN)
        mr_http_error(r, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                      "%s may read but not change anything", r->user.name);
    else if (access != PUBLIC && is_write(r->method) && r->via_session &&
             !csrf_matches(csrf, r->csrf))
        mr_http_error(r, MHD_HTTP_FORBIDDEN, "csrf", NULL, "missing or wrong X-CSRF-Token header");
    else
        return 1;
    return 0;
}

void mr_http_dispatch(struct mr_http_req *r)
{
    if (strcmp(r->path, "/healthz") == 0) { /* probed by any address; tells nothing */
        mr_api_healthz(r);
        return;
    }
    if (!mr_http_host_allowed(r->srv, mr_http_header(r, MHD_HTTP_HEADER_HOST))) {
        mr_http_error(r, MHD_HTTP_MISDIRECTED_REQUEST, "misdirected", NULL,
                      "this server does not answer for that host name (see serve --public-url)");
        return;
    }
    if (strcmp(r->path, "/metrics") == 0) {
        if (strcmp(r->method, "GET") != 0)
            mr_http_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method", NULL, "GET only");
        else if (r->srv->cfg.metrics_public || allowed(r, READ))
            mr_api_metrics(r);
        return;
    }
    if (strcmp(r->path, "/oauth/callback") == 0) { /* the provider sends the browser back */
        if (strcmp(r->method, "GET") != 0)
            mr_http_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method", NULL, "GET only");
        else
            mr_api_oauth_callback(r);
        return;
    }
    if (strncmp(r->path, "/api/v1/", 8) != 0) {
        mr_api_static(r);
        return;
    }
    if (split(r, r->path + 8) != 0) {
        mr_http_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such API route");
        return;
    }
    int path_known = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!matches(r, routes[i].pattern))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, r->method) != 0)
            continue;
        if (allowed(r, routes[i].access)) {
            mr_registry_set_actor(r->reg, r->authed ? r->user.name : "anonymous");
            routes[i].fn(r);
        }
        return;
    }
    if (path_known)
        mr_http_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method", NULL, "%s is not allowed here",
                      r->method);
    else
        mr_http_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such API route");
}
