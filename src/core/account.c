#include "core/account.h"

#include "core/names.h"
#include "util/mem.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The documented SASL mechanisms, and the two POP3 logins that are not SASL. */
static const char *const sasl_mechanisms[] = {
    "PLAIN", "LOGIN",       "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256",
    "NTLM",  "OAUTHBEARER", "XOAUTH2",  NULL,
};
static const char *const pop3_only_mechanisms[] = {"USER", "APOP", NULL};

static int parse_protocol(const char *text, int *out);
static int parse_security(const char *text, int *out);
static int parse_after_fetch(const char *text, int *out);
static int parse_action_when(const char *text, int *out);

#define AT(member) offsetof(struct mr_account, member)

const struct mr_field mr_account_fields[] = {
    {"name", "Account name", MR_FIELD_TEXT, "text, unique", AT(name), 0, 0, 0, NULL},
    {"keep_copy", "Keep a copy on the server", MR_FIELD_BOOL, "yes|no", AT(keep_copy), 0, 0, 0,
     NULL},
    {"after_fetch", "After fetch", MR_FIELD_CHOICE,
     "keep|seen|move|delete (POP3: keep|delete), empty to follow keep copy", AT(after_fetch), 0, 0,
     1, parse_after_fetch},
    {"move_folder", "Move to folder", MR_FIELD_TEXT, "IMAP folder, for after fetch move",
     AT(move_folder), 0, 0, 1, NULL},
    {"create_folder", "Create the folder if missing", MR_FIELD_BOOL, "yes|no", AT(create_folder), 0,
     0, 0, NULL},
    {"action_when", "Do it once the message is", MR_FIELD_CHOICE, "stored|delivered",
     AT(action_when), 0, 0, 1, parse_action_when},
    {"automatic_check", "Automatic check", MR_FIELD_BOOL, "yes|no", AT(automatic_check), 0, 0, 0,
     NULL},
    {"push", "Push (IDLE)", MR_FIELD_BOOL, "yes|no (IMAP: hear of new mail at once)", AT(push), 0,
     0, 0, NULL},
    {"interval", "Check interval (seconds)", MR_FIELD_INT, "30-604800", AT(interval),
     MR_INTERVAL_MIN, MR_INTERVAL_MAX, 0, NULL},
    {"enabled", "Enabled", MR_FIELD_BOOL, "yes|no", AT(enabled), 0, 0, 0, NULL},
    {"address", "Address", MR_FIELD_TEXT, "host name or IP address", AT(address), 0, 0, 0, NULL},
    {"port", "Port", MR_FIELD_INT, "1-65535, empty for the default", AT(port), 1, 65535, 1, NULL},
    {"protocol", "Protocol", MR_FIELD_CHOICE, "imap|pop3", AT(protocol), 0, 0, 0, parse_protocol},
    {"use_connector", "Use network connector", MR_FIELD_BOOL, "yes|no", AT(use_connector), 0, 0, 0,
     NULL},
    {"connector", "Network connector", MR_FIELD_REF, "ID or name, empty for the default",
     AT(connector_id), 0, 0, 1, NULL},
    {"credential", "Credential for authentication", MR_FIELD_REF, "ID or name", AT(credential_id),
     0, 0, 0, NULL},
    {"skip_certificate", "Skip certificate", MR_FIELD_BOOL, "yes|no", AT(skip_certificate), 0, 0, 0,
     NULL},
    {"security", "Secure connection", MR_FIELD_CHOICE, "none|starttls-optional|starttls|tls",
     AT(security), 0, 0, 0, parse_security},
    {"folder", "Mailbox folder", MR_FIELD_TEXT, "IMAP folder, empty for INBOX", AT(folder), 0, 0, 1,
     NULL},
    {"max_message_size", "Largest message to fetch (bytes)", MR_FIELD_INT,
     "1024-1073741824, empty for 64 MiB", AT(max_message_size), MR_MAX_SIZE_MIN, MR_MAX_SIZE_MAX, 1,
     NULL},
    {"step_timeout", "Step timeout (seconds)", MR_FIELD_INT, "5-3600, empty for 60",
     AT(step_timeout), MR_STEP_TIMEOUT_MIN, MR_STEP_TIMEOUT_MAX, 1, NULL},
    {"min_speed", "Low-speed limit (bytes per second)", MR_FIELD_INT,
     "1-1073741824, empty for 1024", AT(min_speed), 1, MR_MIN_SPEED_MAX, 1, NULL},
    {"min_speed_time", "Low-speed time (seconds)", MR_FIELD_INT, "5-3600, empty for 60",
     AT(min_speed_time), MR_STEP_TIMEOUT_MIN, MR_STEP_TIMEOUT_MAX, 1, NULL},
    {"size_tolerance", "POP3 size tolerance (%)", MR_FIELD_INT, "0-100, empty for 0 (exact)",
     AT(size_tolerance), 0, MR_SIZE_TOLERANCE_MAX, 1, NULL},
    {"ca_file", "CA certificates file", MR_FIELD_TEXT, "a PEM file, empty for none", AT(ca_file), 0,
     0, 1, NULL},
    {"auth", "Authentication mechanism", MR_FIELD_TEXT,
     "auto|PLAIN|LOGIN|CRAM-MD5|SCRAM-SHA-1|SCRAM-SHA-256|NTLM|OAUTHBEARER|XOAUTH2 (POP3 also "
     "USER|APOP)",
     AT(auth), 0, 0, 1, NULL},
};
const size_t mr_account_field_count = sizeof(mr_account_fields) / sizeof(mr_account_fields[0]);

