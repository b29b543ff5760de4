/* The model's defaults and every validation rule of accounts, credentials and
 * connectors. */
#include "cmocka_all.h"

#include "core/account.h"
#include "core/connector.h"
#include "core/credential.h"
#include "core/filter.h"
#include "core/names.h"

#include <stdlib.h>
#include <string.h>

static const struct mr_account_refs all_exist = {1, 1, 1};

/* A valid IMAP account: what `account add` builds from the minimum flags. */
static void valid_account(struct mr_account *a)
{
    struct mr_problems p = {0};
    mr_account_init(a);
    assert_int_equal(mr_account_set(a, "name", "Support", &p), 0);
    assert_int_equal(mr_account_set(a, "protocol", "imap", &p), 0);
    assert_int_equal(mr_account_set(a, "address", "imap.example.com", &p), 0);
    assert_int_equal(mr_account_set(a, "credential", "1", &p), 0);
    assert_int_equal(p.count, 0);
}

/* Validates a and returns the message for field, or NULL if it has none. */
static const char *problem_for(const struct mr_account *a, const struct mr_account_refs *refs,
                               const char *field, struct mr_problems *p)
{
    memset(p, 0, sizeof(*p));
    mr_account_validate(a, refs, p);
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->items[i].field, field) == 0)
            return p->items[i].message;
    return NULL;
}

static void assert_problem(const struct mr_account *a, const char *field, const char *text)
{
    struct mr_problems p;
    const char *msg = problem_for(a, &all_exist, field, &p);
    assert_non_null(msg);
    assert_non_null(strstr(msg, text));
}

static void test_defaults(void **state)
{
    (void)state;
    struct mr_account a;
    mr_account_init(&a);
    assert_int_equal(a.security, MR_SEC_TLS);
    assert_int_equal(a.keep_copy, 1);
    assert_int_equal(a.automatic_check, 1);
    assert_int_equal(a.interval, 300);
    assert_int_equal(a.enabled, 1);
    assert_int_equal(a.skip_certificate, 0);
    assert_int_equal(a.use_connector, 0);
    assert_int_equal(a.protocol, MR_PROTO_UNSET);
    assert_null(a.auth);
    a.protocol = MR_PROTO_IMAP;
    assert_string_equal(mr_account_folder(&a), "INBOX");
    a.protocol = MR_PROTO_POP3;
    assert_null(mr_account_folder(&a));
}

static void test_default_ports(void **state)
{
    (void)state;
    assert_int_equal(mr_default_port(MR_PROTO_IMAP, MR_SEC_TLS), 993);
    assert_int_equal(mr_default_port(MR_PROTO_IMAP, MR_SEC_STARTTLS), 143);
    assert_int_equal(mr_default_port(MR_PROTO_IMAP, MR_SEC_STARTTLS_OPTIONAL), 143);
    assert_int_equal(mr_default_port(MR_PROTO_IMAP, MR_SEC_NONE), 143);
    assert_int_equal(mr_default_port(MR_PROTO_POP3, MR_SEC_TLS), 995);
    assert_int_equal(mr_default_port(MR_PROTO_POP3, MR_SEC_STARTTLS), 110);
    assert_int_equal(mr_default_port(MR_PROTO_POP3, MR_SEC_NONE), 110);
    struct mr_account a;
    valid_account(&a);
    assert_int_equal(mr_account_port(&a), 993);
    struct mr_problems p = {0};
    mr_account_set(&a, "port", "10993", &p);
    assert_int_equal(mr_account_port(&a), 10993);
    mr_account_set(&a, "port", "default", &p);
    assert_int_equal(mr_account_port(&a), 993);
    assert_int_equal(p.count, 0);
    mr_account_clear(&a);
}

