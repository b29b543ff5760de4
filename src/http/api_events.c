/* GET /api/v1/events: the console's live updates as Server-Sent Events.
 *
 * One watcher thread reads what changed from the store (store/events.c),
 * woken by the process's own commits and looking about once a second for
 * other processes', and hands each event to every open stream. A stream
 * costs no thread while it waits: its body is a libmicrohttpd content
 * reader that suspends the connection when it has nothing to send, and
 * the watcher resumes it when it has (MHD_ALLOW_SUSPEND_RESUME). The
 * watcher also sends each stream a comment every MR_EVENTS_PING_MS, ends
 * a stream whose client has gone (its socket hung up) or that has lived
 * MR_EVENTS_LIFETIME_MS (the client reconnects, authenticated again), and
 * before the server stops, resumes and ends them all: libmicrohttpd must
 * not be stopped with a connection suspended. */
#include "http/api.h"

#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MR_EVENTS_STREAMS     256    /* open streams at most; past it 503 */
#define MR_EVENTS_RING        512    /* events kept for clients that reconnect */
#define MR_EVENTS_PING_MS     15000  /* a comment this often: proxies and dead peers notice */
#define MR_EVENTS_LIFETIME_MS 300000 /* a stream ends after this; the client comes back */
#define MR_EVENTS_LOOK_MS     1000   /* the store is looked at at least this often */
#define MR_EVENTS_GAP_MS      100    /* and at most this often (bursts of commits coalesce) */
#define MR_EVENTS_PROBE_MS    1000   /* a sleeping stream's socket is checked for a hang-up */
#define MR_EVENTS_OUT_MAX     65536  /* a stream's unsent bytes; past it the stream ends */
#define MR_EVENTS_RETRY_MS    2000   /* the client's reconnection delay (SSE retry:) */
#define MR_EVENTS_BLOCK       4096   /* bytes asked of the reader at a time */
#define MR_EVENTS_TEXT_MAX    8192   /* one event as text */

struct mr_events_stream {
    struct mr_events_hub *hub;
    struct MHD_Connection *conn;
    pthread_mutex_t lock;                 /* the fields below */
    struct mr_buf out;                    /* written, not yet handed to libmicrohttpd */
    size_t sent;                          /* how much of out was */
    int suspended;                        /* by the reader, to be resumed by whoever has news */
    int closing;                          /* the reader ends the body when out is sent */
    int gone;                             /* the client hung up: end at once */
    int64_t ping_ms, ends_ms, probe_ms;   /* the next comment, end, hang-up check */
    struct mr_events_stream *next, *prev; /* in the hub, under its lock */
};

struct mr_events_event {
    int64_t id;
    char *text; /* as sent, id: to the blank line */
};

struct mr_events_hub {
    pthread_mutex_t lock; /* streams, ring, last_id; taken before a stream's */
    struct mr_events_stream *streams;
    int nstreams, max_streams;
    struct mr_events_event ring[MR_EVENTS_RING];
    size_t ring_start, ring_n;
    int64_t last_id; /* starts at the start time in ms: IDs grow across restarts too */
    int stop;        /* read by the store's wait */
    int closed;      /* no stream is taken any more */
    pthread_t thread;
    int started;
    struct mr_store *store;
};

/* --- a stream --------------------------------------------------------------- */

/* Under st->lock: wakes the reader if it sleeps. */
static void stream_wake(struct mr_events_stream *st)
{
    if (st->suspended) {
        st->suspended = 0;
        MHD_resume_connection(st->conn);
    }
}

/* Under st->lock. A client too slow to take MR_EVENTS_OUT_MAX bytes is
 * ended: when it reconnects it is sent what it missed, or told to reload. */
static void stream_write(struct mr_events_stream *st, const char *text, size_t len)
{
    if (!st->closing && mr_buf_append(&st->out, text, len) != 0)
        st->closing = st->gone = 1;
    stream_wake(st);
}

