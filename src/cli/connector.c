/* mailroom connector add|edit|show|rm|list: network connectors (proxies). */
#include "cli/cli.h"

#include "report/views.h"

#include <stdio.h>
#include <string.h>

enum {
    OPT_NAME = 0x300,
    OPT_TYPE,
    OPT_ADDRESS,
    OPT_PORT,
    OPT_CREDENTIAL,
    OPT_RESOLVE,
    OPT_TLS,
    OPT_SKIP_CERT,
    OPT_CA_FILE
};

static const char *const field_keys[] = {"name",       "type",    "address", "port",
                                         "credential", "resolve", "tls",     "skip_certificate",
                                         "ca_file"};

static int parse_args(struct mr_cli *cli, int argc, char **argv, const char *usage,
                      struct mr_input *in, enum mr_format *format, int *done)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"type", required_argument, NULL, OPT_TYPE},
        {"address", required_argument, NULL, OPT_ADDRESS},
        {"port", required_argument, NULL, OPT_PORT},
        {"credential", required_argument, NULL, OPT_CREDENTIAL},
        {"resolve", required_argument, NULL, OPT_RESOLVE},
        {"tls", required_argument, NULL, OPT_TLS},
        {"skip-certificate", required_argument, NULL, OPT_SKIP_CERT},
        {"ca-file", required_argument, NULL, OPT_CA_FILE},
        MR_CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(in, 0, sizeof(*in));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c >= OPT_NAME && c <= OPT_CA_FILE) {
            mr_input_add(in, field_keys[c - OPT_NAME], optarg);
            continue;
        }
        int rc = mr_cli_common_option(cli, c, usage, format, done);
        if (*done)
            return rc;
    }
    return 0;
}

static const char *credential_name(struct mr_cli *cli, int64_t id, struct mr_credential *tmp)
{
    mr_credential_init(tmp);
    if (!id || mr_store_credential_get(cli->reg.store, id, tmp, NULL) != 0)
        return NULL;
    return tmp->name;
}

static void print_text(struct mr_cli *cli, const struct mr_connector *c, const char *cred)
{
    struct mr_buf users;
    char id[24], port[8], credtext[160], created[32], updated[32];
    mr_buf_init(&users, 4096);
    mr_store_users_of(cli->reg.store, MR_OBJ_CONNECTOR, c->id, &users, NULL);
    snprintf(id, sizeof(id), "%lld", (long long)c->id);
    snprintf(port, sizeof(port), "%d", c->port);
    snprintf(credtext, sizeof(credtext), "%s (ID %lld)", cred ? cred : "",
             (long long)c->credential_id);
    mr_format_time(c->created_at, created);
    mr_format_time(c->updated_at, updated);
    mr_cli_print_field("ID", id, 10);
    mr_cli_print_field("Name", c->name, 10);
    mr_cli_print_field("Type", mr_connector_type_name(c->type), 10);
    mr_cli_print_field("Address", c->address, 10);
    mr_cli_print_field("Port", port, 10);
    mr_cli_print_field("Credential", c->credential_id ? credtext : "none", 10);
    if (c->type == MR_CONNECTOR_SOCKS5)
        mr_cli_print_field("Resolve", c->resolve_local ? "local (by mailroom)" : "by the proxy",
                           10);
    else {
        mr_cli_print_field("TLS", c->tls ? "yes" : "no", 10);
        if (c->tls) {
            mr_cli_print_field("Skip cert", c->skip_certificate ? "yes" : "no", 10);
            mr_cli_print_field("CA file", c->ca_file ? c->ca_file : "none", 10);
        }
    }
    mr_cli_print_field("Used by", users.len ? users.data : "nothing", 10);
    mr_cli_print_field("Created", created, 10);
    mr_cli_print_field("Updated", updated, 10);
    mr_buf_free(&users);
}

static int show_by_id(struct mr_cli *cli, int64_t id, enum mr_format format, const char *verb)
{
    struct mr_connector c;
    struct mr_credential cred;
    mr_error err = {0};
    if (mr_store_connector_get(cli->reg.store, id, &c, &err) != 0)
        return mr_cli_fail(cli, &err);
    const char *cname = credential_name(cli, c.credential_id, &cred);
    int64_t default_id = 0;
    mr_store_default_connector(cli->reg.store, &default_id, NULL);
    if (format == MR_FORMAT_JSON)
        mr_cli_print_json(mr_view_connector_in_store(cli->reg.store, &c, default_id, NULL));
    else if (verb)
        printf("network connector %lld '%s' %s\n", (long long)c.id, c.name, verb);
    else
        print_text(cli, &c, cname);
    mr_credential_clear(&cred);
    mr_connector_clear(&c);
    return 0;
}

static const char add_usage[] =
    "connector add --name N --type socks5|http --address H --port P [--credential ID|NAME]\n"
    "       [--resolve proxy|local] [--tls yes|no] [--skip-certificate yes|no]\n"
    "       [--ca-file PATH] [--format json]\n"
    "\n"
    "A proxy that accounts can reach their mail server through. SOCKS5 (RFC 1928)\n"
    "with no authentication, or username/password from --credential (RFC 1929);\n"
    "--resolve: who resolves the mail server's name, the proxy (default: internal\n"
    "names work) or mailroom. HTTP CONNECT with Basic authentication from\n"
    "--credential; --tls yes speaks TLS to the proxy itself (its certificate is\n"
    "checked unless --skip-certificate yes; --ca-file adds trusted CAs).";

