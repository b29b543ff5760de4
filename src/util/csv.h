/* RFC 4180 CSV writer: CRLF line ends; a field is quoted when it holds a
 * comma, a double quote, CR or LF (or starts or ends with a space), and a
 * quote inside is doubled. Bytes are written as they are (UTF-8 stays UTF-8). */
#ifndef MR_UTIL_CSV_H
#define MR_UTIL_CSV_H

#include "util/buf.h"

#include <stddef.h>

/* Appends one record of n fields (NULL is written as an empty field). */
int mr_csv_row(struct mr_buf *b, const char *const *fields, size_t n);

#endif
