/* The outbox in the store: rows written with the message (and skipped for
 * a target's skipped classes), claims that keep a target's order, leases,
 * results and retries, replays, a dead process's leases released; the
 * backoff's bounds; the target model's validation. */
#include "cmocka_all.h"

#include "core/target.h"
#include "deliver/outbox.h"
#include "helpers.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/mem.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
    char *dir;
    struct mr_store *s;
    int64_t account;
};

static int setup(void **state)
{
    struct fixture *f = mr_xcalloc(1, sizeof(*f));
    mr_error err = {0};
    f->dir = mr_test_tempdir();
    if (mr_store_open(&f->s, f->dir, &err) != 0)
        return -1;
    struct mr_credential c;
    mr_credential_init(&c);
    c.name = mr_xstrdup("login");
    c.username = mr_xstrdup("u@example.com");
    assert_int_equal(mr_store_credential_insert(f->s, &c, "sealed", 6, &err), 0);
    struct mr_account a;
    mr_account_init(&a);
    a.name = mr_xstrdup("acc");
    a.address = mr_xstrdup("mail.example.com");
    a.protocol = MR_PROTO_IMAP;
    a.credential_id = c.id;
    assert_int_equal(mr_store_account_insert(f->s, &a, &err), 0);
    f->account = a.id;
    mr_account_clear(&a);
    mr_credential_clear(&c);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mr_store_close(&f->s);
    mr_test_rmtree(f->dir);
    free(f);
    return 0;
}

static int64_t add_target(struct fixture *f, const char *name, int parallel, const char *skip)
{
    struct mr_target t;
    mr_error err = {0};
    mr_target_init(&t);
    t.account_id = f->account;
    t.name = mr_xstrdup(name);
    t.kind = MR_TARGET_MAILDIR;
    t.path = mr_xstrdup("/tmp/md");
    t.parallel = parallel;
    t.skip_classes = mr_xstrdup_or_null(skip);
    assert_int_equal(mr_store_target_insert(f->s, &t, &err), 0);
    int64_t id = t.id;
    mr_target_clear(&t);
    return id;
}

static void add_messages(struct fixture *f, int from, int n, const char *cls)
{
    mr_error err = {0};
    assert_int_equal(mr_store_begin(f->s, &err), 0);
    for (int i = from; i < from + n; i++) {
        struct mr_message m = {0};
        m.account_id = f->account;
        m.uidvalidity = 1;
        m.uid = (uint64_t)i + 1;
        m.sha256[0] = (unsigned char)i;
        m.size = 1;
        m.fetched_at = 1000;
        snprintf(m.msg_class, sizeof(m.msg_class), "%s", cls);
        assert_int_equal(mr_store_message_insert(f->s, &m, NULL, 0, "x", 1, &err), 0);
    }
    assert_int_equal(mr_store_commit(f->s, &err), 0);
}

static size_t count(struct fixture *f, const char *state, int64_t target)
{
    struct mr_delivery_filter flt = {.state = state, .target = target};
    struct mr_delivery *items = NULL;
    size_t n = 0, total = 0;
    mr_error err = {0};
    assert_int_equal(mr_store_delivery_list(f->s, &flt, 0, 1, &items, &n, &total, &err), 0);
    mr_delivery_list_free(&items, n);
    return total;
}

static size_t claim(struct fixture *f, int64_t now, int64_t *target, int64_t *ids)
{
    mr_error err = {0};
    size_t n = 0;
    assert_int_equal(mr_store_begin(f->s, &err), 0);
    assert_int_equal(
        mr_store_outbox_claim(f->s, now, now + 60000, NULL, 0, 32, target, ids, &n, &err), 0);
    assert_int_equal(mr_store_commit(f->s, &err), 0);
    return n;
}

static void result(struct fixture *f, int64_t id, const char *state, int64_t now, int64_t next)
{
    mr_error err = {0};
    assert_int_equal(mr_store_begin(f->s, &err), 0);
    assert_int_equal(
        mr_store_delivery_result(f->s, id, state, now, next, "e", NULL, "r", NULL, &err), 0);
    assert_int_equal(mr_store_commit(f->s, &err), 0);
}

