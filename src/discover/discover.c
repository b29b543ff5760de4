/* Setting up from an e-mail address (discover.h): presets, then DNS SRV,
 * then the autoconfig file; then every proposal probed at once, each in a
 * thread of its own, all within the run's deadline. */
#include "discover/discover.h"

#include "core/names.h"
#include "net/conn.h"
#include "report/views.h"
#include "util/clock.h"
#include "util/said.h"
#include "util/text.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <curl/curl.h>
#include <glib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DNS_ANSWER_MAX 4096 /* a larger DNS answer is refused */
#define IPS_MAX        8
#define LINE_MAX_BYTES 8192

struct run {
    const struct mr_discover_options *o;
    struct mr_discover_result *res;
    const char *local; /* the address's local part (a copy) */
    int64_t deadline;
    int step_ms;
    int dns_dead; /* the DNS server did not answer once: not asked again (atomic: the
                   * probes' threads read and set it) */
};

/* e as fmt says it, with how it was said (mr_error_set's, from a va_list). */
static void said_v(mr_error *e, const char *fmt, va_list ap)
{
    char text[MR_ERROR_MESSAGE_MAX];
    struct mr_said said;
    va_list aq;
    va_copy(aq, ap);
    vsnprintf(text, sizeof(text), fmt, ap);
    mr_said_capture(&said, fmt, aq);
    va_end(aq);
    mr_error_set(e, 0, "", "%s", text);
    if (strcmp(e->message, text) == 0)
        e->said = said;
}

/* A sentence of a table (marked SAID for scripts/said-catalog.py), said as
 * it is: it has no arguments. */
#define SAID(s) s
static void as_is(mr_error *e, const char *sentence, ...)
{
    va_list ap;
    va_start(ap, sentence);
    said_v(e, sentence, ap);
    va_end(ap);
}

/* A note of the run: e's message, said as e was. */
static void note_error(struct run *r, const char *source, const mr_error *e)
{
    if (r->res->nnotes == MR_DISCOVER_NOTES_MAX)
        return;
    struct mr_discover_note *n = &r->res->notes[r->res->nnotes++];
    snprintf(n->source, sizeof(n->source), "%s", source);
    snprintf(n->text, sizeof(n->text), "%.*s", (int)sizeof(n->text) - 1, e->message);
    n->said = *e;
}

static void note(struct run *r, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct run *r, const char *source, const char *fmt, ...)
{
    mr_error e = {0};
    va_list ap;
    va_start(ap, fmt);
    said_v(&e, fmt, ap);
    va_end(ap);
    note_error(r, source, &e);
}

