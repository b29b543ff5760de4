/* The inbox, reports, fetch history, Test connection and Fetch now. */
#include "http/api.h"
#include "report/delivery_views.h"
#include "util/log.h"

#include "fetch/fetch.h"
#include "http/assets.h"
#include "mime/summary.h"
#include "report/views.h"
#include "util/clock.h"
#include "util/csv.h"
#include "util/mem.h"
#include "util/said.h"
#include "util/text.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RAW_MAX ((size_t)1 << 31)

/* --- Test connection and Fetch now ------------------------------------------ */

/* A streamed test: a thread runs it and writes one JSON line per step into
 * a pipe, which the server sends as it fills (application/x-ndjson). */
struct test_job {
    struct mr_http_server *srv;
    struct mr_account account;
    int fd;
    int64_t started_ms;
};

static void write_line(int fd, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return;
    size_t n = strlen(text);
    text[n] = '\n'; /* replaces the NUL: write n + 1 bytes */
    for (size_t off = 0; off < n + 1;) {
        ssize_t w = write(fd, text + off, n + 1 - off);
        if (w <= 0)
            break; /* the client left: the test still ends by itself */
        off += (size_t)w;
    }
    free(text);
}

static void stream_step(void *ctx, const struct mr_step *s)
{
    write_line(((struct test_job *)ctx)->fd, mr_view_step(s));
}

/* What the test waits on now: {"waiting": "the greeting", "ms": since the
 * test began}, so the console can say it while the step runs. */
static void stream_wait(void *ctx, const char *what)
{
    struct test_job *job = ctx;
    json_t *j =
        json_pack("{s:s, s:I}", "waiting", what, "ms", (json_int_t)(mr_now_ms() - job->started_ms));
    write_line(job->fd, j);
}

static void *test_job(void *arg)
{
    struct test_job *job = arg;
    struct mr_registry reg;
    struct mr_test_result res = {0};
    struct mr_fetch_options o = {
        .idle_timeout_ms = 20000, .on_step = stream_step, .on_wait = stream_wait, .step_ctx = job};
    job->started_ms = mr_now_ms();
    mr_error err = {0};
    if (mr_registry_open(&reg, job->srv->data_dir, &err) == 0) {
        mr_test_account(&reg, &job->account, &o, &res, &err);
        mr_registry_close(&reg);
    } else
        write_line(job->fd, json_pack("{s:s, s:s, s:i, s:s}", "step", "settings", "result",
                                      "failed", "ms", 0, "detail", err.message));
    json_t *last = mr_view_test(&res);
    json_object_del(last, "steps"); /* sent one by one already */
    json_object_set_new(last, "done", json_true());
    write_line(job->fd, last);
    mr_test_result_clear(&res);
    close(job->fd);
    mr_account_clear(&job->account);
    struct mr_http_server *srv = job->srv;
    free(job);
    mr_http_job_done(srv);
    return NULL;
}

static int stream_test(struct mr_http_req *r, const struct mr_account *a)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return mr_http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", NULL, "cannot start a test");
    struct test_job *job = mr_xcalloc(1, sizeof(*job));
    job->srv = r->srv;
    job->fd = fds[1];
    mr_account_copy(&job->account, a);
    if (mr_http_job_start(r->srv, test_job, job) != 0) {
        close(fds[0]);
        close(fds[1]);
        mr_account_clear(&job->account);
        free(job);
        return mr_http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", NULL, "cannot start a test");
    }
    r->pipe_fd = fds[0];
    r->status = MHD_HTTP_OK;
    r->content_type = "application/x-ndjson";
    return 0;
}

/* serve --deny-test-targets: a test that would connect to a denied
 * address is refused (403) before it starts; 1 when refused. */
