/* mailroom target add|edit|show|rm|list|test: where an account's mail is
 * handed on; mailroom delivery list|show|replay|run: the outbox and Failed
 * deliveries. */
#include "cli/cli.h"

#include "deliver/outbox.h"
#include "registry/targets.h"
#include "report/delivery_views.h"
#include "report/views.h"
#include "util/clock.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OPT_FIELD 0x300 /* + index into flag_keys */

/* The flags that set a field: --secret-credential sets secret_credential. */
static const char *const flag_keys[] = {
    "name",        "kind",       "enabled",  "url",       "allow_http",   "secret_credential",
    "stop_status", "inline_max", "path",     "command",   "host",         "port",
    "recipients",  "timeout",    "parallel", "retry_for", "skip_classes",
};
#define NFLAGS (sizeof(flag_keys) / sizeof(flag_keys[0]))

static int parse_fields(struct mr_cli *cli, int argc, char **argv, const char *usage,
                        struct mr_input *in, enum mr_format *format, int *done)
{
    static struct option opts[NFLAGS + 4];
    static char names[NFLAGS][32];
    for (size_t i = 0; i < NFLAGS; i++) {
        snprintf(names[i], sizeof(names[i]), "%s", flag_keys[i]);
        for (char *p = names[i]; *p; p++)
            *p = *p == '_' ? '-' : *p;
        opts[i] = (struct option){names[i], required_argument, NULL, OPT_FIELD + (int)i};
    }
    const struct option common[] = {MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    memcpy(&opts[NFLAGS], common, sizeof(common));
    int c;
    memset(in, 0, sizeof(*in));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c >= OPT_FIELD && c < OPT_FIELD + (int)NFLAGS) {
            mr_input_add(in, flag_keys[c - OPT_FIELD], optarg);
            continue;
        }
        int rc = mr_cli_common_option(cli, c, usage, format, done);
        if (*done)
            return rc;
    }
    return 0;
}

/* How `target show` names each field. */
static const char *target_label(const char *key)
{
    static const char *const labels[][2] = {
        {"name", "Name"},
        {"kind", "Kind"},
        {"enabled", "Enabled"},
        {"url", "URL"},
        {"allow_http", "Allow HTTP"},
        {"secret_credential", "Signing secret"},
        {"stop_status", "Stop statuses"},
        {"inline_max", "Inline up to"},
        {"path", "Path"},
        {"command", "Command"},
        {"host", "Host"},
        {"port", "Port"},
        {"recipients", "Recipients"},
        {"timeout", "Timeout (s)"},
        {"parallel", "Parallel"},
        {"retry_for", "Retry for (s)"},
        {"skip_classes", "Skips"},
    };
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        if (strcmp(labels[i][0], key) == 0)
            return labels[i][1];
    return key;
}

static void print_target(struct mr_cli *cli, const struct mr_target *t)
{
    json_t *j = mr_view_target(cli->reg.store, t);
    char id[24], buf[32];
    snprintf(id, sizeof(id), "%lld", (long long)t->id);
    mr_cli_print_field("ID", id, 18);
    json_t *acct = json_object_get(j, "account");
    char account[160];
    snprintf(account, sizeof(account), "%s (ID %lld)",
             json_string_value(json_object_get(acct, "name")) ?: "", (long long)t->account_id);
    mr_cli_print_field("Account", account, 18);
    for (size_t i = 0; mr_target_keys[i]; i++) {
        const char *k = mr_target_keys[i];
        const char *v = mr_target_get(t, k, buf, sizeof(buf));
        char label[40], cred[160];
        if (strcmp(k, "secret_credential") == 0) {
            if (t->kind != MR_TARGET_WEBHOOK)
                continue;
            json_t *c = json_object_get(j, k);
            snprintf(cred, sizeof(cred), "%s (ID %lld)",
                     json_string_value(json_object_get(c, "name")) ?: "",
                     (long long)t->secret_credential_id);
            v = t->secret_credential_id ? cred : "none (unsigned)";
        }
        if (!v)
            continue;
        snprintf(label, sizeof(label), "%s", target_label(k));
        mr_cli_print_field(label, v, 18);
    }
    json_t *counts = json_object_get(j, "deliveries");
    char line[160];
    snprintf(line, sizeof(line), "%lld pending, %lld delivered, %lld failed, %lld skipped",
             (long long)json_integer_value(json_object_get(counts, "pending")),
             (long long)json_integer_value(json_object_get(counts, "delivered")),
             (long long)json_integer_value(json_object_get(counts, "failed")),
             (long long)json_integer_value(json_object_get(counts, "skipped")));
    mr_cli_print_field("Deliveries", line, 18);
    json_decref(j);
}

