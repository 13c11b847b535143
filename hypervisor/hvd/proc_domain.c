/* Domain procedures: lookup, define/undefine, lifecycle, info, XML, stats. */
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

/* Procedure numbers from libvirt's src/remote/remote_protocol.x. */
enum {
    REMOTE_PROC_DOMAIN_CREATE = 9,
    REMOTE_PROC_DOMAIN_CREATE_XML = 10,
    REMOTE_PROC_DOMAIN_DEFINE_XML = 11,
    REMOTE_PROC_DOMAIN_DESTROY = 12,
    REMOTE_PROC_DOMAIN_GET_XML_DESC = 14,
    REMOTE_PROC_DOMAIN_GET_AUTOSTART = 15,
    REMOTE_PROC_DOMAIN_GET_INFO = 16,
    REMOTE_PROC_DOMAIN_GET_MAX_MEMORY = 17,
    REMOTE_PROC_DOMAIN_GET_MAX_VCPUS = 18,
    REMOTE_PROC_DOMAIN_GET_OS_TYPE = 19,
    REMOTE_PROC_DOMAIN_LOOKUP_BY_ID = 22,
    REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME = 23,
    REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID = 24,
    REMOTE_PROC_DOMAIN_REBOOT = 27,
    REMOTE_PROC_DOMAIN_RESUME = 28,
    REMOTE_PROC_DOMAIN_SET_AUTOSTART = 29,
    REMOTE_PROC_DOMAIN_SHUTDOWN = 33,
    REMOTE_PROC_DOMAIN_SUSPEND = 34,
    REMOTE_PROC_DOMAIN_UNDEFINE = 35,
    REMOTE_PROC_DOMAIN_BLOCK_STATS = 64,
    REMOTE_PROC_DOMAIN_INTERFACE_STATS = 65,
    REMOTE_PROC_DOMAIN_IS_ACTIVE = 150,
    REMOTE_PROC_DOMAIN_MEMORY_STATS = 159,
    REMOTE_PROC_DOMAIN_IS_PERSISTENT = 151,
    REMOTE_PROC_DOMAIN_MANAGED_SAVE = 182,
    REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE = 183,
    REMOTE_PROC_DOMAIN_MANAGED_SAVE_REMOVE = 184,
    REMOTE_PROC_DOMAIN_SNAPSHOT_NUM = 187,
    REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS = 196,
    REMOTE_PROC_DOMAIN_GET_VCPUS_FLAGS = 200,
    REMOTE_PROC_DOMAIN_IS_UPDATED = 202,
    REMOTE_PROC_DOMAIN_GET_STATE = 212,
    REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS = 231,
    REMOTE_PROC_DOMAIN_DESTROY_FLAGS = 234,
    REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS = 258,
    REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS = 350,
};

static int
finish(struct xdr_dec *args, struct rpc_error *e, const char *name)
{
    return xdr_dec_finish(args) < 0 ? proc_bad_args(e, name) : 0;
}

/* virCheckFlags: unknown flag bits are an error. */
static int
check_flags(uint32_t flags, uint32_t allowed, const char *fn, struct rpc_error *e)
{
    if (flags & ~allowed)
        return rpc_error_set(e, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
                             "unsupported flags (0x%x) in function %s", flags & ~allowed, fn);
    return 0;
}

static void
put_dom(struct xdr_enc *ret, const struct hvd_domain *d)
{
    const struct domain_def *def = hvd_domain_current(d);
    rpc_domain_ref_encode(ret, def->name, def->uuid, d->id);
}

/* Arguments that start with a remote_nonnull_domain, resolved by UUID as
 * libvirtd does; @extra_u32 more unsigned words follow (flags and such). */
