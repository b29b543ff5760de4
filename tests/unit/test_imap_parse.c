/* The IMAP response parser, fed every input whole and one byte at a time. */
#include "cmocka_all.h"

#include "proto/imap_parse.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Feeds data whole or bytewise until one response is complete. */
static int parse_one(struct mr_imap_parser *p, const char *data, size_t len, int bytewise,
                     size_t *consumed, const struct mr_imap_response **r, mr_error *err)
{
    size_t off = 0;
    while (off < len) {
        size_t chunk = bytewise ? 1 : len - off, used = 0;
        int rc = mr_imap_parser_feed(p, data + off, chunk, &used, r, err);
        off += used;
        if (rc != 0) {
            *consumed = off;
            return rc;
        }
    }
    *consumed = off;
    return 0;
}

typedef void (*check_fn)(const struct mr_imap_response *r);

static void both_ways(const char *data, size_t len, check_fn check)
{
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        struct mr_imap_parser *p = mr_imap_parser_new();
        const struct mr_imap_response *r = NULL;
        mr_error err = {0};
        size_t used;
        int rc = parse_one(p, data, len, bytewise, &used, &r, &err);
        if (rc != 1)
            fail_msg("rc %d (%s), bytewise %d", rc, err.message, bytewise);
        assert_int_equal(used, len);
        check(r);
        mr_imap_parser_free(&p);
    }
}

static void expect_error(const char *data, size_t len, const char *text)
{
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        struct mr_imap_parser *p = mr_imap_parser_new();
        const struct mr_imap_response *r = NULL;
        mr_error err = {0};
        size_t used;
        assert_int_equal(parse_one(p, data, len, bytewise, &used, &r, &err), MR_EPROTO);
        if (!strstr(err.message, text))
            fail_msg("'%s' does not say '%s'", err.message, text);
        mr_imap_parser_free(&p);
    }
}

#define S(lit) lit, sizeof(lit) - 1

static void check_greeting(const struct mr_imap_response *r)
{
    assert_int_equal(r->kind, MR_IMAP_UNTAGGED);
    assert_int_equal(r->status, MR_IMAP_OK);
    assert_string_equal(r->code, "CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN");
    assert_string_equal(r->text, "Dovecot ready.");
}

static void test_greeting(void **state)
{
    (void)state;
    both_ways(S("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot ready.\r\n"),
              check_greeting);
}

static void check_tagged_no(const struct mr_imap_response *r)
{
    assert_int_equal(r->kind, MR_IMAP_TAGGED);
    assert_string_equal(r->tag, "a0001");
    assert_int_equal(r->status, MR_IMAP_NO);
    assert_string_equal(r->code, "AUTHENTICATIONFAILED");
    assert_string_equal(r->text, "Authentication failed (with [brackets] and \"quotes\" (");
}

static void test_tagged_status_with_free_text(void **state)
{
    (void)state;
    both_ways(S("a0001 no [AUTHENTICATIONFAILED] Authentication failed (with [brackets] and "
                "\"quotes\" (\r\n"),
              check_tagged_no);
}

static void check_continue(const struct mr_imap_response *r)
{
    assert_int_equal(r->kind, MR_IMAP_CONTINUE);
    assert_string_equal(r->text, "dGVzdA==");
}

static void check_bare_continue(const struct mr_imap_response *r)
{
    assert_int_equal(r->kind, MR_IMAP_CONTINUE);
    assert_string_equal(r->text, "");
}

static void test_continuation(void **state)
{
    (void)state;
    both_ways(S("+ dGVzdA==\r\n"), check_continue);
    both_ways(S("+\r\n"), check_bare_continue);
}

static void check_exists(const struct mr_imap_response *r)
{
    assert_true(r->has_number);
    assert_int_equal(r->number, 4294967295u);
    assert_string_equal(r->name, "EXISTS");
    assert_int_equal(r->status, MR_IMAP_NONE);
    assert_int_equal(r->ntokens, 0);
}

static void test_numbered(void **state)
{
    (void)state;
    both_ways(S("* 4294967295 exists\r\n"), check_exists);
    expect_error(S("* 4294967296 EXISTS\r\n"), "32-bit number");
    expect_error(S("* 12x EXISTS\r\n"), "32-bit number");
}

static void check_fetch(const struct mr_imap_response *r)
{
    assert_string_equal(r->name, "FETCH");
    assert_int_equal(r->number, 1);
    assert_int_equal(r->ntokens, 8);
    assert_int_equal(r->tokens[0].type, MR_IMAP_OPEN);
    assert_true(mr_imap_token_is(&r->tokens[1], "uid"));
    uint64_t uid;
    assert_int_equal(mr_imap_token_number(&r->tokens[2], UINT32_MAX, &uid), 0);
    assert_int_equal(uid, 7);
    assert_true(mr_imap_token_is(&r->tokens[5], "BODY[]"));
    assert_int_equal(r->tokens[6].type, MR_IMAP_STRING);
    assert_int_equal(r->tokens[6].len, 5);
    assert_memory_equal(r->tokens[6].text, "he\0l\n", 5); /* NUL and LF inside survive */
    assert_int_equal(r->tokens[7].type, MR_IMAP_CLOSE);
}

