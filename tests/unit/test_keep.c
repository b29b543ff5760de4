/* Kept sessions (fetch/keep.c): what is kept, for whom, how many, and for
 * how long. The sessions here are bare session structs behind a driver that
 * only records how it was closed: the cache never talks to the server
 * except through the driver (integration: tests/api/test_scheduler.py
 * keeps real sessions to Dovecot). */
#include "cmocka_all.h"

#include "fetch/keep.h"
#include "net/conn.h"
#include "proto/session.h"
#include "util/clock.h"
#include "util/mem.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int closed, goodbyes;

static int fake_close(struct mr_mailbox **mbp, mr_error *err)
{
    closed++;
    goodbyes += err != NULL;
    free((*mbp)->s.conn);
    free(*mbp);
    *mbp = NULL;
    return 0;
}

static int fake_reuse(struct mr_mailbox *mb, const struct mr_mailbox_config *cfg,
                      struct mr_mailbox_status *st, mr_error *err)
{
    (void)mb, (void)cfg, (void)st, (void)err;
    return 0;
}

static const struct mr_mailbox_driver kept_driver = {
    .name = "fake", .close = fake_close, .reuse = fake_reuse};
static const struct mr_mailbox_driver unkept_driver = {.name = "fake-pop3", .close = fake_close};

static struct mr_mailbox *session(const char *host, int port)
{
    struct mr_mailbox *mb = mr_xcalloc(1, sizeof(*mb));
    mb->driver = &kept_driver;
    mb->s.conn = mr_xcalloc(1, sizeof(*mb->s.conn));
    snprintf(mb->s.conn->host, sizeof(mb->s.conn->host), "%s", host);
    mb->s.conn->port = port;
    mb->s.opened_ms = mr_now_ms();
    return mb;
}

static void fp_of(const char *password, unsigned char fp[32])
{
    struct mr_mailbox_config c = {.host = "imap.example.com",
                                  .port = 993,
                                  .username = "u",
                                  .password = password,
                                  .folder = "INBOX"};
    mr_keep_fingerprint(&c, fp);
}

static int setup(void **state)
{
    (void)state;
    closed = goodbyes = 0;
    return 0;
}

static void test_fingerprint(void **state)
{
    (void)state;
    unsigned char a[32], b[32], c[32], zero[32] = {0};
    fp_of("one", a);
    fp_of("one", b);
    fp_of("two", c);
    assert_memory_equal(a, b, 32);
    assert_memory_not_equal(a, c, 32);
    assert_memory_not_equal(a, zero, 32);
    struct mr_mailbox_config x = {.host = "h", .folder = NULL}, y = {.host = "h", .folder = ""};
    mr_keep_fingerprint(&x, a);
    mr_keep_fingerprint(&y, b);
    assert_memory_not_equal(a, b, 32); /* no folder and an empty one differ */
    struct mr_proxy p = {.type = MR_PROXY_SOCKS5, .host = "proxy", .port = 1080};
    y.folder = NULL;
    y.proxy = &p;
    mr_keep_fingerprint(&y, b);
    assert_memory_not_equal(a, b, 32); /* through a proxy is another session */
}

static void test_taken_back_once_with_the_same_settings(void **state)
{
    (void)state;
    struct mr_keep *k = mr_keep_new(10, 10, 1);
    unsigned char fp[32], other[32];
    fp_of("secret", fp);
    fp_of("changed", other);
    struct mr_mailbox *mb = session("a", 993);
    assert_int_equal(mr_keep_put(k, 7, fp, 60, mb), 1);
    assert_int_equal(mr_keep_count(k), 1);
    assert_ptr_equal(mb->s.cfg->password, NULL); /* it no longer points at the run's settings */
    assert_null(mr_keep_take(k, 8, fp));         /* another account's */
    assert_ptr_equal(mr_keep_take(k, 7, fp), mb);
    assert_null(mr_keep_take(k, 7, fp)); /* once */
    assert_int_equal(mr_keep_count(k), 0);
    /* kept again, then asked for with other settings: logged out, not given */
    assert_int_equal(mr_keep_put(k, 7, fp, 60, mb), 1);
    assert_null(mr_keep_take(k, 7, other));
    assert_int_equal(closed, 1);
    assert_int_equal(goodbyes, 1);
    assert_int_equal(mr_keep_count(k), 0);
    mr_keep_free(&k);
    assert_null(k);
}

