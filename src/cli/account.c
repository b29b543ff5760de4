/* mailroom account add|edit|show|rm|list */
#include "cli/cli.h"

#include "report/views.h"
#include "sched/scheduler.h"
#include "util/mem.h"
#include "util/text.h"

#include <stdio.h>
#include <string.h>

#define FIELD_OPT_BASE 0x200
#define FLAG_MAX       32

/* Looks up the names of credentials and connectors once for many rows. */
struct names {
    struct mr_credential *creds;
    size_t ncreds;
    struct mr_connector *conns;
    size_t nconns;
    int64_t default_connector;
};

static int names_load(struct mr_cli *cli, struct names *n)
{
    mr_error err = {0};
    memset(n, 0, sizeof(*n));
    struct mr_store *s = cli->reg.store;
    if (mr_store_credential_list(s, &n->creds, &n->ncreds, &err) ||
        mr_store_connector_list(s, &n->conns, &n->nconns, &err) ||
        mr_store_default_connector(s, &n->default_connector, &err))
        return mr_cli_fail(cli, &err);
    return 0;
}

static void names_free(struct names *n)
{
    mr_credential_list_free(&n->creds, n->ncreds);
    mr_connector_list_free(&n->conns, n->nconns);
}

static const char *credential_name(const struct names *n, int64_t id)
{
    for (size_t i = 0; i < n->ncreds; i++)
        if (n->creds[i].id == id)
            return n->creds[i].name;
    return NULL;
}

static const char *connector_name(const struct names *n, int64_t id)
{
    for (size_t i = 0; i < n->nconns; i++)
        if (n->conns[i].id == id)
            return n->conns[i].name;
    return NULL;
}

static json_t *account_json(struct mr_cli *cli, const struct mr_account *a, const struct names *n)
{
    struct mr_account_names an = {
        .credential = credential_name(n, a->credential_id),
        .connector = connector_name(n, a->connector_id),
        .default_connector = connector_name(n, n->default_connector),
    };
    json_t *j = mr_view_account(a, &an);
    for (size_t i = 0; i < n->ncreds; i++)
        if (n->creds[i].id == a->credential_id)
            mr_view_add_credential_token(j, &n->creds[i]);
    struct mr_check_status st;
    if (mr_store_check_status(cli->reg.store, a->id, &st, NULL) == 0)
        mr_view_add_status(j, &st, a->enabled && a->automatic_check ? mr_next_check(&st, 1) : 0);
    struct mr_push_status push;
    if (mr_store_push_status_get(cli->reg.store, a->id, &push, NULL) == 0) {
        json_object_set_new(j, "push_status", mr_view_push(a, &push));
        mr_push_status_clear(&push);
    }
    return j;
}

/* "push, connected 2 h 5 min ago, last notice to stored 84 ms" */
static void print_push(struct mr_cli *cli, const struct mr_account *a)
{
    struct mr_push_status push;
    struct mr_push_mode m;
    char text[800];
    if (mr_store_push_status_get(cli->reg.store, a->id, &push, NULL) != 0)
        return;
    mr_view_push_mode(a, &push, &m);
    int n = snprintf(text, sizeof(text), "%s", m.mode);
    if (m.age_s >= 0 && n > 0 && (size_t)n < sizeof(text))
        n += snprintf(text + n, sizeof(text) - (size_t)n, ", connected %lld s ago",
                      (long long)m.age_s);
    if (push.latency_ms >= 0 && n > 0 && (size_t)n < sizeof(text))
        n += snprintf(text + n, sizeof(text) - (size_t)n, ", last notice to stored %lld ms",
                      (long long)push.latency_ms);
    if (m.reason[0] && n > 0 && (size_t)n < sizeof(text))
        snprintf(text + n, sizeof(text) - (size_t)n, ": %s", m.reason);
    mr_cli_print_field("Push", text, 30);
    mr_push_status_clear(&push);
}