/* A sentence of a proposal's note (its sentences are joined by "; "). */
static void proposal_note(struct mr_discover_proposal *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void proposal_note_error(struct mr_discover_proposal *p, const mr_error *e)
{
    size_t len = strlen(p->note);
    snprintf(p->note + len, sizeof(p->note) - len, "%s%s", len ? "; " : "", e->message);
    if (p->nnotes < MR_DISCOVER_PROPOSAL_NOTES)
        p->notes[p->nnotes++] = *e;
}

static void proposal_note(struct mr_discover_proposal *p, const char *fmt, ...)
{
    mr_error e = {0};
    va_list ap;
    va_start(ap, fmt);
    said_v(&e, fmt, ap);
    va_end(ap);
    proposal_note_error(p, &e);
}

static int64_t left_ms(const struct run *r)
{
    return r->deadline - mr_now_ms();
}

/* The deadline of the next step: step_ms, or what is left of the run. */
static int step_budget(const struct run *r)
{
    int64_t left = left_ms(r);
    return left < r->step_ms ? (int)(left > 0 ? left : 0) : r->step_ms;
}

/* --- the address and the options --------------------------------------- */

int mr_discover_check_email(const char *email, const char **domain, mr_error *err)
{
    const char *at = email ? strrchr(email, '@') : NULL;
    if (!email || !*email)
        return mr_error_set(err, MR_EINVAL, "email",
                            "is required: an e-mail address such as "
                            "someone@example.com");
    if (strlen(email) >= sizeof(((struct mr_discover_result *)0)->email))
        return mr_error_set(err, MR_EINVAL, "email", "is longer than 319 characters");
    if (!mr_utf8_valid(email, strlen(email)))
        return mr_error_set(err, MR_EINVAL, "email", "is not valid UTF-8");
    if (!at || at == email || !at[1])
        return mr_error_set(err, MR_EINVAL, "email",
                            "'%s' is not an e-mail address: expected name@domain, such as "
                            "someone@example.com",
                            email);
    for (const char *p = email; p < at; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\' || *p == 0x7f)
            return mr_error_set(err, MR_EINVAL, "email",
                                "the part before '@' has a space, quote or control character");
    struct mr_problems pr = {0};
    mr_check_host(at + 1, "email", &pr);
    if (pr.count || !strchr(at + 1, '.') || at[1] == '[')
        return mr_error_set(err, MR_EINVAL, "email",
                            "'%s' after '@' is not a domain name (such as example.com)", at + 1);
    *domain = at + 1;
    return 0;
}

static int parse_dns(const char *dns, struct sockaddr_in *sa)
{
    char host[64];
    long port = 53;
    const char *colon = strrchr(dns, ':');
    size_t n = colon ? (size_t)(colon - dns) : strlen(dns);
    if (n == 0 || n >= sizeof(host))
        return -1;
    memcpy(host, dns, n);
    host[n] = 0;
    if (colon) {
        char *end;
        port = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || port < 1 || port > 65535)
            return -1;
    }
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int mr_discover_check_dns(const char *dns, mr_error *err)
{
    struct sockaddr_in sa;
    if (dns && parse_dns(dns, &sa) != 0)
        return mr_error_set(err, MR_EINVAL, "dns",
                            "expected an IPv4 address and a port, such as 192.0.2.53:53, got '%s'",
                            dns);
    return 0;
}

/* --- DNS through the C library's resolver -------------------------------- */

/* One query; the answer's length, or -1 (-2: no such record) with *why
 * said. Each call has a resolver state of its own (the probes run in
 * threads). */
static int dns_query(struct run *r, const char *name, int type, unsigned char *buf, mr_error *why)
{
    if (__atomic_load_n(&r->dns_dead, __ATOMIC_RELAXED)) {
        mr_error_set(why, 0, "", "not asked: the DNS server did not answer before");
        return -1;
    }
    int budget = step_budget(r);
    if (budget < 1000) {
        mr_error_set(why, 0, "", "not asked: the discovery's time was used up");
        return -1;
    }
    struct __res_state st;
    memset(&st, 0, sizeof(st));
    if (res_ninit(&st) != 0) {
        mr_error_set(why, 0, "", "the resolver could not start (/etc/resolv.conf)");
        return -1;
    }
    if (r->o->dns) {
        struct sockaddr_in sa;
        parse_dns(r->o->dns, &sa); /* checked by mr_discover */
        for (int i = 0; i < MAXNS; i++)
            if (st._u._ext.nsaddrs[i]) { /* IPv6 servers of resolv.conf */
                free(st._u._ext.nsaddrs[i]);
                st._u._ext.nsaddrs[i] = NULL;
            }
        st.nsaddr_list[0] = sa;
        st.nscount = 1;
    }
    st.retrans = budget / 1000;
    st.retry = 1;
    st.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
    int64_t t0 = mr_now_ms();
    int n = res_nquery(&st, name, ns_c_in, type, buf, DNS_ANSWER_MAX);
    int herr = st.res_h_errno;
    res_nclose(&st);
    if (n > DNS_ANSWER_MAX) {
        mr_error_set(why, 0, "", "the DNS answer for %s is larger than %d bytes: ignored", name,
                     DNS_ANSWER_MAX);
        return -1;
    }
    if (n >= 0)
        return n;
    if (herr == HOST_NOT_FOUND || herr == NO_DATA) {
        mr_error_set(why, 0, "", "%s: no such record", name);
        return -2;
    }
    if (herr == TRY_AGAIN && mr_now_ms() - t0 >= (int64_t)st.retrans * 1000 - 200) {
        __atomic_store_n(&r->dns_dead, 1, __ATOMIC_RELAXED);
        if (r->o->dns)
            mr_error_set(why, 0, "", "the DNS server (%s) did not answer within %d s", r->o->dns,
                         st.retrans);
        else
            mr_error_set(why, 0, "", "the system's DNS server did not answer within %d s",
                         st.retrans);
        return -1;
    }
    if (herr == TRY_AGAIN)
        mr_error_set(why, 0, "",
                     "the DNS server could not answer for %s (server failure or refused)", name);
    else /* the C library's words */
        mr_error_set(why, 0, "", "the DNS server could not answer for %s (%s)", name,
                     hstrerror(herr));
    return -1;
}

struct rrs {
    ns_msg msg;
    int count;
};

static int dns_parse(const unsigned char *buf, int n, struct rrs *out)
{
    if (ns_initparse(buf, n, &out->msg) != 0)
        return -1;
    out->count = ns_msg_count(out->msg, ns_s_an);
    return 0;
}

/* The addresses host has (at most IPS_MAX): through the chosen DNS server
 * when there is one (A then AAAA), else getaddrinfo (with /etc/hosts). */
static int resolve_host(struct run *r, const char *host, char ips[][INET6_ADDRSTRLEN], int *nips,
                        mr_error *why)
{
    *nips = 0;
    unsigned char a4[16];
    if (inet_pton(AF_INET, host, a4) == 1 || inet_pton(AF_INET6, host, a4) == 1) {
        snprintf(ips[(*nips)++], INET6_ADDRSTRLEN, "%s", host);
        return 0;
    }
    if (!r->o->dns) {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        int rc = getaddrinfo(host, NULL, &hints, &res);
        if (rc != 0) {
            mr_error_set(why, 0, "", "'%s' does not resolve (%s)", host, gai_strerror(rc));
            return -1;
        }
        for (struct addrinfo *ai = res; ai && *nips < IPS_MAX; ai = ai->ai_next) {
            const void *a = ai->ai_family == AF_INET
                                ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                                : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
            inet_ntop(ai->ai_family, a, ips[(*nips)++], INET6_ADDRSTRLEN);
        }
        freeaddrinfo(res);
        return *nips ? 0 : -1;
    }
    unsigned char *buf = malloc(DNS_ANSWER_MAX);
    if (!buf)
        return -1;
    mr_error last = {0};
    for (int pass = 0; pass < 2 && *nips == 0; pass++) {
        int type = pass ? ns_t_aaaa : ns_t_a;
        int n = dns_query(r, host, type, buf, &last);
        struct rrs rr;
        if (n < 0) {
            if (n == -1)
                break; /* no answer: AAAA would not get one either */
            continue;
        }
        if (dns_parse(buf, n, &rr) != 0) {
            mr_error_set(&last, 0, "", "the DNS answer for %s is malformed", host);
            continue;
        }
        for (int i = 0; i < rr.count && *nips < IPS_MAX; i++) {
            ns_rr x;
            if (ns_parserr(&rr.msg, ns_s_an, i, &x) != 0)
                break;
            if ((int)ns_rr_type(x) == type && ns_rr_rdlen(x) == (type == ns_t_a ? 4 : 16))
                inet_ntop(type == ns_t_a ? AF_INET : AF_INET6, ns_rr_rdata(x), ips[(*nips)++],
                          INET6_ADDRSTRLEN);
        }
    }
    free(buf);
    if (*nips == 0 && last.message[0]) {
        *why = last;
        mr_error_prefix(why, "'%s' does not resolve", host);
        return -1;
    }
    if (*nips == 0) {
        mr_error_set(why, 0, "", "'%s' does not resolve: no address", host);
        return -1;
    }
    return 0;
}

/* 1 and *why said when one of the addresses must not be reached. */
static int any_denied(struct run *r, char ips[][INET6_ADDRSTRLEN], int nips, const char *host,
                      mr_error *why)
{
    if (!r->o->denied)
        return 0;
    for (int i = 0; i < nips; i++) {
        char w[256];
        if (r->o->denied(ips[i], w, sizeof(w))) {
            mr_error_set(why, 0, "", "%.253s: %.255s (this daemon runs with --deny-test-targets)",
                         host, w); /* a name is at most 253 bytes */
            return 1;
        }
    }
    return 0;
}

/* --- proposals -------------------------------------------------------------- */

static int same_server(const struct mr_discover_proposal *a, const struct mr_discover_proposal *b)
{
    return a->protocol == b->protocol && a->port == b->port && a->security == b->security &&
           strcasecmp(a->host, b->host) == 0;
}

/* Adds a proposal (validated as an account's address and port would be);
 * NULL when it is invalid (noted), a duplicate or there is no room. */
static struct mr_discover_proposal *add(struct run *r, const char *source, const char *provider,
                                        enum mr_protocol proto, const char *host, int port,
                                        enum mr_security sec, const char *username,
                                        const char *kind, const char *oauth)
{
    struct mr_problems pr = {0};
    mr_check_host(host, "address", &pr);
    mr_check_port(port, "port", &pr);
    if (pr.count) { /* the problem as said, after which field it is about */
        mr_error e = {0};
        mr_error_set(&e, 0, "", "%s", pr.items[0].message);
        if (strcmp(e.message, pr.items[0].message) == 0)
            e.said = pr.items[0].said;
        if (strcmp(pr.items[0].field, "port") == 0)
            mr_error_prefix(&e, "a server named there was left out (%.100s:%d), its port", host,
                            port);
        else
            mr_error_prefix(&e, "a server named there was left out (%.100s:%d), its address", host,
                            port);
        note_error(r, source, &e);
        return NULL;
    }
    struct mr_discover_proposal tmp = {.protocol = proto, .port = port, .security = sec};
    snprintf(tmp.host, sizeof(tmp.host), "%s", host);
    for (size_t i = 0; i < r->res->count; i++)
        if (same_server(&r->res->items[i], &tmp)) {
            struct mr_discover_proposal *p = &r->res->items[i];
            if (!strstr(p->note, source))
                proposal_note(p, strcmp(source, "preset") == 0 ? "also found by preset"
                                 : strcmp(source, "srv") == 0  ? "also found by srv"
                                                               : "also found by autoconfig");
            return NULL;
        }
    if (r->res->count == MR_DISCOVER_MAX)
        return NULL;
    struct mr_discover_proposal *p = &r->res->items[r->res->count];
    *p = tmp;
    p->rank = (int)r->res->count++;
    snprintf(p->source, sizeof(p->source), "%s", source);
    snprintf(p->provider, sizeof(p->provider), "%s", provider);
    snprintf(p->username, sizeof(p->username), "%s", username);
    snprintf(p->credential_kind, sizeof(p->credential_kind), "%s", kind);
    snprintf(p->oauth_provider, sizeof(p->oauth_provider), "%s", oauth ? oauth : "");
    return p;
}

/* --- source 1: presets -------------------------------------------------------- */

struct preset_server {
    enum mr_protocol protocol;
    const char *host;
    int port;
};

struct preset {
    const char *provider;
    const char *domains[8];     /* the address's domain */
    const char *mx_suffixes[4]; /* a custom domain whose MX ends so */
    struct preset_server servers[2];
    const char *kind, *oauth;
    int local_username; /* the username is the local part, not the address */
    const char *note;
};

static const struct preset presets[] = {
    {"Gmail / Google Workspace",
     {"gmail.com", "googlemail.com"},
     {"google.com", "googlemail.com"},
     {{MR_PROTO_IMAP, "imap.gmail.com", 993}, {MR_PROTO_POP3, "pop.gmail.com", 995}},
     "oauth2",
     "google",
     0,
     SAID("Google needs OAuth 2.0: add an OAuth 2.0 credential of the provider google")},
    {"Microsoft 365 / Outlook.com",
     {"outlook.com", "hotmail.com", "live.com", "msn.com", "outlook.com.br", "hotmail.com.br"},
     {"mail.protection.outlook.com"},
     {{MR_PROTO_IMAP, "outlook.office365.com", 993}, {MR_PROTO_POP3, "outlook.office365.com", 995}},
     "oauth2",
     "microsoft",
     0,
     SAID("Microsoft needs OAuth 2.0: add an OAuth 2.0 credential of the provider microsoft")},
    {"Yahoo",
     {"yahoo.com", "ymail.com", "rocketmail.com", "yahoo.com.br"},
     {"yahoodns.net"},
     {{MR_PROTO_IMAP, "imap.mail.yahoo.com", 993}, {MR_PROTO_POP3, "pop.mail.yahoo.com", 995}},
     "app_password",
     NULL,
     0,
     SAID("Yahoo needs an app password (Account security, Generate app password)")},
    {"iCloud",
     {"icloud.com", "me.com", "mac.com"},
     {"mail.icloud.com"},
     {{MR_PROTO_IMAP, "imap.mail.me.com", 993}},
     "app_password",
     NULL,
     1,
     SAID("iCloud needs an app-specific password (appleid.apple.com); the username is the "
          "part before '@'")},
    {"Zoho",
     {"zoho.com", "zohomail.com"},
     {"zoho.com", "zoho.eu"},
     {{MR_PROTO_IMAP, "imap.zoho.com", 993}, {MR_PROTO_POP3, "pop.zoho.com", 995}},
     "app_password",
     NULL,
     0,
     SAID("Zoho needs an app-specific password when two-factor authentication is on, and IMAP "
          "or POP access turned on in its settings")},
};

static int ends_with_domain(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    if (n && name[n - 1] == '.')
        n--;
    if (n < s || strncasecmp(name + n - s, suffix, s) != 0)
        return 0;
    return n == s || name[n - s - 1] == '.';
}

/* mx: the MX record it was matched by, NULL: by the address's domain. */
static void add_preset(struct run *r, const struct preset *p, const char *mx)
{
    char provider[64];
    snprintf(provider, sizeof(provider), "%s", p->provider);
    for (size_t i = 0; i < 2 && p->servers[i].host; i++) {
        struct mr_discover_proposal *x = add(
            r, "preset", provider, p->servers[i].protocol, p->servers[i].host, p->servers[i].port,
            MR_SEC_TLS, p->local_username ? r->local : r->res->email, p->kind, p->oauth);
        if (!x)
            continue;
        mr_error e = {0};
        as_is(&e, p->note);
        proposal_note_error(x, &e);
        if (mx)
            proposal_note(x, "matched by the domain's MX record %.250s", mx);
        else
            proposal_note(x, "matched by the address's domain");
    }
}

/* 1 when a preset matched, by the domain or by its MX records. */
static int from_presets(struct run *r)
{
    const char *domain = r->res->domain;
    for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
        for (size_t d = 0; d < 8 && presets[i].domains[d]; d++)
            if (strcasecmp(domain, presets[i].domains[d]) == 0) {
                add_preset(r, &presets[i], NULL);
                return 1;
            }
    unsigned char *buf = malloc(DNS_ANSWER_MAX);
    mr_error why = {0};
    int matched = 0;
    if (!buf)
        return 0;
    int n = dns_query(r, domain, ns_t_mx, buf, &why);
    struct rrs rr;
    if (n == -1) {
        mr_error_prefix(&why, "MX records not read");
        note_error(r, "preset", &why);
    } else if (n >= 0 && dns_parse(buf, n, &rr) != 0)
        note(r, "preset", "the DNS answer for the MX records of %s is malformed", domain);
    else if (n >= 0)
        for (int i = 0; i < rr.count && !matched; i++) {
            ns_rr x;
            char mx[NS_MAXDNAME];
            if (ns_parserr(&rr.msg, ns_s_an, i, &x) != 0)
                break;
            if (ns_rr_type(x) != ns_t_mx || ns_rr_rdlen(x) < 3 ||
                dn_expand(ns_msg_base(rr.msg), ns_msg_end(rr.msg), ns_rr_rdata(x) + 2, mx,
                          sizeof(mx)) < 0)
                continue;
            for (size_t p = 0; p < sizeof(presets) / sizeof(presets[0]) && !matched; p++)
                for (size_t s = 0; s < 4 && presets[p].mx_suffixes[s] && !matched; s++)
                    if (ends_with_domain(mx, presets[p].mx_suffixes[s])) {
                        add_preset(r, &presets[p], mx);
                        matched = 1;
                    }
        }
    free(buf);
    return matched;
}

/* --- source 2: DNS SRV records (RFC 6186) ------------------------------------ */

struct srv {
    int priority, weight, port;
    char target[NS_MAXDNAME];
};

static int srv_order(const void *a, const void *b)
{
    const struct srv *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority - y->priority;
    return y->weight - x->weight; /* the heavier first: a proposal list, not a lottery */
}

static void from_srv(struct run *r)
{
    static const struct {
        const char *label;
        enum mr_protocol proto;
        enum mr_security sec;
    } services[] = {
        {"_imaps._tcp", MR_PROTO_IMAP, MR_SEC_TLS},
        {"_imap._tcp", MR_PROTO_IMAP, MR_SEC_STARTTLS},
        {"_pop3s._tcp", MR_PROTO_POP3, MR_SEC_TLS},
        {"_pop3._tcp", MR_PROTO_POP3, MR_SEC_STARTTLS},
    };
    unsigned char *buf = malloc(DNS_ANSWER_MAX);
    if (!buf)
        return;
    for (size_t s = 0; s < sizeof(services) / sizeof(services[0]); s++) {
        char name[300];
        mr_error why = {0};
        snprintf(name, sizeof(name), "%s.%s", services[s].label, r->res->domain);
        int n = dns_query(r, name, ns_t_srv, buf, &why);
        if (n == -1) {
            mr_error_prefix(&why, "the SRV records %s", name);
            note_error(r, "srv", &why);
        }
        if (n < 0)
            continue;
        struct rrs rr;
        if (dns_parse(buf, n, &rr) != 0) {
            note(r, "srv", "the DNS answer for %s is malformed: ignored", name);
            continue;
        }
        struct srv found[8];
        int nf = 0, malformed = 0;
        for (int i = 0; i < rr.count && nf < 8; i++) {
            ns_rr x;
            if (ns_parserr(&rr.msg, ns_s_an, i, &x) != 0) {
                malformed = 1;
                break;
            }
            if (ns_rr_type(x) != ns_t_srv)
                continue;
            const unsigned char *d = ns_rr_rdata(x);
            if (ns_rr_rdlen(x) < 7 || dn_expand(ns_msg_base(rr.msg), ns_msg_end(rr.msg), d + 6,
                                                found[nf].target, NS_MAXDNAME) < 0) {
                malformed = 1;
                continue;
            }
            found[nf].priority = ns_get16(d);
            found[nf].weight = ns_get16(d + 2);
            found[nf].port = ns_get16(d + 4);
            nf++;
        }
        if (malformed)
            note(r, "srv", "a record of %s is malformed: ignored", name);
        qsort(found, (size_t)nf, sizeof(found[0]), srv_order);
        for (int i = 0; i < nf; i++) {
            if (!found[i].target[0] || strcmp(found[i].target, ".") == 0) {
                /* RFC 2782: "." says the service is decidedly not offered */
                note(r, "srv", "%s says the service is not offered (target \".\")", name);
                break;
            }
            struct mr_discover_proposal *p =
                add(r, "srv", r->res->domain, services[s].proto, found[i].target, found[i].port,
                    services[s].sec, r->res->email, "password", NULL);
            if (p)
                proposal_note(p,
                              "from %s (priority %d, weight %d); the username is a guess: the "
                              "address",
                              name, found[i].priority, found[i].weight);
        }
    }
    free(buf);
}

/* --- source 3: the autoconfig file (Mozilla's config-v1.1.xml) ---------------- */

struct xml_server {
    char type[16], hostname[256], port[8], socket[16], username[320], auth[32];
};

struct xml {
    int depth_incoming; /* inside <incomingServer> */
    char element[32];   /* the child element being read */
    struct xml_server cur;
    struct xml_server servers[8];
    int count;
    char display[64];
    int in_display;
};

static void xml_start(GMarkupParseContext *ctx, const char *name, const char **attrs,
                      const char **values, void *ud, GError **error)
{
    (void)ctx;
    (void)error;
    struct xml *x = ud;
    if (strcmp(name, "incomingServer") == 0) {
        memset(&x->cur, 0, sizeof(x->cur));
        x->depth_incoming = 1;
        for (int i = 0; attrs[i]; i++)
            if (strcmp(attrs[i], "type") == 0)
                snprintf(x->cur.type, sizeof(x->cur.type), "%s", values[i]);
        return;
    }
    x->in_display = strcmp(name, "displayName") == 0 && !x->display[0];
    if (x->depth_incoming)
        snprintf(x->element, sizeof(x->element), "%s", name);
}

static void xml_end(GMarkupParseContext *ctx, const char *name, void *ud, GError **error)
{
    (void)ctx;
    (void)error;
    struct xml *x = ud;
    x->element[0] = 0;
    x->in_display = 0;
    if (strcmp(name, "incomingServer") == 0 && x->depth_incoming) {
        x->depth_incoming = 0;
        if (x->count < 8)
            x->servers[x->count++] = x->cur;
    }
}

static void append(char *dst, size_t size, const char *text, size_t len)
{
    size_t have = strlen(dst);
    while (len && (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r') && !have)
        text++, len--;
    if (have + len >= size)
        len = size - have - 1;
    memcpy(dst + have, text, len);
    dst[have + len] = 0;
    for (size_t n = strlen(dst); n && (dst[n - 1] == ' ' || dst[n - 1] == '\n' ||
                                       dst[n - 1] == '\t' || dst[n - 1] == '\r');)
        dst[--n] = 0;
}

static void xml_text(GMarkupParseContext *ctx, const char *text, gsize len, void *ud,
                     GError **error)
{
    (void)ctx;
    (void)error;
    struct xml *x = ud;
    if (x->in_display)
        append(x->display, sizeof(x->display), text, len);
    if (!x->depth_incoming || !x->element[0])
        return;
    struct xml_server *s = &x->cur;
    if (strcmp(x->element, "hostname") == 0)
        append(s->hostname, sizeof(s->hostname), text, len);
    else if (strcmp(x->element, "port") == 0)
        append(s->port, sizeof(s->port), text, len);
    else if (strcmp(x->element, "socketType") == 0)
        append(s->socket, sizeof(s->socket), text, len);
    else if (strcmp(x->element, "username") == 0)
        append(s->username, sizeof(s->username), text, len);
    else if (strcmp(x->element, "authentication") == 0 && !s->auth[0]) /* the first: preferred */
        append(s->auth, sizeof(s->auth), text, len);
}

/* Replaces %EMAILADDRESS%, %EMAILLOCALPART% and %EMAILDOMAIN%. */
static void substitute(const struct run *r, const char *in, char *out, size_t size)
{
    size_t o = 0;
    out[0] = 0;
    while (*in && o + 1 < size) {
        const char *with = NULL;
        size_t skip = 0;
        if (strncmp(in, "%EMAILADDRESS%", 14) == 0)
            with = r->res->email, skip = 14;
        else if (strncmp(in, "%EMAILLOCALPART%", 16) == 0)
            with = r->local, skip = 16;
        else if (strncmp(in, "%EMAILDOMAIN%", 13) == 0)
            with = r->res->domain, skip = 13;
        if (with) {
            o += (size_t)snprintf(out + o, size - o, "%s", with);
            if (o >= size)
                o = size - 1;
            in += skip;
        } else {
            out[o++] = *in++;
            out[o] = 0;
        }
    }
}

struct body {
    char *data;
    size_t len;
    int too_big;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct body *b = ud;
    size_t add = size * n;
    if (b->len + add > MR_DISCOVER_XML_MAX) {
        b->too_big = 1;
        return 0; /* curl stops: CURLE_WRITE_ERROR */
    }
    char *grown = realloc(b->data, b->len + add + 1);
    if (!grown)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = 0;
    return add;
}

/* Fetches https://host/path into *b; 0, or -1 with a note. */
static int fetch(struct run *r, const char *host, const char *path, struct body *b)
{
    char ips[IPS_MAX][INET6_ADDRSTRLEN], url[600], pin[400];
    mr_error why = {0};
    int nips, port = 443;
    const char *test_port = getenv("MAILROOM_TEST_AUTOCONFIG_PORT");
    if (test_port && atoi(test_port) > 0 && atoi(test_port) < 65536)
        port = atoi(test_port);
    if (port == 443)
        snprintf(url, sizeof(url), "https://%.253s%.200s", host, path);
    else
        snprintf(url, sizeof(url), "https://%.253s:%d%.200s", host, port, path);
    if (resolve_host(r, host, ips, &nips, &why) != 0 || any_denied(r, ips, nips, host, &why)) {
        mr_error_prefix(&why, "%s not fetched", url);
        note_error(r, "autoconfig", &why);
        return -1;
    }
    int budget = step_budget(r);
    if (budget < 500) {
        note(r, "autoconfig", "%s not fetched: the discovery's time was used up", url);
        return -1;
    }
    CURL *curl = curl_easy_init();
    if (!curl)
        return -1;
    char errbuf[CURL_ERROR_SIZE] = "";
    snprintf(pin, sizeof(pin), "%.253s:%d:%s%.46s%s", host, port, strchr(ips[0], ':') ? "[" : "",
             ips[0], strchr(ips[0], ':') ? "]" : "");
    struct curl_slist *resolve = curl_slist_append(NULL, pin);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve); /* the address our resolver found */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)budget);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)budget);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MR_DISCOVER_XML_MAX);
    curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* not $https_proxy from the environment */
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mailroom");
    if (r->o->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, r->o->ca_file);
    CURLcode cc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(resolve);
    if (b->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        note(r, "autoconfig", "%s is larger than %d KiB: ignored", url, MR_DISCOVER_XML_MAX / 1024);
        return -1;
    }
    if (cc != CURLE_OK) {
        note(r, "autoconfig", "%s could not be fetched: %s", url,
             *errbuf ? errbuf : curl_easy_strerror(cc));
        return -1;
    }
    if (status != 200) {
        note(r, "autoconfig",
             status / 100 == 3 ? "%s answered HTTP %ld (redirects are not followed)"
                               : "%s answered HTTP %ld",
             url, status);
        return -1;
    }
    return 0;
}

