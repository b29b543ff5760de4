#include "fetch/keep.h"

#include "proto/session.h"
#include "util/clock.h"
#include "util/mem.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MR_KEEP_GRACE_MS   60000 /* a check may start this late */
#define MR_KEEP_LOGOUT_MS  5000  /* a goodbye waits this long for its answer */
#define MR_KEEP_SERVER_LEN 280

struct kept {
    int64_t account;
    unsigned char fp[32];
    char server[MR_KEEP_SERVER_LEN]; /* "host:port", for the per-server bound */
    int64_t until_ms;
    struct mr_mailbox *mb;
    /* While kept, the session belongs to no run: it points here, at a
     * configuration with nothing of the account in it but timeouts. */
    struct mr_mailbox_config cfg;
};

/* Sessions kept per server (few servers, many sessions). */
struct server_count {
    char server[MR_KEEP_SERVER_LEN];
    size_t n;
};

struct mr_keep {
    pthread_mutex_t lock;
    struct kept **items;
    size_t n, max_total, max_per_server;
    struct server_count *servers;
    size_t nservers, capservers;
    int divisor;
};

/* The count for e's server (under the lock); created at 0 when add. */
static struct server_count *server_count(struct mr_keep *k, const struct kept *e, int add)
{
    for (size_t i = 0; i < k->nservers; i++)
        if (strcmp(k->servers[i].server, e->server) == 0)
            return &k->servers[i];
    if (!add)
        return NULL;
    if (k->nservers == k->capservers) {
        k->capservers = k->capservers ? k->capservers * 2 : 8;
        k->servers = mr_xrealloc(k->servers, k->capservers * sizeof(*k->servers));
    }
    struct server_count *c = &k->servers[k->nservers++];
    memcpy(c->server, e->server, sizeof(c->server));
    c->n = 0;
    return c;
}

struct mr_keep *mr_keep_new(size_t max_total, size_t max_per_server, int divisor)
{
    struct mr_keep *k = mr_xcalloc(1, sizeof(*k));
    pthread_mutex_init(&k->lock, NULL);
    k->max_total = max_total;
    k->max_per_server = max_per_server;
    k->divisor = divisor > 0 ? divisor : 1;
    k->items = mr_xcalloc(max_total ? max_total : 1, sizeof(*k->items));
    return k;
}

/* A polite LOGOUT, its answer awaited until deadline (mr_now_ms); past
 * it, the connection is just closed. */
static void logout(struct kept *e, int64_t deadline)
{
    mr_error ignored = {0};
    e->cfg.limits.deadline_ms = deadline;
    if (e->mb->s.conn)
        e->mb->s.conn->limits = e->cfg.limits;
    e->mb->driver->close(&e->mb, mr_now_ms() < deadline ? &ignored : NULL);
    free(e);
}

void mr_keep_free(struct mr_keep **kp)
{
    struct mr_keep *k = *kp;
    if (!k)
        return;
    int64_t deadline = mr_now_ms() + MR_KEEP_LOGOUT_MS; /* for all: a stop takes 5 s at most */
    for (size_t i = 0; i < k->n; i++)
        logout(k->items[i], deadline);
    pthread_mutex_destroy(&k->lock);
    free(k->items);
    free(k->servers);
    free(k);
    *kp = NULL;
}

static void digest_text(EVP_MD_CTX *md, const char *s)
{
    uint32_t n = s ? (uint32_t)strlen(s) + 1 : 0; /* NULL and "" differ */
    EVP_DigestUpdate(md, &n, sizeof(n));
    if (s)
        EVP_DigestUpdate(md, s, n);
}

static void digest_int(EVP_MD_CTX *md, int64_t v)
{
    EVP_DigestUpdate(md, &v, sizeof(v));
}

/* One end the session reaches: the mail server, or the proxy on the way. */
static void digest_end(EVP_MD_CTX *md, const char *host, int port, const char *username,
                       const char *password, int verify, const char *ca_file)
{
    digest_text(md, host);
    digest_int(md, port);
    digest_text(md, username);
    digest_text(md, password);
    digest_int(md, verify);
    digest_text(md, ca_file);
}

