/* POP3 client session (RFC 1939, 2449, 5034): greeting with the APOP
 * timestamp, CAPA, STLS, USER/PASS, APOP or AUTH through SASL, STAT, UIDL,
 * LIST, RETR (pipelined when the server offers PIPELINING), DELE, QUIT.
 * Deletions count only once QUIT has its +OK. */
#include "proto/pop3_parse.h"
#include "proto/sasl.h"
#include "proto/session.h"
#include "util/clock.h"
#include "util/mem.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RETR_WINDOW                                                                                \
    32 /* commands in flight with PIPELINING; refilled by halves, so a                             \
        * send carries 16 commands, not one */

struct pop3 {
    struct mr_mailbox mb; /* first: the driver's view */
    struct mr_pop3_parser *parser;
    char caps[2048];     /* " TOP UIDL SASL PLAIN LOGIN ... " upper-case */
    char sasl[512];      /* CAPA's SASL line's mechanisms, upper-case */
    char stamp[256];     /* APOP timestamp from the greeting */
    char text[512];      /* the last status line's text */
    struct mr_buf lines; /* a multi-line answer being collected */
    int deleted;         /* DELE was sent: QUIT must succeed */
};

static int has_cap(const struct pop3 *p, const char *cap)
{
    char needle[64];
    snprintf(needle, sizeof(needle), " %s ", cap);
    return strcasestr(p->caps, needle) != NULL;
}

static int next_event(struct pop3 *p, struct mr_pop3_event *ev, mr_error *err)
{
    struct mr_session *s = &p->mb.s;
    for (;;) {
        if (s->in_off < s->in_len) {
            size_t used = 0;
            int rc = mr_pop3_parser_feed(p->parser, s->in + s->in_off, s->in_len - s->in_off, &used,
                                         ev, err);
            s->in_off += used;
            if (rc != 0)
                return rc < 0 ? rc : 0;
        }
        int rc = mr_session_fill(s, err);
        if (rc == MR_ENET && mr_pop3_parser_in_body(p->parser))
            return mr_error_set(err, MR_ENET, "",
                                "the server closed the connection in the "
                                "middle of a multi-line answer (no final '.')");
        if (rc)
            return rc;
    }
}

/* Reads one status line; -ERR becomes MR_ESERVER with its text kept. */
static int status(struct pop3 *p, struct mr_pop3_event *ev, mr_error *err)
{
    int rc = next_event(p, ev, err);
    if (rc)
        return rc;
    if (ev->type != MR_POP3_STATUS && ev->type != MR_POP3_CONTINUE)
        return mr_error_set(err, MR_EPROTO, "", "expected a status line");
    snprintf(p->text, sizeof(p->text), "%s", ev->text);
    mr_session_trace(&p->mb.s, 'S', ev->text, strlen(ev->text));
    if (!ev->ok)
        mr_session_note_backoff(&p->mb.s, ev->text);
    return ev->ok ? 0 : MR_ESERVER;
}

/* Collects a multi-line answer's body (CAPA, UIDL, LIST: short lines, one
 * per message at most) into p->lines: each line at most MR_POP3_STATUS_MAX
 * bytes, the whole at most p->lines' cap. */
static int collect(struct pop3 *p, mr_error *err)
{
    struct mr_pop3_event ev;
    size_t line = 0; /* bytes of the current line so far */
    mr_buf_reset(&p->lines);
    for (;;) {
        int rc = next_event(p, &ev, err);
        if (rc)
            return rc;
        if (ev.type == MR_POP3_END)
            return 0;
        if (ev.type != MR_POP3_DATA || mr_buf_append(&p->lines, ev.data, ev.len))
            return mr_error_set(err, MR_EPROTO, "", "a multi-line answer that is too long");
        const char *nl = memrchr(ev.data, '\n', ev.len);
        line = nl ? (size_t)(ev.data + ev.len - nl - 1) : line + ev.len;
        if (line > MR_POP3_STATUS_MAX)
            return mr_error_set(err, MR_EPROTO, "",
                                "a multi-line answer with a line longer than %u bytes (too long)",
                                MR_POP3_STATUS_MAX);
    }
}

/* A command and its answer: the status line is a step; a multi-line body
 * (LIST and UIDL grow with the maildrop) is a transfer. */
