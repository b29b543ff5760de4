#include "core/connector.h"

#include "core/names.h"
#include "util/mem.h"
#include "util/text.h"

#include <string.h>
#include <strings.h>

void mr_connector_init(struct mr_connector *c)
{
    memset(c, 0, sizeof(*c));
}

void mr_connector_clear(struct mr_connector *c)
{
    mr_freep(&c->name);
    mr_freep(&c->address);
    mr_freep(&c->ca_file);
}

const char *mr_connector_type_name(enum mr_connector_type t)
{
    return t == MR_CONNECTOR_SOCKS5 ? "socks5" : t == MR_CONNECTOR_HTTP ? "http" : "";
}

int mr_connector_type_parse(const char *s, enum mr_connector_type *out)
{
    if (strcasecmp(s, "socks5") == 0)
        *out = MR_CONNECTOR_SOCKS5;
    else if (strcasecmp(s, "http") == 0)
        *out = MR_CONNECTOR_HTTP;
    else
        return MR_EINVAL;
    return 0;
}

int mr_connector_validate(const struct mr_connector *c, int credential_exists,
                          struct mr_problems *p)
{
    size_t before = p->count;
    mr_check_name(c->name, "name", p);
    if (c->type == MR_CONNECTOR_UNSET)
        mr_problems_add(p, "type", "is required (socks5 or http)");
    mr_check_host(c->address, "address", p);
    if (c->port == 0)
        mr_problems_add(p, "port", "is required");
    else
        mr_check_port(c->port, "port", p);
    if (c->type == MR_CONNECTOR_HTTP && c->resolve_local)
        mr_problems_add(p, "resolve",
                        "applies to socks5 connectors only (an HTTP proxy always resolves the "
                        "mail server's name)");
    if (c->type == MR_CONNECTOR_SOCKS5 && (c->tls || c->skip_certificate || c->ca_file))
        mr_problems_add(p,
                        c->tls       ? "tls"
                        : c->ca_file ? "ca_file"
                                     : "skip_certificate",
                        "applies to http connectors only (SOCKS5 has no TLS to the proxy)");
    if (c->type == MR_CONNECTOR_HTTP && !c->tls && (c->skip_certificate || c->ca_file))
        mr_problems_add(p, c->ca_file ? "ca_file" : "skip_certificate",
                        "applies only when tls is yes");
    if (c->ca_file && (c->ca_file[0] != '/' || mr_str_has_control(c->ca_file)))
        mr_problems_add(p, "ca_file", "must be an absolute path");
    if (c->credential_id && !credential_exists)
        mr_problems_add(p, "credential", "no credential with ID %lld", (long long)c->credential_id);
    return p->count > before ? MR_EINVAL : 0;
}
