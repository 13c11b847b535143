/* cloud-scheduler's core: host state, the per-request spec, the filter and
 * weigher tables and the pure select step (no I/O), plus the daemon-side
 * pieces (configuration, host cache, claims, message handlers).
 * docs/compute-flow.md is the contract; scheduler/README.md the overview. */
#ifndef NUBE_SCHEDULER_H
#define NUBE_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

/* Domain types a host can run (compute_node.domain_types), as a bit set. */
enum sched_domain {
    SCHED_DOMAIN_KVM = 1u << 0,
    SCHED_DOMAIN_QEMU = 1u << 1,
    SCHED_DOMAIN_EXE = 1u << 2,
};

enum sched_vm_mode {
    SCHED_VM_XEN, /* PV kernel boot: kvm or qemu */
    SCHED_VM_HVM, /* firmware boot: kvm or qemu */
    SCHED_VM_EXE, /* jail: exe */
    SCHED_VM_MODE_LAST
};

enum sched_group_policy {
    SCHED_GROUP_NONE,
    SCHED_GROUP_AFFINITY,
    SCHED_GROUP_ANTI_AFFINITY,
    SCHED_GROUP_SOFT_AFFINITY,
    SCHED_GROUP_SOFT_ANTI_AFFINITY,
};

#define SCHED_WEIGHERS_MAX 8
#define SCHED_FILTERS_MAX 16

/* Host power as a function of CPU utilisation (0..1). With npoints < 2 it is
 * linear from idle_watts to max_watts; otherwise npoints draws at evenly
 * spaced utilisations (0, 1/(n-1), ..., 1), interpolated linearly, like the
 * SPECpower figures of the PlanetLab G4/G5 hosts. */
struct energy_model {
    double idle_watts;
    double max_watts;
    int npoints;
    const double *points; /* borrowed: shared by every host of a model */
};

/* One compute host as the scheduler sees it (compute_node, refreshed). */
struct sched_host {
    char *host;
    char *availability_zone;
    int vcpus;
    int64_t memory_mb;
    int64_t local_gb;
    double cpu_allocation_ratio;
    double ram_allocation_ratio;
    double disk_allocation_ratio;
    int64_t vcpus_used; /* claimed */
    int64_t memory_mb_used;
    int64_t local_gb_used;
    int running_vms;
    unsigned domain_types; /* enum sched_domain bits */
    double cpu_util;       /* measured 0..1, plus what this scheduler placed since */
    double power_watts;    /* measured draw now */
    bool power_measured;   /* power_source = 'rapl': calibrate the model with power_watts */
    struct energy_model power;
    bool enabled;
    bool forced_down;
    double heartbeat_at; /* seconds since the epoch (local clock); < 0: never */
};

/* What one instance asks for (from its instance row). */
struct sched_spec {
    const char *instance_id;
    int vcpus;
    int64_t memory_mb;
    int64_t disk_gb; /* root + ephemeral + swap rounded up to GB */
    enum sched_vm_mode vm_mode;
    const char *availability_zone; /* NULL or "": any */
    enum sched_group_policy group_policy;
    const char *const *group_hosts; /* hosts of the group's other members */
    int n_group_hosts;
    const char *const *tried_hosts; /* hosts where a build already failed */
    int n_tried_hosts;
};

/* [scheduler] settings. */
struct sched_conf {
    double service_down_time; /* [compute] service_down_time, seconds (60) */
    int max_attempts;         /* builds tried on distinct hosts before ERROR (3) */
    int host_refresh_ms;      /* reload compute_node at most this often (1000) */
    int retry_wait_s;         /* keep retrying a message while PostgreSQL is away (120) */
    double energy_vcpu_util;  /* host CPU share one busy vCPU adds, per physical CPU (1.0) */
    bool energy_consolidate;  /* an empty host could sleep: adding to it costs its idle draw */
    double multipliers[SCHED_WEIGHERS_MAX]; /* per weigher, in the order of sched_weighers[] */
    const struct sched_filter *filters[SCHED_FILTERS_MAX];
    int n_filters;
};

/* Evaluation context: settings and "now" (seconds since the epoch). */
struct sched_ctx {
    const struct sched_conf *conf;
    double now;
};

/* A filter: true when @host can take @spec. When @why is not NULL and the
 * host fails, a short reason ("needs 4096 MB, has 2048 MB free") goes there.
 * Filters are pure and cheap: they run on every host for every request. */
struct sched_filter {
    const char *name;
    bool (*fn)(const struct sched_host *host, const struct sched_spec *spec,
               const struct sched_ctx *ctx, char *why, size_t why_size);
};

/* A weigher: a raw figure per host, higher is better for a positive
 * multiplier; the core normalises it to 0..1 over the candidates and
 * multiplies it by conf->multipliers[i] (negative: the opposite preference,
 * e.g. pack instead of spread). */
