#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    return code;
}

void mr_error_clear(mr_error *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}

void mr_error_prefix(mr_error *err, const char *fmt, ...)
{
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
