/* The OAuth 2.0 bearer mechanisms (proto/sasl.c): the messages XOAUTH2 and
 * OAUTHBEARER send, RFC 5801's escaping of the user name, reading the
 * server's error challenge (a hostile server's too: not base64, not JSON,
 * huge, control characters), the exchange's steps, and which mechanism a
 * token or a password gets. Whole sessions: test_sasl_session.c. */
#include "cmocka_all.h"

#include "proto/sasl.h"
#include "util/mem.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "ya29.a0AfH6SMB-tok_en~1+2/3=="

/* base64 of len bytes (to free) */
static char *b64(const char *data, size_t len)
{
    size_t size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *out = mr_xmalloc(size);
    sodium_bin2base64(out, size, (const unsigned char *)data, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

/* decodes out of base64 into buf; returns the length */
static size_t unb64(const char *in, char *buf, size_t cap)
{
    size_t got = 0;
    assert_int_equal(sodium_base642bin((unsigned char *)buf, cap, in, strlen(in), NULL, &got, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    return got;
}

static void expect_response(const char *mech, const struct mr_sasl_login *l, const char *want,
                            size_t want_len)
{
    char *out = NULL, buf[1024];
    mr_error err = {0};
    assert_int_equal(mr_sasl_bearer_response(mech, l, &out, &err), 0);
    size_t n = unb64(out, buf, sizeof(buf));
    assert_int_equal(n, want_len);
    assert_memory_equal(buf, want, want_len);
    free(out);
}

#define LIT(s) s, sizeof(s) - 1

static void test_xoauth2_format(void **state)
{
    (void)state;
    struct mr_sasl_login l = {.user = "ana@example.com", .bearer_token = TOKEN};
    expect_response("XOAUTH2", &l,
                    LIT("user=ana@example.com\x01"
                        "auth=Bearer " TOKEN "\x01\x01"));
    /* XOAUTH2 has no escaping: a comma stays a comma */
    l.user = "a,b=c@example.com";
    expect_response("xoauth2", &l,
                    LIT("user=a,b=c@example.com\x01"
                        "auth=Bearer " TOKEN "\x01\x01"));
    /* Google's documented example */
    struct mr_sasl_login g = {.user = "someuser@example.com",
                              .bearer_token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"};
    char *out = NULL;
    assert_int_equal(mr_sasl_bearer_response("XOAUTH2", &g, &out, NULL), 0);
    assert_string_equal(out, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxb"
                             "VRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
    free(out);
}

static void test_oauthbearer_format(void **state)
{
    (void)state;
    struct mr_sasl_login l = {
        .user = "ana@example.com", .bearer_token = TOKEN, .host = "imap.example.com", .port = 993};
    expect_response("OAUTHBEARER", &l,
                    LIT("n,a=ana@example.com,\x01"
                        "host=imap.example.com\x01"
                        "port=993\x01"
                        "auth=Bearer " TOKEN "\x01\x01"));
    /* RFC 7628 section 4.1's example */
    struct mr_sasl_login r = {.user = "user@example.com",
                              .bearer_token = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
                              .host = "server.example.com",
                              .port = 143};
    char *out = NULL;
    assert_int_equal(mr_sasl_bearer_response("OAUTHBEARER", &r, &out, NULL), 0);
    assert_string_equal(
        out, "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhc"
             "mVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB");
    free(out);
    /* no host or port known: left out; no user: no a= */
    struct mr_sasl_login bare = {.bearer_token = TOKEN};
    expect_response("OAUTHBEARER", &bare,
                    LIT("n,,\x01"
                        "auth=Bearer " TOKEN "\x01\x01"));
}

static void test_gs2_escaping(void **state)
{
    (void)state;
    struct mr_sasl_login l = {.user = "shared,box=1@example.com", .bearer_token = TOKEN};
    expect_response("OAUTHBEARER", &l,
                    LIT("n,a=shared=2Cbox=3D1@example.com,\x01"
                        "auth=Bearer " TOKEN "\x01\x01"));
    l.user = ",,==";
    expect_response("OAUTHBEARER", &l,
                    LIT("n,a==2C=2C=3D=3D,\x01"
                        "auth=Bearer " TOKEN "\x01\x01"));
    l.user = "=2C"; /* already looks escaped: escaped again */
    expect_response("OAUTHBEARER", &l,
                    LIT("n,a==3D2C,\x01"
                        "auth=Bearer " TOKEN "\x01\x01"));
}

static void expect_refused_input(const char *user, const char *token, const char *words)
{
    struct mr_sasl_login l = {.user = user, .bearer_token = token, .host = "h", .port = 1};
    char *out = (char *)"untouched";
    mr_error err = {0};
    assert_int_equal(mr_sasl_bearer_response("OAUTHBEARER", &l, &out, &err), MR_EINVAL);
    assert_null(out);
    assert_string_equal(err.field, "auth");
    assert_non_null(strstr(err.message, words));
    if (token && *token)
        assert_null(strstr(err.message, token));
}

static void test_bad_input(void **state)
{
    (void)state;
    expect_refused_input("u", "", "empty");
    expect_refused_input("u", NULL, "empty");
    expect_refused_input("u",
                         "abc\x01"
                         "def",
                         "characters");
    expect_refused_input("u", "abc def", "characters");
    expect_refused_input("u", "abc\r\nA01 LOGOUT", "characters");
    expect_refused_input("u", "==abc", "characters");
    expect_refused_input("u\x01"
                         "auth=Bearer x",
                         TOKEN, "control characters");
    expect_refused_input("u\r\n", TOKEN, "control characters");
    char *big = mr_xmalloc(MR_SASL_TOKEN_MAX + 2);
    memset(big, 'A', MR_SASL_TOKEN_MAX + 1);
    big[MR_SASL_TOKEN_MAX + 1] = '\0';
    expect_refused_input("u", big, "longer than");
    big[MR_SASL_TOKEN_MAX] = '\0'; /* exactly the most */
    struct mr_sasl_login l = {.user = "u", .bearer_token = big};
    char *out = NULL;
    assert_int_equal(mr_sasl_bearer_response("XOAUTH2", &l, &out, NULL), 0);
    free(out);
    free(big);
}

/* --- the error challenge ------------------------------------------------- */

static void parse_json(const char *json, struct mr_sasl_bearer_error *e)
{
    char *c = b64(json, strlen(json));
    mr_sasl_bearer_error_parse(c, strlen(c), e);
    free(c);
}

static void test_error_challenge(void **state)
{
    (void)state;
    struct mr_sasl_bearer_error e;
    parse_json("{\"status\":\"invalid_token\",\"schemes\":\"bearer\",\"scope\":\"https://"
               "mail.google.com/\"}",
               &e);
    assert_string_equal(e.status, "invalid_token");
    assert_string_equal(e.scope, "https://mail.google.com/");
    assert_string_equal(e.problem, "");
    /* Google's XOAUTH2 */
    const char *google = "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21ha"
                         "WwuZ29vZ2xlLmNvbS8ifQ==";
    mr_sasl_bearer_error_parse(google, strlen(google), &e);
    assert_string_equal(e.status, "401");
    assert_string_equal(e.scope, "https://mail.google.com/");
    /* without padding, with a trailing space or CR */
    char *c = b64("{\"status\":\"invalid_token\"}", 26);
    size_t n = strlen(c);
    while (c[n - 1] == '=')
        c[--n] = '\0';
    mr_sasl_bearer_error_parse(c, n, &e);
    assert_string_equal(e.status, "invalid_token");
    assert_string_equal(e.scope, "");
    free(c);
    c = mr_xasprintf("%s \r", "eyJzdGF0dXMiOiJ4In0=");
    mr_sasl_bearer_error_parse(c, strlen(c), &e);
    assert_string_equal(e.status, "x");
    free(c);
    /* a number, not a string; no status at all */
    parse_json("{\"status\":401,\"scope\":[\"a\"]}", &e);
    assert_string_equal(e.status, "");
    assert_string_equal(e.scope, "");
    assert_string_equal(e.problem, "no status");
}

static void test_error_challenge_malformed(void **state)
{
    (void)state;
    struct mr_sasl_bearer_error e;
    mr_sasl_bearer_error_parse("", 0, &e);
    assert_string_equal(e.problem, "empty");
    mr_sasl_bearer_error_parse("not base64!", 11, &e);
    assert_string_equal(e.problem, "not base64");
    mr_sasl_bearer_error_parse("eyJz=GF0", 8, &e);
    assert_string_equal(e.problem, "not base64");
    mr_sasl_bearer_error_parse("e\r\nyJz", 6, &e);
    assert_string_equal(e.problem, "not base64");
    parse_json("status=invalid_token", &e);
    assert_string_equal(e.problem, "not a JSON object");
    parse_json("[\"invalid_token\"]", &e);
    assert_string_equal(e.problem, "not a JSON object");
    parse_json("{\"status\":\"a\",\"status\":\"b\"}", &e); /* which one? neither */
    assert_string_equal(e.problem, "not a JSON object");
    parse_json("{\"status\":\"invalid_token\"", &e);
    assert_string_equal(e.problem, "not a JSON object");
    char nul[] = "{\"status\":\"a\"}\0{}";
    char *c = b64(nul, sizeof(nul) - 1);
    mr_sasl_bearer_error_parse(c, strlen(c), &e);
    assert_string_equal(e.problem, "not a JSON object");
    free(c);
    assert_string_equal(e.status, "");
}

static void test_error_challenge_hostile(void **state)
{
    (void)state;
    struct mr_sasl_bearer_error e;
    /* control characters (a terminal escape, CR LF) dropped, non-ASCII '?' */
    parse_json("{\"status\":\"invalid\\u001b[31m_token\\r\\n\",\"scope\":\"caf\\u00e9 \\u007f\"}",
               &e);
    assert_string_equal(e.status, "invalid[31m_token");
    assert_string_equal(e.scope, "caf?? ");
    assert_string_equal(e.problem, "");
    /* \u0000 inside a string: Jansson refuses the whole, nothing shown */
    parse_json("{\"status\":\"invalid_token\",\"scope\":\"a\\u0000b\"}", &e);
    assert_string_equal(e.status, "");
    assert_string_equal(e.problem, "not a JSON object");
    /* long values cut, with "..." */
    char json[2048];
    char longv[1500];
    memset(longv, 's', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    snprintf(json, sizeof(json), "{\"status\":\"%.300s\",\"scope\":\"%s\"}", longv, longv);
    parse_json(json, &e);
    assert_int_equal(strlen(e.status), sizeof(e.status) - 1);
    assert_string_equal(e.status + sizeof(e.status) - 4, "...");
    assert_int_equal(strlen(e.scope), sizeof(e.scope) - 1);
    assert_string_equal(e.scope + sizeof(e.scope) - 4, "...");
    /* huge: not decoded at all */
    size_t big = 1 << 20;
    char *huge = mr_xmalloc(big + 1);
    memset(huge, 'A', big);
    huge[big] = '\0';
    mr_sasl_bearer_error_parse(huge, big, &e);
    assert_non_null(strstr(e.problem, "too long"));
    mr_sasl_bearer_error_parse(huge, MR_SASL_CHALLENGE_MAX + 4, &e);
    assert_non_null(strstr(e.problem, "too long"));
    mr_sasl_bearer_error_parse(huge, MR_SASL_CHALLENGE_MAX, &e); /* fits, decodes, not JSON */
    assert_string_equal(e.problem, "not a JSON object");
    free(huge);
    /* deeply nested JSON within the cap */
    char *deep = mr_xmalloc(3001);
    memset(deep, '[', 3000);
    deep[3000] = '\0';
    char *c = b64(deep, 3000);
    mr_sasl_bearer_error_parse(c, strlen(c), &e);
    assert_string_equal(e.problem, "not a JSON object");
    free(c);
    free(deep);
}

/* --- the exchange --------------------------------------------------------- */

static void test_exchange_steps(void **state)
{
    (void)state;
    struct mr_sasl_login l = {.user = "ana", .bearer_token = TOKEN, .host = "h", .port = 143};
    const char *mechs[] = {"OAUTHBEARER", "XOAUTH2"};
    const char *ends[] = {"AQ==", ""};
    for (int i = 0; i < 2; i++) {
        struct mr_sasl *s = NULL;
        char *answer = NULL, *want = NULL;
        int done = 0;
        mr_error err = {0};
        assert_true(mr_sasl_client_first(mechs[i]));
        assert_int_equal(mr_sasl_start(&s, mechs[i], &l, &err), 0);
        assert_int_equal(mr_sasl_step(s, "", &answer, &done, &err), 0);
        assert_int_equal(mr_sasl_bearer_response(mechs[i], &l, &want, NULL), 0);
        assert_string_equal(answer, want);
        assert_true(done);
        free(answer);
        free(want);
        /* the server's error: the answer that ends the exchange */
        char *c = b64("{\"status\":\"invalid_token\",\"scope\":\"s\"}", 38);
        assert_int_equal(mr_sasl_step(s, c, &answer, &done, &err), 0);
        free(c);
        assert_string_equal(answer, ends[i]);
        free(answer);
        /* and then NO */
        struct mr_mailbox_status st = {0};
        assert_int_equal(mr_sasl_bearer_refused(s, "[AUTHENTICATIONFAILED] failed", 0, &st, &err),
                         MR_EAUTH);
        assert_true(st.token_refused);
        assert_string_equal(st.token_status, "invalid_token");
        assert_string_equal(err.field, "auth");
        assert_non_null(strstr(err.message, "refused the OAuth 2.0 access token"));
        assert_non_null(strstr(err.message, mechs[i]));
        assert_non_null(strstr(err.message, "status \"invalid_token\", scope \"s\""));
        assert_non_null(strstr(err.message, "sign in again"));
        assert_non_null(strstr(err.message, "[AUTHENTICATIONFAILED] failed"));
        assert_null(strstr(err.message, TOKEN));
        /* a server that asks for more after that breaks the protocol */
        assert_int_equal(mr_sasl_step(s, "", &answer, &done, &err), MR_EPROTO);
        assert_null(answer);
        mr_sasl_free(&s);
        assert_null(s);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    struct mr_sasl_login l = {.user = "ana", .bearer_token = TOKEN};
    struct mr_sasl *s = NULL;
    struct mr_mailbox_status st;
    char *answer = NULL;
    int done;
    mr_error err = {0};
    /* NO without an error challenge (Microsoft): refused, no status */
    assert_int_equal(mr_sasl_start(&s, "XOAUTH2", &l, &err), 0);
    assert_int_equal(mr_sasl_step(s, "", &answer, &done, &err), 0);
    free(answer);
    memset(&st, 0, sizeof(st));
    assert_int_equal(mr_sasl_bearer_refused(s, "AUTHENTICATE failed.", 0, &st, &err), MR_EAUTH);
    assert_true(st.token_refused);
    assert_string_equal(st.token_status, "");
    assert_string_equal(err.message,
                        "the server refused the OAuth 2.0 access token (XOAUTH2): AUTHENTICATE "
                        "failed.");
    /* a passing condition is not a refusal */
    memset(&st, 0, sizeof(st));
    assert_int_equal(mr_sasl_bearer_refused(s, "[UNAVAILABLE] try later", 1, &st, &err), MR_EAUTH);
    assert_false(st.token_refused);
    assert_non_null(strstr(err.message, "[UNAVAILABLE] try later"));
    assert_null(strstr(err.message, "refused"));
    /* an unreadable challenge is still a refusal, and says why */
    assert_int_equal(mr_sasl_step(s, "%%%", &answer, &done, &err), 0);
    free(answer);
    memset(&st, 0, sizeof(st));
    assert_int_equal(mr_sasl_bearer_refused(s, "[UNAVAILABLE] x", 1, &st, &err), MR_EAUTH);
    assert_true(st.token_refused);
    assert_non_null(strstr(err.message, "could not be read (not base64)"));
    mr_sasl_free(&s);
    /* insufficient_scope, no scope given */
    assert_int_equal(mr_sasl_start(&s, "OAUTHBEARER", &l, &err), 0);
    assert_int_equal(mr_sasl_step(s, "", &answer, &done, &err), 0);
    free(answer);
    char *c = b64("{\"status\":\"insufficient_scope\"}", 31);
    assert_int_equal(mr_sasl_step(s, c, &answer, &done, &err), 0);
    free(c);
    free(answer);
    assert_int_equal(mr_sasl_bearer_refused(s, NULL, 0, &st, &err), MR_EAUTH);
    assert_non_null(strstr(err.message, "scope not given"));
    assert_non_null(strstr(err.message, "lacks a scope"));
    assert_non_null(strstr(err.message, "(no text)"));
    mr_sasl_free(&s);
    /* a bearer mechanism without a token, a password one without a password */
    struct mr_sasl_login pw = {.user = "ana", .password = "secret"};
    assert_int_equal(mr_sasl_start(&s, "XOAUTH2", &pw, &err), MR_EINVAL);
    assert_null(s);
    assert_int_equal(mr_sasl_start(&s, "PLAIN", &l, &err), MR_EINVAL);
    assert_null(s);
}

/* --- which mechanism ----------------------------------------------------- */

static int pick(const char *want, const char *offered, int bearer, char *out, mr_error *err)
{
    memset(err, 0, sizeof(*err));
    out[0] = '\0';
    return mr_sasl_pick(want, offered, bearer, out, 32, err);
}

static void test_pick_token(void **state)
{
    (void)state;
    char m[32];
    mr_error err;
    assert_int_equal(pick(NULL, "PLAIN XOAUTH2 OAUTHBEARER SCRAM-SHA-256", 1, m, &err), 0);
    assert_string_equal(m, "OAUTHBEARER");
    assert_int_equal(pick(NULL, "PLAIN XOAUTH2 LOGIN", 1, m, &err), 0);
    assert_string_equal(m, "XOAUTH2");
    assert_int_equal(pick(NULL, "xoauth2", 1, m, &err), 0);
    assert_string_equal(m, "XOAUTH2");
    /* a name that only contains the mechanism's is not it */
    assert_int_equal(pick(NULL, "X-OAUTHBEARER XOAUTH2-OLD", 1, m, &err), MR_EAUTH);
    /* named: used as given, offered or not */
    assert_int_equal(pick("XOAUTH2", "OAUTHBEARER", 1, m, &err), 0);
    assert_string_equal(m, "XOAUTH2");
    assert_int_equal(pick("OAUTHBEARER", "", 1, m, &err), 0);
    assert_string_equal(m, "OAUTHBEARER");
}

static void test_pick_password(void **state)
{
    (void)state;
    char m[32];
    mr_error err;
    assert_int_equal(pick(NULL, "OAUTHBEARER XOAUTH2 PLAIN", 0, m, &err), 0);
    assert_string_equal(m, "PLAIN");
    assert_int_equal(pick(NULL, "OAUTHBEARER XOAUTH2", 0, m, &err), MR_ENOTFOUND);
    assert_string_equal(err.message, ""); /* the protocol's own login then */
    assert_int_equal(pick(NULL, "SCRAM-SHA-256 XOAUTH2", 0, m, &err), 0);
    assert_string_equal(m, "SCRAM-SHA-256");
    assert_int_equal(pick("PLAIN", "", 0, m, &err), 0);
    assert_string_equal(m, "PLAIN");
    assert_int_equal(pick("USER", "", 0, m, &err), 0);
    assert_string_equal(m, "USER");
}

static void test_pick_mismatch(void **state)
{
    (void)state;
    char m[32];
    mr_error err;
    const char *password_mechs[] = {"PLAIN", "LOGIN", "SCRAM-SHA-256", "USER", "APOP", "CRAM-MD5"};
    for (size_t i = 0; i < sizeof(password_mechs) / sizeof(*password_mechs); i++) {
        assert_int_equal(pick(password_mechs[i], "PLAIN OAUTHBEARER", 1, m, &err), MR_EINVAL);
        assert_string_equal(err.field, "auth");
        assert_non_null(strstr(err.message, password_mechs[i]));
        assert_non_null(strstr(err.message, "OAuth 2.0 token"));
        assert_string_equal(m, "");
    }
    assert_int_equal(pick("XOAUTH2", "XOAUTH2", 0, m, &err), MR_EINVAL);
    assert_non_null(strstr(err.message, "XOAUTH2 takes an OAuth 2.0 token"));
    assert_non_null(strstr(err.message, "credential is a password"));
    assert_int_equal(pick("oauthbearer", "", 0, m, &err), MR_EINVAL);
    assert_non_null(strstr(err.message, "oauthbearer"));
}

static void test_pick_offered_none(void **state)
{
    (void)state;
    char m[32];
    mr_error err;
    assert_int_equal(pick(NULL, " PLAIN LOGIN ", 1, m, &err), MR_EAUTH);
    assert_string_equal(err.field, "auth");
    assert_string_equal(err.message, "an OAuth 2.0 token needs OAUTHBEARER or XOAUTH2, and the "
                                     "server offers neither (its SASL mechanisms: PLAIN LOGIN)");
    assert_int_equal(pick(NULL, "", 1, m, &err), MR_EAUTH);
    assert_non_null(strstr(err.message, "it offers no SASL mechanism"));
    assert_int_equal(pick(NULL, "   ", 1, m, &err), MR_EAUTH);
    assert_non_null(strstr(err.message, "it offers no SASL mechanism"));
    /* a long list is cut */
    char longlist[1200] = "";
    for (int i = 0; i < 100; i++)
        strcat(longlist, "X-MECH-NN ");
    assert_int_equal(pick(NULL, longlist, 1, m, &err), MR_EAUTH);
    assert_true(strlen(err.message) < 400);
}

static void test_unoffered(void **state)
{
    (void)state;
    char out[200];
    assert_int_equal(mr_sasl_unoffered("SCRAM-SHA-1", " CRAM-MD5 PLAIN ", out, sizeof(out)), 1);
    assert_string_equal(out, "CRAM-MD5 PLAIN");
    assert_int_equal(mr_sasl_unoffered("SCRAM-SHA-1", "", out, sizeof(out)), 1);
    assert_string_equal(out, "");
    /* listed (any case), a longer name that only starts with it, auto */
    assert_int_equal(mr_sasl_unoffered("plain", "CRAM-MD5 PLAIN", out, sizeof(out)), 0);
    assert_int_equal(mr_sasl_unoffered("SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", out, sizeof(out)), 1);
    assert_int_equal(mr_sasl_unoffered(NULL, "PLAIN", out, sizeof(out)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xoauth2_format),
        cmocka_unit_test(test_oauthbearer_format),
        cmocka_unit_test(test_gs2_escaping),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_error_challenge),
        cmocka_unit_test(test_error_challenge_malformed),
        cmocka_unit_test(test_error_challenge_hostile),
        cmocka_unit_test(test_exchange_steps),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_pick_token),
        cmocka_unit_test(test_pick_password),
        cmocka_unit_test(test_pick_mismatch),
        cmocka_unit_test(test_pick_offered_none),
        cmocka_unit_test(test_unoffered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
