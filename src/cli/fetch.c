/* mailroom account test, mailroom fetch */
#include "cli/cli.h"
#include "report/views.h"

#include "fetch/fetch.h"
#include "util/clock.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void trace_to_stderr(void *ctx, char dir, const char *line, size_t len)
{
    (void)ctx;
    fprintf(stderr, "%c: %.*s\n", dir, (int)len, line);
}

/* --trace, --timeout SECONDS (how long to wait for any answer) and
 * --deadline SECONDS (how long a run may take at most). */
static int run_option(struct mr_cli *cli, int c, struct mr_fetch_options *o)
{
    long long seconds;
    if (c == 't') {
        o->trace = trace_to_stderr;
        return 0;
    }
    const char *field = c == 'T' ? "timeout" : "deadline";
    if (mr_parse_int(optarg, 1, 86400, &seconds) != 0)
        return mr_cli_bad_value(cli, field, "expected 1 to 86400 seconds, got '%s'", optarg);
    if (c == 'T')
        o->idle_timeout_ms = (int)seconds * 1000;
    else
        o->deadline_ms = mr_now_ms() + seconds * 1000;
    return 0;
}

static const char *mark(int ok)
{
    return ok == 1 ? "ok" : ok == 0 ? "FAILED" : "note";
}

/* A failed test's message may quote the server too. */
static void escape_message(mr_error *err)
{
    char text[sizeof(err->message)];
    mr_text_excerpt(err->message, sizeof(text), text, sizeof(text));
    snprintf(err->message, sizeof(err->message), "%s", text);
}

/* Each step as it happens. */
static void print_step(void *ctx, const struct mr_step *s)
{
    char detail[sizeof(s->detail)];
    (void)ctx;
    mr_view_step_detail(s, detail, sizeof(detail));
    printf("%-6s  %-15s %5lld ms  %s\n", mark(s->ok), s->name, (long long)s->ms, detail);
    fflush(stdout);
}

const char mr_cli_account_test_usage[] =
    "account test ID|NAME [--trace] [--timeout SECONDS] [--deadline SECONDS] [--format json]\n"
    "\n"
    "Runs the real steps against the server — resolve, connect, TLS, greeting,\n"
    "capabilities, STARTTLS, authentication, folder or STAT, messages waiting — and\n"
    "shows each with its result. Changes nothing on the server. Exit 0 only when\n"
    "every step passed. --timeout: how long to wait for any answer (default 60).";

/* What account test and connector test take: the object, --timeout,
 * --deadline, --format; --trace for accounts, --target for connectors. */
struct test_args {
    struct mr_fetch_options o;
    enum mr_format format;
    const char *ref;
    int64_t id;
    char host[256]; /* --target */
    int port;
};

static int parse_target(struct mr_cli *cli, const char *s, char *host, size_t size, int *port);

static int test_args(struct mr_cli *cli, int argc, char **argv, const char *usage,
                     enum mr_object kind, struct test_args *t, int *done)
{
    static const struct option opts[] = {{"trace", no_argument, NULL, 't'},
                                         {"target", required_argument, NULL, 'g'},
                                         {"timeout", required_argument, NULL, 'T'},
                                         {"deadline", required_argument, NULL, 'D'},
                                         MR_CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    int c, rc;
    memset(t, 0, sizeof(*t));
    t->format = MR_FORMAT_TEXT;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if ((c == 't' && kind != MR_OBJ_ACCOUNT) || (c == 'g' && kind != MR_OBJ_CONNECTOR))
            return mr_cli_usage(cli, "--%s is not an option of this command",
                                c == 't' ? "trace" : "target");
        if (c == 't' || c == 'T' || c == 'D' || c == 'g') {
            rc = c == 'g' ? parse_target(cli, optarg, t->host, sizeof(t->host), &t->port)
                          : run_option(cli, c, &t->o);
            if (rc)
                return rc;
            continue;
        }
        rc = mr_cli_common_option(cli, c, usage, &t->format, done);
        if (*done)
            return rc;
    }
    if ((rc = mr_cli_one_ref(cli, argc, argv, &t->ref)) ||
        (rc = mr_cli_resolve(cli, kind, t->ref, &t->id)))
        return rc;
    if (t->format != MR_FORMAT_JSON)
        t->o.on_step = print_step;
    return 0;
}

