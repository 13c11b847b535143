/* libvirt's RPC framing (src/rpc/virnetprotocol.x): every message is a 4-byte
 * big-endian length (counting itself), a 24-byte header, and an XDR payload.
 * This file holds the framing, the header, the error body (remote_error) and
 * the few compound types every procedure shares (remote_nonnull_domain). */
#ifndef NUBE_HVD_RPC_H
#define NUBE_HVD_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "xdr.h"

#define RPC_PROG_REMOTE 0x20008086u
#define RPC_PROG_KEEPALIVE 0x6b656570u
#define RPC_VERS 1u

#define RPC_LEN_SIZE 4
#define RPC_HEADER_SIZE 24
/* The largest frame we accept from a client: a 1 MiB domain XML string
 * (REMOTE_STRING_MAX) with room to spare. libvirt's own cap is 16 MiB. */
#define RPC_FRAME_MAX (4u * 1024 * 1024)
/* The largest frame we send (libvirt's VIR_NET_MESSAGE_MAX + length word). */
#define RPC_FRAME_OUT_MAX (16u * 1024 * 1024 + 4)
/* REMOTE_STRING_MAX: the longest string a procedure may carry. */
#define RPC_STRING_MAX (1024u * 1024)
#define RPC_UUID_LEN 16

enum rpc_type {
    RPC_CALL = 0,
    RPC_REPLY = 1,
    RPC_MESSAGE = 2,
    RPC_STREAM = 3,
    RPC_CALL_WITH_FDS = 4,
    RPC_REPLY_WITH_FDS = 5,
};

enum rpc_status { RPC_OK = 0, RPC_ERROR = 1, RPC_CONTINUE = 2 };

struct rpc_header {
    uint32_t prog;
    uint32_t vers;
    int32_t proc;
    uint32_t type;
    uint32_t serial;
    uint32_t status;
};

/* The error a procedure reports, in libvirt's terms (virterror.h codes). */
struct rpc_error {
    int code;   /* VIR_ERR_* */
    int domain; /* VIR_FROM_* */
    char message[1024];
};

/* Validate the length word of a frame: RPC_LEN_SIZE + RPC_HEADER_SIZE <= len
 * <= RPC_FRAME_MAX. Returns the total length or -1. */
long rpc_frame_length(const uint8_t word[RPC_LEN_SIZE]);

/* Decode a header from the bytes after the length word; @body and @body_len
 * then describe the payload. */
int rpc_header_decode(const uint8_t *frame, size_t len, struct rpc_header *h, const uint8_t **body,
                      size_t *body_len, struct err *err);

/* Start a frame in @x (length placeholder + header); finish it with
 * rpc_frame_end(), which patches the length. */
void rpc_frame_begin(struct xdr_enc *x, const struct rpc_header *h);
void rpc_frame_end(struct xdr_enc *x);

/* A whole error reply (type REPLY, status ERROR) for @call. */
void rpc_frame_error(struct xdr_enc *x, const struct rpc_header *call, const struct rpc_error *e);
/* The remote_error body alone. */
void rpc_error_encode(struct xdr_enc *x, const struct rpc_error *e);

/* Fill @e with libvirt's wording: the code's own prefix ("Domain not found: ")
 * followed by the formatted detail, as virReportError does. Returns -1. */
int rpc_error_set(struct rpc_error *e, int code, int domain, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The prefix libvirt puts before messages of @code ("Requested operation is not valid"). */
const char *rpc_error_prefix(int code);

/* remote_nonnull_domain { string name; opaque uuid[16]; int id; } */
struct rpc_domain_ref {
    char *name;
    uint8_t uuid[RPC_UUID_LEN];
    int32_t id;
};

void rpc_domain_ref_encode(struct xdr_enc *x, const char *name, const uint8_t uuid[RPC_UUID_LEN],
                           int32_t id);
int rpc_domain_ref_decode(struct xdr_dec *d, struct rpc_domain_ref *ref);
void rpc_domain_ref_clear(struct rpc_domain_ref *ref);

#endif
