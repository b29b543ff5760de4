#include "core/message.h"

#include "util/mem.h"

#include <string.h>

void mr_message_clear(struct mr_message *m)
{
    mr_freep(&m->uidl);
    mr_freep(&m->message_id);
    mr_freep(&m->date);
    mr_freep(&m->from);
    mr_freep(&m->to);
    mr_freep(&m->cc);
    mr_freep(&m->subject);
    mr_freep(&m->body_text);
}

const char *mr_message_status_name(enum mr_message_status s)
{
    return s == MR_MSG_PARSE_FAILED ? "parse_failed" : "stored";
}

void mr_attachments_free(struct mr_attachment **a, size_t n)
{
    for (size_t i = 0; *a && i < n; i++) {
        free((*a)[i].filename);
        free((*a)[i].content_type);
    }
    mr_freep(a);
}
