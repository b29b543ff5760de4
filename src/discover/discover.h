/* Setting up from an e-mail address: proposes the server, port, protocol,
 * security and kind of credential of an account from built-in presets of
 * the big providers, DNS SRV records (RFC 6186) and the domain's autoconfig
 * file (Mozilla's config-v1.1.xml), each proposal probed (connect, TLS,
 * greeting, capabilities; no login) before it is offered.
 *
 * Every network step has a deadline of its own (step_ms), the whole run one
 * more (total_ms); DNS answers and autoconfig files are size-capped; what
 * goes wrong with a source is a note, never a failure of the whole run. */
#ifndef MR_DISCOVER_DISCOVER_H
#define MR_DISCOVER_DISCOVER_H

#include "core/account.h"
#include "proto/mailbox.h"
#include "util/error.h"

#include <stddef.h>

#define MR_DISCOVER_STEP_MS        5000
#define MR_DISCOVER_TOTAL_MS       15000
#define MR_DISCOVER_XML_MAX        (64 * 1024) /* an autoconfig file above is refused */
#define MR_DISCOVER_MAX            16          /* proposals */
#define MR_DISCOVER_NOTES_MAX      16
#define MR_DISCOVER_PROPOSAL_NOTES 4 /* sentences of a proposal's note */

struct mr_discover_options {
    /* The DNS server to ask, "IPv4:PORT" or "IPv4" (port 53); NULL: the
     * system's resolver (/etc/resolv.conf). */
    const char *dns;
    /* Extra CA certificates (PEM) trusted for the autoconfig file's HTTPS
     * and the probes' TLS; NULL: the system's. */
    const char *ca_file;
    /* When set: why an IP address must not be reached (fills why, returns
     * 1), for serve --deny-test-targets. Applied to the autoconfig fetch
     * and to every probe. */
    int (*denied)(const char *ip, char *why, size_t size);
    int step_ms;  /* 0: MR_DISCOVER_STEP_MS */
    int total_ms; /* 0: MR_DISCOVER_TOTAL_MS */
    int no_probe; /* propose without probing */
};

struct mr_discover_proposal {
    char source[16];   /* "preset", "srv", "autoconfig" */
    char provider[64]; /* "Gmail / Google Workspace", or the domain */
    enum mr_protocol protocol;
    char host[256];
    int port;
    enum mr_security security;
    char username[320];
    char credential_kind[16];                   /* "password", "app_password", "oauth2" */
    char oauth_provider[16];                    /* "google", "microsoft", "" */
    char note[512];                             /* its sentences, joined by "; " */
    mr_error notes[MR_DISCOVER_PROPOSAL_NOTES]; /* each, said (message: its text) */
    size_t nnotes;
    int probed;   /* 0: not probed (no_probe, or the run's deadline) */
    int probe_ok; /* the probe passed */
    struct mr_steps steps;
    int rank; /* the order within its source (lower first) */
};

struct mr_discover_note {
    char source[16];
    char text[512];
    mr_error said; /* text as said (its message is text, but for a cut) */
};

struct mr_discover_result {
    char email[320];
    char domain[256];
    size_t count;
    struct mr_discover_proposal items[MR_DISCOVER_MAX];
    size_t nnotes;
    struct mr_discover_note notes[MR_DISCOVER_NOTES_MAX];
};

/* 0 and *domain set when email is an e-mail address (local@domain, a domain
 * name with a dot), else MR_EINVAL (field "email") saying what is wrong. */
int mr_discover_check_email(const char *email, const char **domain, mr_error *err);

/* MR_EINVAL (field "dns") unless dns is IPv4[:PORT]. */
int mr_discover_check_dns(const char *dns, mr_error *err);

/* Runs the discovery for email into *res (the caller's, large: allocate it).
 * MR_EINVAL for a bad address or option; otherwise 0, whatever was found. */
int mr_discover(const char *email, const struct mr_discover_options *o,
                struct mr_discover_result *res, mr_error *err);

/* The proposals as the API and the CLI show them:
 * {"email", "proposals": [...], "notes": [{"source", "note"}]}. */
#include <jansson.h>
json_t *mr_discover_json(const struct mr_discover_result *res);

#endif
