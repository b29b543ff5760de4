/* The command line: one file per command group, sharing these helpers.
 * Exit codes: 0 ok, 1 error (one line per problem on stderr, naming the
 * field or object), 2 usage error. */
#ifndef MR_CLI_CLI_H
#define MR_CLI_CLI_H

#include "registry/registry.h"
#include "util/error.h"

#include <getopt.h>
#include <jansson.h>

enum { MR_EXIT_OK = 0, MR_EXIT_ERROR = 1, MR_EXIT_USAGE = 2 };

enum mr_format { MR_FORMAT_TEXT, MR_FORMAT_TABLE, MR_FORMAT_CSV, MR_FORMAT_JSON };

struct mr_cli {
    const char *data_dir; /* --data, else $MAILROOM_DATA, else ./var (as root: MR_ROOT_DATA_DIR) */
    int data_default;     /* no --data or $MAILROOM_DATA: the default */
    int daemon;           /* serve: notes go to the log (its format), not plain stderr */
    char command[64];     /* "account add", for messages */
    struct mr_registry reg;
    int opened;
};

int mr_cli_main(int argc, char **argv);

/* As root, mailroom runs as its service user, and keeps its data where a
 * packaged daemon does. */
#define MR_SERVICE_USER  "mailroom"
#define MR_ROOT_DATA_DIR "/var/lib/mailroom"

/* Started as root: switches to the data directory's owner for good (first
 * giving the directory to user, default MR_SERVICE_USER, created when
 * missing, when the directory is new, empty or a store root made). As
 * anyone else: nothing, unless user names someone else (an error). Every
 * command that opens the store comes through here (mr_cli_open). */
int mr_cli_run_as(struct mr_cli *cli, const char *user);

/* A command group or subcommand: argv[0] is its name. */
typedef int (*mr_cli_fn)(struct mr_cli *cli, int argc, char **argv);

struct mr_cli_command {
    const char *name;
    mr_cli_fn run;
    const char *usage; /* the synopsis and options, for --help */
};

/* Runs argv[1] (a subcommand of group, whose name is argv[0]) from the table. */
int mr_cli_dispatch(struct mr_cli *cli, const char *group, const struct mr_cli_command *cmds,
                    int argc, char **argv);

int mr_cli_account(struct mr_cli *cli, int argc, char **argv);
int mr_cli_credential(struct mr_cli *cli, int argc, char **argv);
int mr_cli_connector(struct mr_cli *cli, int argc, char **argv);
int mr_cli_settings(struct mr_cli *cli, int argc, char **argv);
int mr_cli_serve(struct mr_cli *cli, int argc, char **argv);
int mr_cli_fetch(struct mr_cli *cli, int argc, char **argv);
int mr_cli_inbox(struct mr_cli *cli, int argc, char **argv);
int mr_cli_user(struct mr_cli *cli, int argc, char **argv);
int mr_cli_token(struct mr_cli *cli, int argc, char **argv);
int mr_cli_audit(struct mr_cli *cli, int argc, char **argv);
int mr_cli_report(struct mr_cli *cli, int argc, char **argv);
int mr_cli_target(struct mr_cli *cli, int argc, char **argv);
int mr_cli_delivery(struct mr_cli *cli, int argc, char **argv);
/* account test lives with fetch (cli/fetch.c) */
int mr_cli_account_test(struct mr_cli *cli, int argc, char **argv);
extern const char mr_cli_account_test_usage[];
int mr_cli_connector_test(struct mr_cli *cli, int argc, char **argv);
/* account discover: cli/discover.c */
int mr_cli_account_discover(struct mr_cli *cli, int argc, char **argv);
extern const char mr_cli_account_discover_usage[];
extern const char mr_cli_connector_test_usage[];

/* Options every subcommand takes: --help, --data DIR, --format F. */
#define MR_CLI_OPT_HELP   'h'
#define MR_CLI_OPT_DATA   0x100
#define MR_CLI_OPT_FORMAT 0x101
#define MR_CLI_COMMON_OPTIONS                                                                      \
    {"help", no_argument, NULL, MR_CLI_OPT_HELP},                                                  \
        {"data", required_argument, NULL, MR_CLI_OPT_DATA},                                        \
    {                                                                                              \
        "format", required_argument, NULL, MR_CLI_OPT_FORMAT                                       \
    }

/* Handles a common option: returns -1 when c is not one, else 0 to go on or
 * an exit code (help printed: 0 via *done; bad format: 2). */
int mr_cli_common_option(struct mr_cli *cli, int c, const char *usage, enum mr_format *format,
                         int *done);

/* For commands that take only the common options and one ID|NAME: parses
 * both, and resolves the reference (kind) into *id. */
int mr_cli_ref_command(struct mr_cli *cli, int argc, char **argv, const char *usage,
                       enum mr_object kind, enum mr_format *format, int64_t *id, int *done);

/* "KIND rm ID|NAME": resolves, removes through the registry, says so. */
typedef int (*mr_cli_remove_fn)(struct mr_registry *r, int64_t id, mr_error *err);
int mr_cli_remove(struct mr_cli *cli, int argc, char **argv, const char *usage, enum mr_object kind,
                  mr_cli_remove_fn remove);

int mr_cli_open(struct mr_cli *cli);
/* --data, else $MAILROOM_DATA, else ./var, or MR_ROOT_DATA_DIR as root
 * (mr_cli_open uses it too). */
const char *mr_cli_data_dir(struct mr_cli *cli);
void mr_cli_close(struct mr_cli *cli);
/* Prints "mailroom: COMMAND: [field: ]message" and returns exit code 1. */
int mr_cli_fail(struct mr_cli *cli, const mr_error *err);
/* Prints one line per problem and returns 1. */
int mr_cli_fail_problems(struct mr_cli *cli, const struct mr_problems *p);
/* Either: problems (rc MR_EINVAL with some recorded) or err. */
int mr_cli_fail_write(struct mr_cli *cli, int rc, const struct mr_problems *p, const mr_error *err);
int mr_cli_usage(struct mr_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A flag with a value it cannot take: "mailroom: CMD: FIELD: message", exit 1. */
int mr_cli_bad_value(struct mr_cli *cli, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Exactly one positional ID|NAME argument after the options. */
int mr_cli_one_ref(struct mr_cli *cli, int argc, char **argv, const char **ref);
int mr_cli_resolve(struct mr_cli *cli, enum mr_object kind, const char *ref, int64_t *id);
/* Prints j (stealing the reference) as indented JSON. */
void mr_cli_print_json(json_t *j);

/* A plain text table with aligned columns (UTF-8 aware). */
struct mr_cli_table {
    size_t ncols, nrows, cap;
    char **cells; /* row-major, owned */
};

void mr_cli_table_init(struct mr_cli_table *t, const char *const *header, size_t ncols);
void mr_cli_table_add(struct mr_cli_table *t, const char *const *cells);
void mr_cli_table_print(const struct mr_cli_table *t);
void mr_cli_table_free(struct mr_cli_table *t);
/* "Label:   value" lines, labels padded to width. */
void mr_cli_print_field(const char *label, const char *value, int width);

/* Reads a secret from stdin (no echo on a terminal) or an environment
 * variable into out (capped); strips one trailing newline. */
int mr_cli_read_secret(struct mr_cli *cli, const char *env_var, struct mr_buf *out);

#endif
