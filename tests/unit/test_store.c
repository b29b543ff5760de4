/* The SQLite store: opening, permissions, migrations, round trips of every
 * object, uniqueness, refusing to delete what is in use, the report's
 * filters and paging, and transactions. */
#include "cmocka_all.h"

#include "helpers.h"
#include "store/store.h"
#include "store/store_private.h"
#include "util/mem.h"

#include "core/schedule.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int64_t add_credential(struct mr_store *s, const char *name)
{
    struct mr_credential c;
    mr_error err = {0};
    mr_credential_init(&c);
    c.name = mr_xstrdup(name);
    c.username = mr_xasprintf("%s@example.com", name);
    assert_int_equal(mr_store_credential_insert(s, &c, "sealed", 6, &err), 0);
    int64_t id = c.id;
    mr_credential_clear(&c);
    return id;
}

static int64_t add_connector(struct mr_store *s, const char *name, int64_t cred)
{
    struct mr_connector c;
    mr_error err = {0};
    mr_connector_init(&c);
    c.name = mr_xstrdup(name);
    c.type = MR_CONNECTOR_SOCKS5;
    c.address = mr_xstrdup("proxy.internal");
    c.port = 1080;
    c.credential_id = cred;
    assert_int_equal(mr_store_connector_insert(s, &c, &err), 0);
    int64_t id = c.id;
    mr_connector_clear(&c);
    return id;
}

static void make_account(struct mr_account *a, const char *name, int64_t cred)
{
    mr_account_init(a);
    a->name = mr_xstrdup(name);
    a->address = mr_xstrdup("imap.example.com");
    a->protocol = MR_PROTO_IMAP;
    a->credential_id = cred;
}

static int64_t add_account(struct mr_store *s, struct mr_account *a)
{
    mr_error err = {0};
    int rc = mr_store_account_insert(s, a, &err);
    if (rc)
        fail_msg("insert: %s", err.message);
    return a->id;
}

static void test_open_creates_private_files(void **state)
{
    struct mr_test_store *f = *state;
    struct stat st;
    char *db = mr_xasprintf("%s/%s", f->dir, MR_STORE_DB_NAME);
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(mr_store_schema_version(f->s), mr_store_latest_schema_version());
    free(db);
    /* a new nested directory is made 0700 */
    char *sub = mr_xasprintf("%s/sub", f->dir);
    struct mr_store *s2 = NULL;
    mr_error err = {0};
    assert_int_equal(mr_store_open(&s2, sub, &err), 0);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    mr_store_close(&s2);
    free(sub);
}

static void test_reopen_keeps_data_and_version(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    int64_t id = add_credential(f->s, "kept");
    mr_store_close(&f->s);
    assert_int_equal(mr_store_open(&f->s, f->dir, &err), 0);
    assert_int_equal(mr_store_schema_version(f->s), mr_store_latest_schema_version());
    struct mr_credential c;
    assert_int_equal(mr_store_credential_get(f->s, id, &c, &err), 0);
    assert_string_equal(c.name, "kept");
    mr_credential_clear(&c);
}

static void set_user_version(const char *dir, int v)
{
    sqlite3 *db;
    char *path = mr_xasprintf("%s/%s", dir, MR_STORE_DB_NAME);
    char *sql = mr_xasprintf("PRAGMA user_version = %d", v);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    free(sql);
    free(path);
}

/* The named migration's SQL applied again to the closed store's file, as
 * opening a store from before it would apply it. */
static void rerun_migration(const char *dir, const char *name)
{
    for (size_t i = 0; i < mr_store_migration_count; i++) {
        if (strcmp(mr_store_migrations[i].name, name) != 0)
            continue;
        sqlite3 *db;
        char *path = mr_xasprintf("%s/%s", dir, MR_STORE_DB_NAME);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, mr_store_migrations[i].sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        free(path);
        return;
    }
    fail_msg("no migration named '%s'", name);
}

static void test_newer_schema_is_refused(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    mr_store_close(&f->s);
    set_user_version(f->dir, mr_store_latest_schema_version() + 1);
    assert_int_equal(mr_store_open(&f->s, f->dir, &err), MR_ESTORE);
    assert_null(f->s);
    assert_non_null(strstr(err.message, "newer than this mailroom"));
}

/* The SMTP relay's migration to STARTTLS: a store that would send a
 * credential's password in clear (none, or nothing set, which meant none)
 * requires STARTTLS after it; a relay without a credential keeps none. */