static struct hvd_domain *
get_dom(struct proc_ctx *ctx, struct xdr_dec *args, uint32_t *extra, size_t nextra,
        const char *name, struct rpc_error *e)
{
    struct rpc_domain_ref ref;
    rpc_domain_ref_decode(args, &ref);
    for (size_t i = 0; i < nextra; i++)
        xdr_get_u32(args, &extra[i]);
    struct hvd_domain *d = NULL;
    if (finish(args, e, name) == 0) {
        d = hvd_domain_by_uuid(&ctx->srv->reg, ref.uuid);
        if (!d) {
            char uuid[37];
            domain_uuid_format(ref.uuid, uuid);
            rpc_error_set(e, VIR_ERR_NO_DOMAIN, VIR_FROM_DOMAIN,
                          "no domain with matching uuid '%s' (%s)", uuid, ref.name);
        }
    }
    rpc_domain_ref_clear(&ref);
    return d;
}

static int
p_lookup_by_name(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                 struct rpc_error *e)
{
    _cleanup_free_ char *name = NULL;
    xdr_get_string(args, RPC_STRING_MAX, &name);
    if (finish(args, e, "domain_lookup_by_name") < 0)
        return -1;
    struct hvd_domain *d = hvd_domain_by_name(&ctx->srv->reg, name);
    if (!d)
        return rpc_error_set(e, VIR_ERR_NO_DOMAIN, VIR_FROM_DOMAIN,
                             "no domain with matching name '%s'", name);
    put_dom(ret, d);
    return 0;
}

static int
p_lookup_by_uuid(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                 struct rpc_error *e)
{
    uint8_t uuid[RPC_UUID_LEN];
    xdr_get_fixed(args, uuid, sizeof(uuid));
    if (finish(args, e, "domain_lookup_by_uuid") < 0)
        return -1;
    struct hvd_domain *d = hvd_domain_by_uuid(&ctx->srv->reg, uuid);
    if (!d) {
        char s[37];
        domain_uuid_format(uuid, s);
        return rpc_error_set(e, VIR_ERR_NO_DOMAIN, VIR_FROM_DOMAIN,
                             "no domain with matching uuid '%s'", s);
    }
    put_dom(ret, d);
    return 0;
}

static int
p_lookup_by_id(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    int32_t id;
    xdr_get_i32(args, &id);
    if (finish(args, e, "domain_lookup_by_id") < 0)
        return -1;
    struct hvd_domain *d = hvd_domain_by_id(&ctx->srv->reg, id);
    if (!d)
        return rpc_error_set(e, VIR_ERR_NO_DOMAIN, VIR_FROM_DOMAIN, "no domain with matching id %d",
                             id);
    put_dom(ret, d);
    return 0;
}

static int
define_common(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, bool has_flags,
              struct rpc_error *e)
{
    _cleanup_free_ char *xml = NULL;
    uint32_t flags = 0;
    xdr_get_string(args, RPC_STRING_MAX, &xml);
    if (has_flags)
        xdr_get_u32(args, &flags);
    if (finish(args, e, "domain_define_xml") < 0)
        return -1;
    /* VALIDATE: we always validate against what we can run. */
    if (check_flags(flags, VIR_DOMAIN_DEFINE_VALIDATE, "virDomainDefineXMLFlags", e) < 0)
        return -1;
    struct hvd_domain *d = hvd_domain_define(&ctx->srv->reg, xml, e);
    if (!d)
        return -1;
    put_dom(ret, d);
    return 0;
}

static int
p_define_xml(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    return define_common(ctx, args, ret, false, e);
}

static int
p_define_xml_flags(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                   struct rpc_error *e)
{
    return define_common(ctx, args, ret, true, e);
}

static int
p_undefine(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ret;
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_undefine", e);
    return d ? hvd_domain_undefine(&ctx->srv->reg, d, false, e) : -1;
}

static int
p_undefine_flags(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                 struct rpc_error *e)
{
    (void)ret;
    uint32_t flags;
    struct hvd_domain *d = get_dom(ctx, args, &flags, 1, "domain_undefine_flags", e);
    if (!d)
        return -1;
    /* Nothing of ours carries managed save, snapshots, NVRAM or TPM state. */
    const uint32_t allowed = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                             VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM |
                             VIR_DOMAIN_UNDEFINE_KEEP_NVRAM |
                             VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;
    if (check_flags(flags, allowed, "virDomainUndefineFlags", e) < 0)
        return -1;
    return hvd_domain_undefine(&ctx->srv->reg, d, flags & VIR_DOMAIN_UNDEFINE_MANAGED_SAVE, e);
}

