#include "fetch/fetch.h"

#include "fetch/pipeline.h"
#include "mime/summary.h"
#include "oauth/oauth.h"
#include "proto/pop3_parse.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/said.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* --- from an account to a session configuration -------------------------- */

void mr_fetch_background_priority(void)
{
    setpriority(PRIO_PROCESS, (id_t)gettid(), 10); /* best effort */
}

/* --- network connectors ----------------------------------------------------- */

int mr_proxy_load(struct mr_registry *r, int64_t connector_id, struct mr_loaded_proxy *lp,
                  mr_error *err)
{
    memset(lp, 0, sizeof(*lp));
    mr_connector_init(&lp->connector);
    mr_credential_init(&lp->cred);
    int rc = mr_store_connector_get(r->store, connector_id, &lp->connector, err);
    if (rc == 0 && lp->connector.credential_id) {
        rc = mr_store_credential_get(r->store, lp->connector.credential_id, &lp->cred, err);
        if (rc == 0)
            rc = mr_registry_credential_secret(r, lp->connector.credential_id, &lp->secret, err);
        if (rc)
            mr_error_prefix(err, "the credential of network connector '%s'",
                            lp->connector.name ? lp->connector.name : "?");
    }
    if (rc)
        return rc;
    const struct mr_connector *c = &lp->connector;
    struct mr_proxy *p = &lp->proxy;
    p->type = c->type == MR_CONNECTOR_HTTP ? MR_PROXY_HTTP : MR_PROXY_SOCKS5;
    p->name = c->name;
    p->host = c->address;
    p->port = c->port;
    p->username = c->credential_id ? lp->cred.username : NULL;
    p->password = lp->secret ? lp->secret->data : NULL;
    p->resolve_local = c->resolve_local;
    p->tls = c->tls;
    p->verify = !c->skip_certificate;
    p->ca_file = c->ca_file;
    return 0;
}

void mr_proxy_unload(struct mr_loaded_proxy *lp)
{
    mr_secret_free(&lp->secret);
    mr_credential_clear(&lp->cred);
    mr_connector_clear(&lp->connector);
}

/* The connector an account goes through: its own, else the default from
 * settings; 0 when it connects directly. */
static int account_connector(struct mr_registry *r, const struct mr_account *a, int64_t *id,
                             mr_error *err)
{
    *id = 0;
    if (!a->use_connector)
        return 0;
    if (a->connector_id) {
        *id = a->connector_id;
        return 0;
    }
    int rc = mr_store_default_connector(r->store, id, err);
    if (rc == 0 && !*id)
        rc = mr_error_set(err, MR_EINVAL, "connector",
                          "Use network connector is yes with no connector chosen, and no default "
                          "connector is set in Settings; choose one or set a default");
    return rc;
}

int mr_test_connector(struct mr_registry *r, int64_t connector_id, const char *host, int port,
                      const struct mr_fetch_options *o, struct mr_test_result *res, mr_error *err)
{
    struct mr_loaded_proxy lp;
    memset(res, 0, sizeof(*res));
    res->steps.on_step = o ? o->on_step : NULL;
    res->steps.on_wait = o ? o->on_wait : NULL;
    res->steps.ctx = o ? o->step_ctx : NULL;
    int rc = mr_proxy_load(r, connector_id, &lp, err);
    if (rc) {
        mr_steps_add_error(&res->steps, "settings", 0, err);
        mr_proxy_unload(&lp);
        return rc;
    }
    struct mr_net_limits limits = {
        .connect_timeout_ms = MR_CONNECT_TIMEOUT_MS,
        .idle_timeout_ms = o && o->idle_timeout_ms ? o->idle_timeout_ms : MR_IDLE_TIMEOUT_MS,
        .deadline_ms = o && o->deadline_ms ? o->deadline_ms : mr_now_ms() + MR_RUN_DEADLINE_MS,
        .step_timeout_ms = MR_STEP_TIMEOUT_DEFAULT * 1000,
    };
    struct mr_conn *conn = NULL;
    lp.proxy.on_step = mr_steps_proxy_step;
    lp.proxy.step_ctx = &res->steps;
    rc = mr_net_connect_proxy(&conn, &lp.proxy, host && *host ? host : NULL, port, &limits, err);
    mr_conn_close(&conn);
    mr_proxy_unload(&lp);
    res->ok = rc == 0;
    return rc;
}

/* --- from an account to a session configuration -------------------------- */

struct prepared {
    struct mr_registry *r;
    struct mr_credential cred;
    struct mr_secret *secret; /* the password, or an oauth2 credential's access token */
    struct mr_oauth_token_info token;
    struct mr_loaded_proxy proxy;
    int has_proxy;
    struct mr_mailbox_config cfg;
};

/* An oauth2 credential's access token (force: the server refused the one
 * it had), and the "token" step of Test connection: where it came from and
 * until when it is good, never the token. */
static int account_token(struct prepared *p, int force, struct mr_steps *steps, mr_error *err)
{
    int64_t t0 = mr_now_ms();
    mr_secret_free(&p->secret);
    int rc = mr_oauth_access_token(p->r, p->cred.id, force, p->has_proxy ? &p->proxy.proxy : NULL,
                                   &p->secret, &p->token, err);
    if (rc) {
        mr_steps_add_error(steps, "token", mr_now_ms() - t0, err);
        return rc;
    }
    char until[32];
    time_t at = (time_t)p->token.expires_at;
    struct tm tm;
    strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&at, &tm));
    mr_steps_add(
        steps, "token", 1, mr_now_ms() - t0, "%s access token of %s (%s), good until %s%s%s",
        p->token.refreshed ? "a new" : "the stored", mr_oauth_provider_name(p->cred.oauth.provider),
        mr_oauth_flow_name(p->cred.oauth.flow), until, p->token.scope[0] ? "; scopes: " : "",
        p->token.scope);
    p->cfg.bearer_token = p->secret->data;
    return 0;
}

