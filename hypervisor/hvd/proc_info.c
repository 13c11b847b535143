/* Runtime details of one domain: vCPUs (virDomainGetVcpus, `virsh
 * vcpuinfo`), disk sizes (virDomainGetBlockInfo, `virsh domblkinfo`) and the
 * state of the control channel to its monitor (virDomainGetControlInfo). */
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain.h"
#include "mem.h"
#include "monitor.h"
#include "proc.h"
#include "server.h"

/* Procedure numbers from libvirt's src/remote/remote_protocol.x. */
enum {
    REMOTE_PROC_DOMAIN_GET_VCPUS = 20,
    REMOTE_PROC_DOMAIN_GET_BLOCK_INFO = 194,
    REMOTE_PROC_DOMAIN_GET_CONTROL_INFO = 229,
};

#define REMOTE_VCPUINFO_MAX 16384
#define REMOTE_CPUMAPS_MAX 8388608

/* The domain named by a remote_nonnull_domain at the head of @args. */
static struct hvd_domain *
lookup(struct proc_ctx *ctx, struct rpc_domain_ref *ref, struct rpc_error *e)
{
    struct hvd_domain *d = hvd_domain_by_uuid(&ctx->srv->reg, ref->uuid);
    if (!d) {
        char uuid[37];
        domain_uuid_format(ref->uuid, uuid);
        rpc_error_set(e, VIR_ERR_NO_DOMAIN, VIR_FROM_DOMAIN,
                      "no domain with matching uuid '%s' (%s)", uuid, ref->name);
    }
    return d;
}

static int
p_get_vcpus(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    struct rpc_domain_ref ref;
    int32_t maxinfo, maplen;
    rpc_domain_ref_decode(args, &ref);
    xdr_get_i32(args, &maxinfo);
    xdr_get_i32(args, &maplen);
    int rc = xdr_dec_finish(args) < 0 ? proc_bad_args(e, "domain_get_vcpus") : 0;
    struct hvd_domain *d = rc == 0 ? lookup(ctx, &ref, e) : NULL;
    rpc_domain_ref_clear(&ref);
    if (!d)
        return -1;
    if (maxinfo < 0 || maxinfo > REMOTE_VCPUINFO_MAX || maplen < 0 ||
        (int64_t)maxinfo * maplen > REMOTE_CPUMAPS_MAX)
        return rpc_error_set(e, VIR_ERR_RPC, VIR_FROM_RPC, "maxinfo or maplen out of range");
    if (!hvd_domain_active(d))
        return rpc_error_set(e, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
                             "cannot list vcpu pinning for an inactive domain");
    size_t n = d->live->vcpus < (unsigned)maxinfo ? d->live->vcpus : (size_t)maxinfo;
    struct monitor_vcpu *v = xcalloc(n ? n : 1, sizeof(*v));
    if (n && monitor_vcpus(d->vm.pid, v, n) < n) {
        free(v);
        return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_DOMAIN,
                             "cannot find the vCPU threads of domain '%s'", d->live->name);
    }
    xdr_put_u32(ret, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        xdr_put_u32(ret, (uint32_t)i);
        xdr_put_i32(ret, d->state == VIR_DOMAIN_PAUSED ? VIR_VCPU_BLOCKED : VIR_VCPU_RUNNING);
        xdr_put_u64(ret, v[i].cpu_time_ns);
        xdr_put_i32(ret, v[i].cpu);
    }
    free(v);
    /* No pinning: every vCPU may run on every host CPU. */
    long hostcpus = sysconf(_SC_NPROCESSORS_CONF);
    size_t maplen_bytes = (size_t)maplen;
    uint8_t *maps = xzalloc(n * maplen_bytes + 1);
    for (size_t i = 0; i < n; i++) {
        for (long c = 0; c < hostcpus && (size_t)(c / 8) < maplen_bytes; c++)
            maps[i * maplen_bytes + (size_t)c / 8] |= (uint8_t)(1u << (c % 8));
    }
    xdr_put_opaque(ret, maps, n * maplen_bytes);
    free(maps);
    return 0;
}

/* The virtual size of a qcow2 image (header offset 24), or -1. */
static int64_t
qcow2_size(int fd)
{
    uint8_t h[32];
    if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, "QFI\xfb", 4))
        return -1;
    uint64_t v = 0;
    for (int i = 24; i < 32; i++)
        v = v << 8 | h[i];
    return v > INT64_MAX ? -1 : (int64_t)v;
}

