/* Memory policy, stated once: mailroom does not try to limp on after an
 * allocation fails. The mr_x* allocators print a message and abort. Every
 * allocation has one owner; mr_freep() frees and clears the owner's pointer. */
#ifndef MR_UTIL_MEM_H
#define MR_UTIL_MEM_H

#include <stddef.h>
#include <stdlib.h>

void *mr_xmalloc(size_t n);
void *mr_xcalloc(size_t count, size_t size);
void *mr_xrealloc(void *p, size_t n);
char *mr_xstrdup(const char *s);
/* NULL in, NULL out. */
char *mr_xstrdup_or_null(const char *s);
char *mr_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define mr_freep(pp)                                                                               \
    do {                                                                                           \
        free(*(pp));                                                                               \
        *(pp) = NULL;                                                                              \
    } while (0)

#endif
