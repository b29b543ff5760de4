/* The IMAP session's parts, shared by imap_client.c (connect, login, folder)
 * and imap_fetch.c (list, fetch, remove). */
#ifndef MR_PROTO_IMAP_PRIVATE_H
#define MR_PROTO_IMAP_PRIVATE_H

#include "proto/imap_parse.h"
#include "proto/session.h"

#define MR_IMAP_CAPS_MAX 2048

struct imap {
    struct mr_mailbox mb; /* first: the driver's view */
    struct mr_imap_parser *parser;
    unsigned tag_seq;
    char tag[16];                /* of the command in flight */
    char caps[MR_IMAP_CAPS_MAX]; /* " CAP1 CAP2 ... " upper-case */
    char delim;                  /* the hierarchy delimiter, once known (0: not yet, or flat) */
    /* NAMESPACE (RFC 2342), asked once a session before the first folder
     * lookup: the first personal namespace's prefix (UTF-8; NULL when the
     * server has none or no NAMESPACE) and delimiter */
    int ns_asked;
    char *ns_prefix;
    char ns_delim;
    const char *list_want;        /* LIST in flight: the name (wire) asked for */
    char *list_match;             /* and the server's spelling of it, if listed */
    struct imap_suggest *suggest; /* LIST "" "*" in flight: the closest names */
    const char *special_want;     /* LIST "" "*" in flight: the RFC 6154 use asked for */
    struct mr_folders *collect;   /* LIST "" "*" in flight: every folder, for the picker */
    uint32_t exists, uidvalidity;
    /* push (IDLE): watch is set once the messages were listed; grew when an
     * EXISTS told of more messages after that (mail the run did not see) */
    int watch, grew;
    int idling; /* IDLE in flight: its tag is im->tag; DONE ends it */
    int bye;
    int broken; /* a command ended in an I/O or protocol error: the stream is
                 * out of step (mid-literal, say), so no LOGOUT, no reuse */
    char bye_text[256];
    char last_text[512]; /* the last tagged response's code and text */
    char mechanism[32];  /* how we logged in */
    char *folder;        /* the folder's name as the server spells it, once opened */
    char *move_asked;    /* the after-fetch move folder as the account names it */
    char *move_to;       /* and as the server spells it, once found or created */
    /* list and fetch */
    uint64_t min_uid;
    struct mr_message_ref *refs;
    size_t nrefs, cap;
    struct mr_sasl *sasl; /* the SASL exchange in flight */
    const struct mr_fetch_sink *sink;
    int body_streamed;
    uint64_t fetched;
};

int imap_has_cap(const struct imap *im, const char *cap);
/* Sends a command and reads responses until its tagged answer: untagged
 * ones are handled as they come. Returns 0 for OK, MR_ESERVER for NO/BAD
 * (im->last_text has the server's words), or an I/O or protocol error. */
int imap_command(struct imap *im, const char *cmd, size_t secret_from, mr_error *err);
/* Finds the folder *name (UTF-8, as the user typed it) with NAMESPACE and
 * LIST: as typed, with the server's delimiter for '.' and '/', with the
 * personal namespace's prefix added, or an INBOX prefix it lacks dropped
 * (INBOX in any case). Found: *found 1 and *name the server's spelling.
 * Not found: *found 0 and *name the spelling a CREATE should use. Errors
 * name field. */
int imap_find_folder(struct imap *im, char **name, const char *field, int *found, mr_error *err);
/* A name such as "\\All" or "\\Trash" names a folder by its RFC 6154
 * special use, whatever the server calls it ("[Gmail]/All Mail"). */
int imap_is_special_use(const char *name);
/* For a folder that does not exist: " (did you mean A, B or C?)" with up
 * to 3 close names from LIST "" "*", else the delimiter and prefix; "" at
 * worst. typed is the name as the user typed it. */
void imap_folder_hint(struct imap *im, const char *typed, char *hint, size_t size);
/* What a tagged NO/BAD or a BYE said, for messages. */
const char *imap_server_words(const struct imap *im);
void imap_handle_fetch(struct imap *im, const struct mr_imap_response *r, mr_error *err, int *rc);
int imap_literal_begin(void *ctx, const char *before, uint64_t size, mr_error *err);
int imap_literal_data(void *ctx, const char *p, size_t n, mr_error *err);
int imap_literal_end(void *ctx, mr_error *err);

/* The driver's list, fetch and remove (imap_fetch.c). */
int mr_imap_list(struct mr_mailbox *mb, uint64_t min_uid, struct mr_message_ref **refs, size_t *n,
                 mr_error *err);
int mr_imap_fetch(struct mr_mailbox *mb, const struct mr_message_ref *refs, size_t n,
                  const struct mr_fetch_sink *sink, mr_error *err);
int mr_imap_remove(struct mr_mailbox *mb, const struct mr_message_ref *refs, size_t n,
                   mr_error *err);
int mr_imap_act(struct mr_mailbox *mb, enum mr_after_fetch action, const char *folder, int create,
                const struct mr_message_ref *refs, size_t n, mr_error *err);

#endif
