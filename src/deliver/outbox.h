/* The outbox's workers: they take due deliveries (store/deliveries.c), load
 * the message and its target, hand it to the transport (deliver.h) and
 * record the result: delivered, failed for good (Failed deliveries), or
 * pending again after a backoff with jitter, until the target's retry time
 * is spent. At least once: a crash between the transport and the record
 * delivers the message again, with the same event ID. */
#ifndef MR_DELIVER_OUTBOX_H
#define MR_DELIVER_OUTBOX_H

#include "deliver/deliver.h"
#include "registry/registry.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

#define MR_OUTBOX_WORKERS_DEFAULT 4
/* The first retry waits this long, each next one twice as long, up to the cap. */
#define MR_OUTBOX_RETRY_FIRST_MS 10000
#define MR_OUTBOX_RETRY_CAP_MS   (2 * 3600 * 1000)

struct mr_outbox_config {
    const char *data_dir;
    int workers;            /* 0 = MR_OUTBOX_WORKERS_DEFAULT */
    const char *public_url; /* for webhook raw links: https://host:port; NULL = none */
    int divisor;            /* tests only: retry delays divided by it */
    int log;                /* a line per attempt in the daemon's log (not the CLI's stderr) */
};

struct mr_outbox;

int mr_outbox_start(struct mr_outbox **out, const struct mr_outbox_config *c, mr_error *err);
void mr_outbox_stop(struct mr_outbox **o);
/* Something was queued: the workers look now instead of at their next
 * poll. Safe from any thread, with or without a running outbox. */
void mr_outbox_kick(void);

/* Delivers what is due now in this process, until nothing is (the
 * command line's `delivery run`). Counts what happened. */
struct mr_outbox_counts {
    size_t delivered, retried, failed;
};
int mr_outbox_run(struct mr_registry *r, const struct mr_outbox_config *c,
                  struct mr_outbox_counts *counts, mr_error *err);

/* "Send a test delivery": a sample message (or, with message_id, that
 * stored message) to the target now, nothing recorded. */
int mr_outbox_test(struct mr_registry *r, int64_t target_id, int64_t message_id,
                   const char *public_url, struct mr_delivery_result *res, mr_error *err);

/* The delay before retry number `attempts` (1 = the first retry), with a
 * fifth of jitter either way, divided by divisor. */
int64_t mr_outbox_backoff_ms(int attempts, int divisor);

#endif
