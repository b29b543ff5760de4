/* TEMPORARY until the transports branch lands: every transport fails. */
#include "deliver/deliver.h"

#include <stdio.h>
#include <string.h>

void mr_deliver(const struct mr_target *t, const char *secret, const struct mr_delivery_item *it,
                struct mr_delivery_result *r)
{
    (void)t;
    (void)secret;
    (void)it;
    memset(r, 0, sizeof(*r));
    r->outcome = MR_DELIVERY_RETRY;
    snprintf(r->error, sizeof(r->error), "transports not built yet");
}
