/* The POP3 parser: status lines, multi-line bodies with dot-unstuffing, and
 * the terminating dot wherever the input is split. */
#include "cmocka_all.h"

#include "proto/pop3_parse.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct result {
    int statuses, ok, ends;
    char text[256];
    struct mr_buf body;
    size_t consumed;
};

/* Feeds data in chunks of `chunk` bytes (0 = whole) until END or, for a
 * single-line answer, the status. */
static int run(const char *data, size_t len, int multiline, size_t chunk, struct result *r,
               mr_error *err)
{
    struct mr_pop3_parser *p = mr_pop3_parser_new();
    memset(r, 0, sizeof(*r));
    mr_buf_init(&r->body, 1 << 20);
    mr_pop3_parser_expect(p, multiline);
    size_t off = 0;
    int rc = 0, done = 0;
    while (!done && off < len) {
        size_t n = chunk && len - off > chunk ? chunk : len - off, used = 0;
        struct mr_pop3_event ev;
        rc = mr_pop3_parser_feed(p, data + off, n, &used, &ev, err);
        off += used;
        if (rc < 0)
            break;
        if (rc == 0)
            continue;
        if (ev.type == MR_POP3_STATUS) {
            r->statuses++;
            r->ok = ev.ok;
            snprintf(r->text, sizeof(r->text), "%s", ev.text);
            done = !mr_pop3_parser_in_body(p);
        } else if (ev.type == MR_POP3_DATA) {
            mr_buf_append(&r->body, ev.data, ev.len);
        } else {
            r->ends++;
            done = 1;
        }
    }
    r->consumed = off;
    mr_pop3_parser_free(&p);
    return rc < 0 ? rc : 0;
}

#define S(lit) lit, sizeof(lit) - 1

static void check_all_splits(const char *data, size_t len, int multiline, const char *body,
                             size_t body_len, size_t expect_consumed)
{
    for (size_t chunk = 0; chunk <= len; chunk = chunk ? chunk + 1 : 1) {
        struct result r;
        mr_error err = {0};
        assert_int_equal(run(data, len, multiline, chunk, &r, &err), 0);
        assert_int_equal(r.statuses, 1);
        assert_true(r.ok);
        assert_int_equal(r.ends, multiline ? 1 : 0);
        assert_int_equal(r.body.len, body_len);
        if (body_len)
            assert_memory_equal(r.body.data, body, body_len);
        assert_int_equal(r.consumed, expect_consumed);
        mr_buf_free(&r.body);
    }
}

static void test_status_lines(void **state)
{
    (void)state;
    struct result r;
    mr_error err = {0};
    assert_int_equal(run(S("+OK Dovecot ready. <1.2@host>\r\n"), 0, 0, &r, &err), 0);
    assert_true(r.ok);
    assert_string_equal(r.text, "Dovecot ready. <1.2@host>");
    mr_buf_free(&r.body);
    assert_int_equal(run(S("-ERR [AUTH] Authentication failed.\r\n"), 1, 0, &r, &err), 0);
    assert_false(r.ok);
    assert_int_equal(r.ends, 0); /* no body after -ERR */
    assert_string_equal(r.text, "[AUTH] Authentication failed.");
    mr_buf_free(&r.body);
    assert_int_equal(run(S("+OK\r\n"), 0, 0, &r, &err), 0);
    assert_string_equal(r.text, "");
    mr_buf_free(&r.body);
}

static void test_bad_status(void **state)
{
    (void)state;
    struct result r;
    mr_error err = {0};
    assert_int_equal(run(S("+OKAY\r\n"), 0, 0, &r, &err), MR_EPROTO);
    mr_buf_free(&r.body);
    assert_int_equal(run(S("HTTP/1.1 200 OK\r\n"), 0, 0, &r, &err), MR_EPROTO);
    assert_non_null(strstr(err.message, "expected +OK or -ERR"));
    mr_buf_free(&r.body);
    assert_int_equal(run(S("+OK a\0b\r\n"), 0, 0, &r, &err), MR_EPROTO);
    mr_buf_free(&r.body);
    char long_line[MR_POP3_STATUS_MAX + 10];
    memset(long_line, 'x', sizeof(long_line));
    memcpy(long_line, "+OK ", 4);
    assert_int_equal(run(long_line, sizeof(long_line), 0, 0, &r, &err), MR_EPROTO);
    assert_non_null(strstr(err.message, "longer than"));
    mr_buf_free(&r.body);
}

static void test_single_line(void **state)
{
    (void)state;
    check_all_splits(S("+OK 2 320\r\n"), 0, "", 0, 11);
}

