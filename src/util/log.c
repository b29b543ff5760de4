#include "util/log.h"

#include "util/buf.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum mr_log_format format = MR_LOG_TEXT;
static enum mr_log_level threshold = MR_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void mr_log_set_format(enum mr_log_format f)
{
    format = f;
}

int mr_log_format_parse(const char *text, enum mr_log_format *out)
{
    if (strcmp(text, "text") == 0)
        *out = MR_LOG_TEXT;
    else if (strcmp(text, "json") == 0)
        *out = MR_LOG_JSON;
    else
        return -1;
    return 0;
}

void mr_log_set_level(enum mr_log_level l)
{
    threshold = l;
}

int mr_log_level_parse(const char *text, enum mr_log_level *out)
{
    for (int i = MR_LOG_ERROR; i <= MR_LOG_DEBUG; i++)
        if (strcmp(text, level_names[i]) == 0) {
            *out = (enum mr_log_level)i;
            return 0;
        }
    return -1;
}

int mr_log_enabled(enum mr_log_level l)
{
    return l <= threshold;
}

/* key=value, the value quoted (with \" and \\) when it has a space, a quote
 * or a control character, so a line splits back into its fields. */
static void text_field(struct mr_buf *b, const char *key, const char *v)
{
    int quote = !*v || strpbrk(v, " \"\\=") != NULL;
    for (const char *p = v; *p && !quote; p++)
        quote = (unsigned char)*p < 0x20;
    mr_buf_printf(b, " %s=", key);
    if (!quote) {
        mr_buf_append(b, v, strlen(v));
        return;
    }
    mr_buf_append(b, "\"", 1);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            mr_buf_printf(b, "\\%c", *p);
        else if ((unsigned char)*p < 0x20)
            mr_buf_printf(b, "\\x%02x", (unsigned char)*p);
        else
            mr_buf_append(b, p, 1);
    }
    mr_buf_append(b, "\"", 1);
}

void mr_log(enum mr_log_level level, const char *event, size_t n, const struct mr_log_field *fields)
{
    char when[32];
    if (!mr_log_enabled(level))
        return;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (format == MR_LOG_JSON) {
        json_t *o =
            json_pack("{s:s, s:s, s:s}", "time", when, "level", level_names[level], "event", event);
        for (size_t i = 0; i < n; i++) {
            json_t *v = fields[i].is_text ? json_string(fields[i].text ? fields[i].text : "")
                                          : json_integer(fields[i].number);
            /* text that is not UTF-8 (a server's bytes) still leaves a trace */
            json_object_set_new(o, fields[i].key, v ? v : json_string("(not UTF-8)"));
        }
        char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(o);
        if (line) {
            fprintf(stderr, "%s\n", line);
            free(line);
        }
        return;
    }
    struct mr_buf b;
    mr_buf_init(&b, 64 * 1024);
    mr_buf_printf(&b, "%s %s %s", when, level_names[level], event);
    for (size_t i = 0; i < n; i++) {
        char number[32];
        snprintf(number, sizeof(number), "%lld", fields[i].number);
        const char *v = fields[i].is_text ? (fields[i].text ? fields[i].text : "") : number;
        text_field(&b, fields[i].key, v);
    }
    mr_buf_append(&b, "\n", 1);
    fwrite(b.data, 1, b.len, stderr);
    mr_buf_free(&b);
}

void mr_log_trace(void *ctx, char dir, const char *line, size_t len)
{
    char text[1024];
    char d[2] = {dir, '\0'};
    snprintf(text, sizeof(text), "%.*s", (int)(len < sizeof(text) ? len : sizeof(text) - 1), line);
    MR_LOG(MR_LOG_DEBUG, "trace", MR_LI("account", (intptr_t)ctx), MR_LS("dir", d),
           MR_LS("line", text));
}
