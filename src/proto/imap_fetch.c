/* IMAP: listing new messages, fetching their bodies (streamed to the fetch
 * engine's sink), removing them (STORE \Deleted, then UID EXPUNGE), and the
 * after-fetch actions (STORE \Seen; MOVE, or COPY and remove). */
#include "proto/imap_private.h"

#include "proto/imap_utf7.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define UIDS_PER_COMMAND 500

int imap_literal_begin(void *ctx, const char *before, uint64_t size, mr_error *err)
{
    struct imap *im = ctx;
    if (!im->sink || strcasecmp(before, "BODY[]") != 0)
        return 0; /* small and unexpected literals stay in the response */
    if (im->body_streamed)
        return mr_error_set(err, MR_EPROTO, "", "two message bodies in one FETCH response");
    im->body_streamed = 1;
    int rc = im->sink->begin(im->sink->ctx, size, err);
    return rc ? rc : 1;
}

int imap_literal_data(void *ctx, const char *p, size_t n, mr_error *err)
{
    struct imap *im = ctx;
    if (!im->sink) /* the fetch that began this body has ended */
        return mr_error_set(err, MR_EPROTO, "", "a message body outside its FETCH");
    return im->sink->data(im->sink->ctx, p, n, err);
}

int imap_literal_end(void *ctx, mr_error *err)
{
    (void)ctx;
    (void)err;
    return 0; /* the message is done when its response is: the UID may follow */
}

static void add_ref(struct imap *im, uint64_t uid, uint64_t size)
{
    if (im->nrefs == im->cap) {
        im->cap = im->cap ? im->cap * 2 : 256;
        im->refs = mr_xrealloc(im->refs, im->cap * sizeof(*im->refs));
    }
    struct mr_message_ref *r = &im->refs[im->nrefs++];
    memset(r, 0, sizeof(*r));
    r->uid = uid;
    r->size = size;
}

/* Reads "( NAME VALUE NAME VALUE ... )" for UID and RFC822.SIZE. */
static int fetch_items(const struct mr_imap_response *r, uint64_t *uid, uint64_t *size,
                       mr_error *err)
{
    const struct mr_imap_token *t = r->tokens;
    size_t n = r->ntokens, i = 1;
    if (n < 2 || t[0].type != MR_IMAP_OPEN || t[n - 1].type != MR_IMAP_CLOSE)
        return mr_error_set(err, MR_EPROTO, "", "a FETCH response that is not a list");
    while (i + 1 < n - 1) {
        const struct mr_imap_token *name = &t[i], *value = &t[i + 1];
        if (mr_imap_token_is(name, "UID") &&
            (mr_imap_token_number(value, UINT32_MAX, uid) != 0 || *uid == 0))
            return mr_error_set(err, MR_EPROTO, "", "a FETCH response with a bad UID '%.20s'",
                                value->text);
        if (mr_imap_token_is(name, "RFC822.SIZE") &&
            mr_imap_token_number(value, UINT32_MAX, size) != 0)
            return mr_error_set(err, MR_EPROTO, "", "a FETCH response with a bad size '%.20s'",
                                value->text);
        i += 2;
        for (int depth = value->type == MR_IMAP_OPEN; depth > 0 && i < n - 1; i++)
            depth += t[i].type == MR_IMAP_OPEN ? 1 : t[i].type == MR_IMAP_CLOSE ? -1 : 0;
    }
    return 0;
}

void imap_handle_fetch(struct imap *im, const struct mr_imap_response *r, mr_error *err, int *rc)
{
    uint64_t uid = 0, size = 0;
    *rc = fetch_items(r, &uid, &size, err);
    if (*rc == 0 && im->sink && im->body_streamed) {
        im->body_streamed = 0;
        if (!uid) {
            *rc = mr_error_set(err, MR_EPROTO, "", "a message body without its UID");
            return;
        }
        struct mr_message_ref ref = {.uid = uid, .size = size};
        *rc = im->sink->done(im->sink->ctx, &ref, err);
        im->fetched++;
    } else if (*rc == 0 && !im->sink && uid >= im->min_uid && im->min_uid)
        add_ref(im, uid, size);
}

static int by_uid(const void *a, const void *b)
{
    uint64_t x = ((const struct mr_message_ref *)a)->uid,
             y = ((const struct mr_message_ref *)b)->uid;
    return x < y ? -1 : x > y;
}

