/* Plain TCP: resolve with a timeout, non-blocking connect, reads and writes
 * that wait with poll(). */
#include "net/conn.h"
#include "net/proxy.h"

#include "util/clock.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void mr_conn_step(struct mr_conn *c, const char *what)
{
    snprintf(c->waiting_for, sizeof(c->waiting_for), "%s", what);
    c->transfer = 0;
    c->since_ms = mr_now_ms();
    c->waited_ms = 0;
    c->bytes = 0;
}

void mr_conn_transfer(struct mr_conn *c, const char *what)
{
    mr_conn_step(c, what);
    c->transfer = 1;
}

/* Whether the step or transfer in progress is still within its limits at
 * now. A transfer's speed counts the time spent waiting for the server
 * only, not the time this side spent storing what came (a slow disk is not
 * a slow server); one that kept its speed over a whole span begins the
 * next. */
static int check_pace(struct mr_conn *c, int64_t now, mr_error *err)
{
    const struct mr_net_limits *l = &c->limits;
    int64_t took = c->transfer ? c->waited_ms : now - c->since_ms;
    if (!c->waiting_for[0])
        return 0;
    if (!c->transfer && l->step_timeout_ms && took >= l->step_timeout_ms)
        return mr_error_set(err, MR_ETIMEOUT, "",
                            "waiting for %s: the server %s:%d sent %llu bytes in %d s, and one "
                            "step may take %d s (the account's step timeout)",
                            c->waiting_for, c->host, c->port, (unsigned long long)c->bytes,
                            (int)(took / 1000), l->step_timeout_ms / 1000);
    if (c->transfer && l->min_speed && l->min_speed_time_ms && took >= l->min_speed_time_ms) {
        if (c->bytes * 1000 < (uint64_t)l->min_speed * (uint64_t)took)
            return mr_error_set(err, MR_ETIMEOUT, "",
                                "receiving %s: the server %s:%d sent %llu bytes in %d s, less "
                                "than the low-speed limit of %d bytes a second (the account's "
                                "low-speed limit and time)",
                                c->waiting_for, c->host, c->port, (unsigned long long)c->bytes,
                                (int)(took / 1000), l->min_speed);
        c->waited_ms = 0;
        c->bytes = 0;
    }
    return 0;
}

/* How long a wait may last from now: the idle timeout, cut short by the
 * run's deadline and the step's or the speed span's end. */
static int64_t wait_bound(const struct mr_conn *c, int64_t now, int *deadline_hit)
{
    const struct mr_net_limits *l = &c->limits;
    int64_t wait = l->idle_timeout_ms, end = 0;
    *deadline_hit = 0;
    if (c->waiting_for[0] && !c->transfer && l->step_timeout_ms)
        end = c->since_ms + l->step_timeout_ms;
    else if (c->waiting_for[0] && c->transfer && l->min_speed && l->min_speed_time_ms)
        end = now + l->min_speed_time_ms - c->waited_ms;
    if (end && end - now < wait)
        wait = end - now;
    if (l->deadline_ms && l->deadline_ms - now <= wait) {
        wait = l->deadline_ms - now;
        *deadline_hit = 1;
    }
    return wait > 0 ? wait : 0;
}

int mr_net_wait(struct mr_conn *c, short events, const char *what, mr_error *err)
{
    for (;;) {
        int64_t now = mr_now_ms();
        int rc = check_pace(c, now, err);
        if (rc)
            return rc;
        int deadline_hit;
        int64_t ms = wait_bound(c, now, &deadline_hit);
        struct pollfd p = {.fd = c->fd, .events = events};
        int n;
        do
            n = poll(&p, 1, (int)ms);
        while (n < 0 && errno == EINTR);
        c->waited_ms += mr_now_ms() - now;
        if (n > 0)
            return 0;
        if (n < 0)
            return mr_error_set(err, MR_ENET, "", "%s: %s", what, strerror(errno));
        if (deadline_hit)
            return mr_error_set(err, MR_ETIMEOUT, "", "%s: the run's overall deadline passed",
                                what);
        if (ms >= c->limits.idle_timeout_ms)
            return mr_error_set(err, MR_ETIMEOUT, "", "%s: no answer from %s:%d in %d s", what,
                                c->host, c->port, c->limits.idle_timeout_ms / 1000);
        /* the step's end or a speed span's: check_pace says which */
    }
}

