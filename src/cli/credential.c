/* mailroom credential add|edit|show|rm|list. Secrets come from stdin or an
 * environment variable, never from argv, and are never printed. */
#include "cli/cli.h"

#include "oauth/oauth.h"
#include "report/views.h"
#include "util/text.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum {
    OPT_NAME = 0x300,
    OPT_USERNAME,
    OPT_STDIN,
    OPT_ENV,
    OPT_KIND,
    OPT_PROVIDER,
    OPT_FLOW,
    OPT_TENANT,
    OPT_CLIENT_ID,
    OPT_SCOPES,
    OPT_TOKEN_URL,
    OPT_DEVICE_URL,
    OPT_AUTHORIZE_URL,
    OPT_CS_STDIN,
    OPT_CS_ENV,
    OPT_RT_STDIN,
    OPT_RT_ENV,
    OPT_DEVICE,
};

/* A secret to read: from stdin, or from an environment variable. */
struct secret_source {
    int from_stdin;
    const char *env_var;
};

struct credential_args {
    struct mr_input in;
    struct secret_source password, client_secret, refresh_token;
    int device; /* add: sign in with a code right after */
    enum mr_format format;
};

static int stdin_users(const struct credential_args *a)
{
    return a->password.from_stdin + a->client_secret.from_stdin + a->refresh_token.from_stdin;
}

static int wants(const struct secret_source *s)
{
    return s->from_stdin || s->env_var;
}

static int parse_args(struct mr_cli *cli, int argc, char **argv, const char *usage,
                      struct credential_args *a, int *done)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"username", required_argument, NULL, OPT_USERNAME},
        {"password-stdin", no_argument, NULL, OPT_STDIN},
        {"password-env", required_argument, NULL, OPT_ENV},
        {"kind", required_argument, NULL, OPT_KIND},
        {"provider", required_argument, NULL, OPT_PROVIDER},
        {"flow", required_argument, NULL, OPT_FLOW},
        {"tenant", required_argument, NULL, OPT_TENANT},
        {"client-id", required_argument, NULL, OPT_CLIENT_ID},
        {"scopes", required_argument, NULL, OPT_SCOPES},
        {"token-url", required_argument, NULL, OPT_TOKEN_URL},
        {"device-url", required_argument, NULL, OPT_DEVICE_URL},
        {"authorize-url", required_argument, NULL, OPT_AUTHORIZE_URL},
        {"client-secret-stdin", no_argument, NULL, OPT_CS_STDIN},
        {"client-secret-env", required_argument, NULL, OPT_CS_ENV},
        {"refresh-token-stdin", no_argument, NULL, OPT_RT_STDIN},
        {"refresh-token-env", required_argument, NULL, OPT_RT_ENV},
        {"device", no_argument, NULL, OPT_DEVICE},
        MR_CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    /* the options that are fields, by their input key */
    static const char *const keys[] = {
        [OPT_NAME - OPT_NAME] = "name",
        [OPT_USERNAME - OPT_NAME] = "username",
        [OPT_KIND - OPT_NAME] = "kind",
        [OPT_PROVIDER - OPT_NAME] = "provider",
        [OPT_FLOW - OPT_NAME] = "flow",
        [OPT_TENANT - OPT_NAME] = "tenant",
        [OPT_CLIENT_ID - OPT_NAME] = "client_id",
        [OPT_SCOPES - OPT_NAME] = "scopes",
        [OPT_TOKEN_URL - OPT_NAME] = "token_url",
        [OPT_DEVICE_URL - OPT_NAME] = "device_url",
        [OPT_AUTHORIZE_URL - OPT_NAME] = "authorize_url",
    };
    int c, rc;
    memset(a, 0, sizeof(*a));
    a->format = MR_FORMAT_TEXT;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c >= OPT_NAME && c <= OPT_AUTHORIZE_URL && keys[c - OPT_NAME])
            mr_input_add(&a->in, keys[c - OPT_NAME], optarg);
        else if (c == OPT_STDIN || c == OPT_CS_STDIN || c == OPT_RT_STDIN)
            (c == OPT_STDIN      ? &a->password
             : c == OPT_CS_STDIN ? &a->client_secret
                                 : &a->refresh_token)
                ->from_stdin = 1;
        else if (c == OPT_DEVICE)
            a->device = 1;
        else if (c == OPT_ENV || c == OPT_CS_ENV || c == OPT_RT_ENV)
            (c == OPT_ENV      ? &a->password
             : c == OPT_CS_ENV ? &a->client_secret
                               : &a->refresh_token)
                ->env_var = optarg;
        else {
            rc = mr_cli_common_option(cli, c, usage, &a->format, done);
            if (*done)
                return rc;
        }
    }
    const struct secret_source *each[] = {&a->password, &a->client_secret, &a->refresh_token};
    for (int i = 0; i < 3; i++)
        if (each[i]->from_stdin && each[i]->env_var) {
            *done = 1;
            return mr_cli_usage(cli, "give each secret one way: from stdin or from a variable");
        }
    if (stdin_users(a) > 1) {
        *done = 1;
        return mr_cli_usage(cli, "only one secret can come from stdin: give the other with "
                                 "--client-secret-env or --refresh-token-env");
    }
    if (wants(&a->password) && (wants(&a->client_secret) || wants(&a->refresh_token))) {
        *done = 1;
        return mr_cli_usage(cli, "a password is for a password credential; oauth2 ones take "
                                 "--client-secret-* and --refresh-token-*");
    }
    return 0;
}

