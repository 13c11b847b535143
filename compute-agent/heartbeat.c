/* host_heartbeat: capacity (host figures less what is reserved for the
 * host), usage (what the instances here are sized at, and what the host
 * measures free), the domain types it can run, power and energy, and the ids
 * of the instances it hosts. */
#include <string.h>
#include <time.h>

#include "agent.h"
#include "bus.h"
#include "json.h"
#include "log.h"

static double
mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

json_t *
agent_heartbeat_build(struct agent *a, double now_mono)
{
    struct err e = ERR_INIT;
    struct host_cpu_sample cpu;
    double util = 0;
    if (host_cpu_read(a->cfg.proc_dir, &cpu, &e) == 0) {
        util = host_cpu_util(&a->cpu, &cpu);
        a->cpu = cpu;
    }
    power_meter_sample(&a->power, now_mono, util);
    long vcpus = 0, mem = 0, mem_free = 0, disk = 0, disk_free = 0;
    if (host_cpu_count(a->cfg.proc_dir, &vcpus, &e) < 0 ||
        host_mem_read(a->cfg.proc_dir, &mem, &mem_free, &e) < 0 ||
        host_disk_read(a->cfg.instances_dir, &disk, &disk_free, &e) < 0)
        log_warn("host %s: %s", a->cfg.host, e.msg);
    mem -= a->cfg.reserved_host_memory_mb;
    disk -= a->cfg.reserved_host_disk_gb;

    long vcpus_used = 0, mem_used = 0, disk_used = 0;
    json_t *ids = json_array();
    for (size_t i = 0; i < a->nrecs; i++) {
        const json_t *s = a->recs[i].spec;
        json_int_t v;
        if (json_get_int(s, "vcpus", &v))
            vcpus_used += (long)v;
        if (json_get_int(s, "memory_mb", &v))
            mem_used += (long)v;
        if (json_get_int(s, "root_gb", &v))
            disk_used += (long)v;
        json_array_append_new(ids, json_string(a->recs[i].id));
    }
    for (size_t i = 0; i < a->nunknown; i++)
        json_array_append_new(ids, json_string(a->unknown[i]));
    json_t *types = json_array();
    for (size_t i = 0; i < a->ndomain_types; i++)
        json_array_append_new(types, json_string(a->domain_types[i]));
    json_t *hb = json_object();
    json_object_set_new(hb, "host", json_string(a->cfg.host));
    json_object_set_new(hb, "hypervisor_hostname", json_string(a->cfg.hypervisor_hostname));
    json_object_set_new(hb, "hypervisor_type", json_string(a->caps.hypervisor_type));
    json_object_set_new(hb, "hypervisor_version",
                        json_integer((json_int_t)a->caps.hypervisor_version));
    json_object_set_new(hb, "host_ip", json_string(a->cfg.my_ip));
    json_object_set_new(hb, "availability_zone", json_string(a->cfg.availability_zone));
    json_object_set_new(hb, "started_at", json_string(a->started_at));
    json_object_set_new(hb, "heartbeat_interval", json_integer(a->cfg.heartbeat_interval_s));
    json_object_set_new(hb, "vcpus", json_integer(vcpus));
    json_object_set_new(hb, "memory_mb", json_integer(mem > 0 ? mem : 0));
    json_object_set_new(hb, "local_gb", json_integer(disk > 0 ? disk : 0));
    json_object_set_new(hb, "cpu_allocation_ratio", json_real(a->cfg.cpu_allocation_ratio));
    json_object_set_new(hb, "ram_allocation_ratio", json_real(a->cfg.ram_allocation_ratio));
    json_object_set_new(hb, "disk_allocation_ratio", json_real(a->cfg.disk_allocation_ratio));
    json_object_set_new(hb, "vcpus_used", json_integer(vcpus_used));
    json_object_set_new(hb, "memory_mb_used", json_integer(mem_used));
    json_object_set_new(hb, "local_gb_used", json_integer(disk_used));
    json_object_set_new(hb, "running_vms", json_integer((json_int_t)a->nrecs));
    json_object_set_new(hb, "memory_mb_free", json_integer(mem_free));
    json_object_set_new(hb, "local_gb_free", json_integer(disk_free));
    json_object_set_new(hb, "cpu_util", json_real(util));
    json_object_set_new(hb, "domain_types", types);
    json_object_set_new(hb, "power_watts", json_real(a->power.watts));
    json_object_set_new(hb, "power_source", json_string(power_source_name(a->power.source)));
    json_object_set_new(hb, "idle_watts", json_real(a->cfg.idle_watts));
    json_object_set_new(hb, "max_watts", json_real(a->cfg.max_watts));
    json_object_set_new(hb, "energy_joules", json_real(a->power.energy_joules));
    json_object_set_new(hb, "instances", ids);
    return hb;
}

int
agent_heartbeat_send(struct agent *a, struct err *err)
{
    a->next_heartbeat = mono_now() + (double)a->cfg.heartbeat_interval_s;
    json_t *hb = agent_heartbeat_build(a, mono_now());
    int rc = a->emit(a->emit_opaque, BUS_TOPIC_EVENTS, "host_heartbeat", hb, err);
    log_debug("host %s: heartbeat %s (%.1f W, %zu instances)", a->cfg.host,
              rc == 0 ? "sent" : "NOT SENT", a->power.watts, a->nrecs);
    json_decref(hb);
    return rc;
}

void
agent_heartbeat_tick(struct agent *a)
{
    if (mono_now() < a->next_heartbeat)
        return;
    struct err err = ERR_INIT;
    if (agent_heartbeat_send(a, &err) < 0)
        log_warn("heartbeat: %s", err.msg);
}

static void
tick(void *opaque)
{
    agent_heartbeat_tick(opaque);
}

struct disk_config
agent_disk_config(struct agent *a)
{
    return (struct disk_config){a->cfg.image_cache_dir, a->cfg.qemu_img,
                                (uint64_t)a->cfg.max_image_mb << 20, tick, a};
}
