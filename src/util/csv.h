/* RFC 4180 CSV writer: CRLF line ends; a field is quoted when it holds a
 * comma, a double quote, CR or LF (or starts or ends with a space), and a
 * quote inside is doubled. Bytes are written as they are (UTF-8 stays UTF-8).
 *
 * Spreadsheets run a cell that starts with = + - @ (or a tab or CR before
 * one) as a formula, and our CSVs carry text strangers choose: subjects and
 * senders of mail, user names of failed logins, servers' error messages.
 * Such a field is written with an apostrophe in front (OWASP's advice for
 * CSV injection), which spreadsheets show as text and do not display. */
#ifndef MR_UTIL_CSV_H
#define MR_UTIL_CSV_H

#include "util/buf.h"

#include <stddef.h>

/* Whether a spreadsheet would take s for a formula (it gets the apostrophe). */
int mr_csv_formula_like(const char *s);

/* Appends one record of n fields (NULL is written as an empty field). */
int mr_csv_row(struct mr_buf *b, const char *const *fields, size_t n);

#endif
