/* mailroom settings show|set */
#include "cli/cli.h"

#include "registry/schedules.h"
#include "report/views.h"

#include <stdio.h>
#include <string.h>

static const char show_usage[] = "settings show [--format json]";

static int cmd_show(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    enum mr_format format = MR_FORMAT_TEXT;
    struct mr_connector c;
    int64_t id = 0;
    mr_error err = {0};
    int opt, rc, done = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        rc = mr_cli_common_option(cli, opt, show_usage, &format, &done);
        if (done)
            return rc;
    }
    if (optind < argc)
        return mr_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if ((rc = mr_cli_open(cli)))
        return rc;
    mr_connector_init(&c);
    if (mr_store_default_connector(cli->reg.store, &id, &err) ||
        (id && mr_store_connector_get(cli->reg.store, id, &c, &err)))
        return mr_cli_fail(cli, &err);
    struct mr_smtp_settings m;
    enum mr_smtp_security sec;
    if (mr_store_smtp_get(cli->reg.store, &m, &err))
        return mr_cli_fail(cli, &err);
    mr_smtp_security_parse(m.security, &sec);
    if (format == MR_FORMAT_JSON)
        mr_cli_print_json(json_pack("{s:o, s:{s:s?, s:i, s:s?, s:I, s:s?}}", "default_connector",
                                    mr_view_ref(id, c.name), "smtp", "host", m.host, "port", m.port,
                                    "security", mr_smtp_security_name(sec), "credential",
                                    (json_int_t)m.credential_id, "from", m.from));
    else {
        char text[160], port[16], cred[24];
        snprintf(text, sizeof(text), "%s (ID %lld)", c.name ? c.name : "", (long long)id);
        snprintf(port, sizeof(port), "%d", m.port);
        snprintf(cred, sizeof(cred), "%lld", (long long)m.credential_id);
        mr_cli_print_field("default-connector", id ? text : "none", 18);
        mr_cli_print_field("smtp-host", m.host, 18);
        mr_cli_print_field("smtp-port", m.port ? port : "default", 18);
        mr_cli_print_field("smtp-security", mr_smtp_security_name(sec), 18);
        mr_cli_print_field("smtp-credential", m.credential_id ? cred : "none", 18);
        mr_cli_print_field("smtp-from", m.from, 18);
    }
    mr_smtp_settings_clear(&m);
    mr_connector_clear(&c);
    return 0;
}

static const char set_usage[] =
    "settings set default-connector ID|NAME|none\n"
    "settings set smtp-host|smtp-port|smtp-security|smtp-credential|smtp-from VALUE\n"
    "\n"
    "The default network connector is used by accounts whose Use network connector\n"
    "is yes and whose own connector is blank. The SMTP relay sends scheduled reports:\n"
    "its host, port (default 587 with starttls, 465 with tls, 25 without), security,\n"
    "credential (ID or name; '' for none) and from-address. Security: starttls\n"
    "(the default: STARTTLS required, nothing sent without it), tls (from the first\n"
    "byte), none (plain, no credential allowed) or none-insecure (plain, and the\n"
    "credential's password sent in clear).";

static int cmd_set(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {MR_CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    enum mr_format format = MR_FORMAT_TEXT;
    mr_error err = {0};
    int opt, rc, done = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        rc = mr_cli_common_option(cli, opt, set_usage, &format, &done);
        if (done)
            return rc;
    }
    if (argc - optind != 2)
        return mr_cli_usage(cli, "expected a setting and a value: default-connector ID|NAME|none");
    if (strncmp(argv[optind], "smtp-", 5) == 0) {
        static const char *const keys[] = {"host", "port", "security", "credential", "from"};
        char key[32];
        struct mr_input in = {0};
        struct mr_problems p = {0};
        for (size_t i = 0; i < 5; i++) {
            if (strcmp(argv[optind] + 5, keys[i]) == 0) {
                snprintf(key, sizeof(key), "smtp_%s", keys[i]);
                mr_input_add(&in, key, argv[optind + 1]);
            }
        }
        if (in.count == 0)
            return mr_cli_usage(cli, "unknown setting '%s'", argv[optind]);
        if ((rc = mr_cli_open(cli)))
            return rc;
        if ((rc = mr_registry_smtp_set(&cli->reg, &in, &p, &err)))
            return mr_cli_fail_write(cli, rc, &p, &err);
        printf("%s set\n", argv[optind]);
        return 0;
    }
    if (strcmp(argv[optind], "default-connector") != 0)
        return mr_cli_usage(cli,
                            "unknown setting '%s' (known: default-connector, smtp-host, "
                            "smtp-port, smtp-security, smtp-credential, smtp-from)",
                            argv[optind]);
    if ((rc = mr_cli_open(cli)))
        return rc;
    if (mr_registry_set_default_connector(&cli->reg, argv[optind + 1], &err) != 0)
        return mr_cli_fail(cli, &err);
    printf("default-connector set to %s\n", argv[optind + 1]);
    return 0;
}

int mr_cli_settings(struct mr_cli *cli, int argc, char **argv)
{
    static const struct mr_cli_command cmds[] = {
        {"show", cmd_show, show_usage},
        {"set", cmd_set, set_usage},
        {NULL, NULL, NULL},
    };
    return mr_cli_dispatch(cli, "settings", cmds, argc, argv);
}
