/* A MINIMAL stand-in for the target model (core/target.h), only so that
 * the transports link and their tests run: init, clear, copy, the kinds'
 * names and the defaulting accessors. The real one (field table,
 * mr_target_set, validation) replaces this file on merge. */
#include "core/target.h"

#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mr_target_init(struct mr_target *t)
{
    memset(t, 0, sizeof(*t));
    t->enabled = 1;
}

void mr_target_clear(struct mr_target *t)
{
    mr_freep(&t->name);
    mr_freep(&t->url);
    mr_freep(&t->stop_status);
    mr_freep(&t->path);
    mr_freep(&t->command);
    mr_freep(&t->host);
    mr_freep(&t->recipients);
    mr_freep(&t->skip_classes);
}

void mr_target_copy(struct mr_target *dst, const struct mr_target *src)
{
    *dst = *src;
    dst->name = mr_xstrdup_or_null(src->name);
    dst->url = mr_xstrdup_or_null(src->url);
    dst->stop_status = mr_xstrdup_or_null(src->stop_status);
    dst->path = mr_xstrdup_or_null(src->path);
    dst->command = mr_xstrdup_or_null(src->command);
    dst->host = mr_xstrdup_or_null(src->host);
    dst->recipients = mr_xstrdup_or_null(src->recipients);
    dst->skip_classes = mr_xstrdup_or_null(src->skip_classes);
}

static const char *const kind_names[] = {"", "webhook", "maildir", "command", "lmtp"};

const char *mr_target_kind_name(enum mr_target_kind k)
{
    return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "";
}

int mr_target_kind_parse(const char *s, enum mr_target_kind *out)
{
    for (int k = MR_TARGET_WEBHOOK; k <= MR_TARGET_LMTP; k++)
        if (s && strcmp(s, kind_names[k]) == 0) {
            *out = (enum mr_target_kind)k;
            return 0;
        }
    return MR_EINVAL;
}

int mr_target_timeout(const struct mr_target *t)
{
    return t->timeout > 0 ? t->timeout : MR_TARGET_TIMEOUT_DEFAULT;
}

int mr_target_retry_for(const struct mr_target *t)
{
    return t->retry_for > 0 ? t->retry_for : MR_TARGET_RETRY_DEFAULT;
}

long long mr_target_inline_max(const struct mr_target *t)
{
    return t->inline_max > 0 ? t->inline_max : MR_TARGET_INLINE_DEFAULT;
}

int mr_target_port(const struct mr_target *t)
{
    return t->port > 0 ? t->port : MR_LMTP_PORT_DEFAULT;
}

static int in_list(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        p += strspn(p, ", ");
        size_t len = strcspn(p, ",");
        size_t end = len;
        while (end && p[end - 1] == ' ')
            end--;
        if (end == n && strncmp(p, word, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

int mr_target_is_stop_status(const struct mr_target *t, long status)
{
    char text[24];
    snprintf(text, sizeof(text), "%ld", status);
    return in_list(t->stop_status ? t->stop_status : "410", text);
}

int mr_target_skips(const struct mr_target *t, const char *msg_class)
{
    return msg_class && *msg_class && in_list(t->skip_classes, msg_class);
}

int mr_target_set(struct mr_target *t, const char *key, const char *text, struct mr_problems *p)
{
    (void)t;
    (void)text;
    mr_problems_add(p, key, "not settable in this stand-in");
    return MR_EINVAL;
}

int mr_target_validate(const struct mr_target *t, int credential_ok, struct mr_problems *p)
{
    (void)t;
    (void)credential_ok;
    (void)p;
    return 0;
}
