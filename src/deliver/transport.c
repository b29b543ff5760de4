/* mr_deliver: the transport a target's kind names, timed; and the helpers
 * the transports share (transport_private.h). */
#include "deliver/deliver.h"
#include "deliver/transport_private.h"

#include "util/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void mr_dr_begin(struct mr_delivery_result *r)
{
    memset(r, 0, sizeof(*r));
    r->outcome = MR_DELIVERY_OK;
}

enum mr_delivery_outcome mr_dr_set(struct mr_delivery_result *r, enum mr_delivery_outcome o,
                                   const char *fmt, ...)
{
    va_list ap;
    char text[sizeof(r->error) * 2];
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    /* the words are ours but may quote the other side's: printable */
    mr_dr_printable(text, strlen(text), 0, r->error, sizeof(r->error));
    va_start(ap, fmt);
    mr_said_capture(&r->said, fmt, ap);
    va_end(ap);
    if (strcmp(text, r->error) != 0) /* made printable, or cut: said as English only */
        r->said.format = NULL;
    r->outcome = o;
    return o;
}

/* The length of the UTF-8 sequence at p (n bytes left), 0 when invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80                    ? 1
                 : p[0] >= 0xC2 && p[0] <= 0xDF ? 2
                 : (p[0] & 0xF0) == 0xE0        ? 3
                 : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4
                                                : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0)))
        return 0;
    if (len == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)))
        return 0;
    return len;
}

size_t mr_dr_printable(const char *in, size_t n, int keep_lines, char *out, size_t size)
{
    static const char ellipsis[] = "…";
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0, i = 0;
    if (size == 0)
        return 0;
    size_t room = size > sizeof(ellipsis) ? size - sizeof(ellipsis) : 0;
    while (i < n) {
        size_t take = utf8_len(p + i, n - i);
        if (take == 1 && p[i] == '\r') {
            i++;
            continue;
        }
        int keep = take > 1 || (take == 1 && p[i] >= 0x20 && p[i] != 0x7F) ||
                   (take == 1 && keep_lines && (p[i] == '\n' || p[i] == '\t'));
        size_t put = keep ? take : 1;
        if (o + put > room)
            break;
        if (keep)
            memcpy(out + o, p + i, take);
        else
            out[o] = '?';
        o += put;
        i += take ? take : 1;
    }
    if (i < n && size >= sizeof(ellipsis)) {
        memcpy(out + o, ellipsis, sizeof(ellipsis) - 1);
        o += sizeof(ellipsis) - 1;
    }
    out[o < size ? o : size - 1] = '\0';
    return o;
}

void mr_dr_respond(struct mr_delivery_result *r, const char *sep, const char *in, size_t n)
{
    size_t used = strlen(r->response);
    if (used && sep) {
        size_t s = strlen(sep);
        if (used + s + 1 >= sizeof(r->response))
            return;
        memcpy(r->response + used, sep, s + 1);
        used += s;
    }
    if (used + 1 < sizeof(r->response))
        mr_dr_printable(in, n, 1, r->response + used, sizeof(r->response) - used);
}

void mr_dr_hostname(char *out, size_t size)
{
    char name[256] = "";
    size_t o = 0;
    if (gethostname(name, sizeof(name) - 1) != 0)
        name[0] = '\0';
    for (const char *p = name; *p && o + 1 < size; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_')
            out[o++] = *p;
    if (o == 0)
        o = (size_t)snprintf(out, size, "localhost");
    else
        out[o] = '\0';
}

void mr_dr_sender(const char *from, char *out, size_t size)
{
    const char *s = from ? from : "", *lt = strrchr(s, '<');
    size_t n;
    out[0] = '\0';
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (!gt || gt[1 + strspn(gt + 1, " \t")] != '\0')
            return;
        s = lt + 1;
        n = (size_t)(gt - s);
    } else {
        s += strspn(s, " \t");
        n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
    }
    const char *at = memchr(s, '@', n);
    if (!at || at == s || at == s + n - 1 || memchr(at + 1, '@', (size_t)(s + n - at - 1)) ||
        n + 1 > size)
        return;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F ||
            strchr(",<>()[]\\\";:", s[i]))
            return;
    memcpy(out, s, n);
    out[n] = '\0';
}

void mr_deliver(const struct mr_target *t, const char *secret, const struct mr_delivery_item *it,
                struct mr_delivery_result *r)
{
    int64_t t0 = mr_now_ms();
    switch (t->kind) {
    case MR_TARGET_WEBHOOK:
        mr_deliver_webhook(t, secret, it, r);
        break;
    case MR_TARGET_MAILDIR:
        mr_deliver_maildir(t, it, r);
        break;
    case MR_TARGET_COMMAND:
        mr_deliver_command(t, it, r);
        break;
    case MR_TARGET_LMTP:
        mr_deliver_lmtp(t, it, r);
        break;
    default:
        mr_dr_begin(r);
        mr_dr_set(r, MR_DELIVERY_FAIL, "the target has no kind (webhook, maildir, command, lmtp)");
        break;
    }
    r->ms = mr_now_ms() - t0;
}