static int show_by_id(struct mr_cli *cli, int64_t id, enum mr_format format, const char *verb)
{
    struct mr_target t;
    mr_error err = {0};
    mr_target_init(&t);
    if (mr_store_target_get(cli->reg.store, id, &t, &err) != 0)
        return mr_cli_fail(cli, &err);
    if (format == MR_FORMAT_JSON)
        mr_cli_print_json(mr_view_target(cli->reg.store, &t));
    else if (verb)
        printf("delivery target %lld '%s' %s\n", (long long)t.id, t.name, verb);
    else
        print_target(cli, &t);
    mr_target_clear(&t);
    return 0;
}

static const char add_usage[] =
    "target add ACCOUNT --name N --kind webhook|maildir|command|lmtp [fields] [--format json]\n"
    "\n"
    "Hands every message the account stores on to this target, at least once, in\n"
    "the order stored (unless --parallel yes), retried with backoff for --retry-for\n"
    "seconds (default 3 days), then listed under Failed deliveries.\n"
    "  webhook: --url https://... [--secret-credential ID|NAME] (a password\n"
    "           credential: its password signs, Standard Webhooks) [--allow-http yes]\n"
    "           [--stop-status 406,410] [--inline-max BYTES] (raw message in the\n"
    "           payload up to this size, default 1 MiB; above it a link)\n"
    "  maildir: --path /absolute/dir (tmp/, new/ and cur/ made when missing)\n"
    "  command: --command 'CMD' (the message on stdin; exit 0 delivered, 75\n"
    "           retried, other codes failed; docs/delivery.md lists its environment)\n"
    "  lmtp:    --host H [--port 24] or --path /unix/socket, --recipients a@b,c@d\n"
    "Every kind: [--timeout SECONDS] (default 30) [--parallel yes|no]\n"
    "  [--retry-for SECONDS] [--skip-classes auto,report] [--enabled yes|no]";

static int cmd_add(struct mr_cli *cli, int argc, char **argv)
{
    struct mr_input in;
    struct mr_problems p = {0};
    enum mr_format format = MR_FORMAT_TEXT;
    mr_error err = {0};
    int64_t id = 0;
    int done = 0;
    int rc = parse_fields(cli, argc, argv, add_usage, &in, &format, &done);
    if (done || rc)
        return rc;
    if (optind + 1 != argc)
        return mr_cli_usage(cli, optind < argc ? "give one account"
                                               : "which account? give its ID or name");
    mr_input_add(&in, "account", argv[optind]);
    if ((rc = mr_cli_open(cli)))
        return rc;
    rc = mr_registry_target_add(&cli->reg, &in, &id, &p, &err);
    if (rc)
        return mr_cli_fail_write(cli, rc, &p, &err);
    return show_by_id(cli, id, format, "added");
}

static const char edit_usage[] = "target edit ID|NAME [fields as for add] [--format json]";

static int cmd_edit(struct mr_cli *cli, int argc, char **argv)
{
    struct mr_input in;
    struct mr_problems p = {0};
    enum mr_format format = MR_FORMAT_TEXT;
    mr_error err = {0};
    const char *ref;
    int64_t id;
    int done = 0;
    int rc = parse_fields(cli, argc, argv, edit_usage, &in, &format, &done);
    if (done || rc)
        return rc;
    if ((rc = mr_cli_one_ref(cli, argc, argv, &ref)))
        return rc;
    if (in.count == 0)
        return mr_cli_usage(cli, "nothing to change: give at least one field flag");
    if ((rc = mr_cli_resolve(cli, MR_OBJ_TARGET, ref, &id)))
        return rc;
    rc = mr_registry_target_edit(&cli->reg, id, &in, &p, &err);
    if (rc)
        return mr_cli_fail_write(cli, rc, &p, &err);
    return show_by_id(cli, id, format, "updated");
}

static const char show_usage[] = "target show ID|NAME [--format json]";

static int cmd_show(struct mr_cli *cli, int argc, char **argv)
{
    enum mr_format format = MR_FORMAT_TEXT;
    int64_t id;
    int done = 0;
    int rc = mr_cli_ref_command(cli, argc, argv, show_usage, MR_OBJ_TARGET, &format, &id, &done);
    return done || rc ? rc : show_by_id(cli, id, format, NULL);
}

