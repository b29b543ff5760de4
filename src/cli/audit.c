/* mailroom audit list: who changed what, when. */
#include "cli/cli.h"

#include "report/views.h"
#include "util/csv.h"
#include "util/text.h"

#include <stdio.h>
#include <string.h>

static const char list_usage[] =
    "audit list [--object account|credential|connector|user|settings|schedule] [--actor WHO]\n"
    "       [--page N] [--format table|csv|json]\n"
    "\n"
    "Every change to accounts, credentials (never a secret: \"changed\"), connectors,\n"
    "settings and users, newest first: when, who, what, and each changed field as\n"
    "[old, new]; and every failed login to the console or API (action login_failed,\n"
    "object user): the name tried and the client's address, never the password.\n"
    "CSV exports every matching entry.";

static void print_csv(const struct mr_audit_entry *items, size_t n)
{
    struct mr_buf out;
    mr_buf_init(&out, 1 << 20);
    mr_audit_csv_header(&out);
    for (size_t i = 0; i < n; i++) { /* a row at a time: the log can be long */
        fwrite(out.data, 1, out.len, stdout);
        mr_buf_reset(&out);
        mr_audit_csv_row(&out, &items[i]);
    }
    fwrite(out.data, 1, out.len, stdout);
    mr_buf_free(&out);
}

static void print_table(const struct mr_audit_entry *items, size_t n)
{
    static const char *const header[] = {"ID", "At", "Actor", "Action", "Object", "Changes"};
    struct mr_cli_table t;
    mr_cli_table_init(&t, header, 6);
    for (size_t i = 0; i < n; i++) {
        char id[24], at[32], obj[160];
        snprintf(id, sizeof(id), "%lld", (long long)items[i].id);
        mr_format_time(items[i].at, at);
        snprintf(obj, sizeof(obj), "%s %lld %s", items[i].object, (long long)items[i].object_id,
                 items[i].object_name ? items[i].object_name : "");
        const char *row[] = {id, at, items[i].actor, items[i].action, obj, items[i].changes};
        mr_cli_table_add(&t, row);
    }
    mr_cli_table_print(&t);
    mr_cli_table_free(&t);
}

static int cmd_list(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"object", required_argument, NULL, 'o'},
                                         {"actor", required_argument, NULL, 'a'},
                                         {"page", required_argument, NULL, 'p'},
                                         MR_CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct mr_audit_filter f = {0};
    enum mr_format format = MR_FORMAT_TABLE;
    long long page = 1;
    int c, rc, done = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'o' || c == 'a') {
            *(c == 'o' ? &f.object : &f.actor) = optarg;
            continue;
        }
        if (c == 'p') {
            if (mr_parse_int(optarg, 1, 1000000000, &page) != 0)
                return mr_cli_bad_value(cli, "page", "expected a page number, got '%s'", optarg);
            continue;
        }
        rc = mr_cli_common_option(cli, c, list_usage, &format, &done);
        if (done)
            return rc;
    }
    if ((rc = mr_cli_open(cli)))
        return rc;
    struct mr_audit_entry *items;
    size_t n, total;
    mr_error err = {0};
    int all = format == MR_FORMAT_CSV;
    if (mr_store_audit_list(cli->reg.store, &f, all ? 0 : (size_t)(page - 1) * MR_REPORT_PAGE_SIZE,
                            all ? 0 : MR_REPORT_PAGE_SIZE, &items, &n, &total, &err))
        return mr_cli_fail(cli, &err);
    if (format == MR_FORMAT_JSON) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, mr_view_audit(&items[i]));
        mr_cli_print_json(json_pack("{s:I, s:I, s:o}", "page", (json_int_t)page, "total",
                                    (json_int_t)total, "entries", arr));
    } else if (all)
        print_csv(items, n);
    else {
        print_table(items, n);
        printf("page %lld, %zu entr%s\n", page, total, total == 1 ? "y" : "ies");
    }
    mr_audit_list_free(&items, n);
    return 0;
}

int mr_cli_audit(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"list", cmd_list, list_usage},
        {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "audit", cmds, argc, argv);
}
