/* The HTTP server: libmicrohttpd with a thread pool, one store connection
 * per thread from a small pool, request bodies capped, one log line per
 * request, security headers on every response. */
#include "http/http_private.h"
#include "util/log.h"
#include "util/said.h"

#include "util/clock.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* --- the registry pool ------------------------------------------------------ */

struct mr_registry *mr_http_pool_take(struct mr_http_server *s)
{
    struct mr_http_pool *p = &s->pool;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        for (int i = 0; i < p->size; i++) {
            if (!p->busy[i]) {
                p->busy[i] = 1;
                pthread_mutex_unlock(&p->lock);
                return &p->regs[i];
            }
        }
        pthread_cond_wait(&p->freed, &p->lock);
    }
}

void mr_http_pool_give(struct mr_http_server *s, struct mr_registry *reg)
{
    struct mr_http_pool *p = &s->pool;
    pthread_mutex_lock(&p->lock);
    p->busy[reg - p->regs] = 0;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

static int pool_open(struct mr_http_server *s, int size, mr_error *err)
{
    struct mr_http_pool *p = &s->pool;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    p->regs = mr_xcalloc((size_t)size, sizeof(*p->regs));
    p->busy = mr_xcalloc((size_t)size, sizeof(*p->busy));
    for (; p->size < size; p->size++) {
        int rc = mr_registry_open(&p->regs[p->size], s->data_dir, err);
        if (rc)
            return rc;
    }
    return 0;
}

static void pool_close(struct mr_http_server *s)
{
    for (int i = 0; i < s->pool.size; i++)
        mr_registry_close(&s->pool.regs[i]);
    mr_freep(&s->pool.regs);
    mr_freep(&s->pool.busy);
    pthread_mutex_destroy(&s->pool.lock);
    pthread_cond_destroy(&s->pool.freed);
}

/* --- replies ------------------------------------------------------------------ */

int mr_http_json(struct mr_http_req *r, unsigned status, json_t *body)
{
    if (r->json)
        json_decref(r->json);
    r->status = status;
    r->json = body;
    return 0;
}

static int error_reply(struct mr_http_req *r, unsigned status, const char *code, const char *field,
                       const char *message, json_t *said)
{
    json_t *e = json_pack("{s:s, s:s, s:s?}", "code", code, "message", message, "field",
                          field && *field ? field : NULL);
    if (said)
        json_object_set_new(e, "said", said);
    return mr_http_json(r, status, json_pack("{s:o}", "error", e));
}

int mr_http_error(struct mr_http_req *r, unsigned status, const char *code, const char *field,
                  const char *fmt, ...)
{
    mr_error said = {0};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(said.message, sizeof(said.message), fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    mr_said_capture(&said.said, fmt, ap);
    va_end(ap);
    json_t *parts = json_array();
    json_t *one = mr_said_json(&said.said);
    if (one)
        json_array_append_new(parts, one);
    else {
        json_decref(parts);
        parts = NULL;
    }
    return error_reply(r, status, code, field, said.message, parts);
}

static unsigned status_of(int rc, const char **code)
{
    switch (rc) {
    case MR_EINVAL:
        *code = "invalid";
        return MHD_HTTP_BAD_REQUEST;
    case MR_ENOTFOUND:
        *code = "not_found";
        return MHD_HTTP_NOT_FOUND;
    case MR_EEXIST:
    case MR_EINUSE:
        *code = rc == MR_EEXIST ? "exists" : "in_use";
        return MHD_HTTP_CONFLICT;
    case MR_EAUTH:
        *code = "unauthorized";
        return MHD_HTTP_UNAUTHORIZED;
    default:
        *code = "server_error";
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

int mr_http_fail(struct mr_http_req *r, int rc, const struct mr_problems *p, const mr_error *err)
{
    const char *code;
    if (rc == MR_EINVAL && p && p->count) {
        json_t *fields = json_array();
        int conflict = 0;
        for (size_t i = 0; i < p->count; i++) {
            json_t *f =
                json_pack("{s:s, s:s}", "field", p->items[i].field, "message", p->items[i].message);
            json_t *said = mr_said_json(&p->items[i].said);
            if (said)
                json_object_set_new(f, "said", json_pack("[o]", said));
            json_array_append_new(fields, f);
            conflict |= strstr(p->items[i].message, "already exists") != NULL;
        }
        json_t *first = json_object_get(json_array_get(fields, 0), "said");
        json_t *e =
            json_pack("{s:s, s:s, s:s, s:o}", "code", conflict ? "exists" : "invalid", "message",
                      p->items[0].message, "field", p->items[0].field, "fields", fields);
        if (first)
            json_object_set(e, "said", first);
        return mr_http_json(r, conflict ? MHD_HTTP_CONFLICT : MHD_HTTP_BAD_REQUEST,
                            json_pack("{s:o}", "error", e));
    }
    unsigned status = status_of(rc, &code);
    return error_reply(r, status, code, err->field, err->message, mr_error_said_json(err));
}

const char *mr_http_arg(struct mr_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *mr_http_cookie(struct mr_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

enum mr_lang mr_http_lang(struct mr_http_req *r)
{
    const char *said[] = {mr_http_arg(r, "lang"), mr_http_cookie(r, "mr_lang"),
                          mr_http_header(r, MHD_HTTP_HEADER_ACCEPT_LANGUAGE)};
    enum mr_lang l = MR_LANG_EN;
    for (size_t i = 0; i < 3; i++)
        if (said[i] && mr_lang_parse(said[i], &l) == 0)
            return l;
    return MR_LANG_EN;
}

static const char *query_get(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

struct mr_query mr_http_query(struct mr_http_req *r)
{
    return (struct mr_query){query_get, r->conn};
}

int mr_http_query_fail(struct mr_http_req *r, const struct mr_query_error *e)
{
    return mr_http_error(r, MHD_HTTP_BAD_REQUEST, "invalid", e->field, "%s", e->message);
}

const char *mr_http_header(struct mr_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

json_t *mr_http_body_object(struct mr_http_req *r)
{
    json_error_t jerr;
    json_t *j =
        json_loadb(r->body.data ? r->body.data : "", r->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        mr_http_error(r, MHD_HTTP_BAD_REQUEST, "bad_json", NULL,
                      "the body is not valid JSON: %s (line %d)", jerr.text, jerr.line);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        mr_http_error(r, MHD_HTTP_BAD_REQUEST, "bad_json", NULL, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

int mr_http_id(struct mr_http_req *r, size_t i, int64_t *id)
{
    long long v = 0;
    const char *s = i < r->nseg ? r->seg[i] : "";
    int digits = *s != '\0' && strlen(s) <= 18;
    for (const char *c = s; *c && digits; c++)
        digits = *c >= '0' && *c <= '9';
    v = digits ? atoll(s) : 0;
    if (v <= 0) {
        mr_http_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "not found");
        return -1;
    }
    *id = v;
    return 0;
}

/* --- one request ------------------------------------------------------------ */

static void add_security_headers(struct MHD_Response *resp, int api, int https)
{
    if (https) /* a year; only ever sent over HTTPS, as RFC 6797 asks */
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (api)
        MHD_add_response_header(resp, "Cache-Control", "no-store");
}

int mr_http_job_start(struct mr_http_server *s, void *(*fn)(void *), void *arg)
{
    pthread_t t;
    pthread_mutex_lock(&s->jobs_lock);
    int rc = pthread_create(&t, NULL, fn, arg);
    if (rc == 0) {
        s->jobs++;
        pthread_detach(t);
    }
    pthread_mutex_unlock(&s->jobs_lock);
    return rc ? -1 : 0;
}

void mr_http_job_done(struct mr_http_server *s)
{
    pthread_mutex_lock(&s->jobs_lock);
    s->jobs--;
    pthread_cond_broadcast(&s->jobs_done);
    pthread_mutex_unlock(&s->jobs_lock);
}

static struct MHD_Response *build_response(struct mr_http_req *r)
{
    struct MHD_Response *resp;
    if (r->response) { /* the handler's own (an event stream) */
        resp = r->response;
        r->response = NULL;
        MHD_add_response_header(resp, "Content-Type", r->content_type);
    } else if (r->pipe_fd >= 0) {
        resp = MHD_create_response_from_pipe(r->pipe_fd); /* owns the fd now */
        r->pipe_fd = -1;
        MHD_add_response_header(resp, "Content-Type", r->content_type);
    } else if (r->json) {
        char *text = json_dumps(r->json, JSON_COMPACT | JSON_PRESERVE_ORDER);
        size_t n = text ? strlen(text) : 0;
        resp = MHD_create_response_from_buffer(n, text ? text : (char *)"", MHD_RESPMEM_MUST_FREE);
        if (!text)
            free(text);
        MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    } else {
        resp = MHD_create_response_from_buffer(r->out.len, r->out.data ? r->out.data : (char *)"",
                                               MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(resp, "Content-Type",
                                r->content_type ? r->content_type : "text/plain; charset=utf-8");
    }
    if (r->disposition[0])
        MHD_add_response_header(resp, "Content-Disposition", r->disposition);
    if (r->cookie[0])
        MHD_add_response_header(resp, "Set-Cookie", r->cookie);
    if (r->location[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    if (r->retry_after > 0) {
        char seconds[16];
        snprintf(seconds, sizeof(seconds), "%d", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    add_security_headers(resp, strncmp(r->path, "/api/", 5) == 0, r->srv->cfg.tls_cert != NULL);
    return resp;
}

static void log_request(const struct mr_http_req *r)
{
    MR_LOG(MR_LOG_INFO, "http", MR_LS("client", r->client), MR_LS("method", r->method),
           MR_LS("path", r->path), MR_LI("status", r->status),
           MR_LI("ms", mr_now_ms() - r->started_ms),
           MR_LS("user", r->authed && r->user.name ? r->user.name : "-"));
}

static enum MHD_Result respond(struct mr_http_req *r)
{
    if (r->body_too_big)
        mr_http_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
                      "the request body is larger than %u bytes", MR_HTTP_BODY_MAX);
    else {
        r->reg = mr_http_pool_take(r->srv);
        mr_http_dispatch(r);
        mr_http_pool_give(r->srv, r->reg);
        r->reg = NULL;
    }
    if (!r->status)
        mr_http_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error", NULL, "no answer");
    struct MHD_Response *resp = build_response(r);
    enum MHD_Result ok = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    log_request(r);
    return ok;
}

static struct mr_http_req *new_request(struct mr_http_server *s, struct MHD_Connection *c,
                                       const char *url, const char *method)
{
    struct mr_http_req *r = mr_xcalloc(1, sizeof(*r));
    r->srv = s;
    r->conn = c;
    r->method = method;
    r->started_ms = mr_now_ms();
    r->pipe_fd = -1;
    snprintf(r->path, sizeof(r->path), "%s", url);
    mr_buf_init(&r->body, MR_HTTP_BODY_MAX);
    mr_buf_init(&r->out, (size_t)1 << 31);
    mr_http_client_address(r);
    const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (length && strtoull(length, NULL, 10) > MR_HTTP_BODY_MAX)
        r->body_too_big = 1;
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    (void)version;
    struct mr_http_req *r = *state;
    if (!r) {
        *state = new_request(cls, c, url, method);
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->body_too_big && mr_buf_append(&r->body, upload, *upload_size))
            r->body_too_big = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    return respond(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    (void)why;
    struct mr_http_req *r = *state;
    if (!r)
        return;
    if (r->json)
        json_decref(r->json);
    if (r->pipe_fd >= 0)
        close(r->pipe_fd);
    if (r->response)
        MHD_destroy_response(r->response);
    mr_user_clear(&r->user);
    mr_buf_free(&r->body);
    mr_buf_free(&r->out);
    free(r);
    *state = NULL;
}

/* libmicrohttpd's own messages: in the log once serving; while starting,
 * kept to explain a failed start in the one error the user sees. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct mr_http_server *s = cls;
    char text[512];
    vsnprintf(text, sizeof(text), fmt, ap);
    text[strcspn(text, "\n")] = '\0';
    if (s->serving)
        MR_LOG(MR_LOG_ERROR, "http", MR_LS("error", text));
    else
        snprintf(s->start_error, sizeof(s->start_error), "%.200s", text);
}

static int bind_address(const struct mr_http_config *c, struct sockaddr_storage *ss, mr_error *err)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, c->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)c->port);
    } else if (inet_pton(AF_INET6, c->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)c->port);
    } else
        return mr_error_set(err, MR_EINVAL, "listen", "'%s' is not an IP address to listen on",
                            c->host);
    return 0;
}

/* How many HTTP connections at once: as many as the open-file limit allows
 * (raised to its hard limit, at most 65536), less a reserve for the store,
 * the mail servers and the workers, at most 20000. Idle ones cost little
 * with epoll and are closed after 60 s of silence, so a client holding a
 * thousand connections open does not lock out the rest. */
static unsigned connection_limit(void)
{
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) != 0)
        return 1000;
    rlim_t want =
        nofile.rlim_max == RLIM_INFINITY || nofile.rlim_max > 65536 ? 65536 : nofile.rlim_max;
    if (nofile.rlim_cur < want) {
        nofile.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &nofile);
        getrlimit(RLIMIT_NOFILE, &nofile);
    }
    rlim_t usable = nofile.rlim_cur > 512 ? nofile.rlim_cur - 256 : nofile.rlim_cur / 2;
    return usable > 20000 ? 20000 : (unsigned)usable;
}

/* A PEM file, whole, NUL-terminated as libmicrohttpd takes it; at most
 * 1 MiB. A key readable by others is refused: it would not be secret. */
static int read_pem(const char *path, int key, char **out, mr_error *err)
{
    const char *field = key ? "tls-key" : "tls-cert";
    *out = NULL;
    FILE *f = fopen(path, "re");
    if (!f)
        return mr_error_set(err, MR_EIO, field, "cannot read %s: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20))
        rc = mr_error_set(err, MR_EINVAL, field, "%s is not a PEM file of at most 1 MiB", path);
    else if (key && (st.st_mode & 077))
        rc = mr_error_set(err, MR_EINVAL, field,
                          "%s may be read by others (mode %03o); chmod 600 it", path,
                          (unsigned)(st.st_mode & 0777));
    if (rc == 0) {
        char *text = mr_xcalloc(1, (size_t)st.st_size + 1);
        size_t n = fread(text, 1, (size_t)st.st_size, f);
        text[n] = '\0';
        if (!strstr(text, "-----BEGIN ")) {
            rc = mr_error_set(err, MR_EINVAL, field, "%s holds no PEM %s", path,
                              key ? "private key" : "certificate");
            sodium_memzero(text, n);
            free(text);
        } else
            *out = text;
    }
    fclose(f);
    return rc;
}

/* TLS 1.2 and 1.3 only, forward-secret AEAD suites only (GnuTLS's
 * priority string, as libmicrohttpd uses GnuTLS), the server's order. */
#define MR_HTTPS_PRIORITIES                                                                        \
    "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"         \
    "+CHACHA20-POLY1305:-RSA:-DHE-RSA:-SHA1:%SERVER_PRECEDENCE"

void mr_http_listener_close(struct mr_http_listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    if (l->tls_key_pem)
        sodium_memzero(l->tls_key_pem, strlen(l->tls_key_pem));
    mr_freep(&l->tls_key_pem);
    mr_freep(&l->tls_cert_pem);
}

int mr_http_listen(const struct mr_http_config *c, struct mr_http_listener *l, mr_error *err)
{
    struct sockaddr_storage ss;
    int on = 1;
    *l = (struct mr_http_listener){.fd = -1};
    int rc = bind_address(c, &ss, err);
    if (rc == 0 && !c->tls_cert != !c->tls_key)
        rc = mr_error_set(err, MR_EINVAL, c->tls_cert ? "tls-key" : "tls-cert",
                          "HTTPS needs both --tls-cert and --tls-key");
    else if (rc == 0 && c->tls_cert) {
        rc = read_pem(c->tls_cert, 0, &l->tls_cert_pem, err);
        if (rc == 0)
            rc = read_pem(c->tls_key, 1, &l->tls_key_pem, err);
    }
    if (rc == 0) {
        socklen_t len =
            ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
            (ss.ss_family == AF_INET6 &&
             setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) ||
            bind(l->fd, (struct sockaddr *)&ss, len) != 0) {
            int e = errno;
            rc = mr_error_set(err, MR_EIO, "listen", "cannot listen on %s port %d: %s%s", c->host,
                              c->port, strerror(e),
                              e == EADDRINUSE ? " (another program has it: stop it, or choose "
                                                "another port with --listen)"
                              : e == EACCES && c->port < 1024
                                  ? " (a port below 1024 needs root: start mailroom as root, "
                                    "and it gives root up once the port is open)"
                              : e == EADDRNOTAVAIL ? " (not an address of this machine)"
                                                   : "");
        }
    }
    if (rc)
        mr_http_listener_close(l);
    return rc;
}

int mr_http_start(struct mr_http_server **out, const struct mr_http_config *c,
                  struct mr_http_listener *l, mr_error *err)
{
    struct sockaddr_storage ss;
    *out = NULL;
    int rc = bind_address(c, &ss, err);
    if (rc == 0 && l->fd < 0)
        rc = mr_error_set(err, MR_EINVAL, "listen", "no listening socket (mr_http_listen first)");
    if (rc) {
        mr_http_listener_close(l);
        return rc;
    }
    struct mr_http_server *s = mr_xcalloc(1, sizeof(*s));
    s->cfg = *c;
    s->data_dir = mr_xstrdup(c->data_dir);
    s->cfg.data_dir = s->data_dir;
    s->tls_cert_pem = l->tls_cert_pem;
    s->tls_key_pem = l->tls_key_pem;
    l->tls_cert_pem = l->tls_key_pem = NULL;
    int listen_fd = l->fd;
    l->fd = -1;
    if (s->tls_cert_pem)
        s->cfg.secure_cookies = 1;
    if (!s->cfg.session_idle_secs)
        s->cfg.session_idle_secs = MR_SESSION_IDLE_SECS;
    if (!s->cfg.session_max_secs)
        s->cfg.session_max_secs = MR_SESSION_MAX_SECS;
    int threads = c->threads > 0 ? c->threads : 4;
    pthread_mutex_init(&s->jobs_lock, NULL);
    pthread_cond_init(&s->jobs_done, NULL);
    rc = mr_throttle_init(&s->throttle, c->login_guesses_per_minute)
             ? mr_error_set(err, MR_EIO, "", "libsodium cannot start")
             : mr_http_trusted_load(s, err);
    if (rc == 0)
        rc = mr_http_hosts_load(s, err);
    if (rc == 0)
        rc = pool_open(s, threads + 1, err);
    if (rc == 0)
        rc = mr_http_events_start(s, err);
    /* connections are taken from here on, not while the store opens: a
     * client that can connect finds the daemon ready */
    if (rc == 0 && listen(listen_fd, SOMAXCONN) != 0)
        rc = mr_error_set(err, MR_EIO, "listen", "cannot listen on %s port %d: %s", c->host,
                          c->port, strerror(errno));
    unsigned max_connections = connection_limit();
    /* suspend and resume: an event stream waits without a thread */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0) |
                     (s->tls_cert_pem ? MHD_USE_TLS : 0);
    /* the options after these are only read with MHD_USE_TLS */
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)MR_HTTPS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    if (rc == 0)
        s->mhd = MHD_start_daemon(
            flags, (uint16_t)c->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
            mhd_log, s, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_THREAD_POOL_SIZE,
            (unsigned)threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
            MHD_OPTION_CONNECTION_LIMIT, max_connections, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
            s, MHD_OPTION_ARRAY, s->tls_cert_pem ? tls : tls + 3, MHD_OPTION_END);
    else
        close(listen_fd);
    if (rc == 0 && !s->mhd)
        rc = mr_error_set(err, MR_EIO, "listen", "cannot serve on %s port %d%s%s", c->host, c->port,
                          s->start_error[0] ? ": " : "", s->start_error);
    /* listen_fd is libmicrohttpd's from here: closed at stop (after a
     * failed start, serve ends; a close here could close it twice) */
    s->serving = rc == 0;
    if (rc) {
        mr_http_stop(&s);
        return rc;
    }
    *out = s;
    return 0;
}

int mr_http_insecure(const struct mr_http_server *s)
{
    const char *h = s->cfg.host;
    int loopback = strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0;
    return !loopback && !s->cfg.secure_cookies;
}

void mr_http_set_scheduler(struct mr_http_server *s, struct mr_scheduler *sched)
{
    s->sched = sched;
}

void mr_http_stop(struct mr_http_server **sp)
{
    struct mr_http_server *s = *sp;
    if (!s)
        return;
    s->stopping = 1;
    mr_http_events_close(s); /* no connection may be suspended when libmicrohttpd stops */
    if (s->mhd)
        MHD_stop_daemon(s->mhd); /* waits for requests in flight */
    mr_http_events_free(s);
    pthread_mutex_lock(&s->jobs_lock);
    while (s->jobs > 0) /* background fetches end on their own, committed or rolled back */
        pthread_cond_wait(&s->jobs_done, &s->jobs_lock);
    pthread_mutex_unlock(&s->jobs_lock);
    pool_close(s);
    if (s->tls_key_pem)
        sodium_memzero(s->tls_key_pem, strlen(s->tls_key_pem));
    free(s->tls_key_pem);
    free(s->tls_cert_pem);
    mr_throttle_free(&s->throttle);
    free(s->trusted);
    free(s->data_dir);
    free(s);
    *sp = NULL;
}
