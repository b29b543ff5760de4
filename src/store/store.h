/* The one interface to persistence. Only src/store speaks SQL. Every function
 * returns 0 or a negative MR_E* code with a message in err. Objects returned
 * to the caller are owned by the caller (free with the model's *_clear and
 * the list frees below). Write operations do not open transactions of their
 * own: callers group them with mr_store_begin/commit so each command is one
 * transaction. */
#ifndef MR_STORE_STORE_H
#define MR_STORE_STORE_H

#include "core/account.h"
#include "core/connector.h"
#include "core/credential.h"
#include "core/filter.h"
#include "core/message.h"
#include "core/schedule.h"
#include "core/target.h"
#include "core/user.h"
#include "util/buf.h"
#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

struct mr_store;

#define MR_STORE_DB_NAME "mailroom.db"

/* Opens (creating when needed) DIR/mailroom.db: the directory 0700, the
 * database 0600, WAL mode, foreign keys on, migrations applied. */
/* Only SQLite opens, stats or closes the database and its -wal and -shm
 * files: on POSIX, closing any descriptor of a file drops every fcntl lock
 * the process holds on it, SQLite's included, and the next process to
 * close the database would then delete a WAL that a live daemon still
 * writes to (SQLite's "How To Corrupt", section 2.2). */
int mr_store_open(struct mr_store **out, const char *dir, mr_error *err);
void mr_store_close(struct mr_store **s);
const char *mr_store_dir(const struct mr_store *s);
int mr_store_schema_version(struct mr_store *s);
int mr_store_latest_schema_version(void);

/* Whether mr_store_begin opened a transaction not yet ended. */
int mr_store_in_transaction(const struct mr_store *s);
int mr_store_begin(struct mr_store *s, mr_error *err); /* BEGIN IMMEDIATE */
int mr_store_commit(struct mr_store *s, mr_error *err);

/* While a long fetch writes through s, its WAL is copied into the database
 * by a thread with a connection of its own instead of by s after a commit
 * (checkpoint.c). Stop before s is used by another thread or closed. No
 * thread (out of resources) is not an error: s checkpoints itself then. */
struct mr_checkpointer;
int mr_checkpointer_start(struct mr_store *s, struct mr_checkpointer **out, mr_error *err);
void mr_checkpointer_stop(struct mr_checkpointer **c);
void mr_store_rollback(struct mr_store *s);

/* Small named blobs (the vault's key check lives here). */
int mr_store_meta_get(struct mr_store *s, const char *key, struct mr_buf *out, mr_error *err);
int mr_store_meta_set(struct mr_store *s, const char *key, const void *val, size_t len,
                      mr_error *err);

enum mr_object {
    MR_OBJ_ACCOUNT,
    MR_OBJ_CREDENTIAL,
    MR_OBJ_CONNECTOR,
    MR_OBJ_USER,
    MR_OBJ_SCHEDULE,
    MR_OBJ_TARGET, /* a delivery target (core/target.h) */
};
const char *mr_object_name(enum mr_object kind); /* "account", ... */
/* The name with its article: "an account", "a credential". */
const char *mr_object_a_name(enum mr_object kind);
/* Whether another object of that kind (not except_id) has this name,
 * compared without regard to ASCII case. */
int mr_store_name_taken(struct mr_store *s, enum mr_object kind, const char *name,
                        int64_t except_id, int *taken, mr_error *err);
/* Resolves "ID|NAME" (all digits = an ID) to an ID; MR_ENOTFOUND otherwise. */
int mr_store_resolve(struct mr_store *s, enum mr_object kind, const char *ref, int64_t *id,
                     mr_error *err);
/* Names of what refers to object id (accounts, connectors, the default
 * setting), comma-separated into out; empty when nothing does. */
int mr_store_users_of(struct mr_store *s, enum mr_object kind, int64_t id, struct mr_buf *out,
                      mr_error *err);

/* The accounts that go through a connector: their own choice, or the
 * default (through_default) when they leave it blank. */
struct mr_connector_user {
    int64_t id;
    char *name;
    int through_default;
};
int mr_store_connector_users(struct mr_store *s, int64_t connector_id,
                             struct mr_connector_user **items, size_t *n, mr_error *err);
void mr_connector_users_free(struct mr_connector_user **items, size_t n);

/* Names of the accounts that use the default connector (use_connector = yes
 * with no connector of their own), comma-separated into out. */
