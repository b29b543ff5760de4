#include "report/deliver.h"

#include "oauth/oauth.h"

#include "mime/summary.h"
#include "report/views.h"
#include "util/mem.h"
#include "util/safedir.h"
#include "util/text.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const filter_keys[] = {
    "name", "secure", "automatic_check", "keep_copy", "status", "errors", NULL};

int mr_report_filter_from_json(const char *text, struct mr_account_filter *f, char name_buf[256],
                               struct mr_problems *p)
{
    json_error_t jerr;
    json_t *j = json_loads(text && *text ? text : "{}", 0, &jerr);
    mr_account_filter_init(f);
    name_buf[0] = '\0';
    if (!json_is_object(j)) {
        json_decref(j);
        mr_problems_add(p, "filters", "must be a JSON object of the report's filters");
        return MR_EINVAL;
    }
    const char *key;
    json_t *v;
    size_t before = p->count;
    json_object_foreach(j, key, v)
    {
        const char *s = json_string_value(v);
        int known = 0;
        for (int i = 0; filter_keys[i]; i++)
            known |= strcmp(filter_keys[i], key) == 0;
        if (!known || !s)
            mr_problems_add(p, "filters", "'%s' is not a report filter with a text value", key);
        else if (strcmp(key, "name") == 0)
            snprintf(name_buf, 256, "%s", s);
        else if (strcmp(key, "status") == 0
                     ? mr_status_parse(s, &f->enabled) != 0
                     : mr_tristate_parse(s, strcmp(key, "secure") == 0 ? &f->secure
                                            : strcmp(key, "automatic_check") == 0
                                                ? &f->automatic_check
                                            : strcmp(key, "keep_copy") == 0 ? &f->keep_copy
                                                                            : &f->errors) != 0)
            mr_problems_add(p, "filters", "'%s' cannot be '%.20s'", key, s);
    }
    f->name = name_buf[0] ? name_buf : NULL;
    json_decref(j);
    return p->count > before ? MR_EINVAL : 0;
}

static void html_text(struct mr_buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '<')
            mr_buf_puts(b, "&lt;");
        else if (*s == '>')
            mr_buf_puts(b, "&gt;");
        else if (*s == '&')
            mr_buf_puts(b, "&amp;");
        else if (*s == '"')
            mr_buf_puts(b, "&quot;");
        else
            mr_buf_putc(b, *s);
    }
}

/* The filters in words: "Protocol: IMAP, Automatic check: yes" in the
 * report's language, never the API's keys. */
static void filters_in_words(struct mr_buf *b, const char *filters, enum mr_lang lang)
{
    const struct mr_report_words *w = mr_report_words(lang);
    json_t *j = json_loads(filters && *filters ? filters : "{}", 0, NULL);
    int any = 0;
    for (int i = 0; filter_keys[i] && json_is_object(j); i++) {
        const char *v = json_string_value(json_object_get(j, filter_keys[i]));
        int yes = 0;
        if (!v || !*v)
            continue;
        const char *label = strcmp(filter_keys[i], "name") == 0     ? w->filter_name
                            : strcmp(filter_keys[i], "secure") == 0 ? w->filter_secure
                            : strcmp(filter_keys[i], "automatic_check") == 0
                                ? w->filter_automatic_check
                            : strcmp(filter_keys[i], "keep_copy") == 0 ? w->filter_keep_copy
                            : strcmp(filter_keys[i], "status") == 0    ? w->filter_status
                                                                       : w->filter_errors;
        const char *value = v;
        if (strcmp(filter_keys[i], "status") == 0)
            value = strcmp(v, "enabled") == 0 ? w->enabled : w->disabled;
        else if (strcmp(filter_keys[i], "name") != 0 && mr_parse_yes_no(v, &yes) == 0)
            value = yes ? w->yes : w->no;
        if (any++)
            mr_buf_puts(b, ", ");
        html_text(b, label);
        mr_buf_puts(b, ": ");
        html_text(b, value);
    }
    if (!any)
        html_text(b, w->no_filters);
    json_decref(j);
}

static void render_html(struct mr_buf *b, const struct mr_account *items, size_t n,
                        const char *filters, enum mr_lang lang)
{
    const struct mr_report_words *w = mr_report_words(lang);
    char when[32];
    mr_format_time((int64_t)time(NULL), when);
    mr_buf_printf(b, "<!doctype html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\"><title>",
                  mr_lang_name(lang));
    html_text(b, w->title);
    mr_buf_puts(b, "</title></head><body>\n<h1>");
    html_text(b, w->title);
    mr_buf_puts(b, "</h1>\n<p>");
    html_text(b, w->filters_applied);
    mr_buf_puts(b, ": ");
    filters_in_words(b, filters, lang);
    mr_buf_puts(b, "</p>\n<p>");
    html_text(b, w->generated_at);
    mr_buf_printf(b, ": %s</p>\n<table border=\"1\">\n<tr>", when);
    for (int c = 0; c < MR_REPORT_COLUMNS; c++) {
        mr_buf_puts(b, "<th>");
        html_text(b, w->columns[c]);
        mr_buf_puts(b, "</th>");
    }
    mr_buf_puts(b, "</tr>\n");
    for (size_t i = 0; i < n; i++) {
        const char *cells[MR_REPORT_COLUMNS];
        char id[24], port[8];
        mr_report_row(&items[i], lang, cells, id, port);
        mr_buf_puts(b, "<tr>");
        for (int c = 0; c < MR_REPORT_COLUMNS; c++) {
            mr_buf_puts(b, "<td>");
            html_text(b, cells[c]);
            mr_buf_puts(b, "</td>");
        }
        mr_buf_puts(b, "</tr>\n");
    }
    mr_buf_puts(b, "</table>\n</body></html>\n");
}

