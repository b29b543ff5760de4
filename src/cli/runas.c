/* Never as root. mailroom started by root (the daemon, or any command that
 * opens the store) works as the data directory's owner from the moment it
 * has done what needs root: serve binds its port and reads its TLS key
 * first (cli/serve.c). A data directory that root is about to make, or one
 * that root made for mailroom earlier, goes to the service user first:
 * `--user`, default `mailroom`, a system user created when missing. */
#include "cli/cli.h"

#include "util/log.h"
#include "util/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The message, as every command prints one (cli/common.c); returns 1. */
__attribute__((format(printf, 4, 5))) static int fail(struct mr_cli *cli, int code,
                                                      const char *field, const char *fmt, ...)
{
    mr_error err = {.code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof(err.message), fmt, ap);
    va_end(ap);
    snprintf(err.field, sizeof(err.field), "%s", field);
    return mr_cli_fail(cli, &err);
}

#define MR_HANDOVER_DEPTH 8 /* DATA/reports/a/b/...: deeper is not ours */

/* What was done for the user, once: a line of the daemon's log, or of the
 * command's stderr. */
static void say(struct mr_cli *cli, const char *event, const char *user, const char *dir,
                const char *note)
{
    if (cli->daemon)
        MR_LOG(MR_LOG_INFO, event, MR_LS("user", user), MR_LS("dir", dir ? dir : ""),
               MR_LS("note", note));
    else if (dir)
        fprintf(stderr, "mailroom: %s %s for the user %s, as whom mailroom runs\n", note, dir,
                user);
    else
        fprintf(stderr, "mailroom: %s %s to run as (mailroom never runs as root)\n", note, user);
}

/* useradd from Debian's passwd package (always installed): a system user
 * with its own group, no home and no login shell. */
static int create_user(struct mr_cli *cli, const char *name)
{
    char *argv[] = {"/usr/sbin/useradd", "--system",        "--user-group", "--no-create-home",
                    "--home-dir",        "/nonexistent",    "--shell",      "/usr/sbin/nologin",
                    "--comment",         "mailroom daemon", (char *)name,   NULL};
    char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    int status = 0;
    /* another mailroom started at the same moment may hold /etc/passwd's
     * lock, or have made the user already */
    for (int tries = 0; tries < 5 && !getpwnam(name); tries++) {
        pid_t pid;
        if (tries)
            usleep(200 * 1000);
        int e = posix_spawn(&pid, argv[0], NULL, NULL, argv, envp);
        if (e != 0)
            return fail(cli, MR_EIO, "user", "cannot run %s to create the user %s: %s", argv[0],
                        name, strerror(e));
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            break;
    }
    if (!getpwnam(name))
        return fail(cli, MR_EIO, "user",
                    "useradd could not create the user %s (exit %d): create it yourself, or "
                    "name another with --user",
                    name, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 0; /* made by another */
    say(cli, "user", name, NULL, "created the system user");
    return 0;
}

/* An entry of a directory root made for mailroom: a file with a second
 * name elsewhere (a hard link to /etc/shadow, say) or a symlink is left
 * alone. Returns -1 with errno set. */
static int give_tree(int dfd, uid_t uid, gid_t gid, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            rc = -1;
        else if (S_ISDIR(st.st_mode) && depth < MR_HANDOVER_DEPTH) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            rc = sub < 0 || fchown(sub, uid, gid) != 0 ? -1 : give_tree(sub, uid, gid, depth + 1);
        } else if (S_ISREG(st.st_mode) && st.st_nlink == 1)
            rc = fchownat(dirfd(d), e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW);
    }
    int saved = errno;
    closedir(d);
    errno = saved;
    return rc;
}

/* Root's own directory, given to mailroom: only one that is new, empty or
 * a mailroom store, and that no one but root could have put things in. */
