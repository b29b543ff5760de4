#define _XOPEN_SOURCE 700
#include "helpers.h"

#include "util/mem.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

char *mr_test_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = mr_xasprintf("%s/mailroom-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void mr_test_rmtree(char *path)
{
    if (path)
        nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}
