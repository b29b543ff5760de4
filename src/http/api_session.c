/* Logging in and out of the console. */
#include "http/api.h"

#include "registry/audit.h"
#include "registry/users.h"
#include "util/log.h"
#include "util/text.h"

#include <stdio.h>
#include <string.h>

#define NAME_AUDITED 100 /* bytes of a user name tried (real ones have at most 64) */

static json_t *session_view(const struct mr_user *u, const char *csrf)
{
    return json_pack("{s:{s:I, s:s, s:s}, s:s?}", "user", "id", (json_int_t)u->id, "name", u->name,
                     "role", mr_role_name(u->role), "csrf_token", csrf);
}

/* A failed login in the audit log: the name as tried and the client's
 * address, never the password. Throttled attempts are not written: they
 * cost an attacker nothing and would flood the log. */
static void audit_failure(struct mr_http_req *r, const char *name)
{
    char tried[NAME_AUDITED + 4];
    mr_error err = {0};
    mr_text_excerpt(name, NAME_AUDITED, tried, sizeof(tried));
    if (mr_audit_record(r->reg, "login_failed", MR_OBJ_USER, 0, tried,
                        json_pack("{s:s}", "client", r->client), &err) != 0)
        MR_LOG(MR_LOG_WARN, "audit", MR_LS("error", err.message));
}

static int throttled(struct mr_http_req *r, int retry)
{
    r->retry_after = retry;
    mr_http_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited", NULL,
                  "too many failed logins; try again in %d second%s", retry, retry == 1 ? "" : "s");
    json_object_set_new(json_object_get(r->json, "error"), "retry_after", json_integer(retry));
    return 0;
}

int mr_api_login(struct mr_http_req *r)
{
    json_t *body = mr_http_body_object(r);
    if (!body)
        return 0;
    const char *name = json_string_value(json_object_get(body, "username"));
    const char *password = json_string_value(json_object_get(body, "password"));
    int retry = 0;
    struct mr_throttle_ticket ticket;
    if (!name || !password || json_object_size(body) != 2) {
        json_decref(body);
        return mr_http_error(r, MHD_HTTP_BAD_REQUEST, "invalid", NULL,
                             "send {\"username\": ..., \"password\": ...}");
    }
    if (!mr_throttle_reserve(&r->srv->throttle, r->client, name, &ticket, &retry)) {
        json_decref(body);
        return throttled(r, retry);
    }
    struct mr_user u;
    char token[MR_SECRET_TOKEN_LEN + 1], csrf[72];
    mr_error err = {0};
    int rc = mr_registry_login(r->reg, name, password, &u, &err);
    mr_throttle_finish(&r->srv->throttle, &ticket, rc == 0);
    if (rc)
        audit_failure(r, name);
    json_decref(body);
    if (rc)
        return mr_http_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", NULL, "%s", err.message);
    rc = mr_registry_session_start(r->reg, u.id, token, csrf, &err);
    if (rc == 0) {
        mr_http_set_session_cookie(r, token, r->srv->cfg.session_idle_secs);
        mr_http_json(r, MHD_HTTP_OK, session_view(&u, csrf));
    } else
        mr_http_fail(r, rc, NULL, &err);
    mr_user_clear(&u);
    return 0;
}

int mr_api_session(struct mr_http_req *r)
{
    return mr_http_json(r, MHD_HTTP_OK, session_view(&r->user, r->via_session ? r->csrf : NULL));
}

int mr_api_logout(struct mr_http_req *r)
{
    mr_error err = {0};
    if (r->via_session && mr_registry_session_end(r->reg, r->session, &err) != 0)
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    mr_http_set_session_cookie(r, "", 0);
    return mr_http_json(r, MHD_HTTP_OK, json_pack("{s:b}", "logged_out", 1));
}
