/* Host metrics (host.c) and power (power.c) for the heartbeat. Every path is
 * rooted in a configurable folder so tests run on a fake /proc and sysfs. */
#ifndef NUBE_COMPUTE_METRICS_H
#define NUBE_COMPUTE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* ---- host.c ---- */

struct host_cpu_sample {
    uint64_t busy, total; /* jiffies from the first line of /proc/stat */
};

struct host_metrics {
    long vcpus;
    long memory_mb, memory_mb_free; /* MemTotal, MemAvailable */
    long disk_gb, disk_gb_free;     /* statvfs of the instances folder */
    double cpu_util;                /* 0..1 since the previous sample */
};

/* Read @proc_dir/stat's aggregate cpu line. */
int host_cpu_read(const char *proc_dir, struct host_cpu_sample *s, struct err *err);
/* Utilisation between two samples, 0..1 (0 when no time passed). */
double host_cpu_util(const struct host_cpu_sample *prev, const struct host_cpu_sample *cur);
/* MemTotal and MemAvailable from @proc_dir/meminfo, in MiB. */
int host_mem_read(const char *proc_dir, long *total_mb, long *avail_mb, struct err *err);
/* Online CPUs from @proc_dir/stat (cpuN lines). */
int host_cpu_count(const char *proc_dir, long *out, struct err *err);
int host_disk_read(const char *dir, long *total_gb, long *free_gb, struct err *err);

/* ---- power.c ---- */

enum power_source {
    POWER_SOURCE_MODEL,
    POWER_SOURCE_RAPL,
};

#define POWER_ZONES_MAX 16

struct power_zone {
    char *energy_path;
    uint64_t max_range_uj; /* the counter wraps to 0 after this */
    uint64_t last_uj;
};

struct power_meter {
    enum power_source source;
    double idle_watts, max_watts;
    struct power_zone zones[POWER_ZONES_MAX];
    int nzones;
    double last_t;        /* seconds, monotonic, of the last reading */
    double watts;         /* the latest figure */
    double energy_joules; /* integrated since the agent started */
};

/* Find readable RAPL package counters under @powercap_dir (intel-rapl:N, or
 * the platform's psys zone alone when there is one, as it already covers the
 * packages); without any, the meter uses the model idle + (max - idle) * util.
 * The counters are first read at @t0 (seconds, monotonic). */
void power_meter_init(struct power_meter *m, const char *powercap_dir, double idle_watts,
                      double max_watts, double t0);
void power_meter_free(struct power_meter *m);
/* Take a sample at @t seconds (monotonic) with the CPU utilisation @cpu_util
 * since the last one; updates watts and energy_joules. A RAPL counter that
 * stops being readable switches the meter to the model. */
void power_meter_sample(struct power_meter *m, double t, double cpu_util);
/* Microjoules consumed between two readings of a counter that wraps after
 * @max_range_uj (0 when unknown: a decrease is then treated as a reset). */
uint64_t power_rapl_delta(uint64_t last, uint64_t cur, uint64_t max_range_uj);
double power_model_watts(double idle_watts, double max_watts, double cpu_util);
const char *power_source_name(enum power_source s);

#endif
