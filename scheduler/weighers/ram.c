/* RAMWeigher: free memory (after the allocation ratio). A positive
 * [scheduler] ram_weight_multiplier spreads instances over hosts, a negative
 * one packs them. */
#include "scheduler.h"

static double
ram_weigher(const struct sched_host *host, const struct sched_spec *spec,
            const struct sched_ctx *ctx)
{
    (void)spec;
    (void)ctx;
    return (double)host->memory_mb * host->ram_allocation_ratio - (double)host->memory_mb_used;
}

const struct sched_weigher sched_weigher_ram = {"RAMWeigher", "ram_weight_multiplier", 1.0,
                                                ram_weigher};
