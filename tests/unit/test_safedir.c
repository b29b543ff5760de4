/* Files written where someone else might redirect them (util/safedir.h):
 * only under the base, only into our own directories no one else can write,
 * never through a symlink, all or nothing (the CWE-59 and CWE-377 class). */
#include "cmocka_all.h"

#include "helpers.h"
#include "util/mem.h"
#include "util/safedir.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char *tmp, *base;
};

static int setup(void **state)
{
    struct fixture *f = mr_xcalloc(1, sizeof(*f));
    f->tmp = mr_test_tempdir();
    f->base = mr_xasprintf("%s/base", f->tmp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->base);
    mr_test_rmtree(f->tmp);
    free(f);
    return 0;
}

static void put(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void assert_file(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    assert_string_equal(buf, text);
}

static size_t entries(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_base_is_made_private_and_written_into(void **state)
{
    struct fixture *f = *state;
    mr_error err = {0};
    struct stat st;
    int fd;
    assert_int_equal(mr_safedir_open(f->base, f->base, "", &fd, &err), 0);
    assert_int_equal(stat(f->base, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(mr_safedir_write(fd, f->base, "r.csv", "a,b\r\n", 5, &err), 0);
    close(fd);
    char *path = mr_xasprintf("%s/r.csv", f->base);
    assert_file(path, "a,b\r\n");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(entries(f->base), 1); /* no temporary file left */
    free(path);
}

/* renameat replaces a symlink at the final name, never its target. */
static void test_a_symlink_at_the_name_is_replaced_not_followed(void **state)
{
    struct fixture *f = *state;
    mr_error err = {0};
    int fd;
    char *victim = mr_xasprintf("%s/victim", f->tmp), *link = mr_xasprintf("%s/r.csv", f->base);
    put(victim, "precious");
    assert_int_equal(mkdir(f->base, 0700), 0);
    assert_int_equal(symlink(victim, link), 0);
    assert_int_equal(mr_safedir_open(f->base, f->base, "", &fd, &err), 0);
    assert_int_equal(mr_safedir_write(fd, f->base, "r.csv", "report", 6, &err), 0);
    close(fd);
    assert_file(victim, "precious");
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_file(link, "report");
    free(victim);
    free(link);
}

static void assert_refused(struct fixture *f, const char *dir, const char *words)
{
    mr_error err = {0};
    int fd = 123;
    assert_int_not_equal(mr_safedir_open(f->base, dir, " (hint)", &fd, &err), 0);
    assert_int_equal(fd, -1);
    assert_string_equal(err.field, "directory");
    if (!strstr(err.message, words))
        fail_msg("'%s' lacks '%s'", err.message, words);
}

static void test_only_under_the_base(void **state)
{
    struct fixture *f = *state;
    char *up = mr_xasprintf("%s/..", f->base), *escape = mr_xasprintf("%s/escape", f->base);
    char *sibling = mr_xasprintf("%s/base2", f->tmp);
    assert_int_equal(mkdir(f->base, 0700), 0);
    assert_int_equal(mkdir(sibling, 0700), 0);
    assert_int_equal(symlink("/etc", escape), 0);
    assert_refused(f, "/etc", "is outside");
    assert_refused(f, up, "(hint)");
    assert_refused(f, escape, "is outside");  /* the symlink is resolved first */
    assert_refused(f, sibling, "is outside"); /* base2 starts like base, is not in it */
    free(up);
    free(escape);
    free(sibling);
}

static void test_only_private_directories(void **state)
{
    struct fixture *f = *state;
    char *sub = mr_xasprintf("%s/a", f->base), *deep = mr_xasprintf("%s/a/b", f->base);
    assert_int_equal(mkdir(f->base, 0700), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(mkdir(deep, 0700), 0);
    assert_int_equal(chmod(sub, 0770), 0); /* a directory on the way counts too */
    assert_refused(f, deep, "writable by group or others (mode 0770)");
    assert_int_equal(chmod(sub, 0700), 0);
    assert_int_equal(chmod(f->base, 01777), 0); /* /tmp-like: refused */
    assert_refused(f, deep, "writable by group or others");
    assert_int_equal(chmod(f->base, 0700), 0);
    if (geteuid() == 0) {
        assert_int_equal(chown(deep, 65534, 65534), 0);
        assert_refused(f, deep, "belongs to uid 65534");
    }
    assert_refused(f, "/nonexistent-dir", "does not exist");
    free(sub);
    free(deep);
}

static void test_names_are_plain(void **state)
{
    struct fixture *f = *state;
    mr_error err = {0};
    int fd;
    assert_int_equal(mr_safedir_open(f->base, f->base, "", &fd, &err), 0);
    assert_int_equal(mr_safedir_write(fd, f->base, "../x", "a", 1, &err), MR_EINVAL);
    assert_int_equal(mr_safedir_write(fd, f->base, "..", "a", 1, &err), MR_EINVAL);
    close(fd);
    assert_int_equal(entries(f->base), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_base_is_made_private_and_written_into),
        T(test_a_symlink_at_the_name_is_replaced_not_followed),
        T(test_only_under_the_base),
        T(test_only_private_directories),
        T(test_names_are_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