static int refuse_target(struct mr_http_req *r, const char *field, const char *host,
                         int resolve_here)
{
    char why[512];
    if (!host || !*host || !mr_http_target_denied(host, resolve_here, why, sizeof(why)))
        return 0;
    mr_http_error(r, MHD_HTTP_FORBIDDEN, "denied_target", field,
                  "Test connection does not go there: %s (this daemon runs with "
                  "--deny-test-targets)",
                  why);
    return 1;
}

/* Through a connector the daemon connects to the proxy, and resolves the
 * mail server's name itself only for a SOCKS5 connector that resolves
 * here. A connector that is not there is left for the test to report. */
static int refuse_via_connector(struct mr_http_req *r, int64_t id, const char *host,
                                const char *host_field)
{
    struct mr_connector c;
    mr_error err = {0};
    mr_connector_init(&c);
    int refused = 0;
    if (mr_store_connector_get(r->reg->store, id, &c, &err) == 0)
        refused =
            refuse_target(r, "connector", c.address, 1) ||
            refuse_target(r, host_field, host, c.type == MR_CONNECTOR_SOCKS5 && c.resolve_local);
    mr_connector_clear(&c);
    return refused;
}

static int refuse_account_target(struct mr_http_req *r, const struct mr_account *a)
{
    int64_t id = a->connector_id;
    mr_error err = {0};
    if (!r->srv->cfg.deny_test_targets)
        return 0;
    if (!a->use_connector)
        return refuse_target(r, "address", a->address, 1);
    if (!id && mr_store_default_connector(r->reg->store, &id, &err) != 0)
        id = 0;
    return id && refuse_via_connector(r, id, a->address, "address");
}

static int run_test(struct mr_http_req *r, const struct mr_account *a)
{
    if (refuse_account_target(r, a))
        return 0;
    const char *accept = mr_http_header(r, MHD_HTTP_HEADER_ACCEPT);
    if (accept && strstr(accept, "application/x-ndjson"))
        return stream_test(r, a);
    struct mr_test_result res;
    struct mr_fetch_options o = {.idle_timeout_ms = 20000};
    mr_error err = {0};
    mr_test_account(r->reg, a, &o, &res, &err);
    json_t *view = mr_view_test(&res);
    mr_test_result_clear(&res);
    return mr_http_json(r, MHD_HTTP_OK, view); /* a failed step is a result too */
}

int mr_api_account_test(struct mr_http_req *r)
{
    struct mr_account a;
    mr_error err = {0};
    int64_t id;
    if (mr_http_id(r, 1, &id))
        return 0;
    mr_account_init(&a);
    if (mr_store_account_get(r->reg->store, id, &a, &err) != 0)
        mr_http_fail(r, MR_ENOTFOUND, NULL, &err);
    else
        run_test(r, &a);
    mr_account_clear(&a);
    return 0;
}

/* POST /connectors/{id}/test, body {} or {"target": "host:port"}: the
 * proxy's steps, and with a target the tunnel to it. */
int mr_api_connector_test(struct mr_http_req *r)
{
    int64_t id;
    char host[256] = "";
    int port = 0;
    if (mr_http_id(r, 1, &id))
        return 0;
    json_t *body = r->body.len ? mr_http_body_object(r) : json_object();
    if (!body)
        return 0;
    json_t *t = json_object_get(body, "target");
    const char *target = json_is_string(t) ? json_string_value(t) : "";
    int bad = (t && !json_is_null(t) && !json_is_string(t)) ||
              (*target && mr_parse_host_port(target, host, sizeof(host), &port) != 0);
    json_decref(body);
    if (bad) {
        struct mr_problems p = {0};
        mr_problems_add(&p, "target", "expected HOST:PORT, e.g. imap.example.org:993");
        return mr_http_fail(r, MR_EINVAL, &p, NULL);
    }
    if (r->srv->cfg.deny_test_targets && refuse_via_connector(r, id, host, "target"))
        return 0;
    struct mr_test_result res;
    struct mr_fetch_options o = {.idle_timeout_ms = 20000};
    mr_error err = {0};
    int rc = mr_test_connector(r->reg, id, host, port, &o, &res, &err);
    if (rc == MR_ENOTFOUND && res.steps.count == 1)
        return mr_http_fail(r, rc, NULL, &err);
    json_t *j = mr_view_test(&res);
    json_object_del(j, "messages");
    json_object_del(j, "total_size");
    json_object_del(j, "folders");
    json_object_del(j, "folders_truncated");
    char error[sizeof(err.message)];
    mr_text_excerpt(err.message, sizeof(error), error, sizeof(error));
    if (rc) {
        json_object_set_new(j, "error", json_string(error));
        json_t *said = strcmp(error, err.message) == 0 ? mr_error_said_json(&err) : NULL;
        if (said)
            json_object_set_new(j, "error_said", said);
    }
    return mr_http_json(r, MHD_HTTP_OK, j); /* a failed step is a result too */
}