static int parse_xml(struct run *r, const char *url, const struct body *b, struct xml *x)
{
    static const GMarkupParser parser = {xml_start, xml_end, xml_text, NULL, NULL};
    GError *gerr = NULL;
    GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, x, NULL);
    int ok = b->data && g_markup_parse_context_parse(ctx, b->data, (gssize)b->len, &gerr) &&
             g_markup_parse_context_end_parse(ctx, &gerr);
    g_markup_parse_context_free(ctx);
    if (!ok) {
        if (gerr) /* GLib's words */
            note(r, "autoconfig", "%s is not well-formed XML in Mozilla's format: %s", url,
                 gerr->message);
        else
            note(r, "autoconfig", "%s is not well-formed XML in Mozilla's format: empty", url);
        if (gerr)
            g_error_free(gerr);
        return -1;
    }
    if (x->count == 0) {
        note(r, "autoconfig", "%s names no incoming server (<incomingServer>)", url);
        return -1;
    }
    return 0;
}

static void from_autoconfig(struct run *r)
{
    char hosts[2][300];
    snprintf(hosts[0], sizeof(hosts[0]), "autoconfig.%s", r->res->domain);
    snprintf(hosts[1], sizeof(hosts[1]), "%s", r->res->domain);
    static const char *const paths[2] = {"/mail/config-v1.1.xml",
                                         "/.well-known/autoconfig/mail/config-v1.1.xml"};
    for (int i = 0; i < 2; i++) {
        struct body b = {0};
        struct xml *x = calloc(1, sizeof(*x));
        char url[600];
        snprintf(url, sizeof(url), "https://%.253s%s", hosts[i], paths[i]);
        int ok = x && fetch(r, hosts[i], paths[i], &b) == 0 && parse_xml(r, url, &b, x) == 0;
        for (int s = 0; ok && s < x->count; s++) {
            struct xml_server *xs = &x->servers[s];
            enum mr_protocol proto;
            enum mr_security sec;
            char host[256], user[320];
            if (strcmp(xs->type, "imap") == 0)
                proto = MR_PROTO_IMAP;
            else if (strcmp(xs->type, "pop3") == 0)
                proto = MR_PROTO_POP3;
            else {
                note(r, "autoconfig",
                     "an incoming server of type '%.20s' was left out (not "
                     "imap or pop3)",
                     xs->type);
                continue;
            }
            if (strcasecmp(xs->socket, "SSL") == 0)
                sec = MR_SEC_TLS;
            else if (strcasecmp(xs->socket, "STARTTLS") == 0)
                sec = MR_SEC_STARTTLS;
            else if (strcasecmp(xs->socket, "plain") == 0)
                sec = MR_SEC_NONE;
            else {
                note(r, "autoconfig",
                     "a server with socketType '%.20s' was left out (SSL, "
                     "STARTTLS or plain)",
                     xs->socket);
                continue;
            }
            char *end;
            long port = strtol(xs->port, &end, 10);
            if (!xs->port[0] || *end)
                port = 0; /* add() says it */
            substitute(r, xs->hostname, host, sizeof(host));
            substitute(r, xs->username[0] ? xs->username : "%EMAILADDRESS%", user, sizeof(user));
            int oauth = strcasecmp(xs->auth, "OAuth2") == 0;
            const char *oprov = NULL;
            if (oauth &&
                (ends_with_domain(host, "gmail.com") || ends_with_domain(host, "google.com")))
                oprov = "google";
            if (oauth &&
                (ends_with_domain(host, "outlook.com") || ends_with_domain(host, "office365.com")))
                oprov = "microsoft";
            struct mr_discover_proposal *p =
                add(r, "autoconfig", x->display[0] ? x->display : r->res->domain, proto, host,
                    (int)port, sec, user, oauth ? "oauth2" : "password", oprov);
            if (p)
                proposal_note(p, "from %.400s", url);
            if (p && sec == MR_SEC_NONE)
                proposal_note(p, "plain text: the password would travel unencrypted");
        }
        free(b.data);
        free(x);
        if (ok)
            return; /* the first file found is the domain's word */
    }
}

