/* The command transport (an MDA): /bin/sh -c COMMAND with the raw message
 * on stdin, in a process group of its own, with a clean environment of
 * documented variables (docs/delivery.md). Its output (stdout and stderr
 * together) is kept up to COMMAND_OUTPUT_MAX bytes. At the target's
 * timeout the group gets SIGTERM, and SIGKILL COMMAND_KILL_GRACE_MS later.
 * Exit 0 is delivered, 75 (EX_TEMPFAIL) or a signal a retry, anything else
 * a permanent failure.
 *
 * posix_spawn, not fork: glibc's is a clone(CLONE_VM|CLONE_VFORK) that runs
 * only async-signal-safe steps before exec, so it is safe in the daemon's
 * threads; every descriptor but 0, 1 and 2 is closed in the child
 * (posix_spawn_file_actions_addclosefrom_np). The message is written to a
 * pipe with SIGPIPE blocked in this thread: a command that exits without
 * reading it all makes write() fail with EPIPE, and the SIGPIPE that came
 * with it is taken back with sigtimedwait before the mask is restored. */
#include "deliver/deliver.h"
#include "deliver/transport_private.h"

#include "util/clock.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define COMMAND_OUTPUT_MAX    2048 /* bytes of the command's output kept */
#define COMMAND_KILL_GRACE_MS 2000 /* from SIGTERM to SIGKILL */
#define COMMAND_TICK_MS       50   /* how often a child is looked at without a pidfd */
#define COMMAND_VAR_MAX       4096 /* bytes of one variable's value */
#define COMMAND_EX_TEMPFAIL   75

/* --- the environment ------------------------------------------------------- */

struct env {
    char *items[32];
    size_t n;
};

/* NAME=value, value without control characters and cut (on a UTF-8
 * boundary) to COMMAND_VAR_MAX bytes; NULL values give "". */
static void env_add(struct env *e, const char *name, const char *value)
{
    const char *v = value ? value : "";
    size_t nl = strlen(name), o = nl + 1;
    char *s = mr_xmalloc(nl + 1 + COMMAND_VAR_MAX + 1);
    memcpy(s, name, nl);
    s[nl] = '=';
    for (; *v && o - nl - 1 < COMMAND_VAR_MAX; v++)
        if ((unsigned char)*v >= 0x20 && *v != 0x7F)
            s[o++] = *v;
    while (*v && o > nl + 1 && ((unsigned char)s[o - 1] & 0xC0) == 0x80)
        o--; /* a cut sequence's continuation bytes... */
    if (*v && o > nl + 1 && ((unsigned char)s[o - 1] & 0xC0) == 0xC0)
        o--; /* ...and its lead byte */
    s[o] = '\0';
    if (e->n + 1 < sizeof(e->items) / sizeof(e->items[0]))
        e->items[e->n++] = s;
    else
        free(s);
    e->items[e->n] = NULL;
}

static void env_addf(struct env *e, const char *name, long long v)
{
    char text[32];
    snprintf(text, sizeof(text), "%lld", v);
    env_add(e, name, text);
}

static void env_free(struct env *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->items[i]);
}

static void home_of_user(char *out, size_t size)
{
    struct passwd pw, *found = NULL;
    char buf[4096];
    if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &found) == 0 && found && pw.pw_dir)
        snprintf(out, size, "%s", pw.pw_dir);
    else
        snprintf(out, size, "/");
}

