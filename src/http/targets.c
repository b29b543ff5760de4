/* serve --deny-test-targets: Test connection refuses to reach this host
 * (loopback, 0.0.0.0), link-local addresses and the cloud metadata
 * services, for deployments where whoever may test an account should not
 * probe what listens beside the daemon. Private networks stay allowed: an
 * internal mail server is an ordinary target. */
#include "http/http_private.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Why an IPv4 address (host order) is refused, or NULL. */
static const char *denied_v4(uint32_t a)
{
    if (a >> 24 == 0)
        return "this host (0.0.0.0/8)";
    if (a >> 24 == 127)
        return "loopback (127.0.0.0/8)";
    if (a == 0xA9FEA9FEu) /* 169.254.169.254: AWS, GCP, Azure, OpenStack, ... */
        return "a cloud metadata service";
    if (a >> 16 == 0xA9FE)
        return "link-local (169.254.0.0/16)";
    if (a == 0x646464C8u) /* 100.100.100.200: Alibaba Cloud */
        return "a cloud metadata service";
    return NULL;
}

static uint32_t embedded_v4(const struct in6_addr *a)
{
    uint32_t v;
    memcpy(&v, a->s6_addr + 12, 4);
    return ntohl(v);
}

/* Why an IPv6 address is refused, or NULL. IPv4 inside it (mapped,
 * compatible, NAT64) is judged as IPv4. */
static const char *denied_v6(const struct in6_addr *a)
{
    static const uint8_t aws_metadata[16] = {0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    if (IN6_IS_ADDR_UNSPECIFIED(a))
        return "this host (::)";
    if (IN6_IS_ADDR_LOOPBACK(a))
        return "loopback (::1)";
    if (IN6_IS_ADDR_LINKLOCAL(a))
        return "link-local (fe80::/10)";
    if (memcmp(a->s6_addr, aws_metadata, 16) == 0)
        return "a cloud metadata service";
    if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a) || memcmp(a->s6_addr, nat64, 12) == 0)
        return denied_v4(embedded_v4(a));
    return NULL;
}

static const char *denied_address(const struct sockaddr *sa, char *text, size_t size)
{
    if (sa->sa_family == AF_INET) {
        const struct in_addr *a = &((const struct sockaddr_in *)sa)->sin_addr;
        inet_ntop(AF_INET, a, text, (socklen_t)size);
        return denied_v4(ntohl(a->s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        inet_ntop(AF_INET6, a, text, (socklen_t)size);
        return denied_v6(a);
    }
    return NULL;
}

int mr_http_target_denied(const char *host, int resolve_here, char *why, size_t size)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    hints.ai_flags = resolve_here ? 0 : AI_NUMERICHOST;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 && !resolve_here)
        return 0;  /* a name the proxy resolves: its network, not ours */
    if (rc != 0) { /* what cannot be checked is not tried */
        snprintf(why, size, "'%s' does not resolve here (%s), so it cannot be checked", host,
                 gai_strerror(rc));
        return 1;
    }
    int denied = 0;
    for (struct addrinfo *ai = res; ai && !denied; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN] = "?";
        const char *reason = denied_address(ai->ai_addr, text, sizeof(text));
        if (reason) {
            snprintf(why, size, "'%s' is %s, %s", host, text, reason);
            denied = 1;
        }
    }
    freeaddrinfo(res);
    return denied;
}
