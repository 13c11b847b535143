/* The agent's configuration: [compute] with [DEFAULT] as fallback. */
#include <string.h>
#include <unistd.h>

#include "compute.h"
#include "bus.h"
#include "mem.h"

static const char *
get(const struct config *cfg, const char *key, const char *dflt)
{
    const char *v = config_get(cfg, "compute", key, NULL);
    if (!v)
        v = config_get(cfg, "DEFAULT", key, NULL);
    return v ? v : dflt;
}

static int
get_long(const struct config *cfg, const char *key, long dflt, long min, long max, long *out,
         struct err *err)
{
    const char *section = config_get(cfg, "compute", key, NULL) ? "compute" : "DEFAULT";
    if (config_get_long(cfg, section, key, dflt, out, err) < 0)
        return -1;
    if (*out < min || *out > max)
        return err_set(err, ERR_INVALID, "[compute] %s = %ld is out of range %ld..%ld", key, *out,
                       min, max);
    return 0;
}

static int
get_double(const struct config *cfg, const char *key, double dflt, double min, double max,
           double *out, struct err *err)
{
    const char *section = config_get(cfg, "compute", key, NULL) ? "compute" : "DEFAULT";
    if (config_get_double(cfg, section, key, dflt, out, err) < 0)
        return -1;
    if (!(*out >= min && *out <= max))
        return err_set(err, ERR_INVALID, "[compute] %s = %g is out of range %g..%g", key, *out, min,
                       max);
    return 0;
}

int
compute_config_load(struct compute_config *c, const struct config *cfg, struct err *err)
{
    memset(c, 0, sizeof(*c));
    char hostname[256] = "localhost";
    if (gethostname(hostname, sizeof(hostname) - 1) < 0)
        strcpy(hostname, "localhost");
    c->host = xstrdup(get(cfg, "host", hostname));
    c->libvirt_uri =
        xstrdup(get(cfg, "libvirt_uri", "nube+unix:///system?socket=/run/nube/hvd.sock"));
    c->instances_dir = xstrdup(get(cfg, "instances_dir", "/var/lib/nube/instances"));
    c->image_cache_dir = xstrdup(get(cfg, "image_cache_dir", "/var/lib/nube/image-cache"));
    c->availability_zone = xstrdup(get(cfg, "availability_zone", "nova"));
    c->domain_type = xstrdup(get(cfg, "domain_type", "auto"));
    c->qemu_img = xstrdup(get(cfg, "qemu_img", "qemu-img"));
    c->powercap_dir = xstrdup(get(cfg, "powercap_dir", "/sys/class/powercap"));
    c->proc_dir = xstrdup(get(cfg, "proc_dir", "/proc"));
    c->my_ip = xstrdup(get(cfg, "my_ip", ""));
    c->hypervisor_hostname = xstrdup(get(cfg, "hypervisor_hostname", hostname));
    if (get_long(cfg, "heartbeat_interval", 10, 1, 3600, &c->heartbeat_interval_s, err) < 0 ||
        get_long(cfg, "libvirt_connect_timeout", 60, 0, 3600, &c->libvirt_connect_timeout_s, err) <
            0 ||
        get_long(cfg, "shutdown_timeout", 10, 0, 600, &c->shutdown_timeout_s, err) < 0 ||
        get_long(cfg, "max_image_mb", 65536, 1, 16L << 20, &c->max_image_mb, err) < 0 ||
        get_long(cfg, "reserved_host_memory_mb", 512, 0, 1L << 30, &c->reserved_host_memory_mb,
                 err) < 0 ||
        get_long(cfg, "reserved_host_disk_gb", 0, 0, 1L << 30, &c->reserved_host_disk_gb, err) <
            0 ||
        get_double(cfg, "idle_watts", 60, 0, 100000, &c->idle_watts, err) < 0 ||
        get_double(cfg, "max_watts", 200, 0, 100000, &c->max_watts, err) < 0 ||
        get_double(cfg, "cpu_allocation_ratio", 4.0, 0.01, 1000, &c->cpu_allocation_ratio, err) <
            0 ||
        get_double(cfg, "ram_allocation_ratio", 1.0, 0.01, 1000, &c->ram_allocation_ratio, err) <
            0 ||
        get_double(cfg, "disk_allocation_ratio", 1.0, 0.01, 1000, &c->disk_allocation_ratio, err) <
            0)
        goto fail;
    if (c->max_watts < c->idle_watts) {
        err_set(err, ERR_INVALID, "[compute] max_watts (%g) is below idle_watts (%g)", c->max_watts,
                c->idle_watts);
        goto fail;
    }
    char topic[300];
    if (bus_topic_compute(c->host, topic, sizeof(topic), err) < 0)
        goto fail;
    return 0;
fail:
    compute_config_free(c);
    return -1;
}

void
compute_config_free(struct compute_config *c)
{
    if (!c)
        return;
    free(c->host);
    free(c->libvirt_uri);
    free(c->hypervisor_hostname);
    free(c->instances_dir);
    free(c->image_cache_dir);
    free(c->availability_zone);
    free(c->domain_type);
    free(c->qemu_img);
    free(c->powercap_dir);
    free(c->proc_dir);
    free(c->my_ip);
    memset(c, 0, sizeof(*c));
}
