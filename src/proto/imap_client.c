/* IMAP4rev1 client session: greeting, capabilities, STARTTLS, login
 * (LOGIN or SASL), folder resolution and selection, logout. */
#include "proto/imap_private.h"

#include "proto/imap_utf7.h"
#include "proto/sasl.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/text.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int imap_has_cap(const struct imap *im, const char *cap)
{
    char needle[64];
    snprintf(needle, sizeof(needle), " %s ", cap);
    return strcasestr(im->caps, needle) != NULL;
}

static void set_caps_from_text(struct imap *im, const char *text)
{
    char copy[MR_IMAP_CAPS_MAX - 3];
    snprintf(copy, sizeof(copy), "%s", text); /* text may point into im->caps */
    snprintf(im->caps, sizeof(im->caps), " %s ", copy);
    for (char *c = im->caps; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
}

static void set_caps_from_tokens(struct imap *im, const struct mr_imap_response *r)
{
    size_t used = 1;
    im->caps[0] = ' ';
    im->caps[1] = '\0';
    for (size_t i = 0; i < r->ntokens && used < sizeof(im->caps) - 1; i++) {
        int n = snprintf(im->caps + used, sizeof(im->caps) - used, "%s ", r->tokens[i].text);
        used += n > 0 ? (size_t)n : 0;
    }
    set_caps_from_text(im, im->caps + 1);
}

static void handle_code(struct imap *im, const char *code)
{
    unsigned long v;
    if (!code)
        return;
    if (strncasecmp(code, "CAPABILITY ", 11) == 0)
        set_caps_from_text(im, code + 11);
    else if (sscanf(code, "UIDVALIDITY %lu", &v) == 1 && v <= UINT32_MAX)
        im->uidvalidity = (uint32_t)v;
}

static void handle_list(struct imap *im, const struct mr_imap_response *r);
static void handle_namespace(struct imap *im, const struct mr_imap_response *r);

static void handle_untagged(struct imap *im, const struct mr_imap_response *r, mr_error *err,
                            int *rc)
{
    if (r->status == MR_IMAP_BYE) {
        im->bye = 1;
        snprintf(im->bye_text, sizeof(im->bye_text), "%s", r->text);
        mr_session_note_backoff(&im->mb.s, r->text);
    } else if (r->status != MR_IMAP_NONE)
        handle_code(im, r->code);
    else if (strcmp(r->name, "CAPABILITY") == 0)
        set_caps_from_tokens(im, r);
    else if (r->has_number && strcmp(r->name, "EXISTS") == 0) {
        im->grew |= im->watch && r->number > im->exists;
        im->exists = r->number;
    } else if (r->has_number && strcmp(r->name, "EXPUNGE") == 0 && im->exists > 0)
        im->exists--;
    else if (r->has_number && strcmp(r->name, "FETCH") == 0)
        imap_handle_fetch(im, r, err, rc);
    else if (strcmp(r->name, "LIST") == 0)
        handle_list(im, r);
    else if (strcmp(r->name, "NAMESPACE") == 0)
        handle_namespace(im, r);
}

static int next_response(struct imap *im, const struct mr_imap_response **r, mr_error *err)
{
    struct mr_session *s = &im->mb.s;
    for (;;) {
        if (s->in_off < s->in_len) {
            size_t used = 0;
            int rc = mr_imap_parser_feed(im->parser, s->in + s->in_off, s->in_len - s->in_off,
                                         &used, r, err);
            s->in_off += used;
            if (rc == 1)
                return 0;
            if (rc < 0)
                return rc;
        }
        int rc = mr_session_fill(s, err);
        if (rc == MR_ENET && im->bye)
            return mr_error_set(err, MR_ENET, "", "the server ended the session: %s", im->bye_text);
        if (rc)
            return rc;
    }
}

const char *imap_server_words(const struct imap *im)
{
    return im->last_text[0] ? im->last_text : "(no text)";
}

static void remember_tagged(struct imap *im, const struct mr_imap_response *r)
{
    if (r->code)
        snprintf(im->last_text, sizeof(im->last_text), "[%s] %s", r->code, r->text);
    else
        snprintf(im->last_text, sizeof(im->last_text), "%s", r->text);
}

static int trace_response(struct imap *im, const struct mr_imap_response *r)
{
    char line[600];
    if (!im->mb.s.cfg->trace)
        return 0;
    char number[16] = "";
    if (r->has_number)
        snprintf(number, sizeof(number), " %u", r->number);
    /* data responses show their name and token count, not their contents */
    snprintf(line, sizeof(line), "%s%s %s%s%s%s %s",
             r->kind == MR_IMAP_TAGGED     ? r->tag
             : r->kind == MR_IMAP_CONTINUE ? "+"
                                           : "*",
             number, r->name, r->code ? " [" : "", r->code ? r->code : "", r->code ? "]" : "",
             r->status != MR_IMAP_NONE || r->kind == MR_IMAP_CONTINUE ? r->text : "");
    mr_session_trace(&im->mb.s, 'S', line, strlen(line));
    return 0;
}

/* Waits for the tagged answer to the command in flight. cont, when set,
 * answers continuation requests. */
static int wait_tagged(struct imap *im, int (*cont)(struct imap *, const char *, mr_error *),
                       mr_error *err)
{
    for (;;) {
        const struct mr_imap_response *r;
        int rc = next_response(im, &r, err);
        if (rc)
            return rc;
        trace_response(im, r);
        if (r->kind == MR_IMAP_CONTINUE) {
            if (!cont)
                return mr_error_set(err, MR_EPROTO, "",
                                    "the server asked for data no command "
                                    "was sending");
            rc = cont(im, r->text, err);
        } else if (r->kind == MR_IMAP_UNTAGGED) {
            handle_untagged(im, r, err, &rc);
        } else if (strcmp(r->tag, im->tag) != 0) {
            return mr_error_set(err, MR_EPROTO, "",
                                "a response to a command never sent (tag %.20s)", r->tag);
        } else {
            remember_tagged(im, r);
            handle_code(im, r->code);
            if (r->status != MR_IMAP_OK)
                mr_session_note_backoff(&im->mb.s, r->text);
            return r->status == MR_IMAP_OK ? 0 : MR_ESERVER;
        }
        if (rc)
            return rc;
    }
}

static int send_command(struct imap *im, const char *cmd, size_t secret_from, mr_error *err)
{
    snprintf(im->tag, sizeof(im->tag), "a%04u", ++im->tag_seq);
    char *line = mr_xasprintf("%s %s", im->tag, cmd);
    size_t tag_len = strlen(im->tag) + 1;
    int rc = mr_session_queue(&im->mb.s, line,
                              secret_from == (size_t)-1 ? secret_from : secret_from + tag_len, err);
    memset(line, 0, strlen(line));
    free(line);
    if (rc == 0)
        rc = mr_session_flush(&im->mb.s, err);
    /* a FETCH's answer grows with the messages: a transfer */
    if (strncmp(cmd, "UID FETCH", 9) == 0)
        mr_session_expect(&im->mb.s, 1, "the answer to UID FETCH");
    else
        mr_session_expect_answer(&im->mb.s, cmd);
    return rc;
}

int imap_command(struct imap *im, const char *cmd, size_t secret_from, mr_error *err)
{
    int rc = send_command(im, cmd, secret_from, err);
    if (rc == 0)
        rc = wait_tagged(im, NULL, err);
    if (rc && rc != MR_ESERVER)
        im->broken = 1;
    return rc;
}

/* --- greeting, capabilities, STARTTLS ------------------------------------ */

static int greeting(struct imap *im, int *preauth, mr_error *err)
{
    const struct mr_imap_response *r;
    int64_t t0 = mr_now_ms();
    mr_session_expect(&im->mb.s, 0, "the greeting");
    int rc = mr_session_await_greeting(&im->mb.s, err);
    if (rc == 0)
        rc = next_response(im, &r, err);
    int bad =
        rc == 0 &&
        (r->kind != MR_IMAP_UNTAGGED ||
         (r->status != MR_IMAP_OK && r->status != MR_IMAP_PREAUTH && r->status != MR_IMAP_BYE));
    if (bad || rc == MR_EPROTO) {
        int other = mr_session_other_protocol(&im->mb.s, err); /* a POP3 server? */
        if (other)
            rc = other;
        else if (bad)
            rc =
                mr_error_set(err, MR_EPROTO, "", "the server's first line is not an IMAP greeting");
    } else if (rc == 0 && r->status == MR_IMAP_BYE)
        rc = mr_error_set(err, MR_ESERVER, "", "the server refused the connection: %s", r->text);
    if (rc) {
        mr_session_step_error(&im->mb.s, "greeting", t0, err);
        return rc;
    }
    trace_response(im, r);
    handle_code(im, r->code);
    *preauth = r->status == MR_IMAP_PREAUTH;
    mr_session_step(&im->mb.s, "greeting", 1, t0, "%s%s", *preauth ? "PREAUTH " : "", r->text);
    return 0;
}

static int capabilities(struct imap *im, mr_error *err)
{
    int64_t t0 = mr_now_ms();
    int rc = 0;
    if (!imap_has_cap(im, "IMAP4REV1") && !imap_has_cap(im, "IMAP4REV2"))
        rc = imap_command(im, "CAPABILITY", (size_t)-1, err);
    if (rc == MR_ESERVER)
        rc = mr_error_set(err, MR_ESERVER, "", "CAPABILITY failed: %s", imap_server_words(im));
    mr_session_step(&im->mb.s, "capabilities", rc == 0, t0, "%s", rc ? err->message : im->caps + 1);
    return rc;
}

static int starttls(struct imap *im, int preauth, mr_error *err)
{
    const struct mr_mailbox_config *c = im->mb.s.cfg;
    int64_t t0 = mr_now_ms();
    if (c->security == MR_SEC_NONE || c->security == MR_SEC_TLS)
        return 0;
    int required = c->security == MR_SEC_STARTTLS;
    if (preauth || !imap_has_cap(im, "STARTTLS")) {
        const char *why = preauth ? "the server logged us in (PREAUTH) before TLS"
                                  : "the server does not offer STARTTLS";
        if (required) {
            mr_error_set(err, MR_ETLS, "", "%s; refusing to continue without TLS", why);
            mr_session_step_error(&im->mb.s, "starttls", t0, err);
            return MR_ETLS;
        }
        mr_session_step(&im->mb.s, "starttls", -1, t0, "%s: continuing in plain text", why);
        return 0;
    }
    int rc = imap_command(im, "STARTTLS", (size_t)-1, err);
    if (rc == MR_ESERVER)
        rc = mr_error_set(err, MR_ETLS, "", "STARTTLS refused: %s", imap_server_words(im));
    if (rc == 0) {
        mr_imap_parser_reset(im->parser);
        mr_session_step(&im->mb.s, "starttls", 1, t0, "the server agreed");
        rc = mr_session_starttls(&im->mb.s, err);
    } else
        mr_session_step_error(&im->mb.s, "starttls", t0, err);
    if (rc == 0) { /* capabilities may change once TLS is up */
        im->caps[0] = '\0';
        rc = capabilities(im, err);
    }
    return rc;
}

/* --- login ------------------------------------------------------------- */

/* Frees a string that may hold a secret (a SASL payload). */
static void free_secret(char *p)
{
    if (p)
        memset(p, 0, strlen(p));
    free(p);
}

static int sasl_continue(struct imap *im, const char *challenge, mr_error *err)
{
    char *answer = NULL;
    int done = 0;
    int rc = mr_sasl_step(im->sasl, challenge, &answer, &done, err);
    if (rc == 0)
        rc = mr_session_queue(&im->mb.s, answer, 0, err);
    if (rc == 0)
        rc = mr_session_flush(&im->mb.s, err);
    mr_session_expect_answer(&im->mb.s, "AUTHENTICATE");
    free_secret(answer);
    return rc;
}

/* AUTHENTICATE MECH, with the initial response when the server has SASL-IR
 * (RFC 4959; "=" for an empty one), else after its "+". */
static int authenticate_command(struct imap *im, struct mr_sasl *sasl, const char *mech,
                                mr_error *err)
{
    char *initial = NULL, *cmd;
    size_t secret_from = (size_t)-1;
    int rc = 0, done;
    if (mr_sasl_client_first(mech) && imap_has_cap(im, "SASL-IR")) {
        rc = mr_sasl_step(sasl, "", &initial, &done, err);
        cmd = mr_xasprintf("AUTHENTICATE %s %s", mech, initial && *initial ? initial : "=");
        secret_from = strlen("AUTHENTICATE ") + strlen(mech) + 1;
        free_secret(initial);
    } else
        cmd = mr_xasprintf("AUTHENTICATE %s", mech);
    if (rc == 0)
        rc = send_command(im, cmd, secret_from, err);
    free_secret(cmd);
    return rc;
}

static int authenticate(struct imap *im, const char *mech, struct mr_mailbox_status *st,
                        mr_error *err)
{
    const struct mr_mailbox_config *c = im->mb.s.cfg;
    struct mr_sasl_login who = {c->username, c->password, c->bearer_token, c->host, c->port};
    struct mr_sasl *sasl = NULL;
    int rc = mr_sasl_start(&sasl, mech, &who, err);
    if (rc)
        return rc;
    rc = authenticate_command(im, sasl, mech, err);
    im->sasl = sasl;
    if (rc == 0)
        rc = wait_tagged(im, sasl_continue, err);
    im->sasl = NULL;
    /* RFC 5530: [UNAVAILABLE] is the server's trouble, not the token's */
    if (rc == MR_ESERVER && mr_sasl_is_bearer(mech))
        rc = mr_sasl_bearer_refused(sasl, imap_server_words(im),
                                    strncasecmp(im->last_text, "[UNAVAILABLE", 12) == 0, st, err);
    mr_sasl_free(&sasl);
    return rc;
}

static int needs_literal(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 1;
    return 0;
}

static int login_command(struct imap *im, mr_error *err)
{
    const struct mr_mailbox_config *c = im->mb.s.cfg;
    if (imap_has_cap(im, "LOGINDISABLED"))
        return mr_error_set(err, MR_EAUTH, "auth",
                            "the server disables LOGIN here (LOGINDISABLED)"
                            " and offers no SASL mechanism we know");
    if (needs_literal(c->username) || needs_literal(c->password))
        return mr_error_set(err, MR_EAUTH, "auth",
                            "the user name or password has characters the "
                            "LOGIN command cannot carry; choose a SASL mechanism such as PLAIN");
    struct mr_buf cmd;
    mr_buf_init(&cmd, 4096);
    mr_buf_puts(&cmd, "LOGIN ");
    mr_imap_quote(c->username, &cmd);
    mr_buf_putc(&cmd, ' ');
    size_t secret_from = cmd.len;
    int rc = 0;
    if (mr_imap_quote(c->password, &cmd))
        rc = mr_error_set(err, MR_ETOOBIG, "auth", "the password is too long for LOGIN");
    if (rc == 0)
        rc = imap_command(im, cmd.data, secret_from, err);
    memset(cmd.data, 0, cmd.len);
    mr_buf_free(&cmd);
    return rc;
}

/* "auto": with a password the strongest SASL mechanism both sides know,
 * else LOGIN; with a bearer token OAUTHBEARER, else XOAUTH2 (sasl.h). */
static void offered_mechanisms(const struct imap *im, char *offered, size_t size)
{
    offered[0] = '\0';
    for (const char *p = im->caps; (p = strstr(p, " AUTH=")) != NULL; p += 6) {
        size_t len = strcspn(p + 6, " ");
        strncat(offered, p + 6, len < size - strlen(offered) - 2 ? len : 0);
        strcat(offered, " ");
    }
}

static int choose_mechanism(struct imap *im, char *mech, size_t size, mr_error *err)
{
    const struct mr_mailbox_config *c = im->mb.s.cfg;
    char offered[MR_IMAP_CAPS_MAX];
    offered_mechanisms(im, offered, sizeof(offered));
    int rc = mr_sasl_pick(c->auth, offered, c->bearer_token != NULL, mech, size, err);
    if (rc == MR_ENOTFOUND) {
        snprintf(mech, size, "LOGIN-COMMAND");
        rc = 0;
    }
    return rc;
}

static int login(struct imap *im, struct mr_mailbox_status *st, mr_error *err)
{
    char mech[32];
    int64_t t0 = mr_now_ms();
    int rc = choose_mechanism(im, mech, sizeof(mech), err);
    if (rc) {
        mr_session_step_error(&im->mb.s, "authentication", t0, err);
        return rc;
    }
    int login_cmd = strcmp(mech, "LOGIN-COMMAND") == 0;
    /* an explicit mechanism the server does not list: said first, then tried */
    char offered[MR_IMAP_CAPS_MAX], unoffered[320] = "";
    offered_mechanisms(im, offered, sizeof(offered));
    if (!login_cmd && im->mb.s.cfg->auth &&
        mr_sasl_unoffered(mech, offered, unoffered, sizeof(unoffered)))
        mr_session_step(&im->mb.s, "authentication", -1, 0, "%s; trying it anyway", unoffered);
    rc = login_cmd ? login_command(im, err) : authenticate(im, mech, st, err);
    const char *shown = login_cmd ? "LOGIN command" : mech;
    snprintf(st->mechanism, sizeof(st->mechanism), "%s", shown);
    snprintf(im->mechanism, sizeof(im->mechanism), "%s", shown);
    if (rc == MR_ESERVER && unoffered[0])
        rc = mr_error_set(err, MR_EAUTH, "auth", "%s; tried anyway, it refused the login: %s",
                          unoffered, imap_server_words(im));
    else if (rc == MR_ESERVER)
        rc = mr_error_set(err, MR_EAUTH, "auth", "the server refused the login (%s): %s", shown,
                          imap_server_words(im));
    else if (rc && unoffered[0])
        mr_error_prefix(err, "%s", unoffered);
    /* the mechanism once: most errors name it already */
    int named = rc && strstr(err->message, shown);
    mr_session_step(&im->mb.s, "authentication", rc == 0, t0, "%s%s%s", named ? "" : shown,
                    rc ? (named ? "" : ": ") : " accepted", rc ? err->message : "");
    if (rc == 0 && !strstr(im->last_text, "CAPABILITY"))
        rc = imap_command(im, "CAPABILITY", (size_t)-1, err);
    return rc;
}

/* --- the folder ---------------------------------------------------------- */

/* RFC 3501: INBOX is INBOX whatever its case, and so is the INBOX part of
 * INBOX.Sub or INBOX/Sub. */
static int inbox_part(const char *name)
{
    return strncasecmp(name, "INBOX", 5) == 0 &&
           (name[5] == '\0' || name[5] == '.' || name[5] == '/' || name[5] == '\\');
}

static int same_mailbox(const char *a, const char *b)
{
    if (inbox_part(a) && inbox_part(b))
        return strcmp(a + 5, b + 5) == 0;
    return strcmp(a, b) == 0;
}

static char *decode_name(const char *wire)
{
    struct mr_buf out;
    mr_buf_init(&out, 4096);
    mr_buf_append(&out, "", 0);
    char *name = mr_imap_utf7_decode(wire, &out) == 0 ? mr_xstrdup(out.data) : mr_xstrdup(wire);
    mr_buf_free(&out);
    return name;
}

/* A name for suggestions, compared loosely: ASCII case folded, '.', '/'
 * and the server's delimiter all '/', a leading INBOX/ dropped. */
static void loose_key(const char *name, char delim, char *key, size_t size)
{
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < size; p++) {
        char c = *p == '.' || *p == '/' || (delim && *p == delim) ? '/' : *p;
        key[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    key[n] = '\0';
    if (strncmp(key, "inbox/", 6) == 0)
        memmove(key, key + 6, strlen(key + 6) + 1);
}

/* Levenshtein distance over bytes (keys are at most 127 of them). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[128];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The closest folders LIST "" "*" names, for "did you mean". */
struct imap_suggest {
    char key[128]; /* what was typed, loosely */
    size_t limit;  /* the most edits a suggestion may be away */
    char *name[3]; /* UTF-8, closest first */
    size_t dist[3];
    size_t seen; /* names weighed: a server listing without end costs no more
                  * than MR_SUGGEST_NAMES comparisons */
};

#define MR_SUGGEST_NAMES 20000

static void suggest_consider(struct imap *im, const char *wire, int noselect)
{
    struct imap_suggest *sg = im->suggest;
    char key[128];
    if (noselect || sg->seen++ >= MR_SUGGEST_NAMES)
        return;
    char *name = decode_name(wire);
    loose_key(name, im->delim, key, sizeof(key));
    size_t d = edit_distance(sg->key, key);
    size_t at = 3;
    for (size_t i = 3; i-- > 0;)
        if (d <= sg->limit && (!sg->name[i] || d < sg->dist[i]))
            at = i;
    if (at == 3) {
        free(name);
        return;
    }
    free(sg->name[2]);
    memmove(&sg->name[at + 1], &sg->name[at], (2 - at) * sizeof(sg->name[0]));
    memmove(&sg->dist[at + 1], &sg->dist[at], (2 - at) * sizeof(sg->dist[0]));
    sg->name[at] = name;
    sg->dist[at] = d;
}

/* RFC 6154's attributes: a folder named by its use, whatever the server
 * calls it (Gmail: "[Gmail]/All Mail", or "[Google Mail]/Alle Nachrichten"). */
static const char *const special_uses[] = {"\\All",  "\\Archive", "\\Drafts", "\\Flagged",
                                           "\\Junk", "\\Sent",    "\\Trash",  NULL};

int imap_is_special_use(const char *name)
{
    for (size_t i = 0; special_uses[i]; i++)
        if (strcasecmp(name, special_uses[i]) == 0)
            return 1;
    return 0;
}

/* * LIST (flags) delimiter name: remembers the delimiter, the server's
 * spelling of the name (or the special use) asked for, and feeds the
 * suggestions and the picker's list. */
static void handle_list(struct imap *im, const struct mr_imap_response *r)
{
    size_t i = 0;
    int noselect = 0;
    const char *special = NULL;
    if (r->ntokens < 4 || r->tokens[0].type != MR_IMAP_OPEN)
        return;
    while (i < r->ntokens && r->tokens[i].type != MR_IMAP_CLOSE) {
        noselect |= mr_imap_token_is(&r->tokens[i], "\\Noselect") ||
                    mr_imap_token_is(&r->tokens[i], "\\NonExistent");
        for (size_t k = 0; !special && special_uses[k]; k++)
            if (mr_imap_token_is(&r->tokens[i], special_uses[k]))
                special = special_uses[k];
        i++;
    }
    if (i + 2 >= r->ntokens)
        return;
    const struct mr_imap_token *d = &r->tokens[i + 1], *name = &r->tokens[i + 2];
    if (d->type == MR_IMAP_STRING && d->len == 1)
        im->delim = d->text[0];
    if (name->type != MR_IMAP_STRING && name->type != MR_IMAP_ATOM)
        return;
    if (strlen(name->text) != name->len)
        return; /* a NUL inside: no name we could ask for */
    if (im->list_want && !im->list_match && same_mailbox(name->text, im->list_want))
        im->list_match = mr_xstrdup(name->text);
    if (im->special_want && !im->list_match && !noselect && special &&
        strcasecmp(special, im->special_want) == 0)
        im->list_match = mr_xstrdup(name->text);
    if (im->suggest)
        suggest_consider(im, name->text, noselect);
    if (im->collect && !noselect) {
        char *utf8 = decode_name(name->text);
        if (!mr_utf8_valid(utf8, strlen(utf8))) /* 8-bit, not modified UTF-7: shown as ASCII */
            for (char *c = utf8; *c; c++)
                if ((unsigned char)*c >= 0x80)
                    *c = '?';
        mr_folders_add(im->collect, utf8, special);
        free(utf8);
    }
}

/* * NAMESPACE (("prefix" "delim") ...) other shared: the first personal
 * namespace's prefix and delimiter. */
static void handle_namespace(struct imap *im, const struct mr_imap_response *r)
{
    const struct mr_imap_token *t = r->tokens;
    if (r->ntokens < 4 || t[0].type != MR_IMAP_OPEN || t[1].type != MR_IMAP_OPEN ||
        t[2].type != MR_IMAP_STRING || strlen(t[2].text) != t[2].len)
        return;
    mr_freep(&im->ns_prefix);
    im->ns_prefix = decode_name(t[2].text);
    im->ns_delim = t[3].type == MR_IMAP_STRING && t[3].len == 1 ? t[3].text[0] : 0;
}

/* LIST "" name: *found when the server lists exactly that name (INBOX in
 * any case); *spelled (when asked for) gets the server's spelling. A NO is
 * "not there": some servers refuse names outside their namespaces. */
static int list_folder(struct imap *im, const char *name, const char *field, int *found,
                       char **spelled, mr_error *err)
{
    struct mr_buf cmd, wire;
    mr_buf_init(&cmd, 8192);
    mr_buf_init(&wire, 4096);
    int rc = mr_imap_utf7_encode(name, &wire);
    if (rc)
        rc = mr_error_set(err, MR_EINVAL, field, "the folder name is not valid UTF-8");
    *found = 0;
    mr_buf_puts(&cmd, "LIST \"\" ");
    if (rc == 0)
        rc = mr_imap_quote(wire.data, &cmd);
    im->list_want = wire.data;
    if (rc == 0)
        rc = imap_command(im, cmd.data, (size_t)-1, err);
    im->list_want = NULL;
    if (rc == MR_ESERVER)
        rc = 0;
    if (rc == 0 && im->list_match) {
        *found = 1;
        if (spelled) {
            free(*spelled);
            *spelled = decode_name(im->list_match);
        }
    }
    mr_freep(&im->list_match);
    mr_buf_free(&cmd);
    mr_buf_free(&wire);
    return rc;
}

/* Once a session, before the first folder is looked up: the personal
 * namespace when the server has NAMESPACE, and the hierarchy delimiter. */
static int learn_namespace(struct imap *im, const char *field, mr_error *err)
{
    if (im->ns_asked)
        return 0;
    int rc = 0, found;
    if (imap_has_cap(im, "NAMESPACE")) {
        rc = imap_command(im, "NAMESPACE", (size_t)-1, err);
        if (rc == MR_ESERVER) { /* no namespace then: as a server without it */
            mr_freep(&im->ns_prefix);
            rc = 0;
        }
    }
    if (rc == 0 && im->ns_prefix && im->ns_delim)
        im->delim = im->ns_delim;
    else if (rc == 0) {
        im->delim = 0;
        rc = list_folder(im, "", field, &found, NULL, err); /* the delimiter */
    }
    if (rc == 0)
        im->ns_asked = 1;
    return rc;
}

/* Does name start with the namespace's prefix (its INBOX in any case)? */
static int has_prefix(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    if (inbox_part(prefix) && inbox_part(name))
        return strncmp(name + 5, prefix + 5, n - 5) == 0;
    return strncmp(name, prefix, n) == 0;
}

static void add_candidate(char **cands, size_t *n, char *c)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(cands[i], c) == 0) {
            free(c);
            return;
        }
    cands[(*n)++] = c;
}