static const char rm_usage[] = "target rm ID|NAME (its pending and failed deliveries go too)";

static int cmd_rm(struct mr_cli *cli, int argc, char **argv)
{
    return mr_cli_remove(cli, argc, argv, rm_usage, MR_OBJ_TARGET, mr_registry_target_remove);
}

static const char list_usage[] = "target list [ACCOUNT] [--format table|json]";

static int cmd_list(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    static const char *const header[] = {"ID",    "Account", "Name",    "Kind",
                                         "Where", "Enabled", "Pending", "Failed"};
    enum mr_format format = MR_FORMAT_TABLE;
    mr_error err = {0};
    int c, rc, done = 0;
    int64_t account = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        rc = mr_cli_common_option(cli, c, list_usage, &format, &done);
        if (done)
            return rc;
    }
    if (optind + 1 < argc)
        return mr_cli_usage(cli, "give at most one account");
    if (optind < argc && (rc = mr_cli_resolve(cli, MR_OBJ_ACCOUNT, argv[optind], &account)))
        return rc;
    if ((rc = mr_cli_open(cli)))
        return rc;
    struct mr_target *items = NULL;
    size_t n = 0;
    if (mr_store_target_list(cli->reg.store, account, &items, &n, &err) != 0)
        return mr_cli_fail(cli, &err);
    json_t *arr = json_array();
    struct mr_cli_table t;
    mr_cli_table_init(&t, header, 8);
    for (size_t i = 0; i < n; i++) {
        json_t *j = mr_view_target(cli->reg.store, &items[i]);
        json_t *counts = json_object_get(j, "deliveries");
        char id[24], pending[24], failed[24], where[300];
        snprintf(id, sizeof(id), "%lld", (long long)items[i].id);
        snprintf(pending, sizeof(pending), "%lld",
                 (long long)json_integer_value(json_object_get(counts, "pending")));
        snprintf(failed, sizeof(failed), "%lld",
                 (long long)json_integer_value(json_object_get(counts, "failed")));
        const struct mr_target *x = &items[i];
        if (x->kind == MR_TARGET_LMTP && x->host)
            snprintf(where, sizeof(where), "%s:%d", x->host, mr_target_port(x));
        else
            snprintf(where, sizeof(where), "%s",
                     x->url       ? x->url
                     : x->path    ? x->path
                     : x->command ? x->command
                                  : "");
        const char *row[] = {
            id,
            json_string_value(json_object_get(json_object_get(j, "account"), "name")) ?: "",
            x->name,
            mr_target_kind_name(x->kind),
            where,
            mr_yes_no(x->enabled),
            pending,
            failed};
        mr_cli_table_add(&t, row);
        json_array_append_new(arr, j);
    }
    if (format == MR_FORMAT_JSON)
        mr_cli_print_json(json_pack("{s:o}", "targets", arr));
    else {
        json_decref(arr);
        mr_cli_table_print(&t);
    }
    mr_cli_table_free(&t);
    mr_target_list_free(&items, n);
    return 0;
}

static const char test_usage[] =
    "target test ID|NAME [--message ID] [--public-url URL] [--format json]\n"
    "\n"
    "Sends a test delivery now: a sample message (type message.test for a\n"
    "webhook), or the stored message --message. Nothing is recorded. Exit status 0\n"
    "when the target took it, 1 otherwise.";

static const char *outcome_name(enum mr_delivery_outcome o)
{
    return o == MR_DELIVERY_OK      ? "delivered"
           : o == MR_DELIVERY_RETRY ? "temporary failure"
                                    : "permanent failure";
}

