/* XDR encoder/decoder: see xdr.h. Everything is big-endian, 4-byte aligned. */
#include "xdr.h"

#include <string.h>

#include "mem.h"

void
xdr_enc_init(struct xdr_enc *x)
{
    x->buf = NULL;
    x->len = 0;
    x->cap = 0;
}

void
xdr_enc_free(struct xdr_enc *x)
{
    free(x->buf);
    xdr_enc_init(x);
}

static uint8_t *
xdr_reserve(struct xdr_enc *x, size_t n)
{
    if (x->len + n > x->cap) {
        size_t cap = x->cap ? x->cap : 256;
        while (cap < x->len + n)
            cap *= 2;
        x->buf = xrealloc(x->buf, cap);
        x->cap = cap;
    }
    uint8_t *p = x->buf + x->len;
    x->len += n;
    return p;
}

void
xdr_put_u32(struct xdr_enc *x, uint32_t v)
{
    uint8_t *p = xdr_reserve(x, 4);
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void
xdr_put_i32(struct xdr_enc *x, int32_t v)
{
    xdr_put_u32(x, (uint32_t)v);
}

void
xdr_put_u64(struct xdr_enc *x, uint64_t v)
{
    xdr_put_u32(x, (uint32_t)(v >> 32));
    xdr_put_u32(x, (uint32_t)v);
}

void
xdr_put_i64(struct xdr_enc *x, int64_t v)
{
    xdr_put_u64(x, (uint64_t)v);
}

void
xdr_put_fixed(struct xdr_enc *x, const void *p, size_t n)
{
    size_t pad = (4 - (n & 3)) & 3;
    uint8_t *dst = xdr_reserve(x, n + pad);
    if (n)
        memcpy(dst, p, n);
    memset(dst + n, 0, pad);
}

void
xdr_put_opaque(struct xdr_enc *x, const void *p, size_t n)
{
    xdr_put_u32(x, (uint32_t)n);
    xdr_put_fixed(x, p, n);
}

void
xdr_put_string(struct xdr_enc *x, const char *s)
{
    if (!s)
        s = "";
    xdr_put_opaque(x, s, strlen(s));
}

void
xdr_put_string_opt(struct xdr_enc *x, const char *s)
{
    xdr_put_u32(x, s ? 1 : 0);
    if (s)
        xdr_put_string(x, s);
}

void
xdr_patch_u32(struct xdr_enc *x, size_t off, uint32_t v)
{
    if (off + 4 > x->len)
        return;
    x->buf[off] = (uint8_t)(v >> 24);
    x->buf[off + 1] = (uint8_t)(v >> 16);
    x->buf[off + 2] = (uint8_t)(v >> 8);
    x->buf[off + 3] = (uint8_t)v;
}

void
xdr_dec_init(struct xdr_dec *d, const void *p, size_t len)
{
    d->p = p;
    d->len = len;
    d->off = 0;
    d->failed = false;
}

static const uint8_t *
xdr_take(struct xdr_dec *d, size_t n)
{
    if (d->failed || n > d->len - d->off) {
        d->failed = true;
        return NULL;
    }
    const uint8_t *p = d->p + d->off;
    d->off += n;
    return p;
}

int
xdr_get_u32(struct xdr_dec *d, uint32_t *v)
{
    const uint8_t *p = xdr_take(d, 4);
    if (!p) {
        *v = 0;
        return -1;
    }
    *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return 0;
}

int
xdr_get_i32(struct xdr_dec *d, int32_t *v)
{
    uint32_t u;
    int rc = xdr_get_u32(d, &u);
    *v = (int32_t)u;
    return rc;
}

int
xdr_get_u64(struct xdr_dec *d, uint64_t *v)
{
    uint32_t hi, lo;
    if (xdr_get_u32(d, &hi) < 0 || xdr_get_u32(d, &lo) < 0) {
        *v = 0;
        return -1;
    }
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

int
xdr_get_i64(struct xdr_dec *d, int64_t *v)
{
    uint64_t u;
    int rc = xdr_get_u64(d, &u);
    *v = (int64_t)u;
    return rc;
}

int
xdr_get_fixed(struct xdr_dec *d, void *out, size_t n)
{
    size_t pad = (4 - (n & 3)) & 3;
    if (n > d->len) { /* also guards n + pad against overflow */
        d->failed = true;
        return -1;
    }
    const uint8_t *p = xdr_take(d, n + pad);
    if (!p)
        return -1;
    memcpy(out, p, n);
    for (size_t i = 0; i < pad; i++) {
        if (p[n + i] != 0) { /* RFC 4506: padding bytes are zero */
            d->failed = true;
            return -1;
        }
    }
    return 0;
}

int
xdr_get_string(struct xdr_dec *d, size_t max, char **out)
{
    uint32_t n;
    *out = NULL;
    if (xdr_get_u32(d, &n) < 0)
        return -1;
    if (n > max || n > d->len - d->off) {
        d->failed = true;
        return -1;
    }
    char *s = xmalloc((size_t)n + 1);
    if (xdr_get_fixed(d, s, n) < 0 || memchr(s, '\0', n)) {
        free(s);
        d->failed = true;
        return -1;
    }
    s[n] = '\0';
    *out = s;
    return 0;
}

int
xdr_get_string_opt(struct xdr_dec *d, size_t max, char **out)
{
    uint32_t present;
    *out = NULL;
    if (xdr_get_u32(d, &present) < 0)
        return -1;
    if (present > 1) {
        d->failed = true;
        return -1;
    }
    return present ? xdr_get_string(d, max, out) : 0;
}

int
xdr_dec_finish(const struct xdr_dec *d)
{
    return (d->failed || d->off != d->len) ? -1 : 0;
}
