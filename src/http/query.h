/* The query string of an API request, read one name at a time
 * (libmicrohttpd has split and percent-decoded it), and what the handlers
 * make of it: paging, the account, inbox and audit filters. Kept apart from
 * the connection so the fuzz target (tests/fuzz/fuzz_query.c) and the tests
 * drive the very code the routes run. */
#ifndef MR_HTTP_QUERY_H
#define MR_HTTP_QUERY_H

#include "core/filter.h"
#include "store/store.h"

#include <stddef.h>

struct mr_query {
    const char *(*get)(void *ctx, const char *name); /* NULL when absent */
    void *ctx;
};

/* Which parameter was wrong and why, for a 400 answer. */
struct mr_query_error {
    const char *field;
    char message[200];
};

/* page (from 1) and per_page (1..1000, default 30). */
int mr_query_paging(const struct mr_query *q, size_t *page, size_t *per_page,
                    struct mr_query_error *e);
/* name, secure, automatic_check, keep_copy, status, errors. f->name points
 * into the query. */
int mr_query_account_filter(const struct mr_query *q, struct mr_account_filter *f,
                            struct mr_query_error *e);
/* account, from, subject, status, since, until, before; f's strings point
 * into the query. */
int mr_query_message_filter(const struct mr_query *q, struct mr_message_filter *f,
                            struct mr_query_error *e);
/* account (optional): an account ID or 0. */
int mr_query_account_id(const struct mr_query *q, int64_t *account, struct mr_query_error *e);
/* object, actor, object_id; *csv when format=csv. */
int mr_query_audit_filter(const struct mr_query *q, struct mr_audit_filter *f, int *csv,
                          struct mr_query_error *e);

/* state, account, target, message, since (mr_parse_when's forms). */
int mr_query_delivery_filter(const struct mr_query *q, struct mr_delivery_filter *f,
                             struct mr_query_error *e);

#endif