static int cmd_test(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"message", required_argument, NULL, 'm'},
                                         {"public-url", required_argument, NULL, 'u'},
                                         MR_CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    enum mr_format format = MR_FORMAT_TEXT;
    const char *message = NULL, *public_url = NULL, *ref;
    int64_t id, message_id = 0;
    long long v;
    int c, rc, done = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'm')
            message = optarg;
        else if (c == 'u')
            public_url = optarg;
        else {
            rc = mr_cli_common_option(cli, c, test_usage, &format, &done);
            if (done)
                return rc;
        }
    }
    if ((rc = mr_cli_one_ref(cli, argc, argv, &ref)))
        return rc;
    if (message && mr_parse_int(message, 1, INT64_MAX, &v) != 0)
        return mr_cli_bad_value(cli, "message", "must be a message ID, not '%s'", message);
    message_id = message ? v : 0;
    if ((rc = mr_cli_resolve(cli, MR_OBJ_TARGET, ref, &id)))
        return rc;
    struct mr_delivery_result res;
    mr_error err = {0};
    if (mr_outbox_test(&cli->reg, id, message_id, public_url, &res, &err) != 0)
        return mr_cli_fail(cli, &err);
    if (format == MR_FORMAT_JSON)
        mr_cli_print_json(
            json_pack("{s:b, s:s, s:s?, s:s?, s:I}", "ok", res.outcome == MR_DELIVERY_OK, "outcome",
                      res.outcome == MR_DELIVERY_OK      ? "delivered"
                      : res.outcome == MR_DELIVERY_RETRY ? "retry"
                                                         : "failed",
                      "error", res.error[0] ? res.error : NULL, "response",
                      res.response[0] ? res.response : NULL, "ms", (json_int_t)res.ms));
    else {
        printf("test delivery: %s in %lld ms\n", outcome_name(res.outcome), (long long)res.ms);
        if (res.error[0])
            printf("error: %s\n", res.error);
        if (res.response[0])
            printf("response: %s\n", res.response);
    }
    return res.outcome == MR_DELIVERY_OK ? 0 : 1;
}

int mr_cli_target(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"add", cmd_add, add_usage}, {"edit", cmd_edit, edit_usage}, {"show", cmd_show, show_usage},
        {"rm", cmd_rm, rm_usage},    {"list", cmd_list, list_usage}, {"test", cmd_test, test_usage},
        {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "target", cmds, argc, argv);
}

/* --- mailroom delivery ----------------------------------------------------------- */

struct delivery_args {
    struct mr_delivery_filter f;
    size_t limit;
    int all;
    enum mr_format format;
};

static int parse_filter(struct mr_cli *cli, int argc, char **argv, const char *usage,
                        struct delivery_args *a, int *done)
{
    static const struct option opts[] = {{"state", required_argument, NULL, 's'},
                                         {"failed", no_argument, NULL, 'F'},
                                         {"account", required_argument, NULL, 'a'},
                                         {"target", required_argument, NULL, 't'},
                                         {"message", required_argument, NULL, 'm'},
                                         {"since", required_argument, NULL, 'S'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"all", no_argument, NULL, 'A'},
                                         MR_CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    static const char *const states[] = {"pending", "delivered", "failed", "skipped", NULL};
    int c, rc;
    long long v;
    int64_t when;
    const char *account = NULL, *target = NULL;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            a->f.state = NULL;
            for (size_t i = 0; states[i]; i++)
                if (strcmp(optarg, states[i]) == 0)
                    a->f.state = states[i];
            if (!a->f.state)
                return *done = 1, mr_cli_bad_value(cli, "state",
                                                   "must be pending, delivered, failed or "
                                                   "skipped, not '%s'",
                                                   optarg);
            break;
        case 'F':
            a->f.state = "failed";
            break;
        case 'a':
            account = optarg;
            break;
        case 't':
            target = optarg;
            break;
        case 'm':
            if (mr_parse_int(optarg, 1, INT64_MAX, &v) != 0)
                return *done = 1,
                       mr_cli_bad_value(cli, "message", "must be a message ID, not '%s'", optarg);
            a->f.message = v;
            break;
        case 'S':
            if (mr_parse_when(optarg, (int64_t)time(NULL), &when) != 0)
                return *done = 1,
                       mr_cli_bad_value(cli, "since",
                                        "must be a date (2026-12-01), a time "
                                        "(2026-12-01T08:00Z) or a span before now (30m, 2h, "
                                        "3d), not '%s'",
                                        optarg);
            a->f.since_ms = when * 1000;
            break;
        case 'l':
            if (mr_parse_int(optarg, 1, 100000, &v) != 0)
                return *done = 1,
                       mr_cli_bad_value(cli, "limit", "must be from 1 to 100000, not '%s'", optarg);
            a->limit = (size_t)v;
            break;
        case 'A':
            a->all = 1;
            break;
        default:
            rc = mr_cli_common_option(cli, c, usage, &a->format, done);
            if (*done)
                return rc;
        }
    }
    if (account && (rc = mr_cli_resolve(cli, MR_OBJ_ACCOUNT, account, &a->f.account)))
        return *done = 1, rc;
    if (target && (rc = mr_cli_resolve(cli, MR_OBJ_TARGET, target, &a->f.target)))
        return *done = 1, rc;
    return 0;
}

static void format_ms(int64_t ms, char out[32])
{
    if (ms <= 0)
        snprintf(out, 32, "-");
    else
        mr_format_time(ms / 1000, out);
}