/* The spellings to try, in order: as typed; with the server's delimiter
 * for '.' and '/' (and INBOX upper-cased); with the personal namespace's
 * prefix added when it lacks it; with an INBOX prefix the namespace does
 * not have dropped. The last is the one a CREATE would use. */
static size_t folder_candidates(const struct imap *im, const char *typed, char *cands[4])
{
    size_t n = 0;
    char d = im->delim;
    add_candidate(cands, &n, mr_xstrdup(typed));
    char *t = mr_xstrdup(typed);
    if (d == '.' || d == '/')
        for (char *p = t; *p; p++)
            *p = *p == '.' || *p == '/' ? d : *p;
    if (inbox_part(t))
        memcpy(t, "INBOX", 5);
    const char *prefix = im->ns_prefix;
    if (prefix && *prefix && !has_prefix(t, prefix)) {
        char *with = mr_xasprintf("%s%s", prefix, t);
        add_candidate(cands, &n, t);
        t = with;
    } else if (prefix && !inbox_part(prefix) && inbox_part(t) && t[5]) {
        char *without = mr_xstrdup(t + 6);
        add_candidate(cands, &n, t);
        t = without;
    }
    add_candidate(cands, &n, t);
    return n;
}

/* LIST "" "*", asking for the special uses where the server can say them
 * (RFC 6154 with RFC 5258's RETURN); a server without them may still
 * volunteer them, as Gmail does. */
