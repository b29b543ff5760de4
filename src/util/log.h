/* The daemon's log: one line per event on stderr, as text
 * (`2026-11-22T03:40:00Z check account=12 result=ok fetched=3`) or as a
 * JSON object per line (`{"time":"…","event":"check","account":12,…}`),
 * chosen with `serve --log-format`. Fields are named, so a line about an
 * account always carries `account`. Never give a secret as a field. */
#ifndef MR_UTIL_LOG_H
#define MR_UTIL_LOG_H

#include <stddef.h>

enum mr_log_format { MR_LOG_TEXT, MR_LOG_JSON };

struct mr_log_field {
    const char *key;
    int is_text;
    const char *text; /* when is_text (NULL shows as "") */
    long long number; /* otherwise */
};

#define MR_LS(k, v) ((struct mr_log_field){(k), 1, (v), 0})
#define MR_LI(k, v) ((struct mr_log_field){(k), 0, NULL, (long long)(v)})
/* MR_LOG("check", MR_LI("account", id), MR_LS("result", "ok")) */
#define MR_LOG(event, ...)                                                                         \
    mr_log((event), sizeof((struct mr_log_field[]){__VA_ARGS__}) / sizeof(struct mr_log_field),    \
           (struct mr_log_field[]){__VA_ARGS__})

void mr_log_set_format(enum mr_log_format f);
int mr_log_format_parse(const char *text, enum mr_log_format *out);
void mr_log(const char *event, size_t n, const struct mr_log_field *fields);

#endif
