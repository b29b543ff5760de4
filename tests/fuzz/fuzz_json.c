/* libFuzzer target: an API request body, as the accounts route takes it:
 * JSON parsed (Jansson), checked against the account's fields
 * (mr_api_input), each value applied and the whole validated. */
#include "core/account.h"
#include "fuzz.h"
#include "http/api.h"

#include <jansson.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *keys[64];
    if (!keys[0]) {
        for (size_t i = 0; i < mr_account_field_count && i < 63; i++)
            keys[i] = mr_account_fields[i].key;
    }
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!body)
        return 0;
    if (json_is_object(body)) {
        struct mr_api_input in;
        struct mr_problems p = {0};
        if (mr_api_input(body, keys, &in, &p) == 0) {
            struct mr_account a;
            struct mr_account_refs refs = {1, 1, 1};
            mr_account_init(&a);
            for (size_t i = 0; i < in.in.count; i++)
                mr_account_set(&a, in.in.items[i].key, in.in.items[i].value, &p);
            mr_account_validate(&a, &refs, &p);
            mr_account_clear(&a);
        }
    }
    json_decref(body);
    return 0;
}