static int list_everything(struct imap *im, mr_error *err)
{
    int ext = imap_has_cap(im, "SPECIAL-USE") && imap_has_cap(im, "LIST-EXTENDED");
    return imap_command(im, ext ? "LIST \"\" \"*\" RETURN (SPECIAL-USE)" : "LIST \"\" \"*\"",
                        (size_t)-1, err);
}

/* "\\All" and the like: the first selectable folder the server marks so. */
static int find_special(struct imap *im, char **name, const char *field, int *found, mr_error *err)
{
    im->special_want = *name;
    int rc = list_everything(im, err);
    im->special_want = NULL;
    if (rc == MR_ESERVER)
        rc = mr_error_set(err, MR_ESERVER, field, "LIST failed: %s", imap_server_words(im));
    *found = rc == 0 && im->list_match;
    if (*found) {
        free(*name);
        *name = decode_name(im->list_match);
    } else if (rc == 0)
        rc = mr_error_set(
            err, MR_ENOTFOUND, field,
            "no folder on the server is marked %s (RFC 6154 special use)%s; type "
            "the folder's name instead",
            *name,
            imap_has_cap(im, "SPECIAL-USE") ? "" : ": the server does not offer SPECIAL-USE");
    mr_freep(&im->list_match);
    return rc;
}

