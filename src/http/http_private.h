/* What the HTTP files share: the server, one request, helpers for replies. */
#ifndef MR_HTTP_PRIVATE_H
#define MR_HTTP_PRIVATE_H

#include "core/lang.h"
#include "http/http.h"
#include "http/query.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/text.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

#define MR_HTTP_SEGMENTS   8
#define MR_HTTP_CLIENT_MAX 64  /* a client's address as text, with its NUL */
#define MR_HTTP_HOST_MAX   256 /* a host name as text, with its NUL */
#define MR_HTTP_HOSTS      8   /* names answered for: see hosts.c */

struct mr_http_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct mr_registry *regs;
    int *busy;
    int size;
};

/* Failed logins, throttled (throttle.c). */
struct mr_throttle_entry;
struct mr_throttle {
    pthread_mutex_t lock;
    unsigned char secret[16]; /* the table's hash key (crypto_shorthash_KEYBYTES) */
    struct mr_throttle_entry *entries;
    int64_t tat_ms; /* the global cap's theoretical arrival time */
    int per_minute;
};

/* An attempt let through: what its result updates. */
struct mr_throttle_ticket {
    uint64_t pair, client;
};

int mr_throttle_init(struct mr_throttle *t, int per_minute);
void mr_throttle_free(struct mr_throttle *t);
/* Whether client may try user's password now. If so, the attempt is
 * counted as a failure already and ticket says what to tell
 * mr_throttle_finish; if not, retry_after is the wait in seconds. */
int mr_throttle_reserve(struct mr_throttle *t, const char *client, const char *user,
                        struct mr_throttle_ticket *ticket, int *retry_after);
void mr_throttle_finish(struct mr_throttle *t, const struct mr_throttle_ticket *ticket, int ok);

/* An IP address, IPv4 inside IPv6 taken as IPv4. */
struct mr_http_addr {
    int family;
    unsigned char bytes[16];
};

/* A Host the daemon answers for (hosts.c). */
struct mr_http_host {
    char name[MR_HTTP_HOST_MAX]; /* lower case; an IP address in canonical text */
    int port;
    int port_optional; /* a Host without a port matches too (a proxy's) */
};

struct mr_http_server {
    volatile int serving;  /* after start: libmicrohttpd messages go to the log */
    char start_error[256]; /* before: its last message, for the start error */
    struct MHD_Daemon *mhd;
    struct mr_http_config cfg;
    char *data_dir;
    struct mr_http_pool pool;
    pthread_mutex_t jobs_lock; /* background fetches */
    pthread_cond_t jobs_done;
    int jobs;
    volatile int stopping;        /* tells background fetches to stop after their batch */
    struct mr_scheduler *sched;   /* for /metrics; NULL without one */
    struct mr_throttle throttle;  /* failed logins */
    struct mr_http_addr *trusted; /* reverse proxies whose X-Forwarded-For counts */
    size_t ntrusted;
    struct mr_http_host hosts[MR_HTTP_HOSTS];
    size_t nhosts;
    int any_ip;                       /* listening on every address: any IP address with the port */
    char *tls_cert_pem, *tls_key_pem; /* HTTPS: read at start (the key wiped at stop) */
    struct mr_events_hub *events;     /* the live updates' streams (api_events.c) */
};

struct mr_http_req {
    struct mr_http_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    char path[512];
    const char *seg[MR_HTTP_SEGMENTS]; /* below /api/v1 */
    size_t nseg;
    struct mr_buf body;
    int body_too_big;
    int64_t started_ms;
    struct mr_registry *reg; /* from the pool for the request's length */
    /* who is asking */
    int authed, via_session;
    int read_only;        /* a read-only API token: no writes, whatever the role */
    char auth_error[160]; /* why a bearer token was refused (expired), for the 401 */
    struct mr_user user;
    char csrf[72];
    char session[72];
    char client[MR_HTTP_CLIENT_MAX]; /* the TCP peer, or the address a trusted proxy names */
    /* the answer */
    unsigned status;
    json_t *json;      /* a JSON body, or: */
    struct mr_buf out; /* another body, with: */
    const char *content_type;
    int pipe_fd;                          /* a streamed body, read until EOF (-1: none) */
    char disposition[MR_DISPOSITION_MAX]; /* Content-Disposition, when set */
    char cookie[256];                     /* Set-Cookie, when set */
    char location[1024];                  /* Location (a redirect), when set */
    int retry_after;                      /* Retry-After in seconds, when non-zero */
    struct MHD_Response *response;        /* a body the handler built (a stream), when set */
};

