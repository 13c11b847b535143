/* ComputeFilter: the host's compute service is enabled and up (a heartbeat
 * younger than [compute] service_down_time, and not forced down). */
#include <stdio.h>

#include "scheduler.h"

static bool
compute_filter(const struct sched_host *host, const struct sched_spec *spec,
               const struct sched_ctx *ctx, char *why, size_t why_size)
{
    (void)spec;
    if (!host->enabled) {
        if (why)
            snprintf(why, why_size, "disabled");
        return false;
    }
    if (host->forced_down) {
        if (why)
            snprintf(why, why_size, "forced down");
        return false;
    }
    if (host->heartbeat_at < 0) {
        if (why)
            snprintf(why, why_size, "down (no heartbeat yet)");
        return false;
    }
    double age = ctx->now - host->heartbeat_at;
    if (age >= ctx->conf->service_down_time) {
        if (why)
            snprintf(why, why_size, "down (last heartbeat %.0f s ago)", age);
        return false;
    }
    return true;
}

const struct sched_filter sched_filter_compute = {"ComputeFilter", compute_filter};
