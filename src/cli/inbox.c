/* mailroom inbox list|show|attachment: what mailroom fetched. */
#include "cli/cli.h"

#include "mime/summary.h"
#include "report/views.h"
#include "util/csv.h"
#include "util/text.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RAW_MAX ((size_t)1 << 31)

static json_t *message_json(const struct mr_message *m, int full)
{
    char fetched[32], sha[65];
    mr_format_time(m->fetched_at, fetched);
    for (int i = 0; i < 32; i++)
        snprintf(sha + 2 * i, 3, "%02x", m->sha256[i]);
    json_t *o =
        json_pack("{s:I, s:I, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:i, s:s, s:s}", "id",
                  (json_int_t)m->id, "account", (json_int_t)m->account_id, "received", fetched,
                  "date", m->date, "from", m->from, "to", m->to, "cc", m->cc, "subject", m->subject,
                  "size", (json_int_t)m->size, "attachments", m->attachments, "status",
                  mr_message_status_name(m->status), "sha256", sha);
    json_object_set_new(o, "size_mismatch", json_boolean(m->size_mismatch));
    json_object_set_new(o, "listed_size",
                        m->size_mismatch ? json_integer((json_int_t)m->listed_size) : json_null());
    json_object_set_new(o, "class", m->msg_class[0] ? json_string(m->msg_class) : json_null());
    json_object_set_new(o, "delivery", m->delivery[0] ? json_string(m->delivery) : json_null());
    json_object_set_new(o, "action_pending", json_boolean(m->action_pending));
    if (full) {
        json_object_set_new(o, "message_id",
                            m->message_id ? json_string(m->message_id) : json_null());
        json_object_set_new(o, "text", m->body_text ? json_string(m->body_text) : json_null());
    }
    return o;
}

static const char list_usage[] =
    "inbox list [--account ID|NAME] [--status stored|parse_failed|size_mismatch]\n"
    "       [--page N] [--format table|csv|json]\n"
    "\n"
    "Messages mailroom fetched, newest first, 30 a page (CSV: every message).\n"
    "--status parse_failed: those not readable as MIME, kept as received.\n"
    "--status size_mismatch: POP3 messages that did not have the size the server\n"
    "listed (Size shows both), stored as received and left on the server.\n"
    "'mailroom inbox skipped' lists the ones left on the server as too big.";

static const char skipped_usage[] =
    "inbox skipped [--account ID|NAME] [--page N] [--format table|json]\n"
    "\n"
    "Messages left on the server because they were bigger than the account's\n"
    "largest message size, newest first, 30 a page.";

/* The size; with "(LIST N)" when the server listed another. */
static void size_cell(const struct mr_message *m, char *out, size_t size)
{
    if (m->size_mismatch)
        snprintf(out, size, "%lld (LIST %llu)", (long long)m->size,
                 (unsigned long long)m->listed_size);
    else
        snprintf(out, size, "%lld", (long long)m->size);
}

static void list_table(const struct mr_message *items, size_t n)
{
    static const char *const header[] = {"ID", "Received", "From", "Subject", "Size", "Att"};
    struct mr_cli_table t;
    mr_cli_table_init(&t, header, 6);
    for (size_t i = 0; i < n; i++) {
        char id[24], when[32], size[64], att[12];
        snprintf(id, sizeof(id), "%lld", (long long)items[i].id);
        mr_format_time(items[i].fetched_at, when);
        size_cell(&items[i], size, sizeof(size));
        snprintf(att, sizeof(att), "%s", items[i].attachments ? "yes" : "");
        const char *row[] = {id, when, items[i].from, items[i].subject, size, att};
        mr_cli_table_add(&t, row);
    }
    mr_cli_table_print(&t);
    mr_cli_table_free(&t);
}

