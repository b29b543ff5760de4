/* mailroom serve: the daemon — web console and JSON API. */
#include "cli/cli.h"

#include "deliver/outbox.h"
#include "discover/discover.h"
#include "fetch/keep.h"
#include "http/http.h"
#include "registry/audit.h"
#include "registry/users.h"
#include "sched/scheduler.h"
#include "util/safedir.h"
#include "util/text.h"

#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "serve [--listen ADDRESS:PORT] [--threads N] [--workers N] [--no-scheduler]\n"
    "      [--keep-sessions N] [--keep-per-server N] [--no-push] [--push-max N]\n"
    "      [--push-max-per-server N] [--push-refresh SECONDS] [--push-silence SECONDS]\n"
    "      [--push-max-age SECONDS]\n"
    "      [--history-days N] [--log-format text|json] [--log-level LEVEL]\n"
    "      [--tls-cert FILE --tls-key FILE] [--secure-cookies] [--metrics-public]\n"
    "      [--deny-test-targets] [--trusted-proxy ADDR[,ADDR...]] [--public-url URL]\n"
    "      [--report-dir BASE] [--delivery-workers N] [--user NAME] [--data DIR]\n"
    "      [--dns ADDRESS:PORT] [--discover-ca-file FILE]\n"
    "\n"
    "Runs the daemon: the JSON API under /api/v1 (and the web console) on\n"
    "127.0.0.1:8080 unless --listen says otherwise ([::1]:8080 for IPv6). On the\n"
    "first start it creates the user admin with the password in\n"
    "$MAILROOM_ADMIN_PASSWORD, or a random one it prints once. --tls-cert and\n"
    "--tls-key (PEM files; the key readable by its owner only) serve HTTPS here:\n"
    "TLS 1.2 and 1.3, forward-secret AEAD ciphers, HSTS, Secure cookies.\n"
    "--secure-cookies when a TLS proxy in front serves it over HTTPS instead.\n"
    "Plain HTTP on an address other than loopback is logged as a warning and the\n"
    "console shows a banner. --trusted-proxy: the reverse proxies\n"
    "(IP addresses) whose X-Forwarded-For names the client, for the log and the\n"
    "throttling of failed logins; the right-most address in it that is not one of\n"
    "them is the client. The daemon answers only requests whose Host is the listen\n"
    "address (with localhost when it is loopback; any IP address when it is 0.0.0.0\n"
    "or ::) or the host of --public-url (how users reach it, e.g. through a proxy:\n"
    "https://mail.example.com/); others get 421, but /healthz. Stops cleanly on\n"
    "SIGTERM or SIGINT.\n"
    "\n"
    "The scheduler checks every enabled account with automatic check on, every\n"
    "interval seconds, with --workers (default 8) at once; --no-scheduler turns it\n"
    "off. An IMAP session stays logged in between checks of an account checked at\n"
    "least every 20 minutes, so the next check is one EXAMINE instead of a login:\n"
    "at most --keep-sessions (default 1000; 0 logs out after every check) in all\n"
    "and --keep-per-server (default 20) on one server; raise that for a server\n"
    "sized for it. Push: an IMAP account with push on (the default) whose server\n"
    "offers IDLE keeps one connection in IDLE, and new mail is fetched the moment\n"
    "the server tells of it; the IDLE is renewed with a check every --push-refresh\n"
    "(default 900 s, at most 1680), a connection silent for --push-silence (default\n"
    "180 s) is checked, one older than --push-max-age (default 3600 s) logs in\n"
    "afresh. At most --push-max (default 10000) connections in all and\n"
    "--push-max-per-server (default 2000) to one server; past them, and where the\n"
    "server has no IDLE, accounts are checked every interval, and say so. --no-push\n"
    "checks every account at its interval only.\n"
    "The fetch history is kept --history-days (default 90; 0 keeps it all),\n"
    "each account's last run always. The log (stderr) has a line per request,\n"
    "check and report, as key=value text or, with --log-format json, a JSON object\n"
    "per line; lines about an account carry its id. --log-level error, warn, info\n"
    "(default) or debug: debug adds the protocol exchange of every check, passwords\n"
    "redacted. /healthz answers without login; /metrics (Prometheus) needs a token\n"
    "or a session unless --metrics-public. Scheduled reports are written only under\n"
    "--report-dir (default DATA/reports, made 0700 when missing; give the same one to\n"
    "mailroom report schedule), in directories of the daemon's user that no one else\n"
    "can write. --delivery-workers (default 4; 0 turns delivery off) hand stored\n"
    "messages to the accounts' delivery targets (mailroom target --help).\n"
    "--deny-test-targets: Test connection\n"
    "refuses servers and proxies on this host (loopback, 0.0.0.0), link-local\n"
    "addresses and cloud metadata services (169.254.169.254, ...), every address\n"
    "a name resolves to checked; private networks stay allowed; setting up from an\n"
    "e-mail address refuses them too, for its autoconfig fetch and its probes.\n"
    "--dns ADDRESS:PORT (IPv4): the DNS server setting up from an e-mail address asks\n"
    "for SRV, MX and address records (default: the system's, /etc/resolv.conf);\n"
    "--discover-ca-file FILE: extra CA certificates (PEM) it trusts for the\n"
    "autoconfig file's HTTPS and the probes' TLS.\n"
    "\n"
    "Never as root: started by root, it opens its port and reads its TLS files,\n"
    "then runs as the owner of the data directory (default /var/lib/mailroom as\n"
    "root). A new data directory, or one root made, goes to --user first (default\n"
    "mailroom, a system user created when missing). Every other command, run by\n"
    "root, works as the data directory's owner the same way.";

