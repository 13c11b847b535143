/* Shared fixtures for the scheduler's unit tests. */
#ifndef NUBE_TEST_SCHED_HOSTS_H
#define NUBE_TEST_SCHED_HOSTS_H

#include <math.h>
#include <string.h>

#include "scheduler.h"

#define NOW 1700000000.0

/* A healthy, empty host: 8 CPUs, 16 GB, 100 GB, kvm and qemu, zone nova,
 * 100 W idle, 200 W at full load. */
static inline struct sched_host
test_host(const char *name)
{
    struct sched_host h;
    memset(&h, 0, sizeof(h));
    h.host = (char *)name;
    h.availability_zone = (char *)"nova";
    h.vcpus = 8;
    h.memory_mb = 16384;
    h.local_gb = 100;
    h.cpu_allocation_ratio = 4.0;
    h.ram_allocation_ratio = 1.0;
    h.disk_allocation_ratio = 1.0;
    h.domain_types = SCHED_DOMAIN_KVM | SCHED_DOMAIN_QEMU;
    energy_model_linear(&h.power, 100, 200);
    h.enabled = true;
    h.heartbeat_at = NOW - 5;
    return h;
}

static inline struct sched_spec
test_spec(int vcpus, int memory_mb, int disk_gb)
{
    struct sched_spec s;
    memset(&s, 0, sizeof(s));
    s.instance_id = "00000000-0000-4000-8000-000000000001";
    s.vcpus = vcpus;
    s.memory_mb = memory_mb;
    s.disk_gb = disk_gb;
    s.vm_mode = SCHED_VM_XEN;
    return s;
}

/* Only weigher @name has a multiplier (@mult); every filter on. */
static inline void
test_conf_only(struct sched_conf *conf, const char *name, double mult)
{
    sched_conf_defaults(conf);
    for (int i = 0; sched_weighers[i]; i++)
        conf->multipliers[i] = strcmp(sched_weighers[i]->name, name) == 0 ? mult : 0;
}

#define CHECK_NEAR(a, b) CHECK(fabs((double)(a) - (double)(b)) < 1e-6)

#endif
