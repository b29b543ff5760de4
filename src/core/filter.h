/* The IMAP/POP3 settings report's search fields, shared by the store's
 * query, the CLI and (later) the API. */
#ifndef MR_CORE_FILTER_H
#define MR_CORE_FILTER_H

#define MR_REPORT_PAGE_SIZE 30

enum mr_tristate { MR_ANY = -1, MR_NO = 0, MR_YES = 1 };

struct mr_account_filter {
    const char *name;        /* substring, case-insensitive; NULL = any */
    enum mr_tristate secure; /* security other than none */
    enum mr_tristate automatic_check;
    enum mr_tristate keep_copy;
    enum mr_tristate enabled; /* Status: enabled (YES), disabled (NO), all (ANY) */
    enum mr_tristate errors;  /* whose last check failed */
};

void mr_account_filter_init(struct mr_account_filter *f);
/* "yes"/"no" or "any" → tristate; 0 or MR_EINVAL. */
int mr_tristate_parse(const char *s, enum mr_tristate *out);
/* "enabled"/"disabled"/"all" → tristate. */
int mr_status_parse(const char *s, enum mr_tristate *out);

#endif
