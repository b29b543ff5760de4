/* Shared by the unit tests: temporary directories. */
#ifndef MR_TEST_HELPERS_H
#define MR_TEST_HELPERS_H

/* Makes a fresh private directory under $TMPDIR (or /tmp); caller frees. */
char *mr_test_tempdir(void);
/* Removes the directory tree and frees path. */
void mr_test_rmtree(char *path);

#endif
