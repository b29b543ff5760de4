/* Network connectors: the proxies (SOCKS5, HTTP CONNECT) an account can reach
 * its mail server through. */
#ifndef MR_CORE_CONNECTOR_H
#define MR_CORE_CONNECTOR_H

#include "util/error.h"

#include <stdint.h>

enum mr_connector_type { MR_CONNECTOR_UNSET = 0, MR_CONNECTOR_SOCKS5, MR_CONNECTOR_HTTP };

struct mr_connector {
    int64_t id;
    char *name;
    enum mr_connector_type type;
    char *address;
    int port;
    int64_t credential_id; /* 0 = no authentication */
    int resolve_local;     /* SOCKS5: resolve the mail server's name here, not at the proxy */
    int tls;               /* HTTP: speak TLS to the proxy itself */
    int skip_certificate;  /* TLS to the proxy: no chain or name checks */
    char *ca_file;         /* TLS to the proxy: extra trusted CAs (PEM), or NULL */
    int64_t created_at, updated_at;
};

void mr_connector_init(struct mr_connector *c);
void mr_connector_clear(struct mr_connector *c);
const char *mr_connector_type_name(enum mr_connector_type t);
int mr_connector_type_parse(const char *s, enum mr_connector_type *out);
/* credential_exists: whether credential_id (when non-zero) is registered. */
int mr_connector_validate(const struct mr_connector *c, int credential_exists,
                          struct mr_problems *p);

#endif
