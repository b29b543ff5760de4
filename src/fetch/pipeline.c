#include "fetch/pipeline.h"

#include "util/mem.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define SPARE_ITEMS 16 /* emptied items kept for reuse, buffers and all */

#define PREPARERS 2 /* the MIME summary is the heaviest step: two threads share it */

struct queue {
    struct mr_pipeline_item *head, *tail;
};

enum { WAITING, PREPARING, PREPARED };

struct mr_pipeline {
    pthread_mutex_t lock;
    pthread_cond_t to_prepare; /* an item waits for a preparer (or: stopping) */
    pthread_cond_t to_store;   /* the head is prepared (or: stopping) */
    pthread_cond_t retired;    /* an item was stored: room, or drained */
    /* Every item pushed and not yet stored, in order. Preparers claim items
     * from next_prep on (so the claimed ones are always a prefix); the
     * storer takes the head once it is prepared. */
    struct queue line;
    struct mr_pipeline_item *next_prep;
    struct mr_pipeline_item *spare;
    size_t nspare;
    /* Memory: held counts the buffers of every item out of the caller's
     * hands (pushed or spare) plus those handed out, as last seen. Spares
     * are reused (their pages are already mapped), but only while held
     * stays within max_bytes. */
    size_t held, max_bytes;
    size_t pending; /* items pushed and not yet stored */
    int stopping;
    int failed;
    mr_error err;
    mr_pipeline_stage prepare, store;
    mr_pipeline_idle idle;
    void *ctx;
    pthread_t threads[PREPARERS + 1];
    int nthreads;
};

static void put(struct queue *q, struct mr_pipeline_item *it)
{
    it->next = NULL;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
}

static struct mr_pipeline_item *take(struct queue *q)
{
    struct mr_pipeline_item *it = q->head;
    if (it) {
        q->head = it->next;
        if (!q->head)
            q->tail = NULL;
    }
    return it;
}

static void empty_item(struct mr_pipeline_item *it)
{
    mr_attachments_free(&it->att, it->natt);
    it->natt = 0;
    mr_message_clear(&it->m);
    memset(&it->m, 0, sizeof(it->m));
    mr_buf_reset(&it->raw);
    it->commit = 0;
}

static void free_item(struct mr_pipeline_item *it)
{
    empty_item(it);
    mr_buf_free(&it->raw);
    free(it);
}

static void record_failure(struct mr_pipeline *p, int rc, const mr_error *e)
{
    if (rc && !p->failed) {
        p->failed = rc;
        p->err = *e;
    }
}

static void *prepare_main(void *arg)
{
    struct mr_pipeline *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->next_prep && !p->stopping)
            pthread_cond_wait(&p->to_prepare, &p->lock);
        struct mr_pipeline_item *it = p->next_prep;
        if (!it)
            break;
        p->next_prep = it->next;
        it->state = PREPARING;
        int skip = p->failed;
        pthread_mutex_unlock(&p->lock);
        mr_error e = {0};
        int rc = skip ? 0 : p->prepare(p->ctx, it, &e);
        pthread_mutex_lock(&p->lock);
        record_failure(p, rc, &e);
        it->state = PREPARED;
        if (it == p->line.head)
            pthread_cond_signal(&p->to_store);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Stores items in the order they were pushed, each once it is prepared,
 * and retires it: kept as a spare while memory allows, else freed. */
static void *store_main(void *arg)
{
    struct mr_pipeline *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!(p->line.head && p->line.head->state == PREPARED) && !p->stopping) {
            int ms = -1;
            if (p->idle && !p->failed) {
                pthread_mutex_unlock(&p->lock);
                ms = p->idle(p->ctx);
                pthread_mutex_lock(&p->lock);
                if ((p->line.head && p->line.head->state == PREPARED) || p->stopping)
                    break;
            }
            if (ms < 0) {
                pthread_cond_wait(&p->to_store, &p->lock);
                continue;
            }
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += ms / 1000;
            until.tv_nsec += (long)(ms % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->to_store, &p->lock, &until);
        }
        if (!(p->line.head && p->line.head->state == PREPARED))
            break;
        struct mr_pipeline_item *it = take(&p->line);
        int skip = p->failed;
        pthread_mutex_unlock(&p->lock);
        mr_error e = {0};
        int rc = skip ? 0 : p->store(p->ctx, it, &e);
        pthread_mutex_lock(&p->lock);
        record_failure(p, rc, &e);
        p->pending--;
        if (p->nspare < SPARE_ITEMS && p->held <= p->max_bytes) {
            empty_item(it);
            it->next = p->spare;
            p->spare = it;
            p->nspare++;
        } else {
            p->held -= it->raw.cap;
            free_item(it);
        }
        pthread_cond_broadcast(&p->retired);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct mr_pipeline *mr_pipeline_start(size_t max_bytes, mr_pipeline_stage prepare,
                                      mr_pipeline_stage store, mr_pipeline_idle idle, void *ctx)
{
    struct mr_pipeline *p = mr_xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->to_prepare, NULL);
    pthread_cond_init(&p->to_store, NULL);
    pthread_cond_init(&p->retired, NULL);
    p->max_bytes = max_bytes;
    p->prepare = prepare;
    p->store = store;
    p->idle = idle;
    p->ctx = ctx;
    for (int i = 0; i < PREPARERS + 1; i++) {
        if (pthread_create(&p->threads[i], NULL, i < PREPARERS ? prepare_main : store_main, p) !=
            0) {
            mr_pipeline_stop(&p);
            return NULL;
        }
        p->nthreads++;
    }
    return p;
}

