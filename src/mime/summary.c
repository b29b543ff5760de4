#include "mime/summary.h"

#include "util/mem.h"
#include "util/text.h"

#include <gmime/gmime.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_gmime(void)
{
    g_mime_init();
}

char *mr_mime_encode_header_text(const char *utf8)
{
    pthread_once(&init_once, init_gmime);
    char *g = g_mime_utils_header_encode_text(NULL, utf8, "UTF-8");
    char *out = mr_xstrdup(g ? g : utf8);
    g_free(g);
    return out;
}

/* The message is parsed where it lies: the stream wraps the caller's
 * bytes (not owned, never written), and with a persistent stream GMime's
 * parts refer to ranges of it instead of copying their content. The bytes
 * must outlive the message: release with unparse(). */
static GMimeMessage *parse(const char *raw, size_t len, GByteArray **wrap)
{
    pthread_once(&init_once, init_gmime);
    static const char empty[1] = "";
    *wrap = g_byte_array_new_take((guint8 *)(len ? raw : empty), len);
    GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(*wrap);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_persist_stream(parser, TRUE);
    GMimeParserOptions *opts = g_mime_parser_options_new();
    const char *fallback[] = {"UTF-8", "windows-1252", NULL};
    g_mime_parser_options_set_fallback_charsets(opts, fallback);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, opts);
    g_mime_parser_options_free(opts);
    g_object_unref(parser);
    g_object_unref(stream);
    return msg;
}

static void unparse(GMimeMessage *msg, GByteArray *wrap)
{
    if (msg)
        g_object_unref(msg);
    g_byte_array_free(wrap, FALSE); /* the bytes stay the caller's */
}