static int command(struct pop3 *p, const char *cmd, size_t secret_from, int multiline,
                   mr_error *err)
{
    struct mr_pop3_event ev;
    mr_pop3_parser_expect(p->parser, multiline);
    int rc = mr_session_queue(&p->mb.s, cmd, secret_from, err);
    if (rc == 0)
        rc = mr_session_flush(&p->mb.s, err);
    mr_session_expect_answer(&p->mb.s, cmd);
    if (rc == 0)
        rc = status(p, &ev, err);
    mr_session_expect(&p->mb.s, 1, "the answer to %.*s", (int)strcspn(cmd, " "), cmd);
    if (rc == 0 && multiline)
        rc = collect(p, err);
    return rc;
}

static int server_error(struct pop3 *p, int rc, const char *what, mr_error *err)
{
    if (rc == MR_ESERVER)
        return mr_error_set(err, MR_ESERVER, "", "%s: the server said: %s", what, p->text);
    return rc;
}

/* --- greeting, CAPA, STLS ---------------------------------------------- */

static int greeting(struct pop3 *p, mr_error *err)
{
    struct mr_pop3_event ev;
    int64_t t0 = mr_now_ms();
    mr_session_expect(&p->mb.s, 0, "the greeting");
    int rc = mr_session_await_greeting(&p->mb.s, err);
    if (rc == 0)
        rc = server_error(p, status(p, &ev, err), "the server refused the connection", err);
    if (rc == MR_EPROTO && mr_session_other_protocol(&p->mb.s, err)) /* an IMAP server? */
        rc = MR_EPROTO;
    if (rc == 0) {
        const char *lt = strchr(p->text, '<'), *gt = lt ? strchr(lt, '>') : NULL;
        if (lt && gt && (size_t)(gt - lt) < sizeof(p->stamp) - 1)
            snprintf(p->stamp, sizeof(p->stamp), "%.*s", (int)(gt - lt + 1), lt);
    }
    mr_session_step(&p->mb.s, "greeting", rc == 0, t0, "%s", rc ? err->message : p->text);
    return rc;
}