int mr_store_accounts_on_default(struct mr_store *s, struct mr_buf *out, mr_error *err);

/* Credentials. The secret is the vault's sealed blob, never plain text. */
int mr_store_credential_insert(struct mr_store *s, struct mr_credential *c, const void *sealed,
                               size_t sealed_len, mr_error *err);
/* sealed == NULL keeps the stored secret. */
int mr_store_credential_update(struct mr_store *s, struct mr_credential *c, const void *sealed,
                               size_t sealed_len, mr_error *err);
int mr_store_credential_get(struct mr_store *s, int64_t id, struct mr_credential *out,
                            mr_error *err);
int mr_store_credential_secret(struct mr_store *s, int64_t id, struct mr_buf *sealed,
                               mr_error *err);
int mr_store_credential_list(struct mr_store *s, struct mr_credential **items, size_t *n,
                             mr_error *err);
void mr_credential_list_free(struct mr_credential **items, size_t n);
int mr_store_credential_delete(struct mr_store *s, int64_t id, mr_error *err);
/* oauth2: new sealed tokens, state ok, in one statement (a rotated refresh
 * token replaces the old one only when the new one is saved). */
int mr_store_credential_set_tokens(struct mr_store *s, int64_t id, const void *sealed,
                                   size_t sealed_len, int64_t expires_at, int signed_in,
                                   mr_error *err);
/* oauth2: a refresh token imported: signed in now, its state not known yet. */
int mr_store_credential_signed_in(struct mr_store *s, int64_t id, mr_error *err);
/* oauth2: what the last token request said (state MR_TOKEN_*, error text). */
int mr_store_credential_set_token_state(struct mr_store *s, int64_t id, const char *state,
                                        const char *error, mr_error *err);

/* Network connectors. */
int mr_store_connector_insert(struct mr_store *s, struct mr_connector *c, mr_error *err);
int mr_store_connector_update(struct mr_store *s, struct mr_connector *c, mr_error *err);
int mr_store_connector_get(struct mr_store *s, int64_t id, struct mr_connector *out, mr_error *err);
int mr_store_connector_list(struct mr_store *s, struct mr_connector **items, size_t *n,
                            mr_error *err);
void mr_connector_list_free(struct mr_connector **items, size_t n);
int mr_store_connector_delete(struct mr_store *s, int64_t id, mr_error *err);

/* Accounts. */
int mr_store_account_insert(struct mr_store *s, struct mr_account *a, mr_error *err);
int mr_store_account_update(struct mr_store *s, struct mr_account *a, mr_error *err);
int mr_store_account_get(struct mr_store *s, int64_t id, struct mr_account *out, mr_error *err);
/* Refused while the account has stored messages, unless with_messages. */
int mr_store_account_delete(struct mr_store *s, int64_t id, int with_messages, mr_error *err);
/* One page of the settings report, ordered by ID; limit 0 = every match.
 * total receives the number of matching accounts. */
int mr_store_account_list(struct mr_store *s, const struct mr_account_filter *f, size_t offset,
                          size_t limit, struct mr_account **items, size_t *n, size_t *total,
                          mr_error *err);
void mr_account_list_free(struct mr_account **items, size_t n);
/* Every account that logs in with the credential, by ID. */
int mr_store_accounts_with_credential(struct mr_store *s, int64_t credential_id,
                                      struct mr_account **items, size_t *n, mr_error *err);

/* --- fetching ------------------------------------------------------------ */

/* IMAP: the UIDVALIDITY and highest UID stored for the account; zeros when
 * nothing was fetched yet. */
int mr_store_fetch_state(struct mr_store *s, int64_t account, uint32_t *uidvalidity,
                         uint64_t *last_uid, mr_error *err);
int mr_store_set_fetch_state(struct mr_store *s, int64_t account, uint32_t uidvalidity,
                             uint64_t last_uid, mr_error *err);
/* Whether the server's message (IMAP uidvalidity+uid, or POP3 uidl) is
 * stored already (*stored; *mismatch: marked as not having the size the
 * server announced) or was recorded as skipped (*skipped). */
int mr_store_message_known(struct mr_store *s, int64_t account, uint32_t uidvalidity, uint64_t uid,
                           const char *uidl, int *stored, int *mismatch, int *skipped,
                           mr_error *err);
/* A stored message of the account with these bytes (and Message-ID, when
 * it has one) that accept takes (called with its POP3 UIDL or NULL; a NULL
 * accept takes any): its ID, or 0; *mismatch as above. */