static char *dup_text(const char *s)
{
    if (!s || !*s)
        return NULL;
    size_t n = strlen(s);
    if (mr_utf8_valid(s, n))
        return mr_xstrdup(s);
    /* whatever GMime could not convert: keep ASCII, mark the rest */
    char *out = mr_xmalloc(n + 1);
    for (size_t i = 0; i <= n; i++)
        out[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    return out;
}

static char *addresses(InternetAddressList *list)
{
    if (!list || internet_address_list_length(list) == 0)
        return NULL;
    char *s = internet_address_list_to_string(list, NULL, FALSE);
    char *out = dup_text(s);
    g_free(s);
    return out;
}

/* The null sender of a bounce, which GMime's address parser drops: "<>"
 * (with the display name when there is one) for a From whose address is
 * <>, or for no From and a Return-Path of <>. NULL for anything else. */
static char *null_sender(GMimeMessage *msg)
{
    const char *from = g_mime_object_get_header(GMIME_OBJECT(msg), "From");
    const char *v = from ? from : g_mime_object_get_header(GMIME_OBJECT(msg), "Return-Path");
    if (!v)
        return NULL;
    char *s = g_strstrip(g_strdup(v));
    size_t n = strlen(s);
    char *out = NULL;
    if (n >= 2 && strcmp(s + n - 2, "<>") == 0 && (from || n == 2)) {
        s[n - 2] = '\0';
        char *name = g_strstrip(s);
        size_t k = strlen(name);
        if (k >= 2 && name[0] == '"' && name[k - 1] == '"') {
            name[k - 1] = '\0';
            name++;
        }
        char *decoded = *name ? g_mime_utils_header_decode_phrase(NULL, name) : NULL;
        char *joined = g_strdup_printf("%s%s<>", decoded ? decoded : "", decoded ? " " : "");
        out = dup_text(joined);
        g_free(joined);
        g_free(decoded);
    }
    g_free(s);
    return out;
}

static void header_fields(GMimeMessage *msg, struct mr_message *m)
{
    m->message_id = dup_text(g_mime_message_get_message_id(msg));
    m->subject = dup_text(g_mime_message_get_subject(msg));
    m->from = addresses(g_mime_message_get_from(msg));
    if (!m->from)
        m->from = null_sender(msg);
    m->to = addresses(g_mime_message_get_to(msg));
    m->cc = addresses(g_mime_message_get_cc(msg));
    GDateTime *date = g_mime_message_get_date(msg);
    if (date) {
        m->date_unix = g_date_time_to_unix(date);
        GDateTime *utc = g_date_time_to_utc(date);
        gchar *iso = g_date_time_format(utc, "%Y-%m-%dT%H:%M:%SZ");
        m->date = mr_xstrdup(iso);
        g_free(iso);
        g_date_time_unref(utc);
    }
}

/* Text from HTML: tags dropped, script and style left out, a few entities
 * decoded, blank runs folded. Good enough to read, never rendered. */
static char *html_to_text(const char *html)
{
    struct mr_buf out;
    mr_buf_init(&out, MR_BODY_TEXT_MAX);
    static const struct {
        const char *name, *text;
    } entities[] = {{"&nbsp;", " "}, {"&amp;", "&"},   {"&lt;", "<"},
                    {"&gt;", ">"},   {"&quot;", "\""}, {"&#39;", "'"}};
    for (const char *p = html; *p;) {
        if (*p == '<') {
            if (strncasecmp(p, "<script", 7) == 0 || strncasecmp(p, "<style", 6) == 0) {
                p = strcasestr(p, strncasecmp(p, "<script", 7) == 0 ? "</script" : "</style");
                if (!p)
                    break; /* an unclosed script: nothing after it is text */
            }
            const char *gt = strchr(p, '>');
            if (!gt)
                break;
            if (strncasecmp(p, "<br", 3) == 0 || strncasecmp(p, "</p", 3) == 0 ||
                strncasecmp(p, "</div", 5) == 0 || strncasecmp(p, "</tr", 4) == 0)
                mr_buf_putc(&out, '\n');
            p = gt + 1;
            continue;
        }
        size_t i = 0, n = sizeof(entities) / sizeof(entities[0]);
        for (; i < n && strncmp(p, entities[i].name, strlen(entities[i].name)) != 0; i++)
            ;
        if (i < n) {
            mr_buf_puts(&out, entities[i].text);
            p += strlen(entities[i].name);
        } else if (mr_buf_putc(&out, *p++))
            break;
    }
    return out.data ? out.data : mr_xstrdup("");
}

/* glibc loads a converter module (SJIS.so, ...) on iconv_open and unloads
 * it again soon after the last iconv_close: GMime opens and closes one per
 * text part, so a mailbox of Shift_JIS mail paid a dlopen per message. One
 * descriptor per charset seen is kept open for the life of the process, which
 * keeps its module loaded; GMime's own opens then find it in memory. */
#define PINNED_CHARSETS 64

static iconv_t pinned[PINNED_CHARSETS]; /* held, never closed */

static void pin_charset(const char *charset)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static char *names[PINNED_CHARSETS];
    static size_t count;
    if (!charset || !*charset || strlen(charset) > 40)
        return;
    pthread_mutex_lock(&lock);
    size_t i = 0;
    while (i < count && strcasecmp(names[i], charset) != 0)
        i++;
    if (i == count && count < PINNED_CHARSETS) {
        pinned[count] = g_mime_iconv_open("UTF-8", charset);
        names[count++] = mr_xstrdup(charset); /* remembered even when unknown */
    }
    pthread_mutex_unlock(&lock);
}

/* Cuts text to MR_BODY_TEXT_MAX bytes, never inside a UTF-8 sequence. */
static void cut_text(char *text)
{
    if (strnlen(text, MR_BODY_TEXT_MAX + 1) <= MR_BODY_TEXT_MAX)
        return;
    size_t n = MR_BODY_TEXT_MAX;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    text[n] = '\0';
}

#define MAX_HTML_PARTS    8 /* looked at for text when there is no plain part */
#define MAX_FORWARD_DEPTH 8 /* forwarded messages walked into, nested */

/* The text found in one message (the outer one or a forwarded one). */
struct text_of {
    char *plain;
    GMimeTextPart *html_parts[MAX_HTML_PARTS]; /* owned by the parsed message */
    size_t nhtml;
};

/* A forwarded message's text, in document order (the outer message's
 * forwarded messages first, each followed by those nested in it). */
struct forwarded {
    char *subject;
    char *text;
};

/* One walk, shared by the summary and by mr_mime_attachment so that both
 * count positions alike: want 0 summarises, want N stops at attachment N. */