static void stream_end(struct mr_events_stream *st, int gone)
{
    pthread_mutex_lock(&st->lock);
    st->closing = 1;
    st->gone |= gone;
    stream_wake(st);
    pthread_mutex_unlock(&st->lock);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct mr_events_stream *st = cls;
    ssize_t n = 0;
    pthread_mutex_lock(&st->lock);
    if (st->gone) /* not an error to log: the client left, or comes back */
        n = MHD_CONTENT_READER_END_OF_STREAM;
    else if (st->sent < st->out.len) {
        size_t left = st->out.len - st->sent;
        n = (ssize_t)(left < max ? left : max);
        memcpy(buf, st->out.data + st->sent, (size_t)n);
        st->sent += (size_t)n;
        if (st->sent == st->out.len) {
            mr_buf_reset(&st->out);
            st->sent = 0;
        }
    } else if (st->closing)
        n = MHD_CONTENT_READER_END_OF_STREAM;
    else { /* nothing to send: sleep without a thread until there is */
        st->suspended = 1;
        MHD_suspend_connection(st->conn);
    }
    pthread_mutex_unlock(&st->lock);
    return n;
}

/* libmicrohttpd is done with the body: the connection ended. */
static void stream_free(void *cls)
{
    struct mr_events_stream *st = cls;
    struct mr_events_hub *h = st->hub;
    pthread_mutex_lock(&h->lock);
    if (st->prev)
        st->prev->next = st->next;
    else
        h->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    h->nstreams--;
    pthread_mutex_unlock(&h->lock);
    mr_buf_free(&st->out);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/* Whether a sleeping stream's client hung up (it never sends anything
 * after its request, so any hang-up or error is the end). Only asked of a
 * suspended connection: its socket is open until it is resumed. */
static int stream_hung_up(struct mr_events_stream *st)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(st->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return 0;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* --- the hub ---------------------------------------------------------------- */

/* Under h->lock: a new event, kept in the ring and sent to every stream. */
static void publish(struct mr_events_hub *h, const char *type, json_t *data)
{
    char *json = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (!json)
        return;
    char text[MR_EVENTS_TEXT_MAX];
    int len = snprintf(text, sizeof(text), "id: %lld\nevent: %s\ndata: %s\n\n",
                       (long long)(h->last_id + 1), type, json);
    free(json);
    if (len < 0 || (size_t)len >= sizeof(text))
        return;
    h->last_id++;
    struct mr_events_event *e;
    if (h->ring_n == MR_EVENTS_RING) {
        e = &h->ring[h->ring_start];
        h->ring_start = (h->ring_start + 1) % MR_EVENTS_RING;
        free(e->text);
    } else
        e = &h->ring[(h->ring_start + h->ring_n++) % MR_EVENTS_RING];
    e->id = h->last_id;
    e->text = mr_xstrdup(text);
    for (struct mr_events_stream *st = h->streams; st; st = st->next) {
        pthread_mutex_lock(&st->lock);
        stream_write(st, text, (size_t)len);
        pthread_mutex_unlock(&st->lock);
    }
}

static json_t *id_array(const int64_t *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(ids[i]));
    return a;
}

static void publish_changes(struct mr_events_hub *h, const struct mr_store_changes *ch)
{
    pthread_mutex_lock(&h->lock);
    if (ch->messages)
        publish(h, "message",
                json_pack("{s:I, s:I, s:o}", "id", (json_int_t)ch->message_last, "count",
                          (json_int_t)ch->messages, "accounts",
                          id_array(ch->message_accounts, ch->nmessage_accounts)));
    if (ch->naccounts || ch->more_accounts) {
        json_t *accounts = json_array();
        for (size_t i = 0; i < ch->naccounts; i++)
            json_array_append_new(accounts,
                                  json_pack("{s:I, s:s}", "id", (json_int_t)ch->accounts[i].id,
                                            "state", ch->accounts[i].state));
        publish(h, "account",
                json_pack("{s:o, s:b}", "accounts", accounts, "more", ch->more_accounts));
    }
    if (ch->nstatuses || ch->more_statuses)
        publish(h, "message_status",
                json_pack("{s:o, s:b}", "ids", id_array(ch->statuses, ch->nstatuses), "more",
                          ch->more_statuses));
    publish(h, "dashboard", json_object());
    pthread_mutex_unlock(&h->lock);
}

/* Comments to keep streams alive, ends for the old and the hung up. */
static void tend_streams(struct mr_events_hub *h)
{
    int64_t now = mr_now_ms();
    pthread_mutex_lock(&h->lock);
    for (struct mr_events_stream *st = h->streams; st; st = st->next) {
        pthread_mutex_lock(&st->lock);
        int probe = st->suspended && now >= st->probe_ms;
        if (probe)
            st->probe_ms = now + MR_EVENTS_PROBE_MS;
        if (probe && stream_hung_up(st))
            st->closing = st->gone = 1;
        else if (now >= st->ends_ms)
            st->closing = 1;
        else if (now >= st->ping_ms) {
            st->ping_ms = now + MR_EVENTS_PING_MS;
            stream_write(st, ": ping\n\n", 8);
        }
        if (st->closing)
            stream_wake(st);
        pthread_mutex_unlock(&st->lock);
    }
    pthread_mutex_unlock(&h->lock);
}

static void *watch(void *arg)
{
    struct mr_events_hub *h = arg;
    struct mr_store_cursor c = {0};
    mr_error err = {0};
    int ready = 0, failing = 0;
    int64_t last_look = 0;
    uint64_t seen = mr_store_events_notices();
    while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
        int64_t wait = last_look + MR_EVENTS_LOOK_MS - mr_now_ms();
        mr_store_events_wait(seen, wait > 0 ? wait : 0, &h->stop);
        int64_t gap = last_look + MR_EVENTS_GAP_MS - mr_now_ms();
        if (gap > 0) /* a burst of commits: one look for all of them */
            nanosleep(&(struct timespec){0, gap * 1000000}, NULL);
        /* taken before the look: a notice during it means look again */
        seen = mr_store_events_notices();
        last_look = mr_now_ms();
        struct mr_store_changes ch;
        int any = 0, rc;
        if (ready)
            rc = mr_store_events_since(h->store, &c, &ch, &any, &err);
        else
            ready = (rc = mr_store_events_cursor(h->store, &c, &err)) == 0;
        if (rc && !failing) /* said once, not every second */
            MR_LOG(MR_LOG_WARN, "events", MR_LS("error", err.message));
        failing = rc != 0;
        if (any)
            publish_changes(h, &ch);
        tend_streams(h);
    }
    mr_store_cursor_clear(&c);
    return NULL;
}

