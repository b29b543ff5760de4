/* The Maildir transport: the raw bytes, unchanged, written as a new file
 * in DIR/tmp/, synced, renamed into DIR/new/ and the directory synced. DIR
 * and its tmp/ new/ cur/ are made (0700) when missing, and none of them is
 * reached through a symlink. The name is unique: time, microseconds, pid,
 * a counter and random bits, then the host and the Maildir++ size hint. */
#include "deliver/deliver.h"
#include "deliver/transport_private.h"

#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static atomic_uint name_counter;

/* An errno after which a later attempt may well succeed. */
static enum mr_delivery_outcome fs_error(struct mr_delivery_result *r, const char *dir,
                                         const char *doing, int e)
{
    if (e == ENOSPC || e == EDQUOT)
        return mr_dr_set(r, MR_DELIVERY_RETRY, "the disk holding %s is full (%s: %s)", dir, doing,
                         strerror(e));
    if (e == EFBIG)
        return mr_dr_set(r, MR_DELIVERY_RETRY,
                         "%s %s: %s (a file size limit or quota: the disk holding it is full for "
                         "mailroom)",
                         doing, dir, strerror(e));
    if (e == EACCES || e == EPERM)
        return mr_dr_set(r, MR_DELIVERY_RETRY,
                         "%s %s: %s; mailroom runs as uid %ld: give that user write access to "
                         "the directory (or choose one it owns)",
                         doing, dir, strerror(e), (long)geteuid());
    if (e == ELOOP)
        return mr_dr_set(r, MR_DELIVERY_FAIL,
                         "%s %s: it is a symlink, and mailroom follows none in a Maildir: name "
                         "the real directory",
                         doing, dir);
    return mr_dr_set(r, MR_DELIVERY_RETRY, "%s %s: %s", doing, dir, strerror(e));
}

/* Opens name under dirfd as a directory, made (0700) when missing, never
 * through a symlink. -1 with errno set (ELOOP for a symlink). */
static int open_dir(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (mkdirat(dirfd, name, 0700) != 0 && errno != EEXIST)
            return -1;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0 && errno == ENOTDIR) {
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            errno = ELOOP;
    }
    return fd;
}

struct maildir {
    char *dir; /* t->path without trailing slashes */
    int fd, tmp, new_;
};

static void maildir_close(struct maildir *m)
{
    if (m->new_ >= 0)
        close(m->new_);
    if (m->tmp >= 0)
        close(m->tmp);
    if (m->fd >= 0)
        close(m->fd);
    free(m->dir);
}

static int maildir_open(struct maildir *m, const char *path, struct mr_delivery_result *r)
{
    m->fd = m->tmp = m->new_ = -1;
    m->dir = mr_xstrdup(path ? path : "");
    size_t n = strlen(m->dir);
    while (n > 1 && m->dir[n - 1] == '/')
        m->dir[--n] = '\0';
    if (m->dir[0] != '/' || n < 2) {
        mr_dr_set(r, MR_DELIVERY_FAIL, "the Maildir must be an absolute directory, not \"%s\"",
                  m->dir);
        return -1;
    }
    char *slash = strrchr(m->dir, '/');
    char *parent =
        slash == m->dir ? mr_xstrdup("/") : mr_xasprintf("%.*s", (int)(slash - m->dir), m->dir);
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = errno;
    free(parent);
    if (pfd < 0) {
        fs_error(r, m->dir, "cannot open the directory holding", e);
        return -1;
    }
    m->fd = open_dir(pfd, slash + 1);
    e = errno;
    close(pfd);
    if (m->fd < 0) {
        fs_error(r, m->dir, "cannot open", e);
        return -1;
    }
    static const char *const subs[] = {"tmp", "new", "cur"};
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = open_dir(m->fd, subs[i]);
        if (fds[i] < 0) {
            e = errno;
            char *sub = mr_xasprintf("%s/%s", m->dir, subs[i]);
            fs_error(r, sub, "cannot open", e);
            free(sub);
            for (int j = 0; j < i; j++)
                close(fds[j]);
            return -1;
        }
    }
    close(fds[2]);
    m->tmp = fds[0];
    m->new_ = fds[1];
    return 0;
}

/* <sec>.M<usec>P<pid>Q<counter>R<random>.<host>,S=<size>, the host with
 * '/' and ':' written as \057 and \072 (as the Maildir spec asks). */
static void unique_name(size_t size, char *out, size_t cap)
{
    struct timeval tv;
    uint64_t rnd = 0;
    char host[256], safe[1024];
    size_t o = 0;
    gettimeofday(&tv, NULL);
    if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        rnd ^= (uint64_t)tv.tv_usec * 0x9E3779B97F4A7C15ULL;
    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    for (const char *p = host; *p && o + 5 < sizeof(safe); p++) {
        if (*p == '/' || *p == ':')
            o += (size_t)snprintf(safe + o, 5, "\\%03o", (unsigned)(unsigned char)*p);
        else if ((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7F)
            safe[o++] = *p;
    }
    safe[o] = '\0';
    snprintf(out, cap, "%lld.M%06ldP%ldQ%uR%016llx.%.200s,S=%zu", (long long)tv.tv_sec,
             (long)tv.tv_usec, (long)getpid(), atomic_fetch_add(&name_counter, 1) + 1,
             (unsigned long long)rnd, safe, size);
}

static int write_all(int fd, const unsigned char *p, size_t len)
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

/* tmp/name → new/name, never over a file already there. */
static int move_new(const struct maildir *m, const char *name)
{
    if (renameat2(m->tmp, name, m->new_, name, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* a file system without RENAME_NOREPLACE: the name is unique anyway */
    return renameat(m->tmp, name, m->new_, name);
}

static void deliver(const struct maildir *m, const struct mr_delivery_item *it,
                    struct mr_delivery_result *r)
{
    char name[NAME_MAX + 1], shown[PATH_MAX];
    unique_name(it->raw_len, name, sizeof(name));
    snprintf(shown, sizeof(shown), "%s/tmp", m->dir);
    int fd = openat(m->tmp, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        fs_error(r, shown, "cannot create a file in", errno);
        return;
    }
    int ok = write_all(fd, it->raw ? it->raw : (const unsigned char *)"", it->raw_len) == 0;
    const char *doing = "cannot write a file in";
    if (ok && !(ok = fsync(fd) == 0))
        doing = "cannot sync a file in";
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
        doing = "cannot write a file in";
    }
    if (ok && move_new(m, name) != 0) {
        ok = 0;
        e = errno;
        doing = "cannot move the new file into";
        snprintf(shown, sizeof(shown), "%s/new", m->dir);
    }
    if (!ok) {
        unlinkat(m->tmp, name, 0);
        fs_error(r, shown, doing, e);
        return;
    }
    if (fsync(m->new_) != 0) {
        /* renamed but perhaps not durable: say so and try again (a second
         * copy is better than none) */
        e = errno;
        snprintf(shown, sizeof(shown), "%s/new", m->dir);
        fs_error(r, shown, "cannot sync", e);
        return;
    }
    char said[NAME_MAX + 8];
    int n = snprintf(said, sizeof(said), "new/%s", name);
    mr_dr_respond(r, NULL, said, (size_t)n);
}

void mr_deliver_maildir(const struct mr_target *t, const struct mr_delivery_item *it,
                        struct mr_delivery_result *r)
{
    struct maildir m;
    mr_dr_begin(r);
    if (maildir_open(&m, t->path, r) == 0)
        deliver(&m, it, r);
    maildir_close(&m);
}
