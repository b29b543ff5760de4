/* libFuzzer target: the CSV writer, round trip. The input is split into
 * fields at NUL bytes; the record written is read back by an RFC 4180
 * reader here, and every field must come back byte for byte (after the
 * apostrophe put before a formula-like field). */
#include "fuzz.h"
#include "util/csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 64

/* Reads one record from s: fields into out (each malloc'd). */
static size_t read_record(const char *s, size_t len, char **out, size_t *lens)
{
    size_t n = 0, i = 0;
    for (;;) {
        char *f = malloc(len + 1);
        size_t k = 0;
        if (i < len && s[i] == '"') {
            for (i++; i < len; i++) {
                if (s[i] == '"' && i + 1 < len && s[i + 1] == '"')
                    f[k++] = s[i++];
                else if (s[i] == '"') {
                    i++;
                    break;
                } else
                    f[k++] = s[i];
            }
        } else {
            while (i < len && s[i] != ',' && !(s[i] == '\r' && i + 1 < len && s[i + 1] == '\n'))
                f[k++] = s[i++];
        }
        out[n] = f;
        lens[n++] = k;
        if (i < len && s[i] == ',' && n < MAX_FIELDS) {
            i++;
            continue;
        }
        return n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *fields[MAX_FIELDS];
    size_t nfields = 0, start = 0;
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (size_t i = 0; i <= size && nfields < MAX_FIELDS; i++) {
        if (i == size || copy[i] == '\0') {
            copy[i] = '\0';
            fields[nfields++] = copy + start;
            start = i + 1;
        }
    }
    struct mr_buf b;
    mr_buf_init(&b, 1u << 24);
    if (mr_csv_row(&b, fields, nfields) == 0) {
        char *back[MAX_FIELDS];
        size_t lens[MAX_FIELDS];
        size_t n = read_record(b.data, b.len, back, lens);
        if (n != nfields)
            abort();
        for (size_t i = 0; i < n; i++) {
            size_t mark = mr_csv_formula_like(fields[i]) ? 1 : 0;
            if (mark && (lens[i] == 0 || back[i][0] != '\''))
                abort();
            if (lens[i] != strlen(fields[i]) + mark ||
                memcmp(back[i] + mark, fields[i], lens[i] - mark) != 0)
                abort();
            free(back[i]);
        }
        if (b.len < 2 || memcmp(b.data + b.len - 2, "\r\n", 2) != 0)
            abort();
    }
    mr_buf_free(&b);
    free(copy);
    return 0;
}