int mr_store_message_by_digest(struct mr_store *s, int64_t account, const unsigned char *sha256,
                               const char *message_id, int (*accept)(void *ctx, const char *uidl),
                               void *ctx, int64_t *id, int *mismatch, mr_error *err);
/* After a UIDVALIDITY change: the stored message is now this UID. */
int mr_store_message_relocate(struct mr_store *s, int64_t id, uint32_t uidvalidity, uint64_t uid,
                              mr_error *err);
/* After a POP3 server changed its UIDLs: the stored message is now this
 * UIDL; when the copy that arrived did not have its listed size, the
 * stored one is marked so too (never deleted from the server). */
int mr_store_message_relocate_uidl(struct mr_store *s, int64_t id, const char *uidl,
                                   const struct mr_message *arrived, mr_error *err);
/* Stores the message, its attachments' summary and its raw bytes. */
int mr_store_message_insert(struct mr_store *s, struct mr_message *m,
                            const struct mr_attachment *att, size_t natt, const void *raw,
                            size_t len, mr_error *err);
int mr_store_skipped_insert(struct mr_store *s, int64_t account, uint32_t uidvalidity, uint64_t uid,
                            const char *uidl, uint64_t size, const char *reason, mr_error *err);

/* Fetch history. */
struct mr_fetch_run {
    int64_t id, account_id, started_at, ended_at;
    char result[16]; /* running, ok, error */
    uint64_t fetched, bytes, deleted, skipped;
    char *error;
    char *error_said;    /* the error as said (util/said.h JSON), or NULL */
    int64_t retry_after; /* the server asked not to be checked before then; 0: no */
    /* what started it: "push" (the server told of mail), "check" (the
     * scheduler: its interval, or a pushed connection's refresh), "" (a
     * fetch asked for: Fetch now, the command line) */
    char trigger[8];
    int64_t latency_ms; /* push: from the server's notice to the first commit; -1: none */
};
int mr_store_run_start(struct mr_store *s, int64_t account, int64_t *run, mr_error *err);
int mr_store_run_finish(struct mr_store *s, const struct mr_fetch_run *r, mr_error *err);
/* A running run's messages and bytes stored so far (in the caller's
 * transaction, so they move with each commit), for Fetch now's progress. */
int mr_store_run_progress(struct mr_store *s, int64_t run, uint64_t fetched, uint64_t bytes,
                          mr_error *err);
/* Deletes finished runs that ended before `before`, except each account's
 * latest (its status); *deleted counts them. */
int mr_store_prune_history(struct mr_store *s, int64_t before, int64_t *deleted, mr_error *err);

/* The inbox's search: NULL/0 fields match everything. from and subject are
 * substrings (ASCII case-insensitive); since/until bound the time received. */
struct mr_message_filter {
    int64_t account;
    const char *from;
    const char *subject;
    int64_t since, until;
    const char *status; /* stored, parse_failed; NULL = both */
    int size_mismatch;  /* only those marked as not having the server's size */
    int64_t before;     /* only messages with a smaller ID (keyset paging); 0 = all */
};

/* A message left on the server (too big): what the processing report shows. */
struct mr_skipped {
    int64_t id, account_id;
    int64_t uidvalidity, uid; /* IMAP; 0 for POP3 */
    char *uidl;               /* POP3 */
    int64_t size, seen_at;
    char *reason;
};
int mr_store_skipped_list(struct mr_store *s, int64_t account, size_t offset, size_t limit,
                          struct mr_skipped **items, size_t *n, size_t *total, mr_error *err);
void mr_skipped_list_free(struct mr_skipped **items, size_t n);

/* The inbox: newest first; limit 0 = all. */
int mr_store_message_list(struct mr_store *s, const struct mr_message_filter *f, size_t offset,
                          size_t limit, struct mr_message **items, size_t *n, size_t *total,
                          mr_error *err);
void mr_message_list_free(struct mr_message **items, size_t n);
int mr_store_message_get(struct mr_store *s, int64_t id, struct mr_message *out, mr_error *err);
int mr_store_message_raw(struct mr_store *s, int64_t id, struct mr_buf *out, mr_error *err);
int mr_store_message_attachments(struct mr_store *s, int64_t id, struct mr_attachment **items,
                                 size_t *n, mr_error *err);
int mr_store_message_count(struct mr_store *s, int64_t account, size_t *n, mr_error *err);

