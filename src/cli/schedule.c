/* mailroom report schedule add|list|edit|rm|run-now */
#include "cli/cli.h"

#include "registry/schedules.h"
#include "report/deliver.h"
#include "report/views.h"

#include <stdio.h>
#include <string.h>

enum {
    OPT_NAME = 0x300,
    OPT_FILTER,
    OPT_FORMAT_OUT,
    OPT_RECURRENCE,
    OPT_AT,
    OPT_DAY,
    OPT_HOURS,
    OPT_TO,
    OPT_DIR,
    OPT_ENABLED,
    OPT_LANGUAGE,
    OPT_REPORT_DIR,
};

static const char *const option_keys[] = {"name",      "filters", "format",      "recurrence",
                                          "at",        "day",     "every_hours", "recipients",
                                          "directory", "enabled", "language"};

struct schedule_args {
    struct mr_input in;
    json_t *filters; /* from --filter KEY=VALUE */
    enum mr_format format;
    const char *report_dir; /* --report-dir, else NULL: DATA/reports */
};

#define REPORT_DIR_OPTION                                                                          \
    {                                                                                              \
        "report-dir", required_argument, NULL, OPT_REPORT_DIR                                      \
    }

static int parse(struct mr_cli *cli, int argc, char **argv, const char *usage,
                 struct schedule_args *a, int *done)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"filter", required_argument, NULL, OPT_FILTER},
        {"report-format", required_argument, NULL, OPT_FORMAT_OUT},
        {"recurrence", required_argument, NULL, OPT_RECURRENCE},
        {"at", required_argument, NULL, OPT_AT},
        {"day", required_argument, NULL, OPT_DAY},
        {"every-hours", required_argument, NULL, OPT_HOURS},
        {"to", required_argument, NULL, OPT_TO},
        {"directory", required_argument, NULL, OPT_DIR},
        {"enabled", required_argument, NULL, OPT_ENABLED},
        {"language", required_argument, NULL, OPT_LANGUAGE},
        REPORT_DIR_OPTION,
        MR_CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int c, rc;
    memset(a, 0, sizeof(*a));
    a->format = MR_FORMAT_TEXT;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == OPT_FILTER) {
            const char *eq = strchr(optarg, '=');
            if (!eq) {
                *done = 1;
                return mr_cli_bad_value(cli, "filter", "expected KEY=VALUE, got '%s'", optarg);
            }
            if (!a->filters)
                a->filters = json_object();
            char key[64];
            snprintf(key, sizeof(key), "%.*s", (int)(eq - optarg), optarg);
            json_object_set_new(a->filters, key, json_string(eq + 1));
        } else if (c == OPT_REPORT_DIR)
            a->report_dir = optarg;
        else if (c >= OPT_NAME && c <= OPT_LANGUAGE)
            mr_input_add(&a->in, option_keys[c - OPT_NAME], optarg);
        else {
            rc = mr_cli_common_option(cli, c, usage, &a->format, done);
            if (*done)
                return rc;
        }
    }
    return 0;
}