const struct mr_field *mr_account_field(const char *key)
{
    for (size_t i = 0; i < mr_account_field_count; i++)
        if (strcmp(mr_account_fields[i].key, key) == 0)
            return &mr_account_fields[i];
    return NULL;
}

void mr_account_init(struct mr_account *a)
{
    memset(a, 0, sizeof(*a));
    a->keep_copy = 1;
    a->automatic_check = 1;
    a->push = 1;
    a->interval = MR_INTERVAL_DEFAULT;
    a->enabled = 1;
    a->security = MR_SEC_TLS; /* implicit TLS, as RFC 8314 recommends */
}

void mr_account_clear(struct mr_account *a)
{
    mr_freep(&a->name);
    mr_freep(&a->address);
    mr_freep(&a->folder);
    mr_freep(&a->auth);
    mr_freep(&a->ca_file);
    mr_freep(&a->move_folder);
}

void mr_account_copy(struct mr_account *dst, const struct mr_account *src)
{
    *dst = *src;
    dst->name = mr_xstrdup_or_null(src->name);
    dst->address = mr_xstrdup_or_null(src->address);
    dst->folder = mr_xstrdup_or_null(src->folder);
    dst->auth = mr_xstrdup_or_null(src->auth);
    dst->ca_file = mr_xstrdup_or_null(src->ca_file);
    dst->move_folder = mr_xstrdup_or_null(src->move_folder);
}

int mr_default_port(enum mr_protocol proto, enum mr_security sec)
{
    int tls = sec == MR_SEC_TLS;
    if (proto == MR_PROTO_POP3)
        return tls ? 995 : 110;
    return tls ? 993 : 143;
}

int mr_account_port(const struct mr_account *a)
{
    return a->port ? a->port : mr_default_port(a->protocol, a->security);
}

const char *mr_account_folder(const struct mr_account *a)
{
    if (a->protocol == MR_PROTO_POP3)
        return NULL;
    return a->folder ? a->folder : "INBOX";
}

long long mr_account_max_size(const struct mr_account *a)
{
    return a->max_message_size ? a->max_message_size : MR_MAX_SIZE_DEFAULT;
}

int mr_account_step_timeout(const struct mr_account *a)
{
    return a->step_timeout ? a->step_timeout : MR_STEP_TIMEOUT_DEFAULT;
}

int mr_account_min_speed(const struct mr_account *a)
{
    return a->min_speed ? a->min_speed : MR_MIN_SPEED_DEFAULT;
}

int mr_account_min_speed_time(const struct mr_account *a)
{
    return a->min_speed_time ? a->min_speed_time : MR_MIN_SPEED_TIME_DEFAULT;
}

enum mr_after_fetch mr_account_after_fetch(const struct mr_account *a)
{
    if (a->after_fetch != MR_AFTER_UNSET)
        return a->after_fetch;
    return a->keep_copy ? MR_AFTER_KEEP : MR_AFTER_DELETE;
}