static int parse_listen(struct mr_cli *cli, const char *text, struct mr_http_config *c,
                        char host[64])
{
    const char *colon = strrchr(text, ':');
    long long port;
    if (!colon || mr_parse_int(colon + 1, 1, 65535, &port) != 0)
        return mr_cli_bad_value(cli, "listen", "expected ADDRESS:PORT, got '%s'", text);
    size_t n = (size_t)(colon - text);
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
        text++;
        n -= 2;
    }
    snprintf(host, 64, "%.*s", (int)n, text);
    c->host = host;
    c->port = (int)port;
    return 0;
}

/* --trusted-proxy ADDR[,ADDR...], which may be given more than once. */
static int add_trusted_proxies(struct mr_cli *cli, const char *text, char *list, size_t size)
{
    mr_error err = {0};
    size_t len = strlen(list);
    if (mr_http_check_trusted_proxies(text, &err) != 0)
        return mr_cli_bad_value(cli, "trusted-proxy", "%s", err.message);
    if ((size_t)snprintf(list + len, size - len, "%s%s", len ? "," : "", text) >= size - len)
        return mr_cli_bad_value(cli, "trusted-proxy", "too many addresses (at most %zu bytes)",
                                size - 1);
    return 0;
}

/* On the first start, someone must be able to log in: the user admin,
 * made before the daemon serves (whoever connects can log in at once) but
 * announced only once it serves. A start that fails after making it (the
 * port taken between bind and listen, a key the certificate does not
 * match, a scheduler that cannot start) takes it away again, so the
 * password is never one that was shown for a daemon that never ran: the
 * next start makes the user anew and prints the password that works. */
struct first_admin {
    int64_t id; /* 0: users existed already */
    int from_env;
    char password[25];
};

