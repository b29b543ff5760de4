#include "core/target.h"

#include "core/names.h"
#include "util/mem.h"
#include "util/text.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[] = {"", "webhook", "maildir", "command", "lmtp"};

/* The classes a target can skip (mime/summary.c sets them). */
static const char *const skippable[] = {"auto", "report", "ordinary", NULL};

void mr_target_init(struct mr_target *t)
{
    memset(t, 0, sizeof(*t));
    t->enabled = 1;
}

void mr_target_clear(struct mr_target *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->url);
    free(t->stop_status);
    free(t->path);
    free(t->command);
    free(t->host);
    free(t->recipients);
    free(t->skip_classes);
    memset(t, 0, sizeof(*t));
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

const char *mr_target_kind_name(enum mr_target_kind k)
{
    return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "";
}

int mr_target_kind_parse(const char *s, enum mr_target_kind *out)
{
    for (int k = MR_TARGET_WEBHOOK; k <= MR_TARGET_LMTP; k++)
        if (s && strcasecmp(s, kind_names[k]) == 0) {
            *out = (enum mr_target_kind)k;
            return 0;
        }
    if (s && strcasecmp(s, "mda") == 0) {
        *out = MR_TARGET_COMMAND;
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

/* Calls each(ctx, item, len) for every comma-separated item of list, spaces
 * around it dropped; stops at the first non-zero answer and returns it. */
static int each_item(const char *list, int (*each)(void *ctx, const char *s, size_t n), void *ctx)
{
    const char *p = list ? list : "";
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        size_t k = n;
        while (k && (*s == ' ' || *s == '\t'))
            s++, k--;
        while (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
            k--;
        int rc = k ? each(ctx, s, k) : 0;
        if (rc)
            return rc;
        p += n + (end ? 1 : 0);
    }
    return 0;
}

struct status_match {
    long status;
};

static int match_status(void *ctx, const char *s, size_t n)
{
    struct status_match *m = ctx;
    char buf[8];
    if (n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return atol(buf) == m->status;
}

int mr_target_is_stop_status(const struct mr_target *t, long status)
{
    struct status_match m = {status};
    if (!t->stop_status || !t->stop_status[0])
        return status == 410;
    return each_item(t->stop_status, match_status, &m);
}

struct class_match {
    const char *cls;
};

static int match_class(void *ctx, const char *s, size_t n)
{
    struct class_match *m = ctx;
    return strlen(m->cls) == n && strncasecmp(s, m->cls, n) == 0;
}

int mr_target_skips(const struct mr_target *t, const char *msg_class)
{
    struct class_match m = {msg_class};
    return msg_class && msg_class[0] && each_item(t->skip_classes, match_class, &m);
}

static void set_text(char **field, const char *text)
{
    free(*field);
    *field = text && text[0] ? mr_xstrdup(text) : NULL;
}

const char *const mr_target_keys[] = {
    "name",        "kind",       "enabled",  "url",       "allow_http",   "secret_credential",
    "stop_status", "inline_max", "path",     "command",   "host",         "port",
    "recipients",  "timeout",    "parallel", "retry_for", "skip_classes", NULL,
};

const char *mr_target_get(const struct mr_target *t, const char *key, char *buf, size_t size)
{
    long long num = -1;
    if (strcmp(key, "name") == 0)
        return t->name;
    if (strcmp(key, "kind") == 0)
        return mr_target_kind_name(t->kind);
    if (strcmp(key, "enabled") == 0)
        return mr_yes_no(t->enabled);
    if (strcmp(key, "url") == 0)
        return t->url;
    if (strcmp(key, "allow_http") == 0)
        return mr_yes_no(t->allow_http);
    if (strcmp(key, "parallel") == 0)
        return mr_yes_no(t->parallel);
    if (strcmp(key, "stop_status") == 0)
        return t->kind == MR_TARGET_WEBHOOK && !t->stop_status ? "410" : t->stop_status;
    if (strcmp(key, "path") == 0)
        return t->path;
    if (strcmp(key, "command") == 0)
        return t->command;
    if (strcmp(key, "host") == 0)
        return t->host;
    if (strcmp(key, "recipients") == 0)
        return t->recipients;
    if (strcmp(key, "skip_classes") == 0)
        return t->skip_classes;
    if (strcmp(key, "secret_credential") == 0) {
        if (!t->secret_credential_id)
            return "";
        num = t->secret_credential_id;
    } else if (strcmp(key, "inline_max") == 0)
        num = t->kind == MR_TARGET_WEBHOOK ? mr_target_inline_max(t) : -1;
    else if (strcmp(key, "port") == 0)
        num = t->kind == MR_TARGET_LMTP && t->host ? mr_target_port(t) : -1;
    else if (strcmp(key, "timeout") == 0)
        num = mr_target_timeout(t);
    else if (strcmp(key, "retry_for") == 0)
        num = mr_target_retry_for(t);
    if (num < 0)
        return NULL;
    snprintf(buf, size, "%lld", num);
    return buf;
}

static int set_bool(int *field, const char *key, const char *text, struct mr_problems *p)
{
    if (mr_parse_yes_no(text, field) == 0)
        return 0;
    mr_problems_add(p, key, "must be yes or no, not \"%s\"", text);
    return MR_EINVAL;
}

static int set_int(int *field, const char *key, const char *text, long long min, long long max,
                   struct mr_problems *p)
{
    long long v;
    if (!text[0]) {
        *field = 0; /* the default */
        return 0;
    }
    if (mr_parse_int(text, min, max, &v) == 0) {
        *field = (int)v;
        return 0;
    }
    mr_problems_add(p, key, "must be a whole number from %lld to %lld, not \"%s\"", min, max, text);
    return MR_EINVAL;
}

int mr_target_set(struct mr_target *t, const char *key, const char *text, struct mr_problems *p)
{
    if (!text)
        text = "";
    if (strcmp(key, "name") == 0)
        set_text(&t->name, text);
    else if (strcmp(key, "kind") == 0) {
        if (mr_target_kind_parse(text, &t->kind) != 0) {
            mr_problems_add(p, key, "must be webhook, maildir, command or lmtp, not \"%s\"", text);
            return MR_EINVAL;
        }
    } else if (strcmp(key, "enabled") == 0)
        return set_bool(&t->enabled, key, text, p);
    else if (strcmp(key, "url") == 0)
        set_text(&t->url, text);
    else if (strcmp(key, "allow_http") == 0)
        return set_bool(&t->allow_http, key, text, p);
    else if (strcmp(key, "stop_status") == 0)
        set_text(&t->stop_status, text);
    else if (strcmp(key, "inline_max") == 0) {
        long long v;
        if (!text[0])
            t->inline_max = 0;
        else if (mr_parse_int(text, 0, MR_TARGET_INLINE_MAX, &v) == 0)
            t->inline_max = v;
        else {
            mr_problems_add(p, key, "must be a number of bytes from 0 to %lld, not \"%s\"",
                            MR_TARGET_INLINE_MAX, text);
            return MR_EINVAL;
        }
    } else if (strcmp(key, "path") == 0)
        set_text(&t->path, text);
    else if (strcmp(key, "command") == 0)
        set_text(&t->command, text);
    else if (strcmp(key, "host") == 0)
        set_text(&t->host, text);
    else if (strcmp(key, "port") == 0)
        return set_int(&t->port, key, text, 1, 65535, p);
    else if (strcmp(key, "recipients") == 0)
        set_text(&t->recipients, text);
    else if (strcmp(key, "timeout") == 0)
        return set_int(&t->timeout, key, text, MR_TARGET_TIMEOUT_MIN, MR_TARGET_TIMEOUT_MAX, p);
    else if (strcmp(key, "parallel") == 0)
        return set_bool(&t->parallel, key, text, p);
    else if (strcmp(key, "retry_for") == 0)
        return set_int(&t->retry_for, key, text, MR_TARGET_RETRY_MIN, MR_TARGET_RETRY_MAX, p);
    else if (strcmp(key, "skip_classes") == 0)
        set_text(&t->skip_classes, text);
    else {
        mr_problems_add(p, key, "is not a field of a delivery target");
        return MR_EINVAL;
    }
    return 0;
}

static int check_status(void *ctx, const char *s, size_t n)
{
    struct mr_problems *p = ctx;
    int ok = n == 3 && s[0] >= '1' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
             s[2] <= '9' && s[0] != '2';
    if (!ok)
        mr_problems_add(p, "stop_status",
                        "must be HTTP statuses that are not 2xx, separated by commas (such as "
                        "406,410), not \"%.*s\"",
                        (int)(n > 40 ? 40 : n), s);
    return !ok;
}

static int check_class(void *ctx, const char *s, size_t n)
{
    struct mr_problems *p = ctx;
    for (size_t i = 0; skippable[i]; i++)
        if (strlen(skippable[i]) == n && strncasecmp(s, skippable[i], n) == 0)
            return 0;
    mr_problems_add(p, "skip_classes",
                    "must be auto, report or ordinary, separated by commas, not \"%.*s\"",
                    (int)(n > 40 ? 40 : n), s);
    return 1;
}

/* A recipient for RCPT TO: an address (local@domain) or, as Dovecot's
 * and Cyrus's LMTP take, a bare user name; no spaces, brackets or controls
 * (it goes between < and >). */
static int check_recipient(void *ctx, const char *s, size_t n)
{
    struct mr_problems *p = ctx;
    const char *at = memchr(s, '@', n);
    int ok = n <= 254 && (!at || (at > s && at < s + n - 1));
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)s[i] > ' ' && s[i] != '<' && s[i] != '>' && s[i] != 0x7f && s[i] != '"';
    if (!ok)
        mr_problems_add(p, "recipients",
                        "must be addresses (support@example.com) or user names, separated by "
                        "commas, not \"%.*s\"",
                        (int)(n > 60 ? 60 : n), s);
    return !ok;
}

static void need(const struct mr_target *t, const char *field, const char *value, const char *what,
                 struct mr_problems *p)
{
    (void)t;
    if (!value || !value[0])
        mr_problems_add(p, field, "is required for %s", what);
}

static void not_for(const char *field, const char *value, const char *kind, struct mr_problems *p)
{
    if (value && value[0])
        mr_problems_add(p, field, "is not used by a %s target; leave it empty", kind);
}

static void check_url(const struct mr_target *t, struct mr_problems *p)
{
    const char *u = t->url;
    if (!u || !u[0]) {
        mr_problems_add(p, "url", "is required for a webhook (https://...)");
        return;
    }
    size_t n = strlen(u);
    if (n > 2048 || mr_str_has_control(u) || strchr(u, ' ')) {
        mr_problems_add(p, "url", "must be a URL of at most 2048 characters without spaces");
        return;
    }
    const char *rest = NULL;
    if (strncasecmp(u, "https://", 8) == 0)
        rest = u + 8;
    else if (strncasecmp(u, "http://", 7) == 0) {
        if (!t->allow_http) {
            mr_problems_add(p, "url",
                            "is http://: the payload would cross the network unencrypted; use "
                            "https:// or set Allow HTTP (allow_http yes)");
            return;
        }
        rest = u + 7;
    } else {
        mr_problems_add(p, "url", "must start with https:// (or http:// with allow_http)");
        return;
    }
    if (!rest[0] || rest[0] == '/' || rest[0] == '?' || rest[0] == '#')
        mr_problems_add(p, "url", "has no host name after the scheme");
    else if (memchr(rest, '@', strcspn(rest, "/?#")))
        mr_problems_add(p, "url",
                        "must not hold a user name or password; sign with the secret instead");
}

int mr_target_validate(const struct mr_target *t, int credential_ok, struct mr_problems *p)
{
    mr_check_name(t->name, "name", p);
    if (t->kind == MR_TARGET_UNSET)
        mr_problems_add(p, "kind", "is required: webhook, maildir, command or lmtp");
    const char *kind = mr_target_kind_name(t->kind);
    switch (t->kind) {
    case MR_TARGET_WEBHOOK:
        check_url(t, p);
        if (t->secret_credential_id && !credential_ok)
            mr_problems_add(p, "secret_credential",
                            "must be a password credential; its password is the signing secret");
        not_for("path", t->path, kind, p);
        not_for("command", t->command, kind, p);
        not_for("host", t->host, kind, p);
        not_for("recipients", t->recipients, kind, p);
        if (t->port)
            mr_problems_add(p, "port", "is not used by a webhook target; leave it empty");
        each_item(t->stop_status, check_status, p);
        break;
    case MR_TARGET_MAILDIR:
        need(t, "path", t->path, "a Maildir (the directory)", p);
        if (t->path && t->path[0] && t->path[0] != '/')
            mr_problems_add(p, "path", "must be an absolute path (starting with /)");
        not_for("url", t->url, kind, p);
        not_for("command", t->command, kind, p);
        not_for("host", t->host, kind, p);
        not_for("recipients", t->recipients, kind, p);
        break;
    case MR_TARGET_COMMAND:
        need(t, "command", t->command, "a command target (the MDA to run)", p);
        if (t->command && strlen(t->command) > 4096)
            mr_problems_add(p, "command", "must be at most 4096 characters");
        else if (t->command && strpbrk(t->command, "\r\n"))
            mr_problems_add(p, "command", "must be one line");
        not_for("url", t->url, kind, p);
        not_for("path", t->path, kind, p);
        not_for("host", t->host, kind, p);
        not_for("recipients", t->recipients, kind, p);
        break;
    case MR_TARGET_LMTP:
        if ((!t->host || !t->host[0]) && (!t->path || !t->path[0]))
            mr_problems_add(p, "host",
                            "is required for LMTP: a host (with port) or a unix socket path");
        else if (t->host && t->host[0] && t->path && t->path[0])
            mr_problems_add(p, "path", "must be empty when a host is given: one or the other");
        else if (t->host && t->host[0])
            mr_check_host(t->host, "host", p);
        else if (t->path[0] != '/')
            mr_problems_add(p, "path", "must be an absolute path to the LMTP socket");
        need(t, "recipients", t->recipients, "LMTP (the addresses for RCPT TO)", p);
        each_item(t->recipients, check_recipient, p);
        not_for("url", t->url, kind, p);
        not_for("command", t->command, kind, p);
        break;
    case MR_TARGET_UNSET:
        break;
    }
    if (t->kind != MR_TARGET_WEBHOOK) {
        if (t->secret_credential_id)
            mr_problems_add(p, "secret_credential", "is only used by a webhook target");
        not_for("stop_status", t->stop_status, kind, p);
        if (t->allow_http)
            mr_problems_add(p, "allow_http", "is only used by a webhook target");
    }
    if (t->path && strlen(t->path) > PATH_MAX - 64)
        mr_problems_add(p, "path", "is too long");
    each_item(t->skip_classes, check_class, p);
    return p->count ? MR_EINVAL : 0;
}
