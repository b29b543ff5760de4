#include "proto/imap_utf7.h"

#include "util/error.h"
#include "util/text.h"

#include <stdint.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Next code point of valid UTF-8 at *s. */
static uint32_t next_cp(const unsigned char **s)
{
    const unsigned char *p = *s;
    uint32_t cp;
    int len = p[0] < 0x80 ? 1 : p[0] < 0xE0 ? 2 : p[0] < 0xF0 ? 3 : 4;
    cp = len == 1 ? p[0] : p[0] & (0x3F >> (len - 1));
    for (int i = 1; i < len; i++)
        cp = (cp << 6) | (p[i] & 0x3F);
    *s = p + len;
    return cp;
}

static int put_utf16(struct mr_buf *out, uint32_t *bits, int *nbits, uint16_t unit)
{
    int rc = 0;
    *bits = (*bits << 16) | unit;
    *nbits += 16;
    while (*nbits >= 6 && rc == 0) {
        *nbits -= 6;
        rc = mr_buf_putc(out, b64[(*bits >> *nbits) & 0x3F]);
    }
    return rc;
}

static int encode_run(const unsigned char **s, struct mr_buf *out)
{
    uint32_t bits = 0;
    int nbits = 0, rc = mr_buf_putc(out, '&');
    while (rc == 0 && **s && (**s < 0x20 || **s > 0x7E)) {
        uint32_t cp = next_cp(s);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            rc = put_utf16(out, &bits, &nbits, (uint16_t)(0xD800 + (cp >> 10)));
            if (rc == 0)
                rc = put_utf16(out, &bits, &nbits, (uint16_t)(0xDC00 + (cp & 0x3FF)));
        } else
            rc = put_utf16(out, &bits, &nbits, (uint16_t)cp);
    }
    if (rc == 0 && nbits > 0)
        rc = mr_buf_putc(out, b64[(bits << (6 - nbits)) & 0x3F]);
    return rc ? rc : mr_buf_putc(out, '-');
}

int mr_imap_utf7_encode(const char *utf8, struct mr_buf *out)
{
    if (!mr_utf8_valid(utf8, strlen(utf8)))
        return MR_EINVAL;
    const unsigned char *s = (const unsigned char *)utf8;
    int rc = mr_buf_append(out, "", 0); /* "" encodes to "", not to nothing */
    while (*s && rc == 0) {
        if (*s == '&') {
            rc = mr_buf_puts(out, "&-");
            s++;
        } else if (*s >= 0x20 && *s <= 0x7E)
            rc = mr_buf_putc(out, (char)*s++);
        else
            rc = encode_run(&s, out);
    }
    return rc;
}

static int put_cp(struct mr_buf *out, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return mr_buf_append(out, u, n);
}

static int decode_run(const char **s, struct mr_buf *out)
{
    uint32_t bits = 0, high = 0;
    int nbits = 0, rc = 0;
    const char *p = *s;
    for (; *p && *p != '-' && rc == 0; p++) {
        const char *at = memchr(b64, *p, 64);
        if (!at)
            return MR_EINVAL;
        bits = (bits << 6) | (uint32_t)(at - b64);
        nbits += 6;
        if (nbits < 16)
            continue;
        nbits -= 16;
        uint32_t unit = (bits >> nbits) & 0xFFFF;
        if (unit >= 0xD800 && unit < 0xDC00)
            high = unit;
        else if (unit >= 0xDC00 && unit < 0xE000 && high) {
            rc = put_cp(out, 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00));
            high = 0;
        } else
            rc = put_cp(out, unit);
    }
    if (*p != '-' || high)
        return MR_EINVAL;
    *s = p + 1;
    return rc;
}

int mr_imap_utf7_decode(const char *s, struct mr_buf *out)
{
    int rc = 0;
    while (*s && rc == 0) {
        if (s[0] == '&' && s[1] == '-') {
            rc = mr_buf_putc(out, '&');
            s += 2;
        } else if (*s == '&') {
            s++;
            rc = decode_run(&s, out);
        } else
            rc = mr_buf_putc(out, *s++);
    }
    return rc;
}

int mr_imap_quote(const char *s, struct mr_buf *out)
{
    int rc = mr_buf_putc(out, '"');
    for (; *s && rc == 0; s++) {
        if (*s == '"' || *s == '\\')
            rc = mr_buf_putc(out, '\\');
        if (rc == 0)
            rc = mr_buf_putc(out, *s);
    }
    return rc ? rc : mr_buf_putc(out, '"');
}