static int
p_create(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ret;
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_create", e);
    return d ? hvd_domain_start(&ctx->srv->reg, d, false, false, e) : -1;
}

static int
p_create_with_flags(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                    struct rpc_error *e)
{
    uint32_t flags;
    struct hvd_domain *d = get_dom(ctx, args, &flags, 1, "domain_create_with_flags", e);
    if (!d || check_flags(flags, VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_FORCE_BOOT,
                          "virDomainCreateWithFlags", e) < 0)
        return -1;
    if (hvd_domain_start(&ctx->srv->reg, d, flags & VIR_DOMAIN_START_PAUSED,
                         flags & VIR_DOMAIN_START_FORCE_BOOT, e) < 0)
        return -1;
    put_dom(ret, d);
    return 0;
}

static int
p_create_xml(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    _cleanup_free_ char *xml = NULL;
    uint32_t flags;
    xdr_get_string(args, RPC_STRING_MAX, &xml);
    xdr_get_u32(args, &flags);
    if (finish(args, e, "domain_create_xml") < 0 ||
        check_flags(flags, VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_VALIDATE,
                    "virDomainCreateXML", e) < 0)
        return -1;
    struct hvd_domain *d =
        hvd_domain_create_xml(&ctx->srv->reg, xml, flags & VIR_DOMAIN_START_PAUSED, e);
    if (!d)
        return -1;
    put_dom(ret, d);
    return 0;
}

static int
p_destroy(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ret;
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_destroy", e);
    return d ? hvd_domain_destroy(&ctx->srv->reg, d, e) : -1;
}

static int
p_destroy_flags(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                struct rpc_error *e)
{
    (void)ret;
    uint32_t flags;
    struct hvd_domain *d = get_dom(ctx, args, &flags, 1, "domain_destroy_flags", e);
    if (!d || check_flags(flags, VIR_DOMAIN_DESTROY_GRACEFUL, "virDomainDestroyFlags", e) < 0)
        return -1;
    return hvd_domain_destroy(&ctx->srv->reg, d, e);
}

static int
p_shutdown(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ret;
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_shutdown", e);
    return d ? hvd_domain_shutdown(&ctx->srv->reg, d, e) : -1;
}

static int
p_shutdown_flags(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                 struct rpc_error *e)
{
    (void)ret;
    uint32_t flags;
    struct hvd_domain *d = get_dom(ctx, args, &flags, 1, "domain_shutdown_flags", e);
    if (!d ||
        check_flags(flags, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN, "virDomainShutdownFlags", e) < 0)
        return -1;
    return hvd_domain_shutdown(&ctx->srv->reg, d, e);
}

static int
p_reboot(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ret;
    uint32_t flags;
    struct hvd_domain *d = get_dom(ctx, args, &flags, 1, "domain_reboot", e);
    if (!d || check_flags(flags, VIR_DOMAIN_REBOOT_ACPI_POWER_BTN, "virDomainReboot", e) < 0)
        return -1;
    return hvd_domain_reboot(&ctx->srv->reg, d, e);
}

static int
p_suspend(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ret;
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_suspend", e);
    return d ? hvd_domain_suspend(&ctx->srv->reg, d, e) : -1;
}

static int
p_resume(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ret;
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_resume", e);
    return d ? hvd_domain_resume(&ctx->srv->reg, d, e) : -1;
}

static int
p_get_info(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_get_info", e);
    if (!d)
        return -1;
    const struct domain_def *def = hvd_domain_current(d);
    xdr_put_u32(ret, (uint32_t)d->state); /* unsigned char: one XDR word */
    xdr_put_u64(ret, def->memory_kib);    /* maxMem */
    xdr_put_u64(ret, def->memory_kib);    /* memory (no balloon) */
    xdr_put_u32(ret, def->vcpus);         /* unsigned short: one XDR word */
    xdr_put_u64(ret, hvd_domain_cpu_time(d));
    return 0;
}