static void list_csv(const struct mr_message *items, size_t n)
{
    static const char *const header[] = {"ID", "Account", "Received", "Date",        "From",
                                         "To", "Subject", "Size",     "Attachments", "Status"};
    struct mr_buf out;
    mr_buf_init(&out, 1 << 20);
    mr_csv_row(&out, header, 10);
    for (size_t i = 0; i < n; i++) {
        char id[24], acc[24], when[32], size[24], att[12];
        snprintf(id, sizeof(id), "%lld", (long long)items[i].id);
        snprintf(acc, sizeof(acc), "%lld", (long long)items[i].account_id);
        mr_format_time(items[i].fetched_at, when);
        snprintf(size, sizeof(size), "%lld", (long long)items[i].size);
        snprintf(att, sizeof(att), "%d", items[i].attachments);
        const char *row[] = {id,
                             acc,
                             when,
                             items[i].date,
                             items[i].from,
                             items[i].to,
                             items[i].subject,
                             size,
                             att,
                             mr_message_status_name(items[i].status)};
        fwrite(out.data, 1, out.len, stdout);
        mr_buf_reset(&out);
        mr_csv_row(&out, row, 10);
    }
    fwrite(out.data, 1, out.len, stdout);
    mr_buf_free(&out);
}

/* The options inbox list and inbox skipped share; opens the store and
 * resolves --account. Returns -1 when done (help shown) with *rc set. */
struct list_args {
    enum mr_format format;
    int64_t account;
    long long page;
    const char *status;
};

static int list_options(struct mr_cli *cli, int argc, char **argv, const char *usage,
                        struct list_args *a, int *rc)
{
    static const struct option opts[] = {{"account", required_argument, NULL, 'a'},
                                         {"page", required_argument, NULL, 'p'},
                                         {"status", required_argument, NULL, 's'},
                                         MR_CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    const char *account = NULL;
    int c, done = 0;
    *a = (struct list_args){MR_FORMAT_TABLE, 0, 1, NULL};
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        *rc = 0;
        if (c == 'a')
            account = optarg;
        else if (c == 's' && usage != list_usage)
            *rc = mr_cli_usage(cli, "--status is for inbox list");
        else if (c == 's' && strcmp(optarg, "stored") != 0 && strcmp(optarg, "parse_failed") != 0 &&
                 strcmp(optarg, "size_mismatch") != 0)
            *rc = mr_cli_bad_value(
                cli, "status", "expected stored, parse_failed or size_mismatch, got '%s'", optarg);
        else if (c == 's')
            a->status = optarg;
        else if (c == 'p' && mr_parse_int(optarg, 1, 1000000000, &a->page) != 0)
            *rc = mr_cli_bad_value(cli, "page", "expected a page number from 1, got '%s'", optarg);
        else if (c != 'p') {
            *rc = mr_cli_common_option(cli, c, usage, &a->format, &done);
            if (done)
                return -1;
        }
        if (*rc)
            return -1;
    }
    if ((*rc = mr_cli_open(cli)) ||
        (account && (*rc = mr_cli_resolve(cli, MR_OBJ_ACCOUNT, account, &a->account))))
        return -1;
    return 0;
}

static int cmd_list(struct mr_cli *cli, int argc, char **argv)
{
    struct list_args a;
    int rc;
    if (list_options(cli, argc, argv, list_usage, &a, &rc))
        return rc;
    enum mr_format format = a.format;
    long long page = a.page;
    int64_t id = a.account;
    struct mr_message *items;
    size_t n, total;
    mr_error err = {0};
    int all = format == MR_FORMAT_CSV;
    size_t offset = all ? 0 : (size_t)(page - 1) * MR_REPORT_PAGE_SIZE;
    int mismatch = a.status && strcmp(a.status, "size_mismatch") == 0;
    struct mr_message_filter filter = {
        .account = id, .status = mismatch ? NULL : a.status, .size_mismatch = mismatch};
    if (mr_store_message_list(cli->reg.store, &filter, offset, all ? 0 : MR_REPORT_PAGE_SIZE,
                              &items, &n, &total, &err))
        return mr_cli_fail(cli, &err);
    size_t pages = total ? (total + MR_REPORT_PAGE_SIZE - 1) / MR_REPORT_PAGE_SIZE : 1;
    if (format == MR_FORMAT_JSON) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, message_json(&items[i], 0));
        mr_cli_print_json(json_pack("{s:I, s:I, s:I, s:o}", "page", (json_int_t)page, "pages",
                                    (json_int_t)pages, "total", (json_int_t)total, "messages",
                                    arr));
    } else if (all)
        list_csv(items, n);
    else {
        list_table(items, n);
        printf("page %lld of %zu, %zu message%s\n", page, pages, total, total == 1 ? "" : "s");
    }
    mr_message_list_free(&items, n);
    return 0;
}