static void print_oauth(const struct mr_credential *c)
{
    char *scopes = mr_oauth_scopes(&c->oauth), *token_url = mr_oauth_token_url(&c->oauth);
    char expires[32] = "", refreshed[32] = "", state[600];
    mr_cli_print_field("Provider", mr_oauth_provider_name(c->oauth.provider), 10);
    mr_cli_print_field("Flow", mr_oauth_flow_name(c->oauth.flow), 10);
    if (c->oauth.provider == MR_OAUTH_MICROSOFT)
        mr_cli_print_field("Tenant", c->oauth.tenant ? c->oauth.tenant : "common", 10);
    mr_cli_print_field("Client ID", c->oauth.client_id, 10);
    mr_cli_print_field("Scopes", scopes, 10);
    mr_cli_print_field("Token URL", token_url, 10);
    snprintf(state, sizeof(state), "%s%s%s", mr_oauth_state_text(c->token_state),
             c->token_error && c->token_state && strcmp(c->token_state, MR_TOKEN_OK) != 0 ? " — "
                                                                                          : "",
             c->token_error && c->token_state && strcmp(c->token_state, MR_TOKEN_OK) != 0
                 ? c->token_error
                 : "");
    mr_cli_print_field("Token", state, 10);
    if (c->token_expires_at) {
        mr_format_time(c->token_expires_at, expires);
        mr_format_time(c->token_refreshed_at, refreshed);
        mr_cli_print_field("Expires", expires, 10);
        mr_cli_print_field("Refreshed", refreshed, 10);
    }
    const char *why;
    int64_t lapses = mr_oauth_lapses_at(c, &why);
    if (lapses) {
        char at[32], text[200];
        mr_format_time(lapses, at);
        snprintf(text, sizeof(text), "%s%s (%s)",
                 lapses - (int64_t)time(NULL) < 14 * 86400 ? "soon: sign in again by " : "", at,
                 why);
        mr_cli_print_field("Lapses", text, 10);
    }
    free(scopes);
    free(token_url);
}

/* Which secrets an oauth2 credential holds (their names, never them). */
static void print_oauth_secrets(struct mr_cli *cli, const struct mr_credential *c)
{
    struct mr_oauth_held held;
    mr_error err = {0};
    char text[160] = "";
    if (mr_registry_oauth_held(&cli->reg, c->id, &held, &err) == 0) {
        const int flags[] = {held.client_secret, held.refresh_token, held.access_token};
        static const char *const names[] = {"client secret", "refresh token", "access token"};
        for (int i = 0; i < 3; i++)
            if (flags[i])
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s",
                         *text ? ", " : "", names[i]);
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s",
                 *text ? " (write-only)" : "none yet");
    }
    mr_cli_print_field("Secrets", err.code ? err.message : text, 10);
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
    if (c->kind == MR_CREDENTIAL_OAUTH2) {
        print_oauth(c);
        print_oauth_secrets(cli, c);
    } else
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

/* oauth2: the secrets given, as the JSON object the registry merges into
 * the sealed one (the others are kept). */
static int read_oauth_secrets(struct mr_cli *cli, const struct credential_args *a,
                              struct mr_buf *out)
{
    const struct secret_source *src[] = {&a->client_secret, &a->refresh_token};
    const char *key[] = {"client_secret", "refresh_token"};
    json_t *obj = json_object();
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        struct mr_buf one;
        if (!wants(src[i]))
            continue;
        mr_buf_init(&one, MR_SECRET_MAX);
        rc = mr_cli_read_secret(cli, src[i]->env_var, &one);
        if (rc == 0)
            json_object_set_new(obj, key[i], json_stringn(one.data ? one.data : "", one.len));
        if (one.data)
            sodium_memzero(one.data, one.cap);
        mr_buf_free(&one);
    }
    char *text = rc == 0 ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (text) {
        rc = mr_buf_puts(out, text);
        sodium_memzero(text, strlen(text));
        free(text);
    }
    return rc;
}

