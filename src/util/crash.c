#include "util/crash.h"

#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static char report_path[4096];
static struct sigaction before[NSIG]; /* the handler we replaced (a sanitizer's) */

static const struct {
    int sig;
    const char *name;
} fatal[] = {{SIGSEGV, "SIGSEGV"},
             {SIGBUS, "SIGBUS"},
             {SIGFPE, "SIGFPE"},
             {SIGILL, "SIGILL"},
             {SIGABRT, "SIGABRT"}};

/* Only async-signal-safe calls from here to the end of on_fatal. */
static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void put_number(int fd, long long v)
{
    char digits[24], *p = digits + sizeof(digits) - 1;
    *p = '\0';
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    if (v < 0)
        *--p = '-';
    put(fd, p);
}

static void report(int fd, int sig, void *const *frames, int nframes)
{
    const char *name = "?";
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
        if (fatal[i].sig == sig)
            name = fatal[i].name;
    put(fd, "mailroom " MR_VERSION " crashed: signal ");
    put_number(fd, sig);
    put(fd, " (");
    put(fd, name);
    put(fd, "), unix time ");
    put_number(fd, (long long)time(NULL));
    put(fd, ", pid ");
    put_number(fd, (long long)getpid());
    put(fd, "\nbacktrace:\n");
    backtrace_symbols_fd(frames, nframes, fd);
    put(fd, "end of crash report\n");
}

static void on_fatal(int sig)
{
    void *frames[64];
    int n = backtrace(frames, 64);
    report(STDERR_FILENO, sig, frames, n);
    if (report_path[0]) {
        int fd = open(report_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            report(fd, sig, frames, n);
            close(fd);
        }
    }
    /* then die of it as without us: by default (no core), or through the
     * handler that was there (AddressSanitizer's report, in test builds) */
    sigaction(sig, &before[sig], NULL);
    raise(sig);
}

void mr_crash_install(const char *data_dir)
{
    void *prime[1];
    backtrace(prime, 1); /* loads libgcc now: it may allocate, later it must not */
    snprintf(report_path, sizeof(report_path), "%s/crash.log", data_dir);
    const char *cores = getenv("MAILROOM_CORE_DUMPS");
    if (!cores || strcmp(cores, "1") != 0) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER | SA_RESETHAND; /* a fault in here ends it */
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
        sigaction(fatal[i].sig, &sa, &before[fatal[i].sig]);
}
