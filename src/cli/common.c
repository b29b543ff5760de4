#include "cli/cli.h"

#include "core/credential.h"
#include "util/crash.h"
#include "util/mem.h"
#include "util/text.h"

#include <pwd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int mr_cli_dispatch(struct mr_cli *cli, const char *group, const struct mr_cli_command *cmds,
                    int argc, char **argv)
{
    argc--; /* past the group's name */
    argv++;
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        FILE *out = argc < 1 ? stderr : stdout;
        fprintf(out, "usage: mailroom %s COMMAND [OPTIONS]\n\ncommands:\n", group);
        for (const struct mr_cli_command *c = cmds; c->name; c++)
            fprintf(out, "  %.*s\n", (int)strcspn(c->usage, "\n"), c->usage);
        fprintf(out, "\n'mailroom %s COMMAND --help' describes each.\n", group);
        return argc < 1 ? MR_EXIT_USAGE : MR_EXIT_OK;
    }
    for (const struct mr_cli_command *c = cmds; c->name; c++) {
        if (strcmp(c->name, argv[0]) == 0) {
            snprintf(cli->command, sizeof(cli->command), "%s %s", group, c->name);
            optind = 0; /* each subcommand parses its own options */
            return c->run(cli, argc, argv);
        }
    }
    snprintf(cli->command, sizeof(cli->command), "%s", group);
    return mr_cli_usage(cli, "unknown command '%s' (see 'mailroom %s --help')", argv[0], group);
}

int mr_cli_common_option(struct mr_cli *cli, int c, const char *usage, enum mr_format *format,
                         int *done)
{
    switch (c) {
    case MR_CLI_OPT_HELP:
        printf("usage: mailroom %s\n", usage);
        *done = 1;
        return MR_EXIT_OK;
    case MR_CLI_OPT_DATA:
        cli->data_dir = optarg;
        return 0;
    case MR_CLI_OPT_FORMAT:
        if (strcmp(optarg, "table") == 0 || strcmp(optarg, "text") == 0)
            *format = MR_FORMAT_TABLE;
        else if (strcmp(optarg, "csv") == 0)
            *format = MR_FORMAT_CSV;
        else if (strcmp(optarg, "json") == 0)
            *format = MR_FORMAT_JSON;
        else {
            *done = 1;
            return mr_cli_bad_value(cli, "format", "expected table, csv or json, got '%s'", optarg);
        }
        return 0;
    case '?':
        *done = 1;
        return MR_EXIT_USAGE; /* getopt printed the reason */
    default:
        return -1;
    }
}

int mr_cli_ref_command(struct mr_cli *cli, int argc, char **argv, const char *usage,
                       enum mr_object kind, enum mr_format *format, int64_t *id, int *done)
{
    static const struct option opts[] = {MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    const char *ref = NULL;
    int c, rc;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        rc = mr_cli_common_option(cli, c, usage, format, done);
        if (*done)
            return rc;
    }
    *done = 1;
    if ((rc = mr_cli_one_ref(cli, argc, argv, &ref)))
        return rc;
    if ((rc = mr_cli_resolve(cli, kind, ref, id)))
        return rc;
    *done = 0;
    return 0;
}

int mr_cli_remove(struct mr_cli *cli, int argc, char **argv, const char *usage, enum mr_object kind,
                  mr_cli_remove_fn remove)
{
    enum mr_format format = MR_FORMAT_TEXT;
    int64_t id;
    int done = 0;
    mr_error err = {0};
    int rc = mr_cli_ref_command(cli, argc, argv, usage, kind, &format, &id, &done);
    if (done || rc)
        return rc;
    if (remove(&cli->reg, id, &err) != 0)
        return mr_cli_fail(cli, &err);
    printf("%s %lld removed\n", mr_object_name(kind), (long long)id);
    return 0;
}

const char *mr_cli_data_dir(struct mr_cli *cli)
{
    if (!cli->data_dir)
        cli->data_dir = getenv("MAILROOM_DATA");
    if (cli->data_dir && *cli->data_dir)
        return cli->data_dir;
    cli->data_dir = geteuid() == 0 ? MR_ROOT_DATA_DIR : "./var";
    cli->data_default = 1;
    return cli->data_dir;
}

int mr_cli_open(struct mr_cli *cli)
{
    mr_error err = {0};
    if (cli->opened)
        return 0;
    int rc = mr_cli_run_as(cli, NULL); /* never as root */
    if (rc)
        return rc;
    if (mr_registry_open(&cli->reg, cli->data_dir, &err) != 0)
        return mr_cli_fail(cli, &err);
    mr_crash_install(cli->data_dir);
    struct passwd *pw = getpwuid(getuid());
    char actor[96];
    snprintf(actor, sizeof(actor), "cli:%s", pw ? pw->pw_name : "?");
    mr_registry_set_actor(&cli->reg, actor); /* for the audit log */
    cli->opened = 1;
    return 0;
}

void mr_cli_close(struct mr_cli *cli)
{
    if (cli->opened)
        mr_registry_close(&cli->reg);
    cli->opened = 0;
}

