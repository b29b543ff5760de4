/* The JSON API's handlers, one function per route (see routes.c). */
#ifndef MR_HTTP_API_H
#define MR_HTTP_API_H

#include "http/http_private.h"

int mr_api_login(struct mr_http_req *r);
int mr_api_session(struct mr_http_req *r);
int mr_api_logout(struct mr_http_req *r);

int mr_api_accounts_list(struct mr_http_req *r);
int mr_api_account_create(struct mr_http_req *r);
int mr_api_account_get(struct mr_http_req *r);
int mr_api_account_update(struct mr_http_req *r);
int mr_api_account_delete(struct mr_http_req *r);
int mr_api_account_test(struct mr_http_req *r);
int mr_api_connector_test(struct mr_http_req *r);
int mr_api_account_test_unsaved(struct mr_http_req *r);
/* Setting up from an e-mail address (api_discover.c): {"email"} in,
 * {"proposals": [...], "notes": [...]} out, best first. */
int mr_api_account_discover(struct mr_http_req *r);
int mr_api_account_fetch(struct mr_http_req *r);
int mr_api_account_history(struct mr_http_req *r);

int mr_api_credentials_list(struct mr_http_req *r);
/* oauth2: an access token as a check would get it ({"refresh": true}: a new
 * one); the answer says where from, until when and the scopes, never the
 * token. */
int mr_api_credential_token(struct mr_http_req *r);
/* Signing in from the console (api_oauth.c): the authorization code grant
 * with PKCE ({"url": the provider's sign-in address}) and its callback
 * (GET /oauth/callback, a redirect back into the console); the device
 * grant started ({"user_code", "verification_uri", ...}) and its state
 * ({"status": none|pending|signed_in|expired|denied|error, "message"}). */
int mr_api_credential_authorize(struct mr_http_req *r);
int mr_api_oauth_callback(struct mr_http_req *r);
int mr_api_credential_device_start(struct mr_http_req *r);
int mr_api_credential_device_status(struct mr_http_req *r);
int mr_api_credential_create(struct mr_http_req *r);
int mr_api_credential_get(struct mr_http_req *r);
int mr_api_credential_update(struct mr_http_req *r);
int mr_api_credential_delete(struct mr_http_req *r);

int mr_api_connectors_list(struct mr_http_req *r);
int mr_api_connector_create(struct mr_http_req *r);
int mr_api_connector_get(struct mr_http_req *r);
int mr_api_connector_update(struct mr_http_req *r);
int mr_api_connector_delete(struct mr_http_req *r);

int mr_api_settings_get(struct mr_http_req *r);
int mr_api_settings_update(struct mr_http_req *r);

int mr_api_messages_list(struct mr_http_req *r);
int mr_api_skipped_list(struct mr_http_req *r);
int mr_api_message_get(struct mr_http_req *r);
int mr_api_message_raw(struct mr_http_req *r);
int mr_api_message_attachment(struct mr_http_req *r);
int mr_api_report_csv(struct mr_http_req *r);
/* Users (api_users.c) and API tokens (api_tokens.c), for admins. */
int mr_api_users_list(struct mr_http_req *r);
int mr_api_user_create(struct mr_http_req *r);
int mr_api_user_update(struct mr_http_req *r);
int mr_api_user_password(struct mr_http_req *r);
int mr_api_user_delete(struct mr_http_req *r);
int mr_api_tokens_list(struct mr_http_req *r);
int mr_api_token_create(struct mr_http_req *r);
int mr_api_token_revoke(struct mr_http_req *r);
/* A time as the API writes it, or null for 0 (never). */
json_t *mr_api_time(int64_t t);
/* Each member of body not in keys (NULL-terminated) is a problem: "is not
 * a field of <what>"; MR_EINVAL if there was one. */
int mr_api_known_keys(json_t *body, const char *const *keys, const char *what,
                      struct mr_problems *p);
int mr_api_audit_list(struct mr_http_req *r);
int mr_api_schedules_list(struct mr_http_req *r);
int mr_api_schedule_create(struct mr_http_req *r);
int mr_api_schedule_get(struct mr_http_req *r);
int mr_api_schedule_update(struct mr_http_req *r);
int mr_api_schedule_delete(struct mr_http_req *r);
int mr_api_schedule_run(struct mr_http_req *r);
int mr_api_targets_list(struct mr_http_req *r);
int mr_api_account_targets(struct mr_http_req *r);
int mr_api_target_create(struct mr_http_req *r);
int mr_api_account_target_create(struct mr_http_req *r);
int mr_api_target_get(struct mr_http_req *r);
int mr_api_target_update(struct mr_http_req *r);
int mr_api_target_delete(struct mr_http_req *r);
int mr_api_target_test(struct mr_http_req *r);
int mr_api_deliveries_list(struct mr_http_req *r);
int mr_api_delivery_get(struct mr_http_req *r);
int mr_api_delivery_replay_one(struct mr_http_req *r);
int mr_api_deliveries_replay(struct mr_http_req *r);

/* The dashboard (api_dashboard.c): counts, failing accounts, series. */
int mr_api_dashboard(struct mr_http_req *r);

/* Live updates as Server-Sent Events (api_events.c). */
int mr_api_events(struct mr_http_req *r);

/* Health: /healthz (no authentication, no details) and /metrics. */
int mr_api_healthz(struct mr_http_req *r);
int mr_api_metrics(struct mr_http_req *r);

/* Everything outside /api/v1: the console's files. */
int mr_api_static(struct mr_http_req *r);

/* Shared by the handler files (api_common.c). */
#define MR_API_SCRATCH 32

struct mr_api_input {
    struct mr_input in;
    char scratch[MR_INPUT_MAX][MR_API_SCRATCH]; /* numbers and booleans as text */
};

/* Copies a JSON object's members into in: strings as they are, booleans as
 * yes/no, integers as digits, null as "" (the default), {"id": N} as N.
 * Keys not in allowed (NULL-terminated) are problems. */
int mr_api_input(json_t *obj, const char *const *allowed, struct mr_api_input *in,
                 struct mr_problems *p);
/* The request's JSON object body into in (mr_api_input with keys): 0, or
 * -1 after replying 400 (the body is then freed). *body is the caller's to
 * free (in's texts point into it). */
int mr_api_read_input(struct mr_http_req *r, const char *const *keys, struct mr_api_input *in,
                      json_t **body);
/* The page and per_page query arguments (defaults 1 and 30, at most 1000). */
int mr_api_paging(struct mr_http_req *r, size_t *page, size_t *per_page);
/* Replies 200 with {page, pages, per_page, total, <key>: items} (takes items). */
int mr_api_page_reply(struct mr_http_req *r, size_t page, size_t per_page, size_t total,
                      const char *key, json_t *items);
json_t *mr_api_account_view(struct mr_store *s, const struct mr_account *a);
/* The settings report's filters from the query (name, secure,
 * automatic_check, keep_copy, status); replies 400 and returns -1 if bad. */
int mr_api_account_filter(struct mr_http_req *r, struct mr_account_filter *f);

#endif
