/* Procedure lookup and dispatch: see proc.h. */
#include "proc.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "server.h"

const struct proc_entry *
proc_lookup(int32_t proc)
{
    const struct {
        const struct proc_entry *table;
        size_t n;
    } tables[] = {
        {proc_connect_table, proc_connect_count},
        {proc_domain_table, proc_domain_count},
        {proc_info_table, proc_info_count},
        {proc_stats_table, proc_stats_count},
    };
    for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
        for (size_t i = 0; i < tables[t].n; i++) {
            if (tables[t].table[i].proc == proc)
                return &tables[t].table[i];
        }
    }
    return NULL;
}

int
proc_bad_args(struct rpc_error *e, const char *name)
{
    return rpc_error_set(e, VIR_ERR_RPC, VIR_FROM_RPC, "Unable to decode message payload of %s",
                         name);
}

void
proc_dispatch(struct proc_ctx *ctx, const struct rpc_header *h, const uint8_t *body,
              size_t body_len, struct xdr_enc *out)
{
    struct rpc_error e;
    const struct proc_entry *p = proc_lookup(h->proc);
    if (!p) {
        rpc_error_set(&e, VIR_ERR_NO_SUPPORT, VIR_FROM_RPC, "unknown procedure: %d", h->proc);
        goto error;
    }
    if (!p->before_open && !ctx->client->open) {
        rpc_error_set(&e, VIR_ERR_RPC, VIR_FROM_RPC, "connection not open");
        goto error;
    }
    if (p->writes && ctx->client->readonly) {
        rpc_error_set(&e, VIR_ERR_OPERATION_DENIED, VIR_FROM_RPC, "read only access prevents %s",
                      p->name);
        goto error;
    }
    if (body_len > p->args_max) {
        rpc_error_set(&e, VIR_ERR_RPC, VIR_FROM_RPC,
                      "arguments of %s too large (%zu bytes, at most %u)", p->name, body_len,
                      p->args_max);
        goto error;
    }
    struct xdr_dec args;
    xdr_dec_init(&args, body, body_len);
    struct rpc_header rh = *h;
    rh.type = RPC_REPLY;
    rh.status = RPC_OK;
    rpc_frame_begin(out, &rh);
    if (p->fn(ctx, &args, out, &e) < 0)
        goto error;
    rpc_frame_end(out);
    if (out->len > RPC_FRAME_OUT_MAX) {
        rpc_error_set(&e, VIR_ERR_RPC, VIR_FROM_RPC, "reply of %s too large", p->name);
        goto error;
    }
    log_debug("rpc %s serial %u: ok", p->name, h->serial);
    return;

error:
    log_debug("rpc %d serial %u: %s", h->proc, h->serial, e.message);
    rpc_frame_error(out, h, &e);
}
