/* Folder names on the wire: modified UTF-7 (RFC 3501 5.1.3) and quoting. */
#ifndef MR_PROTO_IMAP_UTF7_H
#define MR_PROTO_IMAP_UTF7_H

#include "util/buf.h"

/* UTF-8 → modified UTF-7; MR_EINVAL for invalid UTF-8. */
int mr_imap_utf7_encode(const char *utf8, struct mr_buf *out);
/* modified UTF-7 → UTF-8; MR_EINVAL for a malformed name. */
int mr_imap_utf7_decode(const char *mutf7, struct mr_buf *out);
/* Appends s as an IMAP quoted string ("..." with \ and " escaped). */
int mr_imap_quote(const char *s, struct mr_buf *out);

#endif