int mr_cli_fail(struct mr_cli *cli, const mr_error *err)
{
    if (err->field[0])
        fprintf(stderr, "mailroom: %s: %s: %s\n", cli->command, err->field, err->message);
    else
        fprintf(stderr, "mailroom: %s: %s\n", cli->command, err->message);
    return MR_EXIT_ERROR;
}

int mr_cli_fail_problems(struct mr_cli *cli, const struct mr_problems *p)
{
    for (size_t i = 0; i < p->count; i++)
        fprintf(stderr, "mailroom: %s: %s: %s\n", cli->command, p->items[i].field,
                p->items[i].message);
    return MR_EXIT_ERROR;
}

int mr_cli_fail_write(struct mr_cli *cli, int rc, const struct mr_problems *p, const mr_error *err)
{
    if (rc == MR_EINVAL && p->count)
        return mr_cli_fail_problems(cli, p);
    return mr_cli_fail(cli, err);
}

int mr_cli_usage(struct mr_cli *cli, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mailroom: %s: ", cli->command);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return MR_EXIT_USAGE;
}

int mr_cli_bad_value(struct mr_cli *cli, const char *field, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mailroom: %s: %s: ", cli->command, field);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return MR_EXIT_ERROR;
}

int mr_cli_one_ref(struct mr_cli *cli, int argc, char **argv, const char **ref)
{
    if (argc - optind != 1)
        return mr_cli_usage(cli, "expected one ID or NAME, got %d arguments (see --help)",
                            argc - optind);
    *ref = argv[optind];
    return 0;
}

int mr_cli_resolve(struct mr_cli *cli, enum mr_object kind, const char *ref, int64_t *id)
{
    mr_error err = {0};
    int rc = mr_cli_open(cli);
    if (rc)
        return rc;
    if (mr_store_resolve(cli->reg.store, kind, ref, id, &err) != 0)
        return mr_cli_fail(cli, &err);
    return 0;
}

void mr_cli_print_json(json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
        puts(text);
    free(text);
    json_decref(j);
}

void mr_cli_print_field(const char *label, const char *value, int width)
{
    int pad = width - (int)mr_utf8_width(label);
    printf("%s:%*s %s\n", label, pad > 0 ? pad : 0, "", value && *value ? value : "-");
}

/* --- tables ------------------------------------------------------------ */

void mr_cli_table_init(struct mr_cli_table *t, const char *const *header, size_t ncols)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    mr_cli_table_add(t, header);
}

void mr_cli_table_add(struct mr_cli_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->cells = mr_xrealloc(t->cells, t->cap * t->ncols * sizeof(char *));
    }
    for (size_t c = 0; c < t->ncols; c++) {
        const char *v = cells[c] ? cells[c] : "";
        char *copy = mr_xstrdup(v);
        for (char *p = copy; *p; p++) /* one row a line, whatever a name holds */
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        t->cells[t->nrows * t->ncols + c] = copy;
    }
    t->nrows++;
}

void mr_cli_table_print(const struct mr_cli_table *t)
{
    size_t *width = mr_xcalloc(t->ncols, sizeof(size_t));
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = mr_utf8_width(t->cells[r * t->ncols + c]);
            width[c] = w > width[c] ? w : width[c];
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = t->cells[r * t->ncols + c];
            int last = c + 1 == t->ncols;
            int pad = last ? 0 : (int)(width[c] - mr_utf8_width(v)) + 2;
            printf("%s%*s", v, pad, "");
        }
        putchar('\n');
    }
    free(width);
}

void mr_cli_table_free(struct mr_cli_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    mr_freep(&t->cells);
    t->nrows = t->cap = 0;
}

/* --- secrets ----------------------------------------------------------- */

static int read_all_stdin(struct mr_buf *out)
{
    struct termios saved, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        fputs("Password: ", stderr);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char chunk[4096];
    int rc = 0;
    ssize_t n;
    while (rc == 0 && (n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0) {
        rc = mr_buf_append(out, chunk, (size_t)n);
        if (tty && memchr(chunk, '\n', (size_t)n))
            break; /* a terminal gives one line */
    }
    sodium_memzero(chunk, sizeof(chunk));
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputc('\n', stderr);
    }
    return rc;
}

int mr_cli_read_secret(struct mr_cli *cli, const char *env_var, struct mr_buf *out)
{
    mr_error err = {0};
    int rc = mr_buf_reserve(out, out->max); /* no copies left behind by growth */
    if (env_var) {
        const char *v = getenv(env_var);
        if (!v) {
            mr_error_set(&err, MR_EINVAL, "password", "environment variable %s is not set",
                         env_var);
            return mr_cli_fail(cli, &err);
        }
        if (rc == 0)
            rc = mr_buf_puts(out, v);
    } else if (rc == 0)
        rc = read_all_stdin(out);
    if (rc) {
        mr_error_set(&err, rc, "password", "is longer than %d bytes", MR_SECRET_MAX);
        return mr_cli_fail(cli, &err);
    }
    if (!env_var && out->len && out->data[out->len - 1] == '\n')
        out->data[--out->len] = '\0';
    if (!env_var && out->len && out->data[out->len - 1] == '\r')
        out->data[--out->len] = '\0';
    return 0;
}
