/* Scheduled reports: the settings report, with its filters, as CSV or HTML,
 * e-mailed to recipients and/or written to a directory on a recurrence. */
#ifndef MR_CORE_SCHEDULE_H
#define MR_CORE_SCHEDULE_H

#include "core/lang.h"

#include "core/filter.h"
#include "util/error.h"

#include <stdint.h>
#include <time.h>

enum mr_recurrence { MR_REC_UNSET = 0, MR_REC_DAILY, MR_REC_WEEKLY, MR_REC_MONTHLY, MR_REC_HOURS };

struct mr_schedule {
    int64_t id;
    char *name;
    char *filters;         /* JSON object of the report's filters */
    char *format;          /* csv, html */
    enum mr_lang language; /* what the report is written in: its scheduler's */
    enum mr_recurrence recurrence;
    int hour, minute; /* daily, weekly, monthly (daemon's time zone) */
    int day;          /* weekly: 0 Sunday .. 6; monthly: 1..31 (or the month's last) */
    int every_hours;  /* hours: 1..720 */
    char *recipients; /* comma-separated addresses */
    char *directory;  /* absolute path under the report base, or NULL */
    int enabled;
    int64_t next_run_at, last_run_at;
    char *last_result, *last_error;
    int failures;
    int64_t created_at, updated_at;
};

void mr_schedule_init(struct mr_schedule *s);
void mr_schedule_clear(struct mr_schedule *s);
const char *mr_recurrence_name(enum mr_recurrence r);
int mr_recurrence_parse(const char *text, enum mr_recurrence *out);
/* Sets one field from text: name, filters, format, language, recurrence,
 * at (HH:MM), day, every_hours, recipients, directory, enabled. */
int mr_schedule_set(struct mr_schedule *s, const char *key, const char *text,
                    struct mr_problems *p);
int mr_schedule_validate(const struct mr_schedule *s, struct mr_problems *p);
/* The first run strictly after `after`, in local time. */
int64_t mr_schedule_next(const struct mr_schedule *s, int64_t after);
/* After a failed delivery: when to try again (5 min doubling, up to 1 h,
 * never later than the next regular run). */
int64_t mr_schedule_retry(const struct mr_schedule *s, int64_t now);
/* Where reports may be written: a schedule's directory must be the report
 * base or under it. The base is the --report-dir of `mailroom serve` and of
 * `mailroom report schedule`, the same default for both: DATA/reports. An
 * option, not a setting in the store, so that no one who can only reach the
 * API can move it (to /etc, say). */
#define MR_REPORT_DIR_DEFAULT "reports"
/* Ends the message of a directory outside the base. */
#define MR_REPORT_DIR_HINT                                                                         \
    ", the report base (--report-dir): choose a directory under it, or give mailroom serve "       \
    "and mailroom report schedule a --report-dir that holds it"
/* The base: report_dir when given, else DATA/reports. The caller frees. */
char *mr_report_base(const char *report_dir, const char *data_dir);

/* How reports reach the SMTP relay. A password never crosses the network
 * in clear unless the admin asked for that by name: STARTTLS is required
 * by default (libcurl's CURLUSESSL_ALL: no STARTTLS, no AUTH, nothing
 * sent), and `none` (plain) takes no credential; `none-insecure` is plain
 * with the credential's AUTH in clear. */
enum mr_smtp_security {
    MR_SMTP_STARTTLS = 0, /* the default: STARTTLS required, port 587 */
    MR_SMTP_TLS,          /* implicit TLS, port 465 */
    MR_SMTP_NONE,         /* plain, port 25, no credential */
    MR_SMTP_NONE_INSECURE /* plain, port 25, the password in clear */
};
#define MR_SMTP_SECURITY_VALUES "starttls, tls, none or none-insecure"
/* The stored text's meaning: NULL or "" is the default. MR_EINVAL for a
 * text that is none of MR_SMTP_SECURITY_VALUES (*out is then the default). */
int mr_smtp_security_parse(const char *text, enum mr_smtp_security *out);
const char *mr_smtp_security_name(enum mr_smtp_security s);
/* The port used when none is set: 587, 465 or 25. */
int mr_smtp_default_port(enum mr_smtp_security s);

/* local@domain, no spaces or commas. */
int mr_email_valid(const char *address);

#endif