static void test_body_unstuffing(void **state)
{
    (void)state;
    const char in[] = "+OK 120 octets\r\n"
                      "Subject: dots\r\n"
                      "\r\n"
                      "..leading dot\r\n"
                      "..\r\n"     /* a lone dot in the message */
                      "...two\r\n" /* two dots */
                      "a.b.\r\n"
                      ".\r\n"
                      "+OK next";
    const char body[] = "Subject: dots\r\n\r\n.leading dot\r\n.\r\n..two\r\na.b.\r\n";
    check_all_splits(in, sizeof(in) - 1, 1, body, sizeof(body) - 1, sizeof(in) - 1 - 8);
}

static void test_empty_body_and_bare_lf(void **state)
{
    (void)state;
    check_all_splits(S("+OK\r\n.\r\n"), 1, "", 0, 8);
    const char in[] = "+OK\nline one\n..x\n.\n";
    check_all_splits(in, sizeof(in) - 1, 1, "line one\n.x\n", 12, sizeof(in) - 1);
}

/* A whole conversation through one parser, fed `chunk` bytes at a time:
 * each event written to out ("S+text|" "S-text|" "D..." "E|"), the bodies'
 * chunks joined. expect[i] says whether response i has a body (one more
 * entry than responses). */
static int converse(const char *in, size_t len, const int *expect, size_t chunk, struct mr_buf *out,
                    mr_error *err)
{
    struct mr_pop3_parser *p = mr_pop3_parser_new();
    size_t off = 0, responses = 0;
    int rc = 0;
    mr_pop3_parser_expect(p, expect[0]);
    while (off < len) {
        size_t n = chunk && len - off > chunk ? chunk : len - off, used = 0;
        struct mr_pop3_event ev;
        rc = mr_pop3_parser_feed(p, in + off, n, &used, &ev, err);
        off += used;
        if (rc < 0)
            break;
        if (rc == 0)
            continue;
        if (ev.type == MR_POP3_DATA) {
            mr_buf_append(out, ev.data, ev.len);
            continue;
        }
        if (ev.type == MR_POP3_END)
            mr_buf_append(out, "E|", 2);
        else {
            mr_buf_append(out, ev.ok ? "S+" : "S-", 2);
            mr_buf_append(out, ev.text, strlen(ev.text));
            mr_buf_append(out, "|", 1);
        }
        if (ev.type == MR_POP3_END || !mr_pop3_parser_in_body(p))
            mr_pop3_parser_expect(p, expect[++responses]);
    }
    mr_pop3_parser_free(&p);
    return rc < 0 ? rc : 0;
}

static void converse_all_splits(const char *in, const int *expect, const char *want)
{
    size_t len = strlen(in);
    for (size_t chunk = 0; chunk <= len; chunk = chunk ? chunk + 1 : 1) {
        struct mr_buf out;
        mr_error err = {0};
        mr_buf_init(&out, 1 << 16);
        if (converse(in, len, expect, chunk, &out, &err) != 0)
            fail_msg("chunk %zu: %s", chunk, err.message);
        mr_buf_append(&out, "", 1);
        if (strcmp(out.data, want) != 0)
            fail_msg("chunk %zu:\n got  %s\n want %s", chunk, out.data, want);
        mr_buf_free(&out);
    }
}

/* A server with bare LF line ends from the greeting on: one status line
 * after another (the second used to be read as the first's continuation,
 * "a NUL byte"), CAPA, LIST and UIDL listings, a body with a stuffed dot
 * and a lone one, and the final ".\n", wherever the input is split. */
static void test_bare_lf_conversation(void **state)
{
    (void)state;
    static const int expect[] = {0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0};
    converse_all_splits("+OK ready <1.2@h>\n"
                        "+OK\nUSER\nUIDL\n.\n"
                        "+OK\n"
                        "+OK logged in\n"
                        "+OK 1 22\n"
                        "+OK\n1 22\n.\n"
                        "+OK\n1 abc\n.\n"
                        "+OK 22 octets\nSubject: x\n\n..\n...y\n.\n"
                        "-ERR no such message\n"
                        "+OK bye\n",
                        expect,
                        "S+ready <1.2@h>|S+|USER\nUIDL\nE|S+|S+logged in|S+1 22|S+|1 22\nE|"
                        "S+|1 abc\nE|S+22 octets|Subject: x\n\n.\n..y\nE|S-no such message|"
                        "S+bye|");
}

/* The same conversation with CRLF, and bare LF where CRLF belongs in
 * between: each line on its own terms. */