/* Turns --filter flags into the filters field; returns the text to free. */
static char *filters_text(struct schedule_args *a)
{
    char *text = a->filters ? json_dumps(a->filters, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(a->filters);
    a->filters = NULL;
    if (text)
        mr_input_add(&a->in, "filters", text);
    return text;
}

static int show(struct mr_cli *cli, int64_t id, enum mr_format format, const char *verb)
{
    struct mr_schedule c;
    mr_error err = {0};
    if (mr_store_schedule_get(cli->reg.store, id, &c, &err))
        return mr_cli_fail(cli, &err);
    if (format == MR_FORMAT_JSON)
        mr_cli_print_json(mr_view_schedule(&c));
    else {
        char next[32];
        mr_format_time(c.next_run_at, next);
        printf("report schedule %lld '%s' %s; next run %s\n", (long long)id, c.name, verb, next);
    }
    mr_schedule_clear(&c);
    return 0;
}

static const char add_usage[] =
    "report schedule add --name N --recurrence daily|weekly|monthly|hours\n"
    "       [--at HH:MM] [--day DAY] [--every-hours N] [--filter KEY=VALUE]...\n"
    "       [--report-format csv|html] [--to ADDR,...] [--directory DIR] [--enabled yes|no]\n"
    "       [--language en|pt-BR] [--report-dir BASE]\n"
    "\n"
    "Sends the IMAP/POP3 settings report on a recurrence, in the daemon's time zone:\n"
    "daily at HH:MM; weekly on --day (sunday..saturday) at HH:MM; monthly on --day\n"
    "(1-31; the month's last day when shorter) at HH:MM; or every N hours. Filters\n"
    "are the report's: name, secure, automatic_check, keep_copy, status, errors.\n"
    "--to e-mails it through the SMTP relay in settings; --directory writes it there:\n"
    "a directory under the report base (--report-dir, default DATA/reports, made\n"
    "0700 when missing; give the same one to mailroom serve), owned by mailroom's\n"
    "user and writable by no one else. --language: what the report is written in\n"
    "(its columns, yes and no, the filters; default: from LANG, else English).";

static int cmd_add(struct mr_cli *cli, int argc, char **argv)
{
    struct schedule_args a;
    struct mr_problems p = {0};
    mr_error err = {0};
    int64_t id = 0;
    int done = 0;
    int rc = parse(cli, argc, argv, add_usage, &a, &done);
    if (done || rc || (rc = mr_cli_open(cli)))
        return rc;
    char *filters = filters_text(&a);
    int said = 0;
    for (size_t i = 0; i < a.in.count; i++)
        said |= strcmp(a.in.items[i].key, "language") == 0;
    if (!said)
        mr_input_add(&a.in, "language", mr_lang_name(mr_lang_from_env()));
    char *base = mr_report_base(a.report_dir, cli->data_dir);
    rc = mr_registry_schedule_add(&cli->reg, base, &a.in, &id, &p, &err);
    free(base);
    free(filters);
    return rc ? mr_cli_fail_write(cli, rc, &p, &err) : show(cli, id, a.format, "added");
}

static const char edit_usage[] = "report schedule edit ID|NAME [the flags of add]";

static int cmd_edit(struct mr_cli *cli, int argc, char **argv)
{
    struct schedule_args a;
    struct mr_problems p = {0};
    mr_error err = {0};
    const char *ref = NULL;
    int64_t id;
    int done = 0;
    int rc = parse(cli, argc, argv, edit_usage, &a, &done);
    if (done || rc || (rc = mr_cli_one_ref(cli, argc, argv, &ref)) ||
        (rc = mr_cli_resolve(cli, MR_OBJ_SCHEDULE, ref, &id)))
        return rc;
    char *filters = filters_text(&a);
    char *base = mr_report_base(a.report_dir, cli->data_dir);
    rc = mr_registry_schedule_edit(&cli->reg, base, id, &a.in, &p, &err);
    free(base);
    free(filters);
    return rc ? mr_cli_fail_write(cli, rc, &p, &err) : show(cli, id, a.format, "updated");
}

static const char rm_usage[] = "report schedule rm ID|NAME";

static int remove_schedule(struct mr_registry *r, int64_t id, mr_error *err)
{
    return mr_registry_schedule_remove(r, id, err);
}

static int cmd_rm(struct mr_cli *cli, int argc, char **argv)
{
    return mr_cli_remove(cli, argc, argv, rm_usage, MR_OBJ_SCHEDULE, remove_schedule);
}

static const char run_usage[] =
    "report schedule run-now ID|NAME [--report-dir BASE]\n"
    "\n"
    "Sends (and writes) the report now, and records the result. The directory must\n"
    "still be under the report base (--report-dir, default DATA/reports).";

static int cmd_run(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        REPORT_DIR_OPTION, MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    enum mr_format format = MR_FORMAT_TEXT;
    const char *report_dir = NULL, *ref = NULL;
    mr_error err = {0};
    int64_t id;
    int c, rc, done = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == OPT_REPORT_DIR) {
            report_dir = optarg;
            continue;
        }
        rc = mr_cli_common_option(cli, c, run_usage, &format, &done);
        if (done)
            return rc;
    }
    if ((rc = mr_cli_one_ref(cli, argc, argv, &ref)) ||
        (rc = mr_cli_resolve(cli, MR_OBJ_SCHEDULE, ref, &id)))
        return rc;
    char *base = mr_report_base(report_dir, cli->data_dir);
    rc = mr_report_run_schedule(&cli->reg, base, id, &err);
    free(base);
    return rc ? mr_cli_fail(cli, &err) : show(cli, id, format, "sent");
}

static const char list_usage[] = "report schedule list [--format table|json]";

static int cmd_list(struct mr_cli *cli, int argc, char **argv)
{
    static const char *const header[] = {"ID",       "Name",     "Recurrence", "Format",
                                         "Next run", "Last run", "Result",     "Error"};
    struct schedule_args a;
    struct mr_schedule *items;
    size_t n;
    mr_error err = {0};
    int done = 0;
    int rc = parse(cli, argc, argv, list_usage, &a, &done);
    if (done || rc || (rc = mr_cli_open(cli)))
        return rc;
    if (mr_store_schedule_list(cli->reg.store, &items, &n, &err))
        return mr_cli_fail(cli, &err);
    json_t *arr = json_array();
    struct mr_cli_table t;
    mr_cli_table_init(&t, header, 8);
    for (size_t i = 0; i < n; i++) {
        char id[24], next[32], last[32];
        snprintf(id, sizeof(id), "%lld", (long long)items[i].id);
        mr_format_time(items[i].next_run_at, next);
        mr_format_time(items[i].last_run_at, last);
        const char *row[] = {id,
                             items[i].name,
                             mr_recurrence_name(items[i].recurrence),
                             items[i].format,
                             items[i].enabled ? next : "(disabled)",
                             items[i].last_run_at ? last : "never",
                             items[i].last_result,
                             items[i].last_error};
        mr_cli_table_add(&t, row);
        json_array_append_new(arr, mr_view_schedule(&items[i]));
    }
    if (a.format == MR_FORMAT_JSON)
        mr_cli_print_json(json_pack("{s:o}", "schedules", arr));
    else {
        json_decref(arr);
        mr_cli_table_print(&t);
    }
    mr_cli_table_free(&t);
    mr_schedule_list_free(&items, n);
    return 0;
}

static int cmd_schedule(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"add", cmd_add, add_usage},     {"edit", cmd_edit, edit_usage}, {"rm", cmd_rm, rm_usage},
        {"run-now", cmd_run, run_usage}, {"list", cmd_list, list_usage}, {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "report schedule", cmds, argc, argv);
}

int mr_cli_report(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"schedule", cmd_schedule, "schedule add|edit|rm|run-now|list: scheduled reports"},
        {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "report", cmds, argc, argv);
}