int mr_report_render(struct mr_store *s, const char *filters_json, const char *format,
                     enum mr_lang lang, struct mr_buf *out, mr_error *err)
{
    struct mr_account_filter f;
    struct mr_problems p = {0};
    struct mr_account *items;
    size_t n, total;
    char name[256];
    if (mr_report_filter_from_json(filters_json, &f, name, &p) != 0)
        return mr_problems_to_error(&p, err);
    int rc = mr_store_account_list(s, &f, 0, 0, &items, &n, &total, err);
    if (rc)
        return rc;
    if (strcmp(format, "html") == 0)
        render_html(out, items, n, filters_json, lang);
    else {
        rc = mr_report_csv_header(out, lang);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = mr_report_csv_row(out, &items[i], lang);
    }
    mr_account_list_free(&items, n);
    return rc ? mr_error_set(err, rc, "", "the report is too large") : 0;
}

/* --- writing and sending --------------------------------------------------- */

/* Only under the report base, into a directory no one else can write,
 * never through a symlink (util/safedir.h). */
static int write_file(const char *base, const char *dir, const char *name, const struct mr_buf *b,
                      mr_error *err)
{
    int fd;
    int rc = mr_safedir_open(base, dir, MR_REPORT_DIR_HINT, &fd, err);
    if (rc == 0) {
        rc = mr_safedir_write(fd, dir, name, b->data, b->len, err);
        close(fd);
    }
    return rc;
}

static struct curl_slist *recipients(const char *list)
{
    struct curl_slist *out = NULL;
    char *copy = mr_xstrdup(list);
    for (char *save = NULL, *a = strtok_r(copy, ", ", &save); a; a = strtok_r(NULL, ", ", &save)) {
        char *addr = mr_xasprintf("<%s>", a);
        out = curl_slist_append(out, addr);
        free(addr);
    }
    free(copy);
    return out;
}

/* Before a connection is made: a credential with plain `none` (a store
 * written by hand; the settings refuse it) would send its password in clear. */
static int check_relay(const struct mr_smtp_settings *m, enum mr_smtp_security sec, mr_error *err)
{
    if (!m->host || !m->from)
        return mr_error_set(err, MR_EINVAL, "smtp",
                            "no SMTP relay is set: set its host and "
                            "from-address in settings");
    if (sec == MR_SMTP_NONE && m->credential_id)
        return mr_error_set(err, MR_EINVAL, "smtp",
                            "the SMTP relay's security is none, which would send its "
                            "credential's password in clear: set smtp-security to starttls or "
                            "tls (or none-insecure to send it in clear anyway)");
    return 0;
}

/* libcurl's words, or ours where they would not say what to do. */
static int send_failed(const struct mr_smtp_settings *m, int port, CURLcode res, const char *errbuf,
                       mr_error *err)
{
    if (res == CURLE_USE_SSL_FAILED)
        return mr_error_set(err, MR_ETLS, "smtp",
                            "the SMTP relay %s:%d does not offer STARTTLS, which smtp-security "
                            "starttls requires: nothing was sent (no password either); set "
                            "smtp-security tls if it speaks TLS from the start, or none-insecure "
                            "to send in clear",
                            m->host, port);
    return mr_error_set(err, MR_ENET, "smtp", "sending through %s:%d failed: %s", m->host, port,
                        errbuf[0] ? errbuf : curl_easy_strerror(res));
}