static void env_build(struct env *e, const struct mr_delivery_item *it)
{
    static const struct mr_message none = {0};
    const struct mr_message *m = it->msg ? it->msg : &none;
    char home[1024], sender[512];
    home_of_user(home, sizeof(home));
    mr_dr_sender(m->from, sender, sizeof(sender));
    e->n = 0;
    env_add(e, "PATH", "/usr/local/bin:/usr/bin:/bin");
    env_add(e, "HOME", home);
    env_add(e, "MAILROOM_EVENT_ID", it->event_id);
    env_addf(e, "MAILROOM_DELIVERY_ID", it->delivery_id);
    env_add(e, "MAILROOM_ACCOUNT", it->account_name);
    env_addf(e, "MAILROOM_ACCOUNT_ID", it->account_id);
    env_add(e, "MAILROOM_USER", it->account_user);
    env_addf(e, "MAILROOM_MESSAGE_ID", m->id);
    env_add(e, "MAILROOM_HEADER_MESSAGE_ID", m->message_id);
    env_add(e, "MAILROOM_FROM", m->from);
    env_add(e, "MAILROOM_SENDER", sender);
    env_add(e, "MAILROOM_TO", m->to);
    env_add(e, "MAILROOM_SUBJECT", m->subject);
    env_add(e, "MAILROOM_CLASS", m->msg_class);
    env_addf(e, "MAILROOM_ATTEMPT", it->attempt);
    env_addf(e, "MAILROOM_TEST", it->test ? 1 : 0);
    env_addf(e, "MAILROOM_SIZE", (long long)it->raw_len);
}

/* --- the child -------------------------------------------------------------- */

struct child {
    pid_t pid;
    int in, out, pidfd; /* our ends: its stdin, its stdout+stderr; -1 when closed */
    size_t written;
    char output[COMMAND_OUTPUT_MAX];
    size_t output_len;
    int reaped, status;
};

