/* DiskFilter: claimed local disk plus the instance's root, ephemeral and swap
 * stays within local_gb times disk_allocation_ratio (as the claim checks). */
#include <stdio.h>

#include "scheduler.h"

static bool
disk_filter(const struct sched_host *host, const struct sched_spec *spec,
            const struct sched_ctx *ctx, char *why, size_t why_size)
{
    (void)ctx;
    double limit = (double)host->local_gb * host->disk_allocation_ratio;
    if ((double)(host->local_gb_used + spec->disk_gb) <= limit)
        return true;
    if (why)
        snprintf(why, why_size, "needs %lld GB, has %.0f GB free", (long long)spec->disk_gb,
                 limit - (double)host->local_gb_used);
    return false;
}

const struct sched_filter sched_filter_disk = {"DiskFilter", disk_filter};