/* --- probing ----------------------------------------------------------------- */

struct probe {
    struct run *r;
    struct mr_discover_proposal *p;
    struct mr_conn *c;
    char buf[LINE_MAX_BYTES];
    size_t len;
};

/* A line of the answer to cmd (NULL: the greeting). */
static int read_line(struct probe *pr, const char *cmd, char *line, size_t size, mr_error *err)
{
    char what[64];
    snprintf(what, sizeof(what), cmd ? "the answer to %s" : "the greeting", cmd);
    mr_conn_step(pr->c, what);
    for (;;) {
        char *crlf = memchr(pr->buf, '\n', pr->len);
        if (crlf) {
            size_t n = (size_t)(crlf - pr->buf) + 1;
            size_t keep = n - 1;
            if (keep && pr->buf[keep - 1] == '\r')
                keep--;
            if (keep >= size)
                keep = size - 1;
            memcpy(line, pr->buf, keep);
            line[keep] = 0;
            memmove(pr->buf, pr->buf + n, pr->len - n);
            pr->len -= n;
            return 0;
        }
        if (pr->len == sizeof(pr->buf))
            return mr_error_set(err, MR_EPROTO, NULL,
                                cmd ? "a line longer than %d bytes in the answer to %s"
                                    : "a line longer than %d bytes in the greeting",
                                LINE_MAX_BYTES, cmd);
        size_t got = 0;
        int rc = mr_conn_read(pr->c, pr->buf + pr->len, sizeof(pr->buf) - pr->len, &got, err);
        if (rc)
            return rc;
        pr->len += got;
    }
}

