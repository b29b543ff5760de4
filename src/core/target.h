/* Delivery targets: where an account's stored messages are handed on
 * (issue 19). Each target belongs to one account; storing a message writes
 * one outbox row per enabled target (store/deliveries.c), and the delivery
 * workers (deliver/outbox.c) hand it to the target's transport
 * (deliver/deliver.h). No I/O here: the model, its defaults and its
 * validation. */
#ifndef MR_CORE_TARGET_H
#define MR_CORE_TARGET_H

#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

enum mr_target_kind {
    MR_TARGET_UNSET = 0,
    MR_TARGET_WEBHOOK, /* POST JSON, signed in the Standard Webhooks layout */
    MR_TARGET_MAILDIR, /* tmp/, fsync, rename into new/ */
    MR_TARGET_COMMAND, /* an MDA: the raw message on stdin */
    MR_TARGET_LMTP,    /* RFC 2033 over TCP or a unix socket */
};

#define MR_TARGET_NAME_MAX        100
#define MR_TARGET_TIMEOUT_DEFAULT 30 /* seconds per attempt */
#define MR_TARGET_TIMEOUT_MIN     1
#define MR_TARGET_TIMEOUT_MAX     3600
#define MR_TARGET_RETRY_DEFAULT   (3 * 86400) /* retried for three days */
#define MR_TARGET_RETRY_MIN       60
#define MR_TARGET_RETRY_MAX       (30 * 86400)
/* Webhook: the raw message goes in the payload (base64) up to this size;
 * above it the payload carries an authenticated API link instead. */
#define MR_TARGET_INLINE_DEFAULT (1LL << 20)
#define MR_TARGET_INLINE_MAX     (16LL << 20)
#define MR_LMTP_PORT_DEFAULT     24
/* An account's targets at most (the outbox reads them per stored message). */
#define MR_TARGETS_PER_ACCOUNT_MAX 64

struct mr_target {
    int64_t id; /* 0 until stored */
    int64_t account_id;
    char *name;
    enum mr_target_kind kind;
    int enabled;
    /* webhook */
    char *url; /* https://...; http:// only with allow_http */
    int allow_http;
    int64_t secret_credential_id; /* a password credential: its password signs */
    char *stop_status;            /* "406,410": statuses that fail for good; NULL = 410 */
    long long inline_max;         /* 0 = MR_TARGET_INLINE_DEFAULT */
    /* maildir: the directory; lmtp: a unix socket (when host is NULL) */
    char *path;
    /* command: run by /bin/sh -c */
    char *command;
    /* lmtp over TCP */
    char *host;
    int port;         /* 0 = MR_LMTP_PORT_DEFAULT */
    char *recipients; /* lmtp: comma-separated addresses for RCPT TO */
    /* every kind */
    int timeout;        /* seconds per attempt; 0 = MR_TARGET_TIMEOUT_DEFAULT */
    int parallel;       /* 0: delivered one at a time, in the order stored */
    int retry_for;      /* seconds; 0 = MR_TARGET_RETRY_DEFAULT */
    char *skip_classes; /* comma-separated mr_message classes not delivered: auto, report */
    int64_t created_at, updated_at;
};

void mr_target_init(struct mr_target *t);
void mr_target_clear(struct mr_target *t);
void mr_target_copy(struct mr_target *dst, const struct mr_target *src);

const char *mr_target_kind_name(enum mr_target_kind k); /* "webhook", ... */
int mr_target_kind_parse(const char *s, enum mr_target_kind *out);

int mr_target_timeout(const struct mr_target *t);
int mr_target_retry_for(const struct mr_target *t);
long long mr_target_inline_max(const struct mr_target *t);
int mr_target_port(const struct mr_target *t);
/* Whether an HTTP status is one of the target's stop statuses. */
int mr_target_is_stop_status(const struct mr_target *t, long status);
/* Whether messages of this class (mr_message's msg_class) are skipped. */
int mr_target_skips(const struct mr_target *t, const char *msg_class);

/* Sets one field from text (the CLI's --flags and the API's strings):
 * name, kind, enabled, url, allow_http, stop_status, inline_max, path,
 * command, host, port, recipients, timeout, parallel, retry_for,
 * skip_classes. secret_credential is a reference the registry resolves.
 * Problems go to p; MR_EINVAL if one was added. */
int mr_target_set(struct mr_target *t, const char *key, const char *text, struct mr_problems *p);
/* Every rule: the fields the kind needs and only those. credential_ok:
 * the secret credential exists and is a password credential (the registry
 * looks it up). */
/* Every field key mr_target_set takes, in the order `show` prints them. */
extern const char *const mr_target_keys[];
/* A field's text as `show`, the JSON view and the audit log give it: yes/no,
 * numbers (the effective timeout, port, retry time, inline size), NULL for
 * an empty text field. secret_credential is the credential's ID ("" for
 * none). buf holds numbers. */
const char *mr_target_get(const struct mr_target *t, const char *key, char *buf, size_t size);
int mr_target_validate(const struct mr_target *t, int credential_ok, struct mr_problems *p);

#endif
