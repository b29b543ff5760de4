#include "registry/targets.h"

#include "registry/audit.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int finish(struct mr_registry *r, int rc, mr_error *err)
{
    if (rc == 0)
        return mr_store_commit(r->store, err);
    mr_store_rollback(r->store);
    return rc;
}

static json_t *target_changes(const struct mr_target *a, const struct mr_target *b)
{
    json_t *c = json_object();
    char ab[32], bb[32];
    for (size_t i = 0; mr_target_keys[i]; i++) {
        const char *k = mr_target_keys[i];
        mr_audit_change(c, k, a ? mr_target_get(a, k, ab, sizeof(ab)) : NULL,
                        b ? mr_target_get(b, k, bb, sizeof(bb)) : NULL);
    }
    return c;
}

/* A reference typed by someone: ID or name; a problem on field when it
 * names nothing. */
static int resolve(struct mr_registry *r, enum mr_object kind, const char *field, const char *ref,
                   int64_t *id, struct mr_problems *p, mr_error *err)
{
    mr_error e = {0};
    int rc = mr_store_resolve(r->store, kind, ref, id, &e);
    if (rc == MR_ENOTFOUND || rc == MR_EINVAL) {
        mr_problems_add(p, field, "%s", e.message);
        return MR_EINVAL;
    }
    if (rc)
        *err = e;
    return rc;
}

/* The signing secret must be a password credential: an OAuth 2.0 grant
 * holds no secret to sign with. */
static int credential_ok(struct mr_registry *r, int64_t id, mr_error *err, int *ok)
{
    struct mr_credential c;
    mr_error e = {0};
    *ok = 1;
    if (!id)
        return 0;
    int rc = mr_store_credential_get(r->store, id, &c, &e);
    if (rc == MR_ENOTFOUND) {
        *ok = 0;
        return 0;
    }
    if (rc) {
        *err = e;
        return rc;
    }
    *ok = c.kind == MR_CREDENTIAL_PASSWORD;
    mr_credential_clear(&c);
    return 0;
}

static int save_target(struct mr_registry *r, struct mr_target *t, const struct mr_input *in,
                       struct mr_problems *p, mr_error *err)
{
    size_t before = p->count;
    struct mr_target old;
    mr_target_copy(&old, t);
    int rc = 0;
    for (size_t i = 0; i < in->count && rc == 0; i++) {
        const char *key = in->items[i].key, *value = in->items[i].value;
        if (strcmp(key, "account") == 0) {
            if (t->id) /* a target stays with its account */
                mr_problems_add(p, key, "cannot change; remove the target and add it anew");
            else if (!value || !value[0])
                mr_problems_add(p, key, "is required: the account whose mail this target gets");
            else if (resolve(r, MR_OBJ_ACCOUNT, key, value, &t->account_id, p, err) == MR_EINVAL)
                rc = 0;
        } else if (strcmp(key, "secret_credential") == 0) {
            t->secret_credential_id = 0;
            if (value && value[0] &&
                (rc = resolve(r, MR_OBJ_CREDENTIAL, key, value, &t->secret_credential_id, p,
                              err)) == MR_EINVAL)
                rc = 0;
        } else
            mr_target_set(t, key, value, p);
    }
    if (rc == 0 && !t->account_id && !mr_problems_has(p, "account"))
        mr_problems_add(p, "account", "is required: the account whose mail this target gets");
    int ok = 1;
    if (rc == 0)
        rc = credential_ok(r, t->secret_credential_id, err, &ok);
    if (rc == 0)
        mr_target_validate(t, ok, p);
    if (rc == 0 && t->account_id && t->name && !mr_problems_has(p, "name")) {
        struct mr_target *all = NULL;
        size_t n = 0;
        rc = mr_store_target_list(r->store, t->account_id, &all, &n, err);
        if (rc == 0 && !t->id && n >= MR_TARGETS_PER_ACCOUNT_MAX)
            mr_problems_add(p, "account", "has %d delivery targets, the most an account may have",
                            MR_TARGETS_PER_ACCOUNT_MAX);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (all[i].id != t->id && mr_str_ieq(all[i].name, t->name))
                mr_problems_add(p, "name", "this account has a delivery target named '%s' already",
                                t->name);
        mr_target_list_free(&all, n);
    }
    if (rc == 0 && p->count > before)
        rc = MR_EINVAL;
    if (rc == 0)
        rc = t->id ? mr_store_target_update(r->store, t, err)
                   : mr_store_target_insert(r->store, t, err);
    if (rc == 0)
        rc = mr_audit_record(r, old.id ? "update" : "create", MR_OBJ_TARGET, t->id, t->name,
                             target_changes(old.id ? &old : NULL, t), err);
    mr_target_clear(&old);
    return rc;
}