static void test_bounds(void **state)
{
    (void)state;
    struct mr_keep *k = mr_keep_new(4, 2, 1);
    unsigned char fp[32], zero[32] = {0};
    fp_of("secret", fp);
    struct mr_mailbox *a1 = session("a", 993), *a2 = session("a", 993), *a3 = session("a", 993);
    assert_int_equal(mr_keep_put(k, 1, fp, 60, a1), 1);
    assert_int_equal(mr_keep_put(k, 2, fp, 60, a2), 1);
    assert_int_equal(mr_keep_put(k, 3, fp, 60, a3), 0); /* two on server a already */
    struct mr_mailbox *a4 = session("a", 143);          /* another port, another server */
    assert_int_equal(mr_keep_put(k, 4, fp, 60, a4), 1);
    struct mr_mailbox *b1 = session("b", 993), *b2 = session("b", 993);
    assert_int_equal(mr_keep_put(k, 5, fp, 60, b1), 1);
    assert_int_equal(mr_keep_put(k, 6, fp, 60, b2), 0); /* four in all */
    assert_int_equal(mr_keep_count(k), 4);
    assert_ptr_equal(mr_keep_take(k, 1, fp), a1); /* room on a again */
    assert_int_equal(mr_keep_put(k, 3, fp, 60, a3), 1);
    /* never kept: checked less often than every 20 minutes, no interval, a
     * driver that cannot reuse (POP3), no fingerprint, too old a login */
    struct mr_mailbox *c = session("c", 993);
    assert_ptr_equal(mr_keep_take(k, 4, fp), a4);
    assert_int_equal(mr_keep_put(k, 9, fp, MR_KEEP_MAX_IDLE_S + 1, c), 0);
    assert_int_equal(mr_keep_put(k, 9, fp, 0, c), 0);
    assert_int_equal(mr_keep_put(k, 9, zero, 60, c), 0);
    c->driver = &unkept_driver;
    assert_int_equal(mr_keep_put(k, 9, fp, 60, c), 0);
    c->driver = &kept_driver;
    c->s.opened_ms = mr_now_ms() - (int64_t)MR_KEEP_MAX_AGE_S * 1000 + 30000;
    assert_int_equal(mr_keep_put(k, 9, fp, 60, c), 0); /* the next check would be past the hour */
    assert_int_equal(mr_keep_put(k, 9, fp, 20, c), 1); /* this one is not */
    assert_int_equal(closed, 0);
    mr_keep_free(&k); /* logs out a2, a3, b1, c */
    assert_int_equal(closed, 4);
    assert_int_equal(goodbyes, 4);
    fake_close(&a1, NULL);
    fake_close(&a4, NULL);
    fake_close(&b2, NULL);
}

static void test_expired_sessions_are_logged_out(void **state)
{
    (void)state;
    struct mr_keep *k = mr_keep_new(10, 10, 1000); /* 1 s is 1 ms, a minute's grace 60 ms */
    unsigned char fp[32];
    fp_of("secret", fp);
    struct mr_mailbox *soon = session("a", 993), *later = session("a", 993);
    assert_int_equal(mr_keep_put(k, 1, fp, 1, soon), 1);
    assert_int_equal(mr_keep_put(k, 2, fp, 1000, later), 1); /* 1 s + 60 ms */
    mr_keep_expire(k);
    assert_int_equal(mr_keep_count(k), 2);
    usleep(150 * 1000);
    mr_keep_expire(k);
    assert_int_equal(mr_keep_count(k), 1);
    assert_int_equal(closed, 1);
    assert_null(mr_keep_take(k, 1, fp));
    assert_ptr_equal(mr_keep_take(k, 2, fp), later);
    fake_close(&later, NULL);
    mr_keep_free(&k);
    assert_int_equal(closed, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_fingerprint, setup),
        cmocka_unit_test_setup(test_taken_back_once_with_the_same_settings, setup),
        cmocka_unit_test_setup(test_bounds, setup),
        cmocka_unit_test_setup(test_expired_sessions_are_logged_out, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
