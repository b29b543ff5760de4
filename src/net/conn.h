/* A connection to a mail server: a byte stream behind a small vtable, so that
 * plain TCP, TLS (implicit or after STARTTLS) and proxy tunnels (SOCKS5, HTTP
 * CONNECT, see proxy.c) look the same to the protocols. Only src/net touches sockets and OpenSSL.
 *
 * Every wait is bounded by the idle timeout (no byte for that long), by the
 * run's overall deadline, and by what the protocol says it waits for: a
 * step (the greeting, a command's answer, a TLS handshake, a proxy's
 * answer) has a deadline of its own, and a transfer (message bodies,
 * listings) must keep up a lowest speed. So a server that trickles one
 * byte a second ends the run within a minute, not at the 30-minute run
 * deadline, while a large message from a slow but steady server arrives. */
#ifndef MR_NET_CONN_H
#define MR_NET_CONN_H

#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

#define MR_CONNECT_TIMEOUT_MS 15000
#define MR_IDLE_TIMEOUT_MS    60000

struct mr_net_limits {
    int connect_timeout_ms;
    int idle_timeout_ms;
    int64_t deadline_ms;   /* absolute, on mr_now_ms()'s clock; 0 = none */
    int step_timeout_ms;   /* one step at most, whatever arrives; 0 = none
                            * (the defaults are the account's: core/account.h) */
    int min_speed;         /* a transfer: at least this many bytes a second... */
    int min_speed_time_ms; /* ...over each span this long; 0 = no check */
};

struct mr_conn;

struct mr_conn_ops {
    /* Reads what is there, at least one byte; 0 or MR_ENET (closed) or
     * MR_ETIMEOUT. */
    int (*read)(struct mr_conn *c, void *buf, size_t cap, size_t *got, mr_error *err);
    /* Writes everything. */
    int (*write)(struct mr_conn *c, const void *buf, size_t n, mr_error *err);
    /* Frees the layer's state (not the conn). */
    void (*close)(struct mr_conn *c);
};

/* A plain stream socket (TCP, or a unix socket: net/unix.h): recv and send,
 * waiting with mr_net_wait. */
extern const struct mr_conn_ops mr_socket_ops;

/* What the resolve and connect steps found, for Test connection. */
struct mr_net_info {
    char addresses[256]; /* every address the name resolved to */
    char peer[64];       /* the address connected to */
    int64_t resolve_ms, connect_ms;
};

/* What the TLS handshake found. */
struct mr_tls_info {
    char version[16];
    char cipher[64];
    char subject[256];
    char issuer[256];
    char not_after[32];
    int verified;          /* chain and host name checked and good */
    int skipped;           /* verification was turned off */
    char verify_text[160]; /* OpenSSL's word on the chain */
    int64_t handshake_ms;
    int resumed; /* an earlier session was resumed: no full handshake */
};

struct mr_tls_opts {
    const char *host; /* SNI, and the name the certificate must match */
    int verify;       /* 0 = skip certificate checks */
    const char *ca_file;
    int proxy;    /* the TLS is to a proxy (for messages) */
    int implicit; /* implicit TLS: the port should speak TLS from its first byte */
};

struct mr_conn {
    const struct mr_conn_ops *ops;
    int fd;
    struct mr_net_limits limits;
    void *tls;       /* SSL * to the mail server, when that TLS layer is on */
    void *proxy_tls; /* SSL * to an HTTP proxy reached over TLS; tls runs inside it */
    char host[256];
    int port;
    /* what the connection waits for (mr_conn_step, mr_conn_transfer) */
    char waiting_for[96]; /* "the greeting", "the answer to LIST"; "" = no step */
    int transfer;         /* 1: a transfer, paced by min_speed */
    int64_t since_ms;     /* when the step began */
    int64_t waited_ms;    /* a transfer: time spent waiting for the server in this span */
    uint64_t bytes;       /* received in the step, or in the span */
};

int mr_net_connect(struct mr_conn **out, const char *host, int port,
                   const struct mr_net_limits *limits, struct mr_net_info *info, mr_error *err);
int mr_conn_read(struct mr_conn *c, void *buf, size_t cap, size_t *got, mr_error *err);
int mr_conn_write(struct mr_conn *c, const void *buf, size_t n, mr_error *err);
void mr_conn_close(struct mr_conn **c);
int mr_conn_is_tls(const struct mr_conn *c);
/* Bytes the TLS layers have taken from the socket and not yet handed out:
 * a reader waiting on the socket alone would not see them. */
int mr_conn_pending(const struct mr_conn *c);
/* TCP keepalive: the first probe after idle_s seconds of silence, then
 * every interval_s, the connection dropped after count unanswered; -1 when
 * the socket refuses (a unix socket). */
int mr_conn_keepalive(struct mr_conn *c, int idle_s, int interval_s, int count);

/* What the next reads wait for, until the next call: a step (what: "the
 * greeting", "the answer to STAT"), done within limits.step_timeout_ms, or
 * a transfer, at limits.min_speed or faster. what is shown in errors. */
void mr_conn_step(struct mr_conn *c, const char *what);
void mr_conn_transfer(struct mr_conn *c, const char *what);

/* Waits at most ms for the server's first bytes on a plain connection and
 * copies up to cap of them into buf without consuming them (the next read
 * gets them). 1 when bytes (or the close: *got 0) arrived, 0 when none did
 * in ms, -1 when the connection is not a plain socket (TLS is on). */
int mr_conn_peek(struct mr_conn *c, int ms, unsigned char *buf, size_t cap, size_t *got);

/* Starts TLS on the connection (implicit TLS, or after STARTTLS's OK). */
int mr_tls_start(struct mr_conn *c, const struct mr_tls_opts *opts, struct mr_tls_info *info,
                 mr_error *err);

/* Starts TLS to an HTTP proxy, before CONNECT; a later mr_tls_start runs
 * inside this one. */
int mr_tls_start_proxy(struct mr_conn *c, const struct mr_tls_opts *o, struct mr_tls_info *info,
                       mr_error *err);

/* Waits until fd is readable (events POLLIN) or writable (POLLOUT), bounded
 * by the idle timeout and the deadline; for the layers. */
int mr_net_wait(struct mr_conn *c, short events, const char *what, mr_error *err);

#endif
