/* The weighers, their normalisation and multipliers: RAM and CPU spread or
 * pack, the energy weigher's choice of a busy efficient host over waking an
 * idle one, soft affinity. */
#include <stdio.h>

#include "check.h"
#include "hosts.h"

static struct sched_result res;

/* The host names in the order sched_result_next hands them out. */
static void
order(const struct sched_host *hosts, int n, const struct sched_spec *s,
      const struct sched_conf *conf, char *out, size_t size)
{
    struct sched_ctx ctx = {conf, NOW};
    sched_select(hosts, n, s, &ctx, &res);
    out[0] = '\0';
    int c;
    while ((c = sched_result_next(&res)) >= 0) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", len ? "," : "", hosts[res.cand[c]].host);
    }
}

static void
test_ram_cpu(void)
{
    struct sched_conf conf;
    char buf[256];
    struct sched_host h[3] = {test_host("h0"), test_host("h1"), test_host("h2")};
    h[1].memory_mb_used = 8192;  /* 8192 free */
    h[2].memory_mb_used = 12288; /* 4096 free */
    struct sched_spec s = test_spec(1, 1024, 1);

    test_conf_only(&conf, "RAMWeigher", 1.0);
    order(h, 3, &s, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "h0,h1,h2");
    /* normalised: (free - min) / (max - min) */
    CHECK_NEAR(res.norm[0 * 3 + 0], 1.0);
    CHECK_NEAR(res.norm[0 * 3 + 1], 4096.0 / 12288);
    CHECK_NEAR(res.norm[0 * 3 + 2], 0.0);
    CHECK_NEAR(res.weight[1], 4096.0 / 12288);
    test_conf_only(&conf, "RAMWeigher", -1.0);
    order(h, 3, &s, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "h2,h1,h0");
    test_conf_only(&conf, "RAMWeigher", 2.5);
    struct sched_ctx ctx = {&conf, NOW};
    sched_select(h, 3, &s, &ctx, &res);
    CHECK_NEAR(res.weight[0], 2.5);

    h[0].vcpus_used = 20; /* 12 of 32 free */
    h[1].vcpus_used = 4;  /* 28 free */
    h[2].vcpus_used = 16; /* 16 free */
    test_conf_only(&conf, "CPUWeigher", 1.0);
    order(h, 3, &s, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "h1,h2,h0");
    test_conf_only(&conf, "CPUWeigher", -1.0);
    order(h, 3, &s, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "h0,h2,h1");

    /* equal figures weigh 0 everywhere: the lower index wins ties */
    struct sched_host e[2] = {test_host("e0"), test_host("e1")};
    test_conf_only(&conf, "RAMWeigher", 1.0);
    order(e, 2, &s, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "e0,e1");
    CHECK_NEAR(res.weight[0], 0);
}

/* Place @count instances one after another, as the daemon does (claims are
 * added to the cached state), and count what each host got. */
static void
place(struct sched_host *h, int n, const struct sched_conf *conf, int count, int *got)
{
    struct sched_spec s = test_spec(2, 2048, 10);
    struct sched_ctx ctx = {conf, NOW};
    for (int i = 0; i < n; i++)
        got[i] = 0;
    for (int k = 0; k < count; k++) {
        sched_select(h, n, &s, &ctx, &res);
        int c = sched_result_next(&res);
        CHECK(c >= 0);
        if (c < 0)
            return;
        sched_host_consume(&h[res.cand[c]], &s, conf);
        got[res.cand[c]]++;
    }
}

static void
test_spread_pack(void)
{
    struct sched_conf conf;
    int got[3];
    struct sched_host h[3] = {test_host("h0"), test_host("h1"), test_host("h2")};
    test_conf_only(&conf, "RAMWeigher", 1.0);
    place(h, 3, &conf, 6, got);
    CHECK_INT(got[0], 2);
    CHECK_INT(got[1], 2);
    CHECK_INT(got[2], 2);
    CHECK_INT(h[0].memory_mb_used, 4096);
    CHECK_INT(h[0].vcpus_used, 4);
    CHECK_INT(h[0].local_gb_used, 20);
    CHECK_INT(h[0].running_vms, 2);
    CHECK_NEAR(h[0].cpu_util, 0.5);

    struct sched_host p[3] = {test_host("p0"), test_host("p1"), test_host("p2")};
    test_conf_only(&conf, "RAMWeigher", -1.0);
    place(p, 3, &conf, 10, got); /* 16 GB / 2 GB = 8 fit on one host */
    CHECK_INT(got[0], 8);
    CHECK_INT(got[1], 2);
    CHECK_INT(got[2], 0);

    /* energy packing with consolidation fills one host before waking the next:
     * past 8 vCPUs its CPUs are over-committed (ratio 4.0 allows it), and the
     * overflow (25 W at 100..200 W) still costs less than waking q1 (125 W);
     * RAM (8 x 2 GB) is what sends the 9th instance on */
    struct sched_host q[3] = {test_host("q0"), test_host("q1"), test_host("q2")};
    test_conf_only(&conf, "EnergyWeigher", 1.0);
    place(q, 3, &conf, 10, got);
    CHECK_INT(got[0], 8);
    CHECK_INT(got[1], 2);
    CHECK_INT(got[2], 0);
    CHECK_NEAR(q[0].cpu_util, 1.0);
    CHECK_NEAR(q[1].cpu_util, 0.5);
}