static int send_line(struct probe *pr, const char *line, mr_error *err)
{
    char out[64];
    int n = snprintf(out, sizeof(out), "%s\r\n", line);
    return mr_conn_write(pr->c, out, (size_t)n, err);
}

static void clip(char *s, size_t max)
{
    if (strlen(s) > max)
        strcpy(s + max - 3, "...");
    for (char *q = s; *q; q++)
        if ((unsigned char)*q < ' ' || (unsigned char)*q >= 0x7f) /* ASCII: cut anywhere */
            *q = '?';
}

static int has_word(const char *caps, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = caps; (p = strcasestr(p, word)); p += n)
        if ((p == caps || p[-1] == ' ') && (p[n] == 0 || p[n] == ' '))
            return 1;
    return 0;
}

/* Reads the capabilities: IMAP CAPABILITY, POP3 CAPA (a server without CAPA
 * has none). */
static int capabilities(struct probe *pr, const char *tag, char *caps, size_t size, mr_error *err)
{
    char line[1024];
    int imap = pr->p->protocol == MR_PROTO_IMAP;
    caps[0] = 0;
    char cmd[32];
    snprintf(cmd, sizeof(cmd), imap ? "%s CAPABILITY" : "CAPA", tag);
    int rc = send_line(pr, cmd, err);
    for (int i = 0; rc == 0 && i < 200; i++) {
        if ((rc = read_line(pr, imap ? "CAPABILITY" : "CAPA", line, sizeof(line), err)))
            break;
        if (imap && strncasecmp(line, "* CAPABILITY ", 13) == 0) {
            size_t n = strnlen(line + 13, size - 1); /* as much as fits */
            memcpy(caps, line + 13, n);
            caps[n] = '\0';
        } else if (imap && strncmp(line, tag, strlen(tag)) == 0 && line[strlen(tag)] == ' ')
            return strncasecmp(line + strlen(tag) + 1, "OK", 2) == 0
                       ? 0
                       : mr_error_set(err, MR_ESERVER, NULL, "CAPABILITY refused: %.200s", line);
        else if (!imap && i == 0 && line[0] == '-')
            return 0; /* no CAPA */
        else if (!imap && i == 0 && strncmp(line, "+OK", 3) != 0)
            return mr_error_set(err, MR_EPROTO, NULL, "CAPA answered: %.200s", line);
        else if (!imap && strcmp(line, ".") == 0)
            return 0;
        else if (!imap && i > 0) {
            size_t have = strlen(caps);
            snprintf(caps + have, size - have, "%s%s", have ? " " : "", line);
        }
    }
    return rc ? rc : mr_error_set(err, MR_EPROTO, NULL, "the capabilities never ended");
}

