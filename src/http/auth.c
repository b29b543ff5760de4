/* Who is asking: a console session (cookie, CSRF token on every write) or an
 * API token (Authorization: Bearer). And failed logins, rate limited. */
#include "http/http_private.h"

#include "registry/users.h"
#include "util/mem.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define COOKIE_NAME        "mailroom_session"
#define FAILURES_PER_IP    10 /* in the window: then 429 */
#define FAILURES_PER_USER  5  /* in the window: the user is locked out */
#define FAILURE_WINDOW_SEC (15 * 60)
#define FAILURES_TRACKED   4096

struct mr_login_failure {
    char key[96]; /* "ip:ADDR" or "user:NAME" */
    int count;
    time_t first;
};

static struct mr_login_failure *find_failure(struct mr_http_server *s, const char *key, int create)
{
    time_t now = time(NULL);
    struct mr_login_failure *free_slot = NULL;
    for (size_t i = 0; i < s->nfailures; i++) {
        struct mr_login_failure *f = &s->failures[i];
        if (f->count && now - f->first > FAILURE_WINDOW_SEC)
            f->count = 0; /* the window passed: forgotten */
        if (f->count && strcmp(f->key, key) == 0)
            return f;
        if (!f->count && !free_slot)
            free_slot = f;
    }
    if (!create)
        return NULL;
    if (!free_slot && s->nfailures < FAILURES_TRACKED) {
        s->failures = mr_xrealloc(s->failures, (s->nfailures + 1) * sizeof(*s->failures));
        free_slot = &s->failures[s->nfailures++];
    }
    if (!free_slot)
        free_slot = &s->failures[now % FAILURES_TRACKED]; /* full: reuse one */
    snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
    free_slot->count = 0;
    free_slot->first = now;
    return free_slot;
}

int mr_http_login_allowed(struct mr_http_server *s, const char *client, const char *user,
                          int *retry_after)
{
    char ip[96], name[96];
    snprintf(ip, sizeof(ip), "ip:%s", client);
    snprintf(name, sizeof(name), "user:%.80s", user ? user : "");
    pthread_mutex_lock(&s->limits_lock);
    struct mr_login_failure *a = find_failure(s, ip, 0), *b = find_failure(s, name, 0);
    int blocked = (a && a->count >= FAILURES_PER_IP) || (b && b->count >= FAILURES_PER_USER);
    time_t first = a && a->count >= FAILURES_PER_IP ? a->first : b ? b->first : time(NULL);
    pthread_mutex_unlock(&s->limits_lock);
    *retry_after = blocked ? (int)(first + FAILURE_WINDOW_SEC - time(NULL)) : 0;
    return !blocked;
}

void mr_http_login_result(struct mr_http_server *s, const char *client, const char *user, int ok)
{
    char ip[96], name[96];
    snprintf(ip, sizeof(ip), "ip:%s", client);
    snprintf(name, sizeof(name), "user:%.80s", user ? user : "");
    pthread_mutex_lock(&s->limits_lock);
    for (int i = 0; i < 2; i++) {
        struct mr_login_failure *f = find_failure(s, i ? name : ip, !ok);
        if (f && ok)
            f->count = 0;
        else if (f)
            f->count++;
    }
    pthread_mutex_unlock(&s->limits_lock);
}

static int bearer(struct mr_http_req *r, const char *auth)
{
    mr_error err = {0};
    if (strncasecmp(auth, "Bearer ", 7) != 0)
        return 0;
    if (mr_registry_token_find(r->reg, auth + 7, &r->user, &err) != 0)
        return 0;
    r->authed = 1;
    return 1;
}

/* The session cookie's value, if the request carries one. */
static const char *session_cookie(struct mr_http_req *r)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE_NAME);
}

int mr_http_authenticate(struct mr_http_req *r)
{
    const char *auth = mr_http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth)
        return bearer(r, auth);
    const char *token = session_cookie(r);
    const struct mr_session_limits limits = {r->srv->cfg.session_idle_secs,
                                             r->srv->cfg.session_max_secs};
    mr_error err = {0};
    if (!token || mr_registry_session_find(r->reg, token, &limits, &r->user, r->csrf, &err) != 0)
        return 0;
    snprintf(r->session, sizeof(r->session), "%s", token);
    r->authed = r->via_session = 1;
    /* The server's idle timer restarted with this request: so does the
     * browser's cookie, or an active user would be logged out the idle time
     * after logging in. (Logout sets its own, expired, cookie later.) */
    mr_http_set_session_cookie(r, token, r->srv->cfg.session_idle_secs);
    return 1;
}

void mr_http_set_session_cookie(struct mr_http_req *r, const char *token, int max_age)
{
    snprintf(r->cookie, sizeof(r->cookie),
             COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict;"
                         " Max-Age=%d%s",
             token, max_age, r->srv->cfg.secure_cookies ? "; Secure" : "");
}