/* --- users, sessions, API tokens ---------------------------------------- */

int mr_store_user_insert(struct mr_store *s, struct mr_user *u, const char *hash, mr_error *err);
int mr_store_user_update(struct mr_store *s, const struct mr_user *u, const char *hash,
                         mr_error *err); /* hash NULL keeps the password */
int mr_store_user_get(struct mr_store *s, int64_t id, struct mr_user *out, mr_error *err);
/* For login: the user and the stored password hash (to free). */
int mr_store_user_by_name(struct mr_store *s, const char *name, struct mr_user *out, char **hash,
                          mr_error *err);
int mr_store_user_list(struct mr_store *s, struct mr_user **items, size_t *n, mr_error *err);
void mr_user_list_free(struct mr_user **items, size_t n);
int mr_store_user_delete(struct mr_store *s, int64_t id, mr_error *err);
int mr_store_admin_count(struct mr_store *s, size_t *n, mr_error *err);

/* Sessions and tokens are found by the SHA-256 of their secret. */
int mr_store_session_insert(struct mr_store *s, const unsigned char hash[32], int64_t user,
                            const char *csrf, mr_error *err);
/* How long a session lasts: idle_seconds after its last use, and at most
 * max_seconds after it started however busy it is. */
struct mr_session_limits {
    int idle_seconds;
    int max_seconds;
};
/* The session's user and CSRF token when it exists, was used within the
 * idle time and started within the lifetime (it is then touched);
 * MR_ENOTFOUND otherwise. */
int mr_store_session_lookup(struct mr_store *s, const unsigned char hash[32],
                            const struct mr_session_limits *limits, struct mr_user *user,
                            char csrf[72], mr_error *err);
int mr_store_session_delete(struct mr_store *s, const unsigned char hash[32], mr_error *err);
int mr_store_user_sessions_delete(struct mr_store *s, int64_t user, mr_error *err);
/* t's user_id, name, expires_at and read_only; fills id and created_at. */
int mr_store_token_insert(struct mr_store *s, const unsigned char hash[32], struct mr_token *t,
                          mr_error *err);
/* The token's user and whether it is read-only; MR_ENOTFOUND for no such
 * token, MR_EAUTH (saying when) for one that expired. */
int mr_store_token_lookup(struct mr_store *s, const unsigned char hash[32], struct mr_user *user,
                          int *read_only, mr_error *err);
/* Every token, or one user's (user 0: all), newest first. */
int mr_store_token_list(struct mr_store *s, int64_t user, struct mr_token **items, size_t *n,
                        mr_error *err);
void mr_token_list_free(struct mr_token **items, size_t n);
int mr_store_token_get(struct mr_store *s, int64_t id, struct mr_token *out, mr_error *err);
int mr_store_token_delete(struct mr_store *s, int64_t id, mr_error *err);
/* Revokes every token of the user; *n says how many there were. */
int mr_store_user_tokens_delete(struct mr_store *s, int64_t user, size_t *n, mr_error *err);

/* How an account's checks are going, from its fetch history. */
struct mr_check_status {
    int64_t account_id;
    int interval;         /* the account's check interval */
    int64_t created_at;   /* the account's */
    int64_t last_started; /* 0 = never checked */
    int64_t last_ended;
    char last_result[16]; /* ok, error ("" when never) */
    uint64_t last_fetched;
    char last_error[512];
    int failures;         /* errors since the last success */
    int running;          /* a run is recorded as running */
    int64_t last_success; /* when the last successful check ended; 0 = never */
    int64_t retry_after;  /* the last run's server asked for no check before then */
};

/* The accounts the scheduler must check (enabled, automatic check on), with
 * their status. */
int mr_store_due_candidates(struct mr_store *s, struct mr_check_status **items, size_t *n,
                            mr_error *err);
int mr_store_check_status(struct mr_store *s, int64_t account, struct mr_check_status *out,
                          mr_error *err);
/* The same, and in *said (when not NULL) the last check's error as said
 * (util/said.h JSON text) read from the same row, or NULL when it has none;
 * the caller frees it. */
int mr_store_check_status_said(struct mr_store *s, int64_t account, struct mr_check_status *out,
                               char **said, mr_error *err);
/* Accounts with a run recorded as running (a live one, or one a process
 * that died left behind). */
int mr_store_accounts_running(struct mr_store *s, int64_t **ids, size_t *n, mr_error *err);
/* Marks the account's running runs as interrupted errors. */
int mr_store_close_stale_runs(struct mr_store *s, int64_t account, mr_error *err);

