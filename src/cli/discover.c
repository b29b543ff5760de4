/* mailroom account discover EMAIL: setting up from an e-mail address
 * (discover/discover.h), without the daemon. */
#include "cli/cli.h"

#include "discover/discover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char mr_cli_account_discover_usage[] =
    "account discover EMAIL [--dns ADDRESS:PORT] [--ca-file FILE] [--no-probe]\n"
    "                 [--format json]\n"
    "\n"
    "Proposes the server, port, protocol, security and kind of credential of an\n"
    "account for EMAIL, best first: the built-in presets of the big providers\n"
    "(Gmail / Google Workspace and Microsoft 365 / Outlook.com need OAuth 2.0;\n"
    "Yahoo, iCloud and Zoho an app password), matched by the domain or its MX\n"
    "records; else the domain's DNS SRV records (RFC 6186) and its autoconfig\n"
    "file (https://autoconfig.DOMAIN/mail/config-v1.1.xml, then\n"
    "https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml). Each proposal is\n"
    "probed (connect, TLS, greeting, capabilities; no login) unless --no-probe.\n"
    "--dns: the DNS server to ask (an IPv4 address, port 53 unless given; default\n"
    "the system's). --ca-file: extra CA certificates (PEM) trusted for the\n"
    "autoconfig file and the probes. Each network step has 5 s, the whole run 15 s.\n"
    "Exit code 0 when at least one proposal passed its probe (or --no-probe found\n"
    "one), 1 otherwise.";

static void print_text(const struct mr_discover_result *res)
{
    for (size_t i = 0; i < res->count; i++) {
        const struct mr_discover_proposal *p = &res->items[i];
        printf("%zu. %s %s:%d %s (%s; %s)  [%s]\n", i + 1, mr_protocol_display(p->protocol),
               p->host, p->port, mr_security_name(p->security), p->source, p->provider,
               !p->probed    ? "not probed"
               : p->probe_ok ? "probe OK"
                             : "probe FAILED");
        printf("   username %s, credential %s%s%s\n", p->username, p->credential_kind,
               p->oauth_provider[0] ? ", OAuth 2.0 provider " : "", p->oauth_provider);
        if (p->note[0])
            printf("   note: %s\n", p->note);
        for (size_t s = 0; s < p->steps.count; s++) {
            const struct mr_step *st = &p->steps.items[s];
            printf("   %s %-12s %s\n",
                   st->ok > 0    ? "ok  "
                   : st->ok == 0 ? "FAIL"
                                 : "--  ",
                   st->name, st->detail);
        }
    }
    if (res->count == 0)
        printf("no proposal for %s\n", res->email);
    for (size_t i = 0; i < res->nnotes; i++)
        printf("note (%s): %s\n", res->notes[i].source, res->notes[i].text);
}

int mr_cli_account_discover(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"dns", required_argument, NULL, 'n'},
                                         {"ca-file", required_argument, NULL, 'c'},
                                         {"no-probe", no_argument, NULL, 'p'},
                                         MR_CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct mr_discover_options o = {0};
    enum mr_format format = MR_FORMAT_TEXT;
    int c, rc, done = 0;
    mr_error err = {0};
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'n')
            o.dns = optarg;
        else if (c == 'c')
            o.ca_file = optarg;
        else if (c == 'p')
            o.no_probe = 1;
        else {
            rc = mr_cli_common_option(cli, c, mr_cli_account_discover_usage, &format, &done);
            if (done)
                return rc;
        }
    }
    if (optind != argc - 1)
        return mr_cli_usage(cli, "expected one e-mail address (see 'mailroom account discover "
                                 "--help')");
    if (mr_discover_check_dns(o.dns, &err))
        return mr_cli_fail(cli, &err);
    struct mr_discover_result *res = calloc(1, sizeof(*res));
    if (!res)
        return MR_EXIT_ERROR;
    if (mr_discover(argv[optind], &o, res, &err) != 0) {
        free(res);
        return mr_cli_fail(cli, &err);
    }
    int found = 0;
    for (size_t i = 0; i < res->count; i++)
        found |= o.no_probe || res->items[i].probe_ok;
    if (format == MR_FORMAT_JSON)
        mr_cli_print_json(mr_discover_json(res));
    else
        print_text(res);
    free(res);
    return found ? MR_EXIT_OK : MR_EXIT_ERROR;
}
