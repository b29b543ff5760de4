#include "util/notice.h"

#include <time.h>

void mr_notice_raise(struct mr_notice *n)
{
    pthread_mutex_lock(&n->lock);
    n->count++;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->lock);
}

uint64_t mr_notice_count(struct mr_notice *n)
{
    pthread_mutex_lock(&n->lock);
    uint64_t c = n->count;
    pthread_mutex_unlock(&n->lock);
    return c;
}

void mr_notice_wait(struct mr_notice *n, uint64_t seen, int64_t ms, const int *stop)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&n->lock);
    while (n->count == seen && !__atomic_load_n(stop, __ATOMIC_RELAXED))
        if (pthread_cond_timedwait(&n->cond, &n->lock, &ts) != 0)
            break;
    pthread_mutex_unlock(&n->lock);
}
