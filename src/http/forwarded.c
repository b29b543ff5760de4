/* Who the client is: the TCP peer, unless the peer is a reverse proxy the
 * operator trusts (serve --trusted-proxy), whose X-Forwarded-For then
 * names it. Each proxy appends the address it was connected from, so the
 * right-most address that is not a trusted proxy is the client; anything
 * left of it is whatever the client chose to send. */
#include "http/http_private.h"

#include "util/mem.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FORWARDED_VALUES 16 /* X-Forwarded-For headers looked at, the last ones */

/* IPv4 inside IPv6 (::ffff:a.b.c.d) is taken as IPv4: a dual-stack socket
 * shows IPv4 peers that way. */
static void unmap(struct mr_http_addr *a)
{
    static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (a->family == AF_INET6 && memcmp(a->bytes, mapped, 12) == 0) {
        memmove(a->bytes, a->bytes + 12, 4);
        memset(a->bytes + 4, 0, 12);
        a->family = AF_INET;
    }
}

/* An address as text, alone, or "[v6]" / "[v6]:port" / "v4:port" as
 * proxies sometimes write them; n bytes of s. 0, or -1 if it is none. */
static int parse_addr(const char *s, size_t n, struct mr_http_addr *a)
{
    char text[INET6_ADDRSTRLEN + 8];
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0 || n >= sizeof(text))
        return -1;
    memcpy(text, s, n);
    text[n] = '\0';
    char *start = text, *end;
    if (*start == '[' && (end = strchr(start, ']'))) {
        *end = '\0';
        start++;
    } else if ((end = strchr(start, ':')) && !strchr(end + 1, ':'))
        *end = '\0'; /* v4:port */
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, start, a->bytes) == 1)
        a->family = AF_INET;
    else if (inet_pton(AF_INET6, start, a->bytes) == 1)
        a->family = AF_INET6;
    else
        return -1;
    unmap(a);
    return 0;
}

static void addr_text(const struct mr_http_addr *a, char out[MR_HTTP_CLIENT_MAX])
{
    if (!inet_ntop(a->family, a->bytes, out, MR_HTTP_CLIENT_MAX))
        snprintf(out, MR_HTTP_CLIENT_MAX, "?");
}

static int parse_list(const char *list, struct mr_http_addr **out, size_t *n, mr_error *err)
{
    *out = NULL;
    *n = 0;
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        struct mr_http_addr a;
        if (parse_addr(p, len, &a) != 0) {
            mr_freep(out);
            *n = 0;
            return mr_error_set(err, MR_EINVAL, "trusted-proxy",
                                "'%.*s' is not an IP address (--trusted-proxy takes the proxies' "
                                "addresses, separated by commas)",
                                (int)(len > 100 ? 100 : len), p);
        }
        *out = mr_xrealloc(*out, (*n + 1) * sizeof(**out));
        (*out)[(*n)++] = a;
        p += len + (p[len] == ',');
    }
    return 0;
}

int mr_http_check_trusted_proxies(const char *list, mr_error *err)
{
    struct mr_http_addr *addrs;
    size_t n;
    int rc = parse_list(list, &addrs, &n, err);
    free(addrs);
    return rc;
}

int mr_http_trusted_load(struct mr_http_server *s, mr_error *err)
{
    return parse_list(s->cfg.trusted_proxies, &s->trusted, &s->ntrusted, err);
}

static int trusted(const struct mr_http_server *s, const struct mr_http_addr *a)
{
    for (size_t i = 0; i < s->ntrusted; i++)
        if (s->trusted[i].family == a->family &&
            memcmp(s->trusted[i].bytes, a->bytes, a->family == AF_INET ? 4 : 16) == 0)
            return 1;
    return 0;
}

static int peer_address(struct MHD_Connection *conn, struct mr_http_addr *a)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    memset(a, 0, sizeof(*a));
    if (!ci || !ci->client_addr)
        return -1;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET6)
        memcpy(a->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    else if (sa->sa_family == AF_INET)
        memcpy(a->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else
        return -1;
    a->family = sa->sa_family;
    unmap(a);
    return 0;
}

struct forwarded {
    const char *values[FORWARDED_VALUES]; /* the last ones, oldest first */
    size_t n;
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct forwarded *f = cls;
    (void)kind;
    if (strcasecmp(key, "X-Forwarded-For") != 0 || !value)
        return MHD_YES;
    if (f->n == FORWARDED_VALUES) {
        memmove(f->values, f->values + 1, (FORWARDED_VALUES - 1) * sizeof(f->values[0]));
        f->n--;
    }
    f->values[f->n++] = value;
    return MHD_YES;
}

/* From the right: while the address in hand is a trusted proxy, the one it
 * names before it. An entry that is no address ends the walk at the proxy
 * that sent it. */
static void walk_forwarded(const struct mr_http_server *s, const struct forwarded *f,
                           struct mr_http_addr *client)
{
    for (size_t v = f->n; v-- > 0;) {
        const char *value = f->values[v];
        size_t end = strlen(value);
        while (trusted(s, client)) {
            if (end == 0)
                break; /* this header is used up: the one before it */
            const char *comma = memrchr(value, ',', end);
            size_t start = comma ? (size_t)(comma - value) + 1 : 0;
            struct mr_http_addr next;
            if (parse_addr(value + start, end - start, &next) != 0)
                return;
            *client = next;
            end = comma ? (size_t)(comma - value) : 0;
        }
        if (!trusted(s, client))
            return;
    }
}

void mr_http_client_address(struct mr_http_req *r)
{
    struct mr_http_addr client;
    snprintf(r->client, sizeof(r->client), "?");
    if (peer_address(r->conn, &client) != 0)
        return;
    if (trusted(r->srv, &client)) {
        struct forwarded f = {.n = 0};
        MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect, &f);
        walk_forwarded(r->srv, &f, &client);
    }
    addr_text(&client, r->client);
}
