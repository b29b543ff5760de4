/* Proxy tunnels: SOCKS5 (RFC 1928, with RFC 1929 username/password) and
 * HTTP CONNECT (RFC 9110 §9.3.6, Basic proxy authentication, optionally over
 * TLS to the proxy). Once the tunnel stands, the connection is handed back
 * as it is (same fd, same vtable), so IMAP, POP3, STARTTLS and implicit TLS
 * run through it unchanged; the mail server's certificate is then checked
 * against the mail server's name, never the proxy's.
 *
 * Every read during the handshake is bounded by the connect timeout and the
 * run's deadline; every byte the proxy sends is checked before it is used,
 * and nothing is allocated from a length the proxy announces. */
#include "net/proxy.h"

#include "util/clock.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HTTP_HEAD_MAX 8192

static void proxy_step(const struct mr_proxy *p, const char *name, int ok, int64_t t0,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void proxy_step(const struct mr_proxy *p, const char *name, int ok, int64_t t0,
                       const char *fmt, ...)
{
    if (!p->on_step)
        return;
    char detail[512];
    struct mr_said said;
    mr_error step = {0};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    mr_said_capture(&said, fmt, ap);
    va_end(ap);
    mr_error_set(&step, 0, "", "%s", detail); /* then said as fmt was (util/said.c's way) */
    if (strcmp(step.message, detail) == 0)
        step.said = said;
    p->on_step(p->step_ctx, name, ok, t0 ? mr_now_ms() - t0 : 0, &step);
}

/* A failed step whose detail is err's message, said as err was. */
static void proxy_step_error(const struct mr_proxy *p, const char *name, int64_t t0,
                             const mr_error *err)
{
    if (p->on_step)
        p->on_step(p->step_ctx, name, 0, t0 ? mr_now_ms() - t0 : 0, err);
}

/* What an exchange with the proxy was for, the start of its failure. */
enum exchange { EX_GREETING, EX_AUTH, EX_TUNNEL };

/* A failed exchange with the proxy: "what: detail", with the read or write
 * error (closed, timed out) in the words of the proxy, not the server. */
static int exchange_failed(mr_error *err, const struct mr_conn *c, const struct mr_proxy *p,
                           enum exchange what)
{
    int code = err->code == MR_ETIMEOUT ? MR_ETIMEOUT : MR_ENET;
    if (strstr(err->message, "closed the connection") || strstr(err->message, "closed the TLS"))
        mr_error_set(err, code, "", "the proxy closed the connection");
    else if (err->code == MR_ETIMEOUT && !strstr(err->message, "deadline") &&
             !strstr(err->message, "step may take")) /* a step timeout says what arrived */
        mr_error_set(err, code, "", "the proxy %s port %d did not answer in %d s", p->host, p->port,
                     (c->limits.idle_timeout_ms + 999) / 1000);
    err->code = code;
    err->field[0] = '\0';
    if (what == EX_GREETING)
        mr_error_prefix(err, "proxy greeting");
    else if (what == EX_AUTH)
        mr_error_prefix(err, "proxy authentication");
    else
        mr_error_prefix(err, "proxy tunnel");
    return code;
}

static int read_exact(struct mr_conn *c, const struct mr_proxy *p, void *buf, size_t n,
                      enum exchange what, mr_error *err)
{
    char *out = buf;
    while (n > 0) {
        size_t got = 0;
        if (mr_conn_read(c, out, n, &got, err) != 0)
            return exchange_failed(err, c, p, what);
        out += got;
        n -= got;
    }
    return 0;
}

static int send_all(struct mr_conn *c, const struct mr_proxy *p, const void *buf, size_t n,
                    enum exchange what, mr_error *err)
{
    return mr_conn_write(c, buf, n, err) ? exchange_failed(err, c, p, what) : 0;
}

/* --- SOCKS5 ---------------------------------------------------------------- */

static const char *socks_reply_text(int rep)
{
    static const char *const text[] = {
        "succeeded",
        "general SOCKS server failure",
        "connection not allowed by ruleset",
        "network unreachable",
        "host unreachable",
        "connection refused",
        "TTL expired",
        "command not supported",
        "address type not supported",
    };
    return rep >= 0 && rep < (int)(sizeof(text) / sizeof(text[0])) ? text[rep] : "unknown reply";
}

static int socks_auth(struct mr_conn *c, const struct mr_proxy *p, mr_error *err)
{
    int64_t t0 = mr_now_ms();
    mr_conn_step(c, "the SOCKS5 proxy's greeting");
    unsigned char hello[4] = {5, 1, 0x00};
    int with_password = p->username != NULL;
    if (with_password) { /* offer both: a proxy that needs none may say so */
        hello[1] = 2;
        hello[2] = 0x00;
        hello[3] = 0x02;
    }
    unsigned char choice[2];
    int rc = send_all(c, p, hello, with_password ? 4 : 3, EX_GREETING, err);
    if (rc == 0)
        rc = read_exact(c, p, choice, 2, EX_GREETING, err);
    if (rc) {
        proxy_step_error(p, "proxy auth", t0, err);
        return rc;
    }
    if (choice[0] != 5) {
        mr_error_set(err, MR_EPROTO, "",
                     "proxy error: the proxy %s port %d does not speak SOCKS5 (it answered "
                     "version %u)",
                     p->host, p->port, choice[0]);
        proxy_step_error(p, "proxy auth", t0, err);
        return MR_EPROTO;
    }
    if (choice[1] == 0x00) {
        proxy_step(p, "proxy auth", 1, t0,
                   with_password ? "SOCKS5: the proxy asks for no authentication (the connector's "
                                   "credential is not needed)"
                                 : "SOCKS5: the proxy asks for no authentication");
        return 0;
    }
    if (choice[1] != 0x02 || !with_password) {
        mr_error_set(err, MR_EAUTH, "",
                     with_password ? "proxy authentication failed: the SOCKS5 proxy accepts none "
                                     "of the methods offered (none, username/password)"
                                   : "proxy authentication failed: the SOCKS5 proxy accepts none "
                                     "of the methods offered (none); give the connector a "
                                     "credential");
        proxy_step_error(p, "proxy auth", t0, err);
        return MR_EAUTH;
    }
    /* RFC 1929: VER=1, ULEN, UNAME, PLEN, PASSWD */
    size_t ul = strlen(p->username), pl = strlen(p->password ? p->password : "");
    if (ul < 1 || ul > 255 || pl > 255) {
        mr_error_set(err, MR_EINVAL, "",
                     "proxy authentication failed: SOCKS5 user names and passwords are 1 to 255 "
                     "bytes");
        proxy_step_error(p, "proxy auth", t0, err);
        return MR_EINVAL;
    }
    unsigned char msg[3 + 255 + 255], status[2];
    size_t n = 0;
    msg[n++] = 1;
    msg[n++] = (unsigned char)ul;
    memcpy(msg + n, p->username, ul);
    n += ul;
    msg[n++] = (unsigned char)pl;
    memcpy(msg + n, p->password ? p->password : "", pl);
    n += pl;
    rc = send_all(c, p, msg, n, EX_AUTH, err);
    memset(msg, 0, sizeof(msg));
    if (rc == 0)
        rc = read_exact(c, p, status, 2, EX_AUTH, err);
    if (rc == 0 && status[1] != 0)
        rc = mr_error_set(err, MR_EAUTH, "",
                          "proxy authentication failed: the SOCKS5 proxy %s port %d rejected user "
                          "'%s' (status %u)",
                          p->host, p->port, p->username, status[1]);
    if (rc) {
        proxy_step_error(p, "proxy auth", t0, err);
        return rc;
    }
    proxy_step(p, "proxy auth", 1, t0, "SOCKS5 username/password: accepted for user '%s'",
               p->username);
    return 0;
}

/* The target as asked for, for the sentences about it: an address, a
 * name resolved here (to addr), or a name for the proxy to resolve. */
struct socks_asked {
    const char *host;
    int port;
    enum { ASKED_ADDRESS, ASKED_RESOLVED_HERE, ASKED_BY_NAME } how;
    char addr[64];
};

/* The target's address as the request carries it: the name for the proxy
 * to resolve, or an address resolved here. */
static int socks_target(const struct mr_conn *c, const struct mr_proxy *p, const char *host,
                        int port, const struct mr_net_limits *l, unsigned char *req, size_t *n,
                        struct socks_asked *asked, mr_error *err)
{
    unsigned char a[16];
    size_t len = 0;
    *n = 0;
    req[(*n)++] = 5;
    req[(*n)++] = 1; /* CONNECT */
    req[(*n)++] = 0;
    if (inet_pton(AF_INET, host, a) == 1) {
        req[(*n)++] = 1;
        len = 4;
    } else if (inet_pton(AF_INET6, host, a) == 1) {
        req[(*n)++] = 4;
        len = 16;
    } else if (p->resolve_local) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int family = getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0 ? ss.ss_family : 0;
        int rc = mr_net_resolve_first(host, port, family, l, a, &len, asked->addr,
                                      sizeof(asked->addr), err);
        if (rc)
            return rc;
        req[(*n)++] = len == 4 ? 1 : 4;
        asked->how = ASKED_RESOLVED_HERE;
    } else {
        size_t hl = strlen(host);
        if (hl > 255)
            return mr_error_set(err, MR_EINVAL, "", "the server name is too long for SOCKS5");
        req[(*n)++] = 3;
        req[(*n)++] = (unsigned char)hl;
        memcpy(req + *n, host, hl);
        *n += hl;
        asked->how = ASKED_BY_NAME;
    }
    if (len) {
        memcpy(req + *n, a, len);
        *n += len;
    }
    req[(*n)++] = (unsigned char)(port >> 8);
    req[(*n)++] = (unsigned char)(port & 0xff);
    return 0;
}