struct walk {
    int want, seen;
    GMimeObject *found;
    struct mr_attachment *att;
    size_t natt, cap;
    struct forwarded *fwd;
    size_t nfwd, fwdcap;
    size_t text_len;    /* text kept so far: past MR_BODY_TEXT_MAX no more is read */
    int parent;         /* the position of the forwarded message being walked; 0: none */
    GPtrArray *decoded; /* forwarded messages parsed from base64 or QP: kept to the end */
};

static void walk_free(struct walk *w)
{
    if (w->decoded)
        g_ptr_array_free(w->decoded, TRUE);
}

static inline unsigned is_base64_char(unsigned char x)
{
    unsigned char letter = (unsigned char)((x | 0x20) - 'a'); /* either case */
    unsigned char digit = (unsigned char)(x - '0');
    return (letter < 26) | (digit < 10) | (x == '+') | (x == '/');
}

/* How many base64 characters (A-Z a-z 0-9 + /) bytes holds. Branch-free
 * arithmetic over blocks of 64 bytes, whose count fits a byte: a loop the
 * compiler turns into vector code at -O2 (a table lookup per byte was 7 %
 * of a fetch's CPU; this is ~10 GB/s). */
static int64_t base64_chars(const unsigned char *p, size_t len)
{
    int64_t n = 0;
    size_t i = 0;
    for (; i + 64 <= len; i += 64) {
        unsigned char block = 0;
        for (int k = 0; k < 64; k++)
            block += (unsigned char)is_base64_char(p[i + k]);
        n += block;
    }
    for (; i < len; i++)
        n += is_base64_char(p[i]);
    return n;
}

/* Transfer encodings whose content is the bytes themselves. */
static int identity_encoding(GMimeContentEncoding encoding)
{
    return encoding == GMIME_CONTENT_ENCODING_DEFAULT || encoding == GMIME_CONTENT_ENCODING_7BIT ||
           encoding == GMIME_CONTENT_ENCODING_8BIT || encoding == GMIME_CONTENT_ENCODING_BINARY;
}

/* The parse keeps the message in place, so a part's content is usually a
 * range of the received bytes: that range, or 0 when the stream is another
 * kind (then it must be read). */
static int content_range(GMimeStream *src, const unsigned char **p, size_t *len)
{
    if (!GMIME_IS_STREAM_MEM(src) || src->bound_start < 0)
        return 0;
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(src));
    gint64 end = src->bound_end < 0 ? (gint64)bytes->len : src->bound_end;
    if (end > (gint64)bytes->len)
        end = (gint64)bytes->len;
    *p = bytes->data + src->bound_start;
    *len = end > src->bound_start ? (size_t)(end - src->bound_start) : 0;
    return 1;
}

/* A base64 body's decoded size, counted from its characters: 4 make 3
 * bytes, a last group of 2 or 3 makes 1 or 2; whatever else is ignored, as
 * a decoder does. Exact, and far cheaper than decoding; counted where the
 * bytes lie when they can be, without copying them out of the stream. */
static int64_t base64_size(GMimeStream *src)
{
    int64_t n = 0;
    const unsigned char *p;
    size_t len;
    if (content_range(src, &p, &len)) {
        n = base64_chars(p, len);
    } else {
        unsigned char buf[16384];
        ssize_t got;
        g_mime_stream_reset(src);
        while ((got = g_mime_stream_read(src, (char *)buf, sizeof(buf))) > 0)
            n += base64_chars(buf, (size_t)got);
    }
    return n / 4 * 3 + (n % 4 == 2 ? 1 : n % 4 == 3 ? 2 : 0);
}

static int64_t decoded_size(GMimePart *part)
{
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    if (!content)
        return 0;
    GMimeStream *src = g_mime_data_wrapper_get_stream(content);
    GMimeContentEncoding encoding = g_mime_data_wrapper_get_encoding(content);
    if (encoding == GMIME_CONTENT_ENCODING_BASE64)
        return src ? base64_size(src) : 0;
    if (identity_encoding(encoding)) {
        gint64 len = src ? g_mime_stream_length(src) : -1;
        if (len >= 0)
            return len;
    }
    GMimeStream *null = g_mime_stream_null_new();
    g_mime_data_wrapper_write_to_stream(content, null);
    int64_t n = (int64_t)GMIME_STREAM_NULL(null)->written;
    g_object_unref(null);
    return n;
}

/* A forwarded message as .eml bytes: written out by GMime from the parse
 * (headers as received, the parts' content from the received bytes). */