static void print_status(struct mr_cli *cli, const struct mr_account *a)
{
    struct mr_check_status st;
    char when[32], text[700];
    if (mr_store_check_status(cli->reg.store, a->id, &st, NULL) != 0)
        return;
    if (st.last_started) {
        mr_format_time(st.last_ended ? st.last_ended : st.last_started, when);
        snprintf(text, sizeof(text), "%s, %s%s%s (%llu fetched)", when, st.last_result,
                 st.last_error[0] ? ": " : "", st.last_error, (unsigned long long)st.last_fetched);
    }
    mr_cli_print_field("Last check", st.last_started ? text : "never", 30);
    if (a->enabled && a->automatic_check)
        mr_format_time(mr_next_check(&st, 1), when);
    mr_cli_print_field("Next check",
                       a->enabled && a->automatic_check ? when : "none (not automatic)", 30);
    print_push(cli, a);
    snprintf(text, sizeof(text), "%d", st.failures);
    mr_cli_print_field("Failures since last success", text, 30);
}

/* --- add and edit: options from the field table ------------------------ */

struct field_options {
    char flags[32][FLAG_MAX];
    struct option opts[40];
};

static void field_options_init(struct field_options *fo)
{
    static const struct option common[] = {MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    size_t n = 0;
    for (size_t i = 0; i < mr_account_field_count; i++, n++) {
        snprintf(fo->flags[i], FLAG_MAX, "%s", mr_account_fields[i].key);
        for (char *c = fo->flags[i]; *c; c++)
            *c = *c == '_' ? '-' : *c;
        fo->opts[n] =
            (struct option){fo->flags[i], required_argument, NULL, FIELD_OPT_BASE + (int)i};
    }
    memcpy(&fo->opts[n], common, sizeof(common));
}

static void print_field_help(const char *synopsis)
{
    printf("usage: mailroom %s\n\nfields:\n", synopsis);
    for (size_t i = 0; i < mr_account_field_count; i++) {
        char flag[FLAG_MAX];
        snprintf(flag, sizeof(flag), "%s", mr_account_fields[i].key);
        for (char *c = flag; *c; c++)
            *c = *c == '_' ? '-' : *c;
        printf("  --%-18s %s: %s\n", flag, mr_account_fields[i].label, mr_account_fields[i].values);
    }
    printf("\ndefaults: security tls, port by protocol and security (143/993 IMAP, "
           "110/995 POP3),\nfolder INBOX, automatic check yes every 300 s, enabled yes, "
           "keep copy yes,\nskip certificate no, use connector no, auth auto.\n"
           "Giving --connector implies --use-connector yes.\n"
           "  --format json        print the account as JSON\n"
           "  --data DIR           data directory\n");
}

/* Parses field flags into in; positional arguments stay in argv. */
static int parse_fields(struct mr_cli *cli, int argc, char **argv, const char *synopsis,
                        struct mr_input *in, enum mr_format *format, int *done)
{
    struct field_options fo;
    field_options_init(&fo);
    int c;
    while ((c = getopt_long(argc, argv, "h", fo.opts, NULL)) != -1) {
        if (c >= FIELD_OPT_BASE && c < FIELD_OPT_BASE + (int)mr_account_field_count) {
            mr_input_add(in, mr_account_fields[c - FIELD_OPT_BASE].key, optarg);
            continue;
        }
        if (c == MR_CLI_OPT_HELP) {
            print_field_help(synopsis);
            *done = 1;
            return MR_EXIT_OK;
        }
        int rc = mr_cli_common_option(cli, c, synopsis, format, done);
        if (*done)
            return rc;
    }
    return 0;
}

static int print_account(struct mr_cli *cli, int64_t id, enum mr_format format, const char *verb);

static const char add_usage[] =
    "account add --name N --protocol imap|pop3 --address H --credential ID|NAME [--port P]\n"
    "       [--security none|starttls-optional|starttls|tls] [--skip-certificate yes|no]\n"
    "       [--keep-copy yes|no] [--automatic-check yes|no] [--interval SECONDS]\n"
    "       [--enabled yes|no] [--use-connector yes|no] [--connector ID|NAME] [--folder F]\n"
    "       [--auth auto|MECH] [--format json]";

static int cmd_add(struct mr_cli *cli, int argc, char **argv)
{
    struct mr_input in = {0};
    enum mr_format format = MR_FORMAT_TEXT;
    int done = 0;
    int rc = parse_fields(cli, argc, argv, add_usage, &in, &format, &done);
    if (done || rc)
        return rc;
    if (optind < argc)
        return mr_cli_usage(cli, "unexpected argument '%s' (fields are given as --flags)",
                            argv[optind]);
    if ((rc = mr_cli_open(cli)))
        return rc;
    struct mr_problems p = {0};
    mr_error err = {0};
    int64_t id = 0;
    rc = mr_registry_account_add(&cli->reg, &in, &id, &p, &err);
    if (rc)
        return mr_cli_fail_write(cli, rc, &p, &err);
    return print_account(cli, id, format, "added");
}

static const char edit_usage[] =
    "account edit ID|NAME [--name N] [--protocol imap|pop3] [--address H] [--port P|default]\n"
    "       [--credential ID|NAME] [--security MODE] [--skip-certificate yes|no]\n"
    "       [--keep-copy yes|no] [--automatic-check yes|no] [--interval SECONDS]\n"
    "       [--enabled yes|no] [--use-connector yes|no] [--connector ID|NAME|''] [--folder F]\n"
    "       [--auth auto|MECH] [--format json]";

static int cmd_edit(struct mr_cli *cli, int argc, char **argv)
{
    struct mr_input in = {0};
    enum mr_format format = MR_FORMAT_TEXT;
    int done = 0;
    const char *ref;
    int64_t id;
    int rc = parse_fields(cli, argc, argv, edit_usage, &in, &format, &done);
    if (done || rc)
        return rc;
    if ((rc = mr_cli_one_ref(cli, argc, argv, &ref)))
        return rc;
    if (in.count == 0)
        return mr_cli_usage(cli, "nothing to change: give at least one field flag");
    if ((rc = mr_cli_resolve(cli, MR_OBJ_ACCOUNT, ref, &id)))
        return rc;
    struct mr_problems p = {0};
    mr_error err = {0};
    rc = mr_registry_account_edit(&cli->reg, id, &in, &p, &err);
    if (rc)
        return mr_cli_fail_write(cli, rc, &p, &err);
    return print_account(cli, id, format, "updated");
}

/* --- show -------------------------------------------------------------- */

static void print_account_text(const struct mr_account *a, const struct names *n)
{
    char buf[160], num[32];
    snprintf(num, sizeof(num), "%lld", (long long)a->id);
    mr_cli_print_field("ID", num, 30);
    for (size_t i = 0; i < mr_account_field_count; i++) {
        const struct mr_field *f = &mr_account_fields[i];
        const char *v = mr_account_get(a, f, num, sizeof(num));
        if (strcmp(f->key, "credential") == 0) {
            snprintf(buf, sizeof(buf), "%s (ID %lld)", credential_name(n, a->credential_id),
                     (long long)a->credential_id);
            v = buf;
        } else if (strcmp(f->key, "connector") == 0 && a->use_connector) {
            int64_t cid = a->connector_id ? a->connector_id : n->default_connector;
            snprintf(buf, sizeof(buf), "%s%s (ID %lld)",
                     a->connector_id ? "" : "default: ", connector_name(n, cid), (long long)cid);
            v = buf;
        } else if (strcmp(f->key, "port") == 0 && !a->port) {
            snprintf(buf, sizeof(buf), "%s (default)", v);
            v = buf;
        }
        mr_cli_print_field(f->label, v, 30);
    }
    mr_format_time(a->created_at, buf);
    mr_cli_print_field("Created", buf, 30);
    mr_format_time(a->updated_at, buf);
    mr_cli_print_field("Updated", buf, 30);
}

static int print_account(struct mr_cli *cli, int64_t id, enum mr_format format, const char *verb)
{
    struct mr_account a;
    struct names n;
    mr_error err = {0};
    mr_account_init(&a);
    int rc = mr_store_account_get(cli->reg.store, id, &a, &err);
    if (rc)
        return mr_cli_fail(cli, &err);
    rc = names_load(cli, &n);
    if (rc == 0 && format == MR_FORMAT_JSON)
        mr_cli_print_json(account_json(cli, &a, &n));
    else if (rc == 0 && verb)
        printf("account %lld '%s' %s\n", (long long)a.id, a.name, verb);
    else if (rc == 0) {
        print_account_text(&a, &n);
        print_status(cli, &a);
    }
    if (rc == 0)
        names_free(&n);
    mr_account_clear(&a);
    return rc;
}

static const char show_usage[] = "account show ID|NAME [--format json]";

static int cmd_show(struct mr_cli *cli, int argc, char **argv)
{
    enum mr_format format = MR_FORMAT_TEXT;
    int64_t id;
    int done = 0;
    int rc = mr_cli_ref_command(cli, argc, argv, show_usage, MR_OBJ_ACCOUNT, &format, &id, &done);
    return done || rc ? rc : print_account(cli, id, format, NULL);
}

static const char rm_usage[] =
    "account rm ID|NAME [--delete-messages]\n"
    "\n"
    "Refused while mailroom holds messages fetched for the account, unless\n"
    "--delete-messages says to delete them too.";

static int cmd_rm(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"delete-messages", no_argument, NULL, 'M'}, MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    enum mr_format format = MR_FORMAT_TEXT;
    const char *ref = NULL;
    int64_t id;
    int c, rc, done = 0, with_messages = 0;
    mr_error err = {0};
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'M') {
            with_messages = 1;
            continue;
        }
        rc = mr_cli_common_option(cli, c, rm_usage, &format, &done);
        if (done)
            return rc;
    }
    if ((rc = mr_cli_one_ref(cli, argc, argv, &ref)) ||
        (rc = mr_cli_resolve(cli, MR_OBJ_ACCOUNT, ref, &id)))
        return rc;
    if (mr_registry_account_remove(&cli->reg, id, with_messages, &err) != 0)
        return mr_cli_fail(cli, &err);
    printf("account %lld removed\n", (long long)id);
    return 0;
}