/* The reply's bound address: checked whole, read without trusting its
 * lengths for anything but a fixed buffer. */
static int socks_bound(struct mr_conn *c, const struct mr_proxy *p, int atyp, char *out,
                       size_t size, mr_error *err)
{
    unsigned char b[256 + 2];
    size_t len;
    if (atyp == 1)
        len = 4;
    else if (atyp == 4)
        len = 16;
    else if (atyp == 3) {
        unsigned char l;
        if (read_exact(c, p, &l, 1, EX_TUNNEL, err))
            return err->code;
        len = l;
    } else
        return mr_error_set(err, MR_EPROTO, "",
                            "proxy error: the SOCKS5 reply has a bogus bound address type %d",
                            atyp);
    if (read_exact(c, p, b, len + 2, EX_TUNNEL, err))
        return err->code;
    int port = b[len] << 8 | b[len + 1];
    char addr[INET6_ADDRSTRLEN] = "";
    if (atyp == 1 || atyp == 4)
        inet_ntop(atyp == 1 ? AF_INET : AF_INET6, b, addr, sizeof(addr));
    else {
        for (size_t i = 0; i < len; i++) {
            if (b[i] <= 0x20 || b[i] >= 0x7f)
                return mr_error_set(err, MR_EPROTO, "",
                                    "proxy error: the SOCKS5 reply's bound name is not a host "
                                    "name");
        }
        snprintf(addr, sizeof(addr), "%.*s", (int)len, (const char *)b);
    }
    snprintf(out, size, "%s%s%s port %d", atyp == 4 ? "[" : "", addr, atyp == 4 ? "]" : "", port);
    return 0;
}