int mr_api_account_test_unsaved(struct mr_http_req *r)
{
    struct mr_api_input in;
    struct mr_problems p = {0};
    struct mr_account a;
    mr_error err = {0};
    static const char *keys[40];
    if (!keys[0]) {
        keys[0] = "id"; /* the stored account the form edits, if any */
        for (size_t i = 0; i < mr_account_field_count && i < 38; i++)
            keys[i + 1] = mr_account_fields[i].key;
    }
    json_t *body = mr_http_body_object(r);
    if (!body)
        return 0;
    if (mr_api_input(body, keys, &in, &p) != 0) {
        json_decref(body);
        return mr_http_fail(r, MR_EINVAL, &p, NULL);
    }
    json_t *idv = json_object_get(body, "id");
    int64_t base = json_is_integer(idv) ? json_integer_value(idv) : 0;
    struct mr_input fields = {0};
    for (size_t i = 0; i < in.in.count; i++)
        if (strcmp(in.in.items[i].key, "id") != 0)
            mr_input_add(&fields, in.in.items[i].key, in.in.items[i].value);
    if (!base && !mr_input_get(&fields, "name")) /* a form may be tested before it is named */
        mr_input_add(&fields, "name", "unsaved account");
    int rc = mr_registry_account_build(r->reg, base, &fields, &a, &p, &err);
    if (rc)
        mr_http_fail(r, rc, &p, &err);
    else
        run_test(r, &a);
    mr_account_clear(&a);
    json_decref(body);
    return 0;
}

struct fetch_job {
    struct mr_http_server *srv;
    int64_t account;
};

static void *fetch_job(void *arg)
{
    struct fetch_job *job = arg;
    struct mr_http_server *s = job->srv;
    struct mr_registry reg;
    struct mr_fetch_result res;
    struct mr_fetch_options o = {.cancel = &s->stopping};
    mr_error err = {0};
    if (mr_log_enabled(MR_LOG_DEBUG)) {
        o.trace = mr_log_trace;
        o.trace_ctx = (void *)(intptr_t)job->account;
    }
    mr_fetch_background_priority();
    if (mr_registry_open(&reg, s->data_dir, &err) == 0) {
        int rc = mr_fetch_account(&reg, job->account, &o, &res, &err);
        if (rc)
            MR_LOG(MR_LOG_WARN, "fetch", MR_LI("account", job->account), MR_LS("result", "error"),
                   MR_LS("error", err.message));
        else
            MR_LOG(MR_LOG_INFO, "fetch", MR_LI("account", job->account), MR_LS("result", "ok"),
                   MR_LI("fetched", res.fetched), MR_LI("bytes", res.bytes),
                   MR_LI("deleted", res.deleted), MR_LI("skipped", res.skipped));
        mr_registry_close(&reg);
    }
    free(job);
    mr_http_job_done(s);
    return NULL;
}

