/* The transports that hand one stored message to one delivery target
 * (core/target.h): a webhook, a Maildir, a command (MDA) or LMTP. Each call
 * makes one attempt within the target's timeout and says how it went; the
 * outbox (outbox.c) decides about retries and records the result. None of
 * them touches the store. */
#ifndef MR_DELIVER_DELIVER_H
#define MR_DELIVER_DELIVER_H

#include "core/message.h"
#include "core/target.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

/* One message for one target. */
struct mr_delivery_item {
    int64_t delivery_id;
    const char *event_id; /* stable across attempts and replays: the receiver dedupes on it */
    int attempt;          /* 1 for the first */
    int test;             /* "Send a test delivery": a sample, not a stored message */
    int64_t account_id;
    const char *account_name;
    const char *account_user;     /* the mailbox's user name (its credential's), or NULL */
    const struct mr_message *msg; /* the summary, as stored (msg_class set) */
    const struct mr_attachment *att;
    size_t natt;
    const unsigned char *raw; /* the message as the server sent it */
    size_t raw_len;
    /* webhook: the API link to the raw message, used in the payload
     * instead of the bytes above the target's inline size; NULL when the
     * daemon's address is not known (the bytes then always go inline) */
    const char *raw_url;
    /* lmtp: recipients that already accepted the message in an earlier
     * attempt (comma-separated), not sent again; NULL or "" for none */
    const char *progress;
};

enum mr_delivery_outcome {
    MR_DELIVERY_OK,    /* delivered */
    MR_DELIVERY_RETRY, /* a temporary failure: try again later */
    MR_DELIVERY_FAIL,  /* a permanent failure: Failed deliveries, no retry */
};

struct mr_delivery_result {
    enum mr_delivery_outcome outcome;
    /* for people, naming the target's side: "the receiver answered 503",
     * "connecting to 127.0.0.1:24: connection refused", "the command was
     * killed after 30 s" ; "" when delivered */
    char error[512];
    struct mr_said said; /* error as said (util/said.h), when it is what was said */
    /* what the other side said last, printable ASCII/UTF-8, cut to fit:
     * the HTTP status line and the start of the body, the LMTP replies,
     * the command's output */
    char response[2048];
    /* lmtp: every recipient that has accepted (earlier attempts' and this
     * one's), comma-separated */
    char progress[1024];
    int64_t ms; /* how long the attempt took */
};

/* Webhook: secret is the signing secret (the credential's password; a
 * "whsec_" prefix means the rest is the base64 key, as Standard Webhooks
 * prints them), NULL for an unsigned one. */
void mr_deliver_webhook(const struct mr_target *t, const char *secret,
                        const struct mr_delivery_item *it, struct mr_delivery_result *r);
void mr_deliver_maildir(const struct mr_target *t, const struct mr_delivery_item *it,
                        struct mr_delivery_result *r);
void mr_deliver_command(const struct mr_target *t, const struct mr_delivery_item *it,
                        struct mr_delivery_result *r);
void mr_deliver_lmtp(const struct mr_target *t, const struct mr_delivery_item *it,
                     struct mr_delivery_result *r);
/* The one the target's kind names. */
void mr_deliver(const struct mr_target *t, const char *secret, const struct mr_delivery_item *it,
                struct mr_delivery_result *r);

/* The webhook's JSON body (malloc'ed, NUL-terminated): {"type":
 * "message.received" (or "message.test"), "timestamp", "data": {account,
 * message: {id, from, to, cc, subject, date, message_id, class, size,
 * text, attachments: [{name, type, size}], raw (base64) | raw_url}}}. */
char *mr_webhook_payload(const struct mr_target *t, const struct mr_delivery_item *it,
                         int64_t timestamp);
/* webhook-signature's value, "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>",
 * into out; MR_EINVAL for a "whsec_" secret that is not base64. */
int mr_webhook_signature(const char *secret, const char *id, int64_t timestamp, const char *body,
                         size_t len, char *out, size_t size);

#endif