/* The proxy's refusal (reply rep, RFC 1928's words for it kept as they are). */
static int socks_refused(mr_error *err, int rep, const struct socks_asked *a)
{
    int refused = rep == 2 || rep == 7 || rep == 8 || rep > 8;
    int code = refused ? MR_ESERVER : MR_ENET;
    const char *why = socks_reply_text(rep);
    if (a->how == ASKED_RESOLVED_HERE)
        return mr_error_set(err, code, "",
                            refused ? "proxy refused the target: %s (SOCKS5 reply %u) for %s port "
                                      "%d (resolved here to %s)"
                                    : "target unreachable through the proxy: %s (SOCKS5 reply "
                                      "%u) for %s port %d (resolved here to %s)",
                            why, rep, a->host, a->port, a->addr);
    if (a->how == ASKED_BY_NAME)
        return mr_error_set(err, code, "",
                            refused ? "proxy refused the target: %s (SOCKS5 reply %u) for %s port "
                                      "%d (name resolved by the proxy)"
                                    : "target unreachable through the proxy: %s (SOCKS5 reply "
                                      "%u) for %s port %d (name resolved by the proxy)",
                            why, rep, a->host, a->port);
    return mr_error_set(err, code, "",
                        refused ? "proxy refused the target: %s (SOCKS5 reply %u) for %s port %d"
                                : "target unreachable through the proxy: %s (SOCKS5 reply %u) for "
                                  "%s port %d",
                        why, rep, a->host, a->port);
}