struct sched_weigher {
    const char *name;
    const char *multiplier_key; /* [scheduler] key */
    double default_multiplier;
    double (*fn)(const struct sched_host *host, const struct sched_spec *spec,
                 const struct sched_ctx *ctx);
};

extern const struct sched_filter sched_filter_compute;
extern const struct sched_filter sched_filter_retry;
extern const struct sched_filter sched_filter_availability_zone;
extern const struct sched_filter sched_filter_ram;
extern const struct sched_filter sched_filter_core;
extern const struct sched_filter sched_filter_disk;
extern const struct sched_filter sched_filter_image_properties;
extern const struct sched_filter sched_filter_affinity;
extern const struct sched_filter sched_filter_anti_affinity;

extern const struct sched_weigher sched_weigher_ram;
extern const struct sched_weigher sched_weigher_cpu;
extern const struct sched_weigher sched_weigher_energy;
extern const struct sched_weigher sched_weigher_affinity;

/* Every filter in its default order (cheap and selective first), NULL-ended. */
extern const struct sched_filter *const sched_filters[];
/* Every weigher, NULL-ended; conf->multipliers follows this order. */
extern const struct sched_weigher *const sched_weighers[];

/* Defaults for everything, every filter enabled. */
void sched_conf_defaults(struct sched_conf *conf);
/* [scheduler] enabled_filters (comma list of names), the multipliers,
 * max_attempts, host_refresh_ms, retry_wait_s, energy_vcpu_util, energy_consolidate;
 * [compute] service_down_time. */
int sched_conf_load(struct sched_conf *conf, const struct config *cfg, struct err *err);
const struct sched_filter *sched_filter_find(const char *name);

/* ---- the pure select step ---- */

#define SCHED_WHY_MAX 160

/* Scratch and outcome of one selection; reuse it across requests
 * (sched_result_fini frees it). */
struct sched_result {
    int n_hosts;
    int removed[SCHED_FILTERS_MAX];                 /* hosts each filter removed */
    char example[SCHED_FILTERS_MAX][SCHED_WHY_MAX]; /* "host h: reason" of the first */
    int n_cand;
    int *cand;                     /* indices into the host array of the survivors */
    double *weight;                /* total weight, per candidate */
    double *raw;                   /* raw weigher figures, n_cand x SCHED_WEIGHERS_MAX */
    double *norm;                  /* their normalised values */
    bool *taken;                   /* candidates already handed out by sched_result_next */
    bool flat[SCHED_WEIGHERS_MAX]; /* the weigher's figure was the same everywhere */
    int cap;
};

/* Filter @hosts for @spec and weigh the survivors. Never fails: no
 * candidate is a result (n_cand == 0). */
void sched_select(const struct sched_host *hosts, int n_hosts, const struct sched_spec *spec,
                  const struct sched_ctx *ctx, struct sched_result *res);
/* The best candidate not handed out yet (its index into res->cand), or -1.
 * Ties go to the lower host index, so decisions are reproducible. */
int sched_result_next(struct sched_result *res);
/* "N hosts: a filtered out by RamFilter (host h: needs ...), b by ..." */
void sched_result_explain(const struct sched_result *res, const struct sched_conf *conf, char *buf,
                          size_t size);
/* "h1 2.13 (RAMWeigher 0.50x1.0 ...)": the weights of candidate @c. */
void sched_result_weights(const struct sched_result *res, const struct sched_host *hosts, int c,
                          const struct sched_conf *conf, char *buf, size_t size);
void sched_result_fini(struct sched_result *res);

/* Record a claim of @spec on @host in the cached state (after the database
 * accepted it), so later decisions before the next refresh see it. */
void sched_host_consume(struct sched_host *host, const struct sched_spec *spec,
                        const struct sched_conf *conf);

/* ---- energy.c: the power model ---- */

/* Draw in watts at utilisation @util (clamped to 0..1). */
double energy_power(const struct energy_model *m, double util);
/* CPU utilisation @spec would add to @host (0..1). */
double energy_util_delta(const struct sched_host *host, const struct sched_spec *spec,
                         const struct sched_conf *conf);
/* Marginal watts of placing @spec on @host: P(after) - P(before), scaled by
 * measured/model draw when the host measures its power (RAPL); a host that
 * runs nothing counts as asleep (0 W before) when energy_consolidate is set,
 * so waking it costs its idle draw as well. */
double energy_marginal_watts(const struct sched_host *host, const struct sched_spec *spec,
                             const struct sched_conf *conf);
/* A piecewise model from @n draws at evenly spaced utilisations; @watts is
 * borrowed (it must outlive the model: a table per hardware model). */
void energy_model_table(struct energy_model *m, const double *watts, int n);
void energy_model_linear(struct energy_model *m, double idle_watts, double max_watts);

#endif
