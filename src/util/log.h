/* The daemon's log: one line per event on stderr, as text
 * (`2026-11-22T03:40:00Z info check account=12 result=ok fetched=3`) or as
 * a JSON object per line (`{"time":"…","level":"info","event":"check",
 * "account":12,…}`), chosen with `serve --log-format`; `serve --log-level`
 * drops the levels below it (debug adds the protocol trace of the daemon's
 * checks, passwords redacted). Fields are named, so a line about an account
 * always carries `account`. Never give a secret as a field. */
#ifndef MR_UTIL_LOG_H
#define MR_UTIL_LOG_H

#include <stddef.h>

enum mr_log_format { MR_LOG_TEXT, MR_LOG_JSON };
enum mr_log_level { MR_LOG_ERROR, MR_LOG_WARN, MR_LOG_INFO, MR_LOG_DEBUG };

struct mr_log_field {
    const char *key;
    int is_text;
    const char *text; /* when is_text (NULL shows as "") */
    long long number; /* otherwise */
};

#define MR_LS(k, v) ((struct mr_log_field){(k), 1, (v), 0})
#define MR_LI(k, v) ((struct mr_log_field){(k), 0, NULL, (long long)(v)})
/* MR_LOG(MR_LOG_INFO, "check", MR_LI("account", id), MR_LS("result", "ok")) */
#define MR_LOG(level, event, ...)                                                                  \
    mr_log((level), (event),                                                                       \
           sizeof((struct mr_log_field[]){__VA_ARGS__}) / sizeof(struct mr_log_field),             \
           (struct mr_log_field[]){__VA_ARGS__})

void mr_log_set_format(enum mr_log_format f);
int mr_log_format_parse(const char *text, enum mr_log_format *out);
void mr_log_set_level(enum mr_log_level l);
int mr_log_level_parse(const char *text, enum mr_log_level *out);
/* True when a line at this level would be written. */
int mr_log_enabled(enum mr_log_level l);
void mr_log(enum mr_log_level level, const char *event, size_t n,
            const struct mr_log_field *fields);
/* A protocol trace callback (mr_trace_fn) that logs each line at debug
 * level as `trace account=ID dir=C|S line=…`; ctx is the account ID cast to
 * a pointer. The session has already redacted the secrets. */
void mr_log_trace(void *ctx, char dir, const char *line, size_t len);

#endif
