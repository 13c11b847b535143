/* ServerGroupSoftAffinityWeigher: for 'soft-affinity' groups, hosts with more
 * of the group's members weigh more; for 'soft-anti-affinity', fewer. Other
 * instances get 0 everywhere (no effect after normalisation). */
#include <string.h>

#include "scheduler.h"

static double
affinity_weigher(const struct sched_host *host, const struct sched_spec *spec,
                 const struct sched_ctx *ctx)
{
    (void)ctx;
    if (spec->group_policy != SCHED_GROUP_SOFT_AFFINITY &&
        spec->group_policy != SCHED_GROUP_SOFT_ANTI_AFFINITY)
        return 0;
    int members = 0;
    for (int i = 0; i < spec->n_group_hosts; i++)
        members += strcmp(spec->group_hosts[i], host->host) == 0;
    return spec->group_policy == SCHED_GROUP_SOFT_AFFINITY ? members : -members;
}

const struct sched_weigher sched_weigher_affinity = {
    "ServerGroupSoftAffinityWeigher", "soft_affinity_weight_multiplier", 1.0, affinity_weigher};