static void rows_written_with_the_message(void **state)
{
    struct fixture *f = *state;
    int64_t all = add_target(f, "all", 0, NULL);
    int64_t tickets = add_target(f, "tickets", 0, "auto, report");
    add_messages(f, 0, 3, "ordinary");
    add_messages(f, 3, 2, "auto");
    add_messages(f, 5, 1, "report");
    assert_int_equal(count(f, "pending", all), 6);
    assert_int_equal(count(f, "pending", tickets), 3);
    assert_int_equal(count(f, "skipped", tickets), 3);
    /* a rolled-back store leaves no delivery behind */
    mr_error err = {0};
    assert_int_equal(mr_store_begin(f->s, &err), 0);
    struct mr_message m = {0};
    m.account_id = f->account;
    m.uidvalidity = 1;
    m.uid = 99;
    m.size = 1;
    assert_int_equal(mr_store_message_insert(f->s, &m, NULL, 0, "x", 1, &err), 0);
    mr_store_rollback(f->s);
    assert_int_equal(count(f, "pending", all), 6);
    /* a disabled target gets nothing */
    struct mr_target t;
    assert_int_equal(mr_store_target_get(f->s, all, &t, &err), 0);
    t.enabled = 0;
    assert_int_equal(mr_store_target_update(f->s, &t, &err), 0);
    mr_target_clear(&t);
    add_messages(f, 10, 1, "ordinary");
    assert_int_equal(count(f, "pending", all), 6);
    assert_int_equal(count(f, "pending", tickets), 4);
}

static void an_ordered_target_waits_for_its_oldest(void **state)
{
    struct fixture *f = *state;
    int64_t t = add_target(f, "ordered", 0, NULL);
    add_messages(f, 0, 5, "ordinary");
    int64_t now = mr_now_wall_ms(), ids[32], target;
    size_t n = claim(f, now, &target, ids);
    assert_int_equal(n, 5);
    assert_int_equal(target, t);
    for (size_t i = 1; i < n; i++)
        assert_true(ids[i] > ids[i - 1]);
    /* leased: nobody else gets any of them */
    assert_int_equal(claim(f, now, &target, ids + 8), 0);
    /* the first is retried later; the others go back: none may overtake it */
    int64_t first = ids[0];
    result(f, first, "pending", now, now + 10000);
    mr_error err = {0};
    assert_int_equal(mr_store_begin(f->s, &err), 0);
    assert_int_equal(mr_store_delivery_release(f->s, ids + 1, 4, &err), 0);
    assert_int_equal(mr_store_commit(f->s, &err), 0);
    assert_int_equal(claim(f, now + 1, &target, ids), 0);
    /* when it is due again, it comes first */
    n = claim(f, now + 10001, &target, ids);
    assert_int_equal(n, 5);
    assert_int_equal(ids[0], first);
    /* a failed one does not block the rest */
    result(f, ids[0], "failed", now, now);
    assert_int_equal(mr_store_delivery_release(f->s, ids + 1, 4, &err), 0);
    n = claim(f, now + 10002, &target, ids);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        result(f, ids[i], "delivered", now, now);
    assert_int_equal(count(f, "delivered", t), 4);
    assert_int_equal(count(f, "failed", t), 1);
    int64_t next;
    assert_int_equal(mr_store_outbox_next_due(f->s, &next, &err), 0);
    assert_true(next == INT64_MAX);
}

static void a_parallel_target_hands_out_what_is_due(void **state)
{
    struct fixture *f = *state;
    add_target(f, "parallel", 1, NULL);
    add_messages(f, 0, 4, "ordinary");
    int64_t now = mr_now_wall_ms(), ids[32], more[32], target;
    mr_error err = {0};
    assert_int_equal(mr_store_begin(f->s, &err), 0);
    size_t n = 0;
    assert_int_equal(
        mr_store_outbox_claim(f->s, now, now + 60000, NULL, 0, 2, &target, ids, &n, &err), 0);
    assert_int_equal(mr_store_commit(f->s, &err), 0);
    assert_int_equal(n, 2);
    result(f, ids[0], "pending", now, now + 5000); /* retried later */
    /* the other two are not held up by it */
    n = claim(f, now, &target, more);
    assert_int_equal(n, 2);
    assert_true(more[0] > ids[1]);
}

