/* CoreFilter: claimed vCPUs plus the instance's stay within vcpus times
 * cpu_allocation_ratio (the same test as the claim's guarded UPDATE). */
#include <stdio.h>

#include "scheduler.h"

static bool
core_filter(const struct sched_host *host, const struct sched_spec *spec,
            const struct sched_ctx *ctx, char *why, size_t why_size)
{
    (void)ctx;
    double limit = (double)host->vcpus * host->cpu_allocation_ratio;
    if ((double)(host->vcpus_used + spec->vcpus) <= limit)
        return true;
    if (why)
        snprintf(why, why_size, "needs %d vCPUs, has %.0f free", spec->vcpus,
                 limit - (double)host->vcpus_used);
    return false;
}

const struct sched_filter sched_filter_core = {"CoreFilter", core_filter};