static void write_message(GMimeMessagePart *part, GMimeStream *to)
{
    GMimeMessage *inner = g_mime_message_part_get_message(part);
    if (!inner)
        return;
    GMimeFormatOptions *opts = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(opts, GMIME_NEWLINE_FORMAT_DOS);
    g_mime_object_write_to_stream(GMIME_OBJECT(inner), opts, to);
    g_mime_format_options_free(opts);
}

static int64_t message_size(GMimeMessagePart *part)
{
    GMimeStream *null = g_mime_stream_null_new();
    write_message(part, null);
    int64_t n = (int64_t)GMIME_STREAM_NULL(null)->written;
    g_object_unref(null);
    return n;
}

/* A forwarded message's name: a filename given to the part (disposition
 * filename, else the type's name), else its Subject with ".eml". */
static char *message_name(GMimeObject *o, GMimeMessage *inner)
{
    const char *name = g_mime_object_get_content_disposition_parameter(o, "filename");
    if (!name || !*name)
        name = g_mime_object_get_content_type_parameter(o, "name");
    if (name && *name)
        return dup_text(name);
    const char *subject = inner ? g_mime_message_get_subject(inner) : NULL;
    char *s = g_strdup_printf("%s.eml", subject && *subject ? subject : "forwarded");
    char *out = dup_text(s);
    g_free(s);
    return out;
}

/* A forwarded message sent base64 or quoted-printable (RFC 2046 forbids
 * it; some clients do it): GMime sees a plain part, so its decoded
 * content is parsed here, and kept until the walk ends. NULL: it is not
 * one, or does not parse. */
static GMimeMessage *encoded_message(struct walk *w, GMimeObject *part)
{
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    if (!GMIME_IS_PART(part) || !ct ||
        !(g_mime_content_type_is_type(ct, "message", "rfc822") ||
          g_mime_content_type_is_type(ct, "message", "global")))
        return NULL;
    GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(part));
    if (!content)
        return NULL;
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(content, mem);
    g_mime_stream_reset(mem);
    GMimeParser *parser = g_mime_parser_new_with_stream(mem);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(mem);
    if (msg) {
        if (!w->decoded)
            w->decoded = g_ptr_array_new_with_free_func(g_object_unref);
        g_ptr_array_add(w->decoded, msg);
    }
    return msg;
}

/* The message a forwarded part holds (a message/rfc822 part's, or one
 * parsed from an encoded part's content). */
static GMimeMessage *forwarded_message(struct walk *w, GMimeObject *part)
{
    if (GMIME_IS_MESSAGE_PART(part))
        return g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
    return encoded_message(w, part);
}

static void add_attachment(struct walk *w, GMimeObject *part, GMimeMessage *inner)
{
    if (w->natt == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4;
        w->att = mr_xrealloc(w->att, w->cap * sizeof(*w->att));
    }
    struct mr_attachment *a = &w->att[w->natt++];
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
    a->position = (int)w->natt;
    a->parent = w->parent;
    a->content_type = mr_xstrdup(type ? type : "application/octet-stream");
    for (char *c = a->content_type; *c; c++) /* media types are case-insensitive */
        *c = g_ascii_tolower(*c);
    if (GMIME_IS_MESSAGE_PART(part)) {
        a->filename = message_name(part, inner);
        a->size = message_size(GMIME_MESSAGE_PART(part));
    } else {
        a->filename = inner ? message_name(part, inner)
                            : dup_text(g_mime_part_get_filename(GMIME_PART(part)));
        a->size = decoded_size(GMIME_PART(part)); /* an encoded message: its bytes */
    }
    g_free(type);
}

/* Charsets whose text needs no conversion when it is valid. */
enum text_kind { CONVERTED, ASCII, UTF8 };

static enum text_kind text_kind(const char *charset)
{
    if (!charset)
        return CONVERTED;
    if (strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "utf8") == 0)
        return UTF8;
    if (strcasecmp(charset, "us-ascii") == 0 || strcasecmp(charset, "ascii") == 0)
        return ASCII;
    return CONVERTED;
}

