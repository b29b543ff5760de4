/* One error convention for all of mailroom: functions return 0 or a negative
 * MR_E* code and fill an mr_error with a human message naming the field or
 * object concerned. The CLI, the API and the log show that message as is. */
#ifndef MR_UTIL_ERROR_H
#define MR_UTIL_ERROR_H

#include <stdarg.h>
#include <stddef.h>

enum mr_status {
    MR_OK = 0,
    MR_EINVAL = -1,    /* invalid input: a field, a flag, a value */
    MR_ENOTFOUND = -2, /* no such object */
    MR_EEXIST = -3,    /* an object with that name exists */
    MR_EINUSE = -4,    /* object referenced elsewhere, cannot delete */
    MR_EIO = -5,       /* file system or operating system error */
    MR_ESTORE = -6,    /* database error */
    MR_EVAULT = -7,    /* master key missing/wrong, secret cannot be opened */
    MR_ETOOBIG = -8,   /* a capped buffer or input limit was exceeded */
    MR_EUSAGE = -9,    /* command-line usage error */
    MR_ETIMEOUT = -10, /* a network step or the run's deadline timed out */
    MR_ENET = -11,     /* resolve, connect, read or write failed; connection closed */
    MR_ETLS = -12,     /* TLS handshake or certificate verification failed */
    MR_EPROTO = -13,   /* the server broke the protocol (garbage, limits, wrong tag) */
    MR_EAUTH = -14,    /* the server refused the login */
    MR_ESERVER = -15,  /* the server answered NO/BAD/-ERR to a command */
};

#define MR_ERROR_FIELD_MAX   48
#define MR_ERROR_MESSAGE_MAX 1024

/* A sentence as it was said, so the console can say it in another
 * language: its English printf format (a string literal: the sentence's
 * stable id, as gettext's msgid) and each argument as text, in order. */
#define MR_SAID_ARGS_MAX 6
#define MR_SAID_TEXT_MAX 640

struct mr_said {
    const char *format; /* NULL: nothing recorded */
    unsigned nargs;
    unsigned short arg[MR_SAID_ARGS_MAX]; /* offsets into text */
    char text[MR_SAID_TEXT_MAX];          /* the arguments, each NUL-ended */
};

/* Records fmt and its arguments (the conversions %s %d %u %ld %lld %zu %c
 * %x %f %%, with flags, width and precision, * too); an argument cut at
 * what fits. */
void mr_said_capture(struct mr_said *s, const char *fmt, va_list ap);
const char *mr_said_arg(const struct mr_said *s, unsigned i);

#define MR_SAID_PREFIXES 2

typedef struct mr_error {
    int code;
    char field[MR_ERROR_FIELD_MAX];     /* "" when not about one field */
    char message[MR_ERROR_MESSAGE_MAX]; /* human text, never a secret */
    struct mr_said said;                /* the message as said (mr_error_set) */
    /* what mr_error_prefix put before it, outermost first */
    struct mr_said prefix[MR_SAID_PREFIXES];
    unsigned nprefix;   /* more than MR_SAID_PREFIXES: not all recorded */
    unsigned said_hash; /* of message when said was recorded: a message
                         * written since by other means has no said */
} mr_error;

/* Whether err's said (with its prefixes) still tells its message. */
int mr_error_said_valid(const mr_error *err);

/* Sets err (if not NULL) and returns code, so callers can write
 * `return mr_error_set(err, MR_EINVAL, "port", "...")`. */
int mr_error_set(mr_error *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void mr_error_clear(mr_error *err);
/* Puts "prefix: " before the message (safe on err's own text). */
void mr_error_prefix(mr_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A short name for a code: "invalid", "not found", ... */
const char *mr_status_name(int code);

/* Validation collects every problem, not only the first, so a form can show
 * each message next to its field. */
#define MR_PROBLEMS_MAX 24

struct mr_problem {
    char field[MR_ERROR_FIELD_MAX];
    char message[256];
    struct mr_said said;
};

struct mr_problems {
    size_t count;
    struct mr_problem items[MR_PROBLEMS_MAX];
};

/* Records a problem; a field that already has one keeps the first. */
void mr_problems_add(struct mr_problems *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True when a problem was recorded for field. */
int mr_problems_has(const struct mr_problems *p, const char *field);
/* Copies the problems into err as one message ("field: message; ...") and
 * returns MR_EINVAL, or returns 0 when there are none. */
int mr_problems_to_error(const struct mr_problems *p, mr_error *err);

#endif
