/* What people and programs see of the model: the IMAP/POP3 settings report
 * (table and CSV rows) and JSON views of each object. Secrets never appear:
 * a credential shows only whether its secret is set. */
#ifndef MR_REPORT_VIEWS_H
#define MR_REPORT_VIEWS_H

#include "core/account.h"
#include "core/connector.h"
#include "core/credential.h"
#include "core/lang.h"
#include "util/buf.h"

#include <jansson.h>
#include <stdint.h>

/* The report's columns, in order. */
#define MR_REPORT_COLUMNS 8

/* What a person reads in a report, in a language: the columns as the
 * documents name them (002 for Portuguese), yes and no, the filters. */
struct mr_report_words {
    const char *columns[MR_REPORT_COLUMNS];
    const char *yes, *no;
    const char *title, *filters_applied, *no_filters, *generated_at, *mail_subject, *mail_text;
    const char *filter_name, *filter_secure, *filter_automatic_check, *filter_keep_copy,
        *filter_status, *filter_errors;
    const char *enabled, *disabled;
};
const struct mr_report_words *mr_report_words(enum mr_lang lang);

/* Fills cells with one report row; port holds the port number's text. */
void mr_report_row(const struct mr_account *a, enum mr_lang lang,
                   const char *cells[MR_REPORT_COLUMNS], char id[24], char port[8]);
int mr_report_csv_header(struct mr_buf *out, enum mr_lang lang);
int mr_report_csv_row(struct mr_buf *out, const struct mr_account *a, enum mr_lang lang);

/* Names of referenced objects, looked up by the caller (NULL = none). */
struct mr_account_names {
    const char *credential;
    const char *connector;
    const char *default_connector; /* used when the account's connector is blank */
};

json_t *mr_view_account(const struct mr_account *a, const struct mr_account_names *names);
/* An account on an oauth2 credential: credential_token {state, text}, so a
 * list shows which accounts wait for a sign-in. */
void mr_view_add_credential_token(json_t *account, const struct mr_credential *c);
/* Adds last_check {at, result, fetched, error}, failures and next_check. */
struct mr_check_status;
void mr_view_add_status(json_t *account, const struct mr_check_status *c, int64_t next_check);
json_t *mr_view_credential(const struct mr_credential *c);

/* A message's attachments: [{position, filename, content_type, size,
 * parent}], parent the position of the forwarded message it is inside
 * (null at the top). */
struct mr_attachment;
json_t *mr_view_attachments(const struct mr_attachment *att, size_t n);

/* Test connection's result: {ok, messages, total_size, steps: [{step,
 * result, ms, detail}], folders: [{name, special_use}], folders_truncated}.
 * A step's detail holds the server's own words: shown with control
 * characters escaped, and of the greeting only its first line's start. */
struct mr_step;
struct mr_test_result;
void mr_view_step_detail(const struct mr_step *s, char *out, size_t size);
json_t *mr_view_step(const struct mr_step *s);
json_t *mr_view_test(const struct mr_test_result *res);
json_t *mr_view_connector(const struct mr_connector *c, const char *credential_name);
/* The connector as the list and show answers give it: with its
 * credential's name, whether it is the default (default_id) and used_by, the
 * accounts that go through it; names and "(default)" into used_text when
 * not NULL. */
struct mr_store;
json_t *mr_view_connector_in_store(struct mr_store *s, const struct mr_connector *c,
                                   int64_t default_id, struct mr_buf *used_text);
/* {"id": id, "name": name}, or null when id is 0. */
json_t *mr_view_ref(int64_t id, const char *name);
struct mr_audit_entry;
/* An audit entry: as JSON (API and `audit list --format json`) and as CSV. */
json_t *mr_view_audit(const struct mr_audit_entry *e);
int mr_audit_csv_header(struct mr_buf *out);
int mr_audit_csv_row(struct mr_buf *out, const struct mr_audit_entry *e);
struct mr_skipped;
/* A message left on the server (too big), for the processing report. */
json_t *mr_view_skipped(const struct mr_skipped *k);
struct mr_schedule;
/* A scheduled report, as the API and `report schedule --format json` show it. */
json_t *mr_view_schedule(const struct mr_schedule *c);
/* ISO 8601 UTC, e.g. 2026-11-22T01:50:00Z. */
void mr_format_time(int64_t t, char out[32]);

/* An account's push (IMAP IDLE) mode: push, connecting, poll, failing
 * (from the daemon's push_status row), or off with the reason when there
 * is none. reason_said points into p. */
struct mr_account;
struct mr_push_status;
struct mr_push_mode {
    char mode[12];
    char reason[512];
    const char *reason_said;
    const char *reason_code; /* off: pop3, push_off, not_automatic, no_daemon; else NULL */
    int64_t age_s; /* the push connection's age; -1: none */
};
void mr_view_push_mode(const struct mr_account *a, const struct mr_push_status *p,
                       struct mr_push_mode *out);
/* {"mode", "reason", "reason_said", "since", "connected_at", "age_s",
 * "latency_ms", "notices"}. p may be NULL (none recorded). */
json_t *mr_view_push(const struct mr_account *a, const struct mr_push_status *p);

#endif
