/* The dispatch table of the remote program (0x20008086): procedure number ->
 * handler, with the size bounds of its arguments (vmd's IMSG_SIZE_CHECK).
 * Handlers decode their arguments strictly (trailing bytes are an error),
 * fill the reply body, or fill a libvirt error. Procedures that are not in
 * the table answer VIR_ERR_NO_SUPPORT. */
#ifndef NUBE_HVD_PROC_H
#define NUBE_HVD_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"
#include "xdr.h"

struct hvd_server;
struct hvd_client;

struct proc_ctx {
    struct hvd_server *srv;
    struct hvd_client *client;
};

typedef int (*proc_fn)(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                       struct rpc_error *e);

struct proc_entry {
    int32_t proc;
    const char *name;
    proc_fn fn;
    uint32_t args_max; /* bytes */
    bool before_open;  /* allowed before REMOTE_PROC_CONNECT_OPEN */
    bool writes;       /* changes state: refused on a read-only connection */
};

/* Argument size classes. */
#define PROC_ARGS_NONE 0u
#define PROC_ARGS_SMALL 1024u                  /* ints, a domain reference */
#define PROC_ARGS_XML (RPC_STRING_MAX + 1024u) /* a domain XML document */

extern const struct proc_entry proc_connect_table[];
extern const size_t proc_connect_count;
extern const struct proc_entry proc_domain_table[];
extern const size_t proc_domain_count;
extern const struct proc_entry proc_info_table[];
extern const size_t proc_info_count;
extern const struct proc_entry proc_stats_table[];
extern const size_t proc_stats_count;

const struct proc_entry *proc_lookup(int32_t proc);

/* Handle one CALL of the remote program: decode, run, and put the whole reply
 * frame (success or error) into @out. */
void proc_dispatch(struct proc_ctx *ctx, const struct rpc_header *h, const uint8_t *body,
                   size_t body_len, struct xdr_enc *out);

/* Decode-failure error, as libvirt words it. */
int proc_bad_args(struct rpc_error *e, const char *name);

#endif