int mr_imap_list(struct mr_mailbox *mb, uint64_t min_uid, struct mr_message_ref **refs, size_t *n,
                 mr_error *err)
{
    struct imap *im = (struct imap *)mb;
    char cmd[64];
    int rc = 0;
    *refs = NULL;
    *n = 0;
    im->nrefs = 0;
    im->min_uid = min_uid ? min_uid : 1;
    im->watch = 1; /* from here on, a bigger EXISTS is mail this listing may miss */
    if (im->exists > 0) {
        snprintf(cmd, sizeof(cmd), "UID FETCH %llu:* (UID RFC822.SIZE)",
                 (unsigned long long)im->min_uid);
        rc = imap_command(im, cmd, (size_t)-1, err);
    }
    im->min_uid = 0;
    if (rc == MR_ESERVER)
        rc =
            mr_error_set(err, MR_ESERVER, "", "listing messages failed: %s", imap_server_words(im));
    if (rc == 0) {
        if (im->nrefs > 1)
            qsort(im->refs, im->nrefs, sizeof(*im->refs), by_uid);
        *refs = im->refs;
        *n = im->nrefs;
        im->refs = NULL;
        im->cap = im->nrefs = 0;
    }
    return rc;
}

/* "1:3,7,9:12" for refs[0..n), which are in ascending UID order. */
static void uid_set(const struct mr_message_ref *refs, size_t n, struct mr_buf *out)
{
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && refs[j + 1].uid == refs[j].uid + 1)
            j++;
        if (j > i)
            mr_buf_printf(out, "%s%llu:%llu", out->len ? "," : "", (unsigned long long)refs[i].uid,
                          (unsigned long long)refs[j].uid);
        else
            mr_buf_printf(out, "%s%llu", out->len ? "," : "", (unsigned long long)refs[i].uid);
        i = j + 1;
    }
}

/* Runs "PREFIX uid-set SUFFIX" for each batch of refs. */
static int per_batch(struct imap *im, const struct mr_message_ref *refs, size_t n,
                     const char *prefix, const char *suffix, const char *what, mr_error *err)
{
    struct mr_buf set, cmd;
    mr_buf_init(&set, 1 << 20);
    mr_buf_init(&cmd, 1 << 20);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += UIDS_PER_COMMAND) {
        size_t k = n - i < UIDS_PER_COMMAND ? n - i : UIDS_PER_COMMAND;
        mr_buf_reset(&set);
        mr_buf_reset(&cmd);
        uid_set(refs + i, k, &set);
        mr_buf_printf(&cmd, "%s %s%s", prefix, set.data, suffix);
        rc = imap_command(im, cmd.data, (size_t)-1, err);
        if (rc == MR_ESERVER)
            rc = mr_error_set(err, MR_ESERVER, "", "%s failed: %s", what, imap_server_words(im));
    }
    mr_buf_free(&set);
    mr_buf_free(&cmd);
    return rc;
}

int mr_imap_fetch(struct mr_mailbox *mb, const struct mr_message_ref *refs, size_t n,
                  const struct mr_fetch_sink *sink, mr_error *err)
{
    struct imap *im = (struct imap *)mb;
    im->sink = sink;
    im->body_streamed = 0;
    int rc = per_batch(im, refs, n, "UID FETCH", " (UID BODY.PEEK[])", "fetching messages", err);
    im->sink = NULL;
    return rc;
}

int mr_imap_remove(struct mr_mailbox *mb, const struct mr_message_ref *refs, size_t n,
                   mr_error *err)
{
    struct imap *im = (struct imap *)mb;
    int uidplus = imap_has_cap(im, "UIDPLUS");
    int rc = per_batch(im, refs, n, "UID STORE", " +FLAGS.SILENT (\\Deleted)",
                       "marking messages deleted", err);
    if (rc == 0 && uidplus)
        rc = per_batch(im, refs, n, "UID EXPUNGE", "", "expunging", err);
    else if (rc == 0) {
        rc = imap_command(im, "EXPUNGE", (size_t)-1, err);
        if (rc == MR_ESERVER)
            rc = mr_error_set(err, MR_ESERVER, "", "EXPUNGE failed: %s", imap_server_words(im));
    }
    return rc;
}

/* CREATE name (the server's spelling), for a move folder LIST did not find
 * (typed: as the account names it, for the error). */
