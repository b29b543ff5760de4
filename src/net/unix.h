/* A connection over a unix-domain stream socket (an LMTP server's socket,
 * for one), as an mr_conn like the TCP ones (conn.h): the same reads and
 * writes bounded by the limits. */
#ifndef MR_NET_UNIX_H
#define MR_NET_UNIX_H

#include "net/conn.h"

/* Connects to the socket at path within limits->connect_timeout_ms (and
 * the deadline). *out is NULL on failure. The conn's host is the path and
 * its port 0. */
int mr_net_connect_unix(struct mr_conn **out, const char *path, const struct mr_net_limits *limits,
                        mr_error *err);

#endif
