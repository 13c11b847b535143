/* Power draw: RAPL energy counters (/sys/class/powercap/intel-rapl:N/energy_uj)
 * when they are readable, else a linear model on CPU utilisation. Either way
 * an energy counter in joules is integrated from the agent's start. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "metrics.h"

static bool
read_u64(const char *path, uint64_t *out)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char buf[64];
    bool ok = fgets(buf, sizeof(buf), f) && sscanf(buf, "%" SCNu64, out) == 1;
    fclose(f);
    return ok;
}

static bool
read_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    if (ok)
        buf[strcspn(buf, "\n")] = '\0';
    return ok;
}

uint64_t
power_rapl_delta(uint64_t last, uint64_t cur, uint64_t max_range_uj)
{
    if (cur >= last)
        return cur - last;
    if (max_range_uj == 0 || last > max_range_uj)
        return cur; /* counter reset: count from zero */
    return (max_range_uj - last) + cur;
}

double
power_model_watts(double idle_watts, double max_watts, double cpu_util)
{
    if (cpu_util < 0)
        cpu_util = 0;
    if (cpu_util > 1)
        cpu_util = 1;
    return idle_watts + (max_watts - idle_watts) * cpu_util;
}

const char *
power_source_name(enum power_source s)
{
    return s == POWER_SOURCE_RAPL ? "rapl" : "model";
}

static void
zones_clear(struct power_meter *m)
{
    for (int i = 0; i < m->nzones; i++)
        free(m->zones[i].energy_path);
    m->nzones = 0;
}

static bool
zone_add(struct power_meter *m, const char *powercap_dir, const char *name)
{
    if (m->nzones >= POWER_ZONES_MAX)
        return false;
    char *energy = xasprintf("%s/%s/energy_uj", powercap_dir, name);
    char *range = xasprintf("%s/%s/max_energy_range_uj", powercap_dir, name);
    uint64_t now, max = 0;
    bool ok = read_u64(energy, &now);
    if (ok) {
        if (!read_u64(range, &max))
            max = 0;
        m->zones[m->nzones++] = (struct power_zone){energy, max, now};
    } else {
        free(energy);
    }
    free(range);
    return ok;
}

void
power_meter_init(struct power_meter *m, const char *powercap_dir, double idle_watts,
                 double max_watts, double t0)
{
    memset(m, 0, sizeof(*m));
    m->last_t = t0;
    m->idle_watts = idle_watts;
    m->max_watts = max_watts;
    m->source = POWER_SOURCE_MODEL;
    DIR *d = powercap_dir ? opendir(powercap_dir) : NULL;
    if (!d)
        return;
    char psys[256] = "";
    char pkgs[POWER_ZONES_MAX][256];
    int npkgs = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        /* top-level zones only: intel-rapl:N (subzones intel-rapl:N:M are inside) */
        unsigned idx;
        char tail;
        if (sscanf(e->d_name, "intel-rapl:%u%c", &idx, &tail) != 1)
            continue;
        char path[4096], zname[64];
        snprintf(path, sizeof(path), "%s/%s/name", powercap_dir, e->d_name);
        if (!read_line(path, zname, sizeof(zname)))
            continue;
        if (strcmp(zname, "psys") == 0)
            snprintf(psys, sizeof(psys), "%s", e->d_name);
        else if (strncmp(zname, "package", 7) == 0 && npkgs < POWER_ZONES_MAX)
            snprintf(pkgs[npkgs++], sizeof(pkgs[0]), "%s", e->d_name);
    }
    closedir(d);
    if (!(psys[0] && zone_add(m, powercap_dir, psys)))
        for (int i = 0; i < npkgs; i++)
            zone_add(m, powercap_dir, pkgs[i]);
    if (m->nzones > 0)
        m->source = POWER_SOURCE_RAPL;
}

void
power_meter_free(struct power_meter *m)
{
    zones_clear(m);
}

void
power_meter_sample(struct power_meter *m, double t, double cpu_util)
{
    double dt = t - m->last_t;
    if (dt < 0)
        dt = 0;
    if (m->source == POWER_SOURCE_RAPL) {
        uint64_t total = 0;
        bool ok = true;
        uint64_t cur[POWER_ZONES_MAX];
        for (int i = 0; i < m->nzones && ok; i++)
            ok = read_u64(m->zones[i].energy_path, &cur[i]);
        if (ok) {
            for (int i = 0; i < m->nzones; i++) {
                total += power_rapl_delta(m->zones[i].last_uj, cur[i], m->zones[i].max_range_uj);
                m->zones[i].last_uj = cur[i];
            }
            m->energy_joules += (double)total / 1e6;
            if (dt > 0)
                m->watts = (double)total / 1e6 / dt;
            m->last_t = t;
            return;
        }
        zones_clear(m);
        m->source = POWER_SOURCE_MODEL; /* the counters went away: fall back */
    }
    m->watts = power_model_watts(m->idle_watts, m->max_watts, cpu_util);
    m->energy_joules += m->watts * dt;
    m->last_t = t;
}