/* The mail server refused the access token: one new token from the
 * provider, and the caller logs in once more. A fresh token refused too
 * is recorded on the credential. */
static int renew_token(struct prepared *p, const struct mr_mailbox_status *st, int rc,
                       struct mr_steps *steps, mr_error *err)
{
    if (p->cred.kind != MR_CREDENTIAL_OAUTH2 || !st->token_refused)
        return rc;           /* not about the token: no second try */
    if (!p->token.refreshed) /* the stored token: perhaps revoked early */
        return account_token(p, 1, steps, err);
    mr_error ignored = {0};
    mr_store_credential_set_token_state(p->r->store, p->cred.id, MR_TOKEN_REFUSED, err->message,
                                        &ignored);
    return rc;
}

static int prepare(struct mr_registry *r, const struct mr_account *a,
                   const struct mr_fetch_options *o, struct mr_steps *steps, struct prepared *p,
                   mr_error *err)
{
    int64_t connector_id = 0;
    memset(p, 0, sizeof(*p));
    mr_credential_init(&p->cred);
    int rc = account_connector(r, a, &connector_id, err);
    if (rc == 0 && connector_id) {
        rc = mr_proxy_load(r, connector_id, &p->proxy, err);
        p->has_proxy = 1;
        p->cfg.proxy = &p->proxy.proxy;
    }
    if (rc)
        return rc;
    p->r = r;
    rc = mr_store_credential_get(r->store, a->credential_id, &p->cred, err);
    if (rc == 0 && p->cred.kind == MR_CREDENTIAL_OAUTH2)
        rc = account_token(p, 0, steps, err);
    else if (rc == 0)
        rc = mr_registry_credential_secret(r, a->credential_id, &p->secret, err);
    if (rc)
        return rc;
    struct mr_mailbox_config *c = &p->cfg;
    c->host = a->address;
    c->port = mr_account_port(a);
    c->security = a->security;
    c->verify_certificate = !a->skip_certificate;
    c->ca_file = a->ca_file;
    c->username = p->cred.username;
    if (p->cred.kind == MR_CREDENTIAL_OAUTH2)
        c->bearer_token = p->secret->data;
    else
        c->password = p->secret->data;
    c->auth = a->auth;
    c->folder = mr_account_folder(a);
    c->after_fetch = mr_account_after_fetch(a);
    c->read_only = c->after_fetch == MR_AFTER_KEEP; /* the others change the folder */
    c->move_folder = a->move_folder;
    c->create_folder = a->create_folder;
    c->action_when = a->action_when;
    c->limits.connect_timeout_ms = MR_CONNECT_TIMEOUT_MS;
    c->limits.idle_timeout_ms = o && o->idle_timeout_ms ? o->idle_timeout_ms : MR_IDLE_TIMEOUT_MS;
    c->limits.deadline_ms = o && o->deadline_ms ? o->deadline_ms : mr_now_ms() + MR_RUN_DEADLINE_MS;
    c->limits.step_timeout_ms = mr_account_step_timeout(a) * 1000;
    c->limits.min_speed = mr_account_min_speed(a);
    c->limits.min_speed_time_ms = mr_account_min_speed_time(a) * 1000;
    c->trace = o ? o->trace : NULL;
    c->trace_ctx = o ? o->trace_ctx : NULL;
    c->steps = steps;
    return 0;
}

static void prepared_free(struct prepared *p)
{
    if (p->has_proxy)
        mr_proxy_unload(&p->proxy);
    mr_secret_free(&p->secret);
    mr_credential_clear(&p->cred);
}

/* --- one run ------------------------------------------------------------- */

struct run {
    struct mr_store *s;
    const volatile int *cancel;
    const struct mr_account *a;
    const struct mr_mailbox_driver *drv;
    struct mr_mailbox *mb;
    struct mr_mailbox_status st;
    struct mr_fetch_result *res;
    int imap, keep, by_digest; /* keep: nothing is deleted (every action but delete) */
    enum mr_after_fetch action;
    int acts;                    /* seen or move: pending actions are done after each commit */
    int when_delivered;          /* the action waits for the message's deliveries */
    size_t max_size;             /* the account's largest message */
    unsigned size_tolerance_pct; /* a message this close to its listed size is verified */
    uint64_t mismatched;         /* stored this run, not the size listed: marked, kept */
    char mismatch[200];          /* the first of them, for the note */
    uint64_t left_marked;        /* stored earlier and marked: left on the server */
    char (*listed)[72];          /* POP3: the UIDLs listed this session, sorted */
    size_t nlisted;
    uint64_t moved;                /* POP3: stored before under a UIDL the server no longer lists */
    struct mr_pipeline *pipe;      /* NULL: every message is handled inline */
    struct mr_pipeline_item *cur;  /* the message being received */
    EVP_MD_CTX *sha;               /* its SHA-256, computed as the bytes arrive */
    struct mr_message_ref *stored; /* stored in this batch: deleted after commit */
    int64_t *stored_ids;           /* their IDs in the store */
    size_t nstored, cap;
    int64_t *quit_ids; /* POP3: DELE sent for them; their action is done at QUIT's +OK */
    size_t nquit, capquit;
    uint64_t last_uid;
    uint64_t pending_deletes; /* POP3: DELE sent, applied by QUIT */
    int64_t txn_since_ms;     /* when the open transaction began */
    int64_t idle_since_ms;    /* when the store thread began waiting (0: busy) */
    int txn_failed;           /* an idle commit failed: the batch fails with */
    mr_error txn_err;
    pthread_mutex_t txn_lock; /* the store thread's idle commit vs. settle's */
};