static int
p_get_block_info(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                 struct rpc_error *e)
{
    struct rpc_domain_ref ref;
    _cleanup_free_ char *path = NULL;
    uint32_t flags;
    rpc_domain_ref_decode(args, &ref);
    xdr_get_string(args, RPC_STRING_MAX, &path);
    xdr_get_u32(args, &flags);
    int rc = xdr_dec_finish(args) < 0 ? proc_bad_args(e, "domain_get_block_info") : 0;
    struct hvd_domain *d = rc == 0 ? lookup(ctx, &ref, e) : NULL;
    rpc_domain_ref_clear(&ref);
    if (!d)
        return -1;
    if (flags)
        return rpc_error_set(e, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
                             "unsupported flags (0x%x) in function %s", flags,
                             "virDomainGetBlockInfo");
    const struct domain_def *def = hvd_domain_current(d);
    const struct domain_disk *disk = NULL;
    for (size_t i = 0; i < def->ndisks; i++) {
        if (!strcmp(path, def->disks[i].target) || !strcmp(path, def->disks[i].source))
            disk = &def->disks[i];
    }
    if (!disk)
        return rpc_error_set(e, VIR_ERR_INVALID_ARG, VIR_FROM_DOMAIN,
                             "invalid path %s not assigned to domain", path);
    /* O_NONBLOCK: a FIFO named as a disk must not hang the daemon. */
    int fd = open(disk->source, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN,
                             "Cannot access storage file '%s': %s", disk->source, strerror(saved));
    }
    int64_t capacity = st.st_size;
    uint64_t physical = (uint64_t)st.st_size;
    if (S_ISBLK(st.st_mode)) {
        uint64_t bytes = 0;
        if (ioctl(fd, BLKGETSIZE64, &bytes) == 0)
            capacity = (int64_t)bytes;
        physical = bytes;
    } else if (!S_ISREG(st.st_mode)) {
        close(fd);
        return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_DOMAIN,
                             "'%s' is neither a file nor a block device", disk->source);
    }
    if (!strcmp(disk->format, "qcow2")) {
        capacity = qcow2_size(fd);
        if (capacity < 0) {
            close(fd);
            return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_DOMAIN,
                                 "'%s' is not a qcow2 image", disk->source);
        }
    }
    close(fd);
    xdr_put_u64(ret, (uint64_t)st.st_blocks * 512); /* allocation */
    xdr_put_u64(ret, (uint64_t)capacity);           /* capacity */
    xdr_put_u64(ret, physical);                     /* physical */
    return 0;
}

static int
p_get_control_info(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                   struct rpc_error *e)
{
    struct rpc_domain_ref ref;
    uint32_t flags;
    rpc_domain_ref_decode(args, &ref);
    xdr_get_u32(args, &flags);
    int rc = xdr_dec_finish(args) < 0 ? proc_bad_args(e, "domain_get_control_info") : 0;
    struct hvd_domain *d = rc == 0 ? lookup(ctx, &ref, e) : NULL;
    rpc_domain_ref_clear(&ref);
    if (!d)
        return -1;
    if (!hvd_domain_active(d))
        return rpc_error_set(e, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
                             "domain is not running");
    /* Ask the monitor: a control channel that answers is OK, else an error. */
    bool paused, incoming;
    struct rpc_error qe;
    bool ok = d->ops->query(&d->vm, &paused, &incoming, &qe) == 0;
    xdr_put_u32(ret, ok ? VIR_DOMAIN_CONTROL_OK : VIR_DOMAIN_CONTROL_ERROR);
    xdr_put_u32(ret, ok ? 0 : VIR_DOMAIN_CONTROL_ERROR_REASON_MONITOR);
    xdr_put_u64(ret, 0);
    return 0;
}

const struct proc_entry proc_info_table[] = {
    {REMOTE_PROC_DOMAIN_GET_VCPUS, "domain_get_vcpus", p_get_vcpus, PROC_ARGS_SMALL, false, false},
    {REMOTE_PROC_DOMAIN_GET_BLOCK_INFO, "domain_get_block_info", p_get_block_info,
     PROC_ARGS_SMALL + 4096, false, false},
    {REMOTE_PROC_DOMAIN_GET_CONTROL_INFO, "domain_get_control_info", p_get_control_info,
     PROC_ARGS_SMALL, false, false},
};
const size_t proc_info_count = ARRAY_SIZE(proc_info_table);