/* --- list: the IMAP/POP3 settings report -------------------------------- */

struct list_args {
    struct mr_account_filter filter;
    long long page, per_page;
    enum mr_format format;
};

static const char list_usage[] =
    "account list [--name TEXT] [--secure yes|no] [--automatic-check yes|no]\n"
    "       [--keep-copy yes|no] [--status enabled|disabled|all] [--errors yes|no]\n"
    "       [--page N] [--per-page N] [--format table|csv|json]\n"
    "\n"
    "The IMAP/POP3 settings report, 30 accounts a page by default. --name matches a part\n"
    "of the name, ignoring case; --errors yes shows the accounts whose last check\n"
    "failed. CSV exports every matching account, not one page.";

enum {
    OPT_NAME = 0x300,
    OPT_SECURE,
    OPT_AUTO,
    OPT_KEEP,
    OPT_STATUS,
    OPT_PAGE,
    OPT_PER_PAGE,
    OPT_ERRORS,
};

/* The yes/no/any filters, by option. */
static enum mr_tristate *tristate_filter(struct list_args *a, int c, const char **field)
{
    switch (c) {
    case OPT_SECURE:
        *field = "secure";
        return &a->filter.secure;
    case OPT_AUTO:
        *field = "automatic-check";
        return &a->filter.automatic_check;
    case OPT_KEEP:
        *field = "keep-copy";
        return &a->filter.keep_copy;
    case OPT_ERRORS:
        *field = "errors";
        return &a->filter.errors;
    default:
        return NULL;
    }
}