static int
p_get_state(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    uint32_t flags;
    struct hvd_domain *d = get_dom(ctx, args, &flags, 1, "domain_get_state", e);
    if (!d || check_flags(flags, 0, "virDomainGetState", e) < 0)
        return -1;
    xdr_put_i32(ret, d->state);
    xdr_put_i32(ret, d->reason);
    return 0;
}

static int
p_get_xml_desc(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    uint32_t flags;
    struct hvd_domain *d = get_dom(ctx, args, &flags, 1, "domain_get_xml_desc", e);
    const uint32_t allowed = VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE |
                             VIR_DOMAIN_XML_UPDATE_CPU | VIR_DOMAIN_XML_MIGRATABLE;
    if (!d || check_flags(flags, allowed, "virDomainGetXMLDesc", e) < 0)
        return -1;
    _cleanup_free_ char *xml = NULL;
    if ((flags & VIR_DOMAIN_XML_INACTIVE) && d->def)
        xml = domain_xml_format(d->def, -1);
    else
        xml = domain_xml_format(hvd_domain_current(d), d->id);
    xdr_put_string(ret, xml);
    return 0;
}

static int
p_get_autostart(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                struct rpc_error *e)
{
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_get_autostart", e);
    if (!d)
        return -1;
    xdr_put_i32(ret, d->autostart);
    return 0;
}

static int
p_set_autostart(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                struct rpc_error *e)
{
    (void)ret;
    uint32_t on;
    struct hvd_domain *d = get_dom(ctx, args, &on, 1, "domain_set_autostart", e);
    return d ? hvd_domain_set_autostart(&ctx->srv->reg, d, on != 0, e) : -1;
}

static int
p_get_os_type(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_get_os_type", e);
    if (!d)
        return -1;
    xdr_put_string(ret, hvd_domain_current(d)->os_type);
    return 0;
}

static int
p_get_max_memory(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                 struct rpc_error *e)
{
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_get_max_memory", e);
    if (!d)
        return -1;
    xdr_put_u64(ret, hvd_domain_current(d)->memory_kib);
    return 0;
}

static int
p_get_max_vcpus(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                struct rpc_error *e)
{
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_get_max_vcpus", e);
    if (!d)
        return -1;
    if (!hvd_domain_active(d))
        return rpc_error_set(e, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
                             "domain is not running");
    xdr_put_i32(ret, (int32_t)hvd_domain_current(d)->vcpus);
    return 0;
}

static int
p_get_vcpus_flags(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                  struct rpc_error *e)
{
    uint32_t flags;
    struct hvd_domain *d = get_dom(ctx, args, &flags, 1, "domain_get_vcpus_flags", e);
    const uint32_t allowed =
        VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM;
    if (!d || check_flags(flags, allowed, "virDomainGetVcpusFlags", e) < 0)
        return -1;
    const struct domain_def *def =
        (flags & VIR_DOMAIN_AFFECT_CONFIG) && d->def ? d->def : hvd_domain_current(d);
    if ((flags & VIR_DOMAIN_AFFECT_LIVE) && !hvd_domain_active(d))
        return rpc_error_set(e, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
                             "domain is not running");
    xdr_put_i32(ret, (int32_t)def->vcpus);
    return 0;
}

static int
p_is_active(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_is_active", e);
    if (!d)
        return -1;
    xdr_put_i32(ret, hvd_domain_active(d));
    return 0;
}

static int
p_is_persistent(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                struct rpc_error *e)
{
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_is_persistent", e);
    if (!d)
        return -1;
    xdr_put_i32(ret, d->def != NULL);
    return 0;
}

static int
p_is_updated(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    struct hvd_domain *d = get_dom(ctx, args, NULL, 0, "domain_is_updated", e);
    if (!d)
        return -1;
    /* Updated: running with a persistent definition that changed since start. */
    bool updated = false;
    if (d->live && d->def) {
        _cleanup_free_ char *a = domain_xml_format(d->def, -1);
        _cleanup_free_ char *b = domain_xml_format(d->live, -1);
        updated = strcmp(a, b) != 0;
    }
    xdr_put_i32(ret, updated);
    return 0;
}

