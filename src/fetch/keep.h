/* Sessions kept open between automatic checks (the daemon's scheduler
 * only). An idle check with a fresh session is connect, greeting, login
 * (SCRAM: two round trips and the server's password check), EXAMINE and
 * LOGOUT; with the session kept it is one EXAMINE. After a successful run
 * the engine hands its IMAP session here instead of logging out; the next
 * run of the account takes it back when the account's settings (server,
 * security, credential and its secret, folder, keep copy, connector) are
 * still the same, and opens the folder again to see what arrived. A kept
 * session the server has dropped meanwhile is noticed then, closed, and the
 * run logs in afresh: the user sees nothing of it.
 *
 * Bounded three ways, since every kept session is a process or a slot on
 * the mail server: at most `max_total` sessions, at most `max_per_server`
 * to one server (host and port), and only for accounts checked at least
 * every MR_KEEP_MAX_IDLE_S seconds, so the server's own idle logout (30
 * minutes at least, RFC 3501 section 5.4) never comes first. A session not
 * taken back within its account's interval and a minute is logged out, and
 * one is never kept past an hour from its login: a password revoked on the
 * server (which ends no open session) stops working for mailroom within the
 * hour, as it would for a client that logs in every time.
 *
 * POP3 sessions are never kept: a POP3 server shows the maildrop as it was
 * at login and holds its lock until QUIT (RFC 1939). */
#ifndef MR_FETCH_KEEP_H
#define MR_FETCH_KEEP_H

#include "proto/mailbox.h"

#include <stddef.h>
#include <stdint.h>

#define MR_KEEP_MAX_IDLE_S      (20 * 60)
#define MR_KEEP_MAX_AGE_S       (60 * 60)
#define MR_KEEP_DEFAULT_TOTAL   1000
#define MR_KEEP_DEFAULT_PER_SRV 20

struct mr_keep;

/* divisor: the scheduler's (tests run its clock faster). */
struct mr_keep *mr_keep_new(size_t max_total, size_t max_per_server, int divisor);
/* Logs every kept session out. */
void mr_keep_free(struct mr_keep **k);

/* The settings a session was opened with, as a digest (the secret is in
 * it, so a changed password is a different session; the digest itself
 * never leaves memory). */
void mr_keep_fingerprint(const struct mr_mailbox_config *c, unsigned char out[32]);

/* The session kept for the account if it was opened with the same
 * settings, now the caller's; NULL otherwise (a session kept with other
 * settings is logged out). */
struct mr_mailbox *mr_keep_take(struct mr_keep *k, int64_t account, const unsigned char fp[32]);

/* Keeps the session for the account's next check, interval seconds away.
 * Returns 1 when it was kept (the cache owns it now), 0 when not (the
 * caller closes it as usual). */
int mr_keep_put(struct mr_keep *k, int64_t account, const unsigned char fp[32], int interval,
                struct mr_mailbox *mb);

/* Logs out the sessions whose time is up; the scheduler calls it once a
 * second. */
void mr_keep_expire(struct mr_keep *k);

size_t mr_keep_count(struct mr_keep *k);

#endif
