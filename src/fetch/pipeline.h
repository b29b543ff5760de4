/* The fetch engine's pipeline (private to src/fetch): while the network
 * thread receives the next message, two threads prepare the last ones
 * (their MIME summaries) and another stores them in SQLite. Items are
 * stored in the order they were pushed, so a batch's commit marker follows
 * exactly the messages of its batch. The bytes in flight are
 * bounded (memory stays flat however big the mailbox); a message larger than
 * the bound waits until the pipeline is empty and then goes alone.
 *
 * After a stage fails, later items are dropped unprocessed, and push and
 * drain return that first error. */
#ifndef MR_FETCH_PIPELINE_H
#define MR_FETCH_PIPELINE_H

#include "core/message.h"
#include "proto/mailbox.h"
#include "util/buf.h"
#include "util/error.h"

struct mr_pipeline_item {
    int commit; /* a batch boundary rather than a message */
    struct mr_buf raw;
    struct mr_message_ref ref;
    struct mr_message m; /* filled by the prepare stage */
    struct mr_attachment *att;
    size_t natt;
    size_t counted; /* raw.cap as the pipeline's memory count has it */
    int state;      /* the pipeline's: waiting, being prepared, prepared */
    struct mr_pipeline_item *next;
};

typedef int (*mr_pipeline_stage)(void *ctx, struct mr_pipeline_item *item, mr_error *err);
/* Called on the store thread when it has nothing to store and is about to
 * wait: returns how many ms it may wait before calling again, or -1 for as
 * long as it takes. */
typedef int (*mr_pipeline_idle)(void *ctx);

struct mr_pipeline;

/* NULL when the threads cannot start (the caller then works inline). idle
 * may be NULL. */
struct mr_pipeline *mr_pipeline_start(size_t max_bytes, mr_pipeline_stage prepare,
                                      mr_pipeline_stage store, mr_pipeline_idle idle, void *ctx);
/* An empty item whose raw buffer is capped at max, with room for size bytes
 * (a spare one's, when it fits). */
struct mr_pipeline_item *mr_pipeline_item(struct mr_pipeline *p, size_t max, size_t size);
/* Hands the item over (the pipeline owns it from here), after waiting for
 * room. */
int mr_pipeline_push(struct mr_pipeline *p, struct mr_pipeline_item *item, mr_error *err);
/* Waits until every item pushed so far has been stored. */
int mr_pipeline_drain(struct mr_pipeline *p, mr_error *err);
/* Drains, stops the threads and frees everything. */
void mr_pipeline_stop(struct mr_pipeline **p);

#endif