int mr_api_account_fetch(struct mr_http_req *r)
{
    struct mr_account a;
    mr_error err = {0};
    int64_t id;
    if (mr_http_id(r, 1, &id))
        return 0;
    mr_account_init(&a);
    int rc = mr_store_account_get(r->reg->store, id, &a, &err);
    mr_account_clear(&a);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    if (mr_fetch_running(r->reg->store, id)) /* join it: never a second run */
        return mr_http_json(
            r, MHD_HTTP_ACCEPTED,
            json_pack("{s:s, s:I}", "status", "running", "account", (json_int_t)id));
    struct fetch_job *job = mr_xcalloc(1, sizeof(*job));
    job->srv = r->srv;
    job->account = id;
    if (mr_http_job_start(r->srv, fetch_job, job) != 0) {
        free(job);
        return mr_http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", NULL,
                             "cannot start a fetch now");
    }
    return mr_http_json(r, MHD_HTTP_ACCEPTED,
                        json_pack("{s:s, s:I}", "status", "started", "account", (json_int_t)id));
}

int mr_api_account_history(struct mr_http_req *r)
{
    struct mr_fetch_run *items;
    size_t page, per_page, n, total;
    mr_error err = {0};
    int64_t id;
    if (mr_http_id(r, 1, &id) || mr_api_paging(r, &page, &per_page))
        return 0;
    if (mr_store_run_list(r->reg->store, id, (page - 1) * per_page, per_page, &items, &n, &total,
                          &err))
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char started[32], ended[32];
        mr_format_time(items[i].started_at, started);
        mr_format_time(items[i].ended_at, ended);
        json_t *row = json_pack("{s:I, s:s, s:s?, s:s, s:I, s:I, s:I, s:I, s:s?}", "id",
                                (json_int_t)items[i].id, "started_at", started, "ended_at",
                                items[i].ended_at ? ended : NULL, "result", items[i].result,
                                "fetched", (json_int_t)items[i].fetched, "bytes",
                                (json_int_t)items[i].bytes, "deleted", (json_int_t)items[i].deleted,
                                "skipped", (json_int_t)items[i].skipped, "error", items[i].error);
        json_t *said = row && items[i].error_said ? json_loads(items[i].error_said, 0, NULL) : NULL;
        if (said) /* on its own row: a row json_pack refused leaves no gap to shift into */
            json_object_set_new(row, "error_said", said);
        if (row) { /* what started it: push (the server's notice), check, or "" (asked for) */
            json_object_set_new(row, "trigger",
                                items[i].trigger[0] ? json_string(items[i].trigger) : json_null());
            json_object_set_new(row, "latency_ms",
                                items[i].latency_ms >= 0 ? json_integer(items[i].latency_ms)
                                                         : json_null());
            json_array_append_new(arr, row);
        }
    }
    mr_fetch_run_list_free(&items, n);
    return mr_http_json(r, MHD_HTTP_OK,
                        json_pack("{s:I, s:I, s:o}", "page", (json_int_t)page, "total",
                                  (json_int_t)total, "runs", arr));
}

/* --- the inbox --------------------------------------------------------------- */

static json_t *message_view(const struct mr_message *m)
{
    char fetched[32];
    mr_format_time(m->fetched_at, fetched);
    json_t *o =
        json_pack("{s:I, s:I, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:i, s:s, s:b}", "id",
                  (json_int_t)m->id, "account", (json_int_t)m->account_id, "received", fetched,
                  "date", m->date, "from", m->from, "to", m->to, "cc", m->cc, "subject", m->subject,
                  "size", (json_int_t)m->size, "attachments", m->attachments, "status",
                  mr_message_status_name(m->status), "size_mismatch", m->size_mismatch);
    json_object_set_new(o, "listed_size",
                        m->size_mismatch ? json_integer((json_int_t)m->listed_size) : json_null());
    json_object_set_new(o, "class", m->msg_class[0] ? json_string(m->msg_class) : json_null());
    json_object_set_new(o, "delivery", m->delivery[0] ? json_string(m->delivery) : json_null());
    json_object_set_new(o, "action_pending", json_boolean(m->action_pending));
    return o;
}