static int tcp_read(struct mr_conn *c, void *buf, size_t cap, size_t *got, mr_error *err)
{
    for (;;) {
        ssize_t n = recv(c->fd, buf, cap, 0);
        if (n > 0) {
            *got = (size_t)n;
            return 0;
        }
        if (n == 0)
            return mr_error_set(err, MR_ENET, "", "the server closed the connection");
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return mr_error_set(err, MR_ENET, "", "reading from the server: %s", strerror(errno));
        int rc = mr_net_wait(c, POLLIN, "waiting for the server", err);
        if (rc)
            return rc;
    }
}

static int tcp_write(struct mr_conn *c, const void *buf, size_t n, mr_error *err)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return mr_error_set(err, MR_ENET, "", "writing to the server: %s", strerror(errno));
        int rc = mr_net_wait(c, POLLOUT, "sending to the server", err);
        if (rc)
            return rc;
    }
    return 0;
}

static void tcp_close(struct mr_conn *c)
{
    (void)c;
}

const struct mr_conn_ops mr_socket_ops = {tcp_read, tcp_write, tcp_close};

/* The connect timeout, cut short by the run's deadline. */
static int remaining_ms(const struct mr_net_limits *l, int step_ms, int *deadline_hit)
{
    int64_t wait = step_ms;
    *deadline_hit = 0;
    if (l->deadline_ms) {
        int64_t left = l->deadline_ms - mr_now_ms();
        if (left <= wait) {
            wait = left > 0 ? left : 0;
            *deadline_hit = 1;
        }
    }
    return (int)wait;
}

/* getaddrinfo_a lets the resolve step time out like every other step. */
static int resolve(const char *host, int port, const struct mr_net_limits *l, struct addrinfo **out,
                   mr_error *err)
{
    char service[8];
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct gaicb req = {.ar_name = host, .ar_service = service, .ar_request = &hints};
    struct gaicb *list[1] = {&req};
    snprintf(service, sizeof(service), "%d", port);
    /* An address literal needs no lookup, nor the thread getaddrinfo_a
     * starts for one. */
    hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
    if (getaddrinfo(host, service, &hints, out) == 0)
        return 0;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
    int deadline_hit;
    int ms = remaining_ms(l, l->connect_timeout_ms, &deadline_hit);
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    if (rc == 0) {
        while ((rc = gai_suspend((const struct gaicb *const *)list, 1, &ts)) == EAI_INTR)
            ;
        if (rc == EAI_AGAIN) {
            gai_cancel(&req);
            gai_suspend((const struct gaicb *const *)list, 1, NULL); /* let it finish */
            if (req.ar_result)
                freeaddrinfo(req.ar_result);
            return mr_error_set(err, MR_ETIMEOUT, "", "resolving %s: no answer in %d s", host,
                                ms / 1000);
        }
        rc = gai_error(&req);
    }
    if (rc != 0)
        return mr_error_set(err, MR_ENET, "", "resolving %s: %s", host, gai_strerror(rc));
    *out = req.ar_result;
    return 0;
}

static void address_text(const struct sockaddr *sa, char *out, size_t size)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    const void *a = sa->sa_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
    inet_ntop(sa->sa_family, a, ip, sizeof(ip));
    snprintf(out, size, sa->sa_family == AF_INET6 ? "[%s]" : "%s", ip);
}

static int try_connect(struct mr_conn *c, const struct addrinfo *ai, char *why, size_t whylen)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return -1;
    }
    c->fd = fd;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS) {
        snprintf(why, whylen, "%s", strerror(errno));
        goto fail;
    }
    struct mr_net_limits l = c->limits;
    c->limits.idle_timeout_ms = c->limits.connect_timeout_ms;
    mr_error e = {0};
    int rc = mr_net_wait(c, POLLOUT, "connecting", &e);
    c->limits = l;
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)
        return 0;
    snprintf(why, whylen, "%.200s", rc ? e.message : strerror(soerr));
fail:
    close(fd);
    c->fd = -1;
    return -1;
}

static int connect_any(struct mr_conn *c, const struct addrinfo *list, struct mr_net_info *info,
                       mr_error *err)
{
    char why[256] = "no address", peer[64];
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        address_text(ai->ai_addr, peer, sizeof(peer));
        if (try_connect(c, ai, why, sizeof(why)) == 0) {
            snprintf(info->peer, sizeof(info->peer), "%s", peer);
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            return 0;
        }
    }
    return mr_error_set(err,
                        strstr(why, "deadline") || strstr(why, "no answer") ? MR_ETIMEOUT : MR_ENET,
                        "", "connecting to %s port %d: %s", c->host, c->port, why);
}

