/* Utilities: RFC 4180 CSV, capped buffers, flag parsing and UTF-8. */
#include "cmocka_all.h"

#include "core/lang.h"
#include "util/buf.h"
#include "util/csv.h"
#include "util/error.h"
#include "util/text.h"

#include <stdio.h>
#include <string.h>

static void assert_csv(const char *const *fields, size_t n, const char *expected)
{
    struct mr_buf b;
    mr_buf_init(&b, 4096);
    assert_int_equal(mr_csv_row(&b, fields, n), 0);
    assert_string_equal(b.data, expected);
    mr_buf_free(&b);
}

static void test_csv_plain(void **state)
{
    (void)state;
    const char *f[] = {"1", "Support", "yes"};
    assert_csv(f, 3, "1,Support,yes\r\n");
}

static void test_csv_quoting(void **state)
{
    (void)state;
    const char *comma[] = {"a,b", "c"};
    assert_csv(comma, 2, "\"a,b\",c\r\n");
    const char *quote[] = {"say \"hi\""};
    assert_csv(quote, 1, "\"say \"\"hi\"\"\"\r\n");
    const char *newline[] = {"two\nlines", "cr\rhere", "crlf\r\nx"};
    assert_csv(newline, 3, "\"two\nlines\",\"cr\rhere\",\"crlf\r\nx\"\r\n");
    const char *spaces[] = {" lead", "trail ", "mid dle"};
    assert_csv(spaces, 3, "\" lead\",\"trail \",mid dle\r\n");
}

static void test_csv_empty_null_utf8(void **state)
{
    (void)state;
    const char *f[] = {"", NULL, "Suporte Técnico — 日本", "x"};
    assert_csv(f, 4, ",,Suporte Técnico — 日本,x\r\n");
    const char *only_quote[] = {"\""};
    assert_csv(only_quote, 1, "\"\"\"\"\r\n");
}

/* Cells a spreadsheet would run as formulas get an apostrophe in front,
 * inside the quotes when the field needs them. */
static void test_csv_formulas_neutralized(void **state)
{
    (void)state;
    const char *f[] = {"=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "a=b", "x-y"};
    assert_csv(f, 6, "\"'=HYPERLINK(\"\"http://x\"\")\",'+1,'-2,'@SUM(A1),a=b,x-y\r\n");
    const char *ws[] = {"\t=1", "\r=1"};
    assert_csv(ws, 2, "'\t=1,\"'\r=1\"\r\n");
}

static void test_csv_cap(void **state)
{
    (void)state;
    struct mr_buf b;
    mr_buf_init(&b, 8);
    const char *f[] = {"0123456789"};
    assert_int_equal(mr_csv_row(&b, f, 1), MR_ETOOBIG);
    mr_buf_free(&b);
}

static void test_buf_cap(void **state)
{
    (void)state;
    struct mr_buf b;
    mr_buf_init(&b, 10);
    assert_int_equal(mr_buf_puts(&b, "hello"), 0);
    assert_int_equal(mr_buf_printf(&b, "%d", 12345), 0);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "hello12345");
    assert_int_equal(mr_buf_putc(&b, '!'), MR_ETOOBIG);
    assert_int_equal(b.len, 10); /* unchanged by the failed append */
    assert_int_equal(mr_buf_append(&b, "x", SIZE_MAX), MR_ETOOBIG);
    mr_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    mr_buf_free(&b);
    assert_null(b.data);
}