int imap_find_folder(struct imap *im, char **name, const char *field, int *found, mr_error *err)
{
    if (imap_is_special_use(*name)) {
        *found = 0;
        return find_special(im, name, field, found, err);
    }

    char *cands[4];
    size_t n = 0;
    int rc = learn_namespace(im, field, err);
    *found = 0;
    if (rc == 0)
        n = folder_candidates(im, *name, cands);
    for (size_t i = 0; i < n && rc == 0 && !*found; i++)
        rc = list_folder(im, cands[i], field, found, name, err);
    if (rc == 0 && !*found && n) { /* what a CREATE would make */
        free(*name);
        *name = cands[n - 1];
        cands[n - 1] = NULL;
    }
    for (size_t i = 0; i < n; i++)
        free(cands[i]);
    return rc;
}

void imap_folder_hint(struct imap *im, const char *typed, char *hint, size_t size)
{
    struct imap_suggest sg = {0};
    mr_error ignored = {0};
    loose_key(typed, im->delim, sg.key, sizeof(sg.key));
    sg.limit = strlen(sg.key) / 3 > 2 ? strlen(sg.key) / 3 : 2;
    im->suggest = &sg;
    int rc = list_everything(im, &ignored);
    im->suggest = NULL;
    if ((rc == 0 || rc == MR_ESERVER) && sg.name[0])
        snprintf(hint, size, " (did you mean %s%s%s%s%s?)", sg.name[0],
                 sg.name[1] ? (sg.name[2] ? ", " : " or ") : "", sg.name[1] ? sg.name[1] : "",
                 sg.name[2] ? " or " : "", sg.name[2] ? sg.name[2] : "");
    else if (im->delim)
        snprintf(hint, size, " (its folders are separated by '%c'%s%s%s)", im->delim,
                 im->ns_prefix && *im->ns_prefix ? " under '" : "",
                 im->ns_prefix && *im->ns_prefix ? im->ns_prefix : "",
                 im->ns_prefix && *im->ns_prefix ? "'" : "");
    else
        hint[0] = '\0';
    for (size_t i = 0; i < 3; i++)
        free(sg.name[i]);
}

