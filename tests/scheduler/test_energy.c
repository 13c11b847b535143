/* The power model and the marginal watts of one more instance, against
 * figures computed by hand (PlanetLab's HP ProLiant G4/G5 SPECpower tables). */
#include "check.h"
#include "hosts.h"

static const double g4[11] = {86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117};
static const double g5[11] = {93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135};

static void
test_power(void)
{
    struct energy_model m;
    energy_model_linear(&m, 100, 200);
    CHECK_NEAR(energy_power(&m, 0), 100);
    CHECK_NEAR(energy_power(&m, 0.5), 150);
    CHECK_NEAR(energy_power(&m, 1), 200);
    CHECK_NEAR(energy_power(&m, -1), 100); /* clamped */
    CHECK_NEAR(energy_power(&m, 2), 200);
    CHECK_NEAR(energy_power(&m, NAN), 100);

    energy_model_table(&m, g4, 11);
    CHECK_NEAR(m.idle_watts, 86);
    CHECK_NEAR(m.max_watts, 117);
    CHECK_NEAR(energy_power(&m, 0), 86);
    CHECK_NEAR(energy_power(&m, 0.05), 87.7);
    CHECK_NEAR(energy_power(&m, 0.35), 97.75);
    CHECK_NEAR(energy_power(&m, 0.6), 106);
    CHECK_NEAR(energy_power(&m, 1), 117);
    energy_model_table(&m, g5, 11);
    CHECK_NEAR(energy_power(&m, 0.35), 107.5);
    CHECK_NEAR(energy_power(&m, 0.6), 121);
    CHECK_NEAR(energy_power(&m, 0.95), 134);
}

static void
test_marginal(void)
{
    struct sched_conf conf;
    sched_conf_defaults(&conf);
    struct sched_spec s = test_spec(2, 1024, 10);

    struct sched_host g4h = test_host("g4"), g5h = test_host("g5");
    energy_model_table(&g4h.power, g4, 11);
    energy_model_table(&g5h.power, g5, 11);
    g4h.running_vms = g5h.running_vms = 3;
    g4h.vcpus_used = g5h.vcpus_used = 3;
    g4h.cpu_util = g5h.cpu_util = 0.35;
    CHECK_NEAR(energy_util_delta(&g4h, &s, &conf), 0.25); /* 2 of 8 CPUs */
    CHECK_NEAR(energy_marginal_watts(&g4h, &s, &conf), 106 - 97.75);
    CHECK_NEAR(energy_marginal_watts(&g5h, &s, &conf), 121 - 107.5);

    /* half-busy vCPUs */
    conf.energy_vcpu_util = 0.5;
    CHECK_NEAR(energy_util_delta(&g4h, &s, &conf), 0.125);
    CHECK_NEAR(energy_marginal_watts(&g4h, &s, &conf),
               (99.5 + (102 - 99.5) * 0.75) - 97.75); /* P(0.475) - P(0.35) */
    conf.energy_vcpu_util = 1.0;

    /* an empty host: waking it costs its idle draw too (consolidation) */
    struct sched_host idle = test_host("idle");
    energy_model_table(&idle.power, g4, 11);
    CHECK_NEAR(energy_marginal_watts(&idle, &s, &conf), 94.3); /* P(0.25) - 0 */
    conf.energy_consolidate = false;
    CHECK_NEAR(energy_marginal_watts(&idle, &s, &conf), 94.3 - 86);
    conf.energy_consolidate = true;

    /* past 100%: the overflow is priced at the average slope (117-86 W) */
    g4h.cpu_util = 0.9;
    CHECK_NEAR(energy_marginal_watts(&g4h, &s, &conf), 117 + 0.15 * 31 - 114);

    /* measured draw (RAPL) scales the model, within 0.5..2 */
    struct sched_host r = test_host("rapl"); /* linear 100..200 */
    r.running_vms = 1;
    r.cpu_util = 0.5;
    CHECK_NEAR(energy_marginal_watts(&r, &s, &conf), 25);
    r.power_measured = true;
    r.power_watts = 300; /* model says 150 */
    CHECK_NEAR(energy_marginal_watts(&r, &s, &conf), 50);
    r.power_watts = 1000;
    CHECK_NEAR(energy_marginal_watts(&r, &s, &conf), 50);
    r.power_watts = 60;
    CHECK_NEAR(energy_marginal_watts(&r, &s, &conf), 12.5);
    r.power_watts = 0; /* no sample yet: the model alone */
    CHECK_NEAR(energy_marginal_watts(&r, &s, &conf), 25);

    /* a host with no CPUs reported: the instance is a whole host's load */
    struct sched_host z = test_host("z");
    z.vcpus = 0;
    CHECK_NEAR(energy_util_delta(&z, &s, &conf), 1.0);
}

int
main(void)
{
    test_power();
    test_marginal();
    return check_done();
}