static int cmd_test(struct mr_cli *cli, int argc, char **argv)
{
    struct test_args t;
    int done = 0;
    int rc = test_args(cli, argc, argv, mr_cli_account_test_usage, MR_OBJ_ACCOUNT, &t, &done);
    if (rc || done)
        return rc;
    struct mr_account a;
    struct mr_test_result res;
    mr_error err = {0};
    mr_account_init(&a);
    if (mr_store_account_get(cli->reg.store, t.id, &a, &err) != 0)
        return mr_cli_fail(cli, &err);
    rc = mr_test_account(&cli->reg, &a, &t.o, &res, &err);
    if (t.format == MR_FORMAT_JSON)
        mr_cli_print_json(mr_view_test(&res));
    if (rc) {
        escape_message(&err);
        mr_error_prefix(&err, "account %s", a.name);
    }
    mr_test_result_clear(&res);
    mr_account_clear(&a);
    return rc ? mr_cli_fail(cli, &err) : 0;
}

const char mr_cli_connector_test_usage[] =
    "connector test ID|NAME [--target HOST:PORT] [--timeout SECONDS] [--format json]\n"
    "\n"
    "Connects to the proxy (and TLS, for an HTTP proxy over TLS), authenticates\n"
    "with the connector's credential, and shows each step. With --target, also\n"
    "asks the proxy for a tunnel to HOST:PORT (a mail server) and shows its reply.\n"
    "Without it, an HTTP proxy is asked for a name that exists nowhere\n"
    "(mailroom-probe.invalid), which shows whether it takes the credentials.\n"
    "Exit 0 only when every step passed.";

static int parse_target(struct mr_cli *cli, const char *s, char *host, size_t size, int *port)
{
    if (mr_parse_host_port(s, host, size, port) != 0)
        return mr_cli_bad_value(cli, "target", "expected HOST:PORT, got '%s'", s);
    return 0;
}

int mr_cli_connector_test(struct mr_cli *cli, int argc, char **argv)
{
    struct test_args t;
    int done = 0;
    int rc = test_args(cli, argc, argv, mr_cli_connector_test_usage, MR_OBJ_CONNECTOR, &t, &done);
    if (rc || done)
        return rc;
    struct mr_test_result res;
    mr_error err = {0};
    rc = mr_test_connector(&cli->reg, t.id, t.host, t.port, &t.o, &res, &err);
    if (t.format == MR_FORMAT_JSON) {
        json_t *j = mr_view_test(&res);
        json_object_del(j, "messages");
        json_object_del(j, "total_size");
        json_object_del(j, "folders");
        json_object_del(j, "folders_truncated");
        mr_cli_print_json(j);
    }
    if (rc) {
        escape_message(&err);
        mr_error_prefix(&err, "network connector %s", t.ref);
    }
    return rc ? mr_cli_fail(cli, &err) : 0;
}

static const char fetch_usage[] =
    "fetch (ID|NAME... | --all) [--trace] [--timeout SECONDS] [--deadline SECONDS]\n"
    "      [--format json]\n"
    "\n"
    "Fetches new mail of the given accounts (or of every enabled account) into the\n"
    "store. Once a message is stored durably (or, with --action-when delivered,\n"
    "delivered), the account's after-fetch action is done on the server: marked as\n"
    "read, moved, or deleted (accounts that do not keep a copy). --trace prints the\n"
    "protocol exchange (passwords and SASL data redacted) to standard error.\n"
    "--timeout: how long to wait for any answer (default 60 s); --deadline: how\n"
    "long a run may take in all, whatever the server does (default 1800 s).";

static json_t *result_json(const char *name, int64_t id, const struct mr_fetch_result *r, int rc,
                           const mr_error *err)
{
    return json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s?}", "account",
                     (json_int_t)id, "name", name, "result", rc ? "error" : "ok", "listed",
                     (json_int_t)r->listed, "fetched", (json_int_t)r->fetched, "bytes",
                     (json_int_t)r->bytes, "deleted", (json_int_t)r->deleted, "skipped",
                     (json_int_t)r->skipped, "duplicates", (json_int_t)r->duplicates, "error",
                     rc ? err->message : NULL);
}