static int hand_over(struct mr_cli *cli, int dfd, const struct stat *st, const struct passwd *pw,
                     int made)
{
    const char *dir = cli->data_dir;
    int ours = faccessat(dfd, "mailroom.db", F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
               faccessat(dfd, "master.key", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
    if (!ours) {
        int probe = dup(dfd);
        DIR *d = probe < 0 ? NULL : fdopendir(probe);
        struct dirent *e;
        ours = 1;
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                ours = 0;
        if (d)
            closedir(d);
        else if (probe >= 0)
            close(probe);
    }
    if (!ours)
        return fail(cli, MR_EINVAL, "data",
                    "%s belongs to root and holds no mailroom store, "
                    "and mailroom does not run as root: choose an "
                    "empty or new directory, or chown -R %s: it",
                    dir, pw->pw_name);
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return fail(cli, MR_EINVAL, "data",
                    "%s is writable by its group or others (mode "
                    "%04o): chmod 700 it, then start again",
                    dir, (unsigned)(st->st_mode & 07777));
    int tree = -1; /* give_tree closes it */
    if (fchown(dfd, pw->pw_uid, pw->pw_gid) != 0 || (tree = dup(dfd)) < 0 ||
        give_tree(tree, pw->pw_uid, pw->pw_gid, 0) != 0)
        return fail(cli, MR_EIO, "data", "cannot give %s to the user %s: %s", dir, pw->pw_name,
                    strerror(errno));
    say(cli, "data", pw->pw_name, dir,
        made ? "created the data directory" : "gave the data directory");
    return 0;
}

static int drop_to(struct mr_cli *cli, const struct passwd *pw)
{
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0)
        return fail(cli, MR_EIO, "user", "cannot switch to the user %s: %s", pw->pw_name,
                    strerror(errno));
    if (setuid(0) == 0 || geteuid() == 0) /* root must be gone for good */
        abort();
    return 0;
}

int mr_cli_run_as(struct mr_cli *cli, const char *user)
{
    const char *dir = mr_cli_data_dir(cli);
    const char *name = user ? user : MR_SERVICE_USER;
    struct passwd *pw;
    if (geteuid() != 0) {
        pw = user ? getpwnam(user) : NULL;
        if (user && (!pw || pw->pw_uid != geteuid()))
            return fail(cli, MR_EINVAL, "user",
                        "only root can switch to the user %s; "
                        "start mailroom as %s, or as root",
                        user, user);
        return 0;
    }
    /* before, root's default was ./var too: a store there is not left
     * behind for an empty new one */
    struct stat st;
    if (cli->data_default && stat(dir, &st) != 0 && errno == ENOENT &&
        access("var/mailroom.db", F_OK) == 0)
        return fail(cli, MR_EINVAL, "data",
                    "the store is in ./var, and started as root mailroom now keeps it in %s and "
                    "runs as the user %s: move it there (mv var %s; it is given to %s at the "
                    "next start), or name it with --data if every directory above it is open "
                    "to others",
                    dir, name, dir, name);
    int made = 0;
    if (mkdir(dir, 0700) == 0)
        made = 1;
    else if (errno != EEXIST)
        return fail(cli, MR_EIO, "data", "cannot create data directory %s: %s", dir,
                    strerror(errno));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fstat(dfd, &st) != 0) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        if (e == ENOTDIR)
            return fail(cli, MR_EIO, "data", "data directory %s is not a directory", dir);
        return fail(cli, MR_EIO, "data", "cannot open data directory %s: %s", dir, strerror(e));
    }
    int rc = 0;
    if (st.st_uid != 0) {
        /* someone's already: work as its owner, the one the store is for */
        pw = getpwuid(st.st_uid);
        if (!pw)
            rc = fail(cli, MR_EINVAL, "data",
                      "%s belongs to uid %ld, which has no user "
                      "name: chown -R %s: it",
                      dir, (long)st.st_uid, name);
        else if (user && strcmp(user, pw->pw_name) != 0)
            rc = fail(cli, MR_EINVAL, "user",
                      "%s belongs to the user %s, not %s: start "
                      "with --user %s, or chown -R %s: it",
                      dir, pw->pw_name, user, pw->pw_name, user);
    } else {
        pw = getpwnam(name);
        if (!pw && !user && (rc = create_user(cli, name)) == 0)
            pw = getpwnam(name);
        if (!pw && rc == 0)
            rc = fail(cli, MR_EINVAL, "user",
                      "there is no user %s: create one (useradd --system "
                      "--user-group %s), or leave out --user for %s",
                      name, name, MR_SERVICE_USER);
        if (rc == 0 && pw->pw_uid == 0)
            rc = fail(cli, MR_EINVAL, "user",
                      "%s is root, and mailroom does not run as root: "
                      "name an unprivileged user",
                      name);
        if (rc == 0)
            rc = hand_over(cli, dfd, &st, pw, made);
    }
    close(dfd);
    if (rc) {
        if (made)
            rmdir(dir);
        return rc;
    }
    char *pwname = mr_xstrdup(pw->pw_name); /* pw is static: the checks below reuse it */
    rc = drop_to(cli, pw);
    /* a directory above the data that is closed to the user (/root is 0700)
     * would fail every open later, less clearly */
    if (rc == 0 && access(dir, R_OK | W_OK | X_OK) != 0)
        rc = fail(cli, MR_EINVAL, "data",
                  "the user %s, as whom mailroom runs, cannot use %s "
                  "(%s): a directory above it is closed to others; "
                  "choose a data directory it can reach, such as %s",
                  pwname, dir, strerror(errno), MR_ROOT_DATA_DIR);
    free(pwname);
    return rc;
}
