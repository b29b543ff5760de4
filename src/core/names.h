/* Rules shared by every registered object: names and network addresses. */
#ifndef MR_CORE_NAMES_H
#define MR_CORE_NAMES_H

#include "util/error.h"

#define MR_NAME_MAX_CHARS 100
#define MR_HOST_MAX       253

/* Object names: 1-100 characters of UTF-8, no control characters, no
 * leading or trailing space, and not only digits (a number is an ID). */
void mr_check_name(const char *name, const char *field, struct mr_problems *p);
/* A DNS host name (RFC 1123 letters, digits, hyphens; dot-separated labels of
 * 1-63 characters) or an IPv4 or IPv6 literal. */
void mr_check_host(const char *host, const char *field, struct mr_problems *p);
void mr_check_port(long long port, const char *field, struct mr_problems *p);

#endif