static int same_text(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

int mr_account_same_destination(const struct mr_account *a, const struct mr_account *b)
{
    return mr_str_ieq(a->address, b->address) && mr_account_port(a) == mr_account_port(b) &&
           a->protocol == b->protocol && a->security == b->security &&
           a->use_connector == b->use_connector &&
           (!a->use_connector || a->connector_id == b->connector_id) &&
           a->skip_certificate == b->skip_certificate && same_text(a->ca_file, b->ca_file);
}

int mr_account_is_secure(const struct mr_account *a)
{
    return a->security != MR_SEC_NONE;
}

const char *mr_protocol_name(enum mr_protocol p)
{
    return p == MR_PROTO_IMAP ? "imap" : p == MR_PROTO_POP3 ? "pop3" : "";
}

const char *mr_protocol_display(enum mr_protocol p)
{
    return p == MR_PROTO_IMAP ? "IMAP" : p == MR_PROTO_POP3 ? "POP3" : "";
}

int mr_protocol_parse(const char *s, enum mr_protocol *out)
{
    if (strcasecmp(s, "imap") == 0)
        *out = MR_PROTO_IMAP;
    else if (strcasecmp(s, "pop3") == 0)
        *out = MR_PROTO_POP3;
    else
        return MR_EINVAL;
    return 0;
}

static const char *const security_names[] = {"none", "starttls-optional", "starttls", "tls"};

const char *mr_security_name(enum mr_security s)
{
    return (unsigned)s < 4 ? security_names[s] : "";
}

int mr_security_parse(const char *s, enum mr_security *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, security_names[i]) == 0) {
            *out = (enum mr_security)i;
            return 0;
        }
    }
    return MR_EINVAL;
}

const char *mr_security_connection_type(enum mr_security s)
{
    switch (s) {
    case MR_SEC_TLS:
        return "SSL";
    case MR_SEC_STARTTLS:
    case MR_SEC_STARTTLS_OPTIONAL:
        return "TLS";
    default:
        return "";
    }
}

static const char *const after_fetch_names[] = {"", "keep", "seen", "move", "delete"};

const char *mr_after_fetch_name(enum mr_after_fetch f)
{
    return (unsigned)f <= MR_AFTER_DELETE ? after_fetch_names[f] : "";
}

int mr_after_fetch_parse(const char *s, enum mr_after_fetch *out)
{
    for (int i = MR_AFTER_KEEP; i <= MR_AFTER_DELETE; i++) {
        if (strcasecmp(s, after_fetch_names[i]) == 0) {
            *out = (enum mr_after_fetch)i;
            return 0;
        }
    }
    return MR_EINVAL;
}

const char *mr_action_when_name(enum mr_action_when w)
{
    return w == MR_WHEN_DELIVERED ? "delivered" : "stored";
}

int mr_action_when_parse(const char *s, enum mr_action_when *out)
{
    if (strcasecmp(s, "stored") == 0)
        *out = MR_WHEN_STORED;
    else if (strcasecmp(s, "delivered") == 0)
        *out = MR_WHEN_DELIVERED;
    else
        return MR_EINVAL;
    return 0;
}

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcasecmp(*list, s) == 0)
            return 1;
    return 0;
}

static int parse_protocol(const char *text, int *out)
{
    enum mr_protocol p;
    int rc = mr_protocol_parse(text, &p);
    *out = rc ? 0 : (int)p;
    return rc;
}

static int parse_security(const char *text, int *out)
{
    enum mr_security s;
    int rc = mr_security_parse(text, &s);
    *out = rc ? 0 : (int)s;
    return rc;
}

static int parse_after_fetch(const char *text, int *out)
{
    enum mr_after_fetch f;
    int rc = mr_after_fetch_parse(text, &f);
    *out = rc ? 0 : (int)f;
    return rc;
}

static int parse_action_when(const char *text, int *out)
{
    enum mr_action_when w;
    int rc = mr_action_when_parse(text, &w);
    *out = rc ? 0 : (int)w;
    return rc;
}

static void *member(struct mr_account *a, const struct mr_field *f)
{
    return (char *)a + f->offset;
}

