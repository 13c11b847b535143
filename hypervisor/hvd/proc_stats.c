/* REMOTE_PROC_CONNECT_GET_ALL_DOMAIN_STATS (virConnectGetAllDomainStats,
 * virDomainListGetStats, `virsh domstats`): one call for the state, CPU,
 * memory, vCPU, interface and block figures of many domains, as typed
 * parameters with libvirt's field names. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

#include "domain.h"
#include "mem.h"
#include "monitor.h"
#include "proc.h"
#include "server.h"
#include "tap.h"

#define REMOTE_PROC_CONNECT_GET_ALL_DOMAIN_STATS 344
#define STATS_DOMAINS_MAX 16384 /* REMOTE_DOMAIN_LIST_MAX */

static const uint32_t stats_supported = VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL |
                                        VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_VCPU |
                                        VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK;

/* A typed-parameter list being built: the count is patched at the end. */
struct params {
    struct xdr_enc *x;
    size_t count_at;
    uint32_t n;
};

/* Field "@name", or "@name.@idx.@suffix" when @suffix is given. */
static void
param_begin(struct params *p, const char *name, size_t idx, const char *suffix, int type)
{
    char field[80];
    if (suffix)
        snprintf(field, sizeof(field), "%s.%zu.%s", name, idx, suffix);
    else
        snprintf(field, sizeof(field), "%s", name);
    xdr_put_string(p->x, field);
    xdr_put_i32(p->x, type);
    p->n++;
}

static void
p_int(struct params *p, const char *name, int v)
{
    param_begin(p, name, 0, NULL, VIR_TYPED_PARAM_INT);
    xdr_put_i32(p->x, v);
}

static void
p_uint(struct params *p, const char *name, unsigned v)
{
    param_begin(p, name, 0, NULL, VIR_TYPED_PARAM_UINT);
    xdr_put_u32(p->x, v);
}

static void
p_ull(struct params *p, const char *name, uint64_t v)
{
    param_begin(p, name, 0, NULL, VIR_TYPED_PARAM_ULLONG);
    xdr_put_u64(p->x, v);
}

/* "net.0.rx.bytes" style fields. */
static void
p_ull_n(struct params *p, const char *name, size_t idx, const char *suffix, uint64_t v)
{
    param_begin(p, name, idx, suffix, VIR_TYPED_PARAM_ULLONG);
    xdr_put_u64(p->x, v);
}

static void
p_str_n(struct params *p, const char *name, size_t idx, const char *suffix, const char *v)
{
    param_begin(p, name, idx, suffix, VIR_TYPED_PARAM_STRING);
    xdr_put_string(p->x, v);
}

static void
record(struct xdr_enc *ret, struct hvd_domain *d, uint32_t stats)
{
    const struct domain_def *def = hvd_domain_current(d);
    rpc_domain_ref_encode(ret, def->name, def->uuid, d->id);
    struct params p = {ret, ret->len, 0};
    xdr_put_u32(ret, 0);
    if (stats & VIR_DOMAIN_STATS_STATE) {
        p_int(&p, "state.state", d->state);
        p_int(&p, "state.reason", d->reason);
    }
    bool active = hvd_domain_active(d);
    if ((stats & VIR_DOMAIN_STATS_CPU_TOTAL) && active)
        p_ull(&p, "cpu.time", hvd_domain_cpu_time(d));
    if (stats & VIR_DOMAIN_STATS_BALLOON) {
        p_ull(&p, "balloon.current", def->memory_kib);
        p_ull(&p, "balloon.maximum", def->memory_kib);
        if (active)
            p_ull(&p, "balloon.rss", monitor_rss_kib(d->vm.pid));
    }
    if (stats & VIR_DOMAIN_STATS_VCPU) {
        p_uint(&p, "vcpu.current", def->vcpus);
        p_uint(&p, "vcpu.maximum", def->vcpus);
    }
    if ((stats & VIR_DOMAIN_STATS_INTERFACE) && active) {
        p_uint(&p, "net.count", (unsigned)def->nifaces);
        /* the tap's receive side is the guest's transmit side */
        static const char *const fields[][2] = {
            {"rx.bytes", "tx_bytes"},  {"rx.pkts", "tx_packets"}, {"rx.errs", "tx_errors"},
            {"rx.drop", "tx_dropped"}, {"tx.bytes", "rx_bytes"},  {"tx.pkts", "rx_packets"},
            {"tx.errs", "rx_errors"},  {"tx.drop", "rx_dropped"},
        };
        for (size_t i = 0; i < def->nifaces; i++) {
            const char *tap = def->ifaces[i].tap ? def->ifaces[i].tap : "";
            p_str_n(&p, "net", i, "name", tap);
            for (size_t k = 0; k < ARRAY_SIZE(fields); k++) {
                long long v = tap_counter(tap, fields[k][1]);
                if (v >= 0)
                    p_ull_n(&p, "net", i, fields[k][0], (uint64_t)v);
            }
        }
    }
    if (stats & VIR_DOMAIN_STATS_BLOCK) {
        p_uint(&p, "block.count", (unsigned)def->ndisks);
        for (size_t i = 0; i < def->ndisks; i++) {
            p_str_n(&p, "block", i, "name", def->disks[i].target);
            p_str_n(&p, "block", i, "path", def->disks[i].source);
            struct hvd_block_stats st;
            struct rpc_error ignored;
            if (!active || d->ops->block_stats(&d->vm, def->disks[i].target, &st, &ignored) < 0)
                continue; /* the monitor does not report them: leave them out */
            p_ull_n(&p, "block", i, "rd.reqs", (uint64_t)st.rd_req);
            p_ull_n(&p, "block", i, "rd.bytes", (uint64_t)st.rd_bytes);
            p_ull_n(&p, "block", i, "wr.reqs", (uint64_t)st.wr_req);
            p_ull_n(&p, "block", i, "wr.bytes", (uint64_t)st.wr_bytes);
        }
    }
    xdr_patch_u32(ret, p.count_at, p.n);
}

