#define _XOPEN_SOURCE 700
#include "helpers.h"

#include "store/store.h"
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

int mr_test_store_setup(void **state)
{
    struct mr_test_store *f = mr_xcalloc(1, sizeof(*f));
    mr_error err = {0};
    f->dir = mr_test_tempdir();
    if (mr_store_open(&f->s, f->dir, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.message);
        return -1;
    }
    *state = f;
    return 0;
}

int mr_test_store_teardown(void **state)
{
    struct mr_test_store *f = *state;
    mr_store_close(&f->s);
    mr_test_rmtree(f->dir);
    free(f);
    return 0;
}