static void
test_energy(void)
{
    struct sched_conf conf;
    char buf[256];
    /* idle: empty, 93.7..135 W; busy-efficient: 86..117 W at 40%; busy-hungry:
     * 100..250 W at 40%. A 2-vCPU instance adds 25% of an 8-CPU host:
     * marginal 104.025 W (wake + 0.25 x 41.3), 7.75 W, 37.5 W. */
    struct sched_host h[3] = {test_host("idle"), test_host("efficient"), test_host("hungry")};
    energy_model_linear(&h[0].power, 93.7, 135);
    energy_model_linear(&h[1].power, 86, 117);
    energy_model_linear(&h[2].power, 100, 250);
    for (int i = 1; i < 3; i++) {
        h[i].running_vms = 3;
        h[i].vcpus_used = 6;
        h[i].memory_mb_used = 6144;
        h[i].local_gb_used = 30;
        h[i].cpu_util = 0.4;
    }
    struct sched_spec s = test_spec(2, 2048, 10);
    sched_conf_defaults(&conf);
    CHECK_NEAR(energy_marginal_watts(&h[0], &s, &conf), 104.025);
    CHECK_NEAR(energy_marginal_watts(&h[1], &s, &conf), 7.75);
    CHECK_NEAR(energy_marginal_watts(&h[2], &s, &conf), 37.5);

    test_conf_only(&conf, "EnergyWeigher", 1.0);
    order(h, 3, &s, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "efficient,hungry,idle");
    CHECK_NEAR(res.norm[2 * 3 + 2], (104.025 - 37.5) / (104.025 - 7.75));

    /* the defaults (RAM and CPU spread 1.0 each, energy 3.0): spreading would
     * pick the idle host (2.0), energy outweighs it: efficient 3.0, hungry
     * 3 x 0.691 = 2.07 */
    sched_conf_defaults(&conf);
    order(h, 3, &s, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "efficient,hungry,idle");
    /* ... and without the energy weigher, plain spreading wakes the idle host */
    conf.multipliers[2] = 0;
    order(h, 3, &s, &conf, buf, sizeof(buf));
    CHECK(strncmp(buf, "idle,", 5) == 0);

    /* without consolidation an idle host is only its dynamic power: 10.325 W */
    test_conf_only(&conf, "EnergyWeigher", 1.0);
    conf.energy_consolidate = false;
    order(h, 3, &s, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "efficient,idle,hungry");

    /* the log line names the figures */
    sched_conf_defaults(&conf);
    struct sched_ctx ctx = {&conf, NOW};
    sched_select(h, 3, &s, &ctx, &res);
    sched_result_weights(&res, h, 1, &conf, buf, sizeof(buf));
    CHECK(strncmp(buf, "efficient 3.", 12) == 0);
    CHECK(strstr(buf, "EnergyWeigher 3.000=-7.75x3.00") != NULL);
}

static void
test_soft_affinity(void)
{
    struct sched_conf conf;
    char buf[256];
    struct sched_host h[3] = {test_host("a"), test_host("b"), test_host("c")};
    const char *members[] = {"b", "b", "c"};
    struct sched_spec s = test_spec(1, 512, 1);
    s.group_hosts = members;
    s.n_group_hosts = 3;
    test_conf_only(&conf, "ServerGroupSoftAffinityWeigher", 1.0);
    s.group_policy = SCHED_GROUP_SOFT_AFFINITY;
    order(h, 3, &s, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "b,c,a");
    s.group_policy = SCHED_GROUP_SOFT_ANTI_AFFINITY;
    order(h, 3, &s, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "a,c,b");
    s.group_policy = SCHED_GROUP_ANTI_AFFINITY; /* hard: the filter's job, no weight */
    order(h, 3, &s, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "a");
}

int
main(void)
{
    test_ram_cpu();
    test_spread_pack();
    test_energy();
    test_soft_affinity();
    sched_result_fini(&res);
    return check_done();
}
