/* MIME summaries: the text of a message. Text in UTF-8 or US-ASCII is taken
 * as it is when it is valid, without GMime's converter; these tests hold
 * the result to what the converter gives, over every charset, transfer
 * encoding and kind of body the shortcut has to tell apart. */
#include "cmocka_all.h"

#include "core/message.h"
#include "mime/summary.h"
#include "util/buf.h"
#include "util/text.h"

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

/* A one-part message, its body as given after the encoding: charset may be
 * NULL (no parameter). */
static void build(struct mr_buf *out, const char *charset, const char *encoding, const char *body,
                  size_t len)
{
    mr_buf_init(out, 1 << 20);
    mr_buf_puts(out, "From: a@example.com\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: text/plain");
    if (charset) {
        mr_buf_puts(out, "; charset=");
        mr_buf_puts(out, charset);
    }
    mr_buf_puts(out, "\r\nContent-Transfer-Encoding: ");
    mr_buf_puts(out, encoding);
    mr_buf_puts(out, "\r\n\r\n");
    if (strcmp(encoding, "base64") == 0) {
        gchar *b64 = g_base64_encode((const guchar *)body, len);
        mr_buf_puts(out, b64);
        g_free(b64);
    } else if (strcmp(encoding, "quoted-printable") == 0) {
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)body[i];
            if (c >= 33 && c <= 126 && c != '=') {
                mr_buf_putc(out, (char)c);
            } else {
                char hex[4];
                snprintf(hex, sizeof(hex), "=%02X", c);
                mr_buf_puts(out, hex);
            }
        }
    } else {
        mr_buf_append(out, body, len);
    }
}

/* What the converter gives: g_mime_text_part_get_text, then what the
 * summary does with any text (empty is none; bytes still not UTF-8 become
 * '?'). */
static char *converted(const struct mr_buf *raw)
{
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw->data, raw->len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    assert_non_null(msg);
    GMimeObject *body = g_mime_message_get_mime_part(msg);
    assert_true(GMIME_IS_TEXT_PART(body));
    char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(body));
    char *out = NULL;
    if (text && *text) {
        size_t n = strlen(text);
        out = strdup(text);
        if (!mr_utf8_valid(out, n))
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)out[i] >= 0x80)
                    out[i] = '?';
    }
    g_free(text);
    g_object_unref(msg);
    g_object_unref(parser);
    g_object_unref(stream);
    return out;
}

static char *summary_text(const struct mr_buf *raw)
{
    struct mr_message m = {0};
    struct mr_attachment *att;
    size_t natt;
    mr_mime_summarize(raw->data, raw->len, &m, &att, &natt);
    assert_int_equal(m.status, MR_MSG_STORED);
    char *text = m.body_text ? strdup(m.body_text) : NULL;
    mr_message_clear(&m);
    mr_attachments_free(&att, natt);
    return text;
}

static void test_text_as_the_converter_gives_it(void **state)
{
    (void)state;
    static const char *const charsets[] = {NULL,    "utf-8",      "UTF8",  "us-ascii",
                                           "ASCII", "iso-8859-1", "utf-16"};
    static const char *const encodings[] = {"7bit", "8bit", "binary", "quoted-printable", "base64"};
    static const struct {
        const char *bytes;
        size_t len;
    } bodies[] = {
        {"plain ASCII text\r\nsecond line\r\n", 31},
        {"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\r\n", 14}, /* UTF-8 */
        {"caf\xe9 au lait\r\n", 14},                      /* Latin-1 */
        {"before\0after", 12},                            /* a NUL */
        {"bad \xc3\x28 sequence", 15},                    /* invalid UTF-8 */
        {"surrogate \xed\xa0\x80 here", 18},              /* not UTF-8 either */
        {"cut \xe6\x97", 6},                              /* a sequence cut short */
        {"", 0},
    };
    int compared = 0;
    for (size_t c = 0; c < sizeof(charsets) / sizeof(charsets[0]); c++)
        for (size_t e = 0; e < sizeof(encodings) / sizeof(encodings[0]); e++)
            for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
                struct mr_buf raw;
                build(&raw, charsets[c], encodings[e], bodies[b].bytes, bodies[b].len);
                char *want = converted(&raw);
                char *got = summary_text(&raw);
                if ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0))
                    fail_msg("charset %s, %s, body %zu: summary \"%s\", converter \"%s\"",
                             charsets[c] ? charsets[c] : "(none)", encodings[e], b,
                             got ? got : "(none)", want ? want : "(none)");
                free(want);
                free(got);
                mr_buf_free(&raw);
                compared++;
            }
    assert_int_equal(compared, 7 * 5 * 8);
}