static int first_admin_make(struct mr_cli *cli, struct first_admin *fa)
{
    struct mr_user *users;
    size_t n;
    struct mr_problems p = {0};
    mr_error err = {0};
    memset(fa, 0, sizeof(*fa));
    if (mr_store_user_list(cli->reg.store, &users, &n, &err))
        return mr_cli_fail(cli, &err);
    mr_user_list_free(&users, n);
    if (n > 0)
        return 0;
    const char *env = getenv("MAILROOM_ADMIN_PASSWORD");
    fa->from_env = env && *env;
    mr_registry_random_password(fa->password);
    const char *password = fa->from_env ? env : fa->password;
    if (mr_registry_user_add(&cli->reg, "admin", MR_ROLE_ADMIN, password, strlen(password), &fa->id,
                             &p, &err) != 0) {
        fa->id = 0;
        return mr_cli_fail_write(cli, MR_EINVAL, &p, &err);
    }
    return 0;
}

static void first_admin_announce(struct first_admin *fa)
{
    if (fa->id && fa->from_env)
        printf("First start: created user 'admin' with the password from "
               "$MAILROOM_ADMIN_PASSWORD.\n");
    else if (fa->id)
        printf("First start: created user 'admin' with password %s\n"
               "(shown only now; change it with 'mailroom user passwd admin')\n",
               fa->password);
    sodium_memzero(fa->password, sizeof(fa->password));
    fa->id = 0;
}

/* The start failed: the admin made for it goes (audited), whatever the
 * last-admin rule says, since nobody ever had its password. */
static void first_admin_undo(struct mr_cli *cli, struct first_admin *fa)
{
    mr_error err = {0};
    sodium_memzero(fa->password, sizeof(fa->password));
    if (!fa->id)
        return;
    int rc = mr_store_begin(cli->reg.store, &err);
    if (rc == 0)
        rc = mr_store_user_delete(cli->reg.store, fa->id, &err);
    if (rc == 0)
        rc = mr_audit_record(&cli->reg, "delete", MR_OBJ_USER, fa->id, "admin",
                             json_pack("{s:s}", "note", "the first start failed"), &err);
    if (rc == 0)
        rc = mr_store_commit(cli->reg.store, &err);
    else
        mr_store_rollback(cli->reg.store);
    if (rc == 0)
        fprintf(stderr, "mailroom: serve: no user was kept: the next start creates 'admin' and "
                        "prints its password\n");
    else
        fprintf(stderr,
                "mailroom: serve: the user 'admin' this start made is left (%s); set its "
                "password with 'mailroom user passwd admin'\n",
                err.message);
    fa->id = 0;
}

/* The data directory holds the store and the key to its secrets: one that
 * its group or others may read, write or search is said at start (and
 * served anyway: the operator may mean it). A new one is made 0700. */
static void warn_open_data_dir(const char *dir)
{
    struct stat st;
    char mode[8];
    if (stat(dir, &st) != 0 || !(st.st_mode & (S_IRWXG | S_IRWXO)))
        return;
    snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
    MR_LOG(MR_LOG_WARN, "data", MR_LS("dir", dir), MR_LS("mode", mode),
           MR_LS("note", "the data directory is open to its group or others; chmod 700 it"));
}

/* One daemon per data directory: a write lock on DIR/serve.pid (an
 * open-file-description lock, held until the process ends, however it
 * ends), with the holder's pid in the file for the one refused. Two
 * schedulers on one store would check each account twice as often and
 * keep twice the sessions; the command line beside a daemon is fine. */
