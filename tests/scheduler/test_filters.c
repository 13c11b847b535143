/* Each scheduler filter on hand-made hosts, the filter table, the select
 * step's explanation, and [scheduler] parsing. */
#include <stdio.h>

#include "check.h"
#include "config.h"
#include "hosts.h"

static struct sched_conf conf;
static struct sched_ctx ctx = {&conf, NOW};

static bool
run(const struct sched_filter *f, const struct sched_host *h, const struct sched_spec *s, char *why)
{
    why[0] = '\0';
    bool quick = f->fn(h, s, &ctx, NULL, 0);
    bool slow = f->fn(h, s, &ctx, why, SCHED_WHY_MAX);
    CHECK(quick == slow); /* the reason never changes the verdict */
    if (!slow)
        CHECK(why[0] != '\0');
    return slow;
}

static void
test_compute(void)
{
    char why[SCHED_WHY_MAX];
    struct sched_spec s = test_spec(1, 512, 1);
    struct sched_host h = test_host("a");
    CHECK(run(&sched_filter_compute, &h, &s, why));
    h.heartbeat_at = NOW - 59;
    CHECK(run(&sched_filter_compute, &h, &s, why));
    h.heartbeat_at = NOW - 61;
    CHECK(!run(&sched_filter_compute, &h, &s, why));
    CHECK_STR(why, "down (last heartbeat 61 s ago)");
    h.heartbeat_at = -1;
    CHECK(!run(&sched_filter_compute, &h, &s, why));
    CHECK_STR(why, "down (no heartbeat yet)");
    h = test_host("a");
    h.enabled = false;
    CHECK(!run(&sched_filter_compute, &h, &s, why));
    CHECK_STR(why, "disabled");
    h = test_host("a");
    h.forced_down = true;
    CHECK(!run(&sched_filter_compute, &h, &s, why));
    CHECK_STR(why, "forced down");
    conf.service_down_time = 10;
    h = test_host("a");
    h.heartbeat_at = NOW - 11;
    CHECK(!run(&sched_filter_compute, &h, &s, why));
    conf.service_down_time = 60;
}

static void
test_ram_core_disk(void)
{
    char why[SCHED_WHY_MAX];
    struct sched_host h = test_host("a");
    h.memory_mb = 1000;
    h.memory_mb_used = 1000;
    h.ram_allocation_ratio = 1.5; /* 500 MB left */
    struct sched_spec s = test_spec(1, 500, 1);
    CHECK(run(&sched_filter_ram, &h, &s, why));
    s.memory_mb = 501;
    CHECK(!run(&sched_filter_ram, &h, &s, why));
    CHECK_STR(why, "needs 501 MB, has 500 MB free");

    h = test_host("a"); /* 8 x 4.0 = 32 vCPUs */
    h.vcpus_used = 30;
    s = test_spec(2, 512, 1);
    CHECK(run(&sched_filter_core, &h, &s, why));
    s.vcpus = 3;
    CHECK(!run(&sched_filter_core, &h, &s, why));
    CHECK_STR(why, "needs 3 vCPUs, has 2 free");

    h = test_host("a");
    h.local_gb_used = 90;
    s = test_spec(1, 512, 10);
    CHECK(run(&sched_filter_disk, &h, &s, why));
    s.disk_gb = 11;
    CHECK(!run(&sched_filter_disk, &h, &s, why));
    CHECK_STR(why, "needs 11 GB, has 10 GB free");
    h.disk_allocation_ratio = 2.0;
    CHECK(run(&sched_filter_disk, &h, &s, why));
}