int mr_api_messages_list(struct mr_http_req *r)
{
    struct mr_message *items;
    struct mr_message_filter f;
    struct mr_query q = mr_http_query(r);
    struct mr_query_error e;
    size_t page, per_page, n, total;
    mr_error err = {0};
    int64_t path_account = 0;
    if (r->nseg == 3 && mr_http_id(r, 1, &path_account)) /* accounts/ID/messages */
        return 0;
    if (mr_query_message_filter(&q, &f, &e) || mr_query_paging(&q, &page, &per_page, &e))
        return mr_http_query_fail(r, &e);
    if (path_account)
        f.account = path_account;
    size_t offset = f.before ? 0 : (page - 1) * per_page;
    if (mr_store_message_list(r->reg->store, &f, offset, per_page, &items, &n, &total, &err))
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, message_view(&items[i]));
    int64_t next = n == per_page ? items[n - 1].id : 0;
    mr_message_list_free(&items, n);
    mr_api_page_reply(r, page, per_page, total, "messages", arr);
    json_object_set_new(r->json, "next_before", next ? json_integer(next) : json_null());
    return 0;
}

/* Messages left on the server because they were too big. */
int mr_api_skipped_list(struct mr_http_req *r)
{
    struct mr_skipped *items;
    size_t page, per_page, n, total;
    int64_t account;
    mr_error err = {0};
    struct mr_query q = mr_http_query(r);
    struct mr_query_error e;
    if (mr_query_account_id(&q, &account, &e) || mr_query_paging(&q, &page, &per_page, &e))
        return mr_http_query_fail(r, &e);
    if (mr_store_skipped_list(r->reg->store, account, (page - 1) * per_page, per_page, &items, &n,
                              &total, &err))
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, mr_view_skipped(&items[i]));
    mr_skipped_list_free(&items, n);
    return mr_api_page_reply(r, page, per_page, total, "skipped", arr);
}

int mr_api_message_get(struct mr_http_req *r)
{
    struct mr_message m;
    struct mr_attachment *att = NULL;
    size_t n = 0;
    mr_error err = {0};
    int64_t id;
    if (mr_http_id(r, 1, &id))
        return 0;
    int rc = mr_store_message_get(r->reg->store, id, &m, &err);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    if (mr_store_message_attachments(r->reg->store, id, &att, &n, &err) == 0) {
        json_t *j = message_view(&m), *arr = mr_view_attachments(att, n);
        json_object_set_new(j, "message_id",
                            m.message_id ? json_string(m.message_id) : json_null());
        json_object_set_new(j, "text", m.body_text ? json_string(m.body_text) : json_null());
        json_object_set_new(j, "attachment_list", arr);
        struct mr_delivery_filter f = {.message = id};
        struct mr_delivery *d = NULL;
        size_t nd = 0, total = 0;
        json_t *deliveries = json_array();
        if (mr_store_delivery_list(r->reg->store, &f, 0, 0, &d, &nd, &total, &err) == 0)
            for (size_t i = 0; i < nd; i++)
                json_array_append_new(deliveries, mr_view_delivery(&d[i]));
        mr_delivery_list_free(&d, nd);
        json_object_set_new(j, "deliveries", deliveries);
        mr_http_json(r, MHD_HTTP_OK, j);
    } else
        mr_http_fail(r, MR_ESTORE, NULL, &err);
    mr_attachments_free(&att, n);
    mr_message_clear(&m);
    return 0;
}

int mr_api_message_raw(struct mr_http_req *r)
{
    mr_error err = {0};
    int64_t id;
    if (mr_http_id(r, 1, &id))
        return 0;
    r->out.max = RAW_MAX;
    int rc = mr_store_message_raw(r->reg->store, id, &r->out, &err);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    r->status = MHD_HTTP_OK;
    r->content_type = "message/rfc822";
    snprintf(r->disposition, sizeof(r->disposition), "attachment; filename=\"message-%lld.eml\"",
             (long long)id);
    return 0;
}