static int
p_has_managed_save(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                   struct rpc_error *e)
{
    uint32_t flags;
    struct hvd_domain *d = get_dom(ctx, args, &flags, 1, "domain_has_managed_save_image", e);
    if (!d || check_flags(flags, 0, "virDomainHasManagedSaveImage", e) < 0)
        return -1;
    xdr_put_i32(ret, hvd_domain_has_managed_save(&ctx->srv->reg, d));
    return 0;
}

static int
p_managed_save(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ret;
    uint32_t flags;
    struct hvd_domain *d = get_dom(ctx, args, &flags, 1, "domain_managed_save", e);
    const uint32_t allowed =
        VIR_DOMAIN_SAVE_BYPASS_CACHE | VIR_DOMAIN_SAVE_RUNNING | VIR_DOMAIN_SAVE_PAUSED;
    if (!d || check_flags(flags, allowed, "virDomainManagedSave", e) < 0)
        return -1;
    return hvd_domain_managed_save(&ctx->srv->reg, d, e);
}

static int
p_managed_save_remove(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                      struct rpc_error *e)
{
    (void)ret;
    uint32_t flags;
    struct hvd_domain *d = get_dom(ctx, args, &flags, 1, "domain_managed_save_remove", e);
    if (!d || check_flags(flags, 0, "virDomainManagedSaveRemove", e) < 0)
        return -1;
    return hvd_domain_managed_save_remove(&ctx->srv->reg, d, e);
}

/* We keep no snapshots: the true answer is 0. */
static int
p_snapshot_num(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    uint32_t flags;
    struct hvd_domain *d = get_dom(ctx, args, &flags, 1, "domain_snapshot_num", e);
    if (!d)
        return -1;
    xdr_put_i32(ret, 0);
    return 0;
}

/* No balloon: the guest has what it was given. RSS is the monitor's. */
static int
p_memory_stats(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    uint32_t extra[2]; /* maxStats, flags */
    struct hvd_domain *d = get_dom(ctx, args, extra, 2, "domain_memory_stats", e);
    if (!d || check_flags(extra[1], 0, "virDomainMemoryStats", e) < 0)
        return -1;
    if (!hvd_domain_active(d))
        return rpc_error_set(e, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
                             "domain is not running");
    const struct {
        int tag;
        uint64_t val;
    } stats[] = {
        {VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON, d->live->memory_kib},
        {VIR_DOMAIN_MEMORY_STAT_RSS, monitor_rss_kib(d->vm.pid)},
    };
    uint32_t n = extra[0] < ARRAY_SIZE(stats) ? extra[0] : (uint32_t)ARRAY_SIZE(stats);
    xdr_put_u32(ret, n);
    for (uint32_t i = 0; i < n; i++) {
        xdr_put_i32(ret, stats[i].tag);
        xdr_put_u64(ret, stats[i].val);
    }
    return 0;
}

static int
p_block_stats(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    struct rpc_domain_ref ref;
    _cleanup_free_ char *path = NULL;
    rpc_domain_ref_decode(args, &ref);
    xdr_get_string(args, RPC_STRING_MAX, &path);
    int rc = finish(args, e, "domain_block_stats");
    struct hvd_domain *d = rc == 0 ? hvd_domain_by_uuid(&ctx->srv->reg, ref.uuid) : NULL;
    rpc_domain_ref_clear(&ref);
    if (rc < 0)
        return -1;
    if (!d)
        return rpc_error_set(e, VIR_ERR_NO_DOMAIN, VIR_FROM_DOMAIN, "no domain with matching uuid");
    if (!hvd_domain_active(d))
        return rpc_error_set(e, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
                             "domain is not running");
    /* A disk is named by its target (vda) or its source path. */
    const char *target = NULL;
    for (size_t i = 0; i < d->live->ndisks; i++) {
        if (!strcmp(path, d->live->disks[i].target) || !strcmp(path, d->live->disks[i].source))
            target = d->live->disks[i].target;
    }
    if (!target)
        return rpc_error_set(e, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN, "invalid path: %s", path);
    struct hvd_block_stats st;
    if (d->ops->block_stats(&d->vm, target, &st, e) < 0)
        return -1;
    xdr_put_i64(ret, st.rd_req);
    xdr_put_i64(ret, st.rd_bytes);
    xdr_put_i64(ret, st.wr_req);
    xdr_put_i64(ret, st.wr_bytes);
    xdr_put_i64(ret, st.errs);
    return 0;
}

