#include "report/views.h"

#include "fetch/fetch.h"
#include "oauth/oauth.h"

#include "core/schedule.h"

#include "store/store.h"
#include "util/csv.h"
#include "util/said.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct mr_report_words words_en = {
    .columns = {"ID", "Name", "Status", "Secure connection", "Connection type", "Protocol", "Port",
                "Automatic check", "Keep a copy on the server"},
    .yes = "yes",
    .no = "no",
    .title = "IMAP/POP3 settings report",
    .filters_applied = "Filters applied",
    .no_filters = "none",
    .generated_at = "Generated at",
    .mail_subject = "mailroom report",
    .mail_text = "The IMAP/POP3 settings report is attached.",
    .filter_name = "Name",
    .filter_secure = "Secure connection",
    .filter_automatic_check = "Automatic check",
    .filter_keep_copy = "Keep copy",
    .filter_status = "Status",
    .filter_errors = "Last check failed",
    .enabled = "enabled",
    .disabled = "disabled",
};

/* The Portuguese document's own labels (seeds/002). */
static const struct mr_report_words words_pt = {
    .columns = {"Código", "Nome", "Situação", "Conexão segura", "Tipo conexão", "Protocolo",
                "Porta", "Verificação automática", "Manter cópia no servidor"},
    .yes = "sim",
    .no = "não",
    .title = "Relatório de configurações IMAP/POP3",
    .filters_applied = "Filtros aplicados",
    .no_filters = "nenhum",
    .generated_at = "Gerado em",
    .mail_subject = "relatório do mailroom",
    .mail_text = "O relatório de configurações IMAP/POP3 está em anexo.",
    .filter_name = "Nome",
    .filter_secure = "Conexão segura",
    .filter_automatic_check = "Verificação automática",
    .filter_keep_copy = "Manter cópia",
    .filter_status = "Situação",
    .filter_errors = "Última verificação falhou",
    .enabled = "ativo",
    .disabled = "inativo",
};

const struct mr_report_words *mr_report_words(enum mr_lang lang)
{
    return lang == MR_LANG_PT_BR ? &words_pt : &words_en;
}

void mr_report_row(const struct mr_account *a, enum mr_lang lang,
                   const char *cells[MR_REPORT_COLUMNS], char id[24], char port[8])
{
    const struct mr_report_words *w = mr_report_words(lang);
    snprintf(id, 24, "%lld", (long long)a->id);
    snprintf(port, 8, "%d", mr_account_port(a));
    cells[0] = id;
    cells[1] = a->name;
    cells[2] = a->enabled ? w->enabled : w->disabled; /* as the console's Status column */
    cells[3] = mr_account_is_secure(a) ? w->yes : w->no;
    cells[4] = mr_security_connection_type(a->security);
    cells[5] = mr_protocol_display(a->protocol);
    cells[6] = port;
    cells[7] = a->automatic_check ? w->yes : w->no;
    cells[8] = a->keep_copy ? w->yes : w->no;
}

int mr_report_csv_header(struct mr_buf *out, enum mr_lang lang)
{
    return mr_csv_row(out, mr_report_words(lang)->columns, MR_REPORT_COLUMNS);
}

int mr_report_csv_row(struct mr_buf *out, const struct mr_account *a, enum mr_lang lang)
{
    const char *cells[MR_REPORT_COLUMNS];
    char id[24], port[8];
    mr_report_row(a, lang, cells, id, port);
    return mr_csv_row(out, cells, MR_REPORT_COLUMNS);
}

void mr_format_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *time_json(int64_t t)
{
    char text[32];
    mr_format_time(t, text);
    return json_string(text);
}

json_t *mr_view_ref(int64_t id, const char *name)
{
    if (!id)
        return json_null();
    return json_pack("{s:I, s:s?}", "id", (json_int_t)id, "name", name);
}