static int set_int(struct mr_account *a, const struct mr_field *f, const char *text,
                   struct mr_problems *p)
{
    long long v;
    int rc = mr_parse_int(text, f->min, f->max, &v);
    if (rc == MR_EINVAL)
        mr_problems_add(p, f->key, "expected a whole number, got '%.40s'", text);
    else if (rc)
        mr_problems_add(p, f->key, "must be between %lld and %lld", f->min, f->max);
    else if (f->offset == offsetof(struct mr_account, max_message_size))
        *(long long *)member(a, f) = v;
    else
        *(int *)member(a, f) = (int)v;
    return rc ? MR_EINVAL : 0;
}

static int set_ref(struct mr_account *a, const struct mr_field *f, const char *text,
                   struct mr_problems *p)
{
    long long v;
    if (!*text) {
        mr_problems_add(p, f->key, "is required");
        return MR_EINVAL;
    }
    if (mr_parse_int(text, 1, INT64_MAX, &v) != 0) {
        mr_problems_add(p, f->key, "expected an ID, got '%.40s'", text);
        return MR_EINVAL;
    }
    *(int64_t *)member(a, f) = v;
    return 0;
}

/* Text fields, normalised: [IPv6] loses its brackets, INBOX is the default
 * folder, "auto" is the default mechanism and mechanism names are upper case. */
static int set_text(struct mr_account *a, const struct mr_field *f, const char *text,
                    struct mr_problems *p)
{
    char **dst = member(a, f);
    size_t n = strlen(text);
    if (strcmp(f->key, "auth") == 0 && strcasecmp(text, "auto") == 0)
        n = 0;
    if (strcmp(f->key, "auth") == 0 && n && !in_list(sasl_mechanisms, text) &&
        !in_list(pop3_only_mechanisms, text)) {
        mr_problems_add(p, f->key, "expected one of %s, got '%.40s'", f->values, text);
        return MR_EINVAL;
    }
    if (strcmp(f->key, "folder") == 0 && strcasecmp(text, "INBOX") == 0)
        n = 0;
    if (strcmp(f->key, "address") == 0 && n > 2 && text[0] == '[' && text[n - 1] == ']') {
        text++;
        n -= 2;
    }
    free(*dst);
    *dst = n ? mr_xasprintf("%.*s", (int)n, text) : NULL;
    if (*dst && strcmp(f->key, "auth") == 0)
        for (char *c = *dst; *c; c++)
            *c = (char)toupper((unsigned char)*c);
    return 0;
}

long long mr_account_get_int(const struct mr_account *a, const struct mr_field *f)
{
    if (strcmp(f->key, "port") == 0)
        return mr_account_port(a);
    if (strcmp(f->key, "max_message_size") == 0)
        return mr_account_max_size(a);
    if (strcmp(f->key, "step_timeout") == 0)
        return mr_account_step_timeout(a);
    if (strcmp(f->key, "min_speed") == 0)
        return mr_account_min_speed(a);
    if (strcmp(f->key, "min_speed_time") == 0)
        return mr_account_min_speed_time(a);
    if (f->kind == MR_FIELD_REF)
        return *(const int64_t *)((const char *)a + f->offset);
    return *(const int *)((const char *)a + f->offset);
}

const char *mr_account_get(const struct mr_account *a, const struct mr_field *f, char *buf,
                           size_t size)
{
    const char *text;
    switch (f->kind) {
    case MR_FIELD_BOOL:
        return mr_yes_no((int)mr_account_get_int(a, f));
    case MR_FIELD_CHOICE:
        if (strcmp(f->key, "after_fetch") == 0)
            return mr_after_fetch_name(mr_account_after_fetch(a));
        if (strcmp(f->key, "action_when") == 0)
            return mr_action_when_name(a->action_when);
        return strcmp(f->key, "protocol") == 0 ? mr_protocol_name(a->protocol)
                                               : mr_security_name(a->security);
    case MR_FIELD_INT:
    case MR_FIELD_REF:
        if (mr_account_get_int(a, f) == 0 && f->kind == MR_FIELD_REF)
            return ""; /* no reference; a 0 size tolerance is shown */
        snprintf(buf, size, "%lld", mr_account_get_int(a, f));
        return buf;
    case MR_FIELD_TEXT:
        break;
    }
    if (strcmp(f->key, "folder") == 0)
        text = mr_account_folder(a);
    else if (strcmp(f->key, "auth") == 0)
        text = a->auth ? a->auth : "auto";
    else
        text = *(char *const *)((const char *)a + f->offset);
    return text ? text : "";
}

