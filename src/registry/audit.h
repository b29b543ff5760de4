/* Recording changes in the audit log, inside the change's transaction. */
#ifndef MR_REGISTRY_AUDIT_H
#define MR_REGISTRY_AUDIT_H

#include "registry/registry.h"

#include <jansson.h>

/* {"field": [old, new]} for every account field that differs; old or new
 * NULL for a creation or a deletion. */
json_t *mr_audit_account_changes(const struct mr_account *old, const struct mr_account *new);
/* Adds "key": [old, new] when the texts differ (NULL = null). */
void mr_audit_change(json_t *changes, const char *key, const char *old, const char *new);
/* Writes one entry (takes changes). */
int mr_audit_record(struct mr_registry *r, const char *action, enum mr_object kind, int64_t id,
                    const char *name, json_t *changes, mr_error *err);

#endif