static void test_parse_int(void **state)
{
    (void)state;
    long long v = 0;
    assert_int_equal(mr_parse_int("993", 1, 65535, &v), 0);
    assert_int_equal(v, 993);
    assert_int_equal(mr_parse_int("-5", -10, 10, &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(mr_parse_int("0", 1, 65535, &v), MR_ETOOBIG);
    assert_int_equal(mr_parse_int("99999999999999999999", 1, 65535, &v), MR_ETOOBIG);
    assert_int_equal(mr_parse_int("12a", 1, 100, &v), MR_EINVAL);
    assert_int_equal(mr_parse_int(" 12", 1, 100, &v), MR_EINVAL);
    assert_int_equal(mr_parse_int("", 1, 100, &v), MR_EINVAL);
    assert_int_equal(mr_parse_int("-", 1, 100, &v), MR_EINVAL);
    assert_int_equal(mr_parse_int("0x10", 1, 100, &v), MR_EINVAL);
}

static void test_yes_no(void **state)
{
    (void)state;
    int v = -1;
    assert_int_equal(mr_parse_yes_no("YES", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(mr_parse_yes_no("false", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(mr_parse_yes_no("y", &v), MR_EINVAL);
    assert_int_equal(mr_parse_yes_no("", &v), MR_EINVAL);
}

static void test_utf8(void **state)
{
    (void)state;
    static const char *const valid[] = {"plain", "é", "日本語", "\xf0\x9f\x93\xa7", ""};
    static const char *const invalid[] = {
        "\xff",
        "\xc3",             /* truncated */
        "\xc0\xaf",         /* overlong slash */
        "\xed\xa0\x80",     /* surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xe0\x80\xaf",     /* overlong */
        "ok\x80",
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        assert_true(mr_utf8_valid(valid[i], strlen(valid[i])));
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        assert_false(mr_utf8_valid(invalid[i], strlen(invalid[i])));
    assert_int_equal(mr_utf8_width("Técnico"), 7);
    assert_int_equal(mr_utf8_width("日本"), 2);
}

static void test_small_helpers(void **state)
{
    (void)state;
    assert_true(mr_str_all_digits("0123"));
    assert_false(mr_str_all_digits("12a"));
    assert_false(mr_str_all_digits(""));
    assert_true(mr_str_has_control("a\tb"));
    assert_true(mr_str_has_control("del\x7f"));
    assert_false(mr_str_has_control("fine é"));
    assert_true(mr_str_ieq("Inbox", "INBOX"));
    assert_false(mr_str_ieq("Inbox", NULL));
    assert_true(mr_str_ieq(NULL, NULL));
}

static void test_error_set(void **state)
{
    (void)state;
    mr_error err = {0};
    assert_int_equal(mr_error_set(&err, MR_ENOTFOUND, "port", "no %s %d", "thing", 5),
                     MR_ENOTFOUND);
    assert_string_equal(err.field, "port");
    assert_string_equal(err.message, "no thing 5");
    assert_int_equal(mr_error_set(NULL, MR_EIO, NULL, "ignored"), MR_EIO);
    assert_string_equal(mr_status_name(MR_EINUSE), "in use");
    mr_error_clear(&err);
    assert_int_equal(err.code, 0);
}

/* A server's words for display: control characters escaped, cut at max
 * bytes of output on a character boundary, "…" when cut. */
static void test_excerpt(void **state)
{
    (void)state;
    char out[64];
    mr_text_excerpt("+OK ready", 200, out, sizeof(out));
    assert_string_equal(out, "+OK ready");
    mr_text_excerpt("a\x1b[2J\x07"
                    "b\r\n\x7f",
                    200, out, sizeof(out));
    assert_string_equal(out, "a\\x1b[2J\\x07b\\x0d\\x0a\\x7f");
    mr_text_excerpt("abcdefghij", 4, out, sizeof(out));
    assert_string_equal(out, "abcd…");
    mr_text_excerpt("ab\x1b", 4, out, sizeof(out)); /* an escape is never split */
    assert_string_equal(out, "ab…");
    mr_text_excerpt("aé", 2, out, sizeof(out)); /* nor a UTF-8 sequence */
    assert_string_equal(out, "a…");
    mr_text_excerpt("aé", 3, out, sizeof(out));
    assert_string_equal(out, "aé");
    mr_text_excerpt("0123456789", 200, out, 8); /* and never past out */
    assert_string_equal(out, "0123…");
    mr_text_excerpt(NULL, 200, out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_content_disposition(void **state)
{
    (void)state;
    char out[MR_DISPOSITION_MAX];
    static const struct {
        const char *name, *want;
    } cases[] = {
        {"report.pdf", "attachment; filename=\"report.pdf\""},
        {"Relatório de maio.pdf", "attachment; filename=\"Relat_rio de maio.pdf\"; "
                                  "filename*=UTF-8''Relat%C3%B3rio%20de%20maio.pdf"},
        {"../../etc/passwd", "attachment; filename=\"passwd\""},
        {"C:\\Users\\x\\a \"b\".txt",
         "attachment; filename=\"a _b_.txt\"; filename*=UTF-8''a%20%22b%22.txt"},
        {"line\r\nSet-Cookie: x", "attachment; filename=\"lineSet-Cookie: x\""},
        {"..", "attachment; filename=\"attachment-1-2\""},
        {"", "attachment; filename=\"attachment-1-2\""},
        {NULL, "attachment; filename=\"attachment-1-2\""},
        {"\xff\xfe bad utf-8", "attachment; filename=\"attachment-1-2\""},
        /* no direction override to make invoice\u202Efdp.exe read as invoiceexe.pdf */
        {"invoice\xe2\x80\xaegpj.exe", "attachment; filename=\"invoicegpj.exe\""},
        {"a\xc2\x85"
         "b.txt",
         "attachment; filename=\"ab.txt\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mr_content_disposition(cases[i].name, "attachment-1-2", out, sizeof(out));
        assert_string_equal(out, cases[i].want);
    }
    /* a long name is cut on a character boundary, and fits */
    char longname[1024] = "";
    for (int i = 0; i < 150; i++)
        strcat(longname, "é");
    mr_content_disposition(longname, "x", out, sizeof(out));
    assert_non_null(strstr(out, "filename*=UTF-8''%C3%A9"));
    const char *enc = strstr(out, "''") + 2;
    assert_int_equal(strlen(enc), 100 * 6); /* 100 whole characters of 2 bytes */
    assert_true(strlen(out) < sizeof(out));
}

/* How a message was said: the format and each argument as printf took it;
 * nothing said rather than something misread or cut. */
static void test_said(void **state)
{
    (void)state;
    mr_error e = {0};
    mr_error_set(&e, MR_EINVAL, "f", "%d%% of %.*s, %-3s|, %llu, %zu, %c, %x", 50, 3, "abcdef", "x",
                 18446744073709551615ULL, (size_t)7, 'q', 255);
    assert_string_equal(e.message, "50% of abc, x  |, 18446744073709551615, 7, q, ff");
    assert_true(mr_error_said_valid(&e));
    assert_int_equal(e.said.nargs, 7);
    static const char *const want[] = {"50", "abc", "x  ", "18446744073709551615", "7", "q", "ff"};
    for (unsigned i = 0; i < 7; i++)
        assert_string_equal(mr_said_arg(&e.said, i), want[i]);
    /* a prefix keeps its own, outermost first; a message rewritten since is not said */
    mr_error_prefix(&e, "account %s", "support");
    assert_int_equal(e.nprefix, 1);
    assert_string_equal(e.prefix[0].format, "account %s");
    assert_true(mr_error_said_valid(&e));
    snprintf(e.message, sizeof(e.message), "rewritten");
    assert_false(mr_error_said_valid(&e));
    /* an argument too long to keep whole: nothing said, the message stays */
    char big[MR_SAID_TEXT_MAX + 10];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    mr_error_set(&e, MR_EINVAL, "", "long %s", big);
    assert_null(e.said.format);
    assert_false(mr_error_said_valid(&e));
    /* more arguments than kept: nothing said */
    mr_error_set(&e, MR_EINVAL, "", "%d %d %d %d %d %d %d %d %d", 1, 2, 3, 4, 5, 6, 7, 8, 9);
    assert_null(e.said.format);
    /* a problem says it too */
    struct mr_problems p = {0};
    mr_problems_add(&p, "port", "must be between %lld and %lld", 1LL, 65535LL);
    assert_string_equal(p.items[0].said.format, "must be between %lld and %lld");
    assert_string_equal(mr_said_arg(&p.items[0].said, 1), "65535");
}

static void test_languages(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int rc;
        enum mr_lang want;
    } cases[] = {
        {"en", 0, MR_LANG_EN},
        {"pt-BR", 0, MR_LANG_PT_BR},
        {"pt_BR.UTF-8", 0, MR_LANG_PT_BR},
        {"pt", 0, MR_LANG_PT_BR},
        {"pt-br;q=0.9, en", 0, MR_LANG_PT_BR},
        {" en-US,pt;q=0.5", 0, MR_LANG_EN},
        {"C.UTF-8", 0, MR_LANG_EN},
        {"POSIX", 0, MR_LANG_EN},
        {"C", 0, MR_LANG_EN},
        {"ptx", MR_EINVAL, MR_LANG_EN},
        {"tlh", MR_EINVAL, MR_LANG_EN},
        {"", MR_EINVAL, MR_LANG_EN},
        {NULL, MR_EINVAL, MR_LANG_EN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum mr_lang l = MR_LANG_PT_BR;
        assert_int_equal(mr_lang_parse(cases[i].text, &l), cases[i].rc);
        assert_int_equal(l, cases[i].want);
    }
    assert_string_equal(mr_lang_name(MR_LANG_PT_BR), "pt-BR");
    assert_string_equal(mr_lang_name(MR_LANG_EN), "en");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_plain),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_csv_empty_null_utf8),
        cmocka_unit_test(test_csv_formulas_neutralized),
        cmocka_unit_test(test_csv_cap),
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_parse_int),
        cmocka_unit_test(test_yes_no),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_small_helpers),
        cmocka_unit_test(test_error_set),
        cmocka_unit_test(test_excerpt),
        cmocka_unit_test(test_content_disposition),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_said),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
