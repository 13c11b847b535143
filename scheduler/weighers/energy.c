/* EnergyWeigher: the fewer marginal watts the instance adds to a host
 * (energy.c: P(util after) - P(util before), waking an empty host included
 * under energy_consolidate), the better. [scheduler] energy_weight_multiplier
 * (default 3.0) outweighs RAM and CPU spreading together (1.0 each), so new
 * instances go to busy, efficient hosts first; 0 turns it off, a negative
 * value prefers the hungriest host (only useful for tests). */
#include "scheduler.h"

static double
energy_weigher(const struct sched_host *host, const struct sched_spec *spec,
               const struct sched_ctx *ctx)
{
    return -energy_marginal_watts(host, spec, ctx->conf);
}

const struct sched_weigher sched_weigher_energy = {"EnergyWeigher", "energy_weight_multiplier", 3.0,
                                                   energy_weigher};
