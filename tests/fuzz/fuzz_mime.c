/* libFuzzer target: the MIME summary (GMime) and attachment extraction of
 * whatever a server sends as a message. */
#include "fuzz.h"
#include "mime/summary.h"

#include "util/buf.h"

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a GLib critical is GMime telling us we misused it: a finding */
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
    struct mr_message m;
    struct mr_attachment *att = NULL;
    size_t natt = 0;
    memset(&m, 0, sizeof(m));
    mr_mime_summarize((const char *)data, size, &m, &att, &natt);
    if (natt) {
        struct mr_buf out;
        mr_error err = {0};
        mr_buf_init(&out, 1u << 26);
        mr_mime_attachment((const char *)data, size, 1, &out, &err);
        mr_buf_free(&out);
    }
    mr_attachments_free(&att, natt);
    mr_message_clear(&m);
    return 0;
}
