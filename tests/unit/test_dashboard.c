/* The dashboard's store queries: the counts split the accounts as the
 * report's filters do, the series put each check and delivery in its
 * bucket, and every query reads the history and the outbox through an
 * index (EXPLAIN QUERY PLAN), never a scan of the whole table. */
#include "cmocka_all.h"

#include "helpers.h"
#include "store/store.h"
#include "store/store_private.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void exec(struct mr_store *s, const char *sql)
{
    mr_error err = {0};
    if (mr_store_exec(s, sql, &err) != 0)
        fail_msg("%s: %s", sql, err.message);
}

static void account(struct mr_store *s, int id, const char *name, int enabled, int credential)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO accounts (id, name, keep_copy, automatic_check, check_interval, enabled,"
             " address, protocol, use_connector, credential_id, skip_certificate, security,"
             " created_at, updated_at) VALUES (%d, '%s', 1, 1, 300, %d, 'imap.example.com',"
             " 'imap', 0, %d, 0, 'tls', 0, 0)",
             id, name, enabled, credential);
    exec(s, sql);
}

static void run(struct mr_store *s, int account, const char *result, long long ended, int fetched)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO fetch_runs (account_id, started_at, ended_at, result, fetched, error)"
             " VALUES (%d, %lld, %lld, '%s', %d, %s)",
             account, ended - 1, ended, result, fetched,
             strcmp(result, "error") == 0 ? "'login failed'" : "NULL");
    exec(s, sql);
}

static void test_counts_split_accounts(void **state)
{
    struct mr_test_store *f = *state;
    struct mr_store *s = f->s;
    exec(s, "INSERT INTO credentials (id, name, username, secret, created_at, updated_at)"
            " VALUES (1, 'pw', 'u', x'00', 0, 0)");
    exec(s, "INSERT INTO credentials (id, name, kind, username, secret, created_at, updated_at,"
            " oauth, token_state) VALUES (2, 'revoked', 'oauth2', 'u', x'00', 0, 0,"
            " '{\"flow\":\"delegated\",\"provider\":\"microsoft\"}', 'consent_needed')");
    exec(s, "INSERT INTO credentials (id, name, kind, username, secret, created_at, updated_at,"
            " oauth) VALUES (3, 'app', 'oauth2', 'u', x'00', 0, 0,"
            " '{\"flow\":\"app\",\"provider\":\"microsoft\"}')");
    exec(s, "INSERT INTO credentials (id, name, kind, username, secret, created_at, updated_at,"
            " oauth) VALUES (4, 'new', 'oauth2', 'u', x'00', 0, 0,"
            " '{\"provider\":\"google\"}')");
    account(s, 1, "ok", 1, 1);
    account(s, 2, "failing", 1, 1);
    account(s, 3, "recovered", 1, 1);
    account(s, 4, "off-and-failing", 0, 1);
    account(s, 5, "never", 1, 1);
    account(s, 6, "consent", 1, 2);
    account(s, 7, "app-only", 1, 3);
    account(s, 8, "not-signed-in", 1, 4);
    run(s, 1, "ok", 1000, 3);
    run(s, 2, "ok", 1000, 1);
    run(s, 2, "error", 2000, 0);
    run(s, 2, "running", 3000, 0); /* a running check does not hide the failure */
    run(s, 3, "error", 1000, 0);
    run(s, 3, "ok", 2000, 2);
    run(s, 4, "error", 1000, 0);
    run(s, 6, "error", 1000, 0);
    run(s, 7, "ok", 1000, 0);

    struct mr_dashboard d;
    mr_error err = {0};
    assert_int_equal(mr_store_dashboard(s, 20, &d, &err), 0);
    assert_int_equal(d.accounts, 8);
    assert_int_equal(d.disabled, 1);
    assert_int_equal(d.failing, 2); /* failing, consent */
    assert_int_equal(d.ok, 5);      /* ok, recovered, never, app-only, not-signed-in */
    assert_int_equal(d.ok + d.failing + d.disabled, d.accounts);
    assert_int_equal(d.never_checked, 2);
    assert_int_equal(d.needs_consent, 2); /* consent, not-signed-in; not app-only */
    assert_int_equal(d.credentials, 4);
    assert_true(d.checked_ok);
    assert_int_equal(d.nfailing, 2);
    assert_string_equal(d.failing_list[0].name, "consent");
    assert_string_equal(d.failing_list[1].name, "failing");
    assert_int_equal(d.nconsent, 2);
    assert_string_equal(d.consent_list[0].name, "consent");
    assert_string_equal(d.consent_list[0].credential_name, "revoked");
    assert_int_equal(d.consent_list[1].credential_id, 4);
    mr_dashboard_clear(&d);

    assert_int_equal(mr_store_dashboard(s, 1, &d, &err), 0); /* the list's limit */
    assert_int_equal(d.nfailing, 1);
    assert_int_equal(d.failing, 2);
    mr_dashboard_clear(&d);
}

