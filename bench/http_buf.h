/* bench/: a growing response body for libcurl's CURLOPT_WRITEFUNCTION. */
#ifndef NUBE_BENCH_HTTP_BUF_H
#define NUBE_BENCH_HTTP_BUF_H

#include <string.h>

#include "mem.h"

#define HTTP_BUF_MAX (64u << 20) /* a larger body fails the transfer */

struct buf {
    char *data; /* NUL-terminated */
    size_t len;
};

/* CURLOPT_WRITEFUNCTION with CURLOPT_WRITEDATA a struct buf. */
static size_t
on_data(char *ptr, size_t size, size_t n, void *opaque)
{
    struct buf *b = opaque;
    size_t add = size * n;
    if (b->len + add > HTTP_BUF_MAX)
        return 0;
    b->data = xrealloc(b->data, b->len + add + 1);
    memcpy(b->data + b->len, ptr, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

#endif
