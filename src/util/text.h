/* Small text helpers: parsing flag values, UTF-8 checks, display width. */
#ifndef MR_UTIL_TEXT_H
#define MR_UTIL_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* "yes"/"no" (also "true"/"false"), case-insensitive. 0 or MR_EINVAL. */
int mr_parse_yes_no(const char *s, int *out);
const char *mr_yes_no(int v);
/* A whole decimal number within [min, max]. 0, or MR_EINVAL when the text is
 * not a number, MR_ETOOBIG when it is out of range. */
int mr_parse_int(const char *s, long long min, long long max, long long *out);
/* "host:port" or "[v6 address]:port" into host (brackets dropped) and port
 * 1-65535; MR_EINVAL when it is not that or the host does not fit. */
int mr_parse_host_port(const char *s, char *host, size_t size, int *port);
/* A moment typed by a person, into Unix seconds: YYYY-MM-DD (UTC
 * midnight), YYYY-MM-DDTHH:MM[:SS]Z, a number of seconds since the epoch,
 * or a span before now: 30m, 2h, 3d. MR_EINVAL otherwise. */
int mr_parse_when(const char *s, int64_t now, int64_t *out);
/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
int mr_utf8_valid(const char *s, size_t n);
/* Columns a UTF-8 string takes in a terminal (one per code point). */
size_t mr_utf8_width(const char *s);
int mr_str_all_digits(const char *s);
/* True when s holds a C0 control character or DEL. */
int mr_str_has_control(const char *s);
/* ASCII case-insensitive equality; NULL equals only NULL. */
int mr_str_ieq(const char *a, const char *b);
/* A server's words for display: C0 controls and DEL as \xNN, at most max
 * bytes (and what fits in out with its NUL), cut on a character boundary
 * with "…" after it when cut. NULL gives "". */
void mr_text_excerpt(const char *in, size_t max, char *out, size_t size);
/* How much of a server's first line (the greeting step) Test connection
 * shows: enough for any mail server's, too little to make the daemon a
 * banner grabber for what else listens on the network. */
#define MR_TEXT_FIRST_LINE_MAX 200

/* Content-Disposition for a download (RFC 6266): attachment; filename=
 * an ASCII stand-in; filename*=UTF-8''the name percent-encoded (RFC 8187).
 * The name loses any directory part and control characters, and is cut at
 * MR_DOWNLOAD_NAME_MAX bytes on a character boundary; NULL or nothing left
 * gives fallback (ASCII). out holds MR_DISPOSITION_MAX bytes. */
#define MR_DOWNLOAD_NAME_MAX 200
#define MR_DISPOSITION_MAX   (3 * MR_DOWNLOAD_NAME_MAX + MR_DOWNLOAD_NAME_MAX + 64)
void mr_content_disposition(const char *name, const char *fallback, char *out, size_t size);

#endif