static void test_series_buckets(void **state)
{
    struct mr_test_store *f = *state;
    struct mr_store *s = f->s;
    exec(s, "INSERT INTO credentials (id, name, username, secret, created_at, updated_at)"
            " VALUES (1, 'pw', 'u', x'00', 0, 0)");
    account(s, 1, "a", 1, 1);
    const long long t0 = 1000000; /* buckets of 100 s from t0 */
    run(s, 1, "ok", t0 - 1, 50);  /* before */
    run(s, 1, "ok", t0, 2);       /* bucket 0 */
    run(s, 1, "error", t0 + 99, 0);
    run(s, 1, "ok", t0 + 250, 7); /* bucket 2 */
    run(s, 1, "error", t0 + 299, 0);
    run(s, 1, "error", t0 + 300, 0); /* after the last */
    exec(s, "INSERT INTO messages (id, account_id, sha256, size, fetched_at, status)"
            " VALUES (1, 1, x'00', 1, 0, 'stored')");
    exec(s, "INSERT INTO delivery_targets (id, account_id, name, kind, created_at, updated_at)"
            " VALUES (1, 1, 't', 'maildir', 0, 0)");
    /* ms; pending from created_ms until done_ms */
    const char *rows[] = {
        /* before the window, still pending: all three buckets */
        "(1, 'e1', 'pending', 500000000, NULL)",
        /* created before, delivered in bucket 1: bucket 0 */
        "(2, 'e2', 'delivered', 900000000, 1000150000)",
        /* created and delivered in bucket 0: none */
        "(3, 'e3', 'delivered', 1000010000, 1000020000)",
        /* created in bucket 1, failed in bucket 2: bucket 1 */
        "(4, 'e4', 'failed', 1000110000, 1000210000)",
        /* created in bucket 2, pending: bucket 2 */
        "(5, 'e5', 'pending', 1000220000, NULL)",
        /* done before the window: none */
        "(6, 'e6', 'delivered', 100000000, 200000000)",
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char sql[512];
        /* one delivery per message and target: a message each */
        snprintf(sql, sizeof(sql),
                 "INSERT OR IGNORE INTO messages (id, account_id, sha256, size, fetched_at,"
                 " status) VALUES (%zu, 1, x'00', 1, 0, 'stored')",
                 i + 1);
        exec(s, sql);
        snprintf(sql, sizeof(sql),
                 "INSERT INTO deliveries (message_id, event_id, state, created_ms, done_ms,"
                 " target_id, account_id, window_ms, next_ms) SELECT column1, column2, column3,"
                 " column4, column5, 1, 1, 0, 0 FROM (VALUES %s)",
                 rows[i]);
        exec(s, sql);
    }
    struct mr_dashboard_bucket b[3];
    mr_error err = {0};
    assert_int_equal(mr_store_dashboard_series(s, t0, 100, 3, b, &err), 0);
    assert_int_equal(b[0].start, t0);
    assert_int_equal(b[2].start, t0 + 200);
    assert_int_equal(b[0].fetched, 2);
    assert_int_equal(b[0].checks, 2);
    assert_int_equal(b[0].failures, 1);
    assert_int_equal(b[1].checks, 0);
    assert_int_equal(b[2].fetched, 7);
    assert_int_equal(b[2].failures, 1);
    assert_int_equal(b[0].backlog, 2); /* e1, e2 */
    assert_int_equal(b[1].backlog, 2); /* e1, e4 */
    assert_int_equal(b[2].backlog, 2); /* e1, e5 */

    struct mr_dashboard d;
    assert_int_equal(mr_store_dashboard(s, 20, &d, &err), 0);
    assert_int_equal(d.pending, 2);
    assert_int_equal(d.failed, 1);
    assert_true(d.deliveries);
    mr_dashboard_clear(&d);
}

/* Every step on the history and the outbox is an index search (or a scan
 * of a partial index holding only pending or failed deliveries). */
static void test_plans_use_indexes(void **state)
{
    struct mr_test_store *f = *state;
    struct mr_buf b;
    mr_error err = {0};
    mr_buf_init(&b, 1 << 20);
    assert_int_equal(mr_store_dashboard_plans(f->s, &b, &err), 0);
    mr_buf_putc(&b, '\0');
    if (getenv("MR_SHOW_PLANS"))
        fputs(b.data, stderr);
    char *save = NULL;
    int lines = 0;
    for (char *line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lines++;
        if (strncmp(line, "SCAN ", 5) != 0)
            continue;
        const char *what = line + 5;
        int on_history = strncmp(what, "fetch_runs", 10) == 0 || strncmp(what, "r ", 2) == 0 ||
                         strncmp(what, "deliveries", 10) == 0;
        if (on_history && !strstr(line, "deliveries_pending_since") &&
            !strstr(line, "deliveries_failed"))
            fail_msg("a scan of the history or the outbox: %s", line);
    }
    assert_true(lines > 10);
    mr_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_split_accounts, mr_test_store_setup,
                                        mr_test_store_teardown),
        cmocka_unit_test_setup_teardown(test_series_buckets, mr_test_store_setup,
                                        mr_test_store_teardown),
        cmocka_unit_test_setup_teardown(test_plans_use_indexes, mr_test_store_setup,
                                        mr_test_store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
