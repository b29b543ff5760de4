#include "cli/cli.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
    "usage: mailroom [--data DIR] COMMAND [ARGS]\n"
    "\n"
    "Registers IMAP and POP3 accounts and fetches their mail into mailroom's store.\n"
    "\n"
    "commands:\n"
    "  account      add, edit, show, rm, list (the IMAP/POP3 settings report), test,\n"
    "               discover (set up from an e-mail address)\n"
    "  fetch        fetch new mail of some accounts, or of all enabled ones\n"
    "  inbox        list and read what mailroom fetched\n"
    "  target       add, edit, show, rm, list and test where an account's mail is handed on\n"
    "               (webhook, Maildir, command, LMTP)\n"
    "  delivery     list the outbox and failed deliveries, replay them, run them now\n"
    "  credential   add, edit, show, rm and list the credentials accounts log in with\n"
    "  connector    add, edit, show, rm and list network connectors (proxies)\n"
    "  settings     show and set global settings (the default connector)\n"
    "  user         add, passwd, role, rm and list the console's users\n"
    "  token        create API tokens\n"
    "  audit        list who changed what, when\n"
    "  report       schedule the settings report by e-mail or to a directory\n"
    "  serve        run the daemon: web console, JSON API\n"
    "  version      print the version\n"
    "\n"
    "options:\n"
    "  --data DIR   data directory (default: $MAILROOM_DATA, else ./var;\n"
    "               as root /var/lib/mailroom)\n"
    "  --help       this text; 'mailroom COMMAND --help' describes a command\n"
    "\n"
    "Never as root: run by root, every command works as the data directory's\n"
    "owner (a new one goes to the system user mailroom, created if missing).\n"
    "\n"
    "exit status: 0 ok, 1 error, 2 usage error\n";

struct group {
    const char *name;
    mr_cli_fn run;
};

static const struct group groups[] = {
    {"account", mr_cli_account},     {"credential", mr_cli_credential},
    {"connector", mr_cli_connector}, {"settings", mr_cli_settings},
    {"serve", mr_cli_serve},         {"fetch", mr_cli_fetch},
    {"inbox", mr_cli_inbox},         {"user", mr_cli_user},
    {"token", mr_cli_token},         {"audit", mr_cli_audit},
    {"report", mr_cli_report},       {"target", mr_cli_target},
    {"delivery", mr_cli_delivery},   {NULL, NULL},
};

/* Global options stand before the command. */
static int global_options(struct mr_cli *cli, int argc, char **argv, int *i)
{
    for (*i = 1; *i < argc && argv[*i][0] == '-'; (*i)++) {
        const char *a = argv[*i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return -1;
        }
        if (strcmp(a, "--version") == 0) {
            printf("mailroom %s\n", MR_VERSION);
            return -1;
        }
        if (strcmp(a, "--data") == 0 && *i + 1 < argc)
            cli->data_dir = argv[++*i];
        else if (strncmp(a, "--data=", 7) == 0)
            cli->data_dir = a + 7;
        else
            return mr_cli_usage(cli, "unknown option '%s' (see 'mailroom --help')", a);
    }
    return 0;
}

int mr_cli_main(int argc, char **argv)
{
    struct mr_cli cli = {0};
    int i, rc;
    umask(077); /* everything mailroom writes is private to its user */
    /* A peer that hangs up is an error to report, not a reason to die: TLS
     * writes and streamed responses would otherwise raise SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any thread */
    snprintf(cli.command, sizeof(cli.command), "mailroom");
    rc = global_options(&cli, argc, argv, &i);
    if (rc)
        return rc < 0 ? MR_EXIT_OK : rc;
    if (i >= argc) {
        fputs(usage_text, stderr);
        return MR_EXIT_USAGE;
    }
    if (strcmp(argv[i], "version") == 0) {
        printf("mailroom %s\n", MR_VERSION);
        return MR_EXIT_OK;
    }
    rc = -1;
    for (const struct group *g = groups; g->name; g++) {
        if (strcmp(g->name, argv[i]) == 0) {
            snprintf(cli.command, sizeof(cli.command), "%s", g->name);
            rc = g->run(&cli, argc - i, argv + i); /* argv[0] is the group */
            break;
        }
    }
    if (rc < 0) {
        fprintf(stderr, "mailroom: unknown command '%s' (see 'mailroom --help')\n", argv[i]);
        rc = MR_EXIT_USAGE;
    }
    mr_cli_close(&cli);
    curl_global_cleanup();
    return rc;
}
