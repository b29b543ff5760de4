#include "proto/sasl.h"

#include "util/mem.h"

#include <gsasl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct mr_sasl {
    Gsasl *ctx;
    Gsasl_session *session;
};

/* Strongest first. NTLM is last: it is offered only when asked for. */
static const char *const preference[] = {"SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5",
                                         "PLAIN",         "LOGIN",       NULL};

static int listed(const char *list, const char *mech)
{
    size_t n = strlen(mech);
    for (const char *p = list; (p = strcasestr(p, mech)) != NULL; p += n) {
        int starts = p == list || p[-1] == ' ';
        int ends = p[n] == '\0' || p[n] == ' ';
        if (starts && ends)
            return 1;
    }
    return 0;
}

int mr_sasl_choose(const char *server_mechs, char *out, size_t size)
{
    Gsasl *ctx = NULL;
    if (gsasl_init(&ctx) != GSASL_OK)
        return MR_ENOTFOUND;
    int rc = MR_ENOTFOUND;
    for (int i = 0; preference[i] && rc; i++) {
        if (listed(server_mechs, preference[i]) && gsasl_client_support_p(ctx, preference[i])) {
            snprintf(out, size, "%s", preference[i]);
            rc = 0;
        }
    }
    gsasl_done(ctx);
    return rc;
}

int mr_sasl_client_first(const char *mech)
{
    return strcasecmp(mech, "PLAIN") == 0 || strncasecmp(mech, "SCRAM-", 6) == 0 ||
           strcasecmp(mech, "NTLM") == 0;
}

int mr_sasl_start(struct mr_sasl **out, const char *mech, const char *user, const char *password,
                  mr_error *err)
{
    struct mr_sasl *s = mr_xcalloc(1, sizeof(*s));
    *out = NULL;
    int rc = gsasl_init(&s->ctx);
    if (rc == GSASL_OK)
        rc = gsasl_client_start(s->ctx, mech, &s->session);
    if (rc != GSASL_OK) {
        mr_sasl_free(&s);
        return mr_error_set(err, MR_EAUTH, "auth", "SASL mechanism %s: %s", mech,
                            gsasl_strerror(rc));
    }
    gsasl_property_set(s->session, GSASL_AUTHID, user);
    gsasl_property_set(s->session, GSASL_PASSWORD, password);
    *out = s;
    return 0;
}

int mr_sasl_step(struct mr_sasl *s, const char *challenge, char **answer, int *done, mr_error *err)
{
    char *output = NULL;
    int rc = gsasl_step64(s->session, challenge, &output);
    if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
        gsasl_free(output);
        return mr_error_set(err, MR_EAUTH, "auth", "SASL exchange failed: %s", gsasl_strerror(rc));
    }
    *answer = mr_xstrdup(output ? output : "");
    gsasl_free(output);
    *done = rc == GSASL_OK;
    return 0;
}

void mr_sasl_free(struct mr_sasl **sp)
{
    struct mr_sasl *s = *sp;
    if (!s)
        return;
    if (s->session)
        gsasl_finish(s->session);
    if (s->ctx)
        gsasl_done(s->ctx);
    free(s);
    *sp = NULL;
}