int mr_registry_target_add(struct mr_registry *r, const struct mr_input *in, int64_t *id,
                           struct mr_problems *p, mr_error *err)
{
    struct mr_target t;
    mr_target_init(&t);
    int rc = mr_store_begin(r->store, err);
    if (rc == 0) {
        rc = finish(r, save_target(r, &t, in, p, err), err);
        *id = rc ? 0 : t.id;
    }
    mr_target_clear(&t);
    return rc;
}

int mr_registry_target_edit(struct mr_registry *r, int64_t id, const struct mr_input *in,
                            struct mr_problems *p, mr_error *err)
{
    struct mr_target t;
    mr_target_init(&t);
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_target_get(r->store, id, &t, err);
    if (rc == 0)
        rc = save_target(r, &t, in, p, err);
    mr_target_clear(&t);
    return finish(r, rc, err);
}

int mr_registry_target_remove(struct mr_registry *r, int64_t id, mr_error *err)
{
    struct mr_target t;
    mr_target_init(&t);
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_target_get(r->store, id, &t, err);
    if (rc == 0)
        rc = mr_store_target_delete(r->store, id, err);
    if (rc == 0)
        rc = mr_audit_record(r, "delete", MR_OBJ_TARGET, id, t.name, target_changes(&t, NULL), err);
    mr_target_clear(&t);
    return finish(r, rc, err);
}

int mr_registry_delivery_replay(struct mr_registry *r, const struct mr_delivery_filter *f,
                                size_t *n, mr_error *err)
{
    *n = 0;
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    /* the targets concerned, for the audit log, before their rows change */
    struct mr_delivery_filter failed = *f;
    failed.state = "failed";
    struct mr_delivery *items = NULL;
    size_t count = 0, total = 0;
    rc = mr_store_delivery_list(r->store, &failed, 0, 0, &items, &count, &total, err);
    if (rc == 0)
        rc = mr_store_delivery_replay(r->store, f, mr_now_wall_ms(), n, err);
    /* one entry per target: how many of its deliveries were replayed */
    struct {
        int64_t id;
        const char *name;
        size_t n;
    } *per = mr_xcalloc(count ? count : 1, sizeof(*per));
    size_t nper = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        size_t k = 0;
        while (k < nper && per[k].id != items[i].target_id)
            k++;
        if (k == nper) {
            per[nper].id = items[i].target_id;
            per[nper++].name = items[i].target_name;
        }
        per[k].n++;
    }
    for (size_t k = 0; rc == 0 && k < nper; k++) {
        char num[24];
        snprintf(num, sizeof(num), "%zu", per[k].n);
        json_t *changes = json_object();
        mr_audit_change(changes, "replayed", NULL, num);
        rc = mr_audit_record(r, "update", MR_OBJ_TARGET, per[k].id, per[k].name, changes, err);
    }
    free(per);
    mr_delivery_list_free(&items, count);
    return finish(r, rc, err);
}

int mr_registry_delivery_replay_one(struct mr_registry *r, int64_t id, mr_error *err)
{
    struct mr_delivery d;
    int rc = mr_store_delivery_get(r->store, id, &d, err);
    if (rc)
        return rc;
    struct mr_delivery_filter f = {.target = d.target_id, .message = d.message_id};
    if (strcmp(d.state, "failed") != 0)
        rc = mr_error_set(err, MR_EINVAL, "", "delivery %lld is %s, not failed: nothing to replay",
                          (long long)id, d.state);
    mr_delivery_clear(&d);
    size_t n = 0;
    return rc ? rc : mr_registry_delivery_replay(r, &f, &n, err);
}
