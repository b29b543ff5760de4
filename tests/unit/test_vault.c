/* The vault: sealing round trips, the master key's file and variable, a
 * wrong key, a tampered or damaged secret, and key file permissions. */
#include "cmocka_all.h"

#include "helpers.h"
#include "util/mem.h"
#include "vault/vault.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
    unsetenv(MR_VAULT_KEY_ENV);
    *state = mr_test_tempdir();
    return 0;
}

static int teardown(void **state)
{
    unsetenv(MR_VAULT_KEY_ENV);
    mr_test_rmtree(*state);
    return 0;
}

static struct mr_vault *open_ok(const char *dir, int create)
{
    struct mr_vault *v = NULL;
    mr_error err = {0};
    int rc = mr_vault_open(&v, dir, create, &err);
    if (rc)
        fail_msg("vault open: %s", err.message);
    return v;
}

static void seal(struct mr_vault *v, const char *text, struct mr_buf *out)
{
    mr_error err = {0};
    mr_buf_init(out, 1 << 20);
    assert_int_equal(mr_vault_seal(v, text, strlen(text), out, &err), 0);
}

static void test_round_trip(void **state)
{
    struct mr_vault *v = open_ok(*state, 1);
    struct mr_buf sealed;
    struct mr_secret *s = NULL;
    mr_error err = {0};
    seal(v, "correct horse battery staple", &sealed);
    assert_int_equal(sealed.len, 1 + 24 + strlen("correct horse battery staple") + 16);
    assert_null(memmem(sealed.data, sealed.len, "horse", 5)); /* not in clear */
    assert_int_equal(mr_vault_unseal(v, sealed.data, sealed.len, &s, &err), 0);
    assert_string_equal(s->data, "correct horse battery staple");
    assert_int_equal(s->len, 28);
    mr_secret_free(&s);
    assert_null(s);
    /* the same text seals differently each time (random nonce) */
    struct mr_buf again;
    seal(v, "correct horse battery staple", &again);
    assert_memory_not_equal(sealed.data, again.data, sealed.len);
    mr_buf_free(&again);
    mr_buf_free(&sealed);
    mr_vault_close(&v);
    assert_null(v);
}

static void test_key_file_created_private(void **state)
{
    struct mr_vault *v = open_ok(*state, 1);
    char *path = mr_xasprintf("%s/%s", (char *)*state, MR_VAULT_KEY_FILE);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65); /* 64 hex digits and a newline */
    assert_string_equal(mr_vault_key_source(v), path);
    mr_vault_close(&v);
    /* it is read back, not made again */
    struct mr_vault *w = open_ok(*state, 1);
    struct stat st2;
    stat(path, &st2);
    assert_int_equal(st.st_ino, st2.st_ino);
    mr_vault_close(&w);
    free(path);
}

static void test_missing_key_without_create(void **state)
{
    struct mr_vault *v = NULL;
    mr_error err = {0};
    assert_int_equal(mr_vault_open(&v, *state, 0, &err), MR_EVAULT);
    assert_null(v);
    assert_non_null(strstr(err.message, "no master key"));
}

static void test_wrong_key_is_detected(void **state)
{
    struct mr_vault *v = open_ok(*state, 1);
    struct mr_buf check, sealed;
    mr_error err = {0};
    mr_buf_init(&check, 4096);
    assert_int_equal(mr_vault_make_check(v, &check, &err), 0);
    assert_int_equal(mr_vault_verify_check(v, check.data, check.len, &err), 0);
    seal(v, "secret", &sealed);
    mr_vault_close(&v);

    setenv(MR_VAULT_KEY_ENV, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    struct mr_vault *other = open_ok(*state, 0);
    assert_string_equal(mr_vault_key_source(other), "$" MR_VAULT_KEY_ENV);
    assert_int_equal(mr_vault_verify_check(other, check.data, check.len, &err), MR_EVAULT);
    assert_non_null(strstr(err.message, "wrong master key"));
    struct mr_secret *s = NULL;
    assert_int_equal(mr_vault_unseal(other, sealed.data, sealed.len, &s, &err), MR_EVAULT);
    assert_null(s);
    mr_vault_close(&other);
    mr_buf_free(&check);
    mr_buf_free(&sealed);
}

static void test_tampered_and_damaged(void **state)
{
    struct mr_vault *v = open_ok(*state, 1);
    struct mr_buf sealed;
    struct mr_secret *s = NULL;
    mr_error err = {0};
    seal(v, "pa55word", &sealed);
    for (size_t i = 1; i < sealed.len; i++) { /* every byte after the version */
        sealed.data[i] ^= 0x01;
        assert_int_equal(mr_vault_unseal(v, sealed.data, sealed.len, &s, &err), MR_EVAULT);
        assert_null(s);
        sealed.data[i] ^= 0x01;
    }
    assert_int_equal(mr_vault_unseal(v, sealed.data, 10, &s, &err), MR_EVAULT);
    assert_non_null(strstr(err.message, "damaged"));
    sealed.data[0] = 9; /* unknown version */
    assert_int_equal(mr_vault_unseal(v, sealed.data, sealed.len, &s, &err), MR_EVAULT);
    mr_buf_free(&sealed);
    mr_vault_close(&v);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode);
}

static void test_key_file_checks(void **state)
{
    char *path = mr_xasprintf("%s/%s", (char *)*state, MR_VAULT_KEY_FILE);
    struct mr_vault *v = NULL;
    mr_error err = {0};
    write_file(path, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0644);
    assert_int_equal(mr_vault_open(&v, *state, 1, &err), MR_EVAULT);
    assert_non_null(strstr(err.message, "readable by other users"));
    chmod(path, 0600);
    v = open_ok(*state, 0);
    mr_vault_close(&v);
    write_file(path, "not a key\n", 0600);
    assert_int_equal(mr_vault_open(&v, *state, 1, &err), MR_EVAULT);
    assert_non_null(strstr(err.message, "does not hold a master key"));
    write_file(path, "0011", 0600);
    assert_int_equal(mr_vault_open(&v, *state, 1, &err), MR_EVAULT);
    free(path);
}

static void test_bad_env_key(void **state)
{
    struct mr_vault *v = NULL;
    mr_error err = {0};
    setenv(MR_VAULT_KEY_ENV, "xyz", 1);
    assert_int_equal(mr_vault_open(&v, *state, 1, &err), MR_EVAULT);
    assert_non_null(strstr(err.message, "is not a master key"));
    /* and nothing was written while the variable was set */
    char *path = mr_xasprintf("%s/%s", (char *)*state, MR_VAULT_KEY_FILE);
    assert_int_equal(access(path, F_OK), -1);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_file_created_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_key_without_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_is_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_and_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_file_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_env_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