static void test_security_vocabulary(void **state)
{
    (void)state;
    assert_string_equal(mr_security_connection_type(MR_SEC_TLS), "SSL");
    assert_string_equal(mr_security_connection_type(MR_SEC_STARTTLS), "TLS");
    assert_string_equal(mr_security_connection_type(MR_SEC_STARTTLS_OPTIONAL), "TLS");
    assert_string_equal(mr_security_connection_type(MR_SEC_NONE), "");
    enum mr_security s;
    assert_int_equal(mr_security_parse("STARTTLS-optional", &s), 0);
    assert_int_equal(s, MR_SEC_STARTTLS_OPTIONAL);
    assert_int_equal(mr_security_parse("ssl", &s), MR_EINVAL);
    for (int i = MR_SEC_NONE; i <= MR_SEC_TLS; i++) {
        assert_int_equal(mr_security_parse(mr_security_name((enum mr_security)i), &s), 0);
        assert_int_equal(s, i);
    }
}

static void test_valid_account_passes(void **state)
{
    (void)state;
    struct mr_account a;
    struct mr_problems p = {0};
    valid_account(&a);
    assert_int_equal(mr_account_validate(&a, &all_exist, &p), 0);
    assert_int_equal(p.count, 0);
    mr_account_clear(&a);
}

static void test_required_fields(void **state)
{
    (void)state;
    struct mr_account a;
    struct mr_problems p = {0};
    mr_account_init(&a);
    assert_int_equal(mr_account_validate(&a, &all_exist, &p), MR_EINVAL);
    assert_true(mr_problems_has(&p, "name"));
    assert_true(mr_problems_has(&p, "address"));
    assert_true(mr_problems_has(&p, "protocol"));
    assert_true(mr_problems_has(&p, "credential"));
    assert_int_equal(p.count, 4);
}

static void test_name_rules(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *message;
    } bad[] = {
        {"12345", "only digits"},
        {" lead", "start or end with a space"},
        {"trail ", "start or end with a space"},
        {"tab\there", "control characters"},
        {"bad\xff utf8", "UTF-8"},
        {"", "required"},
    };
    struct mr_account a;
    struct mr_problems p = {0};
    valid_account(&a);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mr_account_set(&a, "name", bad[i].name, &p);
        assert_problem(&a, "name", bad[i].message);
    }
    char long_name[120];
    memset(long_name, 'x', 101);
    long_name[101] = '\0';
    mr_account_set(&a, "name", long_name, &p);
    assert_problem(&a, "name", "longer than 100");
    /* 100 characters of UTF-8 (200 bytes) is fine */
    char utf8[256] = "";
    for (int i = 0; i < 100; i++)
        strcat(utf8, "\xc3\xa9");
    mr_account_set(&a, "name", utf8, &p);
    assert_int_equal(mr_account_validate(&a, &all_exist, &p), 0);
    mr_account_clear(&a);
}

static void test_host_rules(void **state)
{
    (void)state;
    static const char *const good[] = {
        "imap.example.com",      "localhost",     "mail-1.example.org.",
        "xn--bcher-kva.example", "127.0.0.1",     "::1",
        "2001:db8::25",          "[2001:db8::1]", "a.b",
    };
    static const char *const bad[] = {
        "has space.example",
        "under_score.example",
        "-lead.example",
        "trail-.example",
        "a..b",
        "999.1.1.1",
        "1.2.3",
        "2001:db8:::1",
        "bücher.example",
        ".",
    };
    struct mr_account a;
    struct mr_problems p = {0};
    valid_account(&a);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        mr_account_set(&a, "address", good[i], &p);
        assert_null(problem_for(&a, &all_exist, "address", &p));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mr_account_set(&a, "address", bad[i], &p);
        assert_non_null(problem_for(&a, &all_exist, "address", &p));
    }
    char label[80];
    memset(label, 'a', 64);
    strcpy(label + 64, ".example");
    mr_account_set(&a, "address", label, &p);
    assert_problem(&a, "address", "not a valid host name");
    /* brackets around an IPv6 literal are dropped */
    mr_account_set(&a, "address", "[::1]", &p);
    assert_string_equal(a.address, "::1");
    mr_account_clear(&a);
}