static int lock_data_dir(struct mr_cli *cli, int *fd_out)
{
    char *path = mr_xasprintf("%s/serve.pid", mr_cli_data_dir(cli));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    mr_error err = {0};
    (void)mkdir(cli->data_dir, 0700); /* a first start: the store makes the rest */
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        mr_error_set(&err, MR_EIO, "data", "cannot open %s: %s", path, strerror(errno));
    else if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        char pid[24] = "";
        ssize_t n = errno == EAGAIN || errno == EACCES ? pread(fd, pid, sizeof(pid) - 1, 0) : -1;
        if (n > 0)
            pid[strcspn(pid, "\n")] = '\0';
        if (n < 0)
            mr_error_set(&err, MR_EIO, "data", "cannot lock %s: %s", path, strerror(errno));
        else
            mr_error_set(&err, MR_EINUSE, "data",
                         "another mailroom serve (pid %s) is using the data directory %s; stop "
                         "it first, or give this one a data directory of its own with --data",
                         *pid ? pid : "not known yet: it is starting", cli->data_dir);
    } else {
        char pid[24];
        int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
            mr_error_set(&err, MR_EIO, "data", "cannot write %s: %s", path, strerror(errno));
    }
    free(path);
    if (err.code) {
        if (fd >= 0)
            close(fd);
        return mr_cli_fail(cli, &err);
    }
    *fd_out = fd; /* kept open: the lock lasts as long as the daemon */
    return 0;
}

/* The report base, made when missing and resolved once: the API and the
 * scheduler write reports only under it. */
static int report_base(struct mr_cli *cli, const char *option, char **out)
{
    mr_error err = {0};
    char *base = mr_report_base(option, cli->data_dir);
    int rc = mr_safedir_base(base, out, &err);
    free(base);
    if (rc)
        mr_error_prefix(&err, "--report-dir");
    return rc ? mr_cli_fail(cli, &err) : 0;
}

/* Long options without a letter of their own. */
enum {
    OPT_NO_PUSH = 1000,
    OPT_PUSH_MAX,
    OPT_PUSH_PER_SERVER,
    OPT_PUSH_REFRESH,
    OPT_PUSH_SILENCE,
    OPT_PUSH_MAX_AGE,
};

/* --push-* values; 0 when it is not one of them, else the CLI's result. */
static int push_option(struct mr_cli *cli, int c, int *push, struct mr_push_config *pc, int *rc)
{
    long long v = 0;
    *rc = 0;
    switch (c) {
    case OPT_NO_PUSH:
        *push = 0;
        return 1;
    case OPT_PUSH_MAX:
        if (mr_parse_int(optarg, 1, 100000, &v) != 0)
            *rc = mr_cli_bad_value(cli, "push-max", "expected 1 to 100000, got '%s'", optarg);
        pc->max_total = (size_t)v;
        return 1;
    case OPT_PUSH_PER_SERVER:
        if (mr_parse_int(optarg, 1, 100000, &v) != 0)
            *rc = mr_cli_bad_value(cli, "push-max-per-server", "expected 1 to 100000, got '%s'",
                                   optarg);
        pc->max_per_server = (size_t)v;
        return 1;
    case OPT_PUSH_REFRESH:
        if (mr_parse_int(optarg, 1, MR_PUSH_REFRESH_MAX, &v) != 0)
            *rc = mr_cli_bad_value(cli, "push-refresh", "expected 1 to %d seconds, got '%s'",
                                   MR_PUSH_REFRESH_MAX, optarg);
        pc->refresh_s = (int)v;
        return 1;
    case OPT_PUSH_SILENCE:
        if (mr_parse_int(optarg, 1, 86400, &v) != 0)
            *rc = mr_cli_bad_value(cli, "push-silence", "expected 1 to 86400 seconds, got '%s'",
                                   optarg);
        pc->silence_s = (int)v;
        return 1;
    case OPT_PUSH_MAX_AGE:
        if (mr_parse_int(optarg, 60, 7 * 86400, &v) != 0)
            *rc = mr_cli_bad_value(cli, "push-max-age", "expected 60 to 604800 seconds, got '%s'",
                                   optarg);
        pc->max_age_s = (int)v;
        return 1;
    }
    return 0;
}

