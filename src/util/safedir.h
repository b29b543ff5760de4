/* Writing files into a directory that someone else might try to redirect:
 * the directory must lie under a base, belong to this process's user and be
 * writable by nobody else, and is reached one component at a time without
 * following symlinks; a file goes in under an unpredictable temporary name
 * created with O_EXCL|O_NOFOLLOW, synced, and renamed into place. Every
 * problem is reported on the field "directory". */
#ifndef MR_UTIL_SAFEDIR_H
#define MR_UTIL_SAFEDIR_H

#include "util/error.h"

#include <stddef.h>

/* base resolved to an absolute path without symlinks into *out (the
 * caller frees), created (mode 0700) when missing; its parent must exist. */
int mr_safedir_base(const char *base, char **out, mr_error *err);

/* Opens dir (an absolute path) for mr_safedir_write into *fd, an
 * O_DIRECTORY descriptor the caller closes. base is created (mode 0700)
 * when missing, its parent must exist. dir must be base or under it once
 * both are resolved (realpath: "..", ".", symlinks); base and every
 * directory from it down to dir must belong to this process's user and not
 * be writable by group or others. outside_hint ends the message of a dir
 * outside base (how to choose another base); "" for none. */
int mr_safedir_open(const char *base, const char *dir, const char *outside_hint, int *fd,
                    mr_error *err);

/* Writes data as dirfd/name (name: a plain file name, no '/'), all or
 * nothing: a new file 0600 under a random temporary name in the same
 * directory, fsync'ed, renamed over name, then the directory fsync'ed. dir
 * is dirfd's path, for messages. */
int mr_safedir_write(int dirfd, const char *dir, const char *name, const void *data, size_t len,
                     mr_error *err);

#endif
