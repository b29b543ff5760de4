/* SASL for IMAP AUTHENTICATE and POP3 AUTH: choose the mechanism for the
 * credential and the server, and run its exchange in base64 lines. The
 * password mechanisms go through GNU SASL; the OAuth 2.0 bearer mechanisms
 * (OAUTHBEARER, RFC 7628, and XOAUTH2, Google's and Microsoft's) are our own,
 * since GNU SASL 2.2 has neither. */
#ifndef MR_PROTO_SASL_H
#define MR_PROTO_SASL_H

#include "proto/mailbox.h"
#include "util/error.h"

#include <stddef.h>

/* A base64 error challenge longer than this is not decoded (RFC 7628's
 * JSON is a few hundred bytes). */
#define MR_SASL_CHALLENGE_MAX 4096
/* An access token longer than this is refused before anything is sent. */
#define MR_SASL_TOKEN_MAX (32 * 1024)

struct mr_sasl;

/* What a login presents: a password, or an OAuth 2.0 access token. The
 * strings are the caller's and must outlive the exchange. */
struct mr_sasl_login {
    const char *user;
    const char *password;     /* password mechanisms; NULL with a token */
    const char *bearer_token; /* XOAUTH2, OAUTHBEARER; NULL with a password */
    const char *host;         /* OAUTHBEARER's host= and port=: the mail server */
    int port;
};

/* Whether mech carries a bearer token (XOAUTH2, OAUTHBEARER). */
int mr_sasl_is_bearer(const char *mech);
/* The password mechanisms we offer, strongest first, among those the
 * server listed (space-separated); the choice goes to out. 0, or
 * MR_ENOTFOUND. Never a bearer mechanism. */
int mr_sasl_choose(const char *server_mechs, char *out, size_t size);
/* The mechanism for a login: want is the account's choice (NULL: auto),
 * offered the server's SASL mechanisms (space-separated), bearer whether
 * the credential is an access token. With a token, auto is OAUTHBEARER if
 * offered, else XOAUTH2; with a password, never either of those. Returns 0
 * with the mechanism in out; MR_ENOTFOUND (err untouched) when auto finds
 * no SASL mechanism for a password (the protocol's own login then);
 * MR_EINVAL (field "auth") when want does not fit the credential's kind;
 * MR_EAUTH when a token meets a server that offers neither mechanism (the
 * message names what it offers). */
int mr_sasl_pick(const char *want, const char *offered, int bearer, char *out, size_t size,
                 mr_error *err);
/* When the account's explicit mechanism want is not among offered (the
 * server's SASL mechanisms, space-separated): what it offers goes to out
 * ("A B", "" for none), for the caller's sentence "the server does not
 * offer WANT; it offers A B" (or "it offers no SASL mechanism"), and 1 is
 * returned; else 0. Servers may accept a mechanism they do not list, so
 * the caller notes this and still tries. */
int mr_sasl_unoffered(const char *want, const char *offered, char *out, size_t size);
/* Its sentences, each said whole (list: what mr_sasl_unoffered gave): the
 * note before trying, the login it then refused (MR_EAUTH, the server's
 * words), and the start of another failure. */
void mr_sasl_unoffered_note(mr_error *note, const char *want, const char *list);
int mr_sasl_unoffered_refused(mr_error *err, const char *want, const char *list, const char *words);
void mr_sasl_unoffered_prefix(mr_error *err, const char *want, const char *list);
int mr_sasl_start(struct mr_sasl **out, const char *mech, const struct mr_sasl_login *login,
                  mr_error *err);
/* One step: the server's base64 challenge in, our base64 answer out (to
 * free). *done is set when the mechanism has nothing more to say. A bearer
 * mechanism answers its first challenge with the initial response (when it
 * was not sent with the command), and a challenge after that (the server's
 * error, RFC 7628 section 3.2.2) with the response that ends the exchange:
 * an empty line (XOAUTH2) or "AQ==" (OAUTHBEARER's 0x01); the server's
 * NO / -ERR follows. */
int mr_sasl_step(struct mr_sasl *s, const char *challenge, char **answer, int *done, mr_error *err);
/* Whether the mechanism speaks first (initial response). */
int mr_sasl_client_first(const char *mech);
void mr_sasl_free(struct mr_sasl **s);

/* --- bearer mechanisms: the parts the clients and tests use ------------ */

/* The initial client response of XOAUTH2 or OAUTHBEARER, in base64 (to
 * free, it holds the token): XOAUTH2 "user=U^Aauth=Bearer T^A^A";
 * OAUTHBEARER "n,a=U,^Ahost=H^Aport=P^Aauth=Bearer T^A^A" with ',' and '='
 * of U as =2C and =3D (RFC 5801's gs2 header), host and port left out when
 * unknown. MR_EINVAL when the user or host has control characters, or the
 * token is empty, too long or not an RFC 6750 b64token. */
int mr_sasl_bearer_response(const char *mech, const struct mr_sasl_login *login, char **out,
                            mr_error *err);

/* What a server's error challenge says (base64 JSON, RFC 7628 section
 * 3.2.2, as Dovecot, Google and Microsoft send it), made fit to show: at
 * most the field's size, printable ASCII only (control characters dropped,
 * others '?'), "..." where cut. */
struct mr_sasl_bearer_error {
    char status[48]; /* "invalid_token", "insufficient_scope"; Google's XOAUTH2: "401" */
    char scope[208];
    char problem[64]; /* why the challenge could not be read ("not base64"...); "" */
    size_t too_long;  /* its length, when that is why */
};
/* Decodes challenge (len bytes) into e; never fails: what cannot be read
 * is said in e->problem. */
void mr_sasl_bearer_error_parse(const char *challenge, size_t len, struct mr_sasl_bearer_error *e);
/* After the server answered NO / -ERR to a bearer mechanism: fills
 * st->token_refused and st->token_status and returns MR_EAUTH (field
 * "auth") with a message that says the token was refused, quotes the error
 * challenge's status and scope and the server's words, and suggests
 * signing in again when the status says the token is invalid. temporary:
 * the server's answer names a passing condition (IMAP [UNAVAILABLE], POP3
 * [SYS/TEMP]); without an error challenge that is not a refusal. A NO
 * before the initial response was asked for refuses the mechanism, not the
 * token: token_refused stays 0. */
int mr_sasl_bearer_refused(const struct mr_sasl *s, const char *server_words, int temporary,
                           struct mr_mailbox_status *st, mr_error *err);

#endif