/* Replies. All return 0 so handlers can `return reply_...(r, ...)`. */
int mr_http_json(struct mr_http_req *r, unsigned status, json_t *body);
int mr_http_error(struct mr_http_req *r, unsigned status, const char *code, const char *field,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Maps an mr_error (and validation problems) to a status and an error body. */
int mr_http_fail(struct mr_http_req *r, int rc, const struct mr_problems *p, const mr_error *err);
const char *mr_http_arg(struct mr_http_req *r, const char *name);
const char *mr_http_cookie(struct mr_http_req *r, const char *name);
/* The language the person reads: ?lang=, else the console's choice (the
 * mr_lang cookie it sets), else Accept-Language; English when none says. */
enum mr_lang mr_http_lang(struct mr_http_req *r);
/* The request's query string for the parsers in http/query.h, and the 400
 * answer for what they refused. */
struct mr_query mr_http_query(struct mr_http_req *r);
int mr_http_query_fail(struct mr_http_req *r, const struct mr_query_error *e);
const char *mr_http_header(struct mr_http_req *r, const char *name);
/* The request body as a JSON object; replies 400 and returns NULL if not. */
json_t *mr_http_body_object(struct mr_http_req *r);
/* seg[i] as an ID; replies 404 and returns -1 if it is not one. */
int mr_http_id(struct mr_http_req *r, size_t i, int64_t *id);

/* The client's address into r->client (forwarded.c), and the trusted
 * proxies from the configuration. */
void mr_http_client_address(struct mr_http_req *r);
int mr_http_trusted_load(struct mr_http_server *s, mr_error *err);

/* The Host names answered for (hosts.c): loaded from the configuration at
 * start; whether a request's Host header is one of them. */
int mr_http_hosts_load(struct mr_http_server *s, mr_error *err);
int mr_http_host_allowed(const struct mr_http_server *s, const char *host);

/* Routing and access (routes.c, auth.c). */
void mr_http_dispatch(struct mr_http_req *r);
int mr_http_authenticate(struct mr_http_req *r);

/* serve --deny-test-targets (targets.c): 1, with why filled, when host is
 * (or resolves here to) an address Test connection must not reach, or does
 * not resolve; resolve_here 0 judges only a numeric host (a name a proxy
 * resolves is the proxy's network). */
int mr_http_target_denied(const char *host, int resolve_here, char *why, size_t size);

/* Set-Cookie for the session (max_age 0 ends it in the browser). */
void mr_http_set_session_cookie(struct mr_http_req *r, const char *token, int max_age);

/* Background work (fetch now, streamed tests): counted so that stopping
 * the server waits for it. Returns 0, or -1 if no thread could start. */
int mr_http_job_start(struct mr_http_server *s, void *(*fn)(void *), void *arg);
void mr_http_job_done(struct mr_http_server *s);

/* The live updates (api_events.c): started with the server; closed (every
 * stream resumed and ended, no new one taken) before libmicrohttpd stops,
 * freed after. */
struct mr_events_hub;
int mr_http_events_start(struct mr_http_server *s, mr_error *err);
void mr_http_events_close(struct mr_http_server *s);
void mr_http_events_free(struct mr_http_server *s);

/* Registries for background work. */
struct mr_registry *mr_http_pool_take(struct mr_http_server *s);
void mr_http_pool_give(struct mr_http_server *s, struct mr_registry *reg);

#endif