/* The state filters of virConnectGetAllDomainStats (a subset of ListAll's). */
static bool
state_matches(const struct hvd_domain *d, uint32_t flags)
{
    const uint32_t act =
        VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE | VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE;
    const uint32_t per =
        VIR_CONNECT_GET_ALL_DOMAINS_STATS_PERSISTENT | VIR_CONNECT_GET_ALL_DOMAINS_STATS_TRANSIENT;
    const uint32_t st =
        VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING | VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED |
        VIR_CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF | VIR_CONNECT_GET_ALL_DOMAINS_STATS_OTHER;
    bool active = hvd_domain_active(d);
    if ((flags & act) && !(active ? flags & VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE
                                  : flags & VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE))
        return false;
    if ((flags & per) && !(d->def ? flags & VIR_CONNECT_GET_ALL_DOMAINS_STATS_PERSISTENT
                                  : flags & VIR_CONNECT_GET_ALL_DOMAINS_STATS_TRANSIENT))
        return false;
    if (flags & st) {
        uint32_t mine = d->state == VIR_DOMAIN_RUNNING   ? VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING
                        : d->state == VIR_DOMAIN_PAUSED  ? VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED
                        : d->state == VIR_DOMAIN_SHUTOFF ? VIR_CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF
                                                         : VIR_CONNECT_GET_ALL_DOMAINS_STATS_OTHER;
        if (!(flags & mine))
            return false;
    }
    return true;
}

static int
p_get_all_domain_stats(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                       struct rpc_error *e)
{
    uint32_t ndoms, stats, flags;
    struct hvd_domain **picked = NULL;
    size_t npicked = 0;
    int rc = -1;
    struct hvd_registry *reg = &ctx->srv->reg;

    xdr_get_u32(args, &ndoms);
    if (args->failed || ndoms > STATS_DOMAINS_MAX) {
        rc = proc_bad_args(e, "connect_get_all_domain_stats");
        goto cleanup;
    }
    picked = xcalloc(ndoms ? ndoms : 1, sizeof(*picked));
    for (uint32_t i = 0; i < ndoms; i++) {
        struct rpc_domain_ref ref;
        if (rpc_domain_ref_decode(args, &ref) < 0) {
            rpc_domain_ref_clear(&ref);
            break;
        }
        struct hvd_domain *d = hvd_domain_by_uuid(reg, ref.uuid);
        if (!d && !args->failed) {
            rpc_error_set(e, VIR_ERR_NO_DOMAIN, VIR_FROM_DOMAIN,
                          "no domain with matching uuid (%s)", ref.name);
            rpc_domain_ref_clear(&ref);
            goto cleanup;
        }
        picked[npicked++] = d;
        rpc_domain_ref_clear(&ref);
    }
    xdr_get_u32(args, &stats);
    xdr_get_u32(args, &flags);
    if (xdr_dec_finish(args) < 0) {
        rc = proc_bad_args(e, "connect_get_all_domain_stats");
        goto cleanup;
    }
    if ((flags & VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS) && (stats & ~stats_supported)) {
        rpc_error_set(e, VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_FROM_DOMAIN,
                      "Stats types bits 0x%x are not supported by this daemon",
                      stats & ~stats_supported);
        goto cleanup;
    }
    stats = stats ? stats & stats_supported : stats_supported;

    size_t at = ret->len;
    uint32_t n = 0;
    xdr_put_u32(ret, 0);
    if (ndoms) {
        for (size_t i = 0; i < npicked; i++, n++)
            record(ret, picked[i], stats);
    } else {
        for (size_t i = 0; i < reg->n && n < STATS_DOMAINS_MAX; i++) {
            if (state_matches(reg->doms[i], flags)) {
                record(ret, reg->doms[i], stats);
                n++;
            }
        }
    }
    xdr_patch_u32(ret, at, n);
    rc = 0;
cleanup:
    free(picked);
    return rc;
}

const struct proc_entry proc_stats_table[] = {
    {REMOTE_PROC_CONNECT_GET_ALL_DOMAIN_STATS, "connect_get_all_domain_stats",
     p_get_all_domain_stats, PROC_ARGS_XML, false, false},
};
const size_t proc_stats_count = ARRAY_SIZE(proc_stats_table);
