/* libFuzzer target: the IMAP response parser. The input is fed in two
 * pieces split where its first byte says, so resuming mid-token, mid-literal
 * and mid-line is exercised; literals go to a sink that only counts. */
#include "fuzz.h"
#include "proto/imap_parse.h"

#include <stddef.h>
#include <stdint.h>

static int sink_begin(void *ctx, const char *before, uint64_t size, mr_error *err)
{
    (void)ctx, (void)before, (void)size, (void)err;
    return 0;
}

static int sink_data(void *ctx, const char *p, size_t n, mr_error *err)
{
    (void)p, (void)err;
    *(size_t *)ctx += n;
    return 0;
}

static int sink_end(void *ctx, mr_error *err)
{
    (void)ctx, (void)err;
    return 0;
}

static void look_at(const struct mr_imap_response *r)
{
    uint64_t v;
    for (size_t i = 0; i < r->ntokens; i++) {
        mr_imap_token_is(&r->tokens[i], "EXISTS");
        mr_imap_token_number(&r->tokens[i], UINT64_MAX, &v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t split = data[0] % size, counted = 0;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    struct mr_imap_parser *p = mr_imap_parser_new();
    struct mr_imap_sink sink = {sink_begin, sink_data, sink_end, &counted};
    if (data[0] & 1)
        mr_imap_parser_set_sink(p, &sink);
    size_t off = 0;
    for (size_t turns = 0; off < len && turns < 4 * len + 1000; turns++) {
        size_t end = off < split && split < len ? split : len;
        const struct mr_imap_response *r = NULL;
        mr_error err = {0};
        size_t used = 0;
        int rc = mr_imap_parser_feed(p, in + off, end - off, &used, &r, &err);
        if (rc < 0) {
            mr_imap_parser_reset(p);
            used = used ? used : 1;
        } else if (rc == 1)
            look_at(r); /* buffered responses may come without new bytes */
        else if (used == 0)
            used = end - off; /* everything buffered */
        off += used;
    }
    mr_imap_parser_free(&p);
    return 0;
}
