/* Helpers shared by the store's files. Not for use outside src/store. */
#ifndef MR_STORE_PRIVATE_H
#define MR_STORE_PRIVATE_H

#include "store/store.h"

#include <sqlite3.h>

/* Prepared statements are kept and reused: compiling a statement cost
 * more than running it on the fetch path. mr_store_prepare hands out a
 * cached statement for the same SQL text when it is free; mr_store_release
 * gives it back (reset, bindings cleared). */
#define MR_STORE_STATEMENTS 48

struct mr_store_statement {
    char *sql;
    sqlite3_stmt *st;
    int in_use;
    uint64_t used_at; /* for evicting the least recently used */
};

struct mr_store {
    sqlite3 *db;
    char *dir;
    char *path;
    int in_transaction;
    int outbox_added;   /* the transaction queued deliveries: kick the outbox at commit */
    int events_touched; /* the transaction changed what the console shows live (events.c) */
    struct mr_store_statement cache[MR_STORE_STATEMENTS];
    uint64_t clock;
};

struct mr_migration {
    const char *name;
    const char *sql;
};

extern const struct mr_migration mr_store_migrations[];
extern const size_t mr_store_migration_count;

/* Turns the last SQLite error into err with what we were doing. */
int mr_store_fail(struct mr_store *s, mr_error *err, const char *doing);
int mr_store_prepare(struct mr_store *s, sqlite3_stmt **st, const char *sql, mr_error *err);
/* Gives a statement from mr_store_prepare back (instead of finalizing it). */
void mr_store_release(struct mr_store *s, sqlite3_stmt *st);
/* Runs a statement that returns no rows and releases it. */
int mr_store_run(struct mr_store *s, sqlite3_stmt *st, const char *doing, mr_error *err);
int mr_store_exec(struct mr_store *s, const char *sql, mr_error *err);
void mr_store_bind_text(sqlite3_stmt *st, int i, const char *v); /* NULL binds NULL */
void mr_store_bind_id(sqlite3_stmt *st, int i, int64_t id);      /* 0 binds NULL */
char *mr_store_column_text(sqlite3_stmt *st, int i);             /* owned copy or NULL */
/* Maps a UNIQUE constraint failure to MR_EEXIST "a KIND named NAME exists". */
int mr_store_write_failed(struct mr_store *s, enum mr_object kind, const char *name,
                          const char *doing, mr_error *err);
/* Deletes row id of kind, unless something uses it (MR_EINUSE naming them). */
int mr_store_delete_unused(struct mr_store *s, enum mr_object kind, int64_t id, mr_error *err);
int64_t mr_store_now(void);

/* Row readers turn the current row of st into one object of the model. */
typedef void (*mr_row_reader)(sqlite3_stmt *st, void *out);
typedef void (*mr_row_clear)(void *obj);

/* Steps st (bound, not yet stepped) to its one row, reads it into out and
 * finalizes st; MR_ENOTFOUND "no KIND with ID id" when there is no row. */
int mr_store_fetch_one(struct mr_store *s, sqlite3_stmt *st, mr_row_reader read, void *out,
                       enum mr_object kind, int64_t id, mr_error *err);
/* Reads every row of st into a new array of objects of size bytes each and
 * finalizes st. On failure the array is freed (clear on each) and *n is 0. */
int mr_store_collect(struct mr_store *s, sqlite3_stmt *st, size_t size, mr_row_reader read,
                     mr_row_clear clear, void **items, size_t *n, mr_error *err);

#endif