static int parse_message_ref(struct mr_cli *cli, const char *text, int64_t *id)
{
    long long v;
    if (mr_parse_int(text, 1, INT64_MAX, &v) != 0)
        return mr_cli_bad_value(cli, "message", "expected a message ID, got '%s'", text);
    *id = v;
    return 0;
}

static int print_raw(struct mr_cli *cli, int64_t id)
{
    struct mr_buf raw;
    mr_error err = {0};
    mr_buf_init(&raw, RAW_MAX);
    int rc = mr_store_message_raw(cli->reg.store, id, &raw, &err);
    if (rc == 0 && raw.len && fwrite(raw.data, 1, raw.len, stdout) != raw.len)
        rc = mr_error_set(&err, MR_EIO, "", "writing the message failed");
    mr_buf_free(&raw);
    return rc ? mr_cli_fail(cli, &err) : 0;
}

static void print_message(const struct mr_message *m, const struct mr_attachment *att, size_t n)
{
    char when[32], size[160];
    mr_format_time(m->fetched_at, when);
    if (m->size_mismatch)
        snprintf(size, sizeof(size),
                 "%lld bytes, where the server's LIST said %llu: stored as received, left on "
                 "the server",
                 (long long)m->size, (unsigned long long)m->listed_size);
    else
        snprintf(size, sizeof(size), "%lld bytes", (long long)m->size);
    mr_cli_print_field("Received", when, 10);
    mr_cli_print_field("Date", m->date, 10);
    mr_cli_print_field("From", m->from, 10);
    mr_cli_print_field("To", m->to, 10);
    if (m->cc)
        mr_cli_print_field("Cc", m->cc, 10);
    mr_cli_print_field("Subject", m->subject, 10);
    mr_cli_print_field("Size", size, 10);
    if (m->status == MR_MSG_PARSE_FAILED)
        mr_cli_print_field("Status", "not parsed as MIME: stored raw (see --raw)", 10);
    for (size_t i = 0; i < n; i++) {
        printf("Attachment %d: %s (%s, %lld bytes", att[i].position,
               att[i].filename ? att[i].filename : "(no name)", att[i].content_type,
               (long long)att[i].size);
        if (att[i].parent)
            printf(", inside attachment %d", att[i].parent);
        printf(")\n");
    }
    printf("\n%s\n", m->body_text ? m->body_text : "");
}

static const char show_usage[] = "inbox show MSG [--raw] [--format json]\n"
                                 "\n"
                                 "--raw writes the message exactly as the server sent it (.eml).";

static int cmd_show(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"raw", no_argument, NULL, 'r'}, MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    enum mr_format format = MR_FORMAT_TEXT;
    int c, rc, done = 0, raw = 0;
    int64_t id = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'r') {
            raw = 1;
            continue;
        }
        rc = mr_cli_common_option(cli, c, show_usage, &format, &done);
        if (done)
            return rc;
    }
    if (argc - optind != 1)
        return mr_cli_usage(cli, "expected one message ID");
    if ((rc = parse_message_ref(cli, argv[optind], &id)) || (rc = mr_cli_open(cli)))
        return rc;
    if (raw)
        return print_raw(cli, id);
    struct mr_message m;
    struct mr_attachment *att = NULL;
    size_t n = 0;
    mr_error err = {0};
    if (mr_store_message_get(cli->reg.store, id, &m, &err) ||
        mr_store_message_attachments(cli->reg.store, id, &att, &n, &err))
        return mr_cli_fail(cli, &err);
    if (format == MR_FORMAT_JSON) {
        json_t *o = message_json(&m, 1), *arr = mr_view_attachments(att, n);
        json_object_set_new(o, "attachment_list", arr);
        mr_cli_print_json(o);
    } else
        print_message(&m, att, n);
    mr_attachments_free(&att, n);
    mr_message_clear(&m);
    return 0;
}

