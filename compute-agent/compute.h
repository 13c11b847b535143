/* cloud-compute: the per-host agent (docs/compute-flow.md). Shared types of
 * its modules: configuration, the instance as the build message carries it,
 * and the agent itself. */
#ifndef NUBE_COMPUTE_COMPUTE_H
#define NUBE_COMPUTE_COMPUTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

/* Nova's power_state codes, as the instance table stores them. */
enum compute_power {
    COMPUTE_POWER_NOSTATE = 0,
    COMPUTE_POWER_RUNNING = 1,
    COMPUTE_POWER_PAUSED = 3,
    COMPUTE_POWER_SHUTDOWN = 4,
    COMPUTE_POWER_CRASHED = 6,
    COMPUTE_POWER_SUSPENDED = 7,
};

#define COMPUTE_DOMAIN_PREFIX "nube-" /* + instance uuid */
#define COMPUTE_HOST_MAX 255

struct compute_config {
    char *host;
    char *libvirt_uri;
    char *instances_dir;
    char *image_cache_dir;
    char *availability_zone;
    char *domain_type; /* auto, kvm, qemu (or any type the hypervisor lists) */
    char *qemu_img;
    char *powercap_dir;        /* /sys/class/powercap */
    char *proc_dir;            /* /proc */
    char *my_ip;               /* the host's address for the cloud (Nova's my_ip), may be "" */
    char *hypervisor_hostname; /* the node's name in os-hypervisors (default: the hostname) */
    long libvirt_connect_timeout_s;
    long heartbeat_interval_s;
    long shutdown_timeout_s;
    long max_image_mb;
    long reserved_host_memory_mb;
    long reserved_host_disk_gb;
    double idle_watts, max_watts;
    double cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio;
};

/* [compute] falls back to [DEFAULT] for every key. */
int compute_config_load(struct compute_config *c, const struct config *cfg, struct err *err);
void compute_config_free(struct compute_config *c);

/* An image as the build message describes it (all strings owned). */
struct compute_image {
    char *id;
    char *checksum;    /* Glance's MD5 hex, may be NULL */
    char *disk_format; /* raw, qcow2, aki, ari */
    char *location;    /* file:///path or http(s)://...; NULL for an absent image */
    char *token;       /* X-Auth-Token for an http location, may be NULL */
};

struct compute_instance {
    char id[37];
    char *name;
    char *hostname;
    char *vm_mode; /* xen or hvm */
    long vcpus;
    long memory_mb;
    long root_gb;
    char *cmdline; /* image property os_command_line, may be NULL */
    struct compute_image image;
    struct compute_image kernel;  /* PV: the kernel (aki), or no location */
    struct compute_image ramdisk; /* PV: the initrd (ari), or no location */
};

/* Validate and copy the `instance` object of build_instance. Bounds every
 * figure; ERR_INVALID names the field. */
int compute_instance_parse(const json_t *obj, struct compute_instance *inst, struct err *err);
/* The object again, without the download token (what the agent keeps on disk). */
json_t *compute_instance_to_json(const struct compute_instance *inst);
void compute_instance_clear(struct compute_instance *inst);

/* "nube-<uuid>" and back; compute_domain_instance_id returns false for other names. */
void compute_domain_name(const char *instance_id, char out[64]);
bool compute_domain_instance_id(const char *domain_name, char out[37]);

#endif
