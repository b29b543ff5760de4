/* Failed logins, throttled: whoever fails waits, nobody is locked out.
 *
 * Three counts, each forgotten after 15 quiet minutes:
 * - per user name (ASCII case folded, as login folds it) and client: three
 *   free failures, then 1 s, 2 s, 4 s ... at most 5 minutes between tries;
 * - per client, whatever the names: ten free, then the same delays;
 * - a global cap on guesses from clients that have failed before
 *   (MR_LOGIN_GUESSES_PER_MINUTE, a GCRA: that many at once, then one every
 *   60/N s).
 * A client with no recent failures is held by none of them, so a stranger
 * hammering a user name from elsewhere never keeps its owner out. An
 * attempt is counted as a failure when it is let through, under the lock,
 * before the password is checked, so concurrent guesses cannot slip past
 * the count; a success then clears its user name and client pair and
 * takes back its own count from the client, nothing more. */
#include "http/http_private.h"

#include "util/clock.h"
#include "util/mem.h"

#include <sodium.h>
#include <string.h>

#define PAIR_FREE      3
#define CLIENT_FREE    10
#define DELAY_FIRST_MS 1000
#define DELAY_MAX_MS   (5 * 60 * 1000)
#define FORGET_MS      (15 * 60 * 1000)
#define TRACKED        4096 /* entries; the least recently used one goes when full */
#define NAME_KEPT      256  /* of a user name, for its key (real names have at most 64) */

struct mr_throttle_entry {
    uint64_t key; /* keyed hash of the pair or the client; 0 = free */
    int failures;
    int64_t last_ms; /* the last failure counted */
    int64_t next_ms; /* no attempt before */
};

int mr_throttle_init(struct mr_throttle *t, int per_minute)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    if (sodium_init() < 0)
        return -1;
    crypto_shorthash_keygen(t->secret);
    t->entries = mr_xcalloc(TRACKED, sizeof(*t->entries));
    t->per_minute = per_minute > 0 ? per_minute : MR_LOGIN_GUESSES_PER_MINUTE;
    return 0;
}

void mr_throttle_free(struct mr_throttle *t)
{
    mr_freep(&t->entries);
    pthread_mutex_destroy(&t->lock);
}

/* The wait after `failures` failures with `free` of them free. */
static int64_t delay_ms(int failures, int free)
{
    int steps = failures - free;
    if (steps < 0)
        return 0;
    if (steps >= 9) /* 1 s << 9 is past the most */
        return DELAY_MAX_MS;
    int64_t d = (int64_t)DELAY_FIRST_MS << steps;
    return d < DELAY_MAX_MS ? d : DELAY_MAX_MS;
}

/* "c" client, or "p" client NUL folded-name: a keyed hash, so that the
 * table needs no strings and nobody can aim collisions at it. */
static uint64_t key_of(const struct mr_throttle *t, const char *client, const char *user)
{
    unsigned char text[2 + MR_HTTP_CLIENT_MAX + NAME_KEPT], hash[crypto_shorthash_BYTES];
    size_t n = 0, cn = strnlen(client, MR_HTTP_CLIENT_MAX);
    text[n++] = user ? 'p' : 'c';
    memcpy(text + n, client, cn);
    n += cn;
    text[n++] = '\0';
    for (const char *c = user; c && *c && n < sizeof(text); c++)
        text[n++] = (unsigned char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    crypto_shorthash(hash, text, n, t->secret);
    uint64_t key;
    memcpy(&key, hash, sizeof(key));
    return key ? key : 1;
}

static int stale(const struct mr_throttle_entry *e, int64_t now)
{
    return e->key && now - e->last_ms > FORGET_MS && now >= e->next_ms;
}

/* The entry for key (forgetting stale ones on the way); with create, a new
 * one in a free slot or the least recently used one. */
static struct mr_throttle_entry *find(struct mr_throttle *t, uint64_t key, int64_t now, int create)
{
    struct mr_throttle_entry *slot = NULL;
    for (size_t i = 0; i < TRACKED; i++) {
        struct mr_throttle_entry *e = &t->entries[i];
        if (stale(e, now))
            memset(e, 0, sizeof(*e));
        if (e->key == key)
            return e;
        if (!slot || (slot->key && (!e->key || e->last_ms < slot->last_ms)))
            slot = e;
    }
    if (!create)
        return NULL;
    memset(slot, 0, sizeof(*slot));
    slot->key = key;
    return slot;
}

static int64_t wait_for(const struct mr_throttle_entry *e, int64_t now)
{
    return e && e->next_ms > now ? e->next_ms - now : 0;
}

/* The global cap as a GCRA: per_minute guesses at once, then one every
 * 60/per_minute s. How long until the next is allowed (0: now). */
static int64_t global_wait(const struct mr_throttle *t, int64_t now)
{
    int64_t interval = 60000 / t->per_minute, tolerance = 60000 - interval;
    return t->tat_ms - tolerance > now ? t->tat_ms - tolerance - now : 0;
}

static void global_take(struct mr_throttle *t, int64_t now)
{
    t->tat_ms = (t->tat_ms > now ? t->tat_ms : now) + 60000 / t->per_minute;
}

static void count(struct mr_throttle_entry *e, int64_t now, int free)
{
    e->failures++;
    e->last_ms = now;
    e->next_ms = now + delay_ms(e->failures, free);
}

int mr_throttle_reserve(struct mr_throttle *t, const char *client, const char *user,
                        struct mr_throttle_ticket *ticket, int *retry_after)
{
    ticket->pair = key_of(t, client, user ? user : "");
    ticket->client = key_of(t, client, NULL);
    pthread_mutex_lock(&t->lock);
    int64_t now = mr_now_ms();
    struct mr_throttle_entry *pair = find(t, ticket->pair, now, 0);
    struct mr_throttle_entry *from = find(t, ticket->client, now, 0);
    int64_t wait =
        wait_for(pair, now) > wait_for(from, now) ? wait_for(pair, now) : wait_for(from, now);
    int suspect = from && from->failures > 0;
    if (wait == 0 && suspect)
        wait = global_wait(t, now);
    if (wait == 0) {
        if (suspect)
            global_take(t, now);
        count(find(t, ticket->pair, now, 1), now, PAIR_FREE);
        count(find(t, ticket->client, now, 1), now, CLIENT_FREE);
    }
    pthread_mutex_unlock(&t->lock);
    *retry_after = (int)((wait + 999) / 1000);
    return wait == 0;
}

void mr_throttle_finish(struct mr_throttle *t, const struct mr_throttle_ticket *ticket, int ok)
{
    if (!ok)
        return; /* counted when it was let through */
    pthread_mutex_lock(&t->lock);
    int64_t now = mr_now_ms();
    struct mr_throttle_entry *pair = find(t, ticket->pair, now, 0);
    struct mr_throttle_entry *from = find(t, ticket->client, now, 0);
    if (pair)
        memset(pair, 0, sizeof(*pair));
    if (from && from->failures > 0) {
        from->failures--;
        int64_t next = now + delay_ms(from->failures, CLIENT_FREE);
        if (next < from->next_ms)
            from->next_ms = next;
    }
    pthread_mutex_unlock(&t->lock);
}