static int tls(struct probe *pr, int implicit, mr_error *err)
{
    struct mr_tls_opts to = {
        .host = pr->p->host, .verify = 1, .ca_file = pr->r->o->ca_file, .implicit = implicit};
    struct mr_tls_info info = {0};
    int64_t t0 = mr_now_ms();
    int rc = mr_tls_start(pr->c, &to, &info, err);
    if (rc) {
        mr_steps_add_error(&pr->p->steps, "tls", mr_now_ms() - t0, err);
        return rc;
    }
    mr_steps_add(&pr->p->steps, "tls", 1, mr_now_ms() - t0, "%s, certificate for %s verified",
                 info.version, pr->p->host);
    return 0;
}

static void probe_one(struct probe *pr)
{
    struct mr_discover_proposal *p = pr->p;
    struct run *r = pr->r;
    struct mr_steps *st = &p->steps;
    char ips[IPS_MAX][INET6_ADDRSTRLEN], line[1024], caps[600];
    int nips;
    int imap = p->protocol == MR_PROTO_IMAP;
    mr_error err = {0}, why = {0};
    int64_t t0 = mr_now_ms();
    p->probed = 1;
    if (resolve_host(r, p->host, ips, &nips, &why) != 0) {
        mr_steps_add_error(st, "resolve", mr_now_ms() - t0, &why);
        return;
    }
    mr_steps_add(st, "resolve", 1, mr_now_ms() - t0, "%s", ips[0]);
    if (any_denied(r, ips, nips, p->host, &why)) {
        mr_error_prefix(&why, "not probed");
        mr_steps_add_error(st, "target", 0, &why);
        return;
    }
    int budget = step_budget(r);
    if (budget < 500) {
        mr_steps_add(st, "connect", 0, 0, "not probed: the discovery's time was used up");
        return;
    }
    struct mr_net_limits lim = {.connect_timeout_ms = budget,
                                .idle_timeout_ms = budget,
                                .step_timeout_ms = budget,
                                .deadline_ms = r->deadline};
    t0 = mr_now_ms();
    if (mr_net_connect(&pr->c, ips[0], p->port, &lim, NULL, &err) != 0) {
        mr_steps_add_error(st, "connect", mr_now_ms() - t0, &err);
        return;
    }
    mr_steps_add(st, "connect", 1, mr_now_ms() - t0, "%s port %d", ips[0], p->port);
    if (p->security == MR_SEC_TLS && tls(pr, 1, &err))
        goto done;
    t0 = mr_now_ms();
    if (read_line(pr, NULL, line, sizeof(line), &err)) {
        mr_steps_add_error(st, "greeting", mr_now_ms() - t0, &err);
        goto done;
    }
    clip(line, 200);
    int good = imap ? strncasecmp(line, "* OK", 4) == 0 || strncasecmp(line, "* PREAUTH", 9) == 0
                    : strncmp(line, "+OK", 3) == 0;
    mr_steps_add(st, "greeting", good, mr_now_ms() - t0, "%s", line);
    if (!good)
        goto done;
    t0 = mr_now_ms();
    if (capabilities(pr, "a1", caps, sizeof(caps), &err)) {
        mr_steps_add_error(st, "capabilities", mr_now_ms() - t0, &err);
        goto done;
    }
    if (p->security == MR_SEC_STARTTLS || p->security == MR_SEC_STARTTLS_OPTIONAL) {
        const char *word = imap ? "STARTTLS" : "STLS";
        if (!has_word(caps, word)) {
            mr_steps_add(st, "starttls", 0, 0, "the server does not offer %s", word);
            goto done;
        }
        t0 = mr_now_ms();
        if (send_line(pr, imap ? "a2 STARTTLS" : "STLS", &err) ||
            read_line(pr, "STARTTLS", line, sizeof(line), &err)) {
            mr_steps_add_error(st, "starttls", mr_now_ms() - t0, &err);
            goto done;
        }
        clip(line, 200);
        good = strncasecmp(line, imap ? "a2 OK" : "+OK", imap ? 5 : 3) == 0;
        mr_steps_add(st, "starttls", good, mr_now_ms() - t0, "%s", line);
        if (!good || tls(pr, 0, &err))
            goto done;
        pr->len = 0; /* nothing read before TLS counts after it */
        t0 = mr_now_ms();
        if (capabilities(pr, "a3", caps, sizeof(caps), &err)) {
            mr_steps_add_error(st, "capabilities", mr_now_ms() - t0, &err);
            goto done;
        }
    }
    clip(caps, 400);
    if (*caps)
        mr_steps_add(st, "capabilities", 1, mr_now_ms() - t0, "%s", caps);
    else
        mr_steps_add(st, "capabilities", 1, mr_now_ms() - t0, "(none listed)");
    p->probe_ok = 1;
    send_line(pr, imap ? "a9 LOGOUT" : "QUIT", &err);
done:
    mr_conn_close(&pr->c);
}

