/* CPUWeigher: free vCPUs (after the allocation ratio). A positive
 * [scheduler] cpu_weight_multiplier spreads, a negative one packs. */
#include "scheduler.h"

static double
cpu_weigher(const struct sched_host *host, const struct sched_spec *spec,
            const struct sched_ctx *ctx)
{
    (void)spec;
    (void)ctx;
    return (double)host->vcpus * host->cpu_allocation_ratio - (double)host->vcpus_used;
}

const struct sched_weigher sched_weigher_cpu = {"CPUWeigher", "cpu_weight_multiplier", 1.0,
                                                cpu_weigher};