static void test_port_and_interval(void **state)
{
    (void)state;
    struct mr_account a;
    struct mr_problems p = {0};
    valid_account(&a);
    assert_int_equal(mr_account_set(&a, "port", "0", &p), MR_EINVAL);
    assert_int_equal(mr_account_set(&a, "port", "65536", &p), MR_EINVAL);
    memset(&p, 0, sizeof(p));
    assert_int_equal(mr_account_set(&a, "port", "abc", &p), MR_EINVAL);
    assert_non_null(strstr(p.items[0].message, "whole number"));
    memset(&p, 0, sizeof(p));
    assert_int_equal(mr_account_set(&a, "port", "65535", &p), 0);
    assert_int_equal(mr_account_set(&a, "interval", "29", &p), MR_EINVAL);
    memset(&p, 0, sizeof(p));
    assert_int_equal(mr_account_set(&a, "interval", "604801", &p), MR_EINVAL);
    memset(&p, 0, sizeof(p));
    assert_int_equal(mr_account_set(&a, "interval", "30", &p), 0);
    assert_int_equal(a.interval, 30);
    a.interval = 10; /* as a damaged row might hold */
    assert_problem(&a, "interval", "between 30 and 604800");
    mr_account_clear(&a);
}

static void test_choices_and_bools(void **state)
{
    (void)state;
    struct mr_account a;
    struct mr_problems p = {0};
    valid_account(&a);
    assert_int_equal(mr_account_set(&a, "protocol", "POP3", &p), 0);
    assert_int_equal(a.protocol, MR_PROTO_POP3);
    assert_int_equal(mr_account_set(&a, "protocol", "smtp", &p), MR_EINVAL);
    assert_int_equal(mr_account_set(&a, "security", "ssl", &p), MR_EINVAL);
    assert_int_equal(mr_account_set(&a, "keep_copy", "maybe", &p), MR_EINVAL);
    assert_int_equal(p.count, 3);
    memset(&p, 0, sizeof(p));
    assert_int_equal(mr_account_set(&a, "keep_copy", "No", &p), 0);
    assert_int_equal(a.keep_copy, 0);
    assert_int_equal(mr_account_set(&a, "enabled", "false", &p), 0);
    assert_int_equal(a.enabled, 0);
    assert_int_equal(mr_account_set(&a, "no_such_field", "x", &p), MR_EINVAL);
    assert_int_equal(mr_account_set(&a, "credential", "abc", &p), MR_EINVAL);
    mr_account_clear(&a);
}

static void test_auth_mechanisms(void **state)
{
    (void)state;
    struct mr_account a;
    struct mr_problems p = {0};
    valid_account(&a);
    assert_int_equal(mr_account_set(&a, "auth", "scram-sha-256", &p), 0);
    assert_string_equal(a.auth, "SCRAM-SHA-256");
    assert_int_equal(mr_account_set(&a, "auth", "auto", &p), 0);
    assert_null(a.auth);
    assert_int_equal(mr_account_set(&a, "auth", "KERBEROS_V4", &p), MR_EINVAL);
    memset(&p, 0, sizeof(p));
    mr_account_set(&a, "auth", "APOP", &p);
    assert_problem(&a, "auth", "POP3 login");
    mr_account_set(&a, "protocol", "pop3", &p);
    assert_int_equal(mr_account_validate(&a, &all_exist, &p), 0);
    mr_account_clear(&a);
}

static void test_folder_rules(void **state)
{
    (void)state;
    struct mr_account a;
    struct mr_problems p = {0};
    valid_account(&a);
    mr_account_set(&a, "folder", "inbox", &p);
    assert_null(a.folder); /* INBOX is the default, in any case */
    mr_account_set(&a, "folder", "INBOX.Support", &p);
    assert_string_equal(mr_account_folder(&a), "INBOX.Support");
    mr_account_set(&a, "folder", "INBOX/Support", &p);
    assert_int_equal(mr_account_validate(&a, &all_exist, &p), 0);
    mr_account_set(&a, "protocol", "pop3", &p);
    assert_problem(&a, "folder", "only IMAP");
    mr_account_set(&a, "folder", "", &p);
    assert_int_equal(mr_account_validate(&a, &all_exist, &p), 0);
    mr_account_set(&a, "protocol", "imap", &p);
    mr_account_set(&a, "folder", "bad\x01name", &p);
    assert_problem(&a, "folder", "control characters");
    mr_account_clear(&a);
}