static const char attachment_usage[] =
    "inbox attachment MSG N > FILE\n"
    "\n"
    "Writes attachment N (as numbered by 'inbox show') decoded to standard output.";

static int cmd_attachment(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    enum mr_format format = MR_FORMAT_TEXT;
    int c, rc, done = 0;
    int64_t id = 0;
    long long pos;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        rc = mr_cli_common_option(cli, c, attachment_usage, &format, &done);
        if (done)
            return rc;
    }
    if (argc - optind != 2)
        return mr_cli_usage(cli, "expected a message ID and an attachment number");
    if ((rc = parse_message_ref(cli, argv[optind], &id)))
        return rc;
    if (mr_parse_int(argv[optind + 1], 1, MR_ATTACHMENT_POSITION_MAX, &pos) != 0)
        return mr_cli_bad_value(cli, "attachment", "expected a number from 1 to %d, got '%s'",
                                MR_ATTACHMENT_POSITION_MAX, argv[optind + 1]);
    if ((rc = mr_cli_open(cli)))
        return rc;
    struct mr_buf raw, out;
    mr_error err = {0};
    mr_buf_init(&raw, RAW_MAX);
    mr_buf_init(&out, RAW_MAX);
    rc = mr_store_message_raw(cli->reg.store, id, &raw, &err);
    if (rc == 0)
        rc = mr_mime_attachment(raw.data ? raw.data : "", raw.len, (int)pos, &out, &err);
    if (rc == 0 && out.len && fwrite(out.data, 1, out.len, stdout) != out.len)
        rc = mr_error_set(&err, MR_EIO, "", "writing the attachment failed");
    mr_buf_free(&raw);
    mr_buf_free(&out);
    return rc ? mr_cli_fail(cli, &err) : 0;
}

static int cmd_skipped(struct mr_cli *cli, int argc, char **argv)
{
    struct list_args a;
    int rc;
    if (list_options(cli, argc, argv, skipped_usage, &a, &rc))
        return rc;
    enum mr_format format = a.format;
    long long page = a.page;
    int64_t id = a.account;
    struct mr_skipped *items;
    size_t n, total;
    mr_error err = {0};
    if (mr_store_skipped_list(cli->reg.store, id, (size_t)(page - 1) * MR_REPORT_PAGE_SIZE,
                              MR_REPORT_PAGE_SIZE, &items, &n, &total, &err))
        return mr_cli_fail(cli, &err);
    size_t pages = total ? (total + MR_REPORT_PAGE_SIZE - 1) / MR_REPORT_PAGE_SIZE : 1;
    if (format == MR_FORMAT_JSON) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, mr_view_skipped(&items[i]));
        mr_cli_print_json(json_pack("{s:I, s:I, s:I, s:o}", "page", (json_int_t)page, "pages",
                                    (json_int_t)pages, "total", (json_int_t)total, "skipped", arr));
    } else {
        static const char *const header[] = {"Seen", "Account", "On the server as", "Size", "Why"};
        struct mr_cli_table t;
        mr_cli_table_init(&t, header, 5);
        for (size_t i = 0; i < n; i++) {
            char when[32], acc[24], where[96], size[24];
            mr_format_time(items[i].seen_at, when);
            snprintf(acc, sizeof(acc), "%lld", (long long)items[i].account_id);
            if (items[i].uid)
                snprintf(where, sizeof(where), "UID %lld", (long long)items[i].uid);
            else
                snprintf(where, sizeof(where), "UIDL %.80s", items[i].uidl ? items[i].uidl : "?");
            snprintf(size, sizeof(size), "%lld", (long long)items[i].size);
            const char *row[] = {when, acc, where, size, items[i].reason};
            mr_cli_table_add(&t, row);
        }
        mr_cli_table_print(&t);
        mr_cli_table_free(&t);
        printf("page %lld of %zu, %zu skipped\n", page, pages, total);
    }
    mr_skipped_list_free(&items, n);
    return 0;
}

int mr_cli_inbox(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"list", cmd_list, list_usage},
        {"show", cmd_show, show_usage},
        {"attachment", cmd_attachment, attachment_usage},
        {"skipped", cmd_skipped, skipped_usage},
        {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "inbox", cmds, argc, argv);
}
