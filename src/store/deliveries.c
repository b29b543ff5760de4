/* Delivery targets and the outbox (issue 19). */
#include "store/store_private.h"

#include "util/clock.h"
#include "util/mem.h"

#include <string.h>

/* One row per enabled target of the message's account, in the transaction
 * that stores the message: pending, or skipped when the target skips the
 * message's class. The event ID is random, so two stores never share one. */
int mr_store_outbox_add(struct mr_store *s, const struct mr_message *m, mr_error *err)
{
    sqlite3_stmt *st;
    int rc = mr_store_prepare(
        s, &st,
        "INSERT INTO deliveries (event_id, message_id, target_id, account_id, state, created_ms,"
        " window_ms, next_ms)"
        " SELECT 'evt_' || lower(hex(randomblob(12))), ?1, t.id, t.account_id,"
        "  CASE WHEN ?3 IS NOT NULL AND instr(',' || replace(coalesce(t.skip_classes, ''), ' ', '')"
        "   || ',', ',' || ?3 || ',') > 0 THEN 'skipped' ELSE 'pending' END, ?4, ?4, ?4"
        " FROM delivery_targets t WHERE t.account_id = ?2 AND t.enabled = 1",
        err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, m->id);
    sqlite3_bind_int64(st, 2, m->account_id);
    mr_store_bind_text(st, 3, m->msg_class[0] ? m->msg_class : NULL);
    sqlite3_bind_int64(st, 4, mr_now_wall_ms());
    return mr_store_run(s, st, "queueing deliveries", err);
}