/* The text of a part in UTF-8 or US-ASCII, decoded from its transfer
 * encoding but not passed through iconv (a tenth of a fetch's CPU went to
 * converting UTF-8 to UTF-8): as a C string, up to its first NUL, as
 * g_mime_text_part_get_text would return it. NULL when the bytes are not
 * valid in their charset: GMime's converter then decides what is kept. */
static char *unconverted_text(GMimePart *part, enum text_kind kind)
{
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    GMimeStream *src = content ? g_mime_data_wrapper_get_stream(content) : NULL;
    const unsigned char *p = NULL;
    size_t len = 0;
    GByteArray *decoded = NULL;
    /* no content (headers and no body): no text */
    if (content && (!identity_encoding(g_mime_data_wrapper_get_encoding(content)) || !src ||
                    !content_range(src, &p, &len))) {
        decoded = g_byte_array_new();
        GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(decoded);
        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
        g_mime_data_wrapper_write_to_stream(content, mem);
        g_object_unref(mem);
        p = decoded->data;
        len = decoded->len;
    }
    const unsigned char *nul = len ? memchr(p, '\0', len) : NULL;
    if (nul)
        len = (size_t)(nul - p);
    int valid = 1;
    if (kind == ASCII) {
        for (size_t i = 0; i < len && valid; i++)
            valid = p[i] < 0x80;
    } else {
        valid = mr_utf8_valid((const char *)p, len);
    }
    char *out = NULL;
    if (valid) {
        out = mr_xmalloc(len + 1);
        if (len)
            memcpy(out, p, len);
        out[len] = '\0';
    }
    if (decoded)
        g_byte_array_free(decoded, TRUE);
    return out;
}

/* A text part's content in UTF-8 (NULL if empty); cut: only the summary's
 * share is checked and kept. */
static char *part_text(GMimeTextPart *part, int cut)
{
    const char *charset = g_mime_text_part_get_charset(part);
    enum text_kind kind = text_kind(charset);
    char *fast = kind != CONVERTED ? unconverted_text(GMIME_PART(part), kind) : NULL;
    if (fast) {
        if (cut)
            cut_text(fast);
        if (*fast)
            return fast;
        free(fast);
        return NULL;
    }
    pin_charset(charset);
    char *text = g_mime_text_part_get_text(part);
    if (text && cut)
        cut_text(text);
    char *out = dup_text(text);
    g_free(text);
    return out;
}

enum role { WALKED, TEXT, HTML, ATTACHMENT, FORWARDED };

/* What a part is: the one rule for the listing and for the download. Every
 * part that is not text is an attachment; a text part is one when its
 * disposition says so, or when it has a filename and a Content-Disposition
 * (inline or not) and is not the message's whole body. A message/rfc822
 * part (a forwarded message) is one attachment, then walked into. */
static enum role role_of(GMimeObject *part, int whole_body)
{
    GMimeContentType *type = g_mime_object_get_content_type(part);
    if (GMIME_IS_MESSAGE_PART(part) || (GMIME_IS_PART(part) && type &&
                                        (g_mime_content_type_is_type(type, "message", "rfc822") ||
                                         g_mime_content_type_is_type(type, "message", "global"))))
        return FORWARDED;
    if (!GMIME_IS_PART(part))
        return WALKED; /* a multipart */
    GMimePart *p = GMIME_PART(part);
    if (!GMIME_IS_TEXT_PART(part) || g_mime_part_is_attachment(p))
        return ATTACHMENT;
    if (!whole_body && g_mime_object_get_content_disposition(part) && g_mime_part_get_filename(p))
        return ATTACHMENT;
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    return g_mime_content_type_is_type(ct, "text", "html") ? HTML : TEXT;
}

/* The text of the first HTML part that has any, as text. */
static char *text_from_html(struct text_of *t)
{
    for (size_t i = 0; i < t->nhtml; i++) {
        char *html = part_text(t->html_parts[i], 0);
        if (html) {
            char *text = html_to_text(html);
            free(html);
            return text;
        }
    }
    return NULL;
}

static char *walk_message(struct walk *w, GMimeMessage *msg, int depth);

/* Document order: a multipart's parts one after the other, a forwarded
 * message listed, then its own parts (numbered after it). */
