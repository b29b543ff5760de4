#include "registry/audit.h"

#include <stdio.h>
#include <string.h>

void mr_registry_set_actor(struct mr_registry *r, const char *actor)
{
    snprintf(r->actor, sizeof(r->actor), "%s", actor ? actor : "");
}

static json_t *text_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

void mr_audit_change(json_t *changes, const char *key, const char *old, const char *new)
{
    if ((old == NULL) == (new == NULL) && (!old || strcmp(old, new) == 0))
        return;
    json_object_set_new(changes, key, json_pack("[o, o]", text_or_null(old), text_or_null(new)));
}

json_t *mr_audit_account_changes(const struct mr_account *old, const struct mr_account *new)
{
    json_t *changes = json_object();
    for (size_t i = 0; i < mr_account_field_count; i++) {
        const struct mr_field *f = &mr_account_fields[i];
        char a[32], b[32];
        /* an action never chosen follows keep_copy, whose change says it */
        if (old && new && f->offset == offsetof(struct mr_account, after_fetch) &&
            !old->after_fetch && !new->after_fetch)
            continue;
        const char *x = old ? mr_account_get(old, f, a, sizeof(a)) : NULL;
        const char *y = new ? mr_account_get(new, f, b, sizeof(b)) : NULL;
        mr_audit_change(changes, f->key, x && *x ? x : NULL, y && *y ? y : NULL); /* unset: null */
    }
    return changes;
}

int mr_audit_record(struct mr_registry *r, const char *action, enum mr_object kind, int64_t id,
                    const char *name, json_t *changes, mr_error *err)
{
    static const char *const objects[] = {"account", "credential", "connector",
                                          "user",    "schedule",   "target"};
    char *text = json_dumps(changes, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(changes);
    int rc = mr_store_audit_add(r->store, r->actor[0] ? r->actor : "unknown", action, objects[kind],
                                id, name, text ? text : "{}", err);
    free(text);
    return rc;
}