static void replay_and_recover(void **state)
{
    struct fixture *f = *state;
    int64_t t = add_target(f, "t", 0, NULL);
    add_messages(f, 0, 3, "ordinary");
    int64_t now = mr_now_wall_ms(), ids[32], target;
    size_t n = claim(f, now, &target, ids);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        result(f, ids[i], "failed", now, now);
    assert_int_equal(count(f, "failed", t), 3);
    struct mr_delivery_filter flt = {.target = t, .message = 0};
    mr_error err = {0};
    size_t replayed = 0;
    assert_int_equal(mr_store_delivery_replay(f->s, &flt, now, &replayed, &err), 0);
    assert_int_equal(replayed, 3);
    assert_int_equal(count(f, "pending", t), 3);
    /* a process that died holding leases: they are released */
    n = claim(f, now, &target, ids);
    assert_int_equal(n, 3);
    char *path = mr_xasprintf("%s/mailroom.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    char *sql = mr_xasprintf("UPDATE deliveries SET lease_owner = '%s:999999999'", host);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    free(sql);
    free(path);
    assert_int_equal(claim(f, now, &target, ids), 0);
    size_t freed = 0;
    assert_int_equal(mr_store_outbox_recover(f->s, &freed, &err), 0);
    assert_int_equal(freed, 3);
    assert_int_equal(claim(f, now, &target, ids), 3);
    /* this process's own leases stay */
    assert_int_equal(mr_store_outbox_recover(f->s, &freed, &err), 0);
    assert_int_equal(freed, 0);
}

static void removing_a_target_removes_its_deliveries(void **state)
{
    struct fixture *f = *state;
    int64_t t = add_target(f, "t", 0, NULL);
    add_messages(f, 0, 2, "ordinary");
    mr_error err = {0};
    assert_int_equal(mr_store_target_delete(f->s, t, &err), 0);
    assert_int_equal(count(f, NULL, 0), 0);
    /* and an account's deletion with its messages takes targets and rows */
    t = add_target(f, "u", 0, NULL);
    add_messages(f, 10, 2, "ordinary");
    assert_int_equal(mr_store_account_delete(f->s, f->account, 1, &err), 0);
    assert_int_equal(count(f, NULL, 0), 0);
}

static void backoff_grows_within_its_bounds(void **state)
{
    (void)state;
    for (int i = 0; i < 50; i++) {
        int64_t first = mr_outbox_backoff_ms(1, 1);
        assert_true(first >= MR_OUTBOX_RETRY_FIRST_MS * 4 / 5);
        assert_true(first <= MR_OUTBOX_RETRY_FIRST_MS * 6 / 5);
        int64_t late = mr_outbox_backoff_ms(40, 1);
        assert_true(late >= MR_OUTBOX_RETRY_CAP_MS * 4 / 5);
        assert_true(late <= MR_OUTBOX_RETRY_CAP_MS * 6 / 5);
        assert_true(mr_outbox_backoff_ms(3, 1000) <= 60);
    }
}

static void validation(void **state)
{
    (void)state;
    static const struct {
        const char *kind, *key, *value, *field;
    } bad[] = {
        {"webhook", "url", "http://example.com/", "url"},
        {"webhook", "url", "https:///nohost", "url"},
        {"webhook", "stop_status", "410,abc", "stop_status"},
        {"maildir", "path", "", "path"},
        {"maildir", "path", "rel/dir", "path"},
        {"command", "command", "", "command"},
        {"command", "command", "a\nb", "command"},
        {"lmtp", "recipients", "a@b,<x>@y", "recipients"},
        {"lmtp", "recipients", "a@b,@y", "recipients"},
        {"lmtp", "recipients", "", "recipients"},
        {"maildir", "skip_classes", "spam", "skip_classes"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mr_target t;
        struct mr_problems p = {0};
        mr_target_init(&t);
        t.name = mr_xstrdup("t");
        mr_target_set(&t, "kind", bad[i].kind, &p);
        if (strcmp(bad[i].kind, "webhook") == 0 && strcmp(bad[i].key, "url") != 0)
            mr_target_set(&t, "url", "https://example.com/h", &p);
        if (strcmp(bad[i].kind, "maildir") == 0 && strcmp(bad[i].key, "path") != 0)
            mr_target_set(&t, "path", "/tmp/md", &p);
        if (strcmp(bad[i].kind, "lmtp") == 0)
            mr_target_set(&t, "host", "127.0.0.1", &p);
        mr_target_set(&t, bad[i].key, bad[i].value, &p);
        mr_target_validate(&t, 1, &p);
        assert_true(mr_problems_has(&p, bad[i].field));
        mr_target_clear(&t);
    }
    struct mr_target t;
    struct mr_problems p = {0};
    mr_target_init(&t);
    assert_int_equal(mr_target_set(&t, "timeout", "0", &p), MR_EINVAL);
    assert_int_equal(mr_target_set(&t, "parallel", "maybe", &p), MR_EINVAL);
    t.kind = MR_TARGET_WEBHOOK;
    assert_true(mr_target_is_stop_status(&t, 410));
    assert_false(mr_target_is_stop_status(&t, 406));
    t.stop_status = mr_xstrdup(" 406 , 410");
    assert_true(mr_target_is_stop_status(&t, 406));
    assert_false(mr_target_is_stop_status(&t, 500));
    t.skip_classes = mr_xstrdup("auto,report");
    assert_true(mr_target_skips(&t, "auto"));
    assert_false(mr_target_skips(&t, "ordinary"));
    assert_false(mr_target_skips(&t, ""));
    mr_target_clear(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rows_written_with_the_message, setup, teardown),
        cmocka_unit_test_setup_teardown(an_ordered_target_waits_for_its_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(a_parallel_target_hands_out_what_is_due, setup, teardown),
        cmocka_unit_test_setup_teardown(replay_and_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(removing_a_target_removes_its_deliveries, setup, teardown),
        cmocka_unit_test(backoff_grows_within_its_bounds),
        cmocka_unit_test(validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
