/* Running a scheduled report: render the settings report with the
 * schedule's filters (CSV, or HTML as in Print report), write it to the
 * schedule's directory (only under the report base, util/safedir.h), and e-mail it through the SMTP
 * relay (libcurl). The result and the next run are recorded; a failure is retried later (5 min,
 * doubling, up to an hour), never dropped. */
#ifndef MR_REPORT_DELIVER_H
#define MR_REPORT_DELIVER_H

#include "core/lang.h"
#include "registry/registry.h"

/* The filters of a schedule (JSON: name, secure, automatic_check,
 * keep_copy, status, errors). MR_EINVAL with a problem for a bad one;
 * name_buf holds the name filter. */
int mr_report_filter_from_json(const char *json, struct mr_account_filter *f, char name_buf[256],
                               struct mr_problems *p);
/* The settings report as CSV or HTML, in lang (columns, yes/no, the
 * filters in words). */
int mr_report_render(struct mr_store *s, const char *filters_json, const char *format,
                     enum mr_lang lang, struct mr_buf *out, mr_error *err);
/* Runs schedule id now and records the outcome. base: the report base
 * (mr_report_base) the schedule's directory must still be under. */
int mr_report_run_schedule(struct mr_registry *r, const char *base, int64_t id, mr_error *err);

#endif