static const char *migrated_security(struct mr_test_store *f, const char *security, int64_t cred,
                                     char out[16])
{
    mr_error err = {0};
    struct mr_smtp_settings m = {.host = "relay.example.com", .from = "m@example.com"};
    m.security = (char *)security;
    m.credential_id = cred;
    assert_int_equal(mr_store_smtp_set(f->s, &m, &err), 0);
    mr_store_close(&f->s);
    rerun_migration(f->dir, "SMTP relay: STARTTLS unless the admin says otherwise");
    assert_int_equal(mr_store_open(&f->s, f->dir, &err), 0);
    assert_int_equal(mr_store_smtp_get(f->s, &m, &err), 0);
    snprintf(out, 16, "%s", m.security ? m.security : "(null)");
    mr_smtp_settings_clear(&m);
    return out;
}

static void test_smtp_relay_migrates_to_starttls(void **state)
{
    struct mr_test_store *f = *state;
    char buf[16];
    int64_t cred = add_credential(f->s, "relay");
    assert_string_equal(migrated_security(f, "none", cred, buf), "starttls");
    assert_string_equal(migrated_security(f, NULL, cred, buf), "starttls");
    assert_string_equal(migrated_security(f, "tls", cred, buf), "tls");
    assert_string_equal(migrated_security(f, NULL, 0, buf), "none");
    assert_string_equal(migrated_security(f, "none", 0, buf), "none");
}

static void test_corrupt_file_is_refused(void **state)
{
    char *dir = mr_test_tempdir();
    char *path = mr_xasprintf("%s/%s", dir, MR_STORE_DB_NAME);
    FILE *fp = fopen(path, "w");
    for (int i = 0; i < 200; i++)
        fputs("this is not a database, just some text\n", fp);
    fclose(fp);
    struct mr_store *s = NULL;
    mr_error err = {0};
    assert_int_equal(mr_store_open(&s, dir, &err), MR_ESTORE);
    assert_null(s);
    assert_non_null(strstr(err.message, "not a mailroom database"));
    assert_non_null(strstr(err.message, path));
    free(path);
    mr_test_rmtree(dir);
    (void)state;
}

static void test_data_dir_that_is_a_file(void **state)
{
    struct mr_test_store *f = *state;
    char *file = mr_xasprintf("%s/plain-file", f->dir);
    FILE *fp = fopen(file, "w");
    fclose(fp);
    struct mr_store *s = NULL;
    mr_error err = {0};
    assert_int_equal(mr_store_open(&s, file, &err), MR_EIO);
    assert_non_null(strstr(err.message, "not a directory"));
    free(file);
}

