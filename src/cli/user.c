/* mailroom user add|passwd|role|rm|list, mailroom token create|list|revoke */
#include "cli/cli.h"

#include "registry/users.h"
#include "report/views.h"
#include "util/text.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

enum {
    OPT_NAME = 0x300,
    OPT_ROLE,
    OPT_STDIN,
    OPT_ENV,
    OPT_USER,
    OPT_EXPIRES,
    OPT_READ_ONLY,
    OPT_REVOKE
};

struct user_args {
    const char *name, *role, *env_var, *user, *expires;
    int from_stdin, read_only, revoke_tokens;
    enum mr_format format;
};

static int parse(struct mr_cli *cli, int argc, char **argv, const char *usage, struct user_args *a,
                 int *done)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"role", required_argument, NULL, OPT_ROLE},
        {"password-stdin", no_argument, NULL, OPT_STDIN},
        {"password-env", required_argument, NULL, OPT_ENV},
        {"user", required_argument, NULL, OPT_USER},
        {"expires", required_argument, NULL, OPT_EXPIRES},
        {"read-only", no_argument, NULL, OPT_READ_ONLY},
        {"revoke-tokens", no_argument, NULL, OPT_REVOKE},
        MR_CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int c, rc;
    memset(a, 0, sizeof(*a));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == OPT_NAME)
            a->name = optarg;
        else if (c == OPT_ROLE)
            a->role = optarg;
        else if (c == OPT_STDIN)
            a->from_stdin = 1;
        else if (c == OPT_ENV)
            a->env_var = optarg;
        else if (c == OPT_USER)
            a->user = optarg;
        else if (c == OPT_EXPIRES)
            a->expires = optarg;
        else if (c == OPT_READ_ONLY)
            a->read_only = 1;
        else if (c == OPT_REVOKE)
            a->revoke_tokens = 1;
        else {
            rc = mr_cli_common_option(cli, c, usage, &a->format, done);
            if (*done)
                return rc;
        }
    }
    return 0;
}

static int role_of(struct mr_cli *cli, const char *text, enum mr_role *role)
{
    if (!text)
        return mr_cli_usage(cli, "--role admin|viewer is required");
    if (mr_role_parse(text, role) != 0)
        return mr_cli_bad_value(cli, "role", "expected admin or viewer, got '%s'", text);
    return 0;
}

/* Reads the password the way credentials do: stdin or an environment variable. */
static int password_of(struct mr_cli *cli, const struct user_args *a, struct mr_buf *pw)
{
    if (!a->from_stdin && !a->env_var)
        return mr_cli_usage(cli, "a password is required: --password-stdin or --password-env VAR");
    return mr_cli_read_secret(cli, a->env_var, pw);
}

static void wipe(struct mr_buf *b)
{
    if (b->data)
        sodium_memzero(b->data, b->cap);
    mr_buf_free(b);
}

static const char add_usage[] =
    "user add --name N --role admin|viewer (--password-stdin | --password-env VAR)\n"
    "\n"
    "admin may do everything; viewer reads reports and the inbox and changes nothing.";

static int cmd_add(struct mr_cli *cli, int argc, char **argv)
{
    struct user_args a;
    struct mr_buf pw;
    struct mr_problems p = {0};
    mr_error err = {0};
    enum mr_role role;
    int64_t id;
    int done = 0;
    int rc = parse(cli, argc, argv, add_usage, &a, &done);
    if (done || rc || (rc = role_of(cli, a.role, &role)) || (rc = mr_cli_open(cli)))
        return rc;
    mr_buf_init(&pw, 1024);
    if ((rc = password_of(cli, &a, &pw)) == 0) {
        rc = mr_registry_user_add(&cli->reg, a.name ? a.name : "", role, pw.data ? pw.data : "",
                                  pw.len, &id, &p, &err);
        rc = rc ? mr_cli_fail_write(cli, rc, &p, &err) : 0;
    }
    wipe(&pw);
    if (rc == 0)
        printf("user %lld '%s' added (%s)\n", (long long)id, a.name, mr_role_name(role));
    return rc;
}

