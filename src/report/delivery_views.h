/* Delivery targets and deliveries as JSON: the API's answers and the
 * command line's --format json. */
#ifndef MR_REPORT_DELIVERY_VIEWS_H
#define MR_REPORT_DELIVERY_VIEWS_H

#include "store/store.h"

#include <jansson.h>

/* The target with its account's and signing credential's names (looked up
 * in s) and its deliveries by state. Never the secret. */
json_t *mr_view_target(struct mr_store *s, const struct mr_target *t);
/* A delivery: state, attempts, times (ISO 8601), the last error and
 * response, the target, account and message it is about. */
json_t *mr_view_delivery(const struct mr_delivery *d);
/* ISO 8601 UTC with milliseconds dropped; null for 0. */
json_t *mr_view_time_ms(int64_t ms);

#endif
