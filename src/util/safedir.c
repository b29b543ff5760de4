#include "util/safedir.h"

#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMP_TRIES 16 /* random names tried before giving up on EEXIST */

int mr_safedir_base(const char *base, char **out, mr_error *err)
{
    *out = NULL;
    if (!base || !*base)
        return mr_error_set(err, MR_EINVAL, "directory", "no base directory is set");
    *out = realpath(base, NULL);
    if (!*out && errno == ENOENT && mkdir(base, 0700) != 0 && errno != EEXIST)
        return mr_error_set(err, MR_EIO, "directory", "cannot create the base directory %s: %s",
                            base, strerror(errno));
    if (!*out)
        *out = realpath(base, NULL);
    if (!*out)
        return mr_error_set(err, MR_EIO, "directory", "cannot open the base directory %s: %s", base,
                            strerror(errno));
    return 0;
}

static int resolve_dir(const char *dir, char **out, mr_error *err)
{
    *out = realpath(dir, NULL);
    if (*out)
        return 0;
    if (errno == ENOENT)
        return mr_error_set(err, MR_EINVAL, "directory",
                            "%s does not exist: create it (mode 0700) first", dir);
    return mr_error_set(err, MR_EIO, "directory", "cannot open %s: %s", dir, strerror(errno));
}

static int is_under(const char *dir, const char *base)
{
    if (!dir || !base)
        return 0;
    size_t n = strlen(base);
    return strncmp(dir, base, n) == 0 && (n == 1 || dir[n] == '\0' || dir[n] == '/');
}

/* The directory at path (open as fd) belongs to us and only we can write it. */
static int check_private(int fd, const char *path, mr_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return mr_error_set(err, MR_EIO, "directory", "cannot read %s: %s", path, strerror(errno));
    if (st.st_uid != geteuid())
        return mr_error_set(err, MR_EINVAL, "directory",
                            "%s belongs to uid %ld, not to mailroom's user (uid %ld): chown it "
                            "to uid %ld, or choose another directory",
                            path, (long)st.st_uid, (long)geteuid(), (long)geteuid());
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return mr_error_set(err, MR_EINVAL, "directory",
                            "%s is writable by group or others (mode %04o): chmod go-w it, or "
                            "choose another directory",
                            path, (unsigned)(st.st_mode & 07777));
    return 0;
}

/* Opens the resolved path from "/" one component at a time, never through a
 * symlink (one swapped in since realpath makes openat fail), checking every
 * directory from the base (its first base_len bytes) down. */
static int walk(char *path, size_t base_len, int *out, mr_error *err)
{
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
    if (fd < 0)
        return mr_error_set(err, MR_EIO, "directory", "cannot open /: %s", strerror(errno));
    if (base_len == 1)
        rc = check_private(fd, "/", err);
    for (char *c = path + 1; rc == 0 && *c;) {
        char *end = strchrnul(c, '/'), saved = *end;
        *end = '\0';
        int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (next < 0 && errno == EACCES && fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            st.st_uid != geteuid())
            rc = mr_error_set(err, MR_EINVAL, "directory",
                              "%s belongs to uid %ld, not to mailroom's user (uid %ld), who "
                              "cannot open it: chown it to uid %ld, or choose another directory",
                              path, (long)st.st_uid, (long)geteuid(), (long)geteuid());
        else if (next < 0)
            rc = mr_error_set(
                err, MR_EIO, "directory", "cannot open %s: %s%s", path, strerror(errno),
                errno == ELOOP || errno == ENOTDIR ? " (it changed into a symlink)" : "");
        else if ((size_t)(end - path) >= base_len)
            rc = check_private(next, path, err);
        *end = saved;
        close(fd);
        fd = next;
        c = *end ? end + 1 : end;
    }
    if (rc && fd >= 0)
        close(fd);
    *out = rc ? -1 : fd;
    return rc;
}

int mr_safedir_open(const char *base, const char *dir, const char *outside_hint, int *fd,
                    mr_error *err)
{
    char *rbase = NULL, *rdir = NULL;
    *fd = -1;
    int rc = mr_safedir_base(base, &rbase, err);
    if (rc == 0)
        rc = resolve_dir(dir, &rdir, err);
    if (rc == 0 && !is_under(rdir, rbase))
        rc = mr_error_set(err, MR_EINVAL, "directory", "%s is outside %s%s", dir, rbase,
                          outside_hint ? outside_hint : "");
    if (rc == 0 && rdir && rbase)
        rc = walk(rdir, strlen(rbase), fd, err);
    free(rbase);
    free(rdir);
    return rc;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EIO;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A new file no one else named: O_EXCL fails on anything already there,
 * a symlink included, and O_NOFOLLOW refuses a symlink outright. */
static int create_temp(int dirfd, const char *name, char tmp[NAME_MAX + 1])
{
    for (int i = 0; i < TEMP_TRIES; i++) {
        uint64_t r;
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return -1;
        snprintf(tmp, NAME_MAX + 1, ".%.200s.%016llx.tmp", name, (unsigned long long)r);
        int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int mr_safedir_write(int dirfd, const char *dir, const char *name, const void *data, size_t len,
                     mr_error *err)
{
    char tmp[NAME_MAX + 1];
    if (strchr(name, '/') || !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return mr_error_set(err, MR_EINVAL, "directory", "'%s' is not a file name", name);
    int fd = create_temp(dirfd, name, tmp);
    if (fd < 0)
        return mr_error_set(err, MR_EIO, "directory", "cannot create a file in %s: %s", dir,
                            strerror(errno));
    int rc = write_all(fd, data ? data : "", len) == 0 && fsync(fd) == 0 ? 0 : errno;
    if (close(fd) != 0 && rc == 0)
        rc = errno;
    /* renameat replaces whatever is at name, a symlink included, itself: it
     * never follows a symlink there to its target. */
    if (rc == 0 && renameat(dirfd, tmp, dirfd, name) != 0)
        rc = errno;
    if (rc) {
        unlinkat(dirfd, tmp, 0);
        return mr_error_set(err, MR_EIO, "directory", "cannot write %s/%s: %s", dir, name,
                            strerror(rc));
    }
    if (fsync(dirfd) != 0) /* the rename itself survives a crash only once this is done */
        return mr_error_set(err, MR_EIO, "directory", "cannot sync %s: %s", dir, strerror(errno));
    return 0;
}