static int resolve_user(struct mr_cli *cli, int argc, char **argv, int64_t *id)
{
    const char *ref = NULL;
    int rc = mr_cli_one_ref(cli, argc, argv, &ref);
    return rc ? rc : mr_cli_resolve(cli, MR_OBJ_USER, ref, id);
}

static const char passwd_usage[] =
    "user passwd NAME (--password-stdin | --password-env VAR) [--revoke-tokens]\n"
    "\n"
    "Sets a new password; the user's console sessions end. --revoke-tokens also\n"
    "revokes the user's API tokens (do it when the old password may have leaked:\n"
    "the tokens may have too); without it they keep working, and a line says so.";

static int cmd_passwd(struct mr_cli *cli, int argc, char **argv)
{
    struct user_args a;
    struct mr_buf pw;
    struct mr_problems p = {0};
    mr_error err = {0};
    int64_t id;
    int done = 0;
    int rc = parse(cli, argc, argv, passwd_usage, &a, &done);
    if (done || rc || (rc = resolve_user(cli, argc, argv, &id)))
        return rc;
    mr_buf_init(&pw, 1024);
    if ((rc = password_of(cli, &a, &pw)) == 0) {
        rc = mr_registry_user_edit(&cli->reg, id, MR_ROLE_NONE, pw.data ? pw.data : "", pw.len, &p,
                                   &err);
        rc = rc ? mr_cli_fail_write(cli, rc, &p, &err) : 0;
    }
    wipe(&pw);
    if (rc == 0)
        printf("password changed for user %lld\n", (long long)id);
    size_t n = 0;
    if (rc == 0 && a.revoke_tokens) {
        if (mr_registry_tokens_revoke_user(&cli->reg, id, &n, &err))
            return mr_cli_fail(cli, &err);
        printf("%zu API token%s revoked\n", n, n == 1 ? "" : "s");
    } else if (rc == 0) {
        struct mr_token *tokens = NULL;
        if (mr_store_token_list(cli->reg.store, id, &tokens, &n, &err) == 0 && n)
            fprintf(stderr,
                    "mailroom: user %lld still has %zu API token%s, which keep working; revoke "
                    "them with --revoke-tokens or 'mailroom token revoke ID' "
                    "('mailroom token list --user %lld')\n",
                    (long long)id, n, n == 1 ? "" : "s", (long long)id);
        mr_token_list_free(&tokens, n);
    }
    return rc;
}

static const char role_usage[] = "user role NAME admin|viewer";

static int cmd_role(struct mr_cli *cli, int argc, char **argv)
{
    struct user_args a;
    struct mr_problems p = {0};
    mr_error err = {0};
    enum mr_role role;
    int64_t id;
    int done = 0;
    int rc = parse(cli, argc, argv, role_usage, &a, &done);
    if (done || rc)
        return rc;
    if (argc - optind != 2)
        return mr_cli_usage(cli, "expected a user and a role");
    if ((rc = role_of(cli, argv[optind + 1], &role)) ||
        (rc = mr_cli_resolve(cli, MR_OBJ_USER, argv[optind], &id)))
        return rc;
    if (mr_registry_user_edit(&cli->reg, id, role, NULL, 0, &p, &err) != 0)
        return mr_cli_fail_write(cli, MR_EINVAL, &p, &err);
    printf("user %lld is now %s\n", (long long)id, mr_role_name(role));
    return 0;
}

static const char rm_usage[] = "user rm NAME";

static int remove_user(struct mr_registry *r, int64_t id, mr_error *err)
{
    return mr_registry_user_remove(r, id, err);
}

static int cmd_rm(struct mr_cli *cli, int argc, char **argv)
{
    return mr_cli_remove(cli, argc, argv, rm_usage, MR_OBJ_USER, remove_user);
}