static int resolve_folder(struct imap *im, char **name, mr_error *err)
{
    int found = 0;
    char *typed = mr_xstrdup(*name);
    int rc = imap_find_folder(im, name, "folder", &found, err);
    if (rc == 0 && !found) {
        char hint[1024];
        imap_folder_hint(im, typed, hint, sizeof(hint));
        rc = mr_error_set(err, MR_ENOTFOUND, "folder",
                          "the folder '%s' does not exist on the server%s", typed, hint);
    }
    free(typed);
    return rc;
}

static int examine_or_select(struct imap *im, const char *name, mr_error *err)
{
    const struct mr_mailbox_config *c = im->mb.s.cfg;
    struct mr_buf cmd, wire;
    mr_buf_init(&cmd, 8192);
    mr_buf_init(&wire, 4096);
    mr_imap_utf7_encode(name, &wire);
    mr_buf_puts(&cmd, c->read_only ? "EXAMINE " : "SELECT ");
    mr_imap_quote(wire.data, &cmd);
    int rc = imap_command(im, cmd.data, (size_t)-1, err);
    if (rc == MR_ESERVER)
        rc = mr_error_set(err, MR_ESERVER, "folder", "%s %s failed: %s",
                          c->read_only ? "EXAMINE" : "SELECT", name, imap_server_words(im));
    if (rc == 0 && im->uidvalidity == 0)
        rc = mr_error_set(err, MR_EPROTO, "folder", "the server gave no UIDVALIDITY for %s", name);
    mr_buf_free(&cmd);
    mr_buf_free(&wire);
    return rc;
}