static int
p_interface_stats(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                  struct rpc_error *e)
{
    struct rpc_domain_ref ref;
    _cleanup_free_ char *dev = NULL;
    rpc_domain_ref_decode(args, &ref);
    xdr_get_string(args, RPC_STRING_MAX, &dev);
    int rc = finish(args, e, "domain_interface_stats");
    struct hvd_domain *d = rc == 0 ? hvd_domain_by_uuid(&ctx->srv->reg, ref.uuid) : NULL;
    rpc_domain_ref_clear(&ref);
    if (rc < 0)
        return -1;
    if (!d)
        return rpc_error_set(e, VIR_ERR_NO_DOMAIN, VIR_FROM_DOMAIN, "no domain with matching uuid");
    if (!hvd_domain_active(d))
        return rpc_error_set(e, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
                             "domain is not running");
    const char *tap = NULL;
    for (size_t i = 0; i < d->live->nifaces; i++) {
        const struct domain_iface *f = &d->live->ifaces[i];
        if (f->tap && (!strcmp(dev, f->tap) || !strcmp(dev, f->mac)))
            tap = f->tap;
    }
    if (!tap)
        return rpc_error_set(e, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
                             "invalid path, '%s' is not a known interface", dev);
    /* The tap's receive side is the guest's transmit side: swap, as libvirt does. */
    static const char *const counters[] = {"tx_bytes", "tx_packets", "tx_errors", "tx_dropped",
                                           "rx_bytes", "rx_packets", "rx_errors", "rx_dropped"};
    for (size_t i = 0; i < ARRAY_SIZE(counters); i++)
        xdr_put_i64(ret, tap_counter(tap, counters[i]));
    return 0;
}

