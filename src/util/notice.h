/* A process-wide notice: a counter that threads wait on to change (the
 * outbox's kick after a commit that queued deliveries, the live updates'
 * notice after one that changed what the console shows). A waiter reads
 * the count, does its work, then waits for it to move past what it read,
 * so a notice raised while it worked is never missed. */
#ifndef MR_UTIL_NOTICE_H
#define MR_UTIL_NOTICE_H

#include <pthread.h>
#include <stdint.h>

struct mr_notice {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t count;
};
#define MR_NOTICE_INIT                                                                             \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0                                     \
    }

void mr_notice_raise(struct mr_notice *n);
uint64_t mr_notice_count(struct mr_notice *n);
/* Until the count is no longer seen, ms pass, or *stop is set. */
void mr_notice_wait(struct mr_notice *n, uint64_t seen, int64_t ms, const int *stop);

#endif