static int reset_to_default(struct mr_account *a, const struct mr_field *f)
{
    if (f->kind == MR_FIELD_TEXT)
        mr_freep((char **)member(a, f));
    else if (f->kind == MR_FIELD_REF || f->offset == offsetof(struct mr_account, max_message_size))
        *(int64_t *)member(a, f) = 0;
    else
        *(int *)member(a, f) = 0;
    return 0;
}

/* Keep copy and the after-fetch action say the same thing: "keep a copy"
 * is every action but delete. Setting keep_copy changes a set action only
 * when they disagree (yes with delete becomes keep; no becomes delete), so
 * a form that sends both, consistent, gets what it sent in either order;
 * an unset action follows keep_copy by itself. */
static void couple_keep_copy(struct mr_account *a, const struct mr_field *f)
{
    if (strcmp(f->key, "after_fetch") == 0)
        a->keep_copy = a->after_fetch != MR_AFTER_DELETE;
    else if (strcmp(f->key, "keep_copy") == 0 && a->after_fetch != MR_AFTER_UNSET) {
        if (!a->keep_copy)
            a->after_fetch = MR_AFTER_DELETE;
        else if (a->after_fetch == MR_AFTER_DELETE)
            a->after_fetch = MR_AFTER_KEEP;
    }
}

int mr_account_set(struct mr_account *a, const char *key, const char *text, struct mr_problems *p)
{
    const struct mr_field *f = mr_account_field(key);
    if (!f) {
        mr_problems_add(p, key, "is not an account field");
        return MR_EINVAL;
    }
    if (f->empty_is_default &&
        (!*text || (f->kind == MR_FIELD_INT && strcasecmp(text, "default") == 0)))
        return reset_to_default(a, f);
    switch (f->kind) {
    case MR_FIELD_BOOL:
        if (mr_parse_yes_no(text, (int *)member(a, f)) == 0) {
            couple_keep_copy(a, f);
            return 0;
        }
        mr_problems_add(p, key, "expected yes or no, got '%.40s'", text);
        return MR_EINVAL;
    case MR_FIELD_INT:
        return set_int(a, f, text, p);
    case MR_FIELD_REF:
        return set_ref(a, f, text, p);
    case MR_FIELD_CHOICE:
        if (f->parse(text, (int *)member(a, f)) == 0) {
            couple_keep_copy(a, f);
            return 0;
        }
        mr_problems_add(p, key, "expected one of %s, got '%.40s'", f->values, text);
        return MR_EINVAL;
    case MR_FIELD_TEXT:
        return set_text(a, f, text, p);
    }
    return MR_EINVAL;
}

static void check_folder(const struct mr_account *a, struct mr_problems *p)
{
    if (!a->folder)
        return;
    if (a->protocol == MR_PROTO_POP3) {
        mr_problems_add(p, "folder", "only IMAP accounts have a folder (POP3 reads one maildrop)");
        return;
    }
    size_t n = strlen(a->folder);
    if (n > MR_FOLDER_MAX)
        mr_problems_add(p, "folder", "is longer than %d bytes", MR_FOLDER_MAX);
    else if (!mr_utf8_valid(a->folder, n) || mr_str_has_control(a->folder))
        mr_problems_add(p, "folder", "must be UTF-8 text without control characters");
}

/* "INBOX.Done" and "INBOX/Done" name one folder (the delimiter is the
 * server's), and INBOX is INBOX in any case. */
static int same_folder(const char *a, const char *b)
{
    if (strcasecmp(a, "INBOX") == 0 || strcasecmp(b, "INBOX") == 0)
        return strcasecmp(a, b) == 0;
    for (; *a && *b; a++, b++) {
        int da = *a == '.' || *a == '/', db = *b == '.' || *b == '/';
        if (da != db || (!da && *a != *b))
            return 0;
    }
    return *a == *b;
}