/* Every field of the table, typed; then what the report derives. */
json_t *mr_view_account(const struct mr_account *a, const struct mr_account_names *names)
{
    json_t *o = json_object();
    char buf[32];
    json_object_set_new(o, "id", json_integer(a->id));
    for (size_t i = 0; i < mr_account_field_count; i++) {
        const struct mr_field *f = &mr_account_fields[i];
        json_t *v;
        if (f->kind == MR_FIELD_BOOL)
            v = json_boolean(mr_account_get_int(a, f));
        else if (f->kind == MR_FIELD_INT)
            v = json_integer(mr_account_get_int(a, f));
        else if (f->kind == MR_FIELD_REF)
            v = strcmp(f->key, "credential") == 0 ? mr_view_ref(a->credential_id, names->credential)
                                                  : mr_view_ref(a->connector_id, names->connector);
        else {
            const char *text = mr_account_get(a, f, buf, sizeof(buf));
            v = *text ? json_string(text) : json_null(); /* unset: null (POP3 folder, CA file) */
        }
        json_object_set_new(o, f->key, v);
    }
    json_object_set_new(o, "port_is_default", json_boolean(a->port == 0));
    json_object_set_new(o, "secure_connection", json_boolean(mr_account_is_secure(a)));
    json_object_set_new(o, "connection_type",
                        json_string(mr_security_connection_type(a->security)));
    if (a->use_connector && !a->connector_id)
        json_object_set_new(o, "default_connector",
                            names->default_connector ? json_string(names->default_connector)
                                                     : json_null());
    json_object_set_new(o, "created_at", time_json(a->created_at));
    json_object_set_new(o, "updated_at", time_json(a->updated_at));
    return o;
}

void mr_view_add_status(json_t *o, const struct mr_check_status *c, int64_t next_check)
{
    json_t *last = json_null();
    if (c->last_started)
        last = json_pack("{s:o, s:s, s:I, s:s?}", "at",
                         time_json(c->last_ended ? c->last_ended : c->last_started), "result",
                         c->last_result, "fetched", (json_int_t)c->last_fetched, "error",
                         c->last_error[0] ? c->last_error : NULL);
    json_object_set_new(o, "last_check", last);
    json_object_set_new(o, "failures", json_integer(c->failures));
    json_object_set_new(o, "next_check", next_check ? time_json(next_check) : json_null());
}

void mr_view_add_credential_token(json_t *account, const struct mr_credential *c)
{
    if (!c || c->kind != MR_CREDENTIAL_OAUTH2)
        return;
    json_object_set_new(account, "credential_token",
                        json_pack("{s:s, s:s}", "state",
                                  c->token_state ? c->token_state : "not_signed_in", "text",
                                  mr_oauth_state_text(c->token_state)));
}

json_t *mr_view_credential(const struct mr_credential *c)
{
    json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:b, s:o, s:o}", "id", (json_int_t)c->id, "name",
                          c->name, "kind", mr_credential_kind_name(c->kind), "username",
                          c->username, "secret_set", c->has_secret, "created_at",
                          time_json(c->created_at), "updated_at", time_json(c->updated_at));
    if (c->kind != MR_CREDENTIAL_OAUTH2)
        return j;
    const struct mr_oauth *o = &c->oauth;
    char *scopes = mr_oauth_scopes(o), *token_url = mr_oauth_token_url(o),
         *device_url = mr_oauth_device_url(o), *authorize_url = mr_oauth_authorize_url(o);
    /* settings in effect (the provider's unless typed in), and the token's
     * state; never a secret */
    json_object_set_new(j, "oauth",
                        json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s?, s:s?, s:s?}", "provider",
                                  mr_oauth_provider_name(o->provider), "flow",
                                  mr_oauth_flow_name(o->flow), "tenant", o->tenant, "client_id",
                                  o->client_id, "scopes", scopes, "token_url", token_url,
                                  "device_url", device_url, "authorize_url", authorize_url));
    const char *why;
    int64_t lapses = mr_oauth_lapses_at(c, &why);
    json_object_set_new(
        j, "token",
        json_pack(
            "{s:s, s:s?, s:s?, s:o, s:o, s:o, s:o, s:s?}", "state",
            c->token_state ? c->token_state : "not_signed_in", "text",
            mr_oauth_state_text(c->token_state), "error", c->token_error, "expires_at",
            c->token_expires_at ? time_json(c->token_expires_at) : json_null(), "refreshed_at",
            c->token_refreshed_at ? time_json(c->token_refreshed_at) : json_null(), "signed_in_at",
            c->token_signed_in_at ? time_json(c->token_signed_in_at) : json_null(), "lapses_at",
            lapses ? time_json(lapses) : json_null(), "lapses_why", lapses ? why : NULL));
    free(scopes);
    free(token_url);
    free(device_url);
    free(authorize_url);
    return j;
}