int mr_cli_serve(struct mr_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'},
        {"secure-cookies", no_argument, NULL, 's'},
        {"workers", required_argument, NULL, 'w'},
        {"no-scheduler", no_argument, NULL, 'n'},
        {"metrics-public", no_argument, NULL, 'm'},
        {"history-days", required_argument, NULL, 'H'},
        {"log-format", required_argument, NULL, 'L'},
        {"log-level", required_argument, NULL, 'V'},
        {"keep-sessions", required_argument, NULL, 'k'},
        {"keep-per-server", required_argument, NULL, 'K'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'Y'},
        {"report-dir", required_argument, NULL, 'R'},
        {"deny-test-targets", no_argument, NULL, 'D'},
        {"trusted-proxy", required_argument, NULL, 'P'},
        {"public-url", required_argument, NULL, 'U'},
        {"user", required_argument, NULL, 'u'},
        {"delivery-workers", required_argument, NULL, 'O'},
        {"dns", required_argument, NULL, 'N'},
        {"discover-ca-file", required_argument, NULL, 'A'},
        {"no-push", no_argument, NULL, OPT_NO_PUSH},
        {"push-max", required_argument, NULL, OPT_PUSH_MAX},
        {"push-max-per-server", required_argument, NULL, OPT_PUSH_PER_SERVER},
        {"push-refresh", required_argument, NULL, OPT_PUSH_REFRESH},
        {"push-silence", required_argument, NULL, OPT_PUSH_SILENCE},
        {"push-max-age", required_argument, NULL, OPT_PUSH_MAX_AGE},
        MR_CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct mr_http_config cfg = {.host = "127.0.0.1", .port = 8080, .threads = 4};
    enum mr_format format = MR_FORMAT_TEXT;
    const char *report_dir = NULL, *user = NULL;
    char host[64];
    long long threads, workers = 8, history_days = 90, delivery_workers = MR_OUTBOX_WORKERS_DEFAULT;
    char trusted[1024] = ""; /* every --trusted-proxy, joined by commas */
    long long keep_total = MR_KEEP_DEFAULT_TOTAL, keep_per_server = MR_KEEP_DEFAULT_PER_SRV;
    int c, rc, done = 0, scheduler = 1, push = 1;
    struct mr_push_config push_cfg = {MR_PUSH_DEFAULT_TOTAL, MR_PUSH_DEFAULT_PER_SRV,
                                      MR_PUSH_DEFAULT_REFRESH, MR_PUSH_DEFAULT_SILENCE,
                                      MR_PUSH_DEFAULT_MAX_AGE};
    mr_error err = {0};
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (push_option(cli, c, &push, &push_cfg, &rc)) {
            if (rc)
                return rc;
            continue;
        }
        if (c == 'l' && (rc = parse_listen(cli, optarg, &cfg, host)))
            return rc;
        if (c == 't' && mr_parse_int(optarg, 1, 64, &threads) != 0)
            return mr_cli_bad_value(cli, "threads", "expected 1 to 64, got '%s'", optarg);
        if (c == 't')
            cfg.threads = (int)threads;
        if (c == 'w' && mr_parse_int(optarg, 1, 256, &workers) != 0)
            return mr_cli_bad_value(cli, "workers", "expected 1 to 256, got '%s'", optarg);
        if (c == 'O' && mr_parse_int(optarg, 0, 64, &delivery_workers) != 0)
            return mr_cli_bad_value(cli, "delivery-workers", "expected 0 to 64, got '%s'", optarg);
        if (c == 'k' && mr_parse_int(optarg, 0, 100000, &keep_total) != 0)
            return mr_cli_bad_value(cli, "keep-sessions", "expected 0 to 100000, got '%s'", optarg);
        if (c == 'K' && mr_parse_int(optarg, 1, 100000, &keep_per_server) != 0)
            return mr_cli_bad_value(cli, "keep-per-server", "expected 1 to 100000, got '%s'",
                                    optarg);
        if (c == 'H' && mr_parse_int(optarg, 0, 36500, &history_days) != 0)
            return mr_cli_bad_value(cli, "history-days", "expected 0 to 36500, got '%s'", optarg);
        enum mr_log_format log_format;
        if (c == 'L' && mr_log_format_parse(optarg, &log_format) != 0)
            return mr_cli_bad_value(cli, "log-format", "expected text or json, got '%s'", optarg);
        if (c == 'L')
            mr_log_set_format(log_format);
        enum mr_log_level log_level;
        if (c == 'V' && mr_log_level_parse(optarg, &log_level) != 0)
            return mr_cli_bad_value(cli, "log-level",
                                    "expected error, warn, info or debug, got '%s'", optarg);
        if (c == 'V')
            mr_log_set_level(log_level);
        if (c == 'R')
            report_dir = optarg;
        if (c == 'u')
            user = optarg;
        cfg.secure_cookies |= c == 's';
        if (c == 'C')
            cfg.tls_cert = optarg;
        if (c == 'Y')
            cfg.tls_key = optarg;
        cfg.metrics_public |= c == 'm';
        cfg.deny_test_targets |= c == 'D';
        if (c == 'P' && (rc = add_trusted_proxies(cli, optarg, trusted, sizeof(trusted))))
            return rc;
        if (c == 'U' && mr_http_check_public_url(optarg, &err) != 0)
            return mr_cli_bad_value(cli, "public-url", "%s", err.message);
        if (c == 'U')
            cfg.public_url = optarg;
        if (c == 'N' && mr_discover_check_dns(optarg, &err) != 0)
            return mr_cli_bad_value(cli, "dns", "%s", err.message);
        if (c == 'N')
            cfg.dns = optarg;
        if (c == 'A')
            cfg.discover_ca_file = optarg;
        scheduler &= c != 'n';
        if (c > 0 && c < 128 &&
            strchr("ltswnmHLVkKCYRDPUuONA", c)) /* not the NUL: --data is 0x100 */
            continue;
        rc = mr_cli_common_option(cli, c, usage, &format, &done);
        if (done)
            return rc;
    }
    int lock_fd = -1;
    char *reports = NULL;
    /* what needs root (a port below 1024, a key only root reads) before
     * root is given up; then nothing else runs as root */
    struct mr_http_listener listener;
    if (mr_http_listen(&cfg, &listener, &err) != 0)
        return mr_cli_fail(cli, &err);
    int was_root = geteuid() == 0;
    cli->daemon = 1; /* what run_as did goes to the log */
    rc = mr_cli_run_as(cli, user);
    /* the lock first: a refused second daemon (a newer one, say) must not
     * open the store, which would migrate it under the running one */
    if (rc == 0)
        rc = lock_data_dir(cli, &lock_fd);
    if (rc == 0)
        rc = mr_cli_open(cli);
    if (rc == 0)
        warn_open_data_dir(cli->data_dir);
    struct first_admin admin = {0};
    if (rc == 0)
        rc = first_admin_make(cli, &admin);
    if (rc == 0)
        rc = report_base(cli, report_dir, &reports);
    /* Read (or not needed): gone from the environment, so no later getenv
     * and no child sees it. /proc/PID/environ keeps the block the process
     * started with; unsetenv cannot rewrite that. */
    unsetenv("MAILROOM_ADMIN_PASSWORD");
    if (rc) {
        first_admin_undo(cli, &admin);
        mr_http_listener_close(&listener);
        return rc;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* every thread inherits this */
    cfg.data_dir = cli->data_dir;
    cfg.report_dir = reports;
    cfg.trusted_proxies = trusted;
    /* tests only: MAILROOM_TEST_LOGIN_GUESSES_PER_MINUTE=6 reaches the cap fast */
    const char *guesses = getenv("MAILROOM_TEST_LOGIN_GUESSES_PER_MINUTE");
    cfg.login_guesses_per_minute = guesses ? atoi(guesses) : 0;
    /* tests only: MAILROOM_TEST_SESSION_IDLE_SECS=2 ends idle sessions fast */
    const char *idle = getenv("MAILROOM_TEST_SESSION_IDLE_SECS");
    cfg.session_idle_secs = idle ? atoi(idle) : 0;
    /* tests only: MAILROOM_TEST_SESSION_MAX_SECS=3 ends every session 3 s in */
    const char *lifetime = getenv("MAILROOM_TEST_SESSION_MAX_SECS");
    cfg.session_max_secs = lifetime ? atoi(lifetime) : 0;
    /* the raw message link in webhooks: how receivers reach this daemon */
    char base[512];
    const char *lh = strchr(cfg.host, ':') ? "[" : "", *rh = *lh ? "]" : "";
    if (cfg.public_url)
        snprintf(base, sizeof(base), "%s", cfg.public_url);
    else
        snprintf(base, sizeof(base), "http%s://%s%s%s:%d", cfg.tls_cert ? "s" : "", lh, cfg.host,
                 rh, cfg.port);
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        base[--bl] = '\0';
    cfg.delivery_base = base;
    struct mr_http_server *srv;
    struct mr_scheduler *sched = NULL;
    if (mr_http_start(&srv, &cfg, &listener, &err) != 0) {
        free(reports);
        rc = mr_cli_fail(cli, &err);
        first_admin_undo(cli, &admin);
        return rc;
    }
    /* tests only: MAILROOM_TEST_INTERVAL_DIVISOR=30 makes 30 s intervals 1 s */
    const char *divisor = getenv("MAILROOM_TEST_INTERVAL_DIVISOR");
    struct mr_scheduler_config sc = {cli->data_dir,
                                     reports,
                                     (int)workers,
                                     divisor ? atoi(divisor) : 1,
                                     (int)history_days,
                                     (size_t)keep_total,
                                     (size_t)keep_per_server,
                                     push,
                                     push_cfg};
    if (scheduler && mr_scheduler_start(&sched, &sc, &err) != 0) {
        mr_http_stop(&srv);
        free(reports);
        rc = mr_cli_fail(cli, &err);
        first_admin_undo(cli, &admin);
        return rc;
    }
    mr_http_set_scheduler(srv, sched);
    struct mr_outbox *outbox = NULL;
    struct mr_outbox_config oc = {cli->data_dir, (int)delivery_workers, base,
                                  divisor ? atoi(divisor) : 1, 1};
    if (delivery_workers > 0)
        mr_outbox_start(&outbox, &oc, &err);
    if (mr_http_insecure(srv))
        MR_LOG(MR_LOG_WARN, "insecure", MR_LS("listen", cfg.host),
               MR_LS("why", "plain HTTP on an address other than loopback: passwords and session "
                            "cookies cross the network in clear"),
               MR_LS("fix", "serve HTTPS with --tls-cert and --tls-key, or put a TLS proxy in "
                            "front (then --secure-cookies)"));
    first_admin_announce(&admin);
    const char *lb = strchr(cfg.host, ':') ? "[" : "", *rb = *lb ? "]" : "";
    struct passwd *pw = getpwuid(geteuid());
    printf("mailroom %s: serving http%s://%s%s%s:%d/ (data in %s; running as %s%s; automatic "
           "checks %s); stop with Ctrl-C\n",
           MR_VERSION, cfg.tls_cert ? "s" : "", lb, cfg.host, rb, cfg.port, cli->data_dir,
           pw ? pw->pw_name : "?", was_root ? ", root given up" : "", sched ? "on" : "off");
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    MR_LOG(MR_LOG_INFO, "stopping", MR_LS("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"),
           MR_LS("note", "requests and fetches in flight finish first"));
    mr_scheduler_stop(&sched); /* checks in progress stop after their batch */
    mr_outbox_stop(&outbox);   /* deliveries in progress finish (each within its timeout) */
    mr_http_set_scheduler(srv, NULL);
    mr_http_stop(&srv);
    MR_LOG(MR_LOG_INFO, "stopped", MR_LS("version", MR_VERSION));
    free(reports);
    close(lock_fd);
    return 0;
}