static void test_text_examples(void **state)
{
    (void)state;
    struct mr_buf raw;
    build(&raw, "utf-8", "quoted-printable", "caf\xc3\xa9", 5);
    char *text = summary_text(&raw);
    assert_string_equal(text, "caf\xc3\xa9");
    free(text);
    mr_buf_free(&raw);

    build(&raw, "iso-8859-1", "8bit", "caf\xe9", 4);
    text = summary_text(&raw);
    assert_string_equal(text, "caf\xc3\xa9");
    free(text);
    mr_buf_free(&raw);

    build(&raw, "utf-8", "base64", "before\0after", 12);
    text = summary_text(&raw);
    assert_string_equal(text, "before");
    free(text);
    mr_buf_free(&raw);

    build(&raw, "utf-8", "8bit", "", 0);
    assert_null(summary_text(&raw));
    mr_buf_free(&raw);
}

/* A summary of raw (a C string, LF line ends), checked by the caller. */
struct summary {
    struct mr_message m;
    struct mr_attachment *att;
    size_t natt;
};

static void summarize(struct summary *s, const char *raw)
{
    memset(s, 0, sizeof(*s));
    mr_mime_summarize(raw, strlen(raw), &s->m, &s->att, &s->natt);
    assert_int_equal(s->m.status, MR_MSG_STORED);
}

static void summary_free(struct summary *s)
{
    mr_message_clear(&s->m);
    mr_attachments_free(&s->att, s->natt);
}

/* Every listed position downloads, as many bytes as listed; one past the
 * last is no attachment. */
static void assert_positions_agree(const char *raw, const struct summary *s)
{
    for (size_t i = 0; i <= s->natt; i++) {
        struct mr_buf out;
        mr_buf_init(&out, 1 << 24);
        mr_error err = {0};
        int rc = mr_mime_attachment(raw, strlen(raw), (int)i + 1, &out, &err);
        if (i == s->natt) {
            assert_int_equal(rc, MR_ENOTFOUND);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(s->att[i].position, (int)i + 1);
            assert_int_equal((int64_t)out.len, s->att[i].size);
        }
        mr_buf_free(&out);
    }
}

#define INNER2                                                                                     \
    "From: carol@example.org\r\nSubject: the original\r\nMIME-Version: 1.0\r\n"                    \
    "Content-Type: multipart/mixed; boundary=in2\r\n\r\n--in2\r\n"                                 \
    "Content-Type: text/plain\r\n\r\nthe original text\r\n--in2\r\n"                               \
    "Content-Type: Application/PDF\r\nContent-Disposition: attachment; filename=rates.pdf\r\n\r\n" \
    "%PDF-1.4\r\n--in2--\r\n"
#define INNER1                                                                                     \
    "From: bob@example.net\r\nSubject: Fwd: the original\r\nMIME-Version: 1.0\r\n"                 \
    "Content-Type: multipart/mixed; boundary=in1\r\n\r\n--in1\r\n"                                 \
    "Content-Type: text/plain\r\n\r\nsee below\r\n--in1\r\n"                                       \
    "Content-Type: message/rfc822\r\n\r\n" INNER2 "\r\n--in1--\r\n"

