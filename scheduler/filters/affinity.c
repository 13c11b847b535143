/* ServerGroupAffinityFilter: a member of an 'affinity' server group goes to
 * the host the group's other members are on (any host for the first one). */
#include <stdio.h>
#include <string.h>

#include "scheduler.h"

static bool
affinity_filter(const struct sched_host *host, const struct sched_spec *spec,
                const struct sched_ctx *ctx, char *why, size_t why_size)
{
    (void)ctx;
    if (spec->group_policy != SCHED_GROUP_AFFINITY || spec->n_group_hosts == 0)
        return true;
    for (int i = 0; i < spec->n_group_hosts; i++) {
        if (strcmp(spec->group_hosts[i], host->host) == 0)
            return true;
    }
    if (why)
        snprintf(why, why_size, "group members are on %s", spec->group_hosts[0]);
    return false;
}

const struct sched_filter sched_filter_affinity = {"ServerGroupAffinityFilter", affinity_filter};
