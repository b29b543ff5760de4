/* The names the daemon answers for. A page from a name whose DNS answer
 * an attacker turns into 127.0.0.1 (DNS rebinding) is, to the browser,
 * that name's own origin: Origin and Host agree, cookies aside it can read
 * every answer. So the Host header must be one of ours: the host of serve
 * --public-url, the listen address with its port, and with a loopback
 * listen address localhost, 127.0.0.1 and [::1] with the port. Listening
 * on every address, any IP address with the port is taken too: an address
 * cannot be rebound, only a name. */
#include "http/http_private.h"

#include "util/text.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* "name", "name:port", "[v6]" or "[v6]:port": the name (an IP address in
 * its canonical text, anything else lower-cased) and the port (0 if none).
 * 0, or -1 when it is none of those. */
static int split_host(const char *s, size_t n, char name[MR_HTTP_HOST_MAX], int *port)
{
    const char *end = s + n, *colon = NULL;
    char text[MR_HTTP_HOST_MAX];
    size_t len;
    if (n && *s == '[') {
        const char *close = memchr(s, ']', n);
        if (!close || (close + 1 != end && close[1] != ':'))
            return -1;
        len = (size_t)(close - s - 1);
        colon = close + 1 != end ? close + 1 : NULL;
        s++;
    } else {
        colon = memchr(s, ':', n);
        len = colon ? (size_t)(colon - s) : n;
    }
    long long p = 0;
    if (colon) {
        char digits[8];
        size_t dn = (size_t)(end - colon - 1);
        if (dn == 0 || dn >= sizeof(digits))
            return -1;
        memcpy(digits, colon + 1, dn);
        digits[dn] = '\0';
        if (mr_parse_int(digits, 1, 65535, &p) != 0)
            return -1;
    }
    if (len == 0 || len >= sizeof(text))
        return -1;
    memcpy(text, s, len);
    text[len] = '\0';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!isalnum(c) && c != '-' && c != '.' && c != ':' && c != '_')
            return -1; /* no userinfo, spaces, paths */
        text[i] = (char)tolower(c);
    }
    unsigned char bin[16];
    int family = inet_pton(AF_INET, text, bin) == 1    ? AF_INET
                 : inet_pton(AF_INET6, text, bin) == 1 ? AF_INET6
                                                       : 0;
    if (family)
        inet_ntop(family, bin, name, MR_HTTP_HOST_MAX);
    else if (strchr(text, ':'))
        return -1; /* a colon in a name: a v6 address without brackets, or worse */
    else
        snprintf(name, MR_HTTP_HOST_MAX, "%s", text);
    *port = (int)p;
    return 0;
}

static int is_ip(const char *name)
{
    unsigned char bin[16];
    return inet_pton(AF_INET, name, bin) == 1 || inet_pton(AF_INET6, name, bin) == 1;
}

static void add(struct mr_http_server *s, const char *name, int port, int port_optional)
{
    struct mr_http_host *h = &s->hosts[s->nhosts++];
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->port = port;
    h->port_optional = port_optional;
}

/* URL: http or https, a host, a port perhaps, then a path or nothing. */
static int parse_public_url(const char *url, char name[MR_HTTP_HOST_MAX], int *port, mr_error *err)
{
    int https = strncasecmp(url, "https://", 8) == 0;
    const char *rest = https ? url + 8 : strncasecmp(url, "http://", 7) == 0 ? url + 7 : NULL;
    size_t n = rest ? strcspn(rest, "/?#") : 0;
    if (!rest || split_host(rest, n, name, port) != 0)
        return mr_error_set(err, MR_EINVAL, "public-url",
                            "expected http://HOST[:PORT]/ or https://HOST[:PORT]/, got '%.200s'",
                            url);
    if (!*port)
        *port = https ? 443 : 80;
    return 0;
}

int mr_http_check_public_url(const char *url, mr_error *err)
{
    char name[MR_HTTP_HOST_MAX];
    int port;
    return parse_public_url(url, name, &port, err);
}

int mr_http_hosts_load(struct mr_http_server *s, mr_error *err)
{
    const struct mr_http_config *c = &s->cfg;
    char name[MR_HTTP_HOST_MAX];
    int port = 0, rc;
    s->nhosts = 0;
    if (c->public_url && *c->public_url) {
        if ((rc = parse_public_url(c->public_url, name, &port, err)))
            return rc;
        add(s, name, port, 1); /* proxies often drop the port from Host */
    }
    unsigned char bin[16];
    int family = strchr(c->host, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(family, c->host, bin) != 1 || !inet_ntop(family, bin, name, sizeof(name)))
        return mr_error_set(err, MR_EINVAL, "listen", "'%s' is not an IP address", c->host);
    int any = strcmp(name, "0.0.0.0") == 0 || strcmp(name, "::") == 0;
    int loopback = strncmp(name, "127.", 4) == 0 || strcmp(name, "::1") == 0;
    add(s, name, c->port, 0);
    if (any || loopback) {
        add(s, "localhost", c->port, 0);
        add(s, "127.0.0.1", c->port, 0);
        add(s, "::1", c->port, 0);
    }
    s->any_ip = any;
    return 0;
}

int mr_http_host_allowed(const struct mr_http_server *s, const char *host)
{
    char name[MR_HTTP_HOST_MAX];
    int port;
    if (!host || split_host(host, strlen(host), name, &port) != 0)
        return 0;
    if (s->any_ip && port == s->cfg.port && is_ip(name))
        return 1;
    for (size_t i = 0; i < s->nhosts; i++) {
        const struct mr_http_host *h = &s->hosts[i];
        if (strcmp(h->name, name) == 0 &&
            (port == h->port || (!port && (h->port_optional || h->port == 80))))
            return 1;
    }
    return 0;
}