static int capa(struct pop3 *p, mr_error *err)
{
    int64_t t0 = mr_now_ms();
    int rc = command(p, "CAPA", (size_t)-1, 1, err);
    snprintf(p->caps, sizeof(p->caps), " ");
    if (rc == MR_ESERVER) { /* an RFC 1939 server without CAPA */
        mr_session_step(&p->mb.s, "capabilities", -1, t0, "the server has no CAPA: %s", p->text);
        return 0;
    }
    if (rc) {
        mr_session_step_error(&p->mb.s, "capabilities", t0, err);
        return rc;
    }
    char *save = NULL; /* strtok_r: the scheduler's workers check accounts at once */
    p->sasl[0] = '\0';
    for (char *line = strtok_r(p->lines.data ? p->lines.data : "", "\r\n", &save); line;
         line = strtok_r(NULL, "\r\n", &save)) {
        size_t used = strlen(p->caps);
        snprintf(p->caps + used, sizeof(p->caps) - used, "%s ", line);
        if (strncasecmp(line, "SASL ", 5) == 0)
            snprintf(p->sasl, sizeof(p->sasl), "%s", line + 5);
    }
    for (char *c = p->caps; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    for (char *c = p->sasl; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    mr_session_step(&p->mb.s, "capabilities", 1, t0, "%s", p->caps + 1);
    return 0;
}

static int stls(struct pop3 *p, mr_error *err)
{
    const struct mr_mailbox_config *c = p->mb.s.cfg;
    int64_t t0 = mr_now_ms();
    if (c->security == MR_SEC_NONE || c->security == MR_SEC_TLS)
        return 0;
    if (!has_cap(p, "STLS")) {
        if (c->security == MR_SEC_STARTTLS) {
            mr_error_set(err, MR_ETLS, "",
                         "the server does not offer STLS; refusing to log in "
                         "without TLS");
            mr_session_step_error(&p->mb.s, "starttls", t0, err);
            return MR_ETLS;
        }
        mr_session_step(&p->mb.s, "starttls", -1, t0,
                        "the server does not offer STLS: continuing in plain text");
        return 0;
    }
    int rc = server_error(p, command(p, "STLS", (size_t)-1, 0, err), "STLS refused", err);
    if (rc == 0) {
        mr_pop3_parser_reset(p->parser);
        mr_session_step(&p->mb.s, "starttls", 1, t0, "the server agreed");
        rc = mr_session_starttls(&p->mb.s, err);
    } else
        mr_session_step_error(&p->mb.s, "starttls", t0, err);
    return rc ? rc : capa(p, err);
}

/* --- login ------------------------------------------------------------- */

static int user_pass(struct pop3 *p, mr_error *err)
{
    const struct mr_mailbox_config *c = p->mb.s.cfg;
    char *cmd = mr_xasprintf("USER %s", c->username);
    int rc = command(p, cmd, (size_t)-1, 0, err);
    free(cmd);
    if (rc)
        return rc;
    cmd = mr_xasprintf("PASS %s", c->password);
    rc = command(p, cmd, 5, 0, err);
    memset(cmd, 0, strlen(cmd));
    free(cmd);
    return rc;
}

static int apop(struct pop3 *p, mr_error *err)
{
    const struct mr_mailbox_config *c = p->mb.s.cfg;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    if (!p->stamp[0])
        return mr_error_set(err, MR_EAUTH, "auth",
                            "APOP needs a timestamp in the server's "
                            "greeting, and this server sent none");
    EVP_MD_CTX *md5 = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md5, EVP_md5(), NULL);
    EVP_DigestUpdate(md5, p->stamp, strlen(p->stamp));
    EVP_DigestUpdate(md5, c->password, strlen(c->password));
    EVP_DigestFinal_ex(md5, md, &len);
    EVP_MD_CTX_free(md5);
    for (unsigned i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    char *cmd = mr_xasprintf("APOP %s %s", c->username, hex);
    int rc = command(p, cmd, 6 + strlen(c->username), 0, err);
    free(cmd);
    return rc;
}

/* RFC 2449 section 4: a command line is at most 255 octets with its CRLF. */
#define POP3_COMMAND_MAX 255

/* Frees a string that may hold a secret (a SASL payload). */
static void free_secret(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

/* AUTH MECH with the initial response when the line can carry it (RFC 5034
 * section 4; "=" for an empty one): *initial is then used up. Otherwise
 * AUTH MECH alone, and *initial goes after the server's "+". */
static int auth_command(struct pop3 *p, const char *mech, char **initial, mr_error *err)
{
    char *cmd;
    if (*initial && strlen("AUTH  \r\n") + strlen(mech) + strlen(*initial) <= POP3_COMMAND_MAX) {
        cmd = mr_xasprintf("AUTH %s %s", mech, **initial ? *initial : "=");
        free_secret(*initial);
        *initial = NULL;
    } else
        cmd = mr_xasprintf("AUTH %s", mech);
    mr_pop3_parser_expect(p->parser, 0);
    int rc = mr_session_queue(&p->mb.s, cmd, 6 + strlen(mech), err);
    free_secret(cmd);
    return rc;
}

/* RFC 2449 and 3206: a passing condition, not a refused credential. */
static int temporary(const char *text)
{
    return strncasecmp(text, "[SYS/TEMP]", 10) == 0 || strncasecmp(text, "[IN-USE]", 8) == 0 ||
           strncasecmp(text, "[LOGIN-DELAY]", 13) == 0;
}

static int sasl_auth(struct pop3 *p, const char *mech, struct mr_mailbox_status *st, mr_error *err)
{
    const struct mr_mailbox_config *c = p->mb.s.cfg;
    struct mr_sasl_login who = {c->username, c->password, c->bearer_token, c->host, c->port};
    struct mr_sasl *sasl = NULL;
    struct mr_pop3_event ev;
    char *initial = NULL, *answer = NULL;
    int done = 0;
    int rc = mr_sasl_start(&sasl, mech, &who, err);
    if (rc)
        return rc;
    if (mr_sasl_client_first(mech))
        rc = mr_sasl_step(sasl, "", &initial, &done, err);
    if (rc == 0)
        rc = auth_command(p, mech, &initial, err);
    while (rc == 0 && (rc = mr_session_flush(&p->mb.s, err)) == 0 &&
           (mr_session_expect_answer(&p->mb.s, "AUTH"), rc = status(p, &ev, err)) == 0 &&
           ev.type == MR_POP3_CONTINUE) {
        if (initial) { /* the initial response the AUTH line could not carry */
            answer = initial;
            initial = NULL;
        } else /* ev.text: the whole challenge (p->text may have cut it) */
            rc = mr_sasl_step(sasl, ev.text, &answer, &done, err);
        if (rc == 0)
            rc = mr_session_queue(&p->mb.s, answer, 0, err);
        free_secret(answer);
        answer = NULL;
    }
    /* a token still waiting for the "+" was never sent: the refusal was
     * of the mechanism (the caller's own message then) */
    if (rc == MR_ESERVER && mr_sasl_is_bearer(mech) && !initial)
        rc = mr_sasl_bearer_refused(sasl, p->text, temporary(p->text), st, err);
    free_secret(initial);
    mr_sasl_free(&sasl);
    return rc;
}

/* "auto": with a password the strongest SASL mechanism both sides know,
 * else USER/PASS; with a bearer token OAUTHBEARER, else XOAUTH2 (sasl.h). */
static int choose(struct pop3 *p, char *mech, size_t size, mr_error *err)
{
    const struct mr_mailbox_config *c = p->mb.s.cfg;
    int rc = mr_sasl_pick(c->auth, p->sasl, c->bearer_token != NULL, mech, size, err);
    if (rc == MR_ENOTFOUND) {
        snprintf(mech, size, "USER");
        rc = 0;
    }
    return rc;
}

static int login(struct pop3 *p, struct mr_mailbox_status *st, mr_error *err)
{
    char mech[32];
    int64_t t0 = mr_now_ms();
    int rc = choose(p, mech, sizeof(mech), err);
    if (rc) {
        mr_session_step_error(&p->mb.s, "authentication", t0, err);
        return rc;
    }
    int sasl = strcasecmp(mech, "USER") != 0 && strcasecmp(mech, "APOP") != 0;
    /* an explicit mechanism the server does not list: said first, then tried */
    char unoffered[320] = "";
    if (sasl && p->mb.s.cfg->auth && mr_sasl_unoffered(mech, p->sasl, unoffered, sizeof(unoffered)))
        mr_session_step(&p->mb.s, "authentication", -1, 0, "%s; trying it anyway", unoffered);
    rc = !sasl ? (strcasecmp(mech, "USER") == 0 ? user_pass(p, err) : apop(p, err))
               : sasl_auth(p, mech, st, err);
    snprintf(st->mechanism, sizeof(st->mechanism), "%s", mech);
    if (rc == MR_ESERVER && unoffered[0])
        rc = mr_error_set(err, MR_EAUTH, "auth", "%s; tried anyway, it refused the login: %s",
                          unoffered, p->text);
    else if (rc == MR_ESERVER)
        rc = mr_error_set(err, MR_EAUTH, "auth", "the server refused the login (%s): %s", mech,
                          p->text);
    else if (rc && unoffered[0])
        mr_error_prefix(err, "%s", unoffered);
    /* the mechanism once: most errors name it already */
    int named = rc && strstr(err->message, mech);
    mr_session_step(&p->mb.s, "authentication", rc == 0, t0, "%s%s%s", named ? "" : mech,
                    rc ? (named ? "" : ": ") : " accepted", rc ? err->message : "");
    return rc;
}

static int read_stat(struct pop3 *p, struct mr_mailbox_status *st, mr_error *err)
{
    unsigned long long count = 0, size = 0;
    int64_t t0 = mr_now_ms();
    int rc = server_error(p, command(p, "STAT", (size_t)-1, 0, err), "STAT failed", err);
    if (rc == 0 && sscanf(p->text, "%llu %llu", &count, &size) != 2)
        rc = mr_error_set(err, MR_EPROTO, "", "STAT answered '%.60s', not a count and a size",
                          p->text);
    st->messages = count;
    st->total_size = size;
    if (rc)
        mr_session_step_error(&p->mb.s, "stat", t0, err);
    else
        mr_session_step(&p->mb.s, "stat", 1, t0, "%llu messages, %llu bytes", count, size);
    return rc;
}

static int pop3_open(struct mr_mailbox **out, const struct mr_mailbox_config *cfg,
                     struct mr_mailbox_status *st, mr_error *err)
{
    struct pop3 *p = mr_xcalloc(1, sizeof(*p));
    memset(st, 0, sizeof(*st));
    p->mb.driver = &mr_pop3_driver;
    mr_session_init(&p->mb.s, cfg, "POP3");
    mr_buf_init(&p->lines, 64u << 20);
    p->parser = mr_pop3_parser_new();
    int rc = mr_session_connect(&p->mb.s, err);
    if (rc == 0)
        rc = greeting(p, err);
    if (rc == 0)
        rc = capa(p, err);
    if (rc == 0)
        rc = stls(p, err);
    if (rc == 0)
        rc = login(p, st, err);
    if (rc == 0)
        rc = read_stat(p, st, err);
    st->has_uidl = has_cap(p, "UIDL");
    if (rc == 0 && !st->has_uidl)
        mr_session_step(&p->mb.s, "uidl", -1, 0,
                        "the server does not support UIDL: mailroom recognises messages it "
                        "already has by their SHA-256, which means downloading them again");
    *out = &p->mb;
    if (rc)
        mr_pop3_driver.close(out, NULL);
    return rc;
}

/* --- list, fetch, remove, close ---------------------------------------- */

/* "N VALUE" lines of UIDL or LIST into refs (by message number). */
static int parse_listing(struct pop3 *p, struct mr_message_ref *refs, size_t n, int uidl,
                         mr_error *err)
{
    for (char *save = NULL, *line = strtok_r(p->lines.data ? p->lines.data : "", "\r\n", &save);
         line; line = strtok_r(NULL, "\r\n", &save)) {
        unsigned long long num = 0, size = 0;
        char id[72]; /* RFC 1939: a unique-id is 1 to 70 characters */
        int ok = uidl ? sscanf(line, "%llu %71s", &num, id) == 2 && strlen(id) <= 70
                      : sscanf(line, "%llu %llu", &num, &size) == 2;
        if (!ok || num == 0 || num > n)
            return mr_error_set(err, MR_EPROTO, "",
                                "%s answered a line '%.60s' that names no "
                                "message of the %zu in the maildrop",
                                uidl ? "UIDL" : "LIST", line, n);
        if (uidl)
            memcpy(refs[num - 1].uidl, id, sizeof(id));
        else
            refs[num - 1].size = size;
    }
    return 0;
}

static int pop3_list(struct mr_mailbox *mb, uint64_t min_uid, struct mr_message_ref **out,
                     size_t *n, mr_error *err)
{
    struct pop3 *p = (struct pop3 *)mb;
    (void)min_uid;
    *out = NULL;
    *n = 0;
    int rc = server_error(p, command(p, "STAT", (size_t)-1, 0, err), "STAT failed", err);
    unsigned long long count = 0, size;
    if (rc == 0 && sscanf(p->text, "%llu %llu", &count, &size) != 2)
        rc = mr_error_set(err, MR_EPROTO, "", "STAT answered '%.60s'", p->text);
    if (rc || count == 0)
        return rc;
    if (count > 10000000)
        return mr_error_set(err, MR_EPROTO, "", "STAT claims %llu messages", count);
    struct mr_message_ref *refs = mr_xcalloc((size_t)count, sizeof(*refs));
    for (size_t i = 0; i < count; i++)
        refs[i].uid = i + 1;
    rc = server_error(p, command(p, "LIST", (size_t)-1, 1, err), "LIST failed", err);
    if (rc == 0)
        rc = parse_listing(p, refs, (size_t)count, 0, err);
    if (rc == 0 && has_cap(p, "UIDL")) {
        rc = server_error(p, command(p, "UIDL", (size_t)-1, 1, err), "UIDL failed", err);
        if (rc == 0)
            rc = parse_listing(p, refs, (size_t)count, 1, err);
    }
    if (rc) {
        free(refs);
        return rc;
    }
    *out = refs;
    *n = (size_t)count;
    return 0;
}

static int send_retr(struct pop3 *p, const struct mr_message_ref *r, mr_error *err)
{
    char cmd[40];
    snprintf(cmd, sizeof(cmd), "RETR %llu", (unsigned long long)r->uid);
    return mr_session_queue(&p->mb.s, cmd, (size_t)-1, err);
}

/* One RETR answer: +OK, the body to the sink, the final dot. first: the
 * fetch's first message (garbage before a later one's status line is most
 * likely the end of the one before). */
static int read_retr(struct pop3 *p, const struct mr_message_ref *first,
                     const struct mr_message_ref *r, const struct mr_fetch_sink *sink,
                     mr_error *err)
{
    struct mr_pop3_event ev;
    mr_pop3_parser_expect(p->parser, 1);
    mr_session_expect(&p->mb.s, 0, "the answer to RETR %llu", (unsigned long long)r->uid);
    int rc = status(p, &ev, err);
    if (rc == MR_ESERVER)
        return mr_error_set(err, MR_ESERVER, "", "RETR %llu failed: %s", (unsigned long long)r->uid,
                            p->text);
    if (rc == MR_EPROTO && r > first) /* bytes of the answer before, past its final "." */
        mr_error_prefix(err,
                        "RETR %llu: no status line where its answer begins (the message before "
                        "may hold a line '.' the server did not dot-stuff)",
                        (unsigned long long)r->uid);
    else if (rc == MR_EPROTO)
        mr_error_prefix(err, "RETR %llu", (unsigned long long)r->uid);
    mr_session_expect(&p->mb.s, 1, "message %llu (RETR)", (unsigned long long)r->uid);
    if (rc == 0)
        rc = sink->begin(sink->ctx, r->size, err);
    while (rc == 0 && (rc = next_event(p, &ev, err)) == 0 && ev.type == MR_POP3_DATA)
        rc = sink->data(sink->ctx, ev.data, ev.len, err);
    if (rc == 0 && ev.type != MR_POP3_END)
        rc = mr_error_set(err, MR_EPROTO, "", "RETR %llu: unexpected answer",
                          (unsigned long long)r->uid);
    return rc ? rc : sink->done(sink->ctx, r, err);
}

static int pop3_fetch(struct mr_mailbox *mb, const struct mr_message_ref *refs, size_t n,
                      const struct mr_fetch_sink *sink, mr_error *err)
{
    struct pop3 *p = (struct pop3 *)mb;
    size_t window = has_cap(p, "PIPELINING") ? RETR_WINDOW : 1, sent = 0;
    int rc = 0;
    for (size_t done = 0; done < n && rc == 0; done++) {
        if (sent < n && sent - done <= window / 2) {
            while (rc == 0 && sent < n && sent < done + window)
                rc = send_retr(p, &refs[sent++], err);
            if (rc == 0)
                rc = mr_session_flush(&p->mb.s, err);
        }
        if (rc == 0)
            rc = read_retr(p, refs, &refs[done], sink, err);
    }
    return rc;
}

static int pop3_remove(struct mr_mailbox *mb, const struct mr_message_ref *refs, size_t n,
                       mr_error *err)
{
    struct pop3 *p = (struct pop3 *)mb;
    size_t window = has_cap(p, "PIPELINING") ? RETR_WINDOW : 1, sent = 0;
    int rc = 0;
    p->deleted = 1;
    for (size_t done = 0; done < n && rc == 0; done++) {
        char cmd[40];
        if (sent < n && sent - done <= window / 2) {
            while (rc == 0 && sent < n && sent < done + window) {
                snprintf(cmd, sizeof(cmd), "DELE %llu", (unsigned long long)refs[sent++].uid);
                rc = mr_session_queue(&p->mb.s, cmd, (size_t)-1, err);
            }
            if (rc == 0)
                rc = mr_session_flush(&p->mb.s, err);
        }
        struct mr_pop3_event ev;
        mr_pop3_parser_expect(p->parser, 0);
        mr_session_expect(&p->mb.s, 0, "the answer to DELE %llu",
                          (unsigned long long)refs[done].uid);
        if (rc == 0)
            rc = status(p, &ev, err);
        if (rc == MR_ESERVER)
            rc = mr_error_set(err, MR_ESERVER, "", "DELE %llu failed: %s",
                              (unsigned long long)refs[done].uid, p->text);
        else if (rc == MR_EPROTO)
            mr_error_prefix(err, "DELE %llu", (unsigned long long)refs[done].uid);
    }
    return rc;
}

static int pop3_close(struct mr_mailbox **mbp, mr_error *err)
{
    struct pop3 *p = (struct pop3 *)*mbp;
    int rc = 0;
    if (!p)
        return 0;
    if (p->mb.s.conn && err) {
        mr_error e = {0};
        rc = command(p, "QUIT", (size_t)-1, 0, &e);
        if (rc && p->deleted)
            rc = mr_error_set(err, rc, "",
                              "QUIT failed, so the server did not delete the "
                              "messages (they are stored; the next run deletes them): %s",
                              rc == MR_ESERVER ? p->text : e.message);
        else
            rc = 0;
    }
    mr_pop3_parser_free(&p->parser);
    mr_buf_free(&p->lines);
    mr_session_free(&p->mb.s);
    free(p);
    *mbp = NULL;
    return rc;
}

const struct mr_mailbox_driver mr_pop3_driver = {
    "pop3", pop3_open, pop3_list, pop3_fetch, pop3_remove, pop3_close, NULL, NULL, NULL, NULL,
};

const struct mr_mailbox_driver *mr_mailbox_driver_for(enum mr_protocol proto)
{
    extern const struct mr_mailbox_driver mr_imap_driver;
    return proto == MR_PROTO_POP3 ? &mr_pop3_driver : &mr_imap_driver;
}
