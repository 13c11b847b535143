/* RetryFilter: a host where this instance's build already failed is not
 * tried again (instance.tried_hosts). */
#include <stdio.h>
#include <string.h>

#include "scheduler.h"

static bool
retry_filter(const struct sched_host *host, const struct sched_spec *spec,
             const struct sched_ctx *ctx, char *why, size_t why_size)
{
    (void)ctx;
    for (int i = 0; i < spec->n_tried_hosts; i++) {
        if (strcmp(spec->tried_hosts[i], host->host) == 0) {
            if (why)
                snprintf(why, why_size, "build already failed there");
            return false;
        }
    }
    return true;
}

const struct sched_filter sched_filter_retry = {"RetryFilter", retry_filter};