static int list_option(struct mr_cli *cli, int c, struct list_args *a)
{
    const char *field = NULL;
    enum mr_tristate *t = tristate_filter(a, c, &field);
    if (t) {
        if (mr_tristate_parse(optarg, t) == 0)
            return 0;
        return mr_cli_bad_value(cli, field, "expected yes, no or any, got '%s'", optarg);
    }
    switch (c) {
    case OPT_NAME:
        a->filter.name = optarg;
        return 0;
    case OPT_STATUS:
        if (mr_status_parse(optarg, &a->filter.enabled) == 0)
            return 0;
        return mr_cli_bad_value(cli, "status", "expected enabled, disabled or all, got '%s'",
                                optarg);
    case OPT_PAGE:
        if (mr_parse_int(optarg, 1, 1000000000, &a->page) == 0)
            return 0;
        return mr_cli_bad_value(cli, "page", "expected a page number from 1, got '%s'", optarg);
    default:
        if (mr_parse_int(optarg, 1, 1000, &a->per_page) == 0)
            return 0;
        return mr_cli_bad_value(cli, "per-page", "expected 1 to 1000, got '%s'", optarg);
    }
}

static int parse_list(struct mr_cli *cli, int argc, char **argv, struct list_args *a, int *done)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"secure", required_argument, NULL, OPT_SECURE},
        {"automatic-check", required_argument, NULL, OPT_AUTO},
        {"keep-copy", required_argument, NULL, OPT_KEEP},
        {"status", required_argument, NULL, OPT_STATUS},
        {"page", required_argument, NULL, OPT_PAGE},
        {"per-page", required_argument, NULL, OPT_PER_PAGE},
        {"errors", required_argument, NULL, OPT_ERRORS},
        MR_CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int c, rc;
    mr_account_filter_init(&a->filter);
    a->page = 1;
    a->per_page = MR_REPORT_PAGE_SIZE;
    a->format = MR_FORMAT_TABLE;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        rc = mr_cli_common_option(cli, c, list_usage, &a->format, done);
        if (*done)
            return rc;
        if (rc < 0 && (rc = list_option(cli, c, a)) != 0) {
            *done = 1;
            return rc;
        }
    }
    if (optind < argc) {
        *done = 1;
        return mr_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    }
    return 0;
}

