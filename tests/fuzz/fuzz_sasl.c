/* libFuzzer target: a server's OAuth error challenge (RFC 7628 section
 * 3.2.2), as the IMAP and POP3 clients read it after a refused XOAUTH2 or
 * OAUTHBEARER: the input is the base64 line as sent, and also the input
 * encoded, so the JSON reader behind the decoder is reached too. Whatever
 * comes back must be printable text within its fields. */
#include "fuzz.h"
#include "proto/sasl.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void check_text(const char *s, size_t size)
{
    size_t n = strnlen(s, size);
    if (n == size) /* not terminated inside its field */
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            abort();
}

static void parse(const char *text, size_t len)
{
    struct mr_sasl_bearer_error e;
    mr_sasl_bearer_error_parse(text, len, &e);
    check_text(e.status, sizeof(e.status));
    check_text(e.scope, sizeof(e.scope));
    check_text(e.problem, sizeof(e.problem));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse((const char *)data, size);
    if (size <= 4096) {
        size_t n = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(n);
        sodium_bin2base64(b64, n, data, size, sodium_base64_VARIANT_ORIGINAL);
        parse(b64, strlen(b64));
        free(b64);
    }
    return 0;
}
