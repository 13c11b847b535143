/* XDR (RFC 4506) encoding and decoding for libvirt's RPC, with strict bounds:
 * the decoder never reads past its buffer, never allocates more than a
 * caller-given maximum, and remembers the first failure so a handler can
 * decode a whole struct and check once. */
#ifndef NUBE_HVD_XDR_H
#define NUBE_HVD_XDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing output buffer (allocation failure aborts, see mem.h). */
struct xdr_enc {
    uint8_t *buf;
    size_t len;
    size_t cap;
};

void xdr_enc_init(struct xdr_enc *x);
void xdr_enc_free(struct xdr_enc *x);
void xdr_put_u32(struct xdr_enc *x, uint32_t v);
void xdr_put_i32(struct xdr_enc *x, int32_t v);
void xdr_put_u64(struct xdr_enc *x, uint64_t v);
void xdr_put_i64(struct xdr_enc *x, int64_t v);
/* Fixed-length opaque (padded to 4 bytes). */
void xdr_put_fixed(struct xdr_enc *x, const void *p, size_t n);
/* Variable-length opaque: length word, bytes, padding. */
void xdr_put_opaque(struct xdr_enc *x, const void *p, size_t n);
void xdr_put_string(struct xdr_enc *x, const char *s);
/* An optional string (XDR pointer): 0, or 1 followed by the string. */
void xdr_put_string_opt(struct xdr_enc *x, const char *s);
/* Overwrite a big-endian word already written at @off. */
void xdr_patch_u32(struct xdr_enc *x, size_t off, uint32_t v);

/* A bounded input cursor. After the first failure every getter fails. */
struct xdr_dec {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool failed;
};

void xdr_dec_init(struct xdr_dec *d, const void *p, size_t len);
int xdr_get_u32(struct xdr_dec *d, uint32_t *v);
int xdr_get_i32(struct xdr_dec *d, int32_t *v);
int xdr_get_u64(struct xdr_dec *d, uint64_t *v);
int xdr_get_i64(struct xdr_dec *d, int64_t *v);
int xdr_get_fixed(struct xdr_dec *d, void *out, size_t n);
/* A string of at most @max bytes without embedded NULs, newly allocated. */
int xdr_get_string(struct xdr_dec *d, size_t max, char **out);
/* An optional string: *out is NULL when absent. */
int xdr_get_string_opt(struct xdr_dec *d, size_t max, char **out);
/* 0 when the whole input was consumed without failure (strict decoding). */
int xdr_dec_finish(const struct xdr_dec *d);

#endif
