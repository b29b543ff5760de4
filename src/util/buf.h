/* A growable byte buffer with a hard cap. Appending past the cap fails with
 * MR_ETOOBIG instead of growing without bound. The data is always
 * NUL-terminated (the terminator is not counted in len). */
#ifndef MR_UTIL_BUF_H
#define MR_UTIL_BUF_H

#include <stddef.h>

struct mr_buf {
    char *data;
    size_t len;
    size_t cap; /* allocated bytes, including room for the terminator */
    size_t max; /* the most len may ever be */
};

void mr_buf_init(struct mr_buf *b, size_t max);
void mr_buf_free(struct mr_buf *b);
void mr_buf_reset(struct mr_buf *b);
/* Makes room for extra more bytes now (MR_ETOOBIG past the cap). */
int mr_buf_reserve(struct mr_buf *b, size_t extra);
/* The same, allocating exactly what is asked (for a size known upfront). */
int mr_buf_reserve_exact(struct mr_buf *b, size_t extra);
int mr_buf_append(struct mr_buf *b, const void *data, size_t n);
int mr_buf_puts(struct mr_buf *b, const char *s);
int mr_buf_putc(struct mr_buf *b, char c);
int mr_buf_printf(struct mr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
