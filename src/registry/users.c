#include "registry/users.h"

#include "registry/audit.h"

#include "util/mem.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int finish(struct mr_registry *r, int rc, mr_error *err)
{
    if (rc == 0)
        return mr_store_commit(r->store, err);
    mr_store_rollback(r->store);
    return rc;
}

static int hash_password(const char *password, size_t len, char out[crypto_pwhash_STRBYTES],
                         mr_error *err)
{
    if (sodium_init() < 0 ||
        crypto_pwhash_str(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return mr_error_set(err, MR_EIO, "", "cannot hash the password (out of memory?)");
    return 0;
}

int mr_registry_user_add(struct mr_registry *r, const char *name, enum mr_role role,
                         const char *password, size_t len, int64_t *id, struct mr_problems *p,
                         mr_error *err)
{
    char hash[crypto_pwhash_STRBYTES];
    struct mr_user u = {.name = (char *)name, .role = role};
    int taken = 0;
    size_t before = p->count;
    mr_check_user_name(name, p);
    mr_check_password(password, len, p);
    if (role == MR_ROLE_NONE)
        mr_problems_add(p, "role", "is required (admin or viewer)");
    int rc = mr_store_name_taken(r->store, MR_OBJ_USER, name, 0, &taken, err);
    if (rc == 0 && taken)
        mr_problems_add(p, "name", "a user named '%s' already exists", name);
    if (rc == 0 && p->count > before)
        rc = MR_EINVAL;
    if (rc == 0)
        rc = hash_password(password, len, hash, err);
    if (rc == 0)
        rc = mr_store_begin(r->store, err);
    if (rc == 0) {
        rc = mr_store_user_insert(r->store, &u, hash, err);
        json_t *changes = json_object();
        mr_audit_change(changes, "name", NULL, name);
        mr_audit_change(changes, "role", NULL, mr_role_name(role));
        json_object_set_new(changes, "password", json_string("set"));
        if (rc == 0)
            rc = mr_audit_record(r, "create", MR_OBJ_USER, u.id, name, changes, err);
        else
            json_decref(changes);
        rc = finish(r, rc, err);
    }
    *id = u.id;
    return rc;
}

static int keep_an_admin(struct mr_registry *r, const struct mr_user *u, enum mr_role new_role,
                         mr_error *err)
{
    size_t admins = 0;
    if (u->role != MR_ROLE_ADMIN || new_role == MR_ROLE_ADMIN)
        return 0;
    int rc = mr_store_admin_count(r->store, &admins, err);
    if (rc == 0 && admins <= 1)
        rc = mr_error_set(err, MR_EINUSE, "role",
                          "%s is the last admin; make another admin "
                          "first",
                          u->name);
    return rc;
}

int mr_registry_user_edit(struct mr_registry *r, int64_t id, enum mr_role role,
                          const char *password, size_t len, struct mr_problems *p, mr_error *err)
{
    char hash[crypto_pwhash_STRBYTES];
    struct mr_user u = {0};
    if (password) {
        mr_check_password(password, len, p);
        if (p->count)
            return MR_EINVAL;
    }
    int rc = password ? hash_password(password, len, hash, err) : 0;
    if (rc == 0)
        rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_user_get(r->store, id, &u, err);
    enum mr_role old_role = u.role;
    if (rc == 0 && role != MR_ROLE_NONE)
        rc = keep_an_admin(r, &u, role, err);
    if (rc == 0 && role != MR_ROLE_NONE)
        u.role = role;
    if (rc == 0)
        rc = mr_store_user_update(r->store, &u, password ? hash : NULL, err);
    if (rc == 0 && password) /* a new password ends every session */
        rc = mr_store_user_sessions_delete(r->store, id, err);
    if (rc == 0) {
        json_t *changes = json_object();
        mr_audit_change(changes, "role", mr_role_name(old_role), mr_role_name(u.role));
        if (password)
            json_object_set_new(changes, "password", json_string("changed"));
        rc = mr_audit_record(r, "update", MR_OBJ_USER, id, u.name, changes, err);
    }
    mr_user_clear(&u);
    return finish(r, rc, err);
}

int mr_registry_user_remove(struct mr_registry *r, int64_t id, mr_error *err)
{
    struct mr_user u = {0};
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_user_get(r->store, id, &u, err);
    if (rc == 0)
        rc = keep_an_admin(r, &u, MR_ROLE_NONE, err);
    if (rc == 0)
        rc = mr_store_user_delete(r->store, id, err);
    if (rc == 0)
        rc = mr_audit_record(r, "delete", MR_OBJ_USER, id, u.name, json_object(), err);
    mr_user_clear(&u);
    return finish(r, rc, err);
}

int mr_registry_login(struct mr_registry *r, const char *name, const char *password,
                      struct mr_user *out, mr_error *err)
{
    static const char dummy[crypto_pwhash_STRBYTES] =
        "$argon2id$v=19$m=65536,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char *hash = NULL;
    mr_error ignored = {0};
    memset(out, 0, sizeof(*out));
    int found = mr_store_user_by_name(r->store, name ? name : "", out, &hash, &ignored) == 0;
    /* verify against a dummy hash too, so a wrong name takes as long */
    int ok = sodium_init() >= 0 && password &&
             crypto_pwhash_str_verify(found ? hash : dummy, password, strlen(password)) == 0;
    free(hash);
    if (found && ok)
        return 0;
    mr_user_clear(out);
    return mr_error_set(err, MR_EAUTH, "", "wrong user name or password");
}

static void random_hex(char *out, size_t bytes)
{
    unsigned char raw[64];
    randombytes_buf(raw, bytes);
    sodium_bin2hex(out, 2 * bytes + 1, raw, bytes);
    sodium_memzero(raw, sizeof(raw));
}

static int token_hash(const char *token, unsigned char hash[32])
{
    if (!token || strlen(token) != MR_SECRET_TOKEN_LEN)
        return MR_ENOTFOUND;
    crypto_hash_sha256(hash, (const unsigned char *)token, MR_SECRET_TOKEN_LEN);
    return 0;
}

int mr_registry_session_start(struct mr_registry *r, int64_t user,
                              char token[MR_SECRET_TOKEN_LEN + 1], char csrf[72], mr_error *err)
{
    unsigned char hash[32];
    random_hex(token, MR_SECRET_TOKEN_LEN / 2);
    random_hex(csrf, 32);
    token_hash(token, hash);
    return mr_store_session_insert(r->store, hash, user, csrf, err);
}

int mr_registry_session_find(struct mr_registry *r, const char *token,
                             const struct mr_session_limits *limits, struct mr_user *user,
                             char csrf[72], mr_error *err)
{
    unsigned char hash[32];
    if (token_hash(token, hash))
        return MR_ENOTFOUND;
    return mr_store_session_lookup(r->store, hash, limits, user, csrf, err);
}

int mr_registry_session_end(struct mr_registry *r, const char *token, mr_error *err)
{
    unsigned char hash[32];
    if (token_hash(token, hash))
        return 0;
    return mr_store_session_delete(r->store, hash, err);
}

int mr_registry_token_create(struct mr_registry *r, struct mr_token *t, int expires_in_days,
                             char token[MR_SECRET_TOKEN_LEN + 1], struct mr_problems *p,
                             mr_error *err)
{
    unsigned char hash[32];
    struct mr_user u = {0};
    mr_check_token_name(t->name, p);
    if (expires_in_days < 0 || expires_in_days > MR_TOKEN_EXPIRES_DAYS)
        mr_problems_add(p, "expires_in_days", "must be between 1 and %d days, or 0 for never",
                        MR_TOKEN_EXPIRES_DAYS);
    if (p->count)
        return MR_EINVAL;
    t->expires_at = expires_in_days ? (int64_t)time(NULL) + (int64_t)expires_in_days * 86400 : 0;
    random_hex(token, MR_SECRET_TOKEN_LEN / 2);
    token_hash(token, hash);
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_user_get(r->store, t->user_id, &u, err);
    if (rc == 0)
        rc = mr_store_token_insert(r->store, hash, t, err);
    if (rc == 0) {
        json_t *changes = json_object();
        char *label = mr_xasprintf("%lld %s%s", (long long)t->id, t->name,
                                   t->read_only ? " (read-only)" : "");
        mr_audit_change(changes, "api_token", NULL, label);
        free(label);
        rc = mr_audit_record(r, "update", MR_OBJ_USER, u.id, u.name, changes, err);
    }
    mr_user_clear(&u);
    sodium_memzero(hash, sizeof(hash));
    return finish(r, rc, err);
}

int mr_registry_token_find(struct mr_registry *r, const char *token, struct mr_user *user,
                           int *read_only, mr_error *err)
{
    unsigned char hash[32];
    *read_only = 0;
    if (token_hash(token, hash))
        return MR_ENOTFOUND;
    return mr_store_token_lookup(r->store, hash, user, read_only, err);
}

int mr_registry_token_revoke(struct mr_registry *r, int64_t id, mr_error *err)
{
    struct mr_token t = {0};
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_token_get(r->store, id, &t, err);
    if (rc == 0)
        rc = mr_store_token_delete(r->store, id, err);
    if (rc == 0) {
        json_t *changes = json_object();
        char *label = mr_xasprintf("%lld %s", (long long)t.id, t.name);
        mr_audit_change(changes, "api_token", label, NULL);
        free(label);
        rc = mr_audit_record(r, "update", MR_OBJ_USER, t.user_id, t.user_name, changes, err);
    }
    mr_token_clear(&t);
    return finish(r, rc, err);
}

int mr_registry_tokens_revoke_user(struct mr_registry *r, int64_t user, size_t *n, mr_error *err)
{
    struct mr_user u = {0};
    *n = 0;
    int rc = mr_store_begin(r->store, err);
    if (rc)
        return rc;
    rc = mr_store_user_get(r->store, user, &u, err);
    if (rc == 0)
        rc = mr_store_user_tokens_delete(r->store, user, n, err);
    if (rc == 0 && *n) {
        json_t *changes = json_object();
        char text[64];
        snprintf(text, sizeof(text), "%zu revoked", *n);
        json_object_set_new(changes, "api_tokens", json_string(text));
        rc = mr_audit_record(r, "update", MR_OBJ_USER, u.id, u.name, changes, err);
    }
    mr_user_clear(&u);
    return finish(r, rc, err);
}

void mr_registry_random_password(char out[25])
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    for (int i = 0; i < 24; i++)
        out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
    out[24] = '\0';
}
