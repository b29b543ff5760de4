/* Shared by the unit tests: temporary directories. */
#ifndef MR_TEST_HELPERS_H
#define MR_TEST_HELPERS_H

/* Makes a fresh private directory under $TMPDIR (or /tmp); caller frees. */
char *mr_test_tempdir(void);
/* Removes the directory tree and frees path. */
void mr_test_rmtree(char *path);

/* A fresh store in a private directory, as cmocka setup and teardown:
 * *state becomes a struct mr_test_store. */
struct mr_store;
struct mr_test_store {
    char *dir;
    struct mr_store *s;
};
int mr_test_store_setup(void **state);
int mr_test_store_teardown(void **state);

#endif