static int list_csv(struct mr_cli *cli, const struct list_args *a)
{
    struct mr_account *items;
    size_t n, total;
    mr_error err = {0};
    if (mr_store_account_list(cli->reg.store, &a->filter, 0, 0, &items, &n, &total, &err))
        return mr_cli_fail(cli, &err);
    struct mr_buf out;
    mr_buf_init(&out, 1 << 20);
    enum mr_lang lang = mr_lang_from_env();
    int rc = mr_report_csv_header(&out, lang);
    for (size_t i = 0; i < n && rc == 0; i++) {
        fwrite(out.data, 1, out.len, stdout); /* one row at a time */
        mr_buf_reset(&out);
        rc = mr_report_csv_row(&out, &items[i], lang);
    }
    fwrite(out.data, 1, out.len, stdout);
    mr_buf_free(&out);
    mr_account_list_free(&items, n);
    return rc ? MR_EXIT_ERROR : 0;
}

static void list_table(const struct mr_account *items, size_t n)
{
    struct mr_cli_table t;
    enum mr_lang lang = mr_lang_from_env(); /* LANG=pt_BR.UTF-8: the Portuguese document's */
    mr_cli_table_init(&t, mr_report_words(lang)->columns, MR_REPORT_COLUMNS);
    for (size_t i = 0; i < n; i++) {
        const char *cells[MR_REPORT_COLUMNS];
        char id[24], port[8];
        mr_report_row(&items[i], lang, cells, id, port);
        mr_cli_table_add(&t, cells);
    }
    mr_cli_table_print(&t);
    mr_cli_table_free(&t);
}

static json_t *list_json(struct mr_cli *cli, const struct mr_account *items, size_t n,
                         const struct list_args *a, size_t total, size_t pages)
{
    struct names nm;
    json_t *arr = json_array();
    if (names_load(cli, &nm) == 0) {
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, account_json(cli, &items[i], &nm));
        names_free(&nm);
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:o}", "page", (json_int_t)a->page, "pages",
                     (json_int_t)pages, "per_page", (json_int_t)a->per_page, "total",
                     (json_int_t)total, "accounts", arr);
}

static int cmd_list(struct mr_cli *cli, int argc, char **argv)
{
    struct list_args a;
    int done = 0;
    int rc = parse_list(cli, argc, argv, &a, &done);
    if (done || rc)
        return rc;
    if ((rc = mr_cli_open(cli)))
        return rc;
    if (a.format == MR_FORMAT_CSV)
        return list_csv(cli, &a);
    struct mr_account *items;
    size_t n, total;
    mr_error err = {0};
    size_t offset = (size_t)(a.page - 1) * (size_t)a.per_page;
    if (mr_store_account_list(cli->reg.store, &a.filter, offset, (size_t)a.per_page, &items, &n,
                              &total, &err))
        return mr_cli_fail(cli, &err);
    size_t pages = total ? (total + (size_t)a.per_page - 1) / (size_t)a.per_page : 1;
    if ((size_t)a.page > pages) {
        mr_account_list_free(&items, n);
        mr_error_set(&err, MR_ENOTFOUND, "page",
                     "page %lld does not exist: %zu page%s, %zu "
                     "account%s",
                     a.page, pages, pages == 1 ? "" : "s", total, total == 1 ? "" : "s");
        return mr_cli_fail(cli, &err);
    }
    if (a.format == MR_FORMAT_JSON)
        mr_cli_print_json(list_json(cli, items, n, &a, total, pages));
    else {
        list_table(items, n);
        printf("page %lld of %zu, %zu account%s\n", a.page, pages, total, total == 1 ? "" : "s");
    }
    mr_account_list_free(&items, n);
    return 0;
}

