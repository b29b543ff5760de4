/* The mail account model: every field of the account form, its defaults and
 * its validation. No I/O here: references to credentials and connectors are
 * IDs, checked against facts the caller looked up (struct mr_account_refs). */
#ifndef MR_CORE_ACCOUNT_H
#define MR_CORE_ACCOUNT_H

#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

enum mr_protocol { MR_PROTO_UNSET = 0, MR_PROTO_IMAP, MR_PROTO_POP3 };

enum mr_security {
    MR_SEC_NONE,              /* plain text, never STARTTLS */
    MR_SEC_STARTTLS_OPTIONAL, /* STARTTLS when the server offers it */
    MR_SEC_STARTTLS,          /* STARTTLS required */
    MR_SEC_TLS,               /* implicit TLS from the first byte */
};

#define MR_INTERVAL_DEFAULT 300
#define MR_INTERVAL_MIN     30
#define MR_INTERVAL_MAX     604800 /* a week */
#define MR_FOLDER_MAX       1000
#define MR_MAX_SIZE_DEFAULT (64LL << 20) /* messages above are skipped, not fetched */
#define MR_MAX_SIZE_MIN     1024LL
#define MR_MAX_SIZE_MAX     (1LL << 30)
/* How long a server may take, whatever it trickles: one step (the greeting,
 * a command's answer, a TLS handshake, a proxy's answer) at most
 * step_timeout seconds; a message transfer ends when fewer than min_speed
 * bytes a second arrive over min_speed_time seconds (curl's --speed-limit
 * and --speed-time). 0 in the account: the default. */
#define MR_STEP_TIMEOUT_DEFAULT   60
#define MR_STEP_TIMEOUT_MIN       5
#define MR_STEP_TIMEOUT_MAX       3600
#define MR_MIN_SPEED_DEFAULT      1024
#define MR_MIN_SPEED_MAX          (1 << 30)
#define MR_MIN_SPEED_TIME_DEFAULT 60
/* POP3: how far a message's size may differ from LIST's, in percent of
 * LIST's, and still count as whole (0: exact, but for line ends). */
#define MR_SIZE_TOLERANCE_MAX 100

/* What happens to a message on the server once it is stored (or delivered):
 * keep copy's two values (keep, delete) and two IMAP-only ones. UNSET is an
 * account from before the choice existed: it follows keep_copy. */
enum mr_after_fetch {
    MR_AFTER_UNSET = 0,
    MR_AFTER_KEEP,   /* untouched: EXAMINE and BODY.PEEK, nothing changes */
    MR_AFTER_SEEN,   /* \Seen set (IMAP) */
    MR_AFTER_MOVE,   /* moved to move_folder (IMAP) */
    MR_AFTER_DELETE, /* \Deleted and expunged (IMAP), DELE (POP3) */
};

/* When the action is done: once the message is durably stored (the
 * default), or once every delivery of it is delivered or skipped. */
enum mr_action_when { MR_WHEN_STORED = 0, MR_WHEN_DELIVERED };

struct mr_account {
    int64_t id; /* 0 until stored */
    char *name;
    int keep_copy;
    int automatic_check;
    int interval; /* seconds between automatic checks */
    int enabled;
    char *address;
    int port; /* 0 = the default for protocol and security */
    enum mr_protocol protocol;
    int use_connector;
    int64_t connector_id; /* 0 = the default connector from settings */
    int64_t credential_id;
    int skip_certificate;
    enum mr_security security;
    char *folder;               /* IMAP only; NULL = INBOX */
    char *auth;                 /* SASL mechanism name; NULL = auto */
    long long max_message_size; /* 0 = MR_MAX_SIZE_DEFAULT */
    char *ca_file;              /* extra CA certificates (PEM) to trust; NULL = none */
    int step_timeout;           /* seconds; 0 = MR_STEP_TIMEOUT_DEFAULT */
    int min_speed;              /* bytes a second; 0 = MR_MIN_SPEED_DEFAULT */
    int min_speed_time;         /* seconds; 0 = MR_MIN_SPEED_TIME_DEFAULT */
    int size_tolerance;         /* POP3, percent; 0 = exact */
    /* Coupled with keep_copy: setting keep_copy makes a set action keep or
     * delete; setting the action makes keep_copy = (action != delete). */
    enum mr_after_fetch after_fetch;
    char *move_folder; /* IMAP, for MR_AFTER_MOVE; NULL = none */
    int push;          /* IMAP: keep a connection in IDLE and fetch when the server tells of mail */
    int create_folder; /* CREATE move_folder when the server has no such folder */
    enum mr_action_when action_when;
    int64_t created_at, updated_at;
    int64_t revision; /* the store's count of changes to what a session depends on */
};