/* Attachment pos's name as listed when the message was stored; NULL when
 * it has none. */
static char *attachment_name(struct mr_store *s, int64_t id, int pos)
{
    struct mr_attachment *att = NULL;
    size_t n = 0;
    mr_error err = {0};
    char *name = NULL;
    if (mr_store_message_attachments(s, id, &att, &n, &err) == 0)
        for (size_t i = 0; i < n && !name; i++)
            if (att[i].position == pos && att[i].filename)
                name = mr_xstrdup(att[i].filename);
    mr_attachments_free(&att, n);
    return name;
}

/* Always a download, never shown in the page: an HTML attachment must not
 * run in the console's origin. It is saved under its own name. */
int mr_api_message_attachment(struct mr_http_req *r)
{
    struct mr_buf raw;
    mr_error err = {0};
    int64_t id, pos;
    if (mr_http_id(r, 1, &id) || mr_http_id(r, 3, &pos))
        return 0;
    if (pos > MR_ATTACHMENT_POSITION_MAX) /* checked before the cast: 2^32 + 1 is not 1 */
        return mr_http_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no attachment %lld",
                             (long long)pos);
    mr_buf_init(&raw, RAW_MAX);
    int rc = mr_store_message_raw(r->reg->store, id, &raw, &err);
    if (rc == 0)
        rc = mr_mime_attachment(raw.data ? raw.data : "", raw.len, (int)pos, &r->out, &err);
    mr_buf_free(&raw);
    if (rc)
        return mr_http_fail(r, rc, NULL, &err);
    r->status = MHD_HTTP_OK;
    r->content_type = "application/octet-stream";
    char fallback[64];
    snprintf(fallback, sizeof(fallback), "attachment-%lld-%lld", (long long)id, (long long)pos);
    char *name = attachment_name(r->reg->store, id, (int)pos);
    mr_content_disposition(name, fallback, r->disposition, sizeof(r->disposition));
    free(name);
    return 0;
}

/* --- reports ------------------------------------------------------------------- */

int mr_api_report_csv(struct mr_http_req *r)
{
    struct mr_account_filter f;
    struct mr_account *items;
    size_t n, total;
    mr_error err = {0};
    if (mr_api_account_filter(r, &f))
        return 0;
    if (mr_store_account_list(r->reg->store, &f, 0, 0, &items, &n, &total, &err))
        return mr_http_fail(r, MR_ESTORE, NULL, &err);
    enum mr_lang lang = mr_http_lang(r); /* whoever exports it reads it */
    int rc = mr_report_csv_header(&r->out, lang);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = mr_report_csv_row(&r->out, &items[i], lang);
    mr_account_list_free(&items, n);
    r->status = MHD_HTTP_OK;
    r->content_type = "text/csv; charset=utf-8";
    snprintf(r->disposition, sizeof(r->disposition), "attachment; filename=\"accounts.csv\"");
    return 0;
}

/* --- the console ------------------------------------------------------------------ */

static const char *content_type_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".json", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

int mr_api_static(struct mr_http_req *r)
{
    char path[sizeof(r->path)];
    snprintf(path, sizeof(path), "%s", r->path);
    char *query = strchr(path, '?');
    if (query)
        *query = '\0';
    if (strcmp(path, "/") == 0)
        snprintf(path, sizeof(path), "/index.html");
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        return mr_http_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method", NULL,
                             "%s is not allowed here", r->method);
    for (const struct mr_asset *a = mr_assets; a->path; a++) {
        if (strcmp(a->path, path) != 0)
            continue;
        mr_buf_append(&r->out, a->data, a->size);
        r->status = MHD_HTTP_OK;
        r->content_type = content_type_of(path);
        return 0;
    }
    return mr_http_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such page");
}