static void test_fetch_with_literal(void **state)
{
    (void)state;
    both_ways(S("* 1 FETCH (UID 7 RFC822.SIZE 5 BODY[] {5}\r\nhe\0l\n)\r\n"), check_fetch);
}

static void check_empty_literal(const struct mr_imap_response *r)
{
    assert_int_equal(r->ntokens, 5);
    assert_int_equal(r->tokens[2].type, MR_IMAP_STRING);
    assert_int_equal(r->tokens[2].len, 0);
    assert_int_equal(r->tokens[3].type, MR_IMAP_NIL);
}

static void test_empty_literal_and_nil(void **state)
{
    (void)state;
    both_ways(S("* 2 FETCH (BODY[] {0}\r\n nil)\r\n"), check_empty_literal);
}

static void check_list(const struct mr_imap_response *r)
{
    assert_string_equal(r->name, "LIST");
    assert_int_equal(r->ntokens, 6);
    assert_true(mr_imap_token_is(&r->tokens[1], "\\HasNoChildren"));
    assert_int_equal(r->tokens[4].type, MR_IMAP_STRING);
    assert_string_equal(r->tokens[4].text, "/");
    assert_string_equal(r->tokens[5].text, "a \"b\\");
}

static void test_quoted_escapes(void **state)
{
    (void)state;
    both_ways(S("* LIST (\\HasNoChildren \\Marked) \"/\" \"a \\\"b\\\\\"\r\n"), check_list);
    expect_error(S("* LIST () \"/\" \"unterminated\r\n"), "not closed");
}

static void check_section(const struct mr_imap_response *r)
{
    assert_int_equal(r->ntokens, 6);
    assert_string_equal(r->tokens[1].text, "BODY[HEADER.FIELDS (FROM TO)]<0>");
    assert_string_equal(r->tokens[2].text, "From: a\r\n");
}

static void test_section_atom(void **state)
{
    (void)state;
    both_ways(S("* 3 FETCH (BODY[HEADER.FIELDS (FROM TO)]<0> {9}\r\nFrom: a\r\n UID 4)\r\n"),
              check_section);
}

static void check_bare_lf(const struct mr_imap_response *r)
{
    assert_string_equal(r->name, "CAPABILITY");
    assert_int_equal(r->ntokens, 2);
}

static void test_bare_lf(void **state)
{
    (void)state;
    both_ways(S("* CAPABILITY IMAP4rev1 IDLE\n"), check_bare_lf);
}

static void test_several_in_one_buffer(void **state)
{
    (void)state;
    const char data[] = "* 3 EXISTS\r\n* 1 RECENT\r\na1 OK done\r\n";
    struct mr_imap_parser *p = mr_imap_parser_new();
    const struct mr_imap_response *r;
    mr_error err = {0};
    size_t off = 0, used;
    const char *names[] = {"EXISTS", "RECENT", "OK"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            mr_imap_parser_feed(p, data + off, sizeof(data) - 1 - off, &used, &r, &err), 1);
        assert_string_equal(r->name, names[i]);
        off += used;
    }
    assert_int_equal(off, sizeof(data) - 1);
    mr_imap_parser_free(&p);
}

struct spool {
    struct mr_buf body;
    int begun, ended;
    char before[32];
};

static int sink_begin(void *ctx, const char *before, uint64_t size, mr_error *err)
{
    (void)err;
    struct spool *s = ctx;
    s->begun++;
    snprintf(s->before, sizeof(s->before), "%s", before);
    return size > 10; /* small ones stay inline */
}

static int sink_data(void *ctx, const char *p, size_t n, mr_error *err)
{
    (void)err;
    return mr_buf_append(&((struct spool *)ctx)->body, p, n);
}

static int sink_end(void *ctx, mr_error *err)
{
    (void)err;
    ((struct spool *)ctx)->ended++;
    return 0;
}