static int cmd_add(struct mr_cli *cli, int argc, char **argv)
{
    struct mr_input in;
    struct mr_problems p = {0};
    enum mr_format format = MR_FORMAT_TEXT;
    mr_error err = {0};
    int64_t id = 0;
    int done = 0;
    int rc = parse_args(cli, argc, argv, add_usage, &in, &format, &done);
    if (done || rc)
        return rc;
    if (optind < argc)
        return mr_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if ((rc = mr_cli_open(cli)))
        return rc;
    rc = mr_registry_connector_add(&cli->reg, &in, &id, &p, &err);
    if (rc)
        return mr_cli_fail_write(cli, rc, &p, &err);
    return show_by_id(cli, id, format, "added");
}

static const char edit_usage[] =
    "connector edit ID|NAME [--name N] [--type socks5|http] [--address H] [--port P]\n"
    "       [--credential ID|NAME|''] [--resolve proxy|local] [--tls yes|no]\n"
    "       [--skip-certificate yes|no] [--ca-file PATH|''] [--format json]";

static int cmd_edit(struct mr_cli *cli, int argc, char **argv)
{
    struct mr_input in;
    struct mr_problems p = {0};
    enum mr_format format = MR_FORMAT_TEXT;
    mr_error err = {0};
    const char *ref;
    int64_t id;
    int done = 0;
    int rc = parse_args(cli, argc, argv, edit_usage, &in, &format, &done);
    if (done || rc)
        return rc;
    if ((rc = mr_cli_one_ref(cli, argc, argv, &ref)))
        return rc;
    if (in.count == 0)
        return mr_cli_usage(cli, "nothing to change: give at least one field flag");
    if ((rc = mr_cli_resolve(cli, MR_OBJ_CONNECTOR, ref, &id)))
        return rc;
    rc = mr_registry_connector_edit(&cli->reg, id, &in, &p, &err);
    if (rc)
        return mr_cli_fail_write(cli, rc, &p, &err);
    return show_by_id(cli, id, format, "updated");
}

static const char show_usage[] = "connector show ID|NAME [--format json]";

static int cmd_show(struct mr_cli *cli, int argc, char **argv)
{
    enum mr_format format = MR_FORMAT_TEXT;
    int64_t id;
    int done = 0;
    int rc = mr_cli_ref_command(cli, argc, argv, show_usage, MR_OBJ_CONNECTOR, &format, &id, &done);
    return done || rc ? rc : show_by_id(cli, id, format, NULL);
}

static const char rm_usage[] = "connector rm ID|NAME";

static int cmd_rm(struct mr_cli *cli, int argc, char **argv)
{
    return mr_cli_remove(cli, argc, argv, rm_usage, MR_OBJ_CONNECTOR, mr_registry_connector_remove);
}

static const char list_usage[] = "connector list [--format table|json]";

static void add_row(struct mr_cli *cli, struct mr_cli_table *t, json_t *arr,
                    const struct mr_connector *c, int64_t default_id)
{
    char id[24], port[8];
    struct mr_buf used;
    mr_buf_init(&used, 4096);
    json_t *j = mr_view_connector_in_store(cli->reg.store, c, default_id, &used);
    json_t *cred = json_object_get(j, "credential");
    snprintf(id, sizeof(id), "%lld", (long long)c->id);
    snprintf(port, sizeof(port), "%d", c->port);
    const char *row[] = {id,
                         c->name,
                         mr_connector_type_name(c->type),
                         c->address,
                         port,
                         cred ? json_string_value(json_object_get(cred, "name")) : "",
                         c->id == default_id ? "yes" : "no",
                         used.len ? used.data : ""};
    if (!row[5])
        row[5] = "";
    mr_cli_table_add(t, row);
    json_array_append_new(arr, j);
    mr_buf_free(&used);
}

static int cmd_list(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    static const char *const header[] = {"ID",   "Name",       "Type",    "Address",
                                         "Port", "Credential", "Default", "Used by"};
    enum mr_format format = MR_FORMAT_TABLE;
    struct mr_connector *items;
    size_t n;
    int64_t default_id = 0;
    mr_error err = {0};
    int c, rc, done = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        rc = mr_cli_common_option(cli, c, list_usage, &format, &done);
        if (done)
            return rc;
    }
    if ((rc = mr_cli_open(cli)))
        return rc;
    if (mr_store_connector_list(cli->reg.store, &items, &n, &err) ||
        mr_store_default_connector(cli->reg.store, &default_id, &err))
        return mr_cli_fail(cli, &err);
    json_t *arr = json_array();
    struct mr_cli_table t;
    mr_cli_table_init(&t, header, 8);
    for (size_t i = 0; i < n; i++)
        add_row(cli, &t, arr, &items[i], default_id);
    if (format == MR_FORMAT_JSON)
        mr_cli_print_json(json_pack("{s:o}", "connectors", arr));
    else {
        json_decref(arr);
        mr_cli_table_print(&t);
    }
    mr_cli_table_free(&t);
    mr_connector_list_free(&items, n);
    return 0;
}

int mr_cli_connector(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"add", cmd_add, add_usage},
        {"edit", cmd_edit, edit_usage},
        {"show", cmd_show, show_usage},
        {"rm", cmd_rm, rm_usage},
        {"list", cmd_list, list_usage},
        {"test", mr_cli_connector_test, mr_cli_connector_test_usage},
        {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "connector", cmds, argc, argv);
}
