/* What the transports (webhook.c, maildir.c, command.c, lmtp.c) share,
 * kept in transport.c: the result's setters, text made fit to show, this
 * host's name, and a From address reduced to its addr-spec. */
#ifndef MR_DELIVER_TRANSPORT_PRIVATE_H
#define MR_DELIVER_TRANSPORT_PRIVATE_H

#include "deliver/deliver.h"

#include <stddef.h>

/* Empties r (outcome OK, no words) before an attempt. */
void mr_dr_begin(struct mr_delivery_result *r);
/* Sets the outcome and the error text; returns the outcome. */
enum mr_delivery_outcome mr_dr_set(struct mr_delivery_result *r, enum mr_delivery_outcome o,
                                   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends n bytes of what the other side said to r->response, made
 * printable (mr_dr_printable), with sep before it when the response is not
 * empty; cut to fit. */
void mr_dr_respond(struct mr_delivery_result *r, const char *sep, const char *in, size_t n);

/* in (n bytes, NULs allowed) as text fit to show in out: valid UTF-8 is
 * kept, '\n' and '\t' too when keep_lines, '\r' dropped; other controls
 * and bytes that are no UTF-8 become '?'. Cut on a character boundary,
 * with "…" when cut. Returns the length written. */
size_t mr_dr_printable(const char *in, size_t n, int keep_lines, char *out, size_t size);

/* This machine's name, as Maildir names and LHLO want it: letters,
 * digits, '-', '.' and '_' only ("localhost" when unknown). */
void mr_dr_hostname(char *out, size_t size);

/* The addr-spec of a From header's single plain address ("Ana <a@b.org>"
 * or "a@b.org" → "a@b.org"): printable ASCII, one '@', no spaces, commas
 * or brackets; "" when there is none such (several addresses, a group,
 * 8-bit text). */
void mr_dr_sender(const char *from, char *out, size_t size);

#endif