static void walk_part(struct walk *w, GMimeObject *part, struct text_of *t, int whole_body,
                      int depth)
{
    if (w->found)
        return;
    enum role role = role_of(part, whole_body);
    if (role == WALKED) {
        if (GMIME_IS_MULTIPART(part)) {
            GMimeMultipart *mp = GMIME_MULTIPART(part);
            int n = g_mime_multipart_get_count(mp);
            for (int i = 0; i < n && !w->found; i++)
                walk_part(w, g_mime_multipart_get_part(mp, i), t, 0, depth);
            /* no boundary found: everything is prologue, shown as text */
            const char *prologue = n == 0 ? g_mime_multipart_get_prologue(mp) : NULL;
            if (prologue && !w->want && !t->plain && w->text_len < MR_BODY_TEXT_MAX) {
                t->plain = dup_text(prologue);
                if (t->plain)
                    cut_text(t->plain);
            }
        }
        return;
    }
    if (role == ATTACHMENT || role == FORWARDED) {
        GMimeMessage *inner = role == FORWARDED ? forwarded_message(w, part) : NULL;
        int position = ++w->seen;
        if (w->want) {
            if (position == w->want)
                w->found = part;
        } else {
            add_attachment(w, part, inner);
        }
        if (!inner || depth >= MAX_FORWARD_DEPTH)
            return;
        int parent = w->parent;
        w->parent = position; /* its own parts are listed as inside it */
        if (w->want) {
            walk_message(w, inner, depth + 1);
            w->parent = parent;
            return;
        }
        /* its slot now, its text after its parts: document order */
        if (w->nfwd == w->fwdcap) {
            w->fwdcap = w->fwdcap ? w->fwdcap * 2 : 2;
            w->fwd = mr_xrealloc(w->fwd, w->fwdcap * sizeof(*w->fwd));
        }
        size_t slot = w->nfwd++;
        w->fwd[slot].subject = dup_text(g_mime_message_get_subject(inner));
        w->fwd[slot].text = NULL;
        char *text = walk_message(w, inner, depth + 1);
        w->fwd[slot].text = text;
        w->parent = parent;
        return;
    }
    if (w->want || w->text_len >= MR_BODY_TEXT_MAX)
        return; /* a download reads no text; past the cut none is kept */
    if (role == HTML) {
        /* read only if no plain part has text: most HTML comes with one */
        if (t->nhtml < MAX_HTML_PARTS)
            t->html_parts[t->nhtml++] = GMIME_TEXT_PART(part);
    } else if (!t->plain) {
        t->plain = part_text(GMIME_TEXT_PART(part), 1);
    }
}

/* Walks one message's parts; its text (NULL when summarising none). */
static char *walk_message(struct walk *w, GMimeMessage *msg, int depth)
{
    GMimeObject *top = g_mime_message_get_mime_part(msg);
    struct text_of t = {0};
    if (top)
        walk_part(w, top, &t, 1, depth);
    if (w->want) {
        free(t.plain);
        return NULL;
    }
    char *text = t.plain;
    if (!text && w->text_len < MR_BODY_TEXT_MAX)
        text = text_from_html(&t);
    if (text)
        w->text_len += strlen(text);
    return text;
}

/* The outer text, then each forwarded message's below a separator line;
 * cut at MR_BODY_TEXT_MAX. */
static char *body_text(char *outer, struct forwarded *fwd, size_t nfwd)
{
    if (nfwd == 0)
        return outer;
    struct mr_buf b;
    mr_buf_init(&b, (size_t)MR_BODY_TEXT_MAX * 2);
    if (outer)
        mr_buf_puts(&b, outer);
    for (size_t i = 0; i < nfwd && b.len < MR_BODY_TEXT_MAX; i++) {
        if (b.len)
            mr_buf_puts(&b, b.data[b.len - 1] == '\n' ? "\n" : "\n\n");
        mr_buf_printf(&b, "---------- Forwarded message: %s ----------\n",
                      fwd[i].subject ? fwd[i].subject : "");
        if (fwd[i].text && b.len + strlen(fwd[i].text) <= b.max)
            mr_buf_puts(&b, fwd[i].text);
    }
    free(outer);
    for (size_t i = 0; i < nfwd; i++) {
        free(fwd[i].subject);
        free(fwd[i].text);
    }
    return b.data ? b.data : mr_xstrdup("");
}

/* Headers that mark an automatic message (RFC 3834 and what auto-reply
 * software sets): their presence alone, whatever the value. */