static void check_after_fetch(const struct mr_account *a, struct mr_problems *p)
{
    enum mr_after_fetch act = mr_account_after_fetch(a);
    if ((unsigned)a->after_fetch > MR_AFTER_DELETE)
        mr_problems_add(p, "after_fetch", "is not a known action");
    else if (a->protocol == MR_PROTO_POP3 && (act == MR_AFTER_SEEN || act == MR_AFTER_MOVE))
        mr_problems_add(p, "after_fetch",
                        "%s is for IMAP only: a POP3 server has no flags or folders, so a POP3 "
                        "account can only keep or delete a message",
                        mr_after_fetch_name(act));
    if ((unsigned)a->action_when > MR_WHEN_DELIVERED)
        mr_problems_add(p, "action_when", "is not stored or delivered");
    if (act == MR_AFTER_MOVE && !a->move_folder) {
        mr_problems_add(p, "move_folder", "is required when After fetch is move");
        return;
    }
    if (!a->move_folder)
        return;
    size_t n = strlen(a->move_folder);
    const char *fetched = mr_account_folder(a);
    if (n > MR_FOLDER_MAX)
        mr_problems_add(p, "move_folder", "is longer than %d bytes", MR_FOLDER_MAX);
    else if (!mr_utf8_valid(a->move_folder, n) || mr_str_has_control(a->move_folder))
        mr_problems_add(p, "move_folder", "must be UTF-8 text without control characters");
    else if (act == MR_AFTER_MOVE && fetched && same_folder(a->move_folder, fetched))
        mr_problems_add(p, "move_folder",
                        "must not be the folder mail is fetched from (moved messages would "
                        "come back as new)");
}

static void check_size_tolerance(const struct mr_account *a, struct mr_problems *p)
{
    if (a->size_tolerance && a->protocol == MR_PROTO_IMAP)
        mr_problems_add(p, "size_tolerance",
                        "only POP3 accounts have a size tolerance (IMAP sends exact sizes)");
}

static void check_ca_file(const struct mr_account *a, struct mr_problems *p)
{
    if (a->ca_file && (a->ca_file[0] != '/' || mr_str_has_control(a->ca_file)))
        mr_problems_add(p, "ca_file", "must be an absolute path");
}

static void check_auth(const struct mr_account *a, struct mr_problems *p)
{
    if (a->auth && a->protocol == MR_PROTO_IMAP && in_list(pop3_only_mechanisms, a->auth))
        mr_problems_add(p, "auth", "%s is a POP3 login; IMAP accounts use auto or a SASL mechanism",
                        a->auth);
}

static void check_connector(const struct mr_account *a, const struct mr_account_refs *refs,
                            struct mr_problems *p)
{
    if (!a->use_connector) {
        if (a->connector_id)
            mr_problems_add(p, "connector", "is set but Use network connector is no");
        return;
    }
    if (a->connector_id && !refs->connector_exists)
        mr_problems_add(p, "connector", "no network connector with ID %lld",
                        (long long)a->connector_id);
    else if (!a->connector_id && !refs->default_connector_set)
        mr_problems_add(p, "connector",
                        "is required when Use network connector is yes and no default "
                        "connector is set in settings");
}

int mr_account_validate(const struct mr_account *a, const struct mr_account_refs *refs,
                        struct mr_problems *p)
{
    size_t before = p->count;
    mr_check_name(a->name, "name", p);
    mr_check_host(a->address, "address", p);
    if (a->protocol == MR_PROTO_UNSET)
        mr_problems_add(p, "protocol", "is required (imap or pop3)");
    if (a->port)
        mr_check_port(a->port, "port", p);
    if (a->interval < MR_INTERVAL_MIN || a->interval > MR_INTERVAL_MAX)
        mr_problems_add(p, "interval", "must be between %d and %d seconds", MR_INTERVAL_MIN,
                        MR_INTERVAL_MAX);
    if ((unsigned)a->security > MR_SEC_TLS)
        mr_problems_add(p, "security", "is not a known security mode");
    if (!a->credential_id)
        mr_problems_add(p, "credential", "is required");
    else if (!refs->credential_exists)
        mr_problems_add(p, "credential", "no credential with ID %lld", (long long)a->credential_id);
    check_connector(a, refs, p);
    check_folder(a, p);
    check_auth(a, p);
    check_ca_file(a, p);
    check_size_tolerance(a, p);
    check_after_fetch(a, p);
    return p->count > before ? MR_EINVAL : 0;
}
