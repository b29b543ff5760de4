/* libFuzzer target: the POP3 response parser. The first byte's bits say,
 * for each response, whether a multi-line body is expected (as LIST, UIDL
 * and RETR are); the rest is fed in two pieces. */
#include "fuzz.h"
#include "proto/pop3_parse.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned pattern = data[0];
    const char *in = (const char *)data + 1;
    size_t len = size - 1, split = pattern % size, off = 0, bodies = 0;
    struct mr_pop3_parser *p = mr_pop3_parser_new();
    mr_pop3_parser_expect(p, pattern & 1);
    for (size_t turns = 0; off < len && turns < 4 * len + 1000; turns++) {
        size_t end = off < split && split < len ? split : len;
        struct mr_pop3_event ev;
        mr_error err = {0};
        size_t used = 0;
        int rc = mr_pop3_parser_feed(p, in + off, end - off, &used, &ev, &err);
        if (rc < 0) {
            mr_pop3_parser_reset(p);
            used = used ? used : 1;
        } else if (rc == 1 && (ev.type == MR_POP3_END ||
                               (ev.type == MR_POP3_STATUS && !mr_pop3_parser_in_body(p)))) {
            mr_pop3_parser_expect(p, (pattern >> (++bodies % 8)) & 1);
        } else if (rc == 0 && used == 0)
            used = end - off;
        off += used;
    }
    mr_pop3_parser_free(&p);
    return 0;
}