static const char *const autoreply_headers[] = {"X-Autoreply",
                                                "X-Autorespond",
                                                "X-Autoreply-From",
                                                "X-Mail-Autoreply",
                                                "X-Auto-Response-Suppress",
                                                "X-FC-MachineGenerated",
                                                NULL};

/* ordinary, auto (RFC 3834 Auto-Submitted other than "no", Precedence
 * bulk/junk/list/auto_reply, an auto-reply header) or report (RFC 3464 /
 * RFC 6522 multipart/report: bounces, delivery and read receipts). A
 * mailing list's List-Id alone is not "auto": people write to lists. */
static const char *classify(GMimeMessage *msg)
{
    GMimeObject *top = g_mime_message_get_mime_part(msg);
    GMimeContentType *ct = top ? g_mime_object_get_content_type(top) : NULL;
    if (ct && g_mime_content_type_is_type(ct, "multipart", "report"))
        return "report";
    GMimeObject *o = GMIME_OBJECT(msg);
    const char *v = g_mime_object_get_header(o, "Auto-Submitted");
    if (v) {
        while (*v == ' ' || *v == '\t')
            v++;
        if (g_ascii_strncasecmp(v, "no", 2) != 0 || (v[2] && v[2] != ' ' && v[2] != ';'))
            return "auto";
    }
    v = g_mime_object_get_header(o, "Precedence");
    if (v) {
        while (*v == ' ' || *v == '\t')
            v++;
        static const char *const bulk[] = {"bulk", "junk", "list", "auto_reply", NULL};
        for (size_t i = 0; bulk[i]; i++)
            if (g_ascii_strncasecmp(v, bulk[i], strlen(bulk[i])) == 0)
                return "auto";
    }
    for (size_t i = 0; autoreply_headers[i]; i++)
        if (g_mime_object_get_header(o, autoreply_headers[i]))
            return "auto";
    return "ordinary";
}

void mr_mime_summarize(const char *raw, size_t len, struct mr_message *m,
                       struct mr_attachment **att, size_t *natt)
{
    struct walk w = {0};
    GByteArray *wrap;
    *att = NULL;
    *natt = 0;
    GMimeMessage *msg = parse(raw, len, &wrap);
    if (!msg) {
        m->status = MR_MSG_PARSE_FAILED;
        unparse(NULL, wrap);
        return;
    }
    m->status = MR_MSG_STORED;
    header_fields(msg, m);
    snprintf(m->msg_class, sizeof(m->msg_class), "%s", classify(msg));
    char *outer = walk_message(&w, msg, 0);
    m->body_text = body_text(outer, w.fwd, w.nfwd);
    free(w.fwd);
    if (m->body_text)
        cut_text(m->body_text);
    m->attachments = (int)w.natt;
    *att = w.att;
    *natt = w.natt;
    walk_free(&w);
    unparse(msg, wrap);
}

int mr_mime_attachment(const char *raw, size_t len, int position, struct mr_buf *out, mr_error *err)
{
    GByteArray *wrap;
    GMimeMessage *msg = parse(raw, len, &wrap);
    if (!msg) {
        unparse(NULL, wrap);
        return mr_error_set(err, MR_EINVAL, "", "the message cannot be parsed as MIME");
    }
    struct walk w = {.want = position > 0 ? position : -1};
    walk_message(&w, msg, 0);
    int rc = 0;
    if (!w.found)
        rc = mr_error_set(err, MR_ENOTFOUND, "", "the message has no attachment %d (it has %d)",
                          position, w.seen);
    else {
        GByteArray *bytes = g_byte_array_new();
        GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(bytes);
        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
        if (GMIME_IS_MESSAGE_PART(w.found)) {
            write_message(GMIME_MESSAGE_PART(w.found), mem);
        } else {
            GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(w.found));
            if (content) /* a part with headers and no body has none: 0 bytes */
                g_mime_data_wrapper_write_to_stream(content, mem);
        }
        if (mr_buf_append(out, bytes->data, bytes->len))
            rc = mr_error_set(err, MR_ETOOBIG, "", "the attachment is too big");
        g_object_unref(mem);
        g_byte_array_free(bytes, TRUE);
    }
    walk_free(&w);
    unparse(msg, wrap);
    return rc;
}
