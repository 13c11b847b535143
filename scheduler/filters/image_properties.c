/* ImagePropertiesFilter: the host can run the image's vm_mode. PV (xen: a
 * kernel booted directly) and HVM (firmware) need a VM domain type, kvm or
 * qemu; exe (a jail) needs exe. */
#include <stdio.h>

#include "scheduler.h"

static const struct {
    const char *name;
    unsigned needs; /* any of these domain types */
} modes[SCHED_VM_MODE_LAST] = {
    [SCHED_VM_XEN] = {"xen", SCHED_DOMAIN_KVM | SCHED_DOMAIN_QEMU},
    [SCHED_VM_HVM] = {"hvm", SCHED_DOMAIN_KVM | SCHED_DOMAIN_QEMU},
    [SCHED_VM_EXE] = {"exe", SCHED_DOMAIN_EXE},
};

static bool
image_properties_filter(const struct sched_host *host, const struct sched_spec *spec,
                        const struct sched_ctx *ctx, char *why, size_t why_size)
{
    (void)ctx;
    if ((unsigned)spec->vm_mode >= SCHED_VM_MODE_LAST) {
        if (why)
            snprintf(why, why_size, "unknown vm_mode");
        return false;
    }
    if (host->domain_types & modes[spec->vm_mode].needs)
        return true;
    if (why)
        snprintf(why, why_size, "cannot run vm_mode %s (domain types:%s%s%s)",
                 modes[spec->vm_mode].name, host->domain_types & SCHED_DOMAIN_KVM ? " kvm" : "",
                 host->domain_types & SCHED_DOMAIN_QEMU ? " qemu" : "",
                 host->domain_types & SCHED_DOMAIN_EXE ? " exe" : "");
    return false;
}

const struct sched_filter sched_filter_image_properties = {"ImagePropertiesFilter",
                                                           image_properties_filter};
