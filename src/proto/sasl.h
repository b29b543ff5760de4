/* SASL through GNU SASL: choose the strongest mechanism both sides know and
 * run its exchange in base64 lines, as IMAP AUTHENTICATE and POP3 AUTH
 * carry them. */
#ifndef MR_PROTO_SASL_H
#define MR_PROTO_SASL_H

#include "util/error.h"

struct mr_sasl;

/* The mechanisms we offer, strongest first, among those the server
 * listed (space-separated); the choice goes to out. 0, or MR_ENOTFOUND. */
int mr_sasl_choose(const char *server_mechs, char *out, size_t size);
int mr_sasl_start(struct mr_sasl **out, const char *mech, const char *user, const char *password,
                  mr_error *err);
/* One step: the server's base64 challenge in, our base64 answer out (to
 * free). *done is set when the mechanism has nothing more to say. */
int mr_sasl_step(struct mr_sasl *s, const char *challenge, char **answer, int *done, mr_error *err);
/* Whether the mechanism speaks first (initial response). */
int mr_sasl_client_first(const char *mech);
void mr_sasl_free(struct mr_sasl **s);

#endif
