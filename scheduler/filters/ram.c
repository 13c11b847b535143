/* RamFilter: claimed memory plus the instance's stays within memory_mb times
 * ram_allocation_ratio (the same test as the claim's guarded UPDATE). */
#include <stdio.h>

#include "scheduler.h"

static bool
ram_filter(const struct sched_host *host, const struct sched_spec *spec,
           const struct sched_ctx *ctx, char *why, size_t why_size)
{
    (void)ctx;
    double limit = (double)host->memory_mb * host->ram_allocation_ratio;
    if ((double)(host->memory_mb_used + spec->memory_mb) <= limit)
        return true;
    if (why)
        snprintf(why, why_size, "needs %lld MB, has %.0f MB free", (long long)spec->memory_mb,
                 limit - (double)host->memory_mb_used);
    return false;
}

const struct sched_filter sched_filter_ram = {"RamFilter", ram_filter};