static void *probe_thread(void *ud)
{
    probe_one(ud);
    return NULL;
}

static void probe_all(struct run *r)
{
    size_t n = r->res->count;
    struct probe *pr = calloc(n ? n : 1, sizeof(*pr));
    pthread_t *t = calloc(n ? n : 1, sizeof(*t));
    int *started = calloc(n ? n : 1, sizeof(int));
    if (!pr || !t || !started)
        goto out;
    for (size_t i = 0; i < n; i++) {
        pr[i].r = r;
        pr[i].p = &r->res->items[i];
        started[i] = pthread_create(&t[i], NULL, probe_thread, &pr[i]) == 0;
        if (!started[i])
            probe_one(&pr[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (started[i])
            pthread_join(t[i], NULL);
out:
    free(pr);
    free(t);
    free(started);
}

static int best_first(const void *a, const void *b)
{
    const struct mr_discover_proposal *x = a, *y = b;
    if (x->probe_ok != y->probe_ok)
        return y->probe_ok - x->probe_ok;
    return x->rank - y->rank;
}

int mr_discover(const char *email, const struct mr_discover_options *o,
                struct mr_discover_result *res, mr_error *err)
{
    const char *domain;
    memset(res, 0, sizeof(*res));
    if (mr_discover_check_email(email, &domain, err) || mr_discover_check_dns(o->dns, err))
        return MR_EINVAL;
    snprintf(res->email, sizeof(res->email), "%s", email);
    snprintf(res->domain, sizeof(res->domain), "%s", domain);
    for (char *q = res->domain; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    char local[320];
    snprintf(local, sizeof(local), "%.*s", (int)(domain - 1 - email), email);
    struct run r = {.o = o,
                    .res = res,
                    .local = local,
                    .step_ms = o->step_ms > 0 ? o->step_ms : MR_DISCOVER_STEP_MS};
    r.deadline = mr_now_ms() + (o->total_ms > 0 ? o->total_ms : MR_DISCOVER_TOTAL_MS);
    if (!from_presets(&r)) {
        from_srv(&r);
        from_autoconfig(&r);
    }
    if (res->count == 0)
        note(&r, "discover", "nothing was found for %s: enter the server by hand", res->domain);
    if (!o->no_probe)
        probe_all(&r);
    qsort(res->items, res->count, sizeof(res->items[0]), best_first);
    return 0;
}

/* s as valid UTF-8 for JSON: a character cut short at the end (the caps
 * above cut bytes) is dropped; other invalid text gets '?' for its
 * non-ASCII bytes. */
static const char *u8(const char *s, char *buf, size_t size)
{
    snprintf(buf, size, "%s", s);
    size_t n = strlen(buf);
    for (int cut = 0; cut < 3 && n && !mr_utf8_valid(buf, n); cut++)
        buf[--n] = 0; /* a character cut short at the end */
    if (!mr_utf8_valid(buf, n))
        for (char *q = buf; *q; q++)
            if ((unsigned char)*q >= 0x80)
                *q = '?';
    return buf;
}

/* {"note": text, "note_said": [...]} (note_said when it is said). */
static json_t *note_json(const char *source, const char *text, const mr_error *said, char *buf,
                         size_t size)
{
    json_t *o = json_pack("{s:s}", "note", u8(text, buf, size));
    json_t *parts = strcmp(text, said->message) == 0 ? mr_error_said_json(said) : NULL;
    if (source)
        json_object_set_new(o, "source", json_string(source));
    if (parts)
        json_object_set_new(o, "note_said", parts);
    return o;
}

json_t *mr_discover_json(const struct mr_discover_result *res)
{
    char b1[sizeof(res->items[0].provider)], b2[sizeof(res->items[0].username)],
        b3[sizeof(res->items[0].note)];
    json_t *list = json_array(), *notes = json_array();
    for (size_t i = 0; i < res->count; i++) {
        const struct mr_discover_proposal *p = &res->items[i];
        json_t *steps = json_array(), *said_notes = json_array();
        for (size_t s = 0; s < p->steps.count; s++)
            json_array_append_new(steps, mr_view_step(&p->steps.items[s]));
        for (size_t s = 0; s < p->nnotes; s++)
            json_array_append_new(
                said_notes, note_json(NULL, p->notes[s].message, &p->notes[s], b3, sizeof(b3)));
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:o, s:{s:b, s:b, s:o}, s:s, "
                            "s:o}",
                            "source", p->source, "provider", u8(p->provider, b1, sizeof(b1)),
                            "protocol", mr_protocol_name(p->protocol), "address", p->host, "port",
                            p->port, "security", mr_security_name(p->security), "username",
                            u8(p->username, b2, sizeof(b2)), "credential_kind", p->credential_kind,
                            "oauth_provider",
                            p->oauth_provider[0] ? json_string(p->oauth_provider) : json_null(),
                            "probe", "ok", p->probe_ok, "probed", p->probed, "steps", steps, "note",
                            u8(p->note, b3, sizeof(b3)), "notes", said_notes));
    }
    for (size_t i = 0; i < res->nnotes; i++)
        json_array_append_new(notes, note_json(res->notes[i].source, res->notes[i].text,
                                               &res->notes[i].said, b3, sizeof(b3)));
    return json_pack("{s:s, s:s, s:o, s:o}", "email", res->email, "domain", res->domain,
                     "proposals", list, "notes", notes);
}
