/* Agent set-up: the driver, the domain-type probe, the folders. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "mem.h"

static bool
caps_has(const struct compute_driver_caps *caps, const char *type)
{
    for (size_t i = 0; i < caps->ntypes; i++)
        if (strcmp(caps->types[i], type) == 0)
            return true;
    return false;
}

static void
add_type(struct agent *a, const char *type)
{
    for (size_t i = 0; i < a->ndomain_types; i++)
        if (strcmp(a->domain_types[i], type) == 0)
            return;
    if (a->ndomain_types < ARRAY_SIZE(a->domain_types))
        snprintf(a->domain_types[a->ndomain_types++], sizeof(a->domain_types[0]), "%s", type);
}

int
agent_init(struct agent *a, struct compute_config *cfg_take, agent_emit_fn emit, void *emit_opaque,
           struct err *err)
{
    memset(a, 0, sizeof(*a));
    a->cfg = *cfg_take;
    memset(cfg_take, 0, sizeof(*cfg_take));
    a->emit = emit;
    a->emit_opaque = emit_opaque;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(a->started_at, sizeof(a->started_at), "%Y-%m-%dT%H:%M:%SZ", &tm);

    if (disk_mkdirs(a->cfg.instances_dir, err) < 0 || disk_mkdirs(a->cfg.image_cache_dir, err) < 0)
        return -1;
    struct disk_config dc = {.cache_dir = a->cfg.image_cache_dir};
    disk_cache_clean_partial(&dc); /* one agent per host: nothing else writes there */
    /* The hypervisor daemon may start after the agent: wait for it a while. */
    time_t give_up = time(NULL) + a->cfg.libvirt_connect_timeout_s;
    for (;;) {
        a->drv = compute_driver_libvirt.open(a->cfg.libvirt_uri, err);
        if (a->drv)
            break;
        if (time(NULL) >= give_up)
            return -1;
        log_warn("host %s: %s (retrying until libvirt_connect_timeout)", a->cfg.host, err->msg);
        err_clear(err);
        sleep(2);
    }
    if (a->drv->ops->caps(a->drv, &a->caps, err) < 0)
        return -1;
    if (a->caps.ntypes == 0)
        return err_set(err, ERR_UNAVAILABLE, "%s lists no guest domain type", a->cfg.libvirt_uri);

    /* What this host can run: kvm only where stock kernels run on it (a KVM
     * without vmx/svm, PVM, cannot); every other listed type as is. */
    const char *want = a->cfg.domain_type;
    for (size_t i = 0; i < a->caps.ntypes; i++) {
        const char *t = a->caps.types[i];
        if (strcmp(t, "kvm") == 0 && !a->caps.hw_virt && strcmp(want, "kvm") != 0)
            continue;
        add_type(a, t);
    }
    if (strcmp(want, "auto") == 0) {
        if (caps_has(&a->caps, "kvm") && a->caps.hw_virt)
            want = "kvm";
        else if (caps_has(&a->caps, "qemu"))
            want = "qemu";
        else
            want = a->domain_types[0];
    } else if (!caps_has(&a->caps, want)) {
        return err_set(err, ERR_INVALID,
                       "[compute] domain_type = %s, but %s lists no such guest domain type", want,
                       a->cfg.libvirt_uri);
    }
    snprintf(a->virt_type, sizeof(a->virt_type), "%s", want);
    /* cloud-vmm (kvm) takes raw disks only; elsewhere a qcow2 overlay. */
    a->disk_kind = strcmp(a->virt_type, "kvm") == 0 ? DISK_RAW_COPY : DISK_QCOW2_OVERLAY;

    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    power_meter_init(&a->power, a->cfg.powercap_dir, a->cfg.idle_watts, a->cfg.max_watts, t);
    a->next_heartbeat = t + (double)a->cfg.heartbeat_interval_s;
    struct err e = ERR_INIT;
    if (host_cpu_read(a->cfg.proc_dir, &a->cpu, &e) < 0)
        log_warn("host %s: %s", a->cfg.host, e.msg);
    log_info("host %s: %s (%s %lu), new domains of type %s, %s disks, power from %s", a->cfg.host,
             a->cfg.libvirt_uri, a->caps.hypervisor_type, a->caps.hypervisor_version, a->virt_type,
             a->disk_kind == DISK_RAW_COPY ? "raw" : "qcow2 overlay",
             power_source_name(a->power.source));
    return 0;
}

void
agent_fini(struct agent *a)
{
    if (a->drv)
        a->drv->ops->close(a->drv);
    for (size_t i = 0; i < a->nrecs; i++)
        json_decref(a->recs[i].spec);
    free(a->recs);
    free(a->unknown);
    power_meter_free(&a->power);
    compute_config_free(&a->cfg);
    memset(a, 0, sizeof(*a));
}