static const char list_usage[] = "user list [--format table|json]";

static int cmd_list(struct mr_cli *cli, int argc, char **argv)
{
    static const char *const header[] = {"ID", "Name", "Role", "Created"};
    struct user_args a;
    struct mr_user *items;
    size_t n;
    mr_error err = {0};
    int done = 0;
    int rc = parse(cli, argc, argv, list_usage, &a, &done);
    if (done || rc || (rc = mr_cli_open(cli)))
        return rc;
    if (mr_store_user_list(cli->reg.store, &items, &n, &err))
        return mr_cli_fail(cli, &err);
    struct mr_cli_table t;
    json_t *arr = json_array();
    mr_cli_table_init(&t, header, 4);
    for (size_t i = 0; i < n; i++) {
        char id[24], created[32];
        snprintf(id, sizeof(id), "%lld", (long long)items[i].id);
        mr_format_time(items[i].created_at, created);
        const char *row[] = {id, items[i].name, mr_role_name(items[i].role), created};
        mr_cli_table_add(&t, row);
        json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)items[i].id,
                                             "name", items[i].name, "role",
                                             mr_role_name(items[i].role), "created_at", created));
    }
    if (a.format == MR_FORMAT_JSON)
        mr_cli_print_json(json_pack("{s:o}", "users", arr));
    else {
        json_decref(arr);
        mr_cli_table_print(&t);
    }
    mr_cli_table_free(&t);
    mr_user_list_free(&items, n);
    return 0;
}

int mr_cli_user(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"add", cmd_add, add_usage},    {"passwd", cmd_passwd, passwd_usage},
        {"role", cmd_role, role_usage}, {"rm", cmd_rm, rm_usage},
        {"list", cmd_list, list_usage}, {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "user", cmds, argc, argv);
}

static const char token_create_usage[] =
    "token create --user NAME [--name LABEL] [--expires DAYS] [--read-only]\n"
    "\n"
    "Prints a new API token for the user, once: send it as 'Authorization: Bearer\n"
    "TOKEN'. It acts with the user's role; --read-only lets it read and change\n"
    "nothing, whatever the role. --expires DAYS (1-3650) ends it that many days\n"
    "from now; without it, it lasts until revoked. Removing the user revokes it.";

static int cmd_token_create(struct mr_cli *cli, int argc, char **argv)
{
    struct user_args a;
    struct mr_problems p = {0};
    struct mr_token t = {0};
    char token[MR_SECRET_TOKEN_LEN + 1];
    mr_error err = {0};
    long long days = 0;
    int done = 0;
    int rc = parse(cli, argc, argv, token_create_usage, &a, &done);
    if (done || rc)
        return rc;
    if (!a.user)
        return mr_cli_usage(cli, "--user NAME is required");
    if (a.expires && mr_parse_int(a.expires, 1, MR_TOKEN_EXPIRES_DAYS, &days) != 0)
        return mr_cli_bad_value(cli, "expires", "expected a number of days from 1 to %d, got '%s'",
                                MR_TOKEN_EXPIRES_DAYS, a.expires);
    if ((rc = mr_cli_resolve(cli, MR_OBJ_USER, a.user, &t.user_id)))
        return rc;
    t.name = (char *)(a.name ? a.name : "api");
    t.read_only = a.read_only;
    if ((rc = mr_registry_token_create(&cli->reg, &t, (int)days, token, &p, &err)))
        return mr_cli_fail_write(cli, rc, &p, &err);
    printf("%s\n", token);
    fprintf(stderr, "mailroom: token %lld for %s created (%s%s%s); it is not shown again\n",
            (long long)t.id, a.user, t.read_only ? "read-only" : "read-write",
            days ? ", expires in " : "", days ? a.expires : "");
    sodium_memzero(token, sizeof(token));
    return 0;
}

