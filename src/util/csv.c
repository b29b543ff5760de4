#include "util/csv.h"

#include <string.h>

static int needs_quotes(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return 0;
    if (s[0] == ' ' || s[n - 1] == ' ')
        return 1;
    return strpbrk(s, ",\"\r\n") != NULL;
}

/* Whether a spreadsheet would take the field for a formula. */
int mr_csv_formula_like(const char *s)
{
    return s && *s && strchr("=+-@\t\r", *s) != NULL;
}

static int put_field(struct mr_buf *b, const char *s)
{
    if (!s)
        return 0;
    int quoted = needs_quotes(s), rc = 0;
    if (quoted)
        rc = mr_buf_putc(b, '"');
    if (rc == 0 && mr_csv_formula_like(s))
        rc = mr_buf_putc(b, '\''); /* part of the field: inside the quotes */
    if (!quoted)
        return rc ? rc : mr_buf_puts(b, s);
    for (const char *p = s; *p && rc == 0; p++) {
        if (*p == '"')
            rc = mr_buf_putc(b, '"');
        if (rc == 0)
            rc = mr_buf_putc(b, *p);
    }
    return rc ? rc : mr_buf_putc(b, '"');
}

int mr_csv_row(struct mr_buf *b, const char *const *fields, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = mr_buf_putc(b, ',');
        if (rc == 0)
            rc = put_field(b, fields[i]);
    }
    return rc ? rc : mr_buf_append(b, "\r\n", 2);
}
