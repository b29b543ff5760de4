#include "util/buf.h"

#include "util/error.h"
#include "util/mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void mr_buf_init(struct mr_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void mr_buf_free(struct mr_buf *b)
{
    mr_freep(&b->data);
    b->len = b->cap = 0;
}

void mr_buf_reset(struct mr_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int mr_buf_reserve(struct mr_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return MR_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    b->data = mr_xrealloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int mr_buf_reserve_exact(struct mr_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return MR_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need > b->cap) {
        b->data = mr_xrealloc(b->data, need);
        b->cap = need;
    }
    return 0;
}

int mr_buf_append(struct mr_buf *b, const void *data, size_t n)
{
    int rc = mr_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int mr_buf_puts(struct mr_buf *b, const char *s)
{
    return mr_buf_append(b, s, strlen(s));
}

int mr_buf_putc(struct mr_buf *b, char c)
{
    return mr_buf_append(b, &c, 1);
}

int mr_buf_printf(struct mr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MR_EINVAL;
    int rc = mr_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}
