/* Reaching a mail server through a proxy: SOCKS5 or HTTP CONNECT. The
 * result is an ordinary connection to the mail server (see conn.h). */
#ifndef MR_NET_PROXY_H
#define MR_NET_PROXY_H

#include "net/conn.h"

/* How long each proxy step (connect, TLS, greeting, authentication, tunnel)
 * may wait for the proxy, at most. */
#define MR_PROXY_STEP_TIMEOUT_MS 15000

enum mr_proxy_type { MR_PROXY_SOCKS5 = 1, MR_PROXY_HTTP };

struct mr_proxy {
    enum mr_proxy_type type;
    const char *name; /* the connector's name, for messages */
    const char *host;
    int port;
    const char *username, *password; /* NULL username: no authentication */
    int resolve_local;               /* SOCKS5: resolve the target here */
    int tls, verify;                 /* HTTP: TLS to the proxy, and its checks */
    const char *ca_file;
    /* told about each step as it ends: "proxy connect", "proxy tls",
     * "proxy auth", "proxy tunnel" (ok 1 or 0, its duration, what it found) */
    /* detail: what's message, said as what was (util/error.h) */
    void (*on_step)(void *ctx, const char *name, int ok, int64_t ms, const mr_error *detail);
    void *step_ctx;
};

/* Connects to the proxy, authenticates, and opens a tunnel to host:port.
 * host NULL (Test connector): stops once the proxy has answered and taken
 * (or not) the credentials. Failures begin with what went wrong: "proxy
 * unreachable", "TLS to the proxy", "proxy authentication failed", "proxy
 * refused the target", "target unreachable through the proxy", "proxy
 * error" (it broke the protocol). */
int mr_net_connect_proxy(struct mr_conn **out, const struct mr_proxy *p, const char *host, int port,
                         const struct mr_net_limits *limits, mr_error *err);

/* The first address host resolves to (4 or 16 bytes, network order), of
 * family prefer (AF_INET, AF_INET6) when it has one (0: any), with the
 * connect timeout; text is the address as shown to people. */
int mr_net_resolve_first(const char *host, int port, int prefer, const struct mr_net_limits *limits,
                         unsigned char addr[16], size_t *len, char *text, size_t text_size,
                         mr_error *err);

#endif