static void test_after_fetch_rules(void **state)
{
    (void)state;
    struct mr_account a;
    struct mr_problems p = {0};
    char buf[32];
    const struct mr_field *act = mr_account_field("after_fetch");
    valid_account(&a);
    /* unset: follows keep copy, as an account from before the choice */
    assert_int_equal(a.after_fetch, MR_AFTER_UNSET);
    assert_int_equal(mr_account_after_fetch(&a), MR_AFTER_KEEP);
    assert_string_equal(mr_account_get(&a, act, buf, sizeof(buf)), "keep");
    mr_account_set(&a, "keep_copy", "no", &p);
    assert_int_equal(a.after_fetch, MR_AFTER_UNSET);
    assert_int_equal(mr_account_after_fetch(&a), MR_AFTER_DELETE);
    assert_string_equal(mr_account_get(&a, mr_account_field("action_when"), buf, sizeof(buf)),
                        "stored");
    /* the action sets keep copy: every action but delete keeps a copy */
    static const char *const keeps[][2] = {
        {"keep", "yes"}, {"seen", "yes"}, {"move", "yes"}, {"delete", "no"}, {"SEEN", "yes"}};
    for (size_t i = 0; i < sizeof(keeps) / sizeof(keeps[0]); i++) {
        assert_int_equal(mr_account_set(&a, "after_fetch", keeps[i][0], &p), 0);
        assert_string_equal(mr_account_get(&a, mr_account_field("keep_copy"), buf, sizeof(buf)),
                            keeps[i][1]);
    }
    /* keep copy sets the action only when they disagree, in either order */
    mr_account_set(&a, "after_fetch", "seen", &p);
    mr_account_set(&a, "keep_copy", "yes", &p);
    assert_int_equal(a.after_fetch, MR_AFTER_SEEN);
    mr_account_set(&a, "keep_copy", "no", &p);
    assert_int_equal(a.after_fetch, MR_AFTER_DELETE);
    mr_account_set(&a, "keep_copy", "yes", &p);
    assert_int_equal(a.after_fetch, MR_AFTER_KEEP);
    assert_int_equal(p.count, 0);
    assert_int_equal(mr_account_set(&a, "after_fetch", "archive", &p), MR_EINVAL);
    assert_int_equal(mr_account_set(&a, "action_when", "read", &p), MR_EINVAL);
    assert_int_equal(mr_account_set(&a, "create_folder", "maybe", &p), MR_EINVAL);
    assert_int_equal(p.count, 3);
    memset(&p, 0, sizeof(p));
    /* move needs a folder, by the fetch folder's rules, and not that one */
    mr_account_set(&a, "after_fetch", "move", &p);
    assert_problem(&a, "move_folder", "is required");
    mr_account_set(&a, "move_folder", "bad\x01name", &p);
    assert_problem(&a, "move_folder", "control characters");
    mr_account_set(&a, "move_folder", "inbox", &p);
    assert_problem(&a, "move_folder", "must not be the folder");
    mr_account_set(&a, "folder", "INBOX.Support", &p);
    mr_account_set(&a, "move_folder", "INBOX/Support", &p);
    assert_problem(&a, "move_folder", "must not be the folder");
    mr_account_set(&a, "move_folder", "INBOX/Support/Done", &p);
    mr_account_set(&a, "create_folder", "yes", &p);
    mr_account_set(&a, "action_when", "delivered", &p);
    assert_int_equal(mr_account_validate(&a, &all_exist, &p), 0);
    assert_int_equal(a.action_when, MR_WHEN_DELIVERED);
    mr_account_set(&a, "move_folder", "", &p);
    assert_null(a.move_folder);
    mr_account_set(&a, "folder", "", &p);
    /* POP3 keeps or deletes; seen and move are refused, naming why */
    mr_account_set(&a, "protocol", "pop3", &p);
    mr_account_set(&a, "after_fetch", "seen", &p);
    assert_problem(&a, "after_fetch", "IMAP only");
    mr_account_set(&a, "after_fetch", "move", &p);
    mr_account_set(&a, "move_folder", "Done", &p);
    assert_problem(&a, "after_fetch", "can only keep or delete");
    mr_account_set(&a, "after_fetch", "delete", &p);
    assert_int_equal(mr_account_validate(&a, &all_exist, &p), 0);
    mr_account_set(&a, "after_fetch", "keep", &p);
    assert_int_equal(mr_account_validate(&a, &all_exist, &p), 0);
    mr_account_clear(&a);
}