static void remember(struct run *run, const struct mr_message_ref *ref, int64_t id)
{
    if (run->nstored == run->cap) {
        run->cap = run->cap ? run->cap * 2 : 64;
        run->stored = mr_xrealloc(run->stored, run->cap * sizeof(*run->stored));
        run->stored_ids = mr_xrealloc(run->stored_ids, run->cap * sizeof(*run->stored_ids));
    }
    run->stored_ids[run->nstored] = id;
    run->stored[run->nstored++] = *ref;
    if (ref->uid > run->last_uid && run->imap)
        run->last_uid = ref->uid;
}

static int sink_begin(void *ctx, uint64_t size, mr_error *err)
{
    struct run *run = ctx;
    if (size > run->max_size)
        return mr_error_set(err, MR_EPROTO, "",
                            "the server sends a message of %llu bytes, more "
                            "than the account's limit of %zu",
                            (unsigned long long)size, run->max_size);
    if (!run->cur && run->pipe)
        run->cur = mr_pipeline_item(run->pipe, run->max_size, (size_t)size);
    else if (!run->cur) {
        run->cur = mr_xcalloc(1, sizeof(*run->cur));
        mr_buf_init(&run->cur->raw, run->max_size);
    }
    mr_buf_reset(&run->cur->raw);
    mr_buf_reserve_exact(&run->cur->raw, (size_t)size); /* one allocation, no slack */
    if (!run->sha)
        run->sha = EVP_MD_CTX_new();
    if (!run->sha || EVP_DigestInit_ex(run->sha, EVP_sha256(), NULL) != 1)
        return mr_error_set(err, MR_EIO, "", "cannot compute SHA-256 (OpenSSL)");
    return 0;
}

static int sink_data(void *ctx, const char *p, size_t n, mr_error *err)
{
    struct run *run = ctx;
    if (mr_buf_append(&run->cur->raw, p, n))
        return mr_error_set(err, MR_EPROTO, "",
                            "a message grew past the account's limit of %zu "
                            "bytes",
                            run->max_size);
    EVP_DigestUpdate(run->sha, p, n); /* while the bytes are still in the cache */
    return 0;
}