/* Reads the secrets asked for, and runs add (id == 0) or edit. */
static int save(struct mr_cli *cli, const struct credential_args *a, int64_t id, int64_t *saved)
{
    struct mr_buf secret;
    struct mr_problems p = {0};
    mr_error err = {0};
    int oauth = wants(&a->client_secret) || wants(&a->refresh_token);
    int want_secret = wants(&a->password) || oauth;
    const char *verb = !id ? "added"
                       : want_secret && a->in.count == 0
                           ? (oauth ? "secrets changed" : "password changed")
                           : "updated";
    int rc = 0;
    mr_buf_init(&secret, 4 * MR_SECRET_MAX);
    if (oauth)
        rc = mr_buf_reserve(&secret, secret.max) || read_oauth_secrets(cli, a, &secret);
    else if (want_secret)
        rc = mr_cli_read_secret(cli, a->password.env_var, &secret);
    if (rc == 0) {
        const char *s = want_secret ? (secret.data ? secret.data : "") : NULL;
        rc = id ? mr_registry_credential_edit(&cli->reg, id, &a->in, s, secret.len, &p, &err)
                : mr_registry_credential_add(&cli->reg, &a->in, s, secret.len, &id, &p, &err);
        rc = rc ? mr_cli_fail_write(cli, rc, &p, &err) : 0;
    }
    if (secret.data)
        sodium_memzero(secret.data, secret.cap);
    mr_buf_free(&secret);
    if (saved)
        *saved = rc ? 0 : id;
    return rc ? rc : show_by_id(cli, id, a->format, verb);
}

static int device_sign_in(struct mr_cli *cli, int64_t id, enum mr_format format);

static const char add_usage[] =
    "credential add --name N --username U (--password-stdin | --password-env VAR)\n"
    "credential add --name N --username MAILBOX --kind oauth2 --provider P --client-id ID\n"
    "       [--flow delegated|app] [--tenant T] [--scopes S] [--token-url URL]\n"
    "       [--device-url URL] [--authorize-url URL]\n"
    "       [--client-secret-stdin | --client-secret-env VAR]\n"
    "       [--refresh-token-stdin | --refresh-token-env VAR] [--device] [--format json]\n"
    "\n"
    "The password is read from standard input (to its end, one trailing newline\n"
    "dropped; at a terminal, one line without echo) or from the environment\n"
    "variable VAR. It is sealed in the vault and never shown again.\n"
    "\n"
    "oauth2: an OAuth 2.0 grant for a mailbox at Microsoft 365 / Outlook.com\n"
    "(--provider microsoft: --tenant your tenant ID or domain, or organizations,\n"
    "consumers, common, the default), Google (google) or another provider (other:\n"
    "--token-url, and --device-url to sign in from here). --flow delegated (a user\n"
    "signs in: --device here or 'mailroom credential sign-in N' later, or\n"
    "--refresh-token-* imports a refresh\n"
    "token from elsewhere) or app (Microsoft 365 app-only access with the client\n"
    "secret: the mailbox is the username). --scopes: the provider's for the flow\n"
    "unless given. The client secret and the tokens are sealed in the vault.";

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
    const char *kind = mr_input_get(&a.in, "kind");
    int oauth = kind && strcasecmp(kind, "oauth2") == 0;
    if (!oauth && !wants(&a.password))
        return mr_cli_usage(cli, "a password is required: --password-stdin or --password-env VAR");
    if (a.device && !oauth)
        return mr_cli_usage(cli, "--device signs an oauth2 credential in: give --kind oauth2");
    if ((rc = mr_cli_open(cli)))
        return rc;
    int64_t id = 0;
    rc = save(cli, &a, 0, &id);
    return rc || !a.device ? rc : device_sign_in(cli, id, a.format);
}