static void socks_tunnel_step(const struct mr_proxy *p, int64_t t0, const struct socks_asked *a,
                              const char *bound)
{
    if (a->how == ASKED_RESOLVED_HERE)
        proxy_step(p, "proxy tunnel", 1, t0,
                   "asked for %s port %d (resolved here to %s); the proxy answered: succeeded, "
                   "bound to %s",
                   a->host, a->port, a->addr, bound);
    else
        proxy_step(p, "proxy tunnel", 1, t0,
                   a->how == ASKED_BY_NAME ? "asked for %s port %d (name resolved by the proxy); "
                                             "the proxy answered: succeeded, bound to %s"
                                           : "asked for %s port %d; the proxy answered: "
                                             "succeeded, bound to %s",
                   a->host, a->port, bound);
}

static int socks_connect(struct mr_conn *c, const struct mr_proxy *p, const char *host, int port,
                         const struct mr_net_limits *l, mr_error *err)
{
    int64_t t0 = mr_now_ms();
    mr_conn_step(c, "the SOCKS5 proxy's answer to CONNECT");
    unsigned char req[4 + 1 + 255 + 2], head[4];
    char bound[300] = "";
    struct socks_asked asked = {host, port, ASKED_ADDRESS, ""};
    size_t n;
    int rc = socks_target(c, p, host, port, l, req, &n, &asked, err);
    if (rc == 0)
        rc = send_all(c, p, req, n, EX_TUNNEL, err);
    if (rc == 0)
        rc = read_exact(c, p, head, 4, EX_TUNNEL, err);
    if (rc == 0 && head[0] != 5)
        rc = mr_error_set(err, MR_EPROTO, "", "proxy error: the SOCKS5 reply has version %u, not 5",
                          head[0]);
    if (rc == 0 && head[1] != 0)
        rc = socks_refused(err, head[1], &asked);
    if (rc == 0)
        rc = socks_bound(c, p, head[3], bound, sizeof(bound), err);
    if (rc) {
        proxy_step_error(p, "proxy tunnel", t0, err);
        return rc;
    }
    socks_tunnel_step(p, t0, &asked, bound);
    return 0;
}

/* --- HTTP CONNECT ----------------------------------------------------------- */

/* Reads the response head one byte at a time: the mail server may speak
 * right behind it, and those bytes belong to the protocol, not to us. */
static int http_head(struct mr_conn *c, const struct mr_proxy *p, char *head, size_t size,
                     mr_error *err)
{
    size_t n = 0;
    while (n + 1 < size) {
        if (read_exact(c, p, head + n, 1, EX_TUNNEL, err))
            return err->code;
        n++;
        head[n] = '\0';
        if (n >= 2 && head[n - 1] == '\n' && (strstr(head, "\r\n\r\n") || strstr(head, "\n\n")))
            return 0;
    }
    return mr_error_set(err, MR_EPROTO, "",
                        "proxy error: the proxy's answer has no end after %zu bytes", size - 1);
}

