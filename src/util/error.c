#include "util/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* One conversion's argument as text: the spec [start, end) alone, with
 * its * width and precision already taken from ap. */
static int capture_one(struct mr_said *s, const char *spec, size_t len, va_list *ap, size_t *used)
{
    char one[32], out[MR_SAID_TEXT_MAX];
    int star[2], nstar = 0;
    if (len >= sizeof(one))
        return -1; /* a spec this long: nothing said */
    for (size_t i = 0; i < len; i++)
        if (spec[i] == 't' || spec[i] == 'L' || spec[i] == 'q')
            return -1; /* a length read with a type we do not take */
    memcpy(one, spec, len);
    one[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (one[i] == '*' && nstar < 2)
            star[nstar++] = va_arg(*ap, int);
    char conv = one[len - 1];
    if (conv == 'c' && strchr(one, 'l'))
        return -1; /* %lc takes a wint_t */
    int l = strstr(one, "ll") ? 2 : strchr(one, 'l') ? 1 : 0;
    int z = strchr(one, 'z') != NULL, j = strchr(one, 'j') != NULL;
    out[0] = '\0';
#define ONE(value)                                                                                 \
    (nstar == 2   ? snprintf(out, sizeof(out), one, star[0], star[1], value)                       \
     : nstar == 1 ? snprintf(out, sizeof(out), one, star[0], value)                                \
                  : snprintf(out, sizeof(out), one, value))
    switch (conv) {
    case 's': {
        const char *v = va_arg(*ap, const char *);
        ONE(v ? v : "(null)");
        break;
    }
    case 'c':
    case 'd':
    case 'i':
        if (z)
            ONE(va_arg(*ap, ssize_t));
        else if (j)
            ONE(va_arg(*ap, intmax_t));
        else if (l == 2)
            ONE(va_arg(*ap, long long));
        else if (l == 1)
            ONE(va_arg(*ap, long));
        else
            ONE(va_arg(*ap, int));
        break;
    case 'u':
    case 'x':
    case 'X':
    case 'o':
        if (z)
            ONE(va_arg(*ap, size_t));
        else if (j)
            ONE(va_arg(*ap, uintmax_t));
        else if (l == 2)
            ONE(va_arg(*ap, unsigned long long));
        else if (l == 1)
            ONE(va_arg(*ap, unsigned long));
        else
            ONE(va_arg(*ap, unsigned));
        break;
    case 'f':
    case 'g':
    case 'e':
        ONE(va_arg(*ap, double));
        break;
    case 'p':
        ONE(va_arg(*ap, void *));
        break;
    default:
        return -1; /* a conversion we do not know: the arguments after it would be misread */
    }
#undef ONE
    size_t n = strlen(out);
    if (n == sizeof(out) - 1 || s->nargs == MR_SAID_ARGS_MAX || *used + n + 1 > sizeof(s->text))
        return -1; /* an argument cut or left out: the sentence would be said short */
    s->arg[s->nargs++] = (unsigned short)*used;
    memcpy(s->text + *used, out, n + 1);
    *used += n + 1;
    return 0;
}

void mr_said_capture(struct mr_said *s, const char *fmt, va_list ap)
{
    va_list aq;
    size_t used = 0;
    s->format = fmt;
    s->nargs = 0;
    va_copy(aq, ap);
    for (const char *p = fmt; p && *p; p++) {
        if (*p != '%')
            continue;
        if (p[1] == '%') {
            p++;
            continue;
        }
        size_t n = 1 + strspn(p + 1, "-+ #0123456789.*hlLqjzt");
        if (!p[n] || capture_one(s, p, n + 1, &aq, &used) != 0) {
            s->format = NULL; /* said as English only */
            s->nargs = 0;
            break;
        }
        p += n;
    }
    va_end(aq);
}

const char *mr_said_arg(const struct mr_said *s, unsigned i)
{
    return i < s->nargs ? s->text + s->arg[i] : "";
}

static unsigned text_hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int mr_error_said_valid(const mr_error *err)
{
    return err->said.format && err->nprefix <= MR_SAID_PREFIXES &&
           err->said_hash == text_hash(err->message);
}

int mr_error_set(mr_error *err, int code, const char *field, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    mr_said_capture(&err->said, fmt, ap);
    va_end(ap);
    err->nprefix = 0;
    err->said_hash = text_hash(err->message);
    return code;
}

void mr_error_clear(mr_error *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}

void mr_error_prefix(mr_error *err, const char *fmt, ...)
{
    int was_valid = mr_error_said_valid(err); /* before the message changes */
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    size_t p = strlen(prefix), room = sizeof(err->message) - p - 3; /* ": " and NUL */
    size_t old = strnlen(err->message, room);
    memmove(err->message + p + 2, err->message, old); /* what does not fit is cut */
    err->message[p + 2 + old] = '\0';
    memcpy(err->message, prefix, p);
    memcpy(err->message + p, ": ", 2);
    if (was_valid && err->nprefix < MR_SAID_PREFIXES) { /* the new one goes first */
        memmove(&err->prefix[1], &err->prefix[0], err->nprefix * sizeof(err->prefix[0]));
        va_start(ap, fmt);
        mr_said_capture(&err->prefix[0], fmt, ap);
        va_end(ap);
        err->nprefix++;
        err->said_hash = text_hash(err->message);
    } else
        err->nprefix = MR_SAID_PREFIXES + 1;
}

const char *mr_status_name(int code)
{
    switch (code) {
    case MR_OK:
        return "ok";
    case MR_EINVAL:
        return "invalid";
    case MR_ENOTFOUND:
        return "not found";
    case MR_EEXIST:
        return "already exists";
    case MR_EINUSE:
        return "in use";
    case MR_EIO:
        return "i/o error";
    case MR_ESTORE:
        return "store error";
    case MR_EVAULT:
        return "vault error";
    case MR_ETOOBIG:
        return "too big";
    case MR_EUSAGE:
        return "usage";
    case MR_ETIMEOUT:
        return "timeout";
    case MR_ENET:
        return "network error";
    case MR_ETLS:
        return "tls error";
    case MR_EPROTO:
        return "protocol error";
    case MR_EAUTH:
        return "authentication failed";
    case MR_ESERVER:
        return "server error";
    default:
        return "error";
    }
}

void mr_problems_add(struct mr_problems *p, const char *field, const char *fmt, ...)
{
    if (p->count >= MR_PROBLEMS_MAX || mr_problems_has(p, field))
        return; /* one message per field: the first, most specific one */
    struct mr_problem *it = &p->items[p->count++];
    snprintf(it->field, sizeof(it->field), "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->message, sizeof(it->message), fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    mr_said_capture(&it->said, fmt, ap);
    va_end(ap);
}

int mr_problems_has(const struct mr_problems *p, const char *field)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->items[i].field, field) == 0)
            return 1;
    return 0;
}

int mr_problems_to_error(const struct mr_problems *p, mr_error *err)
{
    if (p->count == 0)
        return 0;
    char text[MR_ERROR_MESSAGE_MAX] = "";
    size_t used = 0;
    for (size_t i = 0; i < p->count && used < sizeof(text); i++) {
        int n = snprintf(text + used, sizeof(text) - used, "%s%s: %s", i ? "; " : "",
                         p->items[i].field, p->items[i].message);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return mr_error_set(err, MR_EINVAL, p->items[0].field, "%s", text);
}