static int select_folder(struct imap *im, struct mr_mailbox_status *st, mr_error *err)
{
    const struct mr_mailbox_config *c = im->mb.s.cfg;
    int64_t t0 = mr_now_ms();
    int rc = 0;
    if (!im->folder) { /* once per session: the name may need a LIST or two */
        char *name = mr_xstrdup(c->folder ? c->folder : "INBOX");
        rc = strcasecmp(name, "INBOX") == 0 ? 0 : resolve_folder(im, &name, err);
        if (rc == 0)
            im->folder = name;
        else
            free(name);
    }
    im->exists = 0;
    im->uidvalidity = 0;
    im->watch = im->grew = 0;
    if (rc == 0)
        rc = examine_or_select(im, im->folder, err);
    st->messages = im->exists;
    st->uidvalidity = im->uidvalidity;
    int typed_as = rc == 0 && c->folder && strcmp(c->folder, im->folder) != 0;
    if (rc)
        mr_session_step_error(&im->mb.s, "folder", t0, err);
    else
        mr_session_step(&im->mb.s, "folder", 1, t0,
                        "%s%s%s%s opened %s: %u message%s, UIDVALIDITY %u", im->folder,
                        typed_as ? " (typed " : "", typed_as ? c->folder : "", typed_as ? ")" : "",
                        c->read_only ? "read-only (EXAMINE)" : "read-write (SELECT)", im->exists,
                        im->exists == 1 ? "" : "s", im->uidvalidity);
    return rc;
}