static const char forwarded_two_deep[] =
    "From: alice@example.com\r\nSubject: Fwd: Fwd: the original\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\n"
    "Content-Type: text/plain\r\n\r\nFYI\r\n--out\r\n"
    "Content-Type: image/png\r\nContent-Disposition: attachment; filename=a.png\r\n\r\n"
    "png\r\n--out\r\n"
    "Content-Type: Message/RFC822\r\n\r\n" INNER1 "\r\n--out\r\n"
    "Content-Type: text/csv\r\nContent-Disposition: attachment; filename=last.csv\r\n\r\n"
    "a,b\r\n--out--\r\n";

static void test_forwarded_messages(void **state)
{
    (void)state;
    struct summary s;
    summarize(&s, forwarded_two_deep);
    /* document order: a forwarded message, then its own parts */
    static const struct {
        const char *name, *type;
    } want[] = {{"a.png", "image/png"},
                {"Fwd: the original.eml", "message/rfc822"},
                {"the original.eml", "message/rfc822"},
                {"rates.pdf", "application/pdf"},
                {"last.csv", "text/csv"}};
    assert_int_equal(s.natt, 5);
    assert_int_equal(s.m.attachments, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(s.att[i].filename, want[i].name);
        assert_string_equal(s.att[i].content_type, want[i].type);
    }
    assert_int_equal(s.att[1].size, (int64_t)strlen(INNER1));
    assert_int_equal(s.att[2].size, (int64_t)strlen(INNER2));
    assert_positions_agree(forwarded_two_deep, &s);
    /* the .eml is the forwarded message's bytes */
    struct mr_buf out;
    mr_buf_init(&out, 1 << 20);
    mr_error err = {0};
    assert_int_equal(
        mr_mime_attachment(forwarded_two_deep, strlen(forwarded_two_deep), 3, &out, &err), 0);
    assert_int_equal(out.len, strlen(INNER2));
    assert_memory_equal(out.data, INNER2, out.len);
    mr_buf_free(&out);
    /* each listed inside the forwarded message it came in */
    static const int parents[] = {0, 0, 2, 3, 0};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(s.att[i].parent, parents[i]);
    /* the text: the outer, then each forwarded one below a separator */
    assert_string_equal(s.m.body_text,
                        "FYI\n\n---------- Forwarded message: Fwd: the original ----------\n"
                        "see below\n\n---------- Forwarded message: the original ----------\n"
                        "the original text");
    summary_free(&s);

    /* a filename given to the part wins; no subject: forwarded.eml */
    const char *named = "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
                        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                        "Content-Type: message/rfc822; name=\"by type.eml\"\r\n\r\n"
                        "Subject: x\r\n\r\nx\r\n--b\r\n"
                        "Content-Type: message/rfc822\r\n"
                        "Content-Disposition: attachment; filename=\"by disposition.eml\"\r\n\r\n"
                        "Subject: y\r\n\r\ny\r\n--b\r\n"
                        "Content-Type: message/rfc822\r\n\r\nFrom: z@example.com\r\n\r\nz\r\n"
                        "--b--\r\n";
    summarize(&s, named);
    assert_int_equal(s.natt, 3);
    assert_string_equal(s.att[0].filename, "by type.eml");
    assert_string_equal(s.att[1].filename, "by disposition.eml");
    assert_string_equal(s.att[2].filename, "forwarded.eml");
    assert_positions_agree(named, &s);
    summary_free(&s);
}

/* A forwarded message sent base64 (RFC 2046 forbids it; some clients do
 * it): listed by its subject, its bytes downloadable, walked into. */
