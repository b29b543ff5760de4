/* Message summaries with GMime 3: decoded headers (RFC 2047 words and RFC
 * 2231 parameters, charsets converted to UTF-8, undeclared 8-bit read as
 * UTF-8 or else Windows-1252), the text (the plain part, or text made from
 * the HTML part: never live HTML), and the attachments. */
#ifndef MR_MIME_SUMMARY_H
#define MR_MIME_SUMMARY_H

#include "core/message.h"
#include "util/buf.h"
#include "util/error.h"

#include <stddef.h>

#define MR_BODY_TEXT_MAX (1u << 20) /* the summary's text is cut here */
/* The highest attachment position the API and the CLI ask for, checked
 * before a position becomes an int (a message has far fewer). */
#define MR_ATTACHMENT_POSITION_MAX 100000

/* Fills the summary fields of m (status, headers, body_text, attachments
 * count) and the attachment list. A message GMime cannot parse gets status
 * MR_MSG_PARSE_FAILED and empty fields: it is still stored. */
void mr_mime_summarize(const char *raw, size_t len, struct mr_message *m,
                       struct mr_attachment **att, size_t *natt);
/* The decoded content of attachment `position` (1-based, as listed; the
 * listing's walk and rule): a forwarded message's is its bytes, as .eml. */
int mr_mime_attachment(const char *raw, size_t len, int position, struct mr_buf *out,
                       mr_error *err);

/* A header's text for the wire: UTF-8 as RFC 2047 encoded words where it
 * is not ASCII ("=?UTF-8?b?...?="), else as it is. The caller frees it. */
char *mr_mime_encode_header_text(const char *utf8);

#endif