static void test_mixed_line_ends(void **state)
{
    (void)state;
    static const int expect[] = {0, 1, 0, 1, 0, 0};
    converse_all_splits("+OK ready\r\n"
                        "+OK\nUSER\r\nUIDL\n.\r\n"
                        "+OK 1 22\n"
                        "+OK\r\nSubject: x\r\n\nbody\n.\n"
                        "+OK bye\r\n",
                        expect,
                        "S+ready|S+|USER\r\nUIDL\nE|S+1 22|S+|Subject: x\r\n\nbody\nE|S+bye|");
}

static void test_dot_cr_without_lf(void **state)
{
    (void)state;
    const char in[] = "+OK\r\n.\rX\r\n.\r\n";
    check_all_splits(in, sizeof(in) - 1, 1, "\rX\r\n", 4, sizeof(in) - 1);
}

static void test_nul_and_8bit_in_body(void **state)
{
    (void)state;
    const char in[] = "+OK\r\nbin\0ary \xff\xfe\r\n.\r\n";
    check_all_splits(in, sizeof(in) - 1, 1, "bin\0ary \xff\xfe\r\n", 12, sizeof(in) - 1);
}

static void test_uidl_listing(void **state)
{
    (void)state;
    const char in[] = "+OK\r\n1 000000016b024e08\r\n2 000000026b024e08\r\n.\r\n";
    const char body[] = "1 000000016b024e08\r\n2 000000026b024e08\r\n";
    check_all_splits(in, sizeof(in) - 1, 1, body, sizeof(body) - 1, sizeof(in) - 1);
}

static void test_unterminated_body_needs_more(void **state)
{
    (void)state;
    struct result r;
    mr_error err = {0};
    /* the server stops before the final dot: the parser waits, it does not
     * invent an end (the session's timeout or EOF decides) */
    assert_int_equal(run(S("+OK\r\nline\r\n"), 1, 0, &r, &err), 0);
    assert_int_equal(r.ends, 0);
    assert_int_equal(r.body.len, 6);
    mr_buf_free(&r.body);
}

/* What arrived against LIST's size: exact, line ends counted either way,
 * and the tolerance in percent (the account setting to come). */
static void test_size_matches(void **state)
{
    (void)state;
    char big[2048];
    memset(big, 'x', sizeof(big));
    assert_true(mr_pop3_size_matches(10, "0123456789", 10, 0));
    assert_true(mr_pop3_size_matches(0, "", 0, 0));
    assert_false(mr_pop3_size_matches(0, "abc", 3, 100));
    assert_true(mr_pop3_size_matches(6, "a\nb\n", 4, 0));     /* LIST counted CRLF, LF sent */
    assert_true(mr_pop3_size_matches(4, "a\r\nb\r\n", 6, 0)); /* the opposite */
    assert_true(mr_pop3_size_matches(6, "a\r\nb\n", 5, 0));   /* mixed, either way */
    assert_true(mr_pop3_size_matches(4, "a\r\nb\n", 5, 0));
    assert_false(mr_pop3_size_matches(5, "a\nb\n", 4, 0)); /* one line end short */
    assert_false(mr_pop3_size_matches(7, "a\nb\n", 4, 0));
    /* truncated: 812 of 2,048 bytes */
    assert_false(mr_pop3_size_matches(2048, big, 812, 0));
    assert_false(mr_pop3_size_matches(2048, big, 812, 60));
    assert_true(mr_pop3_size_matches(2048, big, 812, 61));
    /* 1 % either way */
    assert_false(mr_pop3_size_matches(1000, big, 1010, 0));
    assert_true(mr_pop3_size_matches(1000, big, 1010, 1));
    assert_true(mr_pop3_size_matches(1000, big, 990, 1));
    assert_false(mr_pop3_size_matches(1000, big, 1011, 1));
    /* 70 KB more than announced: never within a sane tolerance */
    char *more = calloc(1, 71000);
    assert_false(mr_pop3_size_matches(1000, more, 71000, 100));
    free(more);
    /* sizes no message has: no overflow */
    assert_false(mr_pop3_size_matches(UINT64_MAX, "abc", 3, 10));
    assert_true(mr_pop3_size_matches(UINT64_MAX, "abc", 3, 100));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_lines),
        cmocka_unit_test(test_bad_status),
        cmocka_unit_test(test_single_line),
        cmocka_unit_test(test_body_unstuffing),
        cmocka_unit_test(test_empty_body_and_bare_lf),
        cmocka_unit_test(test_bare_lf_conversation),
        cmocka_unit_test(test_mixed_line_ends),
        cmocka_unit_test(test_dot_cr_without_lf),
        cmocka_unit_test(test_nul_and_8bit_in_body),
        cmocka_unit_test(test_uidl_listing),
        cmocka_unit_test(test_unterminated_body_needs_more),
        cmocka_unit_test(test_size_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