const struct proc_entry proc_domain_table[] = {
    {REMOTE_PROC_DOMAIN_LOOKUP_BY_ID, "domain_lookup_by_id", p_lookup_by_id, PROC_ARGS_SMALL, false,
     false},
    {REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, "domain_lookup_by_name", p_lookup_by_name, PROC_ARGS_SMALL,
     false, false},
    {REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID, "domain_lookup_by_uuid", p_lookup_by_uuid, PROC_ARGS_SMALL,
     false, false},
    {REMOTE_PROC_DOMAIN_DEFINE_XML, "domain_define_xml", p_define_xml, PROC_ARGS_XML, false, true},
    {REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS, "domain_define_xml_flags", p_define_xml_flags,
     PROC_ARGS_XML, false, true},
    {REMOTE_PROC_DOMAIN_UNDEFINE, "domain_undefine", p_undefine, PROC_ARGS_SMALL, false, true},
    {REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS, "domain_undefine_flags", p_undefine_flags, PROC_ARGS_SMALL,
     false, true},
    {REMOTE_PROC_DOMAIN_CREATE, "domain_create", p_create, PROC_ARGS_SMALL, false, true},
    {REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS, "domain_create_with_flags", p_create_with_flags,
     PROC_ARGS_SMALL, false, true},
    {REMOTE_PROC_DOMAIN_CREATE_XML, "domain_create_xml", p_create_xml, PROC_ARGS_XML, false, true},
    {REMOTE_PROC_DOMAIN_DESTROY, "domain_destroy", p_destroy, PROC_ARGS_SMALL, false, true},
    {REMOTE_PROC_DOMAIN_DESTROY_FLAGS, "domain_destroy_flags", p_destroy_flags, PROC_ARGS_SMALL,
     false, true},
    {REMOTE_PROC_DOMAIN_SHUTDOWN, "domain_shutdown", p_shutdown, PROC_ARGS_SMALL, false, true},
    {REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS, "domain_shutdown_flags", p_shutdown_flags, PROC_ARGS_SMALL,
     false, true},
    {REMOTE_PROC_DOMAIN_REBOOT, "domain_reboot", p_reboot, PROC_ARGS_SMALL, false, true},
    {REMOTE_PROC_DOMAIN_SUSPEND, "domain_suspend", p_suspend, PROC_ARGS_SMALL, false, true},
    {REMOTE_PROC_DOMAIN_RESUME, "domain_resume", p_resume, PROC_ARGS_SMALL, false, true},
    {REMOTE_PROC_DOMAIN_GET_INFO, "domain_get_info", p_get_info, PROC_ARGS_SMALL, false, false},
    {REMOTE_PROC_DOMAIN_GET_STATE, "domain_get_state", p_get_state, PROC_ARGS_SMALL, false, false},
    {REMOTE_PROC_DOMAIN_GET_XML_DESC, "domain_get_xml_desc", p_get_xml_desc, PROC_ARGS_SMALL, false,
     false},
    {REMOTE_PROC_DOMAIN_GET_AUTOSTART, "domain_get_autostart", p_get_autostart, PROC_ARGS_SMALL,
     false, false},
    {REMOTE_PROC_DOMAIN_SET_AUTOSTART, "domain_set_autostart", p_set_autostart, PROC_ARGS_SMALL,
     false, true},
    {REMOTE_PROC_DOMAIN_GET_OS_TYPE, "domain_get_os_type", p_get_os_type, PROC_ARGS_SMALL, false,
     false},
    {REMOTE_PROC_DOMAIN_GET_MAX_MEMORY, "domain_get_max_memory", p_get_max_memory, PROC_ARGS_SMALL,
     false, false},
    {REMOTE_PROC_DOMAIN_GET_MAX_VCPUS, "domain_get_max_vcpus", p_get_max_vcpus, PROC_ARGS_SMALL,
     false, false},
    {REMOTE_PROC_DOMAIN_GET_VCPUS_FLAGS, "domain_get_vcpus_flags", p_get_vcpus_flags,
     PROC_ARGS_SMALL, false, false},
    {REMOTE_PROC_DOMAIN_IS_ACTIVE, "domain_is_active", p_is_active, PROC_ARGS_SMALL, false, false},
    {REMOTE_PROC_DOMAIN_IS_PERSISTENT, "domain_is_persistent", p_is_persistent, PROC_ARGS_SMALL,
     false, false},
    {REMOTE_PROC_DOMAIN_IS_UPDATED, "domain_is_updated", p_is_updated, PROC_ARGS_SMALL, false,
     false},
    {REMOTE_PROC_DOMAIN_MANAGED_SAVE, "domain_managed_save", p_managed_save, PROC_ARGS_SMALL, false,
     true},
    {REMOTE_PROC_DOMAIN_MANAGED_SAVE_REMOVE, "domain_managed_save_remove", p_managed_save_remove,
     PROC_ARGS_SMALL, false, true},
    {REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE, "domain_has_managed_save_image", p_has_managed_save,
     PROC_ARGS_SMALL, false, false},
    {REMOTE_PROC_DOMAIN_SNAPSHOT_NUM, "domain_snapshot_num", p_snapshot_num, PROC_ARGS_SMALL, false,
     false},
    {REMOTE_PROC_DOMAIN_MEMORY_STATS, "domain_memory_stats", p_memory_stats, PROC_ARGS_SMALL, false,
     false},
    {REMOTE_PROC_DOMAIN_BLOCK_STATS, "domain_block_stats", p_block_stats, PROC_ARGS_SMALL + 4096,
     false, false},
    {REMOTE_PROC_DOMAIN_INTERFACE_STATS, "domain_interface_stats", p_interface_stats,
     PROC_ARGS_SMALL + 4096, false, false},
};
const size_t proc_domain_count = ARRAY_SIZE(proc_domain_table);