static void test_credential_round_trip(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    int64_t id = add_credential(f->s, "support");
    struct mr_credential c;
    struct mr_buf sealed;
    mr_buf_init(&sealed, 1024);
    assert_int_equal(mr_store_credential_get(f->s, id, &c, &err), 0);
    assert_string_equal(c.name, "support");
    assert_string_equal(c.username, "support@example.com");
    assert_true(c.has_secret);
    assert_true(c.created_at > 0);
    /* update without a new secret keeps the old one */
    free(c.username);
    c.username = mr_xstrdup("other@example.com");
    assert_int_equal(mr_store_credential_update(f->s, &c, NULL, 0, &err), 0);
    assert_int_equal(mr_store_credential_secret(f->s, id, &sealed, &err), 0);
    assert_int_equal(sealed.len, 6);
    assert_memory_equal(sealed.data, "sealed", 6);
    mr_buf_reset(&sealed);
    assert_int_equal(mr_store_credential_update(f->s, &c, "new", 3, &err), 0);
    assert_int_equal(mr_store_credential_secret(f->s, id, &sealed, &err), 0);
    assert_memory_equal(sealed.data, "new", 3);
    mr_credential_clear(&c);
    assert_int_equal(mr_store_credential_get(f->s, id, &c, &err), 0);
    assert_string_equal(c.username, "other@example.com");
    mr_credential_clear(&c);
    mr_buf_free(&sealed);
    struct mr_credential *items;
    size_t n;
    add_credential(f->s, "second");
    assert_int_equal(mr_store_credential_list(f->s, &items, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(items[1].name, "second");
    mr_credential_list_free(&items, n);
    assert_int_equal(mr_store_credential_delete(f->s, id, &err), 0);
    assert_int_equal(mr_store_credential_get(f->s, id, &c, &err), MR_ENOTFOUND);
    assert_int_equal(mr_store_credential_delete(f->s, id, &err), MR_ENOTFOUND);
}

static void test_connector_round_trip(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    int64_t cred = add_credential(f->s, "proxy-login");
    int64_t id = add_connector(f->s, "corp", cred);
    struct mr_connector c;
    assert_int_equal(mr_store_connector_get(f->s, id, &c, &err), 0);
    assert_string_equal(c.name, "corp");
    assert_int_equal(c.type, MR_CONNECTOR_SOCKS5);
    assert_int_equal(c.port, 1080);
    assert_int_equal(c.credential_id, cred);
    c.type = MR_CONNECTOR_HTTP;
    c.port = 3128;
    c.credential_id = 0;
    assert_int_equal(mr_store_connector_update(f->s, &c, &err), 0);
    mr_connector_clear(&c);
    assert_int_equal(mr_store_connector_get(f->s, id, &c, &err), 0);
    assert_int_equal(c.type, MR_CONNECTOR_HTTP);
    assert_int_equal(c.port, 3128);
    assert_int_equal(c.credential_id, 0);
    mr_connector_clear(&c);
}

static void test_account_round_trip(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    int64_t cred = add_credential(f->s, "c");
    int64_t conn = add_connector(f->s, "p", 0);
    struct mr_account a, b;
    make_account(&a, "Fully Set", cred);
    a.keep_copy = 0;
    a.automatic_check = 0;
    a.interval = 45;
    a.enabled = 0;
    a.port = 10993;
    a.protocol = MR_PROTO_IMAP;
    a.use_connector = 1;
    a.connector_id = conn;
    a.skip_certificate = 1;
    a.security = MR_SEC_STARTTLS_OPTIONAL;
    a.folder = mr_xstrdup("INBOX/Support");
    a.auth = mr_xstrdup("SCRAM-SHA-256");
    int64_t id = add_account(f->s, &a);
    assert_int_equal(mr_store_account_get(f->s, id, &b, &err), 0);
    assert_string_equal(b.name, a.name);
    assert_string_equal(b.address, a.address);
    assert_string_equal(b.folder, a.folder);
    assert_string_equal(b.auth, a.auth);
    assert_int_equal(b.keep_copy, 0);
    assert_int_equal(b.automatic_check, 0);
    assert_int_equal(b.interval, 45);
    assert_int_equal(b.enabled, 0);
    assert_int_equal(b.port, 10993);
    assert_int_equal(b.protocol, MR_PROTO_IMAP);
    assert_int_equal(b.use_connector, 1);
    assert_int_equal(b.connector_id, conn);
    assert_int_equal(b.credential_id, cred);
    assert_int_equal(b.skip_certificate, 1);
    assert_int_equal(b.security, MR_SEC_STARTTLS_OPTIONAL);
    mr_account_clear(&b);
    /* defaults stored as such: NULL port, folder and auth */
    struct mr_account d;
    make_account(&d, "Defaults", cred);
    d.protocol = MR_PROTO_POP3;
    int64_t did = add_account(f->s, &d);
    assert_int_equal(mr_store_account_get(f->s, did, &b, &err), 0);
    assert_int_equal(b.port, 0);
    assert_int_equal(mr_account_port(&b), 995);
    assert_null(b.folder);
    assert_null(b.auth);
    assert_int_equal(b.connector_id, 0);
    mr_account_clear(&b);
    /* update */
    free(a.name);
    a.name = mr_xstrdup("Renamed");
    a.port = 0;
    assert_int_equal(mr_store_account_update(f->s, &a, &err), 0);
    assert_int_equal(mr_store_account_get(f->s, id, &b, &err), 0);
    assert_string_equal(b.name, "Renamed");
    assert_int_equal(b.port, 0);
    mr_account_clear(&b);
    mr_account_clear(&a);
    mr_account_clear(&d);
    assert_int_equal(mr_store_account_delete(f->s, id, 0, &err), 0);
    assert_int_equal(mr_store_account_get(f->s, id, &b, &err), MR_ENOTFOUND);
}

static void test_names_are_unique_ignoring_case(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    int64_t cred = add_credential(f->s, "Support");
    struct mr_credential c;
    mr_credential_init(&c);
    c.name = mr_xstrdup("SUPPORT");
    c.username = mr_xstrdup("x");
    assert_int_equal(mr_store_credential_insert(f->s, &c, "s", 1, &err), MR_EEXIST);
    assert_non_null(strstr(err.message, "a credential named 'SUPPORT' already exists"));
    mr_credential_clear(&c);
    int taken = 0;
    assert_int_equal(mr_store_name_taken(f->s, MR_OBJ_CREDENTIAL, "support", 0, &taken, &err), 0);
    assert_true(taken);
    assert_int_equal(mr_store_name_taken(f->s, MR_OBJ_CREDENTIAL, "support", cred, &taken, &err),
                     0);
    assert_false(taken); /* its own name */
    struct mr_account a, b;
    make_account(&a, "Alerts", cred);
    add_account(f->s, &a);
    make_account(&b, "alerts", cred);
    assert_int_equal(mr_store_account_insert(f->s, &b, &err), MR_EEXIST);
    assert_string_equal(err.field, "name");
    mr_account_clear(&a);
    mr_account_clear(&b);
}

static void test_resolve_by_id_and_name(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    int64_t cred = add_credential(f->s, "Mixed Case");
    int64_t id = 0;
    char text[24];
    snprintf(text, sizeof(text), "%lld", (long long)cred);
    assert_int_equal(mr_store_resolve(f->s, MR_OBJ_CREDENTIAL, text, &id, &err), 0);
    assert_int_equal(id, cred);
    id = 0;
    assert_int_equal(mr_store_resolve(f->s, MR_OBJ_CREDENTIAL, "mixed case", &id, &err), 0);
    assert_int_equal(id, cred);
    assert_int_equal(mr_store_resolve(f->s, MR_OBJ_CREDENTIAL, "nope", &id, &err), MR_ENOTFOUND);
    assert_string_equal(err.message, "no credential named 'nope'");
    assert_int_equal(mr_store_resolve(f->s, MR_OBJ_ACCOUNT, "42", &id, &err), MR_ENOTFOUND);
    assert_string_equal(err.message, "no account with ID 42");
}

static void test_in_use_cannot_be_deleted(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    int64_t cred = add_credential(f->s, "shared");
    int64_t proxy_cred = add_credential(f->s, "proxy-login");
    int64_t conn = add_connector(f->s, "corp", proxy_cred);
    struct mr_account a;
    make_account(&a, "Helpdesk", cred);
    a.use_connector = 1;
    a.connector_id = conn;
    int64_t id = add_account(f->s, &a);
    mr_account_clear(&a);

    assert_int_equal(mr_store_credential_delete(f->s, cred, &err), MR_EINUSE);
    assert_non_null(strstr(err.message, "account Helpdesk"));
    assert_int_equal(mr_store_credential_delete(f->s, proxy_cred, &err), MR_EINUSE);
    assert_non_null(strstr(err.message, "network connector corp"));
    assert_int_equal(mr_store_connector_delete(f->s, conn, &err), MR_EINUSE);
    assert_non_null(strstr(err.message, "account Helpdesk"));

    assert_int_equal(mr_store_account_delete(f->s, id, 0, &err), 0);
    assert_int_equal(mr_store_set_default_connector(f->s, conn, &err), 0);
    assert_int_equal(mr_store_connector_delete(f->s, conn, &err), MR_EINUSE);
    assert_non_null(strstr(err.message, "default connector"));
    assert_int_equal(mr_store_set_default_connector(f->s, 0, &err), 0);
    int64_t def = -1;
    assert_int_equal(mr_store_default_connector(f->s, &def, &err), 0);
    assert_int_equal(def, 0);
    assert_int_equal(mr_store_connector_delete(f->s, conn, &err), 0);
    assert_int_equal(mr_store_credential_delete(f->s, cred, &err), 0);
    assert_int_equal(mr_store_credential_delete(f->s, proxy_cred, &err), 0);
}

static void test_accounts_on_default_connector(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    int64_t cred = add_credential(f->s, "c");
    int64_t conn = add_connector(f->s, "corp", 0);
    assert_int_equal(mr_store_set_default_connector(f->s, conn, &err), 0);
    struct mr_account a;
    make_account(&a, "Through default", cred);
    a.use_connector = 1;
    add_account(f->s, &a);
    mr_account_clear(&a);
    struct mr_buf names;
    mr_buf_init(&names, 1024);
    assert_int_equal(mr_store_accounts_on_default(f->s, &names, &err), 0);
    assert_string_equal(names.data, "Through default");
    mr_buf_reset(&names);
    assert_int_equal(mr_store_users_of(f->s, MR_OBJ_CONNECTOR, conn, &names, &err), 0);
    assert_non_null(strstr(names.data, "account Through default (through the default)"));
    mr_buf_free(&names);
}

/* 65 accounts whose flags follow i; the store's filter must agree with a
 * count made here for every combination. */
static void test_report_filters_and_paging(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    int64_t cred = add_credential(f->s, "c");
    for (int i = 1; i <= 65; i++) {
        struct mr_account a;
        char name[32];
        snprintf(name, sizeof(name), "%s-%02d", i % 5 == 0 ? "Support" : "alerts", i);
        make_account(&a, name, cred);
        a.security = (enum mr_security)(i % 4);
        a.automatic_check = i % 2;
        a.keep_copy = i % 3 != 0;
        a.enabled = i % 7 != 0;
        add_account(f->s, &a);
        mr_account_clear(&a);
    }
    const enum mr_tristate values[] = {MR_ANY, MR_NO, MR_YES};
    const char *names[] = {NULL, "support", "ALERTS-0", "nothing"};
    for (int n = 0; n < 4; n++)
        for (int s = 0; s < 3; s++)
            for (int ac = 0; ac < 3; ac++)
                for (int k = 0; k < 3; k++)
                    for (int e = 0; e < 3; e++) {
                        struct mr_account_filter flt = {names[n],  values[s], values[ac],
                                                        values[k], values[e], MR_ANY};
                        size_t expected = 0;
                        for (int i = 1; i <= 65; i++) {
                            int is_support = i % 5 == 0;
                            if ((n == 1 && !is_support) || (n == 2 && (is_support || i >= 10)) ||
                                n == 3)
                                continue;
                            if ((flt.secure >= 0 && (i % 4 != 0) != flt.secure) ||
                                (flt.automatic_check >= 0 && i % 2 != flt.automatic_check) ||
                                (flt.keep_copy >= 0 && (i % 3 != 0) != flt.keep_copy) ||
                                (flt.enabled >= 0 && (i % 7 != 0) != flt.enabled))
                                continue;
                            expected++;
                        }
                        struct mr_account *items;
                        size_t got, total;
                        assert_int_equal(
                            mr_store_account_list(f->s, &flt, 0, 0, &items, &got, &total, &err), 0);
                        assert_int_equal(total, expected);
                        assert_int_equal(got, expected);
                        mr_account_list_free(&items, got);
                    }
    struct mr_account_filter all;
    mr_account_filter_init(&all);
    size_t sizes[3] = {30, 30, 5};
    int64_t last = 0;
    for (size_t page = 0; page < 3; page++) {
        struct mr_account *items;
        size_t got, total;
        assert_int_equal(
            mr_store_account_list(f->s, &all, page * 30, 30, &items, &got, &total, &err), 0);
        assert_int_equal(total, 65);
        assert_int_equal(got, sizes[page]);
        assert_true(items[0].id > last); /* ordered by ID, pages do not overlap */
        last = items[got - 1].id;
        mr_account_list_free(&items, got);
    }
}

static void test_rollback_leaves_nothing(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    assert_int_equal(mr_store_begin(f->s, &err), 0);
    add_credential(f->s, "temporary");
    mr_store_rollback(f->s);
    int64_t id;
    assert_int_equal(mr_store_resolve(f->s, MR_OBJ_CREDENTIAL, "temporary", &id, &err),
                     MR_ENOTFOUND);
    assert_int_equal(mr_store_begin(f->s, &err), 0);
    add_credential(f->s, "kept");
    assert_int_equal(mr_store_commit(f->s, &err), 0);
    assert_int_equal(mr_store_resolve(f->s, MR_OBJ_CREDENTIAL, "kept", &id, &err), 0);
}

static void test_meta(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    struct mr_buf out;
    mr_buf_init(&out, 64);
    assert_int_equal(mr_store_meta_get(f->s, "k", &out, &err), MR_ENOTFOUND);
    assert_int_equal(mr_store_meta_set(f->s, "k", "\0\1\2", 3, &err), 0);
    assert_int_equal(mr_store_meta_get(f->s, "k", &out, &err), 0);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "\0\1\2", 3);
    mr_buf_free(&out);
}

/* Runs the history holds for the status; the helper backdates a run. */
static int64_t finished_run(struct mr_store *s, int64_t account, const char *result)
{
    mr_error err = {0};
    struct mr_fetch_run r = {0};
    assert_int_equal(mr_store_run_start(s, account, &r.id, &err), 0);
    snprintf(r.result, sizeof(r.result), "%s", result);
    r.error = strcmp(result, "error") == 0 ? "connection refused" : NULL;
    assert_int_equal(mr_store_run_finish(s, &r, &err), 0);
    return r.id;
}

static void backdate_run(const char *dir, int64_t run, int64_t days)
{
    char *path = mr_xasprintf("%s/%s", dir, MR_STORE_DB_NAME);
    char *sql = mr_xasprintf("UPDATE fetch_runs SET started_at = started_at - %lld,"
                             " ended_at = ended_at - %lld WHERE id = %lld",
                             (long long)days * 86400, (long long)days * 86400, (long long)run);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    free(sql);
    free(path);
}

static void test_status_and_history_pruning(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    struct mr_account a, b;
    struct mr_check_status st;
    int64_t cred = add_credential(f->s, "login");
    make_account(&a, "a", cred);
    make_account(&b, "b", cred);
    int64_t ida = add_account(f->s, &a), idb = add_account(f->s, &b);
    int64_t r1 = finished_run(f->s, ida, "ok"), r2 = finished_run(f->s, ida, "error");
    finished_run(f->s, ida, "error");
    int64_t r4 = finished_run(f->s, idb, "ok");
    backdate_run(f->dir, r1, 100);
    backdate_run(f->dir, r2, 100);
    backdate_run(f->dir, r4, 100);

    assert_int_equal(mr_store_check_status(f->s, ida, &st, &err), 0);
    assert_string_equal(st.last_result, "error");
    assert_int_equal(st.failures, 2);
    assert_int_equal(st.running, 0);
    int64_t running;
    assert_int_equal(mr_store_run_start(f->s, idb, &running, &err), 0);
    assert_int_equal(mr_store_check_status(f->s, idb, &st, &err), 0);
    assert_string_equal(st.last_result, "ok"); /* the last finished one */
    assert_int_equal(st.running, 1);

    /* the error and its said come from the same run */
    struct mr_fetch_run said_run = {0};
    assert_int_equal(mr_store_run_start(f->s, ida, &said_run.id, &err), 0);
    snprintf(said_run.result, sizeof(said_run.result), "error");
    said_run.error = "the server refused the connection: busy";
    said_run.error_said = "[{\"format\":\"the server refused the connection: %s\","
                          "\"args\":[\"busy\"]}]";
    assert_int_equal(mr_store_run_finish(f->s, &said_run, &err), 0);
    char *said = NULL;
    assert_int_equal(mr_store_check_status_said(f->s, ida, &st, &said, &err), 0);
    assert_string_equal(st.last_error, said_run.error);
    assert_non_null(said);
    assert_string_equal(said, said_run.error_said);
    mr_freep(&said);
    finished_run(f->s, ida, "ok"); /* a success: no error, so no said */
    assert_int_equal(mr_store_check_status_said(f->s, ida, &st, &said, &err), 0);
    assert_string_equal(st.last_error, "");
    assert_null(said);
    finished_run(f->s, ida, "error"); /* an error said in English only */
    assert_int_equal(mr_store_check_status_said(f->s, ida, &st, &said, &err), 0);
    assert_string_equal(st.last_error, "connection refused");
    assert_null(said);

    int64_t deleted = -1;
    assert_int_equal(mr_store_prune_history(f->s, (int64_t)time(NULL) - 90 * 86400, &deleted, &err),
                     0);
    assert_int_equal(deleted, 2); /* r1, r2; not r4, b's only finished run */
    assert_int_equal(mr_store_check_status(f->s, ida, &st, &err), 0);
    assert_string_equal(st.last_result, "error");
    assert_int_equal(st.failures, 1);
    assert_int_equal(mr_store_check_status(f->s, idb, &st, &err), 0);
    assert_string_equal(st.last_result, "ok");
    assert_int_equal(st.running, 1);
    mr_account_clear(&a);
    mr_account_clear(&b);
}

/* A due report is taken by one runner only. */
static void test_schedule_claim_is_exclusive(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    struct mr_schedule c;
    mr_schedule_init(&c);
    c.name = mr_xstrdup("weekly");
    c.filters = mr_xstrdup("{}");
    c.format = mr_xstrdup("csv");
    c.recurrence = MR_REC_HOURS;
    c.every_hours = 1;
    c.recipients = mr_xstrdup("ops@example.com");
    int64_t now = (int64_t)time(NULL);
    c.next_run_at = now - 10;
    assert_int_equal(mr_store_schedule_insert(f->s, &c, &err), 0);
    int first = 0, second = 0;
    assert_int_equal(mr_store_schedule_claim(f->s, c.id, now, now + 3600, &first, &err), 0);
    assert_int_equal(mr_store_schedule_claim(f->s, c.id, now, now + 3600, &second, &err), 0);
    assert_int_equal(first, 1);
    assert_int_equal(second, 0);
    struct mr_schedule got;
    assert_int_equal(mr_store_schedule_get(f->s, c.id, &got, &err), 0);
    assert_int_equal(got.next_run_at, now + 3600);
    mr_schedule_clear(&got);
    mr_schedule_clear(&c);
}

/* The name filter is a substring match in which %, _ and \ are just
 * characters, and ASCII case does not count. */
static void test_name_filter_takes_wildcards_literally(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    int64_t cred = add_credential(f->s, "c");
    const char *names[] = {"Sales 100% off", "Sales 1000 off", "a_b", "axb",
                           "back\\slash",    "backslash"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct mr_account a;
        make_account(&a, names[i], cred);
        add_account(f->s, &a);
        mr_account_clear(&a);
    }
    const struct {
        const char *filter;
        size_t matches;
    } cases[] = {{"100%", 1}, {"SALES 10", 2}, {"a_b", 1},   {"_", 1},
                 {"k\\s", 1}, {"%", 1},        {"sales", 2}, {"x", 1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mr_account_filter flt;
        mr_account_filter_init(&flt);
        flt.name = cases[i].filter;
        struct mr_account *items;
        size_t got, total;
        assert_int_equal(mr_store_account_list(f->s, &flt, 0, 0, &items, &got, &total, &err), 0);
        if (total != cases[i].matches)
            fail_msg("'%s' matched %zu, not %zu", cases[i].filter, total, cases[i].matches);
        mr_account_list_free(&items, got);
    }
}

/* Deep inbox pages by number start from the per-block counts (migration
 * 9): the same messages as an OFFSET over every newer one, for the whole
 * inbox and one status, and still after an account's messages are gone. */
static void compare_deep_pages(struct mr_store *s, size_t count)
{
    static const size_t offsets[] = {0, 4095, 4096, 4097, 5000, 8191, 8192, 9000, 9990, 20000};
    static const char *statuses[] = {NULL, "stored", "parse_failed"};
    mr_error err = {0};
    for (size_t o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++)
        for (size_t k = 0; k < 3; k++) {
            struct mr_message_filter fast = {.status = statuses[k]};
            struct mr_message_filter slow = {.status = statuses[k], .since = 1};
            struct mr_message *a, *b;
            size_t na, nb, ta, tb;
            assert_int_equal(mr_store_message_list(s, &fast, offsets[o], 30, &a, &na, &ta, &err),
                             0);
            assert_int_equal(mr_store_message_list(s, &slow, offsets[o], 30, &b, &nb, &tb, &err),
                             0);
            assert_int_equal(ta, tb);
            assert_int_equal(na, nb);
            for (size_t i = 0; i < na; i++)
                if (a[i].id != b[i].id)
                    fail_msg("offset %zu status %s row %zu: %lld, not %lld (of %zu)", offsets[o],
                             statuses[k] ? statuses[k] : "any", i, (long long)a[i].id,
                             (long long)b[i].id, count);
            mr_message_list_free(&a, na);
            mr_message_list_free(&b, nb);
        }
}

static void test_deep_inbox_pages(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    int64_t cred = add_credential(f->s, "c");
    int64_t accounts[2];
    for (int i = 0; i < 2; i++) {
        struct mr_account a;
        make_account(&a, i ? "second" : "first", cred);
        accounts[i] = add_account(f->s, &a);
        mr_account_clear(&a);
    }
    assert_int_equal(mr_store_begin(f->s, &err), 0);
    for (int i = 0; i < 12000; i++) {
        struct mr_message m = {0};
        m.account_id = accounts[i % 3 == 0];
        m.uidvalidity = 1;
        m.uid = (uint64_t)i + 1;
        m.sha256[0] = (unsigned char)i;
        m.sha256[1] = (unsigned char)(i >> 8);
        m.size = 1;
        m.fetched_at = 1000 + i;
        m.status = i % 7 == 0 ? MR_MSG_PARSE_FAILED : MR_MSG_STORED;
        assert_int_equal(mr_store_message_insert(f->s, &m, NULL, 0, "x", 1, &err), 0);
    }
    assert_int_equal(mr_store_commit(f->s, &err), 0);
    /* the counters the insert keeps (migration 10) agree with the rows */
    size_t n = 0;
    assert_int_equal(mr_store_message_count(f->s, accounts[0], &n, &err), 0);
    assert_int_equal(n, 8000);
    assert_int_equal(mr_store_message_count(f->s, accounts[1], &n, &err), 0);
    assert_int_equal(n, 4000);
    compare_deep_pages(f->s, 12000);
    assert_int_equal(mr_store_account_delete(f->s, accounts[1], 1, &err), 0);
    compare_deep_pages(f->s, 8000);
}

static void insert_big_messages(struct mr_store *s, int64_t account, int from, int count,
                                size_t size)
{
    mr_error err = {0};
    char *raw = mr_xmalloc(size);
    memset(raw, 'x', size);
    assert_int_equal(mr_store_begin(s, &err), 0);
    for (int i = from; i < from + count; i++) {
        struct mr_message m = {0};
        m.account_id = account;
        m.uidvalidity = 1;
        m.uid = (uint64_t)i + 1;
        m.sha256[0] = (unsigned char)i;
        m.size = (int64_t)size;
        m.fetched_at = 1000 + i;
        m.status = MR_MSG_STORED;
        assert_int_equal(mr_store_message_insert(s, &m, NULL, 0, raw, size, &err), 0);
    }
    assert_int_equal(mr_store_commit(s, &err), 0);
    free(raw);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* While a checkpointer runs, the WAL reaches the database by its thread
 * (the writer's commits only wake it); after it stops, commits go on as
 * before (the WAL hook it set is gone: under ASan a dangling one fails). */
static void test_checkpointer_copies_the_wal(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    struct mr_account a;
    make_account(&a, "big", add_credential(f->s, "c"));
    int64_t account = add_account(f->s, &a);
    mr_account_clear(&a);
    char *db = mr_xasprintf("%s/mailroom.db", f->dir);
    off_t before = file_size(db);
    struct mr_checkpointer *c = NULL;
    assert_int_equal(mr_checkpointer_start(f->s, &c, &err), 0);
    assert_non_null(c);
    for (int t = 0; t < 4; t++) /* 4 commits of 6 MiB: over 256 frames of 64 KiB */
        insert_big_messages(f->s, account, t * 12, 12, 512 * 1024);
    off_t after = before;
    for (int i = 0; i < 500 && after < before + (16 << 20); i++) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
        after = file_size(db);
    }
    mr_checkpointer_stop(&c);
    assert_null(c);
    if (after < before + (16 << 20))
        fail_msg("the database grew from %lld to %lld bytes: no checkpoint", (long long)before,
                 (long long)after);
    insert_big_messages(f->s, account, 48, 4, 512 * 1024);
    size_t n = 0;
    assert_int_equal(mr_store_message_count(f->s, account, &n, &err), 0);
    assert_int_equal(n, 52);
    free(db);
}

/* A long fetch commits batch after batch: past 64 MiB of WAL the writer
 * lets the checkpointer catch up, and the WAL starts over instead of growing
 * with everything written (it reached the size of the whole fetch). */
static void test_checkpointer_bounds_the_wal(void **state)
{
    struct mr_test_store *f = *state;
    mr_error err = {0};
    struct mr_account a;
    make_account(&a, "long", add_credential(f->s, "c"));
    int64_t account = add_account(f->s, &a);
    mr_account_clear(&a);
    char *wal = mr_xasprintf("%s/mailroom.db-wal", f->dir);
    struct mr_checkpointer *c = NULL;
    assert_int_equal(mr_checkpointer_start(f->s, &c, &err), 0);
    assert_non_null(c);
    off_t largest = 0;
    for (int t = 0; t < 16; t++) { /* 16 commits of 8 MiB: twice the bound */
        insert_big_messages(f->s, account, t * 8, 8, 1024 * 1024);
        off_t now = file_size(wal);
        if (now > largest)
            largest = now;
    }
    mr_checkpointer_stop(&c);
    /* the bound, one more commit, and the frames' headers */
    if (largest > (off_t)(64 + 8 + 1) << 20)
        fail_msg("the WAL grew to %lld bytes for 128 MiB written", (long long)largest);
    size_t n = 0;
    assert_int_equal(mr_store_message_count(f->s, account, &n, &err), 0);
    assert_int_equal(n, 128);
    free(wal);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, mr_test_store_setup, mr_test_store_teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_creates_private_files),
        T(test_reopen_keeps_data_and_version),
        T(test_newer_schema_is_refused),
        T(test_smtp_relay_migrates_to_starttls),
        T(test_corrupt_file_is_refused),
        T(test_data_dir_that_is_a_file),
        T(test_credential_round_trip),
        T(test_connector_round_trip),
        T(test_account_round_trip),
        T(test_names_are_unique_ignoring_case),
        T(test_resolve_by_id_and_name),
        T(test_in_use_cannot_be_deleted),
        T(test_accounts_on_default_connector),
        T(test_report_filters_and_paging),
        T(test_name_filter_takes_wildcards_literally),
        T(test_deep_inbox_pages),
        T(test_checkpointer_copies_the_wal),
        T(test_checkpointer_bounds_the_wal),
        T(test_rollback_leaves_nothing),
        T(test_meta),
        T(test_status_and_history_pruning),
        T(test_schedule_claim_is_exclusive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