json_t *mr_view_connector(const struct mr_connector *c, const char *credential_name)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:i, s:o, s:s, s:b, s:b, s:s?, s:o, s:o}", "id",
                     (json_int_t)c->id, "name", c->name, "type", mr_connector_type_name(c->type),
                     "address", c->address, "port", c->port, "credential",
                     mr_view_ref(c->credential_id, credential_name), "resolve",
                     c->resolve_local ? "local" : "proxy", "tls", c->tls, "skip_certificate",
                     c->skip_certificate, "ca_file", c->ca_file, "created_at",
                     time_json(c->created_at), "updated_at", time_json(c->updated_at));
}

json_t *mr_view_connector_in_store(struct mr_store *s, const struct mr_connector *c,
                                   int64_t default_id, struct mr_buf *used_text)
{
    struct mr_credential cred;
    struct mr_connector_user *users = NULL;
    size_t n = 0;
    mr_credential_init(&cred);
    if (c->credential_id)
        mr_store_credential_get(s, c->credential_id, &cred, NULL);
    json_t *j = mr_view_connector(c, cred.name);
    mr_credential_clear(&cred);
    json_object_set_new(j, "default", json_boolean(c->id == default_id));
    json_t *arr = json_array();
    if (mr_store_connector_users(s, c->id, &users, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(arr, json_pack("{s:I, s:s, s:b}", "id", (json_int_t)users[i].id,
                                                 "name", users[i].name, "through_default",
                                                 users[i].through_default));
            if (used_text)
                mr_buf_printf(used_text, "%s%s%s", i ? ", " : "", users[i].name,
                              users[i].through_default ? " (default)" : "");
        }
        mr_connector_users_free(&users, n);
    }
    json_object_set_new(j, "used_by", arr);
    return j;
}

json_t *mr_view_schedule(const struct mr_schedule *c)
{
    char next[32], last[32], at[8];
    json_error_t jerr;
    mr_format_time(c->next_run_at, next);
    mr_format_time(c->last_run_at, last);
    snprintf(at, sizeof(at), "%02d:%02d", c->hour, c->minute);
    json_t *filters = json_loads(c->filters ? c->filters : "{}", 0, &jerr);
    json_t *j = json_pack("{s:I, s:s, s:o, s:s, s:s, s:s?, s:s?, s:s?, s:b, s:s, s:s?, s:s?, s:s?,"
                          " s:i}",
                          "id", (json_int_t)c->id, "name", c->name, "filters",
                          filters ? filters : json_object(), "format", c->format, "recurrence",
                          mr_recurrence_name(c->recurrence), "at",
                          c->recurrence == MR_REC_HOURS ? NULL : at, "recipients", c->recipients,
                          "directory", c->directory, "enabled", c->enabled, "next_run_at", next,
                          "last_run_at", c->last_run_at ? last : NULL, "last_result",
                          c->last_result, "last_error", c->last_error, "failures", c->failures);
    json_object_set_new(j, "day", c->day >= 0 ? json_integer(c->day) : json_null());
    json_object_set_new(j, "language", json_string(mr_lang_name(c->language)));
    json_object_set_new(j, "every_hours",
                        c->every_hours ? json_integer(c->every_hours) : json_null());
    return j;
}

json_t *mr_view_skipped(const struct mr_skipped *k)
{
    char seen[32];
    mr_format_time(k->seen_at, seen);
    return json_pack("{s:I, s:I, s:o, s:o, s:s?, s:I, s:s, s:s}", "id", (json_int_t)k->id,
                     "account", (json_int_t)k->account_id, "uidvalidity",
                     k->uid ? json_integer(k->uidvalidity) : json_null(), "uid",
                     k->uid ? json_integer(k->uid) : json_null(), "uidl", k->uidl, "size",
                     (json_int_t)k->size, "reason", k->reason ? k->reason : "", "seen_at", seen);
}

