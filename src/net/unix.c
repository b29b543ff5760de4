/* Unix-domain stream sockets as connections (unix.h): a non-blocking
 * connect, then tcp.c's reads and writes (mr_socket_ops), which wait with mr_net_wait. */
#include "net/unix.h"

#include "util/mem.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A unix socket's connect either completes at once or fails with EAGAIN
 * (the listener's backlog is full): that one is waited out like a TCP
 * connect in progress, by trying again. */
static int connect_wait(struct mr_conn *c, const struct sockaddr_un *sa, mr_error *err)
{
    struct mr_net_limits l = c->limits;
    c->limits.idle_timeout_ms = c->limits.connect_timeout_ms;
    int rc = 0;
    for (int tries = 0;; tries++) {
        if (connect(c->fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EISCONN)
            break;
        if (errno == EINPROGRESS || errno == EALREADY) {
            rc = mr_net_wait(c, POLLOUT, "connecting", err);
            int soerr = 0;
            socklen_t len = sizeof(soerr);
            if (rc == 0 && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr)
                rc = mr_error_set(err, MR_ENET, "", "connecting to %s: %s", c->host,
                                  strerror(soerr));
            break;
        }
        if (errno != EAGAIN || tries >= 100) {
            rc = mr_error_set(err, MR_ENET, "", "connecting to %s: %s", c->host, strerror(errno));
            break;
        }
        usleep(10000);
    }
    c->limits = l;
    return rc;
}

int mr_net_connect_unix(struct mr_conn **out, const char *path, const struct mr_net_limits *limits,
                        mr_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    *out = NULL;
    if (!path || strlen(path) >= sizeof(sa.sun_path))
        return mr_error_set(err, MR_EINVAL, "path",
                            "the socket path is missing or longer than %zu bytes",
                            sizeof(sa.sun_path) - 1);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    struct mr_conn *c = mr_xcalloc(1, sizeof(*c));
    c->ops = &mr_socket_ops;
    c->limits = *limits;
    snprintf(c->host, sizeof(c->host), "%s", path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = c->fd < 0 ? mr_error_set(err, MR_ENET, "", "cannot make a socket: %s", strerror(errno))
                       : connect_wait(c, &sa, err);
    if (rc)
        mr_conn_close(&c);
    *out = c;
    return rc;
}
