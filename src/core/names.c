#include "core/names.h"

#include "util/text.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

void mr_check_name(const char *name, const char *field, struct mr_problems *p)
{
    if (!name || !*name) {
        mr_problems_add(p, field, "is required");
        return;
    }
    size_t n = strlen(name);
    if (!mr_utf8_valid(name, n))
        mr_problems_add(p, field, "is not valid UTF-8");
    else if (mr_str_has_control(name))
        mr_problems_add(p, field, "must not contain control characters");
    else if (mr_utf8_width(name) > MR_NAME_MAX_CHARS)
        mr_problems_add(p, field, "is longer than %d characters", MR_NAME_MAX_CHARS);
    else if (isspace((unsigned char)name[0]) || isspace((unsigned char)name[n - 1]))
        mr_problems_add(p, field, "must not start or end with a space");
    else if (mr_str_all_digits(name))
        mr_problems_add(p, field, "must not be only digits (a number is read as an ID)");
}

static int label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return 1;
}

static int hostname_ok(const char *host)
{
    size_t n = strlen(host);
    if (n > 0 && host[n - 1] == '.')
        n--; /* a fully qualified name may end with a dot */
    if (n == 0 || n > MR_HOST_MAX)
        return 0;
    const char *label = host;
    for (;;) {
        const char *dot = memchr(label, '.', (size_t)(host + n - label));
        size_t len = dot ? (size_t)(dot - label) : (size_t)(host + n - label);
        if (!label_ok(label, len))
            return 0;
        if (!dot)
            return 1;
        label = dot + 1;
    }
}

void mr_check_host(const char *host, const char *field, struct mr_problems *p)
{
    if (!host || !*host) {
        mr_problems_add(p, field, "is required");
        return;
    }
    unsigned char addr[16];
    if (strchr(host, ':')) {
        if (inet_pton(AF_INET6, host, addr) != 1)
            mr_problems_add(p, field, "'%s' is not a valid IPv6 address", host);
        return;
    }
    if (strspn(host, "0123456789.") == strlen(host)) {
        if (inet_pton(AF_INET, host, addr) != 1)
            mr_problems_add(p, field, "'%s' is not a valid IPv4 address", host);
        return;
    }
    if (!hostname_ok(host))
        mr_problems_add(p, field,
                        "'%s' is not a valid host name (letters, digits, hyphens and dots; "
                        "international names in their xn-- form)",
                        mr_utf8_valid(host, strlen(host)) && !mr_str_has_control(host)
                            ? host
                            : "(unprintable)");
}

void mr_check_port(long long port, const char *field, struct mr_problems *p)
{
    if (port < 1 || port > 65535)
        mr_problems_add(p, field, "must be between 1 and 65535");
}