json_t *mr_view_audit(const struct mr_audit_entry *e)
{
    char at[32];
    json_error_t jerr;
    mr_format_time(e->at, at);
    json_t *changes = json_loads(e->changes ? e->changes : "{}", 0, &jerr);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:s?, s:o}", "id", (json_int_t)e->id, "at", at,
                     "actor", e->actor, "action", e->action, "object", e->object, "object_id",
                     (json_int_t)e->object_id, "object_name", e->object_name, "changes",
                     changes ? changes : json_object());
}

int mr_audit_csv_header(struct mr_buf *out)
{
    static const char *const header[] = {"ID",     "At",        "Actor", "Action",
                                         "Object", "Object ID", "Name",  "Changes"};
    return mr_csv_row(out, header, 8);
}

int mr_audit_csv_row(struct mr_buf *out, const struct mr_audit_entry *e)
{
    char id[24], at[32], oid[24];
    snprintf(id, sizeof(id), "%lld", (long long)e->id);
    mr_format_time(e->at, at);
    snprintf(oid, sizeof(oid), "%lld", (long long)e->object_id);
    const char *row[] = {id, at, e->actor, e->action, e->object, oid, e->object_name, e->changes};
    return mr_csv_row(out, row, 8);
}

/* --- Test connection ---------------------------------------------------- */

void mr_view_step_detail(const struct mr_step *s, char *out, size_t size)
{
    int first_line = strcmp(s->name, "greeting") == 0;
    mr_text_excerpt(s->detail, first_line ? MR_TEXT_FIRST_LINE_MAX : sizeof(s->detail), out, size);
}

json_t *mr_view_step(const struct mr_step *s)
{
    char detail[sizeof(s->detail)];
    mr_view_step_detail(s, detail, sizeof(detail));
    json_t *j = json_pack("{s:s, s:s, s:I, s:s}", "step", s->name, "result",
                          s->ok == 1   ? "ok"
                          : s->ok == 0 ? "failed"
                                       : "note",
                          "ms", (json_int_t)s->ms, "detail", detail);
    /* said only when shown as said: the greeting's excerpt, or escaped
     * control characters, are the daemon's own rewriting */
    json_t *said = strcmp(detail, s->detail) == 0 ? json_array() : NULL;
    for (unsigned i = 0; said && i <= s->nprefix; i++) {
        json_t *part = mr_said_json(i < s->nprefix ? &s->prefix[i] : &s->said);
        if (!part) { /* a part said in English only: all of it */
            json_decref(said);
            said = NULL;
        } else
            json_array_append_new(said, part);
    }
    if (said)
        json_object_set_new(j, "said", said);
    return j;
}

json_t *mr_view_test(const struct mr_test_result *res)
{
    json_t *steps = json_array(), *folders = json_array();
    for (size_t i = 0; i < res->steps.count; i++)
        json_array_append_new(steps, mr_view_step(&res->steps.items[i]));
    for (size_t i = 0; i < res->folders.count; i++) {
        const struct mr_folder *f = &res->folders.items[i];
        json_array_append_new(folders, json_pack("{s:s, s:s?}", "name", f->name, "special_use",
                                                 f->special[0] ? f->special : NULL));
    }
    return json_pack("{s:b, s:I, s:I, s:o, s:o, s:b}", "ok", res->ok, "messages",
                     (json_int_t)res->messages, "total_size", (json_int_t)res->total_size, "steps",
                     steps, "folders", folders, "folders_truncated", res->folders.truncated);
}

json_t *mr_view_attachments(const struct mr_attachment *att, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *parent = att[i].parent ? json_integer(att[i].parent) : json_null();
        json_array_append_new(arr, json_pack("{s:i, s:s?, s:s, s:I, s:o}", "position",
                                             att[i].position, "filename", att[i].filename,
                                             "content_type", att[i].content_type, "size",
                                             (json_int_t)att[i].size, "parent", parent));
    }
    return arr;
}