int mr_http_events_start(struct mr_http_server *s, mr_error *err)
{
    struct mr_events_hub *h = mr_xcalloc(1, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    h->last_id = mr_now_wall_ms();
    h->max_streams = MR_EVENTS_STREAMS;
    /* the tests reach the cap without opening hundreds of streams */
    const char *max = getenv("MAILROOM_TEST_EVENTS_MAX");
    if (max && atoi(max) > 0)
        h->max_streams = atoi(max);
    s->events = h;
    int rc = mr_store_open(&h->store, s->data_dir, err);
    if (rc == 0 && pthread_create(&h->thread, NULL, watch, h) != 0)
        rc = mr_error_set(err, MR_EIO, "", "cannot start the live updates' thread: %s",
                          strerror(errno));
    h->started = rc == 0;
    return rc;
}

void mr_http_events_close(struct mr_http_server *s)
{
    struct mr_events_hub *h = s->events;
    if (!h)
        return;
    __atomic_store_n(&h->stop, 1, __ATOMIC_RELAXED);
    mr_store_events_notify();
    if (h->started)
        pthread_join(h->thread, NULL);
    h->started = 0;
    pthread_mutex_lock(&h->lock);
    h->closed = 1;
    for (struct mr_events_stream *st = h->streams; st; st = st->next)
        stream_end(st, 0);
    pthread_mutex_unlock(&h->lock);
}

void mr_http_events_free(struct mr_http_server *s)
{
    struct mr_events_hub *h = s->events;
    if (!h)
        return;
    mr_http_events_close(s);
    for (size_t i = 0; i < h->ring_n; i++)
        free(h->ring[(h->ring_start + i) % MR_EVENTS_RING].text);
    mr_store_close(&h->store);
    pthread_mutex_destroy(&h->lock);
    free(h);
    s->events = NULL;
}

/* --- the route -------------------------------------------------------------- */

/* The event a reconnecting client asks to continue after: Last-Event-ID
 * (EventSource sends it), else ?since=; -1 when neither. */
static int64_t resume_from(struct mr_http_req *r)
{
    const char *v = mr_http_header(r, "Last-Event-ID");
    if (!v || !*v)
        v = mr_http_arg(r, "since");
    if (!v || !*v)
        return -1;
    char *end = NULL;
    errno = 0;
    long long id = strtoll(v, &end, 10);
    return errno || *end || id < 0 ? 0 : (int64_t)id;
}

/* Under h->lock: what a new stream is sent first. From a cursor the ring
 * still holds, what came after it; from one it no longer holds, from
 * another run of the daemon or from nowhere sensible: reset (reload). */
static void stream_greet(struct mr_events_hub *h, struct mr_events_stream *st, int64_t since)
{
    char text[128];
    snprintf(text, sizeof(text), "retry: %d\n\n", MR_EVENTS_RETRY_MS);
    mr_buf_puts(&st->out, text);
    int reset = 0;
    if (since >= 0 && since != h->last_id) {
        int64_t oldest = h->ring_n ? h->ring[h->ring_start].id : h->last_id + 1;
        reset = since > h->last_id || since < oldest - 1;
        for (size_t i = 0; i < h->ring_n && !reset; i++) {
            const struct mr_events_event *e = &h->ring[(h->ring_start + i) % MR_EVENTS_RING];
            if (e->id > since && mr_buf_puts(&st->out, e->text) != 0)
                reset = 1; /* more than a stream holds: start afresh instead */
        }
    }
    if (reset) {
        mr_buf_reset(&st->out);
        mr_buf_puts(&st->out, text);
        mr_buf_puts(&st->out, "event: reset\ndata: {}\n\n");
    }
    snprintf(text, sizeof(text), "id: %lld\nevent: ready\ndata: {\"id\":%lld}\n\n",
             (long long)h->last_id, (long long)h->last_id);
    mr_buf_puts(&st->out, text);
}

int mr_api_events(struct mr_http_req *r)
{
    struct mr_events_hub *h = r->srv->events;
    int64_t since = resume_from(r);
    pthread_mutex_lock(&h->lock);
    if (h->closed || h->nstreams >= h->max_streams) {
        int closed = h->closed, max = h->max_streams;
        pthread_mutex_unlock(&h->lock);
        r->retry_after = closed ? 5 : 30;
        if (closed)
            return mr_http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
                                 "the daemon is stopping");
        return mr_http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", NULL,
                             "%d live update streams are open, the most there may be; try again "
                             "later",
                             max);
    }
    struct mr_events_stream *st = mr_xcalloc(1, sizeof(*st));
    st->hub = h;
    st->conn = r->conn;
    pthread_mutex_init(&st->lock, NULL);
    mr_buf_init(&st->out, MR_EVENTS_OUT_MAX);
    st->ping_ms = mr_now_ms() + MR_EVENTS_PING_MS;
    st->ends_ms = mr_now_ms() + MR_EVENTS_LIFETIME_MS;
    stream_greet(h, st, since);
    st->next = h->streams;
    if (h->streams)
        h->streams->prev = st;
    h->streams = st;
    h->nstreams++;
    pthread_mutex_unlock(&h->lock);
    r->response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, MR_EVENTS_BLOCK, stream_read,
                                                    st, stream_free);
    if (!r->response) {
        stream_free(st);
        return mr_http_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error", NULL,
                             "cannot start the stream");
    }
    MHD_add_response_header(r->response, "X-Accel-Buffering", "no"); /* nginx: pass it on */
    r->status = MHD_HTTP_OK;
    r->content_type = "text/event-stream";
    return 0;
}
