/* /healthz and /metrics (Prometheus text format). */
#include "http/api.h"

#include "report/views.h"
#include "sched/scheduler.h"
#include "util/clock.h"
#include "util/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int mr_api_healthz(struct mr_http_req *r)
{
    mr_error err = {0};
    size_t n;
    /* alive, and the store answers */
    if (mr_store_message_count(r->reg->store, -1, &n, &err) != 0)
        return mr_http_json(r, MHD_HTTP_SERVICE_UNAVAILABLE, json_pack("{s:s}", "status", "error"));
    return mr_http_json(r, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

static void metric(struct mr_buf *b, const char *name, const char *type, const char *help)
{
    mr_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Push connections (fetch/push.h): accounts by mode, notices, drops, and
 * the time from the server's notice to the mail committed. */
static void push_metrics(struct mr_buf *b, const struct mr_push_stats *p)
{
    static const char *const le[MR_PUSH_LATENCY_BUCKETS] = {"0.1", "0.25", "0.5", "1",
                                                            "2",   "5",    "10",  "+Inf"};
    metric(b, "mailroom_push_accounts", "gauge", "Accounts that want push, by mode");
    mr_buf_printf(b, "mailroom_push_accounts{mode=\"push\"} %zu\n", p->live);
    mr_buf_printf(b, "mailroom_push_accounts{mode=\"connecting\"} %zu\n", p->connecting);
    mr_buf_printf(b, "mailroom_push_accounts{mode=\"poll\"} %zu\n", p->polling);
    mr_buf_printf(b, "mailroom_push_accounts{mode=\"failing\"} %zu\n", p->failing);
    metric(b, "mailroom_push_notices_total", "counter", "The servers' notices of new mail");
    mr_buf_printf(b, "mailroom_push_notices_total %llu\n", (unsigned long long)p->notices);
    metric(b, "mailroom_push_drops_total", "counter", "Push connections lost and remade");
    mr_buf_printf(b, "mailroom_push_drops_total %llu\n", (unsigned long long)p->drops);
    metric(b, "mailroom_push_latency_seconds", "histogram",
           "From the server's notice of new mail to its first message committed");
    uint64_t cum = 0;
    for (int i = 0; i < MR_PUSH_LATENCY_BUCKETS; i++) {
        cum += p->latency_buckets[i];
        mr_buf_printf(b, "mailroom_push_latency_seconds_bucket{le=\"%s\"} %llu\n", le[i],
                      (unsigned long long)cum);
    }
    mr_buf_printf(b, "mailroom_push_latency_seconds_sum %.3f\n", p->latency_sum);
    mr_buf_printf(b, "mailroom_push_latency_seconds_count %llu\n",
                  (unsigned long long)p->latency_count);
}

static void per_account(struct mr_http_req *r, struct mr_buf *b)
{
    struct mr_check_status *items = NULL;
    size_t n = 0;
    mr_error err = {0};
    int64_t now = (int64_t)time(NULL);
    if (mr_store_due_candidates(r->reg->store, &items, &n, &err) != 0)
        return;
    metric(b, "mailroom_account_consecutive_failures", "gauge",
           "Failed checks since the last success, per automatically checked account");
    for (size_t i = 0; i < n; i++)
        mr_buf_printf(b, "mailroom_account_consecutive_failures{account=\"%lld\"} %d\n",
                      (long long)items[i].account_id, items[i].failures);
    metric(b, "mailroom_account_last_check_age_seconds", "gauge",
           "Seconds since the account's last finished check (absent: never checked)");
    for (size_t i = 0; i < n; i++)
        if (items[i].last_ended)
            mr_buf_printf(b, "mailroom_account_last_check_age_seconds{account=\"%lld\"} %lld\n",
                          (long long)items[i].account_id, (long long)(now - items[i].last_ended));
    metric(b, "mailroom_account_last_success_age_seconds", "gauge",
           "Seconds since the account's last successful check (absent: never succeeded)");
    for (size_t i = 0; i < n; i++)
        if (items[i].last_success)
            mr_buf_printf(b, "mailroom_account_last_success_age_seconds{account=\"%lld\"} %lld\n",
                          (long long)items[i].account_id, (long long)(now - items[i].last_success));
    free(items);
}

/* The outbox: its depth, the age of its oldest pending delivery, and each
 * target's deliveries by state (target names are the admin's, not the
 * message's: safe as labels once escaped). */
static void outbox(struct mr_http_req *r, struct mr_buf *b)
{
    struct mr_outbox_totals t;
    mr_error err = {0};
    if (mr_store_outbox_totals(r->reg->store, &t, &err) != 0)
        return;
    metric(b, "mailroom_outbox_pending", "gauge", "Deliveries waiting to be delivered");
    mr_buf_printf(b, "mailroom_outbox_pending %llu\n", (unsigned long long)t.pending);
    metric(b, "mailroom_outbox_oldest_pending_seconds", "gauge",
           "Age of the oldest pending delivery (0: none)");
    int64_t age = t.oldest_pending_ms ? (mr_now_wall_ms() - t.oldest_pending_ms) / 1000 : 0;
    mr_buf_printf(b, "mailroom_outbox_oldest_pending_seconds %lld\n",
                  (long long)(age > 0 ? age : 0));
    metric(b, "mailroom_deliveries", "gauge", "Deliveries per target and state");
    static const char *const states[] = {"pending", "delivered", "failed", "skipped"};
    for (size_t i = 0; i < t.ntargets; i++) {
        const struct mr_delivery_counts *c = &t.targets[i];
        const uint64_t v[] = {c->pending, c->delivered, c->failed, c->skipped};
        for (size_t k = 0; k < 4; k++)
            mr_buf_printf(b,
                          "mailroom_deliveries{target=\"%lld\",account=\"%lld\",kind=\"%s\","
                          "state=\"%s\"} %llu\n",
                          (long long)c->target_id, (long long)c->account_id, c->kind ? c->kind : "",
                          states[k], (unsigned long long)v[k]);
    }
    mr_outbox_totals_clear(&t);
}

/* oauth2 credentials by token state, and each one's access token expiry. */
static void oauth_credentials(struct mr_http_req *r, struct mr_buf *b)
{
    static const char *const states[] = {"not_signed_in",
                                         MR_TOKEN_OK,
                                         MR_TOKEN_CONSENT_NEEDED,
                                         MR_TOKEN_CLIENT_MISCONFIGURED,
                                         MR_TOKEN_PROVIDER_UNREACHABLE,
                                         MR_TOKEN_REFUSED};
    struct mr_credential *items = NULL;
    size_t n = 0, count[6] = {0};
    mr_error err = {0};
    if (mr_store_credential_list(r->reg->store, &items, &n, &err) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 6 && items[i].kind == MR_CREDENTIAL_OAUTH2; k++)
            if (strcmp(items[i].token_state ? items[i].token_state : "not_signed_in", states[k]) ==
                0)
                count[k]++;
    metric(b, "mailroom_oauth_credentials", "gauge",
           "OAuth 2.0 credentials by token state (consent_needed: sign in again)");
    for (size_t k = 0; k < 6; k++)
        mr_buf_printf(b, "mailroom_oauth_credentials{state=\"%s\"} %zu\n", states[k], count[k]);
    metric(b, "mailroom_oauth_token_expiry_seconds", "gauge",
           "When each OAuth 2.0 credential's access token expires (unix time)");
    for (size_t i = 0; i < n; i++)
        if (items[i].kind == MR_CREDENTIAL_OAUTH2 && items[i].token_expires_at)
            mr_buf_printf(b, "mailroom_oauth_token_expiry_seconds{credential=\"%lld\"} %lld\n",
                          (long long)items[i].id, (long long)items[i].token_expires_at);
    metric(b, "mailroom_oauth_sign_in_lapses_seconds", "gauge",
           "When each OAuth 2.0 sign-in lapses unless renewed (unix time; Microsoft: 90 days "
           "unused, Google apps in testing: 7 days)");
    for (size_t i = 0; i < n; i++) {
        const char *why;
        int64_t at = mr_oauth_lapses_at(&items[i], &why);
        if (at)
            mr_buf_printf(b, "mailroom_oauth_sign_in_lapses_seconds{credential=\"%lld\"} %lld\n",
                          (long long)items[i].id, (long long)at);
    }
    mr_credential_list_free(&items, n);
}

int mr_api_metrics(struct mr_http_req *r)
{
    static const char *const le[] = {"1", "2", "5", "10", "30", "60", "300", "+Inf"};
    struct mr_fetch_totals t;
    struct mr_sched_stats st;
    mr_error err = {0};
    if (mr_store_fetch_totals(r->reg->store, &t, &err) != 0)
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    mr_scheduler_stats(r->srv->sched, &st);
    struct mr_buf *b = &r->out;
    metric(b, "mailroom_accounts", "gauge", "Accounts by status");
    mr_buf_printf(b, "mailroom_accounts{status=\"enabled\"} %llu\n",
                  (unsigned long long)t.accounts_enabled);
    mr_buf_printf(b, "mailroom_accounts{status=\"disabled\"} %llu\n",
                  (unsigned long long)t.accounts_disabled);
    mr_buf_printf(b, "mailroom_accounts{status=\"failing\"} %llu\n",
                  (unsigned long long)t.accounts_with_errors);
    metric(b, "mailroom_checks_total", "counter", "Fetch runs finished");
    mr_buf_printf(b, "mailroom_checks_total %llu\n", (unsigned long long)t.runs);
    metric(b, "mailroom_checks_failed_total", "counter", "Fetch runs that failed");
    mr_buf_printf(b, "mailroom_checks_failed_total %llu\n", (unsigned long long)t.failed);
    metric(b, "mailroom_messages_fetched_total", "counter", "Messages stored");
    mr_buf_printf(b, "mailroom_messages_fetched_total %llu\n", (unsigned long long)t.fetched);
    metric(b, "mailroom_bytes_fetched_total", "counter", "Bytes of messages stored");
    mr_buf_printf(b, "mailroom_bytes_fetched_total %llu\n", (unsigned long long)t.bytes);
    metric(b, "mailroom_fetch_duration_seconds", "histogram", "How long fetch runs took");
    for (int i = 0; i < 8; i++)
        mr_buf_printf(b, "mailroom_fetch_duration_seconds_bucket{le=\"%s\"} %llu\n", le[i],
                      (unsigned long long)t.duration_buckets[i]);
    mr_buf_printf(b, "mailroom_fetch_duration_seconds_sum %.0f\n", t.duration_sum);
    mr_buf_printf(b, "mailroom_fetch_duration_seconds_count %llu\n", (unsigned long long)t.runs);
    metric(b, "mailroom_scheduler_queue_depth", "gauge", "Checks waiting for a worker");
    mr_buf_printf(b, "mailroom_scheduler_queue_depth %zu\n", st.queued);
    metric(b, "mailroom_scheduler_running", "gauge", "Checks running now");
    mr_buf_printf(b, "mailroom_scheduler_running %zu\n", st.running);
    metric(b, "mailroom_kept_sessions", "gauge", "IMAP sessions kept open between checks");
    mr_buf_printf(b, "mailroom_kept_sessions %zu\n", st.kept);
    if (st.push)
        push_metrics(b, &st.push_stats);
    outbox(r, b);
    oauth_credentials(r, b);
    per_account(r, b);
    r->status = MHD_HTTP_OK;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return 0;
}

/* --- the audit log (admins) ---------------------------------------------------- */

static void audit_csv(struct mr_http_req *r, const struct mr_audit_entry *items, size_t n)
{
    mr_audit_csv_header(&r->out);
    for (size_t i = 0; i < n; i++)
        mr_audit_csv_row(&r->out, &items[i]);
    r->status = MHD_HTTP_OK;
    r->content_type = "text/csv; charset=utf-8";
    snprintf(r->disposition, sizeof(r->disposition), "attachment; filename=\"audit.csv\"");
}

int mr_api_audit_list(struct mr_http_req *r)
{
    struct mr_audit_filter f;
    struct mr_audit_entry *items;
    size_t page, per_page, n, total;
    mr_error err = {0};
    struct mr_query q = mr_http_query(r);
    struct mr_query_error e;
    int csv;
    if (mr_query_audit_filter(&q, &f, &csv, &e) || mr_query_paging(&q, &page, &per_page, &e))
        return mr_http_query_fail(r, &e);
    if (mr_store_audit_list(r->reg->store, &f, csv ? 0 : (page - 1) * per_page, csv ? 0 : per_page,
                            &items, &n, &total, &err))
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    if (csv)
        audit_csv(r, items, n);
    else {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, mr_view_audit(&items[i]));
        mr_http_json(r, MHD_HTTP_OK,
                     json_pack("{s:I, s:I, s:I, s:o}", "page", (json_int_t)page, "total",
                               (json_int_t)total, "per_page", (json_int_t)per_page, "entries",
                               arr));
    }
    mr_audit_list_free(&items, n);
    return 0;
}