/* Totals for /metrics. */
struct mr_fetch_totals {
    uint64_t runs, failed, fetched, bytes;
    uint64_t accounts_enabled, accounts_disabled, accounts_with_errors;
    uint64_t duration_buckets[8]; /* runs that took <= 1, 2, 5, 10, 30, 60, 300 s, +Inf */
    double duration_sum;
};
int mr_store_fetch_totals(struct mr_store *s, struct mr_fetch_totals *t, mr_error *err);

/* Fetch history, newest first. */
int mr_store_run_list(struct mr_store *s, int64_t account, size_t offset, size_t limit,
                      struct mr_fetch_run **items, size_t *n, size_t *total, mr_error *err);
void mr_fetch_run_list_free(struct mr_fetch_run **items, size_t n);

/* --- the audit log --------------------------------------------------------- */

struct mr_audit_entry {
    int64_t id, at, object_id;
    char *actor, *action, *object, *object_name;
    char *changes; /* JSON: {"field": [old, new], ...}; secrets only as "changed" */
};

struct mr_audit_filter {
    const char *object; /* account, credential, ...; NULL = all */
    const char *actor;  /* NULL = all */
    int64_t object_id;  /* 0 = all */
};

int mr_store_audit_add(struct mr_store *s, const char *actor, const char *action,
                       const char *object, int64_t object_id, const char *object_name,
                       const char *changes, mr_error *err);
/* Newest first; limit 0 = all. */
int mr_store_audit_list(struct mr_store *s, const struct mr_audit_filter *f, size_t offset,
                        size_t limit, struct mr_audit_entry **items, size_t *n, size_t *total,
                        mr_error *err);
void mr_audit_list_free(struct mr_audit_entry **items, size_t n);

/* --- scheduled reports and the SMTP relay ----------------------------------- */

struct mr_smtp_settings {
    char *host;
    int port;       /* 0 = by security: 587 (starttls), 465 (tls), 25 */
    char *security; /* mr_smtp_security_parse's text; NULL = starttls */
    int64_t credential_id;
    char *from;
};

void mr_smtp_settings_clear(struct mr_smtp_settings *m);
int mr_store_smtp_get(struct mr_store *s, struct mr_smtp_settings *out, mr_error *err);
int mr_store_smtp_set(struct mr_store *s, const struct mr_smtp_settings *in, mr_error *err);

int mr_store_schedule_insert(struct mr_store *s, struct mr_schedule *c, mr_error *err);
int mr_store_schedule_update(struct mr_store *s, struct mr_schedule *c, mr_error *err);
int mr_store_schedule_get(struct mr_store *s, int64_t id, struct mr_schedule *out, mr_error *err);
int mr_store_schedule_list(struct mr_store *s, struct mr_schedule **items, size_t *n,
                           mr_error *err);
void mr_schedule_list_free(struct mr_schedule **items, size_t n);
int mr_store_schedule_delete(struct mr_store *s, int64_t id, mr_error *err);
/* Enabled schedules whose next run is at or before now. */
int mr_store_schedules_due(struct mr_store *s, int64_t now, int64_t **ids, size_t *n,
                           mr_error *err);
int mr_store_schedule_result(struct mr_store *s, int64_t id, const char *result, const char *error,
                             int failures, int64_t next_run_at, mr_error *err);
/* Takes a due schedule for one runner: moves its next run to `lease_until`
 * if it is still due at `now`. *claimed is 0 when another runner (another
 * daemon on the same data) took it first. */
int mr_store_schedule_claim(struct mr_store *s, int64_t id, int64_t now, int64_t lease_until,
                            int *claimed, mr_error *err);

/* --- delivery targets and the outbox (store/deliveries.c) ------------------ */

/* Queues the stored message m for every enabled target of its account (part
 * of mr_store_message_insert's transaction). */
int mr_store_outbox_add(struct mr_store *s, const struct mr_message *m, mr_error *err);
/* Within the process: a commit that queued deliveries (or a replay) kicks;
 * the outbox's workers wait for a kick newer than *seen, at most ms or
 * until *stop. */
void mr_store_outbox_kick(void);
uint64_t mr_store_outbox_kicks(void);
void mr_store_outbox_wait(uint64_t seen, int64_t ms, const int *stop);