static void test_encoded_forwarded_message(void **state)
{
    (void)state;
    const char *inner = "Subject: sent encoded\r\nMIME-Version: 1.0\r\n"
                        "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n"
                        "Content-Type: text/plain\r\n\r\ninner text\r\n--i\r\n"
                        "Content-Type: application/pdf\r\n"
                        "Content-Disposition: attachment; filename=inner.pdf\r\n\r\n"
                        "%PDF\r\n--i--\r\n";
    gchar *b64 = g_base64_encode((const guchar *)inner, strlen(inner));
    struct mr_buf raw;
    mr_buf_init(&raw, 1 << 20);
    mr_buf_printf(&raw,
                  "From: a@example.com\r\nSubject: outer\r\nMIME-Version: 1.0\r\n"
                  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                  "Content-Type: text/plain\r\n\r\nouter text\r\n--b\r\n"
                  "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                  "%s\r\n--b--\r\n",
                  b64);
    g_free(b64);
    struct summary s;
    summarize(&s, raw.data);
    assert_int_equal(s.natt, 2);
    assert_string_equal(s.att[0].filename, "sent encoded.eml");
    assert_string_equal(s.att[0].content_type, "message/rfc822");
    assert_int_equal(s.att[0].size, (int64_t)strlen(inner));
    assert_int_equal(s.att[0].parent, 0);
    assert_string_equal(s.att[1].filename, "inner.pdf");
    assert_int_equal(s.att[1].parent, 1);
    assert_string_equal(s.m.body_text, "outer text\n\n---------- Forwarded message: sent encoded "
                                       "----------\ninner text");
    assert_positions_agree(raw.data, &s);
    struct mr_buf out;
    mr_buf_init(&out, 1 << 20);
    mr_error err = {0};
    assert_int_equal(mr_mime_attachment(raw.data, raw.len, 1, &out, &err), 0);
    assert_int_equal(out.len, strlen(inner));
    assert_memory_equal(out.data, inner, out.len);
    mr_buf_free(&out);
    summary_free(&s);
    mr_buf_free(&raw);
}

/* Repeated To and Cc headers (RFC 5322 allows one each; some senders
 * write several): every address is kept, in order, as if one header. */
static void test_repeated_address_headers(void **state)
{
    (void)state;
    struct summary s;
    summarize(&s, "From: a@example.com\r\nTo: one@example.com\r\nCc: c1@example.com\r\n"
                  "To: two@example.com, three@example.com\r\nCc: c2@example.com\r\n"
                  "Subject: s\r\n\r\nbody\r\n");
    assert_string_equal(s.m.to, "one@example.com, two@example.com, three@example.com");
    assert_string_equal(s.m.cc, "c1@example.com, c2@example.com");
    summary_free(&s);
}

/* A digest's parts are message/rfc822 by default; a forwarded message's
 * text does not push the summary's text past the cut. */
static void test_digest_and_the_cut(void **state)
{
    (void)state;
    const char *digest = "From: list@example.com\r\nSubject: digest\r\nMIME-Version: 1.0\r\n"
                         "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n"
                         "Subject: one\r\n\r\nfirst\r\n--d\r\n\r\n"
                         "Subject: two\r\n\r\nsecond\r\n--d--\r\n";
    struct summary s;
    summarize(&s, digest);
    assert_int_equal(s.natt, 2);
    assert_string_equal(s.att[0].filename, "one.eml");
    assert_string_equal(s.att[1].content_type, "message/rfc822");
    assert_string_equal(s.m.body_text, "---------- Forwarded message: one ----------\nfirst\n\n"
                                       "---------- Forwarded message: two ----------\nsecond");
    assert_positions_agree(digest, &s);
    summary_free(&s);

    struct mr_buf raw;
    mr_buf_init(&raw, 4 << 20);
    mr_buf_puts(&raw, "From: a@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
                      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                      "Content-Type: text/plain\r\n\r\n");
    for (size_t i = 0; i < MR_BODY_TEXT_MAX / 64; i++)
        mr_buf_puts(&raw, "outer text outer text outer text outer text outer text outer t\r\n");
    mr_buf_puts(&raw, "--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\n");
    for (size_t i = 0; i < MR_BODY_TEXT_MAX / 64; i++)
        mr_buf_puts(&raw, "inner text inner text inner text inner text inner text inner t\r\n");
    mr_buf_puts(&raw, "--b--\r\n");
    summarize(&s, raw.data);
    assert_int_equal(s.natt, 1);
    assert_true(strlen(s.m.body_text) <= MR_BODY_TEXT_MAX);
    assert_null(strstr(s.m.body_text, "inner text"));
    summary_free(&s);
    mr_buf_free(&raw);
}