/* Appends to the run's note ("; " between two things to know). */
static void add_note(struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_note(struct run *run, const char *fmt, ...)
{
    char *note = run->res->note;
    size_t used = strlen(note), size = sizeof(run->res->note);
    if (used && used + 2 < size) {
        memcpy(note + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note + used, size - used, fmt, ap);
    va_end(ap);
}

/* qsort and bsearch over UIDLs (char[72]; bsearch's key a string) */
static int uidl_order(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Whether uidl (NULL: stored without one) is missing from the server's
 * listing of this session. */
static int unlisted(void *ctx, const char *uidl)
{
    const struct run *run = ctx;
    return !uidl || !bsearch(uidl, run->listed, run->nlisted, sizeof(*run->listed), uidl_order);
}

/* POP3: the UIDLs the server lists this session, sorted, for unlisted(). */
static void list_uidls(struct run *run, const struct mr_message_ref *refs, size_t n)
{
    run->listed = mr_xcalloc(n ? n : 1, sizeof(*run->listed));
    for (size_t i = 0; i < n; i++)
        if (refs[i].uidl[0])
            memcpy(run->listed[run->nlisted++], refs[i].uidl, sizeof(*run->listed));
    qsort(run->listed, run->nlisted, sizeof(*run->listed), uidl_order);
}

/* A message we already have is recognised by its bytes and Message-ID:
 * after a UIDVALIDITY change; over POP3 without UIDL; and over POP3 with
 * UIDL after the server changed them (a migration, a broken server), where
 * only a stored message whose UIDL the server no longer lists may match
 * (two identical messages on the server are two messages) and it takes
 * the new UIDL, so the next run knows it. *marked: that message is marked
 * as not having its listed size, so it is never deleted. */
static int known_by_digest(struct run *run, struct mr_message *m, const struct mr_message_ref *ref,
                           int *dup, int *marked, int64_t *found, mr_error *err)
{
    int64_t id = 0;
    *dup = 0;
    *marked = 0;
    if (!run->by_digest)
        return 0;
    int moved = !run->imap && ref->uidl[0];
    int rc = mr_store_message_by_digest(run->s, run->a->id, m->sha256, m->message_id,
                                        moved ? unlisted : NULL, run, &id, marked, err);
    if (rc || !id)
        return rc;
    *dup = 1;
    *found = id;
    run->res->duplicates++;
    if (run->imap)
        return mr_store_message_relocate(run->s, id, run->st.uidvalidity, ref->uid, err);
    if (!moved)
        return 0;
    run->moved++;
    return mr_store_message_relocate_uidl(run->s, id, ref->uidl, m, err);
}

/* The first stage: what the store needs to know of a message, computed off
 * the network thread (SHA-256, MIME summary). */
static int prepare_stage(void *ctx, struct mr_pipeline_item *it, mr_error *err)
{
    struct run *run = ctx;
    struct mr_message *m = &it->m;
    (void)err;
    if (it->commit)
        return 0;
    m->account_id = run->a->id;
    m->fetched_at = (int64_t)time(NULL);
    m->size = (int64_t)it->raw.len;
    m->uidvalidity = run->imap ? run->st.uidvalidity : 0;
    m->uid = run->imap ? it->ref.uid : 0;
    m->uidl = !run->imap && it->ref.uidl[0] ? mr_xstrdup(it->ref.uidl) : NULL;
    const char *raw = it->raw.data ? it->raw.data : "";
    if (!run->imap && /* IMAP literal sizes are exact by protocol */
        !mr_pop3_size_matches(it->ref.size, raw, it->raw.len, run->size_tolerance_pct)) {
        m->size_mismatch = 1; /* truncated, not dot-stuffed, or longer */
        m->listed_size = it->ref.size;
    }
    mr_mime_summarize(raw, it->raw.len, m, &it->att, &it->natt);
    /* a marked message is never deleted: no action waits for it */
    m->action_pending = run->action != MR_AFTER_KEEP && !m->size_mismatch;
    return 0;
}

/* A message stored this run without the size its listing announced: for
 * the note (the first in words, the others counted). */
static void record_mismatch(struct run *run, const struct mr_message *m,
                            const struct mr_message_ref *ref)
{
    if (run->mismatched++)
        return;
    snprintf(run->mismatch, sizeof(run->mismatch),
             "message %llu (UIDL %.72s): the server sent %lld bytes where LIST said %llu",
             (unsigned long long)ref->uid, ref->uidl[0] ? ref->uidl : "none", (long long)m->size,
             (unsigned long long)m->listed_size);
}

/* Commits what was stored durably (with the IMAP fetch state in the same
 * transaction); nothing to do when no transaction is open (an idle commit
 * came first). The next message begins the next one. */
static int commit_store(struct run *run, mr_error *err)
{
    int rc = 0;
    if (mr_store_in_transaction(run->s)) {
        if (run->imap && run->last_uid)
            rc = mr_store_set_fetch_state(run->s, run->a->id, run->st.uidvalidity, run->last_uid,
                                          err);
        if (rc == 0 && run->res->run_id) /* the history shows the run's progress */
            rc = mr_store_run_progress(run->s, run->res->run_id, run->res->fetched, run->res->bytes,
                                       err);
        if (rc == 0)
            rc = mr_store_commit(run->s, err);
        else
            mr_store_rollback(run->s);
        if (rc == 0 && run->res->fetched && !run->res->first_commit_ms)
            run->res->first_commit_ms = mr_now_ms(); /* push's latency ends here */
    }
    if (rc == 0 && run->keep)
        run->nstored = 0; /* nothing to delete */
    return rc;
}

/* Transactions are begun by the first message that needs one. A slow
 * server must not keep SQLite's write lock from the other accounts' fetches
 * and the API (they wait up to 5 s for it), so the store thread commits what
 * it has when it has waited MR_IDLE_COMMIT_MS for the next message, or when
 * it waits at all and the transaction is MR_TXN_MAX_MS old (a server that
 * trickles one message after another). Messages that keep coming are
 * committed per batch, and at most once a second in between. */
#define MR_IDLE_COMMIT_MS 100
#define MR_TXN_MAX_MS     1000

static int begin_store(struct run *run, mr_error *err)
{
    if (mr_store_in_transaction(run->s))
        return 0;
    run->txn_since_ms = mr_now_ms();
    return mr_store_begin(run->s, err);
}

/* The pipeline's idle hook (store thread): commits by the rule above, or
 * says how long until the rule will say so. */
static int store_idle(void *ctx)
{
    struct run *run = ctx;
    int wait = -1;
    pthread_mutex_lock(&run->txn_lock);
    if (mr_store_in_transaction(run->s)) {
        int64_t now = mr_now_ms();
        if (!run->idle_since_ms)
            run->idle_since_ms = now;
        int64_t idle = now - run->idle_since_ms, age = now - run->txn_since_ms;
        if (idle < MR_IDLE_COMMIT_MS && age < MR_TXN_MAX_MS) {
            int64_t w = MR_IDLE_COMMIT_MS - idle;
            wait = (int)(MR_TXN_MAX_MS - age < w ? MR_TXN_MAX_MS - age : w);
        } else if (commit_store(run, &run->txn_err) != 0) {
            /* what it held is not stored: the batch fails, nothing of it
             * is deleted */
            mr_store_rollback(run->s);
            run->txn_failed = 1;
        }
    }
    pthread_mutex_unlock(&run->txn_lock);
    return wait;
}

/* The second stage: the message into the store (or a batch's commit). */
static int store_stage(void *ctx, struct mr_pipeline_item *it, mr_error *err)
{
    struct run *run = ctx;
    if (run->txn_failed) {
        *err = run->txn_err;
        return err->code ? err->code : MR_ESTORE;
    }
    run->idle_since_ms = 0;
    if (it->commit)
        return commit_store(run, err);
    int dup = 0, marked = 0;
    int64_t id = 0;
    int rc = begin_store(run, err);
    if (rc == 0)
        rc = known_by_digest(run, &it->m, &it->ref, &dup, &marked, &id, err);
    if (rc == 0 && !dup)
        rc = mr_store_message_insert(run->s, &it->m, it->att, it->natt,
                                     it->raw.data ? it->raw.data : "", it->raw.len, err);
    if (rc == 0 && !dup) {
        run->res->fetched++;
        run->res->bytes += it->raw.len;
        if (it->m.size_mismatch)
            record_mismatch(run, &it->m, &it->ref);
    }
    /* what may be deleted: what arrived with its listed size, stored */
    if (rc == 0 && dup && (marked || it->m.size_mismatch))
        run->left_marked++;
    else if (rc == 0 && !it->m.size_mismatch)
        remember(run, &it->ref, dup ? id : it->m.id);
    return rc;
}

/* An item into the pipeline, or through both stages here when the pipeline
 * could not start. */
static int handle(struct run *run, struct mr_pipeline_item *it, mr_error *err)
{
    if (run->pipe)
        return mr_pipeline_push(run->pipe, it, err);
    int rc = prepare_stage(run, it, err);
    if (rc == 0)
        rc = store_stage(run, it, err);
    mr_attachments_free(&it->att, it->natt);
    it->natt = 0;
    mr_message_clear(&it->m);
    memset(&it->m, 0, sizeof(it->m));
    return rc;
}

static int sink_done(void *ctx, const struct mr_message_ref *ref, mr_error *err)
{
    struct run *run = ctx;
    struct mr_pipeline_item *it = run->cur;
    unsigned int len = 32;
    it->ref = *ref;
    if (EVP_DigestFinal_ex(run->sha, it->m.sha256, &len) != 1)
        return mr_error_set(err, MR_EIO, "", "cannot compute SHA-256 (OpenSSL)");
    if (run->pipe)
        run->cur = NULL; /* the pipeline owns it now */
    return handle(run, it, err);
}

/* Sends a batch's commit down the pipeline; more: another batch follows. */
static int end_batch(struct run *run, int more, mr_error *err)
{
    if (!run->pipe)
        return commit_store(run, err);
    struct mr_pipeline_item *it = mr_pipeline_item(run->pipe, 0, 0);
    it->commit = more ? 2 : 1;
    return mr_pipeline_push(run->pipe, it, err);
}

/* Waits for what was pushed; after a failed stage the open transaction
 * still commits what was stored whole. */
static int settle(struct run *run, mr_error *err)
{
    if (!run->pipe)
        return 0;
    int rc = mr_pipeline_drain(run->pipe, err);
    pthread_mutex_lock(&run->txn_lock);
    if (rc && mr_store_in_transaction(run->s)) {
        mr_error ignored = {0};
        int keep = run->keep;
        run->keep = 1;
        commit_store(run, &ignored);
        run->keep = keep;
    }
    pthread_mutex_unlock(&run->txn_lock);
    return rc;
}

/* The network thread's use of the store while the pipeline lives: the
 * store thread's idle commit must not take a transaction of ours. */
static int clear_actions(struct run *run, const int64_t *ids, size_t n, mr_error *err)
{
    pthread_mutex_lock(&run->txn_lock);
    int rc = mr_store_actions_clear(run->s, ids, n, err);
    pthread_mutex_unlock(&run->txn_lock);
    return rc;
}

/* Action when delivered: keeps in run->stored only the messages whose
 * deliveries are done; the others stay on the server for a later run. */
static int only_delivered(struct run *run, mr_error *err)
{
    int *done = mr_xcalloc(run->nstored, sizeof(*done));
    pthread_mutex_lock(&run->txn_lock);
    int rc = mr_store_actions_deliveries_done(run->s, run->stored_ids, run->nstored, done, err);
    pthread_mutex_unlock(&run->txn_lock);
    size_t k = 0;
    for (size_t i = 0; i < run->nstored && rc == 0; i++) {
        if (!done[i])
            continue;
        run->stored[k] = run->stored[i];
        run->stored_ids[k++] = run->stored_ids[i];
    }
    run->nstored = rc ? 0 : k;
    free(done);
    return rc;
}

/* POP3: the IDs whose DELE QUIT will apply. */
static void remember_quit(struct run *run)
{
    if (run->nquit + run->nstored > run->capquit) {
        run->capquit = (run->nquit + run->nstored) * 2;
        run->quit_ids = mr_xrealloc(run->quit_ids, run->capquit * sizeof(*run->quit_ids));
    }
    memcpy(run->quit_ids + run->nquit, run->stored_ids, run->nstored * sizeof(*run->quit_ids));
    run->nquit += run->nstored;
}

/* After fetch delete (no keep copy): deletes what the committed batches
 * stored, and clears their pending action once the server said OK (IMAP;
 * POP3's DELE is done by QUIT, see fetch_locked). */
static int delete_stored(struct run *run, mr_error *err)
{
    int rc = 0;
    if (!run->keep && run->nstored && run->when_delivered)
        rc = only_delivered(run, err);
    if (rc == 0 && !run->keep && run->nstored) {
        rc = run->drv->remove(run->mb, run->stored, run->nstored, err);
        if (rc == 0 && run->imap) {
            run->res->deleted += run->nstored;
            rc = clear_actions(run, run->stored_ids, run->nstored, err);
        } else if (rc == 0) {
            run->pending_deletes += run->nstored;
            remember_quit(run);
        }
    }
    run->nstored = 0;
    return rc;
}

/* After fetch seen or move: does the action on every message of this
 * folder still waiting for it (stored by this run's committed batches, or
 * by an earlier run that ended before the server said OK), with action
 * when delivered only on those whose deliveries are done, then clears
 * their flags. Only messages whose action was never confirmed are listed,
 * so a message someone marked unread again is never marked again. */
static int apply_pending(struct run *run, mr_error *err)
{
    struct mr_action_item *items = NULL;
    size_t n = 0;
    pthread_mutex_lock(&run->txn_lock);
    int rc = mr_store_actions_pending(run->s, run->a->id, run->st.uidvalidity, run->when_delivered,
                                      &items, &n, err);
    pthread_mutex_unlock(&run->txn_lock);
    if (rc || !n) {
        free(items);
        return rc;
    }
    struct mr_message_ref *refs = mr_xcalloc(n, sizeof(*refs));
    int64_t *ids = mr_xcalloc(n, sizeof(*ids));
    for (size_t i = 0; i < n; i++) {
        refs[i].uid = items[i].uid;
        ids[i] = items[i].id;
    }
    rc = run->drv->act(run->mb, run->action, run->a->move_folder, run->a->create_folder, refs, n,
                       err);
    if (rc == 0)
        rc = clear_actions(run, ids, n, err);
    if (rc == 0)
        run->res->acted += n;
    free(refs);
    free(ids);
    free(items);
    return rc;
}

/* One batch: received and handed on; with keep copy the network goes on to
 * the next batch while this one is committed, otherwise it waits for the
 * commit and then deletes. */
static int fetch_batch(struct run *run, const struct mr_message_ref *refs, size_t n, int more,
                       mr_error *err)
{
    struct mr_fetch_sink sink = {sink_begin, sink_data, sink_done, run};
    int rc = run->drv->fetch(run->mb, refs, n, &sink, err);
    if (rc) { /* keep what arrived whole; delete nothing of this batch */
        mr_error e = {0};
        end_batch(run, 0, &e);
        settle(run, &e);
        run->nstored = 0;
        return rc;
    }
    rc = end_batch(run, more, err);
    if (!run->keep || run->acts || !more) {
        int src = settle(run, err);
        rc = rc ? rc : src;
    }
    if (rc == 0 && !run->keep)
        rc = delete_stored(run, err);
    if (rc == 0 && run->acts)
        rc = apply_pending(run, err);
    return rc;
}

/* Sorts the server's list into: to fetch, already stored (delete them when
 * not keeping a copy), and too big (record, leave on the server). */
static int classify(struct run *run, struct mr_message_ref *refs, size_t n, size_t *nfetch,
                    mr_error *err)
{
    size_t k = 0;
    int rc = mr_store_begin(run->s, err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        int stored = 0, mismatch = 0, skipped = 0;
        const char *uidl = run->imap ? NULL : refs[i].uidl[0] ? refs[i].uidl : NULL;
        if (run->imap || uidl)
            rc = mr_store_message_known(run->s, run->a->id, run->st.uidvalidity, refs[i].uid, uidl,
                                        &stored, &mismatch, &skipped, err);
        int64_t id = 0;
        if (rc == 0 && stored && !mismatch && !run->keep) /* to delete: which one */
            rc = mr_store_action_find(run->s, run->a->id, run->st.uidvalidity, refs[i].uid, uidl,
                                      &id, err);
        if (rc == 0 && stored && mismatch)
            run->left_marked++; /* not the size listed: never deleted */
        else if (rc == 0 && stored)
            remember(run, &refs[i], id);
        else if (rc == 0 && (skipped || refs[i].size > run->max_size)) {
            run->res->skipped++;
            if (!skipped)
                rc = mr_store_skipped_insert(run->s, run->a->id, run->st.uidvalidity,
                                             run->imap ? refs[i].uid : 0, uidl, refs[i].size,
                                             "too big", err);
        } else if (rc == 0)
            refs[k++] = refs[i];
    }
    *nfetch = k;
    if (rc) {
        mr_store_rollback(run->s);
        return rc;
    }
    rc = commit_store(run, err);
    return rc ? rc : delete_stored(run, err);
}

/* The note on messages that did not have the size the server listed. */
static void note_mismatches(struct run *run)
{
    if (run->mismatched == 1)
        add_note(run, "%s: stored and marked, left on the server", run->mismatch);
    else if (run->mismatched)
        add_note(run,
                 "%llu messages did not have the size LIST announced: stored and marked, left on "
                 "the server (the first: %s)",
                 (unsigned long long)run->mismatched, run->mismatch);
    if (run->left_marked && !run->keep)
        add_note(run,
                 "%llu message%s stored earlier without the size LIST announced %s left on the "
                 "server (inbox list --status size_mismatch)",
                 (unsigned long long)run->left_marked, run->left_marked == 1 ? "" : "s",
                 run->left_marked == 1 ? "is" : "are");
}

static int fetch_all(struct run *run, mr_error *err)
{
    uint32_t old_validity = 0;
    uint64_t last_uid = 0, min_uid = 1;
    struct mr_message_ref *refs = NULL;
    size_t n = 0, nfetch = 0;
    int rc = 0;
    if (run->imap) {
        rc = mr_store_fetch_state(run->s, run->a->id, &old_validity, &last_uid, err);
        run->by_digest = old_validity && old_validity != run->st.uidvalidity;
        if (rc == 0 && !run->by_digest && run->keep && old_validity)
            min_uid = last_uid + 1;
    } else {
        run->by_digest = 1; /* without UIDL, or for UIDLs that changed */
        if (!run->st.has_uidl)
            snprintf(run->res->note, sizeof(run->res->note),
                     "the server does not support UIDL: messages are recognised by their "
                     "SHA-256, so %s",
                     run->keep ? "every run downloads the whole maildrop again"
                               : "a message is never stored twice even if QUIT fails");
    }
    /* what an earlier run stored and could not act on yet (it ended first,
     * or the deliveries were not done) */
    if (rc == 0 && run->acts)
        rc = apply_pending(run, err);
    if (rc == 0)
        rc = run->drv->list(run->mb, min_uid, &refs, &n, err);
    run->res->listed = n;
    if (rc == 0 && !run->imap && run->st.has_uidl)
        list_uidls(run, refs, n); /* before classify keeps only the new */
    if (rc == 0)
        rc = classify(run, refs, n, &nfetch, err);
    struct mr_checkpointer *checkpointer = NULL;
    if (rc == 0 && nfetch) {
        uint64_t total = 0;
        for (size_t i = 0; i < nfetch; i++)
            total += refs[i].size;
        mr_error ignored = {0}; /* without one, the store checkpoints itself */
        if (total >= MR_CHECKPOINTER_BYTES)
            mr_checkpointer_start(run->s, &checkpointer, &ignored);
        run->pipe =
            mr_pipeline_start(MR_PIPELINE_BYTES, prepare_stage, store_stage, store_idle, run);
    }
    for (size_t i = 0; rc == 0 && i < nfetch;) {
        size_t k = 0;
        if (run->cancel && *run->cancel) {
            rc = mr_error_set(err, MR_EIO, "",
                              "stopped: mailroom is shutting down (what was "
                              "stored is kept; the next run goes on)");
            mr_error e = {0};
            end_batch(run, 0, &e);
            settle(run, &e);
            break;
        }
        uint64_t bytes = 0;
        while (i + k < nfetch && k < MR_BATCH_MESSAGES && (k == 0 || bytes < MR_BATCH_BYTES))
            bytes += refs[i + k++].size;
        rc = fetch_batch(run, refs + i, k, i + k < nfetch, err);
        i += k;
    }
    mr_pipeline_stop(&run->pipe);
    mr_checkpointer_stop(&checkpointer);
    note_mismatches(run);
    if (run->moved)
        add_note(run,
                 "%llu message%s already stored under other UIDLs (the server's UIDLs "
                 "changed): not stored again",
                 (unsigned long long)run->moved, run->moved == 1 ? " was" : "s were");
    mr_freep(&run->listed);
    EVP_MD_CTX_free(run->sha);
    run->sha = NULL;
    if (run->cur) {
        mr_buf_free(&run->cur->raw);
        free(run->cur);
        run->cur = NULL;
    }
    free(refs);
    return rc;
}

static void finish_run(struct mr_store *s, int64_t run_id, const struct mr_fetch_result *res,
                       int rc, const mr_error *err, const char *trigger)
{
    struct mr_fetch_run r = {.id = run_id, .latency_ms = -1};
    snprintf(r.trigger, sizeof(r.trigger), "%s", res->notice_ms ? "push" : trigger ? trigger : "");
    if (res->notice_ms && res->first_commit_ms)
        r.latency_ms = res->first_commit_ms - res->notice_ms;
    mr_error ignored = {0};
    snprintf(r.result, sizeof(r.result), "%s", rc ? "error" : "ok");
    r.fetched = res->fetched;
    r.bytes = res->bytes;
    r.deleted = res->deleted;
    r.skipped = res->skipped;
    r.error = rc ? (char *)err->message : NULL;
    r.error_said = rc ? mr_error_said_text(err) : NULL;
    r.retry_after = res->retry_after;
    mr_store_run_finish(s, &r, &ignored);
    free(r.error_said);
}

static int fetch_locked(struct mr_registry *r, int64_t account_id, const struct mr_fetch_options *o,
                        struct mr_fetch_result *res, mr_error *err);

/* The server asked for a pause (Exchange Online's "Request is throttled.
 * Suggested Backoff Time: N milliseconds", then BYE): the next check waits
 * at least that long, and a failed run says why it stopped and when it
 * goes on. What was stored before it stays stored. */
static void honour_backoff(struct mr_fetch_result *res, int64_t ms, int rc, mr_error *err)
{
    int64_t secs = (ms + 999) / 1000;
    char wait[48];
    res->retry_after = (int64_t)time(NULL) + secs;
    if (secs < 120)
        snprintf(wait, sizeof(wait), "%lld s", (long long)secs);
    else
        snprintf(wait, sizeof(wait), "%lld min", (long long)(secs + 59) / 60);
    if (rc)
        mr_error_prefix(err,
                        "the server is throttling this account and asked for a pause of %s, so "
                        "the next check waits that long (too many checks or connections to this "
                        "mailbox cause it; a longer check interval helps); it said",
                        wait);
    else
        snprintf(res->note, sizeof(res->note),
                 "the server asked for a pause of %s: the next check waits that long", wait);
}

/* One run per account at a time, across processes and threads: a write
 * lock on byte ID of DIR/fetch.lock (an open-file-description lock, so two
 * threads of one daemon exclude each other as two processes do), released
 * when the run's descriptor closes, also when the process dies. One file
 * for every account: a first check of each of 1,000 accounts used to create
 * 1,000 lock files, and creating inodes was a quarter of the round's CPU. */
static int lock_account(struct mr_store *s, int64_t id, int *fd, mr_error *err)
{
    char *path = mr_xasprintf("%s/fetch.lock", mr_store_dir(s));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)id, .l_len = 1};
    int rc = 0;
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        rc = mr_error_set(err, MR_EIO, "", "cannot open %s: %s", path, strerror(errno));
    else if (fcntl(*fd, F_OFD_SETLK, &fl) != 0) {
        if (errno == EAGAIN || errno == EACCES)
            rc = mr_error_set(err, MR_EINUSE, "", "another fetch of this account is running");
        else
            rc = mr_error_set(err, MR_EIO, "", "cannot lock %s: %s", path, strerror(errno));
        close(*fd);
        *fd = -1;
    }
    free(path);
    return rc;
}

int mr_fetch_running(struct mr_store *s, int64_t account_id)
{
    int fd = -1;
    mr_error ignored = {0};
    if (lock_account(s, account_id, &fd, &ignored) == MR_EINUSE)
        return 1;
    if (fd >= 0)
        close(fd);
    return 0;
}

int mr_fetch_recover(struct mr_store *s, mr_error *err)
{
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = mr_store_accounts_running(s, &ids, &n, err);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (!mr_fetch_running(s, ids[i]))
            rc = mr_store_close_stale_runs(s, ids[i], err);
    free(ids);
    return rc;
}

int mr_fetch_account(struct mr_registry *r, int64_t account_id, const struct mr_fetch_options *o,
                     struct mr_fetch_result *res, mr_error *err)
{
    int lock = -1;
    int rc = lock_account(r->store, account_id, &lock, err);
    if (rc) {
        memset(res, 0, sizeof(*res));
        return rc;
    }
    rc = fetch_locked(r, account_id, o, res, err);
    close(lock);
    return rc;
}

/* The account's session: its push connection woken for this check, or the
 * one kept open since its last check, when the settings are the same and
 * the server still answers; else a new login. */
static int open_mailbox(struct run *run, const struct mr_mailbox_config *cfg,
                        const struct mr_fetch_options *o, unsigned char fp[32], mr_error *err)
{
    struct mr_keep *keep = o ? o->keep : NULL;
    struct mr_push *push = o ? o->push : NULL;
    if ((keep || push) && run->drv->reuse) {
        mr_keep_fingerprint(cfg, fp);
        if (push)
            run->mb = mr_push_take(push, run->a->id, fp, &run->res->notice_ms);
        if (!run->mb && keep)
            run->mb = mr_keep_take(keep, run->a->id, fp);
        if (run->mb) {
            mr_error e = {0};
            if (run->drv->reuse(run->mb, cfg, &run->st, &e) == 0)
                return 0;
            MR_LOG(MR_LOG_DEBUG, "check", MR_LI("account", run->a->id),
                   MR_LS("kept_session", "gone, logging in again"), MR_LS("why", e.message));
            run->drv->close(&run->mb, NULL);
        }
    }
    return run->drv->open(&run->mb, cfg, &run->st, err);
}

static int fetch_locked(struct mr_registry *r, int64_t account_id, const struct mr_fetch_options *o,
                        struct mr_fetch_result *res, mr_error *err)
{
    struct mr_keep *keep = o ? o->keep : NULL;
    struct mr_push *push = o ? o->push : NULL;
    unsigned char fp[32] = {0};
    struct mr_account a;
    struct prepared p = {0};
    struct run run = {.s = r->store,
                      .a = &a,
                      .res = res,
                      .cancel = o ? o->cancel : NULL,
                      .txn_lock = PTHREAD_MUTEX_INITIALIZER};
    memset(res, 0, sizeof(*res));
    mr_account_init(&a);
    int rc = mr_store_account_get(r->store, account_id, &a, err);
    if (rc)
        return rc;
    rc = mr_store_run_start(r->store, account_id, &res->run_id, err);
    if (rc == 0)
        rc = prepare(r, &a, o, NULL, &p, err);
    int64_t backoff_ms = 0;
    p.cfg.server_backoff_ms = &backoff_ms;
    run.drv = mr_mailbox_driver_for(a.protocol);
    run.imap = a.protocol == MR_PROTO_IMAP;
    run.action = mr_account_after_fetch(&a);
    if (!run.drv->act && (run.action == MR_AFTER_SEEN || run.action == MR_AFTER_MOVE))
        run.action = MR_AFTER_KEEP; /* POP3: validation refuses these */
    run.keep = run.action != MR_AFTER_DELETE;
    run.acts = run.action == MR_AFTER_SEEN || run.action == MR_AFTER_MOVE;
    run.when_delivered = a.action_when == MR_WHEN_DELIVERED;
    run.max_size = (size_t)mr_account_max_size(&a);
    run.size_tolerance_pct = (unsigned)a.size_tolerance; /* the account's; 0: exact */
    if (rc == 0)
        rc = open_mailbox(&run, &p.cfg, o, fp, err);
    if (rc && run.st.token_refused && renew_token(&p, &run.st, rc, NULL, err) == 0) {
        memset(&run.st, 0, sizeof(run.st));
        rc = open_mailbox(&run, &p.cfg, o, fp, err);
        if (rc)
            renew_token(&p, &run.st, rc, NULL, err); /* a fresh one refused: recorded */
    }
    if (rc == 0)
        rc = fetch_all(&run, err);
    /* a session that did all it was asked waits in IDLE for the server's
     * word, or serves the next check */
    if (rc == 0 && push && run.mb && run.imap && a.push && a.enabled && a.automatic_check &&
        mr_push_put(push, a.id, a.revision, fp, run.mb))
        run.mb = NULL;
    if (rc == 0 && keep && run.mb && mr_keep_put(keep, a.id, fp, a.interval, run.mb))
        run.mb = NULL;
    mr_error close_err = {0};
    int crc = run.mb ? run.drv->close(&run.mb, &close_err) : 0;
    if (crc == 0 && !run.imap) {
        res->deleted += run.pending_deletes; /* QUIT said +OK: the deletions happened */
        mr_error cerr = {0};
        int clr = mr_store_actions_clear(r->store, run.quit_ids, run.nquit, &cerr);
        if (rc == 0 && clr) {
            *err = cerr;
            rc = clr;
        }
    }
    if (rc == 0 && crc) {
        *err = close_err;
        rc = crc;
    }
    if (backoff_ms)
        honour_backoff(res, backoff_ms, rc, err);
    if (res->run_id)
        finish_run(r->store, res->run_id, res, rc, err, o ? o->trigger : NULL);
    if (push)
        mr_push_ran(push, a.id, rc, err,
                    res->notice_ms && res->first_commit_ms ? res->first_commit_ms - res->notice_ms
                                                           : -1);
    free(run.stored);
    free(run.stored_ids);
    free(run.quit_ids);
    prepared_free(&p);
    mr_account_clear(&a);
    return rc;
}

/* --- Test connection ------------------------------------------------------ */

void mr_test_result_clear(struct mr_test_result *res)
{
    mr_folders_free(&res->folders);
}

int mr_test_account(struct mr_registry *r, const struct mr_account *a,
                    const struct mr_fetch_options *o, struct mr_test_result *res, mr_error *err)
{
    struct prepared p;
    struct mr_mailbox *mb = NULL;
    struct mr_mailbox_status st;
    memset(res, 0, sizeof(*res));
    res->steps.on_step = o ? o->on_step : NULL;
    res->steps.on_wait = o ? o->on_wait : NULL;
    res->steps.ctx = o ? o->step_ctx : NULL;
    int rc = prepare(r, a, o, &res->steps, &p, err);
    if (rc)
        mr_steps_add_error(&res->steps, "settings", 0, err);
    p.cfg.read_only = 1; /* a test changes nothing on the server */
    p.cfg.folders = &res->folders;
    const struct mr_mailbox_driver *drv = mr_mailbox_driver_for(a->protocol);
    memset(&st, 0, sizeof(st));
    if (rc == 0)
        rc = drv->open(&mb, &p.cfg, &st, err);
    if (rc && st.token_refused && renew_token(&p, &st, rc, &res->steps, err) == 0) {
        memset(&st, 0, sizeof(st));
        rc = drv->open(&mb, &p.cfg, &st, err);
        if (rc)
            renew_token(&p, &st, rc, &res->steps, err);
    }
    struct mr_message_ref *refs = NULL;
    size_t n = 0;
    int64_t t0 = mr_now_ms();
    if (rc == 0)
        rc = drv->list(mb, 1, &refs, &n, err);
    for (size_t i = 0; i < n; i++)
        res->total_size += refs[i].size;
    res->messages = n;
    if (rc == 0)
        mr_steps_add(&res->steps, "messages", 1, mr_now_ms() - t0,
                     "%zu message%s waiting, %llu bytes", n, n == 1 ? "" : "s",
                     (unsigned long long)res->total_size);
    else if (mb)
        mr_steps_add_error(&res->steps, "messages", mr_now_ms() - t0, err);
    free(refs);
    mr_error ignored = {0};
    if (mb)
        drv->close(&mb, &ignored);
    prepared_free(&p);
    res->ok = rc == 0;
    return rc;
}