static const char dlist_usage[] =
    "delivery list [--failed | --state pending|delivered|failed|skipped] [--account A]\n"
    "       [--target T] [--message ID] [--since WHEN] [--limit N] [--format table|json]\n"
    "\n"
    "The outbox, newest first (50 unless --limit). --failed lists Failed deliveries:\n"
    "those that failed for good or ran out of retries, with the reason; --since\n"
    "(2026-12-01, 2026-12-01T08:00Z, 30m, 2h, 3d) counts from when they failed.";

static int cmd_dlist(struct mr_cli *cli, int argc, char **argv)
{
    static const char *const header[] = {"ID",    "Message",  "Account",      "Target",
                                         "State", "Attempts", "Last attempt", "Last error"};
    struct delivery_args a = {.format = MR_FORMAT_TABLE, .limit = 50};
    int done = 0;
    int rc = parse_filter(cli, argc, argv, dlist_usage, &a, &done);
    if (done || rc)
        return rc;
    if (optind < argc)
        return mr_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if ((rc = mr_cli_open(cli)))
        return rc;
    struct mr_delivery *items = NULL;
    size_t n = 0, total = 0;
    mr_error err = {0};
    if (mr_store_delivery_list(cli->reg.store, &a.f, 0, a.limit, &items, &n, &total, &err) != 0)
        return mr_cli_fail(cli, &err);
    if (a.format == MR_FORMAT_JSON) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, mr_view_delivery(&items[i]));
        mr_cli_print_json(json_pack("{s:o, s:I}", "deliveries", arr, "total", (json_int_t)total));
    } else {
        struct mr_cli_table t;
        mr_cli_table_init(&t, header, 8);
        for (size_t i = 0; i < n; i++) {
            char id[24], msg[24], att[16], when[32], error[120];
            snprintf(id, sizeof(id), "%lld", (long long)items[i].id);
            snprintf(msg, sizeof(msg), "%lld", (long long)items[i].message_id);
            snprintf(att, sizeof(att), "%d", items[i].attempts);
            format_ms(items[i].last_attempt_ms, when);
            mr_text_excerpt(items[i].last_error, 100, error, sizeof(error));
            const char *row[] = {id,
                                 msg,
                                 items[i].account_name ?: "",
                                 items[i].target_name ?: "",
                                 items[i].state,
                                 att,
                                 when,
                                 error};
            mr_cli_table_add(&t, row);
        }
        mr_cli_table_print(&t);
        mr_cli_table_free(&t);
        if (total > n)
            printf("%zu of %zu shown (--limit)\n", n, total);
    }
    mr_delivery_list_free(&items, n);
    return 0;
}

static const char dshow_usage[] = "delivery show ID [--format json]";

static int cmd_dshow(struct mr_cli *cli, int argc, char **argv)
{
    struct delivery_args a = {.format = MR_FORMAT_TEXT};
    int done = 0;
    long long v;
    int rc = parse_filter(cli, argc, argv, dshow_usage, &a, &done);
    if (done || rc)
        return rc;
    if (optind + 1 != argc || mr_parse_int(argv[optind], 1, INT64_MAX, &v) != 0)
        return mr_cli_usage(cli, "give one delivery ID");
    if ((rc = mr_cli_open(cli)))
        return rc;
    struct mr_delivery d;
    mr_error err = {0};
    if (mr_store_delivery_get(cli->reg.store, v, &d, &err) != 0)
        return mr_cli_fail(cli, &err);
    if (a.format == MR_FORMAT_JSON)
        mr_cli_print_json(mr_view_delivery(&d));
    else {
        char buf[64], when[32];
        snprintf(buf, sizeof(buf), "%lld", (long long)d.id);
        mr_cli_print_field("ID", buf, 14);
        mr_cli_print_field("Event ID", d.event_id, 14);
        snprintf(buf, sizeof(buf), "%lld", (long long)d.message_id);
        mr_cli_print_field("Message", buf, 14);
        mr_cli_print_field("Subject", d.subject ?: "", 14);
        mr_cli_print_field("Account", d.account_name ?: "", 14);
        snprintf(buf, sizeof(buf), "%s (ID %lld, %s)", d.target_name ?: "", (long long)d.target_id,
                 d.target_kind ?: "");
        mr_cli_print_field("Target", buf, 14);
        mr_cli_print_field("State", d.state, 14);
        snprintf(buf, sizeof(buf), "%d", d.attempts);
        mr_cli_print_field("Attempts", buf, 14);
        format_ms(d.created_ms, when);
        mr_cli_print_field("Queued", when, 14);
        format_ms(d.last_attempt_ms, when);
        mr_cli_print_field("Last attempt", when, 14);
        if (strcmp(d.state, "pending") == 0) {
            format_ms(d.next_ms, when);
            mr_cli_print_field("Next attempt", when, 14);
        }
        if (d.last_error)
            mr_cli_print_field("Last error", d.last_error, 14);
        if (d.last_response)
            mr_cli_print_field("Response", d.last_response, 14);
        if (d.progress)
            mr_cli_print_field("Accepted by", d.progress, 14);
    }
    mr_delivery_clear(&d);
    return 0;
}