static void
test_zone_image(void)
{
    char why[SCHED_WHY_MAX];
    struct sched_host h = test_host("a");
    struct sched_spec s = test_spec(1, 512, 1);
    CHECK(run(&sched_filter_availability_zone, &h, &s, why));
    s.availability_zone = "";
    CHECK(run(&sched_filter_availability_zone, &h, &s, why));
    s.availability_zone = "nova";
    CHECK(run(&sched_filter_availability_zone, &h, &s, why));
    s.availability_zone = "az2";
    CHECK(!run(&sched_filter_availability_zone, &h, &s, why));
    CHECK_STR(why, "in zone nova, not az2");

    s = test_spec(1, 512, 1);
    const struct {
        unsigned domains;
        enum sched_vm_mode mode;
        bool ok;
    } cases[] = {
        {SCHED_DOMAIN_KVM, SCHED_VM_XEN, true},
        {SCHED_DOMAIN_QEMU, SCHED_VM_XEN, true},
        {SCHED_DOMAIN_EXE, SCHED_VM_XEN, false},
        {SCHED_DOMAIN_KVM, SCHED_VM_HVM, true},
        {SCHED_DOMAIN_QEMU, SCHED_VM_HVM, true},
        {SCHED_DOMAIN_EXE, SCHED_VM_HVM, false},
        {SCHED_DOMAIN_EXE, SCHED_VM_EXE, true},
        {SCHED_DOMAIN_KVM, SCHED_VM_EXE, false},
        {SCHED_DOMAIN_QEMU | SCHED_DOMAIN_KVM, SCHED_VM_EXE, false},
        {0, SCHED_VM_XEN, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h.domain_types = cases[i].domains;
        s.vm_mode = cases[i].mode;
        CHECK_INT(run(&sched_filter_image_properties, &h, &s, why), cases[i].ok);
    }
    h.domain_types = SCHED_DOMAIN_KVM;
    s.vm_mode = SCHED_VM_EXE;
    run(&sched_filter_image_properties, &h, &s, why);
    CHECK_STR(why, "cannot run vm_mode exe (domain types: kvm)");
}

static void
test_groups_retry(void)
{
    char why[SCHED_WHY_MAX];
    struct sched_host a = test_host("a"), b = test_host("b");
    struct sched_spec s = test_spec(1, 512, 1);
    const char *members[] = {"a", "a"};

    /* no group: both filters pass everything */
    CHECK(run(&sched_filter_affinity, &b, &s, why));
    CHECK(run(&sched_filter_anti_affinity, &a, &s, why));

    s.group_policy = SCHED_GROUP_AFFINITY;
    CHECK(run(&sched_filter_affinity, &b, &s, why)); /* first member: anywhere */
    s.group_hosts = members;
    s.n_group_hosts = 2;
    CHECK(run(&sched_filter_affinity, &a, &s, why));
    CHECK(!run(&sched_filter_affinity, &b, &s, why));
    CHECK_STR(why, "group members are on a");
    CHECK(run(&sched_filter_anti_affinity, &a, &s, why)); /* not its policy */

    s.group_policy = SCHED_GROUP_ANTI_AFFINITY;
    CHECK(!run(&sched_filter_anti_affinity, &a, &s, why));
    CHECK_STR(why, "already runs a member of the server group");
    CHECK(run(&sched_filter_anti_affinity, &b, &s, why));
    CHECK(run(&sched_filter_affinity, &b, &s, why));

    /* soft policies never filter */
    s.group_policy = SCHED_GROUP_SOFT_ANTI_AFFINITY;
    CHECK(run(&sched_filter_anti_affinity, &a, &s, why));
    s.group_policy = SCHED_GROUP_SOFT_AFFINITY;
    CHECK(run(&sched_filter_affinity, &b, &s, why));

    s = test_spec(1, 512, 1);
    const char *tried[] = {"b"};
    CHECK(run(&sched_filter_retry, &b, &s, why));
    s.tried_hosts = tried;
    s.n_tried_hosts = 1;
    CHECK(!run(&sched_filter_retry, &b, &s, why));
    CHECK_STR(why, "build already failed there");
    CHECK(run(&sched_filter_retry, &a, &s, why));
}

static void
test_select_explain(void)
{
    struct sched_host hosts[5] = {test_host("h0"), test_host("h1"), test_host("h2"),
                                  test_host("h3"), test_host("h4")};
    hosts[1].heartbeat_at = NOW - 600;
    hosts[2].memory_mb_used = 14336; /* 2048 MB free */
    hosts[3].memory_mb_used = 15360; /* 1024 MB free */
    hosts[4].domain_types = SCHED_DOMAIN_EXE;
    struct sched_spec s = test_spec(2, 4096, 10);
    struct sched_result res;
    memset(&res, 0, sizeof(res));
    sched_select(hosts, 5, &s, &ctx, &res);
    CHECK_INT(res.n_cand, 1);
    CHECK_INT(res.cand[0], 0);
    char buf[1024];
    sched_result_explain(&res, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "5 hosts: 1 filtered out by ComputeFilter (host h1: down (last heartbeat 600 "
                   "s ago)), 2 filtered out by RamFilter (host h2: needs 4096 MB, has 2048 MB "
                   "free), 1 filtered out by ImagePropertiesFilter (host h4: cannot run vm_mode "
                   "xen (domain types: exe)), 1 passed");
    CHECK_INT(sched_result_next(&res), 0);
    CHECK_INT(sched_result_next(&res), -1);

    /* nothing fits */
    s.memory_mb = 65536;
    sched_select(hosts, 5, &s, &ctx, &res);
    CHECK_INT(res.n_cand, 0);
    CHECK_INT(sched_result_next(&res), -1);
    sched_result_explain(&res, &conf, buf, sizeof(buf));
    CHECK(strstr(buf, "4 filtered out by RamFilter (host h0: needs 65536 MB") != NULL);

    /* no hosts at all */
    sched_select(hosts, 0, &s, &ctx, &res);
    sched_result_explain(&res, &conf, buf, sizeof(buf));
    CHECK_STR(buf, "0 hosts");

    /* a filter that is not enabled removes nothing */
    struct sched_conf c2 = conf;
    c2.n_filters = 1;
    c2.filters[0] = &sched_filter_compute;
    struct sched_ctx ctx2 = {&c2, NOW};
    sched_select(hosts, 5, &s, &ctx2, &res);
    CHECK_INT(res.n_cand, 4);
    sched_result_fini(&res);
}

static void
test_conf(void)
{
    struct err err = ERR_INIT;
    struct config *cfg = config_new();
    struct sched_conf c;
    CHECK_INT(sched_conf_load(&c, cfg, &err), 0);
    CHECK_INT(c.n_filters, 9);
    CHECK_INT(c.max_attempts, 3);
    CHECK_NEAR(c.service_down_time, 60);
    CHECK_NEAR(c.multipliers[2], 3.0); /* energy */
    config_set(cfg, "scheduler", "enabled_filters", "RamFilter, ComputeFilter");
    config_set(cfg, "scheduler", "ram_weight_multiplier", "-1.5");
    config_set(cfg, "scheduler", "max_attempts", "5");
    config_set(cfg, "compute", "service_down_time", "30");
    config_set(cfg, "scheduler", "retry_wait_s", "7");
    config_set(cfg, "scheduler", "energy_consolidate", "false");
    CHECK_INT(sched_conf_load(&c, cfg, &err), 0);
    CHECK_INT(c.n_filters, 2);
    CHECK(c.filters[0] == &sched_filter_ram);
    CHECK(c.filters[1] == &sched_filter_compute);
    CHECK_NEAR(c.multipliers[0], -1.5);
    CHECK_INT(c.max_attempts, 5);
    CHECK_NEAR(c.service_down_time, 30);
    CHECK_INT(c.retry_wait_s, 7);
    CHECK(!c.energy_consolidate);
    config_set(cfg, "scheduler", "enabled_filters", "RamFilter,NoSuchFilter");
    CHECK_INT(sched_conf_load(&c, cfg, &err), -1);
    CHECK(strstr(err.msg, "NoSuchFilter") != NULL);
    config_set(cfg, "scheduler", "enabled_filters", "RamFilter");
    config_set(cfg, "scheduler", "max_attempts", "0");
    CHECK_INT(sched_conf_load(&c, cfg, &err), -1);
    config_set(cfg, "scheduler", "max_attempts", "2");
    config_set(cfg, "scheduler", "cpu_weight_multiplier", "lots");
    CHECK_INT(sched_conf_load(&c, cfg, &err), -1);
    CHECK(strstr(err.msg, "cpu_weight_multiplier") != NULL);
    config_free(cfg);
    for (int i = 0; sched_filters[i]; i++)
        CHECK(sched_filter_find(sched_filters[i]->name) == sched_filters[i]);
}

int
main(void)
{
    sched_conf_defaults(&conf);
    test_compute();
    test_ram_core_disk();
    test_zone_image();
    test_groups_retry();
    test_select_explain();
    test_conf();
    return check_done();
}
