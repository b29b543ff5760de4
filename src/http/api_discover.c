/* POST /api/v1/accounts/discover {"email": "..."}: setting up from an
 * e-mail address (discover/discover.h), through the daemon's --dns server,
 * trusting its --discover-ca-file, and refusing what --deny-test-targets
 * refuses for Test connection. */
#include "http/http_private.h"

#include "discover/discover.h"
#include "http/api.h"

#include <stdlib.h>

/* A discovery holds its request thread for up to MR_DISCOVER_TOTAL_MS: at
 * most this many at once, so the API's other requests still have threads. */
#define DISCOVER_AT_ONCE 2

static int running; /* discoveries under way in this daemon (atomic) */

static int denied(const char *ip, char *why, size_t size)
{
    return mr_http_target_denied(ip, 0, why, size);
}

int mr_api_account_discover(struct mr_http_req *r)
{
    json_t *body = mr_http_body_object(r);
    if (!body)
        return 0;
    json_t *email = json_object_get(body, "email");
    mr_error err = {0};
    if (!json_is_string(email)) {
        json_decref(body);
        return mr_http_error(r, MHD_HTTP_BAD_REQUEST, "invalid", "email",
                             "is required: the e-mail address to set up, as a string");
    }
    struct mr_discover_options o = {
        .dns = r->srv->cfg.dns,
        .ca_file = r->srv->cfg.discover_ca_file,
        .denied = r->srv->cfg.deny_test_targets ? denied : NULL,
    };
    if (__atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST) > DISCOVER_AT_ONCE) {
        __atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
        json_decref(body);
        r->retry_after = MR_DISCOVER_TOTAL_MS / 1000;
        return mr_http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", NULL,
                             "%d set-ups from an e-mail address are running already: try again "
                             "in %d seconds",
                             DISCOVER_AT_ONCE, MR_DISCOVER_TOTAL_MS / 1000);
    }
    struct mr_discover_result *res = calloc(1, sizeof(*res));
    int rc = res ? mr_discover(json_string_value(email), &o, res, &err) : MR_EIO;
    if (!res)
        mr_error_set(&err, MR_EIO, NULL, "out of memory");
    __atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
    json_decref(body);
    if (rc) {
        free(res);
        return mr_http_fail(r, rc, NULL, &err);
    }
    json_t *view = mr_discover_json(res);
    free(res);
    return mr_http_json(r, MHD_HTTP_OK, view);
}
