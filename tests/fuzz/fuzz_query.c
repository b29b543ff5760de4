/* libFuzzer target: an API query string, as the routes read it. The input is
 * split at '&' and '=' into name/value pairs (libmicrohttpd hands the
 * handlers decoded values the same way; the first of a repeated name wins),
 * then parsed into paging and the account, inbox and audit filters
 * (http/query.c, the routes' own code) and, when accepted, run against a
 * small real store, so every filter the parsers let through also goes
 * through the SQL built from it. The pairs are also read as a scheduled
 * report's filters object (report/deliver.c). */
#include "core/account.h"
#include "fuzz.h"
#include "http/query.h"
#include "report/deliver.h"
#include "store/store.h"
#include "util/mem.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PAIRS 32

struct pairs {
    char *name[MAX_PAIRS], *value[MAX_PAIRS];
    size_t n;
};

static const char *lookup(void *ctx, const char *name)
{
    const struct pairs *p = ctx;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0)
            return p->value[i];
    return NULL;
}

static void split(char *text, struct pairs *p)
{
    p->n = 0;
    for (char *save = NULL, *tok = strtok_r(text, "&", &save); tok && p->n < MAX_PAIRS;
         tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = '\0';
        p->name[p->n] = tok;
        p->value[p->n++] = eq ? eq + 1 : tok + strlen(tok); /* "?flag" reads as "" */
    }
}

static void seed(struct mr_store *s)
{
    static const char *names[] = {"Support Desk", "alerts 100%_off", "Ação\\'; --", "x"};
    mr_error err = {0};
    struct mr_credential c;
    mr_credential_init(&c);
    c.name = mr_xstrdup("fuzz");
    c.username = mr_xstrdup("fuzz@example.com");
    if (mr_store_credential_insert(s, &c, "sealed", 6, &err))
        abort();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct mr_account a;
        mr_account_init(&a);
        a.name = mr_xstrdup(names[i]);
        a.address = mr_xstrdup("imap.example.com");
        a.protocol = i % 2 ? MR_PROTO_POP3 : MR_PROTO_IMAP;
        a.credential_id = c.id;
        a.keep_copy = (int)(i % 2);
        if (mr_store_account_insert(s, &a, &err))
            abort();
        struct mr_message m = {0};
        m.account_id = a.id;
        m.uidvalidity = 1;
        m.uid = i + 1;
        m.sha256[0] = (unsigned char)i;
        m.size = 5;
        m.fetched_at = 1700000000 + (int64_t)i * 86400;
        m.date_unix = m.fetched_at;
        m.from = mr_xstrdup(names[i]);
        m.subject = mr_xstrdup(names[(i + 1) % 4]);
        if (mr_store_message_insert(s, &m, NULL, 0, "hello", 5, &err) ||
            mr_store_audit_add(s, names[i], "create", "account", a.id, a.name, "{}", &err))
            abort();
        mr_message_clear(&m);
        mr_account_clear(&a);
    }
    mr_credential_clear(&c);
}

static struct mr_store *the_store;
static char store_dir[64];

static void remove_store(void)
{
    mr_store_close(&the_store);
    DIR *d = opendir(store_dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
    rmdir(store_dir);
}

static struct mr_store *store(void)
{
    mr_error err = {0};
    if (the_store)
        return the_store;
    snprintf(store_dir, sizeof(store_dir), "/tmp/mr-fuzz-query-%ld", (long)getpid());
    if (mkdir(store_dir, 0700) != 0 || mr_store_open(&the_store, store_dir, &err))
        abort();
    atexit(remove_store);
    seed(the_store);
    return the_store;
}

static void as_report_filters(const struct pairs *p)
{
    json_t *o = json_object();
    for (size_t i = 0; i < p->n; i++)
        json_object_set_new(o, p->name[i], json_string(p->value[i])); /* NULL if not UTF-8 */
    char *text = json_dumps(o, JSON_COMPACT);
    struct mr_account_filter f;
    struct mr_problems problems = {0};
    char name[256];
    if (text)
        mr_report_filter_from_json(text, &f, name, &problems);
    free(text);
    json_decref(o);
}

/* What every accepted query must give; abort() is a finding. */
static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mr_store *s = store();
    char *text = mr_xmalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct pairs p;
    split(text, &p);
    struct mr_query q = {lookup, &p};
    struct mr_query_error e;
    mr_error err = {0};
    size_t page, per_page, n, total;

    if (mr_query_paging(&q, &page, &per_page, &e) != 0)
        check(e.field && *e.message); /* a refusal names the parameter */
    else {
        check(page >= 1 && per_page >= 1 && per_page <= 1000);
        if (page > 1000)
            page = 1000; /* deep offsets cost time, not coverage */
        struct mr_account_filter af;
        struct mr_account *accounts;
        if (mr_query_account_filter(&q, &af, &e) == 0 &&
            mr_store_account_list(s, &af, (page - 1) * per_page, per_page, &accounts, &n, &total,
                                  &err) == 0) {
            for (size_t i = 0; i < n; i++)
                check(af.keep_copy == MR_ANY || accounts[i].keep_copy == (af.keep_copy == MR_YES));
            check(n <= per_page && n <= total);
            mr_account_list_free(&accounts, n);
        }
        struct mr_message_filter mf;
        struct mr_message *messages;
        if (mr_query_message_filter(&q, &mf, &e) == 0 &&
            mr_store_message_list(s, &mf, mf.before ? 0 : (page - 1) * per_page, per_page,
                                  &messages, &n, &total, &err) == 0) {
            for (size_t i = 0; i < n; i++) {
                check(!mf.account || messages[i].account_id == mf.account);
                check(!mf.before || messages[i].id < mf.before);
                check(i == 0 || messages[i].id < messages[i - 1].id); /* newest first */
            }
            check(n <= per_page);
            mr_message_list_free(&messages, n);
        }
        struct mr_audit_filter audit;
        struct mr_audit_entry *entries;
        int csv;
        if (mr_query_audit_filter(&q, &audit, &csv, &e) == 0 &&
            mr_store_audit_list(s, &audit, (page - 1) * per_page, per_page, &entries, &n, &total,
                                &err) == 0)
            mr_audit_list_free(&entries, n);
        int64_t account;
        struct mr_skipped *skipped;
        if (mr_query_account_id(&q, &account, &e) == 0 &&
            mr_store_skipped_list(s, account, (page - 1) * per_page, per_page, &skipped, &n, &total,
                                  &err) == 0)
            mr_skipped_list_free(&skipped, n);
    }
    as_report_filters(&p);
    free(text);
    return 0;
}