int mr_store_target_insert(struct mr_store *s, struct mr_target *t, mr_error *err);
int mr_store_target_update(struct mr_store *s, struct mr_target *t, mr_error *err);
int mr_store_target_get(struct mr_store *s, int64_t id, struct mr_target *out, mr_error *err);
/* An account's targets (account 0: every target), by ID. */
int mr_store_target_list(struct mr_store *s, int64_t account, struct mr_target **items, size_t *n,
                         mr_error *err);
void mr_target_list_free(struct mr_target **items, size_t n);
/* Deletes the target and its deliveries. */
int mr_store_target_delete(struct mr_store *s, int64_t id, mr_error *err);

/* How many of the target's deliveries are pending, delivered, failed and
 * skipped (in that order). */
int mr_store_target_counts(struct mr_store *s, int64_t target, uint64_t counts[4], mr_error *err);

/* One message for one target: a row of the outbox. Times in ms. */
struct mr_delivery {
    int64_t id, message_id, target_id, account_id;
    char event_id[32];
    char state[12]; /* pending, delivered, failed, skipped */
    int attempts;
    int64_t created_ms, window_ms, next_ms, lease_ms, last_attempt_ms, done_ms;
    char *last_error, *last_response, *progress;
    char *last_error_said; /* last_error as said (util/said.h JSON), or NULL */
    /* for lists: the target's name and kind, the account's name, the
     * message's subject and sender */
    char *target_name, *target_kind, *account_name, *subject, *from;
};
void mr_delivery_clear(struct mr_delivery *d);
void mr_delivery_list_free(struct mr_delivery **items, size_t n);

struct mr_delivery_filter {
    const char *state; /* NULL = every state */
    int64_t account, target, message;
    int64_t since_ms; /* failed ones: ended at or after; others: created at or after */
};
/* Newest first; limit 0 = all; total counts every match. */
int mr_store_delivery_list(struct mr_store *s, const struct mr_delivery_filter *f, size_t offset,
                           size_t limit, struct mr_delivery **items, size_t *n, size_t *total,
                           mr_error *err);
int mr_store_delivery_get(struct mr_store *s, int64_t id, struct mr_delivery *out, mr_error *err);

/* Takes up to max due deliveries of one target for one worker, in ID order,
 * leased until lease_until_ms (another process's worker skips them). A
 * target that keeps order (not parallel) is handed out only from its
 * oldest pending delivery, and only to one worker at a time. skip lists
 * targets this process is already delivering to (nskip of them). *n is 0
 * when nothing is due. */
int mr_store_outbox_claim(struct mr_store *s, int64_t now_ms, int64_t lease_until_ms,
                          const int64_t *skip, size_t nskip, size_t max, int64_t *target,
                          int64_t *ids, size_t *n, mr_error *err);
/* Records an attempt: state delivered or failed (done), or pending again
 * from next_ms; the lease ends. error/response/progress may be NULL. */
int mr_store_delivery_result(struct mr_store *s, int64_t id, const char *state, int64_t now_ms,
                             int64_t next_ms, const char *error, const char *error_said,
                             const char *response, const char *progress, mr_error *err);
/* Ends the leases of processes on this host that are gone (a daemon or
 * `delivery run` killed mid-batch), so their deliveries are due at once;
 * *n counts them. */
int mr_store_outbox_recover(struct mr_store *s, size_t *n, mr_error *err);
/* The outbox's own bookkeeping (claims, results) may be written with
 * synchronous=NORMAL: durable at the next fsync (the next message commit
 * or checkpoint), so a crash can lose the last results, never a delivery;
 * a lost result means the delivery is made again, with its event ID, as
 * at-least-once allows. durable 0 relaxes s, 1 restores FULL. Outside a
 * transaction only. */
int mr_store_outbox_relaxed(struct mr_store *s, int relaxed, mr_error *err);
/* Gives claimed deliveries back untried. */
int mr_store_delivery_release(struct mr_store *s, const int64_t *ids, size_t n, mr_error *err);
/* Failed deliveries matching f (state ignored: failed) become pending now,
 * with a new retry window; *n counts them. */
int mr_store_delivery_replay(struct mr_store *s, const struct mr_delivery_filter *f, int64_t now_ms,
                             size_t *n, mr_error *err);
/* The earliest time a pending delivery is due (INT64_MAX when none). */
int mr_store_outbox_next_due(struct mr_store *s, int64_t *next_ms, mr_error *err);

