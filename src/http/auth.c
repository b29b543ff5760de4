/* Who is asking: a console session (cookie, CSRF token on every write) or an
 * API token (Authorization: Bearer). */
#include "http/http_private.h"

#include "registry/users.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define COOKIE_NAME "mailroom_session"

static int bearer(struct mr_http_req *r, const char *auth)
{
    mr_error err = {0};
    if (strncasecmp(auth, "Bearer ", 7) != 0)
        return 0;
    int rc = mr_registry_token_find(r->reg, auth + 7, &r->user, &r->read_only, &err);
    if (rc == MR_EAUTH)
        snprintf(r->auth_error, sizeof(r->auth_error), "%.159s", err.message);
    if (rc)
        return 0;
    r->authed = 1;
    return 1;
}

/* The session cookie's value, if the request carries one. */
static const char *session_cookie(struct mr_http_req *r)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE_NAME);
}

int mr_http_authenticate(struct mr_http_req *r)
{
    const char *auth = mr_http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth)
        return bearer(r, auth);
    const char *token = session_cookie(r);
    const struct mr_session_limits limits = {r->srv->cfg.session_idle_secs,
                                             r->srv->cfg.session_max_secs};
    mr_error err = {0};
    if (!token || mr_registry_session_find(r->reg, token, &limits, &r->user, r->csrf, &err) != 0)
        return 0;
    snprintf(r->session, sizeof(r->session), "%s", token);
    r->authed = r->via_session = 1;
    /* The server's idle timer restarted with this request: so does the
     * browser's cookie, or an active user would be logged out the idle time
     * after logging in. (Logout sets its own, expired, cookie later.) */
    mr_http_set_session_cookie(r, token, r->srv->cfg.session_idle_secs);
    return 1;
}

void mr_http_set_session_cookie(struct mr_http_req *r, const char *token, int max_age)
{
    snprintf(r->cookie, sizeof(r->cookie),
             COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict;"
                         " Max-Age=%d%s",
             token, max_age, r->srv->cfg.secure_cookies ? "; Secure" : "");
}