/* What validation needs to know about the world outside the account. */
struct mr_account_refs {
    int credential_exists;
    int connector_exists; /* the account's connector_id, when non-zero */
    int default_connector_set;
};

void mr_account_init(struct mr_account *a); /* all defaults */
void mr_account_clear(struct mr_account *a);
void mr_account_copy(struct mr_account *dst, const struct mr_account *src);
int mr_account_validate(const struct mr_account *a, const struct mr_account_refs *refs,
                        struct mr_problems *p);

int mr_default_port(enum mr_protocol proto, enum mr_security sec);
int mr_account_port(const struct mr_account *a); /* explicit, or the default */
/* INBOX for IMAP when none is set; NULL for POP3. */
const char *mr_account_folder(const struct mr_account *a);
int mr_account_is_secure(const struct mr_account *a);
long long mr_account_max_size(const struct mr_account *a);
/* The effective values of the fields above (the default for 0). */
int mr_account_step_timeout(const struct mr_account *a);
int mr_account_min_speed(const struct mr_account *a);
int mr_account_min_speed_time(const struct mr_account *a);
/* The action in effect: the account's, or keep copy's (keep or delete). */
enum mr_after_fetch mr_account_after_fetch(const struct mr_account *a);

/* Whether a's password would go where b's goes, protected the same way:
 * the address (ignoring case), effective port, protocol, security, network
 * connector (whether, and which), and the certificate checks (skip, CA
 * file). */
int mr_account_same_destination(const struct mr_account *a, const struct mr_account *b);

const char *mr_protocol_name(enum mr_protocol p);    /* "imap", "pop3" */
const char *mr_protocol_display(enum mr_protocol p); /* "IMAP", "POP3" */
int mr_protocol_parse(const char *s, enum mr_protocol *out);
const char *mr_security_name(enum mr_security s); /* "none", "starttls", ... */
int mr_security_parse(const char *s, enum mr_security *out);
/* The report's Connection type: "SSL" for implicit TLS, "TLS" for STARTTLS,
 * "" without security. */
const char *mr_security_connection_type(enum mr_security s);
const char *mr_after_fetch_name(enum mr_after_fetch f); /* "keep", ...; "" for UNSET */
int mr_after_fetch_parse(const char *s, enum mr_after_fetch *out);
const char *mr_action_when_name(enum mr_action_when w); /* "stored", "delivered" */
int mr_action_when_parse(const char *s, enum mr_action_when *out);

/* The declarative field table. One row per form field; it drives the CLI
 * flags, `show` and the JSON keys (and later the API schema and the form). */
enum mr_field_kind {
    MR_FIELD_TEXT,
    MR_FIELD_BOOL,
    MR_FIELD_INT,
    MR_FIELD_CHOICE,
    MR_FIELD_REF, /* an ID of another object: credential or connector */
};

struct mr_field {
    const char *key;   /* JSON key; the CLI flag is the key with '-' for '_' */
    const char *label; /* the account form's label */
    enum mr_field_kind kind;
    const char *values;                       /* accepted values, for help and messages */
    size_t offset;                            /* of the member in struct mr_account */
    long long min, max;                       /* MR_FIELD_INT range */
    int empty_is_default;                     /* "" resets the field to its default */
    int (*parse)(const char *text, int *out); /* MR_FIELD_CHOICE kept as an int */
};

extern const struct mr_field mr_account_fields[];
extern const size_t mr_account_field_count;
const struct mr_field *mr_account_field(const char *key);

/* The text form of a field as `show` and CSV print it: yes/no, the
 * effective port and folder, "auto" for the default mechanism, an ID for a
 * reference ("" when none). buf holds numbers. */
const char *mr_account_get(const struct mr_account *a, const struct mr_field *f, char *buf,
                           size_t size);
/* The integer behind a BOOL, INT or CHOICE field (the effective port). */
long long mr_account_get_int(const struct mr_account *a, const struct mr_field *f);

/* Sets one field from its text form (a REF field takes the numeric ID; the
 * caller resolves names). An empty text resets port, folder and auth to
 * their defaults. Problems go to p; returns MR_EINVAL if one was added. */
int mr_account_set(struct mr_account *a, const char *key, const char *text, struct mr_problems *p);

#endif