static void first_line(const char *head, char *out, size_t size)
{
    size_t n = strcspn(head, "\r\n");
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), head);
    for (char *q = out; *q; q++) {
        if ((unsigned char)*q < 0x20 || (unsigned char)*q == 0x7f)
            *q = '?';
    }
}

static int http_connect(struct mr_conn *c, const struct mr_proxy *p, const char *host, int port,
                        int probe, mr_error *err)
{
    int64_t t0 = mr_now_ms();
    mr_conn_step(c, "the HTTP proxy's answer to CONNECT");
    char target[300], req[1024], head[HTTP_HEAD_MAX], status[200], auth[700] = "";
    int v6 = strchr(host, ':') != NULL;
    snprintf(target, sizeof(target), "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
    if (p->username) {
        char plain[520];
        int n =
            snprintf(plain, sizeof(plain), "%s:%s", p->username, p->password ? p->password : "");
        if (n < 0 || (size_t)n >= sizeof(plain) || strchr(p->username, ':')) {
            memset(plain, 0, sizeof(plain));
            mr_error_set(err, MR_EINVAL, "",
                         "proxy authentication failed: the user name may not contain ':' and the "
                         "pair must be under 512 bytes for HTTP Basic");
            proxy_step_error(p, "proxy tunnel", t0, err);
            return MR_EINVAL;
        }
        memcpy(auth, "Proxy-Authorization: Basic ", 27);
        EVP_EncodeBlock((unsigned char *)auth + 27, (const unsigned char *)plain, n);
        memset(plain, 0, sizeof(plain));
        strcat(auth, "\r\n");
    }
    int n = snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", target, target,
                     auth);
    memset(auth, 0, sizeof(auth));
    int rc = send_all(c, p, req, (size_t)n, EX_TUNNEL, err);
    memset(req, 0, sizeof(req));
    if (rc == 0)
        rc = http_head(c, p, head, sizeof(head), err);
    if (rc) {
        proxy_step_error(p, "proxy tunnel", t0, err);
        return rc;
    }
    first_line(head, status, sizeof(status));
    int major, minor, code = 0;
    char after;
    if (sscanf(head, "HTTP/%d.%d %3d%c", &major, &minor, &code, &after) != 4 || major != 1 ||
        code < 100 || code > 599 || (after != ' ' && after != '\r' && after != '\n')) {
        rc = mr_error_set(err, MR_EPROTO, "",
                          "proxy error: the proxy %s port %d did not answer in HTTP: '%.80s'",
                          p->host, p->port, status);
    } else if (code == 407 || code == 401) { /* tinyproxy answers 401 */
        rc = mr_error_set(err, MR_EAUTH, "",
                          p->username ? "proxy authentication failed: %s (the connector's "
                                        "credential was refused)"
                                      : "proxy authentication failed: %s; give the connector a "
                                        "credential",
                          status);
    } else if (code >= 200 && code < 300) {
        rc = 0;
    } else if (probe) {
        /* Test connector asked for a name that exists nowhere: any answer
         * but 407 means the proxy took the credentials and tried. */
        proxy_step(p, "proxy auth", 1, t0,
                   p->username ? "HTTP CONNECT with Basic authentication: %s; the proxy accepted "
                                 "the credentials (the probe's target does not exist)"
                               : "HTTP CONNECT without authentication: %s; the proxy asks for "
                                 "none (the probe's target does not exist)",
                   status);
        return 0;
    } else {
        int unreachable = code == 502 || code == 503 || code == 504 || code == 500;
        rc = mr_error_set(err, unreachable ? MR_ENET : MR_ESERVER, "",
                          unreachable ? "target unreachable through the proxy: %s for %s"
                                      : "proxy refused the target: %s for %s",
                          status, target);
    }
    if (rc) {
        proxy_step_error(p, "proxy tunnel", t0, err);
        return rc;
    }
    proxy_step(p, probe ? "proxy auth" : "proxy tunnel", 1, t0,
               p->username ? "CONNECT %s with Basic authentication: %s" : "CONNECT %s: %s", target,
               status);
    return 0;
}

