/* The daemon's HTTP side: the JSON API under /api/v1 and the console's
 * static files, on libmicrohttpd. */
#ifndef MR_HTTP_HTTP_H
#define MR_HTTP_HTTP_H

#include "util/error.h"

#include <stddef.h>

#define MR_HTTP_BODY_MAX            (1u << 20) /* request bodies above are refused (413) */
#define MR_SESSION_IDLE_SECS        (30 * 60)
#define MR_SESSION_MAX_SECS         (12 * 60 * 60) /* however busy: then log in again */
#define MR_LOGIN_GUESSES_PER_MINUTE 30             /* from clients that have failed, all together */

struct mr_http_config {
    const char *host; /* 127.0.0.1 unless asked */
    int port;
    const char *data_dir;
    const char *report_dir; /* the report base, resolved: schedules' directories are under it */
    int threads;            /* request threads (and store connections) */
    int session_idle_secs;  /* 0 = MR_SESSION_IDLE_SECS */
    int session_max_secs;   /* 0 = MR_SESSION_MAX_SECS */
    int secure_cookies;     /* behind HTTPS: mark cookies Secure */
    int metrics_public;     /* /metrics without authentication */
    int deny_test_targets;  /* Test connection refuses loopback, link-local, metadata */
    const char *trusted_proxies;  /* "ADDR,ADDR": whose X-Forwarded-For names the client */
    int login_guesses_per_minute; /* 0 = MR_LOGIN_GUESSES_PER_MINUTE */
    const char *public_url;       /* the console's address for its users; its host is answered */
    /* HTTPS served here: PEM files of the certificate (chain) and its key;
     * both or neither. Cookies are then Secure and every answer has HSTS. */
    const char *tls_cert, *tls_key;
    /* how webhook receivers reach this daemon (the raw message links):
     * --public-url, else the listen address */
    const char *delivery_base;
    /* setting up from an e-mail address: the DNS server asked (IPv4:PORT;
     * NULL: the system's) and extra CA certificates trusted (NULL: none) */
    const char *dns;
    const char *discover_ca_file;
};

struct mr_http_server;
struct mr_scheduler;

/* MR_EINVAL (field "trusted-proxy") unless list is IP addresses separated
 * by commas. */
int mr_http_check_trusted_proxies(const char *list, mr_error *err);
/* MR_EINVAL (field "public-url") unless url is http(s)://HOST[:PORT][/...]. */
int mr_http_check_public_url(const char *url, mr_error *err);
/* What needs root, done before mailroom gives it up (cli/runas.c): the
 * listening socket (a port below 1024 needs root) and the TLS files (a key
 * only root may read). */
struct mr_http_listener {
    int fd;                           /* bound and listening; -1: none */
    char *tls_cert_pem, *tls_key_pem; /* NUL-terminated PEM, or NULL */
};
int mr_http_listen(const struct mr_http_config *c, struct mr_http_listener *l, mr_error *err);
void mr_http_listener_close(struct mr_http_listener *l);
/* Serves on l's socket with l's TLS files; takes them (l is emptied), on
 * failure too. */
int mr_http_start(struct mr_http_server **out, const struct mr_http_config *c,
                  struct mr_http_listener *l, mr_error *err);
/* Stops accepting, lets requests and background fetches in flight finish
 * (or roll back), and frees everything. */
void mr_http_stop(struct mr_http_server **s);
/* Plain HTTP on an address other than loopback, with no TLS proxy said to
 * be in front (--secure-cookies): the console shows a banner. */
int mr_http_insecure(const struct mr_http_server *s);
/* The scheduler whose queue /metrics reports (NULL: none). */
void mr_http_set_scheduler(struct mr_http_server *s, struct mr_scheduler *sched);

#endif
