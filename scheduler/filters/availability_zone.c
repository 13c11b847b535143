/* AvailabilityZoneFilter: an instance that asked for a zone goes to a host in
 * that zone. */
#include <stdio.h>
#include <string.h>

#include "scheduler.h"

static bool
availability_zone_filter(const struct sched_host *host, const struct sched_spec *spec,
                         const struct sched_ctx *ctx, char *why, size_t why_size)
{
    (void)ctx;
    if (!spec->availability_zone || !spec->availability_zone[0])
        return true;
    const char *az = host->availability_zone ? host->availability_zone : "";
    if (strcmp(az, spec->availability_zone) == 0)
        return true;
    if (why)
        snprintf(why, why_size, "in zone %s, not %s", az, spec->availability_zone);
    return false;
}

const struct sched_filter sched_filter_availability_zone = {"AvailabilityZoneFilter",
                                                            availability_zone_filter};