static int spawn(struct child *c, const char *command, char *const envp[], char *why, size_t wlen)
{
    int inp[2] = {-1, -1}, outp[2] = {-1, -1}, rc;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    if (pipe2(inp, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0) {
        snprintf(why, wlen, "cannot make a pipe: %s", strerror(errno));
        rc = -1;
        goto out;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, inp[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&at);
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all); /* SIGPIPE too, if the daemon ignores it */
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
    char *argv[] = {"sh", "-c", (char *)command, NULL};
    rc = posix_spawn(&c->pid, "/bin/sh", &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        snprintf(why, wlen, "cannot start /bin/sh: %s", strerror(rc));
        rc = -1;
        goto out;
    }
    c->in = inp[1];
    c->out = outp[0];
    inp[1] = outp[0] = -1;
    fcntl(c->in, F_SETFL, O_NONBLOCK);
    fcntl(c->out, F_SETFL, O_NONBLOCK);
    c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
out:
    for (int i = 0; i < 2; i++) {
        if (inp[i] >= 0)
            close(inp[i]);
        if (outp[i] >= 0)
            close(outp[i]);
    }
    return rc;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int try_reap(struct child *c, int block)
{
    if (c->reaped)
        return 1;
    pid_t p;
    do
        p = waitpid(c->pid, &c->status, block ? 0 : WNOHANG);
    while (p < 0 && errno == EINTR);
    if (p == c->pid || (p < 0 && errno == ECHILD))
        c->reaped = 1;
    return c->reaped;
}

/* Writes what the pipe takes now; the message done (or the reader gone)
 * closes our end. SIGPIPE is blocked around it (see the top). */
static void feed(struct child *c, const struct mr_delivery_item *it)
{
    sigset_t pipe_set, old, pending;
    int epipe = 0;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    while (c->written < it->raw_len) {
        ssize_t n = write(c->in, it->raw + c->written, it->raw_len - c->written);
        if (n > 0) {
            c->written += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        epipe = 1; /* EPIPE: it will read no more (fine); anything else: the same */
        break;
    }
    if (epipe && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (epipe || c->written >= it->raw_len)
        close_fd(&c->in);
}

/* Reads what there is of the output, keeping the start. */
static void drain(struct child *c)
{
    char buf[8192];
    for (;;) {
        ssize_t n = read(c->out, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            close_fd(&c->out);
            return;
        }
        size_t keep = sizeof(c->output) - c->output_len;
        if (keep > (size_t)n)
            keep = (size_t)n;
        memcpy(c->output + c->output_len, buf, keep);
        c->output_len += keep;
    }
}

/* Waits for the child until deadline (mr_now_ms's clock): feeding its
 * stdin, reading its output. 1 when it exited, 0 at the deadline. */
static int run_until(struct child *c, const struct mr_delivery_item *it, int64_t deadline)
{
    for (;;) {
        if (try_reap(c, 0)) {
            if (c->out >= 0)
                drain(c); /* what it wrote before exiting; not what a grandchild still may */
            return 1;
        }
        int64_t left = deadline - mr_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p[3];
        nfds_t n = 0;
        if (c->in >= 0)
            p[n++] = (struct pollfd){.fd = c->in, .events = POLLOUT};
        if (c->out >= 0)
            p[n++] = (struct pollfd){.fd = c->out, .events = POLLIN};
        if (c->pidfd >= 0)
            p[n++] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
        int wait =
            c->pidfd >= 0 ? (int)left : (left < COMMAND_TICK_MS ? (int)left : COMMAND_TICK_MS);
        if (poll(p, n, wait) < 0 && errno != EINTR)
            return 0;
        for (nfds_t i = 0; i < n; i++) {
            if (!p[i].revents)
                continue;
            if (p[i].fd == c->in)
                feed(c, it);
            else if (p[i].fd == c->out)
                drain(c);
        }
    }
}

/* The deadline passed: SIGTERM to the group, SIGKILL after the grace. */
static void stop_group(struct child *c, const struct mr_delivery_item *it)
{
    close_fd(&c->in);
    kill(-c->pid, SIGTERM);
    if (!run_until(c, it, mr_now_ms() + COMMAND_KILL_GRACE_MS)) {
        kill(-c->pid, SIGKILL);
        try_reap(c, 1);
    }
    kill(-c->pid, SIGKILL); /* what it left behind in its group */
}

static void judge(const struct child *c, int killed, int timeout, struct mr_delivery_result *r)
{
    if (killed) {
        mr_dr_set(r, MR_DELIVERY_RETRY, "the command did not finish in %d s and was killed",
                  timeout);
    } else if (WIFSIGNALED(c->status)) {
        int sig = WTERMSIG(c->status);
        mr_dr_set(r, MR_DELIVERY_RETRY, "the command was killed by signal %d (%s)", sig,
                  sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
    } else if (WEXITSTATUS(c->status) == COMMAND_EX_TEMPFAIL) {
        mr_dr_set(r, MR_DELIVERY_RETRY,
                  "the command exited with status 75 (EX_TEMPFAIL): it asks to be tried again "
                  "later");
    } else if (WEXITSTATUS(c->status) != 0) {
        mr_dr_set(r, MR_DELIVERY_FAIL, "the command exited with status %d", WEXITSTATUS(c->status));
    }
}

void mr_deliver_command(const struct mr_target *t, const struct mr_delivery_item *it,
                        struct mr_delivery_result *r)
{
    struct env e = {0};
    struct child c = {.in = -1, .out = -1, .pidfd = -1};
    char why[256];
    int timeout = mr_target_timeout(t);
    mr_dr_begin(r);
    if (!t->command || !*t->command) {
        mr_dr_set(r, MR_DELIVERY_FAIL, "the target has no command");
        return;
    }
    env_build(&e, it);
    int64_t deadline = mr_now_ms() + (int64_t)timeout * 1000;
    if (spawn(&c, t->command, e.items, why, sizeof(why)) != 0) {
        mr_dr_set(r, MR_DELIVERY_RETRY, "%s", why);
        env_free(&e);
        return;
    }
    if (it->raw_len == 0)
        close_fd(&c.in);
    int killed = !run_until(&c, it, deadline);
    if (killed)
        stop_group(&c, it);
    judge(&c, killed, timeout, r);
    mr_dr_respond(r, NULL, c.output, c.output_len);
    close_fd(&c.in);
    close_fd(&c.out);
    close_fd(&c.pidfd);
    env_free(&e);
}