static const char edit_usage[] =
    "credential edit ID|NAME [--name N] [--username U]\n"
    "       [--password-stdin | --password-env VAR] [--format json]\n"
    "       oauth2: [--provider P] [--flow F] [--tenant T] [--client-id ID] [--scopes S]\n"
    "       [--token-url URL] [--device-url URL] [--authorize-url URL]\n"
    "       [--client-secret-stdin | --client-secret-env VAR]\n"
    "       [--refresh-token-stdin | --refresh-token-env VAR]";

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
    if (a.in.count == 0 && !wants(&a.password) && !wants(&a.client_secret) &&
        !wants(&a.refresh_token))
        return mr_cli_usage(cli, "nothing to change: give --name, --username or a secret");
    if ((rc = mr_cli_resolve(cli, MR_OBJ_CREDENTIAL, ref, &id)))
        return rc;
    return save(cli, &a, id, NULL);
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

static const char sign_in_usage[] =
    "credential sign-in ID|NAME\n"
    "\n"
    "Signs the user of an oauth2 credential (flow delegated) in with the device\n"
    "authorization grant: it prints a web address and a code; open the address on\n"
    "any device, enter the code and sign in as the mailbox's user. mailroom waits\n"
    "(as long as the provider allows, 15 minutes at most) and keeps the tokens.";

/* The device authorization grant for credential id, from this terminal. */
static int device_sign_in(struct mr_cli *cli, int64_t id, enum mr_format format)
{
    struct mr_oauth_device d;
    mr_error err = {0};
    if (mr_oauth_device_start(&cli->reg, id, &d, &err) != 0)
        return mr_cli_fail(cli, &err);
    fprintf(stderr,
            "To sign in, open %s and enter the code %s (within %d minutes).\n%s%s%s"
            "Waiting for the sign-in...\n",
            d.verification_uri, d.user_code, (d.expires_in + 59) / 60,
            d.verification_uri_complete[0] ? "Or open " : "", d.verification_uri_complete,
            d.verification_uri_complete[0] ? "\n" : "");
    int rc = mr_oauth_device_wait(&cli->reg, id, &d, NULL, NULL, &err);
    mr_oauth_device_clear(&d);
    if (rc)
        return mr_cli_fail(cli, &err);
    return show_by_id(cli, id, format, "signed in");
}

static int cmd_sign_in(struct mr_cli *cli, int argc, char **argv)
{
    enum mr_format format = MR_FORMAT_TEXT;
    int64_t id;
    int done = 0;
    int rc =
        mr_cli_ref_command(cli, argc, argv, sign_in_usage, MR_OBJ_CREDENTIAL, &format, &id, &done);
    return done || rc ? rc : device_sign_in(cli, id, format);
}

static const char token_usage[] =
    "credential token ID|NAME [--refresh] [--format json]\n"
    "\n"
    "Gets an access token for an oauth2 credential as a check would (the stored\n"
    "one while it is fresh; --refresh: a new one from the provider) and says where\n"
    "it came from, until when it is good and its scopes. The token is never shown.";

static int cmd_token(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"refresh", no_argument, NULL, 'r'}, MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    enum mr_format format = MR_FORMAT_TEXT;
    const char *ref = NULL;
    struct mr_secret *token = NULL;
    struct mr_oauth_token_info info;
    int64_t id;
    int c, rc, done = 0, force = 0;
    mr_error err = {0};
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'r') {
            force = 1;
            continue;
        }
        rc = mr_cli_common_option(cli, c, token_usage, &format, &done);
        if (done)
            return rc;
    }
    if ((rc = mr_cli_one_ref(cli, argc, argv, &ref)) ||
        (rc = mr_cli_resolve(cli, MR_OBJ_CREDENTIAL, ref, &id)))
        return rc;
    if (mr_oauth_access_token(&cli->reg, id, force, NULL, &token, &info, &err) != 0)
        return mr_cli_fail(cli, &err);
    mr_secret_free(&token);
    char until[32];
    mr_format_time(info.expires_at, until);
    if (format == MR_FORMAT_JSON)
        mr_cli_print_json(json_pack("{s:s, s:I, s:s}", "source",
                                    info.refreshed ? "provider" : "stored", "expires_at",
                                    (json_int_t)info.expires_at, "scope", info.scope));
    else
        printf("access token %s, good until %s%s%s\n",
               info.refreshed ? "new from the provider" : "stored", until,
               info.scope[0] ? "; scopes: " : "", info.scope);
    return 0;
}

int mr_cli_credential(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"add", cmd_add, add_usage},       {"edit", cmd_edit, edit_usage},
        {"show", cmd_show, show_usage},    {"rm", cmd_rm, rm_usage},
        {"list", cmd_list, list_usage},    {"sign-in", cmd_sign_in, sign_in_usage},
        {"token", cmd_token, token_usage}, {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "credential", cmds, argc, argv);
}