/* Test connection's folder picker: every selectable folder, recorded as a
 * step. A server that refuses LIST leaves the list empty, and the test
 * goes on to the folder itself. */
static void list_folders(struct imap *im, struct mr_folders *out)
{
    int64_t t0 = mr_now_ms();
    mr_error err = {0};
    im->collect = out;
    int rc = list_everything(im, &err);
    im->collect = NULL;
    if (rc == 0) {
        char names[400];
        size_t used = 0;
        names[0] = '\0';
        const size_t more = sizeof(", …"); /* what the cut needs, NUL too */
        for (size_t i = 0; i < out->count && used + more <= sizeof(names); i++) {
            int w = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : ": ",
                             out->items[i].name);
            if (w < 0 || used + (size_t)w + more > sizeof(names)) {
                snprintf(names + used, sizeof(names) - used, ", …");
                break;
            }
            used += (size_t)w;
        }
        mr_session_step(&im->mb.s, "folders", -1, t0, "%zu folder%s%s%s", out->count,
                        out->count == 1 ? "" : "s",
                        out->truncated ? " (the list is cut short there)" : "", names);
    } else
        mr_session_step(&im->mb.s, "folders", -1, t0, "LIST failed: %s",
                        rc == MR_ESERVER ? imap_server_words(im) : err.message);
}

/* --- the driver's open and close --------------------------------------- */

static int imap_open(struct mr_mailbox **out, const struct mr_mailbox_config *cfg,
                     struct mr_mailbox_status *st, mr_error *err)
{
    struct imap *im = mr_xcalloc(1, sizeof(*im));
    struct mr_imap_sink sink = {imap_literal_begin, imap_literal_data, imap_literal_end, im};
    int preauth = 0;
    memset(st, 0, sizeof(*st));
    im->mb.driver = &mr_imap_driver;
    mr_session_init(&im->mb.s, cfg, "IMAP");
    im->parser = mr_imap_parser_new();
    mr_imap_parser_set_sink(im->parser, &sink);
    int rc = mr_session_connect(&im->mb.s, err);
    if (rc == 0)
        rc = greeting(im, &preauth, err);
    if (rc == 0)
        rc = capabilities(im, err);
    if (rc == 0) /* refuses a PREAUTH session when TLS is required and not up */
        rc = starttls(im, preauth, err);
    if (rc == 0 && !preauth)
        rc = login(im, st, err);
    else if (rc == 0) {
        snprintf(im->mechanism, sizeof(im->mechanism), "PREAUTH");
        mr_session_step(&im->mb.s, "authentication", -1, 0, "PREAUTH: the server logged us in");
    }
    if (rc == 0 && cfg->folders)
        list_folders(im, cfg->folders);
    if (rc == 0)
        rc = select_folder(im, st, err);
    *out = &im->mb;
    if (rc)
        mr_imap_driver.close(out, NULL);
    return rc;
}

static int idle_done(struct imap *im, mr_error *err);

static int imap_close(struct mr_mailbox **mbp, mr_error *err)
{
    struct imap *im = (struct imap *)*mbp;
    if (!im)
        return 0;
    mr_error ignored = {0};
    if (im->idling && im->mb.s.conn && !im->bye && !im->broken && err)
        idle_done(im, &ignored); /* LOGOUT would be a BAD inside IDLE */
    if (im->mb.s.conn && !im->bye && !im->broken &&
        err) /* a polite goodbye; its answer does not matter */
        imap_command(im, "LOGOUT", (size_t)-1, &ignored);
    mr_imap_parser_free(&im->parser);
    mr_session_free(&im->mb.s);
    free(im->folder);
    free(im->ns_prefix);
    free(im->move_asked);
    free(im->move_to);
    free(im->refs);
    free(im);
    *mbp = NULL;
    return 0;
}

/* How long a kept session may take to answer before the engine gives up on
 * it and logs in afresh (a new session gets the whole idle timeout). */
#define MR_KEPT_ANSWER_MS 10000

/* A session kept open since an earlier run (fetch/keep.h): the same login,
 * the folder opened again. A server that ended the session meanwhile (an
 * idle logout's BYE, a restart) fails here, and the engine logs in afresh. */
static int imap_reuse(struct mr_mailbox *mb, const struct mr_mailbox_config *cfg,
                      struct mr_mailbox_status *st, mr_error *err)
{
    struct imap *im = (struct imap *)mb;
    struct mr_conn *conn = im->mb.s.conn;
    memset(st, 0, sizeof(*st));
    im->mb.s.cfg = cfg;
    if (!conn || im->bye || im->broken || !im->folder)
        return mr_error_set(err, MR_ENET, "", "the kept session is closed");
    conn->limits = cfg->limits;
    if (conn->limits.idle_timeout_ms > MR_KEPT_ANSWER_MS)
        conn->limits.idle_timeout_ms = MR_KEPT_ANSWER_MS;
    snprintf(st->mechanism, sizeof(st->mechanism), "%s", im->mechanism);
    mr_session_step(&im->mb.s, "session", -1, 0, "kept open since the last check");
    int rc = idle_done(im, err); /* a pushed session: out of IDLE first */
    if (rc == 0)
        rc = select_folder(im, st, err);
    conn->limits = cfg->limits;
    return rc;
}

