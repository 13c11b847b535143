/* The scheduler's copy of compute_node: all hosts, reloaded at most every
 * [scheduler] host_refresh_ms, and at once when a claim finds the database
 * disagrees with it. Between reloads the scheduler adds its own claims
 * (sched_host_consume), so back-to-back decisions do not pile onto one host. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "service.h"

double
sched_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double
sched_realtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
hosts_clear(struct sched_hosts *hosts)
{
    for (int i = 0; i < hosts->n; i++) {
        free(hosts->v[i].host);
        free(hosts->v[i].availability_zone);
    }
    hosts->n = 0;
}

void
sched_hosts_fini(struct sched_hosts *hosts)
{
    hosts_clear(hosts);
    free(hosts->v);
    memset(hosts, 0, sizeof(*hosts));
}

static unsigned
domain_types_parse(const char *s)
{
    unsigned bits = 0;
    while (s && *s) {
        size_t len = strcspn(s, ",");
        if (len == 3 && strncmp(s, "kvm", 3) == 0)
            bits |= SCHED_DOMAIN_KVM;
        else if (len == 4 && strncmp(s, "qemu", 4) == 0)
            bits |= SCHED_DOMAIN_QEMU;
        else if (len == 3 && strncmp(s, "exe", 3) == 0)
            bits |= SCHED_DOMAIN_EXE;
        s += len;
        if (*s == ',')
            s++;
    }
    return bits;
}

int
sched_hosts_load(PGconn *conn, struct sched_hosts *hosts, struct err *err)
{
    /* the heartbeat's age comes from the database clock, then is placed on
     * ours: a skewed scheduler clock does not mark every host down */
    static const char sql[] =
        "SELECT host, availability_zone, vcpus, memory_mb, local_gb, cpu_allocation_ratio,"
        " ram_allocation_ratio, disk_allocation_ratio, vcpus_used, memory_mb_used,"
        " local_gb_used, running_vms, array_to_string(domain_types, ','), cpu_util,"
        " power_watts, idle_watts, max_watts, power_source = 'rapl', enabled, forced_down,"
        " extract(epoch FROM clock_timestamp() - last_heartbeat)"
        " FROM compute_node ORDER BY host";
    PGresult *res = db_exec(conn, sql, 0, NULL, err);
    if (!res)
        return err_prefix(err, "loading compute nodes");
    double now = sched_realtime();
    int rows = PQntuples(res);
    hosts_clear(hosts);
    if (rows > hosts->cap) {
        free(hosts->v);
        hosts->v = xcalloc((size_t)rows, sizeof(*hosts->v));
        hosts->cap = rows;
    }
    for (int r = 0; r < rows; r++) {
        struct sched_host *h = &hosts->v[r];
        memset(h, 0, sizeof(*h));
        h->host = xstrdup(db_get(res, r, 0));
        h->availability_zone = xstrdup(db_get(res, r, 1));
        h->vcpus = atoi(db_get(res, r, 2));
        h->memory_mb = strtoll(db_get(res, r, 3), NULL, 10);
        h->local_gb = strtoll(db_get(res, r, 4), NULL, 10);
        h->cpu_allocation_ratio = strtod(db_get(res, r, 5), NULL);
        h->ram_allocation_ratio = strtod(db_get(res, r, 6), NULL);
        h->disk_allocation_ratio = strtod(db_get(res, r, 7), NULL);
        h->vcpus_used = strtoll(db_get(res, r, 8), NULL, 10);
        h->memory_mb_used = strtoll(db_get(res, r, 9), NULL, 10);
        h->local_gb_used = strtoll(db_get(res, r, 10), NULL, 10);
        h->running_vms = atoi(db_get(res, r, 11));
        h->domain_types = domain_types_parse(db_get(res, r, 12));
        h->cpu_util = strtod(db_get(res, r, 13), NULL);
        h->power_watts = strtod(db_get(res, r, 14), NULL);
        energy_model_linear(&h->power, strtod(db_get(res, r, 15), NULL),
                            strtod(db_get(res, r, 16), NULL));
        h->power_measured = db_get_bool(res, r, 17);
        h->enabled = db_get_bool(res, r, 18);
        h->forced_down = db_get_bool(res, r, 19);
        const char *age = db_get(res, r, 20);
        h->heartbeat_at = age ? now - strtod(age, NULL) : -1;
        hosts->n = r + 1;
    }
    PQclear(res);
    hosts->loaded_at = sched_monotonic();
    return 0;
}