static void test_credential_reference(void **state)
{
    (void)state;
    struct mr_account a;
    struct mr_problems p;
    struct mr_account_refs none = {0, 0, 0};
    valid_account(&a);
    const char *msg = problem_for(&a, &none, "credential", &p);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "no credential with ID 1"));
    mr_account_clear(&a);
}

static void test_connector_rules(void **state)
{
    (void)state;
    struct mr_account a;
    struct mr_problems p = {0};
    struct mr_account_refs no_default = {1, 1, 0};
    struct mr_account_refs missing = {1, 0, 1};
    valid_account(&a);
    mr_account_set(&a, "use_connector", "yes", &p);
    /* blank connector: the default, which must exist */
    assert_non_null(problem_for(&a, &no_default, "connector", &p));
    assert_null(problem_for(&a, &all_exist, "connector", &p));
    mr_account_set(&a, "connector", "7", &p);
    assert_non_null(strstr(problem_for(&a, &missing, "connector", &p), "no network connector"));
    assert_null(problem_for(&a, &no_default, "connector", &p));
    mr_account_set(&a, "use_connector", "no", &p);
    assert_non_null(strstr(problem_for(&a, &all_exist, "connector", &p), "is set but"));
    mr_account_set(&a, "connector", "", &p);
    assert_null(problem_for(&a, &no_default, "connector", &p));
    mr_account_clear(&a);
}

static void test_one_problem_per_field(void **state)
{
    (void)state;
    struct mr_problems p = {0};
    mr_problems_add(&p, "port", "first");
    mr_problems_add(&p, "port", "second");
    mr_problems_add(&p, "name", "is required");
    assert_int_equal(p.count, 2);
    assert_string_equal(p.items[0].message, "first");
    mr_error err = {0};
    assert_int_equal(mr_problems_to_error(&p, &err), MR_EINVAL);
    assert_string_equal(err.field, "port");
    assert_string_equal(err.message, "port: first; name: is required");
}

static void test_field_table_round_trip(void **state)
{
    (void)state;
    struct mr_account a, b;
    struct mr_problems p = {0};
    char buf[32];
    valid_account(&a);
    mr_account_set(&a, "port", "2000", &p);
    mr_account_set(&a, "folder", "Lists/dev", &p);
    mr_account_set(&a, "auth", "plain", &p);
    mr_account_set(&a, "security", "starttls", &p);
    mr_account_set(&a, "use_connector", "yes", &p);
    mr_account_set(&a, "connector", "3", &p);
    mr_account_set(&a, "after_fetch", "move", &p);
    mr_account_set(&a, "move_folder", "Archive/2026", &p);
    mr_account_set(&a, "create_folder", "yes", &p);
    mr_account_set(&a, "action_when", "delivered", &p);
    /* every field's text form sets the same value again */
    mr_account_init(&b);
    for (size_t i = 0; i < mr_account_field_count; i++) {
        const struct mr_field *f = &mr_account_fields[i];
        assert_int_equal(mr_account_set(&b, f->key, mr_account_get(&a, f, buf, sizeof(buf)), &p),
                         0);
    }
    assert_int_equal(p.count, 0);
    for (size_t i = 0; i < mr_account_field_count; i++) {
        char x[32], y[32];
        const struct mr_field *f = &mr_account_fields[i];
        assert_string_equal(mr_account_get(&a, f, x, sizeof(x)),
                            mr_account_get(&b, f, y, sizeof(y)));
    }
    mr_account_clear(&a);
    mr_account_clear(&b);
}

