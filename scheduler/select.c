/* The pure part of a decision: run the filter table over the cached hosts,
 * weigh the survivors with the weigher table, hand out candidates best first.
 * No I/O and no allocation after the first requests (the scratch arrays in
 * struct sched_result grow to the host count once). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "scheduler.h"

/* Cheap, selective filters first: a host leaves at its first failure. */
const struct sched_filter *const sched_filters[] = {
    &sched_filter_compute,
    &sched_filter_retry,
    &sched_filter_availability_zone,
    &sched_filter_ram,
    &sched_filter_core,
    &sched_filter_disk,
    &sched_filter_image_properties,
    &sched_filter_affinity,
    &sched_filter_anti_affinity,
    NULL,
};

const struct sched_weigher *const sched_weighers[] = {
    &sched_weigher_ram, &sched_weigher_cpu, &sched_weigher_energy, &sched_weigher_affinity, NULL,
};

void
sched_conf_defaults(struct sched_conf *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->service_down_time = 60;
    conf->max_attempts = 3;
    conf->host_refresh_ms = 1000;
    conf->retry_wait_s = 120;
    conf->energy_vcpu_util = 1.0;
    conf->energy_consolidate = true;
    for (int i = 0; sched_weighers[i] && i < SCHED_WEIGHERS_MAX; i++)
        conf->multipliers[i] = sched_weighers[i]->default_multiplier;
    for (int i = 0; sched_filters[i] && i < SCHED_FILTERS_MAX; i++)
        conf->filters[conf->n_filters++] = sched_filters[i];
}

const struct sched_filter *
sched_filter_find(const char *name)
{
    for (int i = 0; sched_filters[i]; i++)
        if (strcmp(sched_filters[i]->name, name) == 0)
            return sched_filters[i];
    return NULL;
}

int
sched_conf_load(struct sched_conf *conf, const struct config *cfg, struct err *err)
{
    sched_conf_defaults(conf);
    long n;
    if (config_get_double(cfg, "compute", "service_down_time", 60, &conf->service_down_time, err) <
        0)
        return -1;
    if (config_get_long(cfg, "scheduler", "max_attempts", 3, &n, err) < 0)
        return -1;
    if (n < 1 || n > 100)
        return err_set(err, ERR_INVALID, "[scheduler] max_attempts: %ld is not in 1..100", n);
    conf->max_attempts = (int)n;
    if (config_get_long(cfg, "scheduler", "host_refresh_ms", 1000, &n, err) < 0)
        return -1;
    if (n < 0 || n > 3600000)
        return err_set(err, ERR_INVALID, "[scheduler] host_refresh_ms: %ld is out of range", n);
    conf->host_refresh_ms = (int)n;
    if (config_get_long(cfg, "scheduler", "retry_wait_s", 120, &n, err) < 0)
        return -1;
    if (n < 0 || n > 86400)
        return err_set(err, ERR_INVALID, "[scheduler] retry_wait_s: %ld is out of range", n);
    conf->retry_wait_s = (int)n;
    if (config_get_double(cfg, "scheduler", "energy_vcpu_util", 1.0, &conf->energy_vcpu_util, err) <
        0)
        return -1;
    if (!(conf->energy_vcpu_util >= 0 && conf->energy_vcpu_util <= 1))
        return err_set(err, ERR_INVALID, "[scheduler] energy_vcpu_util: not in 0..1");
    if (config_get_bool(cfg, "scheduler", "energy_consolidate", true, &conf->energy_consolidate,
                        err) < 0)
        return -1;
    for (int i = 0; sched_weighers[i]; i++) {
        const struct sched_weigher *w = sched_weighers[i];
        if (config_get_double(cfg, "scheduler", w->multiplier_key, w->default_multiplier,
                              &conf->multipliers[i], err) < 0)
            return -1;
        if (!isfinite(conf->multipliers[i]))
            return err_set(err, ERR_INVALID, "[scheduler] %s: not a finite number",
                           w->multiplier_key);
    }
    const char *list = config_get(cfg, "scheduler", "enabled_filters", NULL);
    if (list) {
        conf->n_filters = 0;
        _cleanup_free_ char *copy = xstrdup(list);
        char *save = NULL;
        for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
            const struct sched_filter *f = sched_filter_find(tok);
            if (!f)
                return err_set(err, ERR_INVALID, "[scheduler] enabled_filters: unknown filter %s",
                               tok);
            if (conf->n_filters == SCHED_FILTERS_MAX)
                return err_set(err, ERR_INVALID, "[scheduler] enabled_filters: too many");
            conf->filters[conf->n_filters++] = f;
        }
    }
    return 0;
}

static void
result_reserve(struct sched_result *res, int n)
{
    if (n <= res->cap)
        return;
    free(res->cand);
    free(res->weight);
    free(res->raw);
    free(res->norm);
    free(res->taken);
    res->cand = xcalloc((size_t)n, sizeof(*res->cand));
    res->weight = xcalloc((size_t)n, sizeof(*res->weight));
    res->raw = xcalloc((size_t)n * SCHED_WEIGHERS_MAX, sizeof(*res->raw));
    res->norm = xcalloc((size_t)n * SCHED_WEIGHERS_MAX, sizeof(*res->norm));
    res->taken = xcalloc((size_t)n, sizeof(*res->taken));
    res->cap = n;
}