void mr_keep_fingerprint(const struct mr_mailbox_config *c, unsigned char out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int len = 32;
    memset(out, 0, 32);
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return; /* an all-zero digest: mr_keep_put refuses it */
    }
    digest_end(md, c->host, c->port, c->username, c->password, c->verify_certificate, c->ca_file);
    digest_int(md, c->security);
    digest_text(md, c->auth);
    digest_text(md, c->folder);
    digest_int(md, c->read_only);
    digest_int(md, (int)c->after_fetch); /* the session caches the move folder */
    digest_text(md, c->move_folder);
    digest_int(md, c->create_folder);
    digest_int(md, (int)c->action_when);
    const struct mr_proxy *p = c->proxy;
    digest_int(md, p ? 1 + (int)p->type : 0);
    if (p) {
        digest_end(md, p->host, p->port, p->username, p->password, p->verify, p->ca_file);
        digest_int(md, p->resolve_local);
        digest_int(md, p->tls);
    }
    if (EVP_DigestFinal_ex(md, out, &len) != 1)
        memset(out, 0, 32);
    EVP_MD_CTX_free(md);
}

/* Removes item i (under the lock); the caller has it. */
static struct kept *unlink_at(struct mr_keep *k, size_t i)
{
    struct kept *e = k->items[i];
    k->items[i] = k->items[--k->n];
    struct server_count *c = server_count(k, e, 0);
    if (c && --c->n == 0)
        *c = k->servers[--k->nservers];
    return e;
}

struct mr_mailbox *mr_keep_take(struct mr_keep *k, int64_t account, const unsigned char fp[32])
{
    struct kept *e = NULL;
    pthread_mutex_lock(&k->lock);
    for (size_t i = 0; i < k->n; i++)
        if (k->items[i]->account == account) {
            e = unlink_at(k, i);
            break;
        }
    pthread_mutex_unlock(&k->lock);
    if (!e)
        return NULL;
    if (memcmp(e->fp, fp, 32) != 0) { /* the account was changed meanwhile */
        logout(e, mr_now_ms() + MR_KEEP_LOGOUT_MS);
        return NULL;
    }
    struct mr_mailbox *mb = e->mb;
    free(e);
    return mb;
}

static int server_of(const struct mr_mailbox *mb, struct kept *e)
{
    const struct mr_conn *c = mb->s.conn;
    if (!c)
        return -1;
    snprintf(e->server, sizeof(e->server), "%s:%d", c->host, c->port);
    return 0;
}

int mr_keep_put(struct mr_keep *k, int64_t account, const unsigned char fp[32], int interval,
                struct mr_mailbox *mb)
{
    static const unsigned char none[32];
    int64_t idle_ms = (int64_t)interval * 1000 / k->divisor, now = mr_now_ms();
    int64_t age_ms = now - mb->s.opened_ms;
    if (interval <= 0 || interval > MR_KEEP_MAX_IDLE_S || memcmp(fp, none, 32) == 0 ||
        !mb->driver->reuse || age_ms + idle_ms > (int64_t)MR_KEEP_MAX_AGE_S * 1000 / k->divisor)
        return 0;
    struct kept *e = mr_xcalloc(1, sizeof(*e));
    if (server_of(mb, e) != 0) {
        free(e);
        return 0;
    }
    e->account = account;
    memcpy(e->fp, fp, 32);
    e->until_ms = now + idle_ms + MR_KEEP_GRACE_MS / k->divisor;
    e->cfg.limits.connect_timeout_ms = MR_KEEP_LOGOUT_MS;
    e->cfg.limits.idle_timeout_ms = MR_KEEP_LOGOUT_MS;
    e->mb = mb;
    int kept = 0;
    pthread_mutex_lock(&k->lock);
    struct server_count *c = server_count(k, e, 1);
    if (k->n < k->max_total && c->n < k->max_per_server) {
        mb->s.cfg = &e->cfg; /* the run's configuration is about to be freed */
        k->items[k->n++] = e;
        c->n++;
        kept = 1;
    } else if (c->n == 0) /* created just now for nothing */
        *c = k->servers[--k->nservers];
    pthread_mutex_unlock(&k->lock);
    if (!kept)
        free(e);
    return kept;
}

void mr_keep_expire(struct mr_keep *k)
{
    struct kept *done[64];
    size_t n;
    do { /* 64 at a time, each logged out outside the lock */
        n = 0;
        int64_t now = mr_now_ms();
        pthread_mutex_lock(&k->lock);
        for (size_t i = 0; i < k->n && n < 64;)
            if (k->items[i]->until_ms <= now)
                done[n++] = unlink_at(k, i);
            else
                i++;
        pthread_mutex_unlock(&k->lock);
        int64_t deadline = now + MR_KEEP_LOGOUT_MS; /* for the 64 */
        for (size_t i = 0; i < n; i++)
            logout(done[i], deadline);
    } while (n == 64);
}

size_t mr_keep_count(struct mr_keep *k)
{
    pthread_mutex_lock(&k->lock);
    size_t n = k->n;
    pthread_mutex_unlock(&k->lock);
    return n;
}