/* For /metrics. */
struct mr_delivery_counts {
    int64_t target_id;
    char *target_name;
    int64_t account_id;
    char *kind;
    uint64_t pending, delivered, failed, skipped;
};
struct mr_outbox_totals {
    uint64_t pending;
    int64_t oldest_pending_ms; /* created_ms of the oldest pending; 0 when none */
    struct mr_delivery_counts *targets;
    size_t ntargets;
};
int mr_store_outbox_totals(struct mr_store *s, struct mr_outbox_totals *t, mr_error *err);
void mr_outbox_totals_clear(struct mr_outbox_totals *t);

/* --- after-fetch actions (store/actions.c) ---------------------------------- */

/* A stored message whose after-fetch action is still to be done. */
struct mr_action_item {
    int64_t id;
    uint64_t uid; /* IMAP */
};

/* The account's messages from UIDVALIDITY uidvalidity with action_pending
 * set, by UID; with delivered, only those whose deliveries are done (none
 * pending or failed: each delivered or skipped, or none at all). */
int mr_store_actions_pending(struct mr_store *s, int64_t account, uint32_t uidvalidity,
                             int delivered, struct mr_action_item **items, size_t *n,
                             mr_error *err);
/* The ID of the stored message at (uidvalidity, uid), or with uidl (POP3)
 * at that UIDL; 0 when none. */
int mr_store_action_find(struct mr_store *s, int64_t account, uint32_t uidvalidity, uint64_t uid,
                         const char *uidl, int64_t *id, mr_error *err);
/* done[i]: whether message ids[i]'s deliveries are done (as above). */
int mr_store_actions_deliveries_done(struct mr_store *s, const int64_t *ids, size_t n, int *done,
                                     mr_error *err);
/* Clears action_pending of ids[0..n), once the server said OK: in a short
 * transaction of its own, or in the caller's when one is open. */
int mr_store_actions_clear(struct mr_store *s, const int64_t *ids, size_t n, mr_error *err);

/* Settings. 0 = no default connector. */
int mr_store_default_connector(struct mr_store *s, int64_t *id, mr_error *err);
int mr_store_set_default_connector(struct mr_store *s, int64_t id, mr_error *err);

/* --- the dashboard (store/dashboard.c) ------------------------------------ */

/* An account on the dashboard's lists. */
struct mr_dashboard_account {
    int64_t id;
    char *name;
    int64_t credential_id; /* needing consent: the credential to sign in again */
    char *credential_name;
};

/* How the accounts are doing now. The first four counts split every
 * account: disabled; enabled whose last finished check failed (failing);
 * enabled otherwise (ok, never_checked of them not checked yet).
 * needs_consent counts the enabled accounts whose OAuth 2.0 credential
 * needs someone to sign in (again): consent_needed, or a delegated one
 * never signed in. */
struct mr_dashboard {
    uint64_t accounts, ok, failing, disabled, never_checked, needs_consent;
    uint64_t credentials, messages;
    int checked_ok;           /* some account's check succeeded once */
    int deliveries;           /* a delivery target exists */
    uint64_t pending, failed; /* the outbox now */
    /* up to the limit asked, by name */
    struct mr_dashboard_account *failing_list, *consent_list;
    size_t nfailing, nconsent;
};
int mr_store_dashboard(struct mr_store *s, size_t limit, struct mr_dashboard *out, mr_error *err);
void mr_dashboard_clear(struct mr_dashboard *d);

/* n buckets of step seconds from start (UTC epoch seconds): messages
 * fetched and failed checks by the end of their check, and the outbox's
 * backlog (deliveries pending) at the end of each bucket (now, for the
 * bucket now is in); derived from the deliveries' creation and end
 * times (a replayed delivery counts as pending from its creation). */
struct mr_dashboard_bucket {
    int64_t start;
    uint64_t fetched, failures, checks, backlog;
};
int mr_store_dashboard_series(struct mr_store *s, int64_t start, int64_t step, size_t n,
                              struct mr_dashboard_bucket *out, mr_error *err);
/* EXPLAIN QUERY PLAN of the dashboard's queries, one line per step, for
 * the tests that keep them on indexes. */
int mr_store_dashboard_plans(struct mr_store *s, struct mr_buf *out, mr_error *err);

/* --- push (IMAP IDLE; store/push.c) --------------------------------------- */

/* The accounts that want a push connection: enabled, automatic check on,
 * push on, IMAP; with each one's revision (it counts the changes to what
 * a session depends on: the account, its credential, its connector). */