void
sched_result_fini(struct sched_result *res)
{
    free(res->cand);
    free(res->weight);
    free(res->raw);
    free(res->norm);
    free(res->taken);
    memset(res, 0, sizeof(*res));
}

void
sched_select(const struct sched_host *hosts, int n_hosts, const struct sched_spec *spec,
             const struct sched_ctx *ctx, struct sched_result *res)
{
    const struct sched_conf *conf = ctx->conf;
    result_reserve(res, n_hosts > 0 ? n_hosts : 1);
    res->n_hosts = n_hosts;
    res->n_cand = 0;
    for (int f = 0; f < conf->n_filters; f++) {
        res->removed[f] = 0;
        res->example[f][0] = '\0';
    }
    for (int h = 0; h < n_hosts; h++) {
        const struct sched_host *host = &hosts[h];
        int f = 0;
        for (; f < conf->n_filters; f++)
            if (!conf->filters[f]->fn(host, spec, ctx, NULL, 0))
                break;
        if (f < conf->n_filters) {
            if (res->removed[f]++ == 0) {
                char why[SCHED_WHY_MAX];
                why[0] = '\0';
                conf->filters[f]->fn(host, spec, ctx, why, sizeof(why));
                /* an example for the log: cutting a long one short is fine */
                int n = snprintf(res->example[f], SCHED_WHY_MAX, "host %s: ", host->host);
                if (n >= 0 && n < SCHED_WHY_MAX)
                    strlcpy_n(res->example[f] + n, why, SCHED_WHY_MAX - (size_t)n);
            }
            continue;
        }
        res->taken[res->n_cand] = false;
        res->cand[res->n_cand++] = h;
    }

    int nc = res->n_cand;
    for (int c = 0; c < nc; c++)
        res->weight[c] = 0;
    for (int w = 0; sched_weighers[w]; w++) {
        double mult = conf->multipliers[w];
        double *raw = res->raw + (size_t)w * nc, *norm = res->norm + (size_t)w * nc;
        res->flat[w] = true;
        if (mult == 0 || nc == 0) {
            for (int c = 0; c < nc; c++)
                raw[c] = norm[c] = 0;
            continue;
        }
        double lo = INFINITY, hi = -INFINITY;
        for (int c = 0; c < nc; c++) {
            double v = sched_weighers[w]->fn(&hosts[res->cand[c]], spec, ctx);
            raw[c] = v;
            if (v < lo) /* plain compares: fmin/fmax are library calls here */
                lo = v;
            if (v > hi)
                hi = v;
        }
        /* min-max normalisation, as Nova's weighers: equal figures weigh 0 */
        double span = hi - lo;
        res->flat[w] = !(span > 0);
        for (int c = 0; c < nc; c++) {
            norm[c] = span > 0 ? (raw[c] - lo) / span : 0;
            res->weight[c] += mult * norm[c];
        }
    }
}

int
sched_result_next(struct sched_result *res)
{
    int best = -1;
    for (int c = 0; c < res->n_cand; c++) {
        if (res->taken[c])
            continue;
        if (best < 0 || res->weight[c] > res->weight[best])
            best = c;
    }
    if (best >= 0)
        res->taken[best] = true;
    return best;
}

void
sched_result_explain(const struct sched_result *res, const struct sched_conf *conf, char *buf,
                     size_t size)
{
    size_t off = 0;
    int n = snprintf(buf, size, "%d host%s", res->n_hosts, res->n_hosts == 1 ? "" : "s");
    off = n > 0 ? (size_t)n : 0;
    const char *sep = ": ";
    for (int f = 0; f < conf->n_filters && off < size; f++) {
        if (!res->removed[f])
            continue;
        n = snprintf(buf + off, size - off, "%s%d filtered out by %s (%s)", sep, res->removed[f],
                     conf->filters[f]->name, res->example[f]);
        off += n > 0 ? (size_t)n : 0;
        sep = ", ";
    }
    if (off < size && res->n_cand > 0)
        snprintf(buf + off, size - off, "%s%d passed", sep, res->n_cand);
}

void
sched_result_weights(const struct sched_result *res, const struct sched_host *hosts, int c,
                     const struct sched_conf *conf, char *buf, size_t size)
{
    int nc = res->n_cand;
    int n = snprintf(buf, size, "%s %.3f (", hosts[res->cand[c]].host, res->weight[c]);
    size_t off = n > 0 ? (size_t)n : 0;
    const char *sep = "";
    for (int w = 0; sched_weighers[w] && off < size; w++) {
        if (conf->multipliers[w] == 0 || res->flat[w])
            continue; /* it did not rank anything */
        n = snprintf(buf + off, size - off, "%s%s %.3f=%.3gx%.2f", sep, sched_weighers[w]->name,
                     res->norm[(size_t)w * nc + c] * conf->multipliers[w],
                     res->raw[(size_t)w * nc + c], conf->multipliers[w]);
        off += n > 0 ? (size_t)n : 0;
        sep = ", ";
    }
    if (off < size)
        snprintf(buf + off, size - off, ")");
}

void
sched_host_consume(struct sched_host *host, const struct sched_spec *spec,
                   const struct sched_conf *conf)
{
    double du = energy_util_delta(host, spec, conf);
    host->vcpus_used += spec->vcpus;
    host->memory_mb_used += spec->memory_mb;
    host->local_gb_used += spec->disk_gb;
    host->running_vms++;
    host->cpu_util = fmin(1.0, host->cpu_util + du);
}
