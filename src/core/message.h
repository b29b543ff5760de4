/* A message mailroom has stored: where it came from on the server, its
 * digest, and the summary people read in the inbox. The raw bytes live
 * beside it in the store, byte for byte as the server sent them. */
#ifndef MR_CORE_MESSAGE_H
#define MR_CORE_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

enum mr_message_status { MR_MSG_STORED, MR_MSG_PARSE_FAILED };

struct mr_attachment {
    int position; /* 1, 2, ... in the order they appear */
    char *filename;
    char *content_type;
    int64_t size; /* decoded bytes */
    int parent;   /* the position of the forwarded message it is inside; 0: the top */
};

struct mr_message {
    int64_t id;
    int64_t account_id;
    uint32_t uidvalidity; /* IMAP; 0 for POP3 */
    uint64_t uid;         /* IMAP; 0 for POP3 */
    char *uidl;           /* POP3; NULL for IMAP */
    unsigned char sha256[32];
    int64_t size;
    int64_t fetched_at;
    enum mr_message_status status;
    /* POP3: what arrived did not have the size LIST announced (listed_size)
     * beyond line ends and the tolerance: stored as received, marked, and
     * never deleted from the server. */
    int size_mismatch;
    uint64_t listed_size;
    char *message_id;
    char *date; /* ISO 8601 UTC, from the Date header */
    int64_t date_unix;
    char *from, *to, *cc, *subject; /* decoded to UTF-8 */
    int attachments;                /* how many */
    char *body_text;                /* the text part, or text from HTML */
    /* ordinary, auto (RFC 3834 Auto-Submitted, Precedence bulk/junk/list,
     * auto-reply headers) or report (RFC 3464 multipart/report); "" for a
     * message stored before classes existed */
    char msg_class[12];
    /* the account's after-fetch action (seen, move, delete) is still to be
     * done on the server */
    int action_pending;
    /* read back only: the message's deliveries summed up: "" (no target),
     * failed (any failed), pending (any pending), or delivered */
    char delivery[12];
};

void mr_message_clear(struct mr_message *m);
const char *mr_message_status_name(enum mr_message_status s);
void mr_attachments_free(struct mr_attachment **a, size_t n);

#endif