static void test_headers_and_types(void **state)
{
    (void)state;
    static const struct {
        const char *headers, *from, *date;
    } cases[] = {
        {"From: a@example.com\r\nDate: 01 Jan 2001 00:01 +0000\r\n", "a@example.com",
         "2001-01-01T00:01:00Z"},
        {"From: a@example.com\r\nDate: Mon, 01 Jan 2001 00:01 -0130\r\n", "a@example.com",
         "2001-01-01T01:31:00Z"},
        {"From: <>\r\n", "<>", NULL},
        {"From: \"Mail Delivery System\" <>\r\n", "Mail Delivery System <>", NULL},
        {"Return-Path: <>\r\n", "<>", NULL},
        {"Return-Path: <bounces@example.com>\r\n", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char raw[512];
        snprintf(raw, sizeof(raw), "%sSubject: s\r\n\r\nbody\r\n", cases[i].headers);
        struct summary s;
        summarize(&s, raw);
        if (cases[i].from)
            assert_string_equal(s.m.from, cases[i].from);
        else
            assert_null(s.m.from);
        if (cases[i].date)
            assert_string_equal(s.m.date, cases[i].date);
        summary_free(&s);
    }

    /* a text part is an attachment when its disposition says so, or when
     * it has a filename and a disposition and is not the whole body */
    const char *texts =
        "From: a@example.com\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        "Content-Type: text/plain\r\n\r\nthe body\r\n--b\r\n"
        "Content-Type: TEXT/PLAIN\r\n"
        "Content-Disposition: attachment; filename=notes.txt\r\n\r\nnotes\r\n--b\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Disposition: inline; filename=inline.txt\r\n\r\nshown\r\n--b\r\n"
        "Content-Type: text/plain; name=only-a-name.txt\r\n\r\nnot listed\r\n--b\r\n"
        "Content-Type: Image/GIF; name=x.gif\r\n\r\nGIF89a\r\n--b--\r\n";
    struct summary s;
    summarize(&s, texts);
    assert_int_equal(s.natt, 3);
    assert_string_equal(s.att[0].filename, "notes.txt");
    assert_string_equal(s.att[0].content_type, "text/plain");
    assert_string_equal(s.att[1].filename, "inline.txt");
    assert_string_equal(s.att[2].content_type, "image/gif");
    assert_string_equal(s.m.body_text, "the body");
    assert_positions_agree(texts, &s);
    summary_free(&s);

    const char *whole = "From: a@example.com\r\nMIME-Version: 1.0\r\n"
                        "Content-Type: text/plain\r\n"
                        "Content-Disposition: inline; filename=body.txt\r\n\r\nthe body\r\n";
    summarize(&s, whole);
    assert_int_equal(s.natt, 0);
    assert_string_equal(s.m.body_text, "the body\r\n");
    summary_free(&s);

    /* a boundary that never comes: the text is shown as it is */
    const char *lost = "From: a@example.com\r\nMIME-Version: 1.0\r\n"
                       "Content-Type: multipart/mixed; boundary=declared\r\n\r\n"
                       "--other\r\n\r\nlost text\r\n--other--\r\n";
    summarize(&s, lost);
    assert_int_equal(s.natt, 0);
    assert_non_null(strstr(s.m.body_text, "lost text"));
    summary_free(&s);
}

int main(void)
{
    g_mime_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_as_the_converter_gives_it),
        cmocka_unit_test(test_text_examples),
        cmocka_unit_test(test_forwarded_messages),
        cmocka_unit_test(test_encoded_forwarded_message),
        cmocka_unit_test(test_repeated_address_headers),
        cmocka_unit_test(test_digest_and_the_cut),
        cmocka_unit_test(test_headers_and_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