static const char history_usage[] = "account history ID|NAME [--page N] [--format table|json]\n"
                                    "\n"
                                    "The account's fetch runs, newest first, 30 a page.";

static int cmd_history(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"page", required_argument, NULL, 'p'}, MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    static const char *const header[] = {"Run",     "Started", "Ended",   "Result",
                                         "Fetched", "Deleted", "Skipped", "Error"};
    enum mr_format format = MR_FORMAT_TABLE;
    const char *ref = NULL;
    long long page = 1;
    int64_t id;
    int c, rc, done = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'p') {
            if (mr_parse_int(optarg, 1, 1000000000, &page) != 0)
                return mr_cli_bad_value(cli, "page", "expected a page number, got '%s'", optarg);
            continue;
        }
        rc = mr_cli_common_option(cli, c, history_usage, &format, &done);
        if (done)
            return rc;
    }
    if ((rc = mr_cli_one_ref(cli, argc, argv, &ref)) ||
        (rc = mr_cli_resolve(cli, MR_OBJ_ACCOUNT, ref, &id)))
        return rc;
    struct mr_fetch_run *runs;
    size_t n, total;
    mr_error err = {0};
    if (mr_store_run_list(cli->reg.store, id, (size_t)(page - 1) * MR_REPORT_PAGE_SIZE,
                          MR_REPORT_PAGE_SIZE, &runs, &n, &total, &err))
        return mr_cli_fail(cli, &err);
    struct mr_cli_table t;
    json_t *arr = json_array();
    mr_cli_table_init(&t, header, 8);
    for (size_t i = 0; i < n; i++) {
        char rid[24], started[32], ended[32], f[24], d[24], sk[24];
        snprintf(rid, sizeof(rid), "%lld", (long long)runs[i].id);
        mr_format_time(runs[i].started_at, started);
        mr_format_time(runs[i].ended_at, ended);
        snprintf(f, sizeof(f), "%llu", (unsigned long long)runs[i].fetched);
        snprintf(d, sizeof(d), "%llu", (unsigned long long)runs[i].deleted);
        snprintf(sk, sizeof(sk), "%llu", (unsigned long long)runs[i].skipped);
        const char *row[] = {rid, started, runs[i].ended_at ? ended : "",     runs[i].result, f,
                             d,   sk,      runs[i].error ? runs[i].error : ""};
        mr_cli_table_add(&t, row);
        json_array_append_new(arr, json_pack("{s:I, s:s, s:s?, s:s, s:I, s:I, s:I, s:I, s:s?}",
                                             "id", (json_int_t)runs[i].id, "started_at", started,
                                             "ended_at", runs[i].ended_at ? ended : NULL, "result",
                                             runs[i].result, "fetched", (json_int_t)runs[i].fetched,
                                             "bytes", (json_int_t)runs[i].bytes, "deleted",
                                             (json_int_t)runs[i].deleted, "skipped",
                                             (json_int_t)runs[i].skipped, "error", runs[i].error));
    }
    if (format == MR_FORMAT_JSON)
        mr_cli_print_json(json_pack("{s:I, s:I, s:o}", "page", (json_int_t)page, "total",
                                    (json_int_t)total, "runs", arr));
    else {
        json_decref(arr);
        mr_cli_table_print(&t);
        printf("page %lld, %zu run%s\n", page, total, total == 1 ? "" : "s");
    }
    mr_cli_table_free(&t);
    mr_fetch_run_list_free(&runs, n);
    return 0;
}

int mr_cli_account(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"add", cmd_add, add_usage},
        {"edit", cmd_edit, edit_usage},
        {"show", cmd_show, show_usage},
        {"rm", cmd_rm, rm_usage},
        {"list", cmd_list, list_usage},
        {"test", mr_cli_account_test, mr_cli_account_test_usage},
        {"history", cmd_history, history_usage},
        {"discover", mr_cli_account_discover, mr_cli_account_discover_usage},
        {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "account", cmds, argc, argv);
}
