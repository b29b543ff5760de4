/* Delivery targets (core/target.h): validated, one transaction each,
 * recorded in the audit log; and the outbox's replays. */
#ifndef MR_REGISTRY_TARGETS_H
#define MR_REGISTRY_TARGETS_H

#include "registry/registry.h"

/* Keys: account (ID or name; add only), secret_credential (ID or name of a
 * password credential, "" for none) and the keys of mr_target_set. */
int mr_registry_target_add(struct mr_registry *r, const struct mr_input *in, int64_t *id,
                           struct mr_problems *p, mr_error *err);
int mr_registry_target_edit(struct mr_registry *r, int64_t id, const struct mr_input *in,
                            struct mr_problems *p, mr_error *err);
/* Removes the target and its deliveries (pending ones are never made). */
int mr_registry_target_remove(struct mr_registry *r, int64_t id, mr_error *err);
/* Failed deliveries matching f become pending again; audited as an update
 * of each target concerned... once, with the count. */
int mr_registry_delivery_replay(struct mr_registry *r, const struct mr_delivery_filter *f,
                                size_t *n, mr_error *err);
/* One failed delivery made pending again. MR_EINVAL ("delivery N is
 * delivered, not failed: nothing to replay") when it is not failed,
 * MR_ENOTFOUND when there is no such delivery. */
int mr_registry_delivery_replay_one(struct mr_registry *r, int64_t id, mr_error *err);

#endif