static int send_mail(struct mr_registry *r, const struct mr_smtp_settings *m,
                     const struct mr_schedule *c, const char *filename, const struct mr_buf *body,
                     mr_error *err)
{
    struct mr_credential cred;
    struct mr_secret *secret = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    enum mr_smtp_security sec;
    mr_smtp_security_parse(m->security, &sec); /* an unknown word: the default, STARTTLS */
    int tls = sec == MR_SMTP_TLS, port = m->port ? m->port : mr_smtp_default_port(sec);
    int rc = check_relay(m, sec, err);
    if (rc)
        return rc;
    mr_credential_init(&cred);
    if (m->credential_id && (rc = mr_store_credential_get(r->store, m->credential_id, &cred, err)))
        return rc;
    struct mr_oauth_token_info info;
    if (m->credential_id) /* the password, or an oauth2 credential's access token */
        rc = cred.kind == MR_CREDENTIAL_OAUTH2
                 ? mr_oauth_access_token(r, m->credential_id, 0, NULL, &secret, &info, err)
                 : mr_registry_credential_secret(r, m->credential_id, &secret, err);
    if (rc) {
        mr_credential_clear(&cred);
        return rc;
    }
    CURL *curl = curl_easy_init();
    char *url = mr_xasprintf("%s://%s:%d", tls ? "smtps" : "smtp", m->host, port);
    char *from = mr_xasprintf("<%s>", m->from);
    char *words = mr_xasprintf("%s: %s", mr_report_words(c->language)->mail_subject, c->name);
    char *encoded = mr_mime_encode_header_text(words);
    char *subject = mr_xasprintf("Subject: %s", encoded);
    free(encoded);
    free(words);
    char *from_h = mr_xasprintf("From: mailroom <%s>", m->from);
    char *to_h = mr_xasprintf("To: %s", c->recipients);
    char date_h[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(date_h, sizeof(date_h), "Date: %a, %d %b %Y %H:%M:%S %z", &tm);
    struct curl_slist *rcpt = recipients(c->recipients);
    struct curl_slist *headers = curl_slist_append(NULL, subject);
    headers = curl_slist_append(headers, from_h);
    headers = curl_slist_append(headers, to_h);
    headers = curl_slist_append(headers, date_h);
    curl_mime *mime = curl_mime_init(curl);
    curl_mimepart *text = curl_mime_addpart(mime);
    char *said = mr_xasprintf("%s\r\n", mr_report_words(c->language)->mail_text);
    curl_mime_data(text, said, CURL_ZERO_TERMINATED);
    free(said);
    curl_mime_type(text, "text/plain; charset=utf-8");
    curl_mimepart *att = curl_mime_addpart(mime);
    curl_mime_data(att, body->data ? body->data : "", body->len);
    curl_mime_filename(att, filename);
    curl_mime_type(att, strcmp(c->format, "html") == 0 ? "text/html; charset=utf-8"
                                                       : "text/csv; charset=utf-8");
    curl_mime_encoder(att, "base64");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    /* STARTTLS or nothing: without it libcurl would AUTH in clear */
    if (sec == MR_SMTP_STARTTLS)
        curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (secret) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, cred.username);
        /* a bearer token: libcurl's OAUTHBEARER or XOAUTH2, as the relay offers */
        curl_easy_setopt(
            curl, cred.kind == MR_CREDENTIAL_OAUTH2 ? CURLOPT_XOAUTH2_BEARER : CURLOPT_PASSWORD,
            secret->data);
    }
    CURLcode res = curl_easy_perform(curl);
    if (res != CURLE_OK)
        rc = send_failed(m, port, res, errbuf, err);
    curl_mime_free(mime);
    curl_slist_free_all(rcpt);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(url);
    free(from);
    free(subject);
    free(from_h);
    free(to_h);
    mr_secret_free(&secret);
    mr_credential_clear(&cred);
    return rc;
}

static int deliver(struct mr_registry *r, const char *base, const struct mr_schedule *c,
                   mr_error *err)
{
    struct mr_smtp_settings m;
    struct mr_buf body;
    char filename[300], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M", &tm);
    snprintf(filename, sizeof(filename), "accounts-%lld-%s.%s", (long long)c->id, stamp, c->format);
    mr_buf_init(&body, 64u << 20);
    int rc = mr_report_render(r->store, c->filters, c->format, c->language, &body, err);
    /* The two deliveries are independent: a full disk must not keep the
     * e-mail from going out, nor a relay that is down the file. */
    mr_error dir_err = {0}, mail_err = {0};
    int dir_rc = 0, mail_rc = 0;
    if (rc == 0 && c->directory)
        dir_rc = write_file(base, c->directory, filename, &body, &dir_err);
    if (rc == 0 && c->recipients && (mail_rc = mr_store_smtp_get(r->store, &m, &mail_err)) == 0) {
        mail_rc = send_mail(r, &m, c, filename, &body, &mail_err);
        mr_smtp_settings_clear(&m);
    }
    if (rc == 0 && dir_rc && mail_rc)
        rc = mr_error_set(err, MR_EIO, "delivery", "%s; %s", dir_err.message, mail_err.message);
    else if (rc == 0 && (dir_rc || mail_rc))
        rc = mr_error_set(err, dir_rc ? dir_err.code : mail_err.code,
                          dir_rc ? dir_err.field : mail_err.field, "%s",
                          dir_rc ? dir_err.message : mail_err.message);
    mr_buf_free(&body);
    return rc;
}

int mr_report_run_schedule(struct mr_registry *r, const char *base, int64_t id, mr_error *err)
{
    struct mr_schedule c;
    mr_error ignored = {0};
    int rc = mr_store_schedule_get(r->store, id, &c, err);
    if (rc)
        return rc;
    int64_t now = (int64_t)time(NULL);
    rc = deliver(r, base, &c, err);
    c.failures = rc ? c.failures + 1 : 0;
    int64_t next = rc ? mr_schedule_retry(&c, now) : mr_schedule_next(&c, now);
    mr_store_schedule_result(r->store, id, rc ? "error" : "ok", rc ? err->message : NULL,
                             c.failures, next, rc ? &ignored : err);
    mr_schedule_clear(&c);
    return rc;
}
