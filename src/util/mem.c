#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void out_of_memory(size_t n)
{
    fprintf(stderr, "mailroom: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *mr_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *mr_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *mr_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *mr_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = mr_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

char *mr_xstrdup_or_null(const char *s)
{
    return s ? mr_xstrdup(s) : NULL;
}

char *mr_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory(strlen(fmt));
    return s;
}