static void test_credential_rules(void **state)
{
    (void)state;
    struct mr_credential c;
    struct mr_problems p = {0};
    mr_credential_init(&c);
    assert_int_equal(mr_credential_validate(&c, &p), MR_EINVAL);
    assert_true(mr_problems_has(&p, "name"));
    assert_true(mr_problems_has(&p, "username"));
    assert_true(mr_problems_has(&p, "password"));
    memset(&p, 0, sizeof(p));
    c.name = strdup("support");
    c.username = strdup("support@example.com");
    c.has_secret = 1;
    assert_int_equal(mr_credential_validate(&c, &p), 0);
    free(c.username);
    c.username = calloc(1, MR_USERNAME_MAX + 2);
    memset(c.username, 'u', MR_USERNAME_MAX + 1);
    assert_int_equal(mr_credential_validate(&c, &p), MR_EINVAL);
    mr_credential_clear(&c);

    memset(&p, 0, sizeof(p));
    assert_int_equal(mr_credential_check_secret("", 0, &p), MR_EINVAL);
    assert_int_equal(mr_credential_check_secret("a\0b", 3, &p), MR_EINVAL);
    assert_int_equal(mr_credential_check_secret("x", MR_SECRET_MAX + 1, &p), MR_EINVAL);
    assert_int_equal(mr_credential_check_secret("s3cret", 6, &p), 0);
}

static void test_connector_validation(void **state)
{
    (void)state;
    struct mr_connector c;
    struct mr_problems p = {0};
    mr_connector_init(&c);
    assert_int_equal(mr_connector_validate(&c, 1, &p), MR_EINVAL);
    assert_true(mr_problems_has(&p, "name"));
    assert_true(mr_problems_has(&p, "type"));
    assert_true(mr_problems_has(&p, "address"));
    assert_true(mr_problems_has(&p, "port"));
    memset(&p, 0, sizeof(p));
    c.name = strdup("corp");
    c.address = strdup("proxy.internal");
    assert_int_equal(mr_connector_type_parse("HTTP", &c.type), 0);
    assert_int_equal(mr_connector_type_parse("socks4", &c.type), MR_EINVAL);
    c.port = 3128;
    assert_int_equal(mr_connector_validate(&c, 1, &p), 0);
    c.credential_id = 9;
    assert_int_equal(mr_connector_validate(&c, 0, &p), MR_EINVAL);
    assert_true(mr_problems_has(&p, "credential"));
    mr_connector_clear(&c);
}

static void test_filter_parsing(void **state)
{
    (void)state;
    enum mr_tristate t;
    assert_int_equal(mr_tristate_parse("yes", &t), 0);
    assert_int_equal(t, MR_YES);
    assert_int_equal(mr_tristate_parse("any", &t), 0);
    assert_int_equal(t, MR_ANY);
    assert_int_equal(mr_tristate_parse("perhaps", &t), MR_EINVAL);
    assert_int_equal(mr_status_parse("disabled", &t), 0);
    assert_int_equal(t, MR_NO);
    assert_int_equal(mr_status_parse("all", &t), 0);
    assert_int_equal(t, MR_ANY);
    assert_int_equal(mr_status_parse("yes", &t), MR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_default_ports),
        cmocka_unit_test(test_security_vocabulary),
        cmocka_unit_test(test_valid_account_passes),
        cmocka_unit_test(test_required_fields),
        cmocka_unit_test(test_name_rules),
        cmocka_unit_test(test_host_rules),
        cmocka_unit_test(test_port_and_interval),
        cmocka_unit_test(test_choices_and_bools),
        cmocka_unit_test(test_auth_mechanisms),
        cmocka_unit_test(test_folder_rules),
        cmocka_unit_test(test_after_fetch_rules),
        cmocka_unit_test(test_credential_reference),
        cmocka_unit_test(test_connector_rules),
        cmocka_unit_test(test_one_problem_per_field),
        cmocka_unit_test(test_field_table_round_trip),
        cmocka_unit_test(test_credential_rules),
        cmocka_unit_test(test_connector_validation),
        cmocka_unit_test(test_filter_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