static const char replay_usage[] =
    "delivery replay ID | --target T | --account A | --since WHEN | --all\n"
    "\n"
    "Failed deliveries become pending again, with a new retry time, and the daemon\n"
    "delivers them (or `mailroom delivery run` does). Filters combine: --target T\n"
    "--since 2h replays what failed at T in the last two hours.";

static int cmd_replay(struct mr_cli *cli, int argc, char **argv)
{
    struct delivery_args a = {.format = MR_FORMAT_TEXT};
    int done = 0;
    long long v;
    int rc = parse_filter(cli, argc, argv, replay_usage, &a, &done);
    if (done || rc)
        return rc;
    int filtered = a.f.target || a.f.account || a.f.since_ms || a.f.message;
    if (optind < argc) {
        if (optind + 1 != argc || mr_parse_int(argv[optind], 1, INT64_MAX, &v) != 0)
            return mr_cli_usage(cli, "give one delivery ID, or filters");
        if (filtered || a.all)
            return mr_cli_usage(cli, "give a delivery ID or filters, not both");
    } else if (!filtered && !a.all)
        return mr_cli_usage(cli, "which? give a delivery ID, --target, --account, --since, "
                                 "or --all for every failed delivery");
    if ((rc = mr_cli_open(cli)))
        return rc;
    mr_error err = {0};
    if (optind < argc) {
        if (mr_registry_delivery_replay_one(&cli->reg, v, &err) != 0)
            return mr_cli_fail(cli, &err);
        printf("1 failed delivery is pending again\n");
        return 0;
    }
    size_t n = 0;
    if (mr_registry_delivery_replay(&cli->reg, &a.f, &n, &err) != 0)
        return mr_cli_fail(cli, &err);
    printf("%zu failed deliver%s pending again\n", n, n == 1 ? "y is" : "ies are");
    return 0;
}

static const char run_usage[] =
    "delivery run [--public-url URL]\n"
    "\n"
    "Delivers what is due now, in this process, and exits: for a machine without\n"
    "the daemon (run it after `mailroom fetch`, or from cron). Beside a running\n"
    "daemon it takes its share: a delivery is never handed to two at once.";

static int cmd_run(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"public-url", required_argument, NULL, 'u'}, MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    enum mr_format format = MR_FORMAT_TEXT;
    struct mr_outbox_config oc = {0};
    int c, rc, done = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'u')
            oc.public_url = optarg;
        else {
            rc = mr_cli_common_option(cli, c, run_usage, &format, &done);
            if (done)
                return rc;
        }
    }
    if (optind < argc)
        return mr_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if ((rc = mr_cli_open(cli)))
        return rc;
    const char *divisor = getenv("MAILROOM_TEST_INTERVAL_DIVISOR");
    oc.divisor = divisor ? atoi(divisor) : 1;
    oc.data_dir = mr_cli_data_dir(cli);
    struct mr_outbox_counts counts;
    mr_error err = {0};
    rc = mr_outbox_run(&cli->reg, &oc, &counts, &err);
    if (format == MR_FORMAT_JSON)
        mr_cli_print_json(json_pack("{s:I, s:I, s:I}", "delivered", (json_int_t)counts.delivered,
                                    "retried", (json_int_t)counts.retried, "failed",
                                    (json_int_t)counts.failed));
    else
        printf("%zu delivered, %zu to retry later, %zu failed\n", counts.delivered, counts.retried,
               counts.failed);
    if (rc)
        return mr_cli_fail(cli, &err);
    return counts.retried || counts.failed ? 1 : 0;
}

int mr_cli_delivery(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"list", cmd_dlist, dlist_usage},
        {"show", cmd_dshow, dshow_usage},
        {"replay", cmd_replay, replay_usage},
        {"run", cmd_run, run_usage},
        {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "delivery", cmds, argc, argv);
}