static void test_streamed_literal(void **state)
{
    (void)state;
    size_t big = 200000;
    struct mr_buf in;
    mr_buf_init(&in, 1 << 20);
    mr_buf_printf(&in, "* 9 FETCH (UID 10 BODY[] {%zu}\r\n", big);
    for (size_t i = 0; i < big; i++)
        mr_buf_putc(&in, (char)('a' + i % 26));
    mr_buf_puts(&in, " FLAGS (\\Seen))\r\n");
    for (size_t chunk = 1; chunk <= 65536; chunk *= 16) {
        struct spool s = {0};
        mr_buf_init(&s.body, 1 << 20);
        struct mr_imap_sink sink = {sink_begin, sink_data, sink_end, &s};
        struct mr_imap_parser *p = mr_imap_parser_new();
        mr_imap_parser_set_sink(p, &sink);
        const struct mr_imap_response *r = NULL;
        mr_error err = {0};
        size_t off = 0, used;
        int rc = 0;
        while (rc == 0 && off < in.len) {
            size_t n = in.len - off < chunk ? in.len - off : chunk;
            rc = mr_imap_parser_feed(p, in.data + off, n, &used, &r, &err);
            off += used;
        }
        assert_int_equal(rc, 1);
        assert_int_equal((s.begun), 1);
        assert_int_equal(s.ended, 1);
        assert_string_equal(s.before, "BODY[]");
        assert_int_equal(s.body.len, big);
        assert_memory_equal(s.body.data, in.data + in.len - big - 17, big);
        assert_int_equal(r->tokens[4].type, MR_IMAP_STREAMED);
        assert_int_equal(r->tokens[4].size, big);
        assert_true(mr_imap_token_is(&r->tokens[5], "FLAGS"));
        mr_imap_parser_free(&p);
        mr_buf_free(&s.body);
    }
    mr_buf_free(&in);
}

static void test_literal_sizes(void **state)
{
    (void)state;
    /* no sink: a literal above the inline limit is refused before any byte */
    expect_error(S("* 1 FETCH (BODY[] {70000}\r\n"), "unexpected literal of 70000 bytes");
    expect_error(S("* 1 FETCH (BODY[] {4294967297}\r\n"), "more than 4294967296 bytes");
    expect_error(S("* 1 FETCH (BODY[] {18446744073709551615}\r\n"), "more than");
    expect_error(S("* 1 FETCH (BODY[] {99999999999999999999999999}\r\n"), "more than");
    expect_error(S("* 1 FETCH (BODY[] {-1}\r\n"), "not a number");
    expect_error(S("* 1 FETCH (BODY[] {}\r\n"), "not a number");
    expect_error(S("* 1 FETCH (BODY[] {5} junk\r\n"), "not at the end");
}

static void test_malformed(void **state)
{
    (void)state;
    expect_error(S("* 1 FETCH (UID 1))\r\n"), "without its '('");
    expect_error(S("* 1 FETCH ((UID 1)\r\n"), "not closed");
    expect_error(S("* CAPABILITY IMAP4\0rev1\r\n"), "NUL byte");
    expect_error(S("a1 FROB thing\r\n"), "not OK, NO or BAD");
    expect_error(S("\r\n"), "without a tag");
    expect_error(S("* \r\n"), "without a name");
    expect_error(S("* 3 FETCH (UID\x01)\r\n"), "invalid character");
    expect_error(S("* OK [UNCLOSED code\r\n"), "not closed");
    expect_error(S("* 1 FETCH ((((((((((((((((((1))))))))))))))))))\r\n"), "too deeply");
}

static void test_line_limit(void **state)
{
    (void)state;
    size_t n = MR_IMAP_LINE_MAX + 10;
    char *data = malloc(n);
    memset(data, 'x', n);
    memcpy(data, "* OK ", 5);
    struct mr_imap_parser *p = mr_imap_parser_new();
    const struct mr_imap_response *r;
    mr_error err = {0};
    size_t used;
    assert_int_equal(mr_imap_parser_feed(p, data, n, &used, &r, &err), MR_EPROTO);
    assert_non_null(strstr(err.message, "longer than"));
    mr_imap_parser_free(&p);
    free(data);
}

static void test_reset_discards_partial(void **state)
{
    (void)state;
    struct mr_imap_parser *p = mr_imap_parser_new();
    const struct mr_imap_response *r;
    mr_error err = {0};
    size_t used;
    assert_int_equal(mr_imap_parser_feed(p, S("* 1 FETCH (BODY[] {5}\r\nab"), &used, &r, &err), 0);
    mr_imap_parser_reset(p);
    assert_int_equal(mr_imap_parser_feed(p, S("a2 OK fine\r\n"), &used, &r, &err), 1);
    assert_string_equal(r->tag, "a2");
    mr_imap_parser_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting),
        cmocka_unit_test(test_tagged_status_with_free_text),
        cmocka_unit_test(test_continuation),
        cmocka_unit_test(test_numbered),
        cmocka_unit_test(test_fetch_with_literal),
        cmocka_unit_test(test_empty_literal_and_nil),
        cmocka_unit_test(test_quoted_escapes),
        cmocka_unit_test(test_section_atom),
        cmocka_unit_test(test_bare_lf),
        cmocka_unit_test(test_several_in_one_buffer),
        cmocka_unit_test(test_streamed_literal),
        cmocka_unit_test(test_literal_sizes),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_reset_discards_partial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
