/* mailroom serve: the daemon. The HTTP server, console and scheduler are not
 * built yet; until they are, serve says so plainly and exits non-zero rather
 * than pretending to run. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "serve [--listen ADDRESS:PORT] [--data DIR]\n"
    "\n"
    "Runs the daemon: web console and JSON API (default 127.0.0.1:8080) and the\n"
    "automatic checks of every enabled account.";

int mr_cli_serve(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        MR_CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    enum mr_format format = MR_FORMAT_TEXT;
    const char *listen = "127.0.0.1:8080";
    int c, rc, done = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'l') {
            listen = optarg;
            continue;
        }
        rc = mr_cli_common_option(cli, c, usage, &format, &done);
        if (done)
            return rc;
    }
    if ((rc = mr_cli_open(cli)))
        return rc;
    mr_error err = {0};
    mr_error_set(&err, MR_EINVAL, "",
                 "the daemon is not part of this build yet: it will serve the web console "
                 "and JSON API on http://%s/ and check every enabled account in %s; until "
                 "then use the command line ('mailroom --help')",
                 listen, cli->data_dir);
    return mr_cli_fail(cli, &err);
}