/* --- push: IDLE (RFC 2177) ------------------------------------------------ */

/* What the server may say while a session idles: new mail (EXISTS,
 * RECENT), the end (BYE), status codes. Flag changes (FETCH)
 * and expunges need no check: nothing new arrived. */
static void idle_untagged(struct imap *im, const struct mr_imap_response *r)
{
    if (r->status == MR_IMAP_BYE) {
        im->bye = 1;
        snprintf(im->bye_text, sizeof(im->bye_text), "%s", r->text);
        mr_session_note_backoff(&im->mb.s, r->text);
    } else if (r->status != MR_IMAP_NONE)
        handle_code(im, r->code);
    else if (r->has_number && strcmp(r->name, "EXISTS") == 0) {
        im->grew = 1; /* during IDLE only new mail makes one (an expunge says EXPUNGE) */
        im->exists = r->number;
    } else if (r->has_number && strcmp(r->name, "EXPUNGE") == 0 && im->exists > 0)
        im->exists--;
    else if (r->has_number && strcmp(r->name, "RECENT") == 0 && r->number > 0)
        im->grew = 1;
}

static int imap_idle(struct mr_mailbox *mb, int *news, mr_error *err)
{
    struct imap *im = (struct imap *)mb;
    *news = 0;
    if (!im->mb.s.conn || im->bye || im->broken || !im->folder)
        return mr_error_set(err, MR_ENET, "", "the session is closed");
    if (im->idling)
        return 0;
    if (!imap_has_cap(im, "IDLE"))
        return mr_error_set(err, MR_ESERVER, "", "the server does not offer IDLE");
    int rc = send_command(im, "IDLE", (size_t)-1, err);
    while (rc == 0) {
        const struct mr_imap_response *r;
        rc = next_response(im, &r, err);
        if (rc)
            break;
        trace_response(im, r);
        if (r->kind == MR_IMAP_CONTINUE) {
            im->idling = 1;
            break;
        }
        if (r->kind == MR_IMAP_UNTAGGED)
            idle_untagged(im, r);
        else if (strcmp(r->tag, im->tag) != 0)
            rc = mr_error_set(err, MR_EPROTO, "", "a response to a command never sent (tag %.20s)",
                              r->tag);
        else {
            remember_tagged(im, r);
            rc = mr_error_set(err, MR_ESERVER, "", "the server refused IDLE: %s",
                              imap_server_words(im));
        }
    }
    if (rc == 0) /* idling: no step until the next command */
        mr_conn_step(im->mb.s.conn, "");
    else if (rc != MR_ESERVER)
        im->broken = 1;
    *news = im->grew;
    return rc;
}

static int imap_idle_read(struct mr_mailbox *mb, int *news, mr_error *err)
{
    struct imap *im = (struct imap *)mb;
    struct mr_session *s = &im->mb.s;
    int rc = s->in_off < s->in_len ? 0 : mr_session_fill(s, err); /* one read at most */
    while (rc == 0 && s->in_off < s->in_len && im->idling) {
        const struct mr_imap_response *r;
        size_t used = 0;
        int got = mr_imap_parser_feed(im->parser, s->in + s->in_off, s->in_len - s->in_off, &used,
                                      &r, err);
        s->in_off += used;
        if (got < 0)
            rc = got;
        if (got != 1)
            break;
        trace_response(im, r);
        if (r->kind == MR_IMAP_UNTAGGED)
            idle_untagged(im, r);
        else if (r->kind == MR_IMAP_TAGGED && strcmp(r->tag, im->tag) == 0) {
            remember_tagged(im, r); /* the server ended the IDLE: a check starts another */
            im->idling = 0;
            im->grew = 1;
        } else if (r->kind == MR_IMAP_CONTINUE)
            rc = mr_error_set(err, MR_EPROTO, "", "the server asked for data during IDLE");
        else
            rc = mr_error_set(err, MR_EPROTO, "", "a response to a command never sent (tag %.20s)",
                              r->tag);
        if (rc == 0 && im->bye)
            rc = mr_error_set(err, MR_ENET, "", "the server ended the session: %s", im->bye_text);
    }
    if (rc == MR_ENET && im->bye && !strstr(err->message, im->bye_text))
        rc = mr_error_set(err, MR_ENET, "", "the server ended the session: %s", im->bye_text);
    if (rc)
        im->broken = 1;
    *news = im->grew;
    return rc;
}

/* Ends the IDLE in flight: DONE, and its tagged answer. */
static int idle_done(struct imap *im, mr_error *err)
{
    if (!im->idling)
        return 0;
    im->idling = 0;
    int rc = mr_session_queue(&im->mb.s, "DONE", (size_t)-1, err);
    if (rc == 0)
        rc = mr_session_flush(&im->mb.s, err);
    mr_session_expect_answer(&im->mb.s, "IDLE");
    if (rc == 0)
        rc = wait_tagged(im, NULL, err);
    if (rc == MR_ESERVER) /* IDLE ended with NO or BAD: the session still works */
        rc = 0;
    if (rc)
        im->broken = 1;
    return rc;
}

const struct mr_mailbox_driver mr_imap_driver = {
    "imap",     imap_open,  mr_imap_list, mr_imap_fetch, mr_imap_remove,
    imap_close, imap_reuse, mr_imap_act,  imap_idle,     imap_idle_read,
};
