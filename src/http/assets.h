/* The console's files, compiled into the binary from web/. */
#ifndef MR_HTTP_ASSETS_H
#define MR_HTTP_ASSETS_H

#include <stddef.h>

struct mr_asset {
    const char *path; /* "/index.html" */
    const unsigned char *data;
    size_t size;
};

extern const struct mr_asset mr_assets[]; /* ends with a NULL path */

#endif
