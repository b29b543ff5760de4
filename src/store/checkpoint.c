/* A checkpointer thread for a long fetch. SQLite's automatic checkpoint
 * runs in the connection that committed, right after its commit: the fetch's
 * store thread copied the WAL into the database and waited for that fsync
 * while the network and the MIME threads stalled behind it, and the last
 * connection to close copied what was left before the process could exit.
 * While a checkpointer runs, the fetch's connection only signals it (a WAL
 * hook after each commit) and the copying happens on a connection of its own,
 * in passive mode: it never blocks the writer.
 *
 * The writer waits for it in one case: when the WAL has grown past
 * WAL_BOUND_FRAMES. SQLite starts the WAL over from its beginning only when
 * a transaction begins after everything in it has been copied; a fetch's
 * writer begins its next batch right after committing the last one, before
 * the copy can have caught up, so the WAL of a long fetch never started over
 * and grew to the size of everything fetched (450 MB for the bench's 10,000
 * messages), and stayed that big on disk while the daemon ran. Past the
 * bound the writer lets the copy catch up once, and the WAL starts over. */
#include "store/store_private.h"

#include "util/mem.h"

#include <pthread.h>

/* Frames in the WAL after a commit that wake the checkpointer: 256 pages of
 * 64 KiB are 16 MiB. SQLite's own automatic checkpoint waits for 1,000. */
#define CHECKPOINT_FRAMES 256
/* 64 MiB: the WAL's size, give or take the last batch (and its file's, see
 * journal_size_limit in sqlite.c). */
#define WAL_BOUND_FRAMES 1024

struct mr_checkpointer {
    struct mr_store *s;
    sqlite3 *db; /* its own connection */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t copied; /* a pass has ended */
    int due, stopping;
    unsigned long started, ended; /* passes */
};

static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct mr_checkpointer *c = arg;
    (void)db;
    (void)name;
    if (frames < CHECKPOINT_FRAMES)
        return SQLITE_OK;
    pthread_mutex_lock(&c->lock);
    c->due = 1;
    pthread_cond_signal(&c->wake);
    if (frames >= WAL_BOUND_FRAMES) {
        /* a pass under way began before this commit: wait for the next */
        unsigned long pass = c->started + 1;
        while (c->ended < pass)
            pthread_cond_wait(&c->copied, &c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return SQLITE_OK;
}

static void *checkpoint_main(void *arg)
{
    struct mr_checkpointer *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->due && !c->stopping)
            pthread_cond_wait(&c->wake, &c->lock);
        if (!c->due)
            break;
        c->due = 0;
        c->started++;
        pthread_mutex_unlock(&c->lock);
        /* SQLITE_BUSY (another connection is checkpointing) is fine: the
         * frames are copied either way */
        sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->lock);
        c->ended++;
        pthread_cond_broadcast(&c->copied);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int mr_checkpointer_start(struct mr_store *s, struct mr_checkpointer **out, mr_error *err)
{
    *out = NULL;
    struct mr_checkpointer *c = mr_xcalloc(1, sizeof(*c));
    c->s = s;
    if (sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        int rc = mr_error_set(err, MR_ESTORE, "", "cannot open %s for checkpoints: %s", s->path,
                              c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        free(c);
        return rc;
    }
    sqlite3_busy_timeout(c->db, 1000);
    /* the database stays as durable as the writer's commits: the
     * checkpoint's copy is fsynced before the WAL can be reused */
    sqlite3_exec(c->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_cond_init(&c->copied, NULL);
    if (pthread_create(&c->thread, NULL, checkpoint_main, c) != 0) {
        pthread_cond_destroy(&c->wake);
        pthread_cond_destroy(&c->copied);
        pthread_mutex_destroy(&c->lock);
        sqlite3_close(c->db);
        free(c);
        return 0; /* no thread: the writer's automatic checkpoints go on */
    }
    sqlite3_wal_hook(s->db, on_commit, c);
    *out = c;
    return 0;
}

void mr_checkpointer_stop(struct mr_checkpointer **cp)
{
    struct mr_checkpointer *c = *cp;
    if (!c)
        return;
    /* the writer checkpoints for itself again (this replaces the hook) */
    sqlite3_wal_autocheckpoint(c->s->db, 1000); /* SQLite's default; the store keeps it */
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->wake);
    pthread_cond_destroy(&c->copied);
    pthread_mutex_destroy(&c->lock);
    sqlite3_close(c->db);
    free(c);
    *cp = NULL;
}