struct mr_push_want {
    int64_t account_id, revision;
};
int mr_store_push_wanted(struct mr_store *s, struct mr_push_want **items, size_t *n, mr_error *err);

/* What the daemon's push connection of an account is doing. */
struct mr_push_status {
    int64_t account_id;
    char mode[12];        /* push, connecting, poll, failing; "" = none recorded (not pushed) */
    char reason[512];     /* why it polls or fails; what dropped a connection being remade */
    char *reason_said;    /* the reason as said (util/said.h JSON), or NULL */
    int64_t since;        /* in this mode since (unix s) */
    int64_t connected_at; /* the push connection's login (unix s); 0: none */
    int64_t latency_ms;   /* the last notice from the server to its mail committed; -1: none */
    uint64_t notices;     /* the server's notices of new mail since the daemon started */
};
/* Writes each row (mode "" deletes the account's) in one transaction. */
int mr_store_push_status_save(struct mr_store *s, const struct mr_push_status *rows, size_t n,
                              mr_error *err);
int mr_store_push_status_clear(struct mr_store *s, mr_error *err);
/* The account's row; mode "" when none. */
int mr_store_push_status_get(struct mr_store *s, int64_t account, struct mr_push_status *out,
                             mr_error *err);
int mr_store_push_status_list(struct mr_store *s, struct mr_push_status **items, size_t *n,
                              mr_error *err);
void mr_push_status_clear(struct mr_push_status *r);
void mr_push_status_list_free(struct mr_push_status **items, size_t n);

/* --- live updates (store/events.c) ------------------------------------------ */

/* What the console shows live changed: a message stored, a check started or
 * ended, a delivery attempted. Writers mark their connection with
 * mr_store_events_touch after the write; mr_store_commit then notifies the
 * process (at once outside a transaction; a rollback forgets the mark).
 * The watcher (http/api_events.c) waits for a notice newer than seen, at
 * most ms or until *stop, and reads what changed with
 * mr_store_events_since, which also sees other processes' commits (the
 * CLI's fetch beside the daemon) when it is called about once a second. */
void mr_store_events_touch(struct mr_store *s);
void mr_store_events_notify(void);
uint64_t mr_store_events_notices(void);
void mr_store_events_wait(uint64_t seen, int64_t ms, const int *stop);

/* Where the watcher has read up to; zeroed, then set by
 * mr_store_events_cursor to "now". The seen_* arrays are the rows of the
 * last look inside the time windows (a row is reported once). */
struct mr_store_cursor {
    int64_t data_version; /* PRAGMA data_version: another connection committed */
    int64_t message_id;   /* the newest message seen */
    int64_t run_id;       /* the newest check (fetch run) seen start */
    int64_t ended_at;     /* the latest end of a check seen (seconds) */
    int64_t attempt_ms;   /* the latest delivery attempt seen */
    int64_t *seen_runs;   /* run IDs */
    size_t nseen_runs;
    int64_t *seen_attempts; /* (delivery ID, attempts) pairs */
    size_t nseen_attempts;
};

/* An account whose state changed: a check started (running) or ended. */
struct mr_store_account_change {
    int64_t id;
    char state[8]; /* running, ok, error */
};

/* What changed since a cursor. At most MR_STORE_CHANGES_MAX of each list;
 * more_* says some were left out (the rest are reported next time for
 * messages; for statuses, "re-read everything"). */
#define MR_STORE_CHANGES_MAX 100
struct mr_store_changes {
    int64_t message_last;                           /* the newest new message (0: none) */
    size_t messages;                                /* how many new messages */
    int64_t message_accounts[MR_STORE_CHANGES_MAX]; /* their accounts, distinct */
    size_t nmessage_accounts;
    struct mr_store_account_change accounts[MR_STORE_CHANGES_MAX];
    size_t naccounts;
    int64_t statuses[MR_STORE_CHANGES_MAX]; /* messages whose deliveries were attempted */
    size_t nstatuses;
    int more_messages, more_accounts, more_statuses;
};

int mr_store_events_cursor(struct mr_store *s, struct mr_store_cursor *c, mr_error *err);
/* Fills ch with what changed since c and moves c on. *any: something did. */
int mr_store_events_since(struct mr_store *s, struct mr_store_cursor *c,
                          struct mr_store_changes *ch, int *any, mr_error *err);
void mr_store_cursor_clear(struct mr_store_cursor *c);

#endif
