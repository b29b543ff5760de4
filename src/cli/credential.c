/* mailroom credential add|edit|show|rm|list. Secrets come from stdin or an
 * environment variable, never from argv, and are never printed. */
#include "cli/cli.h"

#include "report/views.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

enum { OPT_NAME = 0x300, OPT_USERNAME, OPT_STDIN, OPT_ENV };

struct credential_args {
    struct mr_input in;
    int from_stdin;
    const char *env_var;
    enum mr_format format;
};

static int parse_args(struct mr_cli *cli, int argc, char **argv, const char *usage,
                      struct credential_args *a, int *done)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"username", required_argument, NULL, OPT_USERNAME},
        {"password-stdin", no_argument, NULL, OPT_STDIN},
        {"password-env", required_argument, NULL, OPT_ENV},
        MR_CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int c, rc;
    memset(a, 0, sizeof(*a));
    a->format = MR_FORMAT_TEXT;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == OPT_NAME || c == OPT_USERNAME)
            mr_input_add(&a->in, c == OPT_NAME ? "name" : "username", optarg);
        else if (c == OPT_STDIN)
            a->from_stdin = 1;
        else if (c == OPT_ENV)
            a->env_var = optarg;
        else {
            rc = mr_cli_common_option(cli, c, usage, &a->format, done);
            if (*done)
                return rc;
        }
    }
    if (a->from_stdin && a->env_var) {
        *done = 1;
        return mr_cli_usage(cli, "give the password one way: --password-stdin or --password-env");
    }
    return 0;
}

static void print_credential(struct mr_cli *cli, const struct mr_credential *c,
                             enum mr_format format)
{
    struct mr_buf users;
    char created[32], updated[32], id[24];
    if (format == MR_FORMAT_JSON) {
        mr_cli_print_json(mr_view_credential(c));
        return;
    }
    mr_buf_init(&users, 4096);
    mr_store_users_of(cli->reg.store, MR_OBJ_CREDENTIAL, c->id, &users, NULL);
    snprintf(id, sizeof(id), "%lld", (long long)c->id);
    mr_format_time(c->created_at, created);
    mr_format_time(c->updated_at, updated);
    mr_cli_print_field("ID", id, 10);
    mr_cli_print_field("Name", c->name, 10);
    mr_cli_print_field("Kind", mr_credential_kind_name(c->kind), 10);
    mr_cli_print_field("Username", c->username, 10);
    mr_cli_print_field("Secret", c->has_secret ? "set (write-only)" : "not set", 10);
    mr_cli_print_field("Used by", users.len ? users.data : "nothing", 10);
    mr_cli_print_field("Created", created, 10);
    mr_cli_print_field("Updated", updated, 10);
    mr_buf_free(&users);
}

static int show_by_id(struct mr_cli *cli, int64_t id, enum mr_format format, const char *verb)
{
    struct mr_credential c;
    mr_error err = {0};
    if (mr_store_credential_get(cli->reg.store, id, &c, &err) != 0)
        return mr_cli_fail(cli, &err);
    if (verb && format != MR_FORMAT_JSON)
        printf("credential %lld '%s' %s\n", (long long)c.id, c.name, verb);
    else
        print_credential(cli, &c, format);
    mr_credential_clear(&c);
    return 0;
}

/* Reads the secret, if one was asked for, and runs add (id == 0) or edit. */
static int save(struct mr_cli *cli, const struct credential_args *a, int64_t id)
{
    struct mr_buf secret;
    struct mr_problems p = {0};
    mr_error err = {0};
    int want_secret = a->from_stdin || a->env_var;
    const char *verb = !id                               ? "added"
                       : want_secret && a->in.count == 0 ? "password changed"
                                                         : "updated";
    int rc = 0;
    mr_buf_init(&secret, MR_SECRET_MAX);
    if (want_secret)
        rc = mr_cli_read_secret(cli, a->env_var, &secret);
    if (rc == 0) {
        const char *s = want_secret ? (secret.data ? secret.data : "") : NULL;
        rc = id ? mr_registry_credential_edit(&cli->reg, id, &a->in, s, secret.len, &p, &err)
                : mr_registry_credential_add(&cli->reg, &a->in, s, secret.len, &id, &p, &err);
        rc = rc ? mr_cli_fail_write(cli, rc, &p, &err) : 0;
    }
    if (secret.data)
        sodium_memzero(secret.data, secret.cap);
    mr_buf_free(&secret);
    return rc ? rc : show_by_id(cli, id, a->format, verb);
}

