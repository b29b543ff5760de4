#include "util/text.h"

#include "util/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int mr_parse_yes_no(const char *s, int *out)
{
    if (!s)
        return MR_EINVAL;
    if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0) {
        *out = 1;
        return 0;
    }
    if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0) {
        *out = 0;
        return 0;
    }
    return MR_EINVAL;
}

const char *mr_yes_no(int v)
{
    return v ? "yes" : "no";
}

int mr_parse_int(const char *s, long long min, long long max, long long *out)
{
    if (!s || !*s)
        return MR_EINVAL;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && !(p == s && (*p == '-' || *p == '+')))
            return MR_EINVAL;
    if (!isdigit((unsigned char)s[strlen(s) - 1]))
        return MR_EINVAL;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || v < min || v > max)
        return MR_ETOOBIG;
    *out = v;
    return 0;
}

/* Length of the UTF-8 sequence at s (of at most n bytes), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    uint32_t cp;
    size_t len;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int mr_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    while (n > 0) {
        /* runs of ASCII, eight bytes at a time */
        while (n >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (w & 0x8080808080808080ull)
                break;
            p += 8;
            n -= 8;
        }
        if (n == 0)
            break;
        size_t len = utf8_seq(p, n);
        if (len == 0)
            return 0;
        p += len;
        n -= len;
    }
    return 1;
}

int mr_parse_host_port(const char *s, char *host, size_t size, int *port)
{
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hl = colon ? (size_t)(colon - s) : 0;
    long long p;
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (!colon || hl == 0 || hl >= size || mr_parse_int(colon + 1, 1, 65535, &p) != 0)
        return MR_EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

size_t mr_utf8_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            w++;
    return w;
}

int mr_str_all_digits(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

int mr_str_has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return 1;
    return 0;
}

int mr_str_ieq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcasecmp(a, b) == 0;
}

/* Bytes of the UTF-8 sequence starting at p (1 for anything not a lead). */
static size_t sequence_length(const unsigned char *p)
{
    size_t n = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 1;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 1;
    return n;
}

void mr_text_excerpt(const char *in, size_t max, char *out, size_t size)
{
    static const char ellipsis[] = "…";
    size_t room = size > sizeof(ellipsis) ? size - sizeof(ellipsis) : 0, o = 0;
    const unsigned char *p = (const unsigned char *)(in ? in : "");
    if (room > max)
        room = max;
    while (*p) {
        int control = *p < 0x20 || *p == 0x7F;
        size_t take = control ? 1 : sequence_length(p), put = control ? 4 : take;
        if (o + put > room)
            break;
        if (control)
            snprintf(out + o, 5, "\\x%02x", *p);
        else
            memcpy(out + o, p, take);
        o += put;
        p += take;
    }
    if (*p && size >= sizeof(ellipsis)) {
        memcpy(out + o, ellipsis, sizeof(ellipsis) - 1);
        o += sizeof(ellipsis) - 1;
    }
    if (size)
        out[o < size ? o : size - 1] = '\0';
}

int mr_parse_when(const char *s, int64_t now, int64_t *out)
{
    long long v;
    size_t n = s ? strlen(s) : 0;
    if (n >= 2 && n < 12 && strchr("mhd", s[n - 1])) {
        char num[16];
        memcpy(num, s, n - 1);
        num[n - 1] = '\0';
        if (mr_parse_int(num, 0, 100000, &v) != 0)
            return MR_EINVAL;
        *out = now - v * (s[n - 1] == 'm' ? 60 : s[n - 1] == 'h' ? 3600 : 86400);
        return 0;
    }
    if (n && mr_str_all_digits(s))
        return mr_parse_int(s, 0, 1LL << 40, &v) == 0 ? (*out = v, 0) : MR_EINVAL;
    static const char *const forms[] = {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%d"};
    for (size_t i = 0; n && i < 3; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *rest = strptime(s, forms[i], &tm);
        if (rest && !*rest) {
            *out = (int64_t)timegm(&tm);
            return 0;
        }
    }
    return MR_EINVAL;
}

/* The name a download is saved under: no directory, no control characters,
 * not only dots, at most MR_DOWNLOAD_NAME_MAX bytes of whole characters. */
static void download_name(const char *name, char *out, size_t size)
{
    const char *base = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    size_t n = 0, dots = 0;
    for (const unsigned char *p = (const unsigned char *)base; *p && n + 1 < size; p++) {
        if (*p < 0x20 || *p == 0x7f)
            continue;
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) { /* C1 controls */
            p++;
            continue;
        }
        if (p[0] == 0xe2 && p[1] == 0x80 && p[2] &&
            ((p[2] >= 0x8e && p[2] <= 0x8f) || (p[2] >= 0xaa && p[2] <= 0xae))) {
            p += 2; /* U+200E/F, U+202A-202E: direction marks and overrides ("gpj.exe") */
            continue;
        }
        if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9) {
            p += 2; /* U+2066-2069: isolates */
            continue;
        }
        if ((*p & 0xc0) != 0x80) { /* a character starts: does all of it fit? */
            size_t len = *p < 0x80 ? 1 : *p < 0xe0 ? 2 : *p < 0xf0 ? 3 : 4;
            if (n + len > MR_DOWNLOAD_NAME_MAX || n + len + 1 > size)
                break;
        }
        dots += *p == '.';
        out[n++] = (char)*p;
    }
    out[n] = '\0';
    if (dots == n) /* "", ".", "..": no name */
        out[0] = '\0';
}

void mr_content_disposition(const char *name, const char *fallback, char *out, size_t size)
{
    char clean[MR_DOWNLOAD_NAME_MAX + 1], ascii[MR_DOWNLOAD_NAME_MAX + 1];
    char encoded[3 * MR_DOWNLOAD_NAME_MAX + 1];
    download_name(name && mr_utf8_valid(name, strlen(name)) ? name : "", clean, sizeof(clean));
    if (!clean[0]) {
        snprintf(out, size, "attachment; filename=\"%s\"", fallback);
        return;
    }
    size_t a = 0, e = 0;
    int plain = 1;
    for (const unsigned char *p = (const unsigned char *)clean; *p; p++) {
        int keep = isalnum(*p) || strchr("!#$&+-.^_`|~", *p);
        if (*p < 0x80 && (*p & 0xc0) != 0x80)
            ascii[a++] = *p == '"' || *p == '\\' ? '_' : (char)*p;
        else if ((*p & 0xc0) != 0x80)
            ascii[a++] = '_'; /* one stand-in per character */
        plain &= *p < 0x80 && *p != '"' && *p != '\\';
        if (keep)
            encoded[e++] = (char)*p;
        else
            e += (size_t)snprintf(encoded + e, sizeof(encoded) - e, "%%%02X", *p);
    }
    ascii[a] = '\0';
    encoded[e] = '\0';
    if (plain)
        snprintf(out, size, "attachment; filename=\"%s\"", ascii);
    else
        snprintf(out, size, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, encoded);
}