int mr_net_resolve_first(const char *host, int port, int prefer, const struct mr_net_limits *limits,
                         unsigned char addr[16], size_t *len, char *text, size_t text_size,
                         mr_error *err)
{
    struct addrinfo *list = NULL;
    int rc = resolve(host, port, limits, &list, err);
    if (rc)
        return rc;
    /* The address of the family the proxy itself was reached over, when the
     * name has one: a proxy reached over IPv4 may have no IPv6 route (and
     * "localhost" lists ::1 first on Debian). */
    const struct sockaddr *sa = list->ai_addr;
    for (const struct addrinfo *ai = list; ai && prefer; ai = ai->ai_next)
        if (ai->ai_family == prefer) {
            sa = ai->ai_addr;
            break;
        }
    if (sa->sa_family == AF_INET6) {
        memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        *len = 16;
    } else {
        memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        *len = 4;
    }
    address_text(sa, text, text_size);
    freeaddrinfo(list);
    return 0;
}

int mr_net_connect(struct mr_conn **out, const char *host, int port,
                   const struct mr_net_limits *limits, struct mr_net_info *info, mr_error *err)
{
    struct mr_net_info scratch;
    struct addrinfo *list = NULL;
    info = info ? info : &scratch;
    memset(info, 0, sizeof(*info));
    *out = NULL;
    struct mr_conn *c = mr_xcalloc(1, sizeof(*c));
    c->ops = &mr_socket_ops;
    c->fd = -1;
    c->limits = *limits;
    c->port = port;
    snprintf(c->host, sizeof(c->host), "%s", host);
    int64_t t0 = mr_now_ms();
    int rc = resolve(host, port, limits, &list, err);
    info->resolve_ms = mr_now_ms() - t0;
    for (struct addrinfo *ai = list; ai && rc == 0; ai = ai->ai_next) {
        size_t used = strlen(info->addresses);
        char a[64];
        address_text(ai->ai_addr, a, sizeof(a));
        if (!strstr(info->addresses, a) && used + strlen(a) + 3 < sizeof(info->addresses))
            snprintf(info->addresses + used, sizeof(info->addresses) - used, "%s%s",
                     used ? ", " : "", a);
    }
    t0 = mr_now_ms();
    if (rc == 0)
        rc = connect_any(c, list, info, err);
    info->connect_ms = mr_now_ms() - t0;
    if (list)
        freeaddrinfo(list);
    if (rc)
        mr_conn_close(&c);
    *out = c;
    return rc;
}

/* A server that always has a byte ready never makes a read wait: the pace
 * is checked after each read too. */
int mr_conn_read(struct mr_conn *c, void *buf, size_t cap, size_t *got, mr_error *err)
{
    int rc = c->ops->read(c, buf, cap, got, err);
    if (rc == 0) {
        c->bytes += *got;
        rc = check_pace(c, mr_now_ms(), err);
    }
    return rc;
}

int mr_conn_write(struct mr_conn *c, const void *buf, size_t n, mr_error *err)
{
    return c->ops->write(c, buf, n, err);
}

int mr_conn_peek(struct mr_conn *c, int ms, unsigned char *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (c->ops != &mr_socket_ops || c->tls || c->proxy_tls)
        return -1;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int64_t end = mr_now_ms() + ms;
    int n;
    do
        n = poll(&p, 1, (int)(end - mr_now_ms() > 0 ? end - mr_now_ms() : 0));
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return n < 0 ? 1 : 0; /* a poll error: the next read says what it is */
    ssize_t r = recv(c->fd, buf, cap, MSG_PEEK | MSG_DONTWAIT);
    *got = r > 0 ? (size_t)r : 0;
    return 1;
}

int mr_conn_is_tls(const struct mr_conn *c)
{
    return c->tls != NULL;
}

int mr_conn_keepalive(struct mr_conn *c, int idle_s, int interval_s, int count)
{
    int on = 1;
    if (setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof(idle_s)) != 0 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof(interval_s)) != 0 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count)) != 0)
        return -1;
    return 0;
}

void mr_conn_close(struct mr_conn **cp)
{
    struct mr_conn *c = *cp;
    if (!c)
        return;
    c->ops->close(c);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    *cp = NULL;
}