/* --- the whole way through ---------------------------------------------------- */

int mr_net_connect_proxy(struct mr_conn **out, const struct mr_proxy *p, const char *host, int port,
                         const struct mr_net_limits *limits, mr_error *err)
{
    struct mr_net_info info;
    struct mr_net_limits l = *limits;
    const char *kind = p->type == MR_PROXY_SOCKS5 ? "SOCKS5" : "HTTP";
    if (l.connect_timeout_ms > MR_PROXY_STEP_TIMEOUT_MS)
        l.connect_timeout_ms = MR_PROXY_STEP_TIMEOUT_MS;
    int64_t t0 = mr_now_ms();
    int rc = mr_net_connect(out, p->host, p->port, &l, &info, err);
    if (rc) {
        mr_error_prefix(err, "proxy unreachable");
        mr_error step = *err; /* the step names the proxy first */
        mr_error_prefix(&step, "%s proxy '%s'", kind, p->name ? p->name : "");
        proxy_step_error(p, "proxy connect", t0, &step);
        return rc;
    }
    struct mr_conn *c = *out;
    proxy_step(p, "proxy connect", 1, t0,
               p->type == MR_PROXY_HTTP && p->tls
                   ? "%s proxy '%s' at %s port %d: connected to %s, TLS next"
                   : "%s proxy '%s' at %s port %d: connected to %s",
               kind, p->name ? p->name : "", p->host, p->port, info.peer);
    /* the handshake waits as long as a connect may, not the idle timeout */
    c->limits.idle_timeout_ms =
        l.connect_timeout_ms < l.idle_timeout_ms ? l.connect_timeout_ms : l.idle_timeout_ms;
    if (p->type == MR_PROXY_HTTP && p->tls) {
        struct mr_tls_info ti;
        struct mr_tls_opts o = {p->host, p->verify, p->ca_file, 1, 0};
        t0 = mr_now_ms();
        rc = mr_tls_start_proxy(c, &o, &ti, err);
        if (rc) {
            mr_error_prefix(err, "TLS to the proxy");
            proxy_step_error(p, "proxy tls", t0, err);
            goto fail;
        }
        if (ti.skipped)
            proxy_step(p, "proxy tls", 1, t0,
                       ti.resumed ? "%s, %s, session resumed; certificate subject %s; "
                                    "verification: skipped (Skip certificate is yes)"
                                  : "%s, %s; certificate subject %s; verification: skipped (Skip "
                                    "certificate is yes)",
                       ti.version, ti.cipher, ti.subject);
        else
            proxy_step(p, "proxy tls", 1, t0,
                       ti.resumed ? "%s, %s, session resumed; certificate subject %s; "
                                    "verification: %s"
                                  : "%s, %s; certificate subject %s; verification: %s",
                       ti.version, ti.cipher, ti.subject, ti.verify_text);
    }
    if (p->type == MR_PROXY_SOCKS5) {
        rc = socks_auth(c, p, err);
        if (rc == 0 && host)
            rc = socks_connect(c, p, host, port, &l, err);
    } else {
        /* Test connector without a target: a name that never resolves
         * (RFC 2606) shows whether the proxy takes the credentials. */
        rc = http_connect(c, p, host ? host : "mailroom-probe.invalid", host ? port : 143, !host,
                          err);
    }
    if (rc)
        goto fail;
    c->limits = *limits;
    if (host) {
        snprintf(c->host, sizeof(c->host), "%s", host);
        c->port = port;
    }
    return 0;
fail:
    mr_conn_close(out);
    return rc;
}