static int create_folder(struct imap *im, const char *name, const char *typed, mr_error *err)
{
    struct mr_buf cmd, wire;
    mr_buf_init(&cmd, 8192);
    mr_buf_init(&wire, 4096);
    mr_imap_utf7_encode(name, &wire);
    mr_buf_puts(&cmd, "CREATE ");
    mr_imap_quote(wire.data, &cmd);
    int rc = imap_command(im, cmd.data, (size_t)-1, err);
    if (rc == MR_ESERVER)
        rc = mr_error_set(err, MR_ESERVER, "move_folder",
                          "creating the folder '%s' (as %s) failed: %s; nothing was moved", typed,
                          name, imap_server_words(im));
    mr_buf_free(&cmd);
    mr_buf_free(&wire);
    return rc;
}

/* The move folder as the server spells it: found once per session (and
 * per name), created when asked and missing. */
static int move_target(struct imap *im, const char *folder, int create, mr_error *err)
{
    if (im->move_to && im->move_asked && strcmp(im->move_asked, folder) == 0)
        return 0;
    mr_freep(&im->move_asked);
    mr_freep(&im->move_to);
    char *name = mr_xstrdup(folder);
    int found = 1, rc = 0;
    if (strcasecmp(name, "INBOX") != 0)
        rc = imap_find_folder(im, &name, "move_folder", &found, err);
    if (rc == 0 && !found && create)
        rc = create_folder(im, name, folder, err);
    else if (rc == 0 && !found) {
        char hint[1024];
        imap_folder_hint(im, folder, hint, sizeof(hint));
        rc = mr_error_set(err, MR_ENOTFOUND, "move_folder",
                          "the folder '%s' to move fetched mail to does not exist on the "
                          "server%s: nothing was moved; create it, or turn on Create the folder "
                          "if missing",
                          folder, hint);
    }
    if (rc == 0) {
        im->move_asked = mr_xstrdup(folder);
        im->move_to = name;
    } else
        free(name);
    return rc;
}

/* RFC 6851 UID MOVE when the server offers it; else UID COPY, then
 * remove's \Deleted and expunge (UID EXPUNGE with UIDPLUS, else EXPUNGE). */
static int move_messages(struct imap *im, const char *folder, int create,
                         const struct mr_message_ref *refs, size_t n, mr_error *err)
{
    int rc = move_target(im, folder, create, err);
    if (rc)
        return rc;
    struct mr_buf suffix, wire;
    mr_buf_init(&suffix, 8192);
    mr_buf_init(&wire, 4096);
    mr_imap_utf7_encode(im->move_to, &wire);
    mr_buf_putc(&suffix, ' ');
    mr_imap_quote(wire.data, &suffix);
    if (imap_has_cap(im, "MOVE"))
        rc = per_batch(im, refs, n, "UID MOVE", suffix.data, "moving messages", err);
    else {
        rc = per_batch(im, refs, n, "UID COPY", suffix.data, "copying messages", err);
        if (rc == 0)
            rc = mr_imap_remove(&im->mb, refs, n, err);
    }
    if (rc) /* perhaps the folder went away: find it again next time */
        mr_freep(&im->move_to);
    mr_buf_free(&suffix);
    mr_buf_free(&wire);
    return rc;
}

int mr_imap_act(struct mr_mailbox *mb, enum mr_after_fetch action, const char *folder, int create,
                const struct mr_message_ref *refs, size_t n, mr_error *err)
{
    struct imap *im = (struct imap *)mb;
    if (!n || action == MR_AFTER_KEEP || action == MR_AFTER_UNSET)
        return 0;
    if (im->mb.s.cfg->read_only)
        return mr_error_set(err, MR_EINVAL, "after_fetch",
                            "the folder is open read-only (EXAMINE): nothing can be changed");
    switch (action) {
    case MR_AFTER_SEEN:
        return per_batch(im, refs, n, "UID STORE", " +FLAGS.SILENT (\\Seen)",
                         "marking messages seen", err);
    case MR_AFTER_MOVE:
        if (!folder || !*folder)
            return mr_error_set(err, MR_EINVAL, "move_folder", "no folder to move messages to");
        return move_messages(im, folder, create, refs, n, err);
    case MR_AFTER_DELETE:
        return mr_imap_remove(mb, refs, n, err);
    default:
        return mr_error_set(err, MR_EINVAL, "after_fetch", "not an after-fetch action");
    }
}