static const char token_list_usage[] =
    "token list [--user NAME] [--format table|json]\n"
    "\n"
    "Every API token (or one user's): its ID, user, label, scope, when it was\n"
    "created, when it expires and when it was last used (to the minute). The\n"
    "tokens themselves are not stored, only their SHA-256, so none is shown.";

static const char *time_or_never(int64_t t, char out[32], const char *never)
{
    if (!t)
        return never;
    mr_format_time(t, out);
    return out;
}

static int cmd_token_list(struct mr_cli *cli, int argc, char **argv)
{
    static const char *const header[] = {"ID",      "User",    "Name",     "Scope",
                                         "Created", "Expires", "Last used"};
    struct user_args a;
    struct mr_token *items;
    size_t n;
    int64_t user = 0;
    mr_error err = {0};
    int done = 0;
    int rc = parse(cli, argc, argv, token_list_usage, &a, &done);
    if (done || rc)
        return rc;
    if (a.user && (rc = mr_cli_resolve(cli, MR_OBJ_USER, a.user, &user)))
        return rc;
    if ((rc = mr_cli_open(cli)))
        return rc;
    if (mr_store_token_list(cli->reg.store, user, &items, &n, &err))
        return mr_cli_fail(cli, &err);
    struct mr_cli_table t;
    json_t *arr = json_array();
    mr_cli_table_init(&t, header, 7);
    for (size_t i = 0; i < n; i++) {
        const struct mr_token *k = &items[i];
        char id[24], created[32], expires[32], used[32];
        const char *scope = k->read_only ? "read-only" : "read-write";
        snprintf(id, sizeof(id), "%lld", (long long)k->id);
        const char *row[] = {id,
                             k->user_name,
                             k->name,
                             scope,
                             time_or_never(k->created_at, created, ""),
                             time_or_never(k->expires_at, expires, "never"),
                             time_or_never(k->last_used_at, used, "never")};
        mr_cli_table_add(&t, row);
        json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s?, s:s?}", "id",
                                             (json_int_t)k->id, "user", k->user_name, "name",
                                             k->name, "scope", scope, "created_at", created,
                                             "expires_at", k->expires_at ? expires : NULL,
                                             "last_used_at", k->last_used_at ? used : NULL));
    }
    if (a.format == MR_FORMAT_JSON)
        mr_cli_print_json(json_pack("{s:o}", "tokens", arr));
    else {
        json_decref(arr);
        mr_cli_table_print(&t);
    }
    mr_cli_table_free(&t);
    mr_token_list_free(&items, n);
    return 0;
}

static const char token_revoke_usage[] = "token revoke ID\n"
                                         "\n"
                                         "Revokes an API token: its next request is refused.";

static int revoke_token(struct mr_registry *r, int64_t id, mr_error *err)
{
    return mr_registry_token_revoke(r, id, err);
}

static int cmd_token_revoke(struct mr_cli *cli, int argc, char **argv)
{
    struct user_args a;
    const char *ref = NULL;
    long long id;
    mr_error err = {0};
    int done = 0;
    int rc = parse(cli, argc, argv, token_revoke_usage, &a, &done);
    if (done || rc || (rc = mr_cli_one_ref(cli, argc, argv, &ref)))
        return rc;
    if (mr_parse_int(ref, 1, INT64_MAX, &id) != 0)
        return mr_cli_usage(cli, "expected a token's ID (see 'mailroom token list'), got '%s'",
                            ref);
    if ((rc = mr_cli_open(cli)))
        return rc;
    if (revoke_token(&cli->reg, id, &err))
        return mr_cli_fail(cli, &err);
    printf("API token %lld revoked\n", id);
    return 0;
}

int mr_cli_token(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"create", cmd_token_create, token_create_usage},
        {"list", cmd_token_list, token_list_usage},
        {"revoke", cmd_token_revoke, token_revoke_usage},
        {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "token", cmds, argc, argv);
}
