#include "report/delivery_views.h"

#include "report/views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *mr_view_time_ms(int64_t ms)
{
    char text[32];
    if (ms <= 0)
        return json_null();
    mr_format_time(ms / 1000, text);
    return json_string(text);
}

static json_t *text_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *mr_view_target(struct mr_store *s, const struct mr_target *t)
{
    json_t *o = json_object();
    char buf[32];
    struct mr_account a;
    struct mr_credential c;
    json_object_set_new(o, "id", json_integer(t->id));
    if (mr_store_account_get(s, t->account_id, &a, NULL) == 0) {
        json_object_set_new(o, "account", mr_view_ref(a.id, a.name));
        mr_account_clear(&a);
    } else
        json_object_set_new(o, "account", mr_view_ref(t->account_id, NULL));
    for (size_t i = 0; mr_target_keys[i]; i++) {
        const char *k = mr_target_keys[i];
        if (strcmp(k, "secret_credential") == 0) {
            if (t->secret_credential_id &&
                mr_store_credential_get(s, t->secret_credential_id, &c, NULL) == 0) {
                json_object_set_new(o, k, mr_view_ref(c.id, c.name));
                mr_credential_clear(&c);
            } else
                json_object_set_new(o, k, mr_view_ref(t->secret_credential_id, NULL));
            continue;
        }
        const char *v = mr_target_get(t, k, buf, sizeof(buf));
        if (strcmp(k, "enabled") == 0 || strcmp(k, "allow_http") == 0 || strcmp(k, "parallel") == 0)
            json_object_set_new(o, k, json_boolean(strcmp(v, "yes") == 0));
        else if (v == buf)
            json_object_set_new(o, k, json_integer(atoll(buf)));
        else
            json_object_set_new(o, k, text_or_null(v));
    }
    json_object_set_new(o, "created_at", mr_view_time_ms(t->created_at * 1000));
    json_object_set_new(o, "updated_at", mr_view_time_ms(t->updated_at * 1000));
    json_t *counts = json_object();
    static const char *const states[] = {"pending", "delivered", "failed", "skipped"};
    uint64_t n[4];
    if (mr_store_target_counts(s, t->id, n, NULL) == 0)
        for (size_t i = 0; i < 4; i++)
            json_object_set_new(counts, states[i], json_integer((json_int_t)n[i]));
    json_object_set_new(o, "deliveries", counts);
    return o;
}

json_t *mr_view_delivery(const struct mr_delivery *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(d->id));
    json_object_set_new(o, "event_id", json_string(d->event_id));
    json_object_set_new(o, "state", json_string(d->state));
    json_object_set_new(o, "attempts", json_integer(d->attempts));
    json_object_set_new(o, "target",
                        json_pack("{s:I, s:s?, s:s?}", "id", (json_int_t)d->target_id, "name",
                                  d->target_name, "kind", d->target_kind));
    json_object_set_new(o, "account", mr_view_ref(d->account_id, d->account_name));
    json_object_set_new(o, "message",
                        json_pack("{s:I, s:s?, s:s?}", "id", (json_int_t)d->message_id, "subject",
                                  d->subject, "from", d->from));
    json_object_set_new(o, "created_at", mr_view_time_ms(d->created_ms));
    json_object_set_new(o, "last_attempt_at", mr_view_time_ms(d->last_attempt_ms));
    json_object_set_new(o, "next_attempt_at",
                        strcmp(d->state, "pending") == 0 ? mr_view_time_ms(d->next_ms)
                                                         : json_null());
    json_object_set_new(o, "done_at", mr_view_time_ms(d->done_ms));
    json_object_set_new(o, "last_error", text_or_null(d->last_error));
    json_t *said = d->last_error_said ? json_loads(d->last_error_said, 0, NULL) : NULL;
    if (said)
        json_object_set_new(o, "last_error_said", said);
    json_object_set_new(o, "last_response", text_or_null(d->last_response));
    json_object_set_new(o, "progress", text_or_null(d->progress));
    return o;
}
