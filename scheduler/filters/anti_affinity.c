/* ServerGroupAntiAffinityFilter: a member of an 'anti-affinity' server group
 * never shares a host with another member. */
#include <stdio.h>
#include <string.h>

#include "scheduler.h"

static bool
anti_affinity_filter(const struct sched_host *host, const struct sched_spec *spec,
                     const struct sched_ctx *ctx, char *why, size_t why_size)
{
    (void)ctx;
    if (spec->group_policy != SCHED_GROUP_ANTI_AFFINITY)
        return true;
    for (int i = 0; i < spec->n_group_hosts; i++) {
        if (strcmp(spec->group_hosts[i], host->host) == 0) {
            if (why)
                snprintf(why, why_size, "already runs a member of the server group");
            return false;
        }
    }
    return true;
}

const struct sched_filter sched_filter_anti_affinity = {"ServerGroupAntiAffinityFilter",
                                                        anti_affinity_filter};
