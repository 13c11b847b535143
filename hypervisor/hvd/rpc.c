/* libvirt RPC framing and shared types: see rpc.h. */
#include "rpc.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"

long
rpc_frame_length(const uint8_t word[RPC_LEN_SIZE])
{
    uint32_t len =
        (uint32_t)word[0] << 24 | (uint32_t)word[1] << 16 | (uint32_t)word[2] << 8 | word[3];
    if (len < RPC_LEN_SIZE + RPC_HEADER_SIZE || len > RPC_FRAME_MAX)
        return -1;
    return (long)len;
}

int
rpc_header_decode(const uint8_t *frame, size_t len, struct rpc_header *h, const uint8_t **body,
                  size_t *body_len, struct err *err)
{
    struct xdr_dec d;
    xdr_dec_init(&d, frame, len);
    xdr_get_u32(&d, &h->prog);
    xdr_get_u32(&d, &h->vers);
    xdr_get_i32(&d, &h->proc);
    xdr_get_u32(&d, &h->type);
    xdr_get_u32(&d, &h->serial);
    xdr_get_u32(&d, &h->status);
    if (d.failed)
        return err_set(err, ERR_INVALID, "truncated RPC header (%zu bytes)", len);
    if (h->type > RPC_REPLY_WITH_FDS)
        return err_set(err, ERR_INVALID, "unknown RPC message type %u", h->type);
    if (h->status > RPC_CONTINUE)
        return err_set(err, ERR_INVALID, "unknown RPC message status %u", h->status);
    *body = frame + d.off;
    *body_len = len - d.off;
    return 0;
}

void
rpc_frame_begin(struct xdr_enc *x, const struct rpc_header *h)
{
    x->len = 0;
    xdr_put_u32(x, 0); /* length, patched by rpc_frame_end */
    xdr_put_u32(x, h->prog);
    xdr_put_u32(x, h->vers);
    xdr_put_i32(x, h->proc);
    xdr_put_u32(x, h->type);
    xdr_put_u32(x, h->serial);
    xdr_put_u32(x, h->status);
}

void
rpc_frame_end(struct xdr_enc *x)
{
    xdr_patch_u32(x, 0, (uint32_t)x->len);
}

void
rpc_error_encode(struct xdr_enc *x, const struct rpc_error *e)
{
    xdr_put_i32(x, e->code);
    xdr_put_i32(x, e->domain);
    xdr_put_string_opt(x, e->message); /* message */
    xdr_put_i32(x, VIR_ERR_ERROR);     /* level */
    xdr_put_u32(x, 0);                 /* dom: NULL */
    xdr_put_string_opt(x, NULL);       /* str1 */
    xdr_put_string_opt(x, NULL);       /* str2 */
    xdr_put_string_opt(x, NULL);       /* str3 */
    xdr_put_i32(x, -1);                /* int1 */
    xdr_put_i32(x, -1);                /* int2 */
    xdr_put_u32(x, 0);                 /* net: NULL */
}

void
rpc_frame_error(struct xdr_enc *x, const struct rpc_header *call, const struct rpc_error *e)
{
    struct rpc_header h = *call;
    h.type = RPC_REPLY;
    h.status = RPC_ERROR;
    rpc_frame_begin(x, &h);
    rpc_error_encode(x, e);
    rpc_frame_end(x);
}

const char *
rpc_error_prefix(int code)
{
    switch (code) {
    case VIR_ERR_INTERNAL_ERROR:
        return "internal error";
    case VIR_ERR_NO_SUPPORT:
        return "this function is not supported by the connection driver";
    case VIR_ERR_INVALID_ARG:
        return "invalid argument";
    case VIR_ERR_OPERATION_FAILED:
        return "operation failed";
    case VIR_ERR_XML_ERROR:
        return "XML error";
    case VIR_ERR_DOM_EXIST:
        return "this domain exists already";
    case VIR_ERR_RPC:
        return "RPC error";
    case VIR_ERR_NO_DOMAIN:
        return "Domain not found";
    case VIR_ERR_OPERATION_INVALID:
        return "Requested operation is not valid";
    case VIR_ERR_CONFIG_UNSUPPORTED:
        return "unsupported configuration";
    case VIR_ERR_OPERATION_UNSUPPORTED:
        return "Operation not supported";
    case VIR_ERR_SYSTEM_ERROR:
        return ""; /* libvirt prints system errors bare */
    case VIR_ERR_OPERATION_TIMEOUT:
        return "Timed out during operation";
    case VIR_ERR_OPERATION_DENIED:
        return "operation forbidden";
    case VIR_ERR_AUTH_FAILED:
        return "authentication failed";
    default:
        return "error";
    }
}

int
rpc_error_set(struct rpc_error *e, int code, int domain, const char *fmt, ...)
{
    char detail[sizeof(e->message) - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    e->code = code;
    e->domain = domain;
    const char *prefix = rpc_error_prefix(code);
    size_t n = strlen(prefix);
    if (n > 60)
        n = 60;
    memcpy(e->message, prefix, n);
    if (n) {
        e->message[n++] = ':';
        e->message[n++] = ' ';
    }
    memcpy(e->message + n, detail, strlen(detail) + 1);
    return -1;
}

void
rpc_domain_ref_encode(struct xdr_enc *x, const char *name, const uint8_t uuid[RPC_UUID_LEN],
                      int32_t id)
{
    xdr_put_string(x, name);
    xdr_put_fixed(x, uuid, RPC_UUID_LEN);
    xdr_put_i32(x, id);
}

int
rpc_domain_ref_decode(struct xdr_dec *d, struct rpc_domain_ref *ref)
{
    memset(ref, 0, sizeof(*ref));
    if (xdr_get_string(d, RPC_STRING_MAX, &ref->name) < 0)
        return -1;
    if (xdr_get_fixed(d, ref->uuid, RPC_UUID_LEN) < 0)
        return -1;
    return xdr_get_i32(d, &ref->id);
}

void
rpc_domain_ref_clear(struct rpc_domain_ref *ref)
{
    free(ref->name);
    ref->name = NULL;
}
