/* An account's push mode, as the API, the console's report and the command
 * line show it (store/push.c's push_status, written by the daemon). */
#include "report/views.h"

#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Why an account the daemon has no row for is not pushed: a code (the
 * console's words for it) and the English. */
static const char *off_reason(const struct mr_account *a, const char **code)
{
    if (a->protocol != MR_PROTO_IMAP) {
        *code = "pop3";
        return "POP3 has no push: checked every interval";
    }
    if (!a->push) {
        *code = "push_off";
        return "push is off for this account: checked every interval";
    }
    if (!a->enabled || !a->automatic_check) {
        *code = "not_automatic";
        return "not checked automatically";
    }
    *code = "no_daemon";
    return "no daemon is pushing it (mailroom serve is not running, or runs with --no-push)";
}

void mr_view_push_mode(const struct mr_account *a, const struct mr_push_status *p,
                       struct mr_push_mode *out)
{
    memset(out, 0, sizeof(*out));
    if (!p || !p->mode[0]) {
        snprintf(out->mode, sizeof(out->mode), "off");
        snprintf(out->reason, sizeof(out->reason), "%s", off_reason(a, &out->reason_code));
        return;
    }
    snprintf(out->mode, sizeof(out->mode), "%s", p->mode);
    snprintf(out->reason, sizeof(out->reason), "%s", p->reason);
    out->reason_said = p->reason_said;
    out->age_s = p->connected_at ? (int64_t)time(NULL) - p->connected_at : -1;
}

json_t *mr_view_push(const struct mr_account *a, const struct mr_push_status *p)
{
    struct mr_push_mode m;
    char when[32];
    mr_view_push_mode(a, p, &m);
    json_t *o = json_object();
    json_object_set_new(o, "mode", json_string(m.mode));
    json_object_set_new(o, "reason", m.reason[0] ? json_string(m.reason) : json_null());
    if (m.reason_code)
        json_object_set_new(o, "reason_code", json_string(m.reason_code));
    json_t *said = m.reason_said ? json_loads(m.reason_said, 0, NULL) : NULL;
    if (said)
        json_object_set_new(o, "reason_said", said);
    if (p && p->mode[0]) {
        mr_format_time(p->since, when);
        json_object_set_new(o, "since", json_string(when));
    }
    if (p && p->connected_at) {
        mr_format_time(p->connected_at, when);
        json_object_set_new(o, "connected_at", json_string(when));
        json_object_set_new(o, "age_s", json_integer(m.age_s));
    }
    json_object_set_new(o, "latency_ms",
                        p && p->latency_ms >= 0 ? json_integer(p->latency_ms) : json_null());
    json_object_set_new(o, "notices", json_integer(p ? (json_int_t)p->notices : 0));
    return o;
}