static const char add_usage[] =
    "credential add --name N --username U (--password-stdin | --password-env VAR)\n"
    "       [--format json]\n"
    "\n"
    "The password is read from standard input (to its end, one trailing newline\n"
    "dropped; at a terminal, one line without echo) or from the environment\n"
    "variable VAR. It is sealed in the vault and never shown again.";

static int cmd_add(struct mr_cli *cli, int argc, char **argv)
{
    struct credential_args a;
    int done = 0;
    int rc = parse_args(cli, argc, argv, add_usage, &a, &done);
    if (done || rc)
        return rc;
    if (optind < argc)
        return mr_cli_usage(cli,
                            "unexpected argument '%s' (passwords are never taken from "
                            "the command line: use --password-stdin or --password-env)",
                            argv[optind]);
    if (!a.from_stdin && !a.env_var)
        return mr_cli_usage(cli, "a password is required: --password-stdin or --password-env VAR");
    if ((rc = mr_cli_open(cli)))
        return rc;
    return save(cli, &a, 0);
}

static const char edit_usage[] = "credential edit ID|NAME [--name N] [--username U]\n"
                                 "       [--password-stdin | --password-env VAR] [--format json]";

static int cmd_edit(struct mr_cli *cli, int argc, char **argv)
{
    struct credential_args a;
    const char *ref;
    int64_t id;
    int done = 0;
    int rc = parse_args(cli, argc, argv, edit_usage, &a, &done);
    if (done || rc)
        return rc;
    if ((rc = mr_cli_one_ref(cli, argc, argv, &ref)))
        return rc;
    if (a.in.count == 0 && !a.from_stdin && !a.env_var)
        return mr_cli_usage(cli, "nothing to change: give --name, --username or a password");
    if ((rc = mr_cli_resolve(cli, MR_OBJ_CREDENTIAL, ref, &id)))
        return rc;
    return save(cli, &a, id);
}

static const char show_usage[] = "credential show ID|NAME [--format json]";

static int cmd_show(struct mr_cli *cli, int argc, char **argv)
{
    enum mr_format format = MR_FORMAT_TEXT;
    int64_t id;
    int done = 0;
    int rc =
        mr_cli_ref_command(cli, argc, argv, show_usage, MR_OBJ_CREDENTIAL, &format, &id, &done);
    return done || rc ? rc : show_by_id(cli, id, format, NULL);
}

static const char rm_usage[] = "credential rm ID|NAME";

static int cmd_rm(struct mr_cli *cli, int argc, char **argv)
{
    return mr_cli_remove(cli, argc, argv, rm_usage, MR_OBJ_CREDENTIAL,
                         mr_registry_credential_remove);
}

static const char list_usage[] = "credential list [--format table|json]";

static int cmd_list(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    static const char *const header[] = {"ID", "Name", "Kind", "Username"};
    enum mr_format format = MR_FORMAT_TABLE;
    struct mr_credential *items;
    size_t n;
    mr_error err = {0};
    int c, rc, done = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        rc = mr_cli_common_option(cli, c, list_usage, &format, &done);
        if (done)
            return rc;
    }
    if ((rc = mr_cli_open(cli)))
        return rc;
    if (mr_store_credential_list(cli->reg.store, &items, &n, &err))
        return mr_cli_fail(cli, &err);
    json_t *arr = json_array();
    struct mr_cli_table t;
    mr_cli_table_init(&t, header, 4);
    for (size_t i = 0; i < n; i++) {
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)items[i].id);
        const char *row[] = {id, items[i].name, mr_credential_kind_name(items[i].kind),
                             items[i].username};
        mr_cli_table_add(&t, row);
        json_array_append_new(arr, mr_view_credential(&items[i]));
    }
    if (format == MR_FORMAT_JSON)
        mr_cli_print_json(json_pack("{s:o}", "credentials", arr));
    else {
        json_decref(arr);
        mr_cli_table_print(&t);
    }
    mr_cli_table_free(&t);
    mr_credential_list_free(&items, n);
    return 0;
}

int mr_cli_credential(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"add", cmd_add, add_usage}, {"edit", cmd_edit, edit_usage}, {"show", cmd_show, show_usage},
        {"rm", cmd_rm, rm_usage},    {"list", cmd_list, list_usage}, {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "credential", cmds, argc, argv);
}