static int fetch_one(struct mr_cli *cli, int64_t id, const struct mr_fetch_options *o,
                     enum mr_format format, json_t *out)
{
    struct mr_account a;
    struct mr_fetch_result res;
    mr_error err = {0};
    mr_account_init(&a);
    if (mr_store_account_get(cli->reg.store, id, &a, &err) != 0)
        return mr_cli_fail(cli, &err);
    int rc = mr_fetch_account(&cli->reg, id, o, &res, &err);
    if (format == MR_FORMAT_JSON) {
        json_t *j = result_json(a.name, id, &res, rc, &err);
        if (res.note[0])
            json_object_set_new(j, "note", json_string(res.note));
        json_object_set_new(j, "acted", json_integer((json_int_t)res.acted));
        if (res.retry_after) {
            char when[32];
            mr_format_time(res.retry_after, when);
            json_object_set_new(j, "retry_after", json_string(when));
        }
        json_array_append_new(out, j);
    } else if (res.note[0])
        printf("%s: note: %s\n", a.name, res.note);
    if (format != MR_FORMAT_JSON && res.acted)
        printf("%s: %llu message%s %s on the server\n", a.name, (unsigned long long)res.acted,
               res.acted == 1 ? "" : "s",
               mr_account_after_fetch(&a) == MR_AFTER_MOVE ? "moved" : "marked as read");
    if (format != MR_FORMAT_JSON)
        printf("%s: %llu new message%s stored (%llu bytes), %llu deleted from the server, "
               "%llu skipped as too big%s\n",
               a.name, (unsigned long long)res.fetched, res.fetched == 1 ? "" : "s",
               (unsigned long long)res.bytes, (unsigned long long)res.deleted,
               (unsigned long long)res.skipped, rc ? "; then the run failed" : "");
    if (rc) {
        mr_error_prefix(&err, "account %s", a.name);
        mr_cli_fail(cli, &err);
    }
    mr_account_clear(&a);
    return rc ? MR_EXIT_ERROR : 0;
}

static int all_enabled(struct mr_cli *cli, int64_t **ids, size_t *n)
{
    struct mr_account_filter f;
    struct mr_account *items;
    size_t total;
    mr_error err = {0};
    mr_account_filter_init(&f);
    f.enabled = MR_YES;
    if (mr_store_account_list(cli->reg.store, &f, 0, 0, &items, n, &total, &err))
        return mr_cli_fail(cli, &err);
    *ids = calloc(*n ? *n : 1, sizeof(**ids));
    for (size_t i = 0; i < *n; i++)
        (*ids)[i] = items[i].id;
    mr_account_list_free(&items, *n);
    return 0;
}

static int cmd_fetch(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"trace", no_argument, NULL, 't'},
                                         {"timeout", required_argument, NULL, 'T'},
                                         {"deadline", required_argument, NULL, 'D'},
                                         {"all", no_argument, NULL, 'a'},
                                         MR_CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    enum mr_format format = MR_FORMAT_TEXT;
    struct mr_fetch_options o = {0};
    int c, rc, done = 0, all = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'a') {
            all = 1;
            continue;
        }
        if (c == 't' || c == 'T' || c == 'D') {
            if ((rc = run_option(cli, c, &o)))
                return rc;
            continue;
        }
        rc = mr_cli_common_option(cli, c, fetch_usage, &format, &done);
        if (done)
            return rc;
    }
    if (all == (optind < argc))
        return mr_cli_usage(cli, "name the accounts to fetch, or give --all");
    if ((rc = mr_cli_open(cli)))
        return rc;
    int64_t *ids = NULL;
    size_t n = 0;
    if (all && (rc = all_enabled(cli, &ids, &n)))
        return rc;
    if (!all) {
        n = (size_t)(argc - optind);
        ids = calloc(n, sizeof(*ids));
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = mr_cli_resolve(cli, MR_OBJ_ACCOUNT, argv[optind + (int)i], &ids[i]);
    }
    json_t *out = json_array();
    int failed = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        failed |= fetch_one(cli, ids[i], &o, format, out) != 0;
    if (format == MR_FORMAT_JSON && rc == 0)
        mr_cli_print_json(json_pack("{s:o}", "runs", out));
    else
        json_decref(out);
    free(ids);
    return rc ? rc : failed ? MR_EXIT_ERROR : 0;
}

int mr_cli_account_test(struct mr_cli *cli, int argc, char **argv)
{
    return cmd_test(cli, argc, argv);
}

int mr_cli_fetch(struct mr_cli *cli, int argc, char **argv)
{
    snprintf(cli->command, sizeof(cli->command), "fetch");
    optind = 0;
    return cmd_fetch(cli, argc, argv);
}
