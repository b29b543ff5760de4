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

int main(void)
{
    g_mime_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_as_the_converter_gives_it),
        cmocka_unit_test(test_text_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