/* The spare whose buffer fits size best (the smallest big enough, else the
 * biggest), taken off the list. */
static struct mr_pipeline_item *best_spare(struct mr_pipeline *p, size_t size)
{
    struct mr_pipeline_item **best = NULL;
    for (struct mr_pipeline_item **it = &p->spare; *it; it = &(*it)->next) {
        size_t cap = (*it)->raw.cap;
        if (!best)
            best = it;
        else if (cap > size ? (*best)->raw.cap <= size || cap < (*best)->raw.cap
                            : (*best)->raw.cap <= size && cap > (*best)->raw.cap)
            best = it;
    }
    if (!best)
        return NULL;
    struct mr_pipeline_item *found = *best;
    *best = found->next;
    p->nspare--;
    return found;
}

struct mr_pipeline_item *mr_pipeline_item(struct mr_pipeline *p, size_t max, size_t size)
{
    pthread_mutex_lock(&p->lock);
    struct mr_pipeline_item *it = best_spare(p, size);
    pthread_mutex_unlock(&p->lock);
    if (!it) {
        it = mr_xcalloc(1, sizeof(*it));
        mr_buf_init(&it->raw, max);
    }
    it->raw.max = max;
    size_t before = it->raw.cap;
    if (size && size <= max)
        mr_buf_reserve_exact(&it->raw, size);
    pthread_mutex_lock(&p->lock);
    p->held += it->raw.cap - before;
    pthread_mutex_unlock(&p->lock);
    it->counted = it->raw.cap;
    return it;
}

static int first_error(struct mr_pipeline *p, mr_error *err)
{
    if (p->failed && err)
        *err = p->err;
    return p->failed;
}

int mr_pipeline_push(struct mr_pipeline *p, struct mr_pipeline_item *it, mr_error *err)
{
    pthread_mutex_lock(&p->lock);
    p->held += it->raw.cap - it->counted; /* it grew past what was reserved */
    it->counted = it->raw.cap;
    for (;;) {
        struct mr_pipeline_item *spare;
        while (p->held > p->max_bytes && (spare = best_spare(p, SIZE_MAX))) {
            p->held -= spare->raw.cap; /* give back the biggest spares first */
            free_item(spare);
        }
        if (!p->pending || p->held <= p->max_bytes || p->failed)
            break;
        pthread_cond_wait(&p->retired, &p->lock);
    }
    p->pending++;
    it->state = WAITING;
    put(&p->line, it);
    if (!p->next_prep)
        p->next_prep = it;
    pthread_cond_signal(&p->to_prepare);
    int rc = first_error(p, err);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int mr_pipeline_drain(struct mr_pipeline *p, mr_error *err)
{
    pthread_mutex_lock(&p->lock);
    while (p->pending)
        pthread_cond_wait(&p->retired, &p->lock);
    int rc = first_error(p, err);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void mr_pipeline_stop(struct mr_pipeline **pp)
{
    struct mr_pipeline *p = *pp;
    if (!p)
        return;
    if (p->nthreads == PREPARERS + 1)
        mr_pipeline_drain(p, NULL);
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->to_prepare);
    pthread_cond_broadcast(&p->to_store);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    struct mr_pipeline_item *it;
    while ((it = p->spare)) {
        p->spare = it->next;
        free_item(it);
    }
    while ((it = take(&p->line)))
        free_item(it);
    pthread_cond_destroy(&p->to_prepare);
    pthread_cond_destroy(&p->to_store);
    pthread_cond_destroy(&p->retired);
    pthread_mutex_destroy(&p->lock);
    free(p);
    *pp = NULL;
}
