/* The host power model and the marginal watts of one more instance.
 *
 * Power is a function of CPU utilisation: linear between the idle and the
 * full-load draw (what a heartbeat reports as idle_watts / max_watts), or a
 * table of draws at evenly spaced loads interpolated linearly (SPECpower
 * style, as in the PlanetLab experiments: HP ProLiant G4 86 W idle .. 117 W,
 * G5 93.7 .. 135 W). The cost of placing an instance on a host is
 * P(util after) - P(util before). A host that runs nothing could be asleep
 * (0 W) under a consolidating policy, so with energy_consolidate its "before"
 * is 0 W and waking it costs its whole idle draw as well: a busy, efficient
 * host wins over an idle one. Load beyond 100% is priced at the host's
 * average watts per unit of utilisation. */
#include <math.h>

#include "scheduler.h"

void
energy_model_linear(struct energy_model *m, double idle_watts, double max_watts)
{
    m->idle_watts = idle_watts;
    m->max_watts = max_watts;
    m->npoints = 0;
    m->points = NULL;
}

void
energy_model_table(struct energy_model *m, const double *watts, int n)
{
    m->npoints = n;
    m->points = watts;
    m->idle_watts = n > 0 ? watts[0] : 0;
    m->max_watts = n > 0 ? watts[n - 1] : 0;
}

double
energy_power(const struct energy_model *m, double util)
{
    if (!(util > 0)) /* also NaN */
        util = 0;
    if (util > 1)
        util = 1;
    if (m->npoints < 2)
        return m->idle_watts + (m->max_watts - m->idle_watts) * util;
    double x = util * (m->npoints - 1);
    int i = (int)x;
    if (i >= m->npoints - 1)
        return m->points[m->npoints - 1];
    double f = x - i;
    return m->points[i] + (m->points[i + 1] - m->points[i]) * f;
}

double
energy_util_delta(const struct sched_host *host, const struct sched_spec *spec,
                  const struct sched_conf *conf)
{
    if (host->vcpus <= 0)
        return 1;
    return spec->vcpus * conf->energy_vcpu_util / host->vcpus;
}

double
energy_marginal_watts(const struct sched_host *host, const struct sched_spec *spec,
                      const struct sched_conf *conf)
{
    double before_util = host->cpu_util > 0 ? (host->cpu_util < 1 ? host->cpu_util : 1) : 0;
    double after_util = before_util + energy_util_delta(host, spec, conf);
    double before = energy_power(&host->power, before_util);
    double after = energy_power(&host->power, after_util);
    /* Load beyond a full host does not run for free: it runs late, or on
     * another host. Price the overflow at the host's average slope so a nearly
     * saturated host does not look cheap because its curve ends at 100%. */
    if (after_util > 1)
        after += (after_util - 1) * (host->power.max_watts - host->power.idle_watts);
    double scale = 1;
    /* A host that measures its draw corrects the model's level: the ratio of
     * measured to modelled draw now, bounded so one bad sample cannot rule. */
    if (host->power_measured && host->power_watts > 0 && before > 0) {
        scale = host->power_watts / before;
        scale = scale < 0.5 ? 0.5 : scale > 2.0 ? 2.0 : scale;
    }
    if (conf->energy_consolidate && host->running_vms == 0 && host->vcpus_used == 0)
        before = 0; /* asleep, or could be: placing here wakes it */
    return (after - before) * scale;
}
