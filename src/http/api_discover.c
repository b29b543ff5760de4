/* POST /api/v1/accounts/discover {"email": "..."}: setting up from an
 * e-mail address (discover/discover.h), through the daemon's --dns server,
 * trusting its --discover-ca-file, and refusing what --deny-test-targets
 * refuses for Test connection. */
#include "http/http_private.h"

#include "discover/discover.h"
#include "http/api.h"

#include <stdlib.h>

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
    struct mr_discover_result *res = calloc(1, sizeof(*res));
    if (!res) {
        json_decref(body);
        return mr_http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", NULL, "out of memory");
    }
    int rc = mr_discover(json_string_value(email), &o, res, &err);
    json_decref(body);
    if (rc) {
        free(res);
        return mr_http_fail(r, rc, NULL, &err);
    }
    json_t *view = mr_discover_json(res);
    free(res);
    return mr_http_json(r, MHD_HTTP_OK, view);
}
