/* Energy of the scheduler's placements on real workload: the PlanetLab CPU
 * traces (/work/shared/data/PLANETLAB.md) on the published 800-host cloud
 * (half HP ProLiant ML110 G4, half G5, their SPECpower curves). Each policy
 * places every VM of a day once, through the scheduler's own filters and
 * weighers (no migrations: the scheduler places, it does not consolidate
 * afterwards); then the day is replayed in 5-minute steps from the traces.
 * A host without VMs sleeps (0 W); an active host draws its curve at the
 * traced utilisation. Prints figures, never pass/fail.
 *
 *   sched_energy DAY_DIR [DAY_DIR...]   (bench/sched_energy.sh unpacks them) */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "scheduler.h"

#define STEPS 288 /* 5-minute samples per day */
#define N_HOSTS 800
#define MAX_POLICIES 8

static const double g4[11] = {86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117};
static const double g5[11] = {93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135};
static const double vm_mips[4] = {2500, 2000, 1000, 500};
static const int vm_ram[4] = {870, 1740, 1740, 613};

struct vm {
    unsigned char util[STEPS]; /* percent */
    int type;
};

struct policy {
    const char *name;
    double ram, cpu, energy; /* multipliers */
    bool consolidate;
};

static const struct policy policies[] = {
    {"spread (ram 1, cpu 1)", 1, 1, 0, true},
    {"pack (ram -1)", -1, 0, 0, true},
    {"energy (defaults: ram 1, cpu 1, energy 3)", 1, 1, 3, true},
    {"energy, no consolidation term", 1, 1, 3, false},
};
#define N_POL (sizeof(policies) / sizeof(policies[0]))

struct outcome {
    double kwh;
    int active_hosts;
    double overload; /* share of active host time with demand over capacity */
    int unplaced;
};

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* @v sorted: the middle value, or the mean of the two middle ones */
static double
median(const double *v, int n)
{
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct vm *
load_day(const char *dir, int *n_out)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return NULL;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            names = xrealloc(names, (size_t)cap * sizeof(*names));
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(*names), cmp_str); /* C locale order */
    struct vm *vms = xcalloc((size_t)n, sizeof(*vms));
    int per_type = (n + 3) / 4; /* contiguous blocks, as the published runs */
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, names[i]);
        FILE *f = fopen(path, "r");
        int v = 0;
        for (int t = 0; t < STEPS; t++) {
            if (!f || fscanf(f, "%d", &v) != 1)
                v = 0;
            vms[i].util[t] = (unsigned char)(v < 0 ? 0 : v > 100 ? 100 : v);
        }
        if (f)
            fclose(f);
        vms[i].type = i / per_type;
        free(names[i]);
    }
    free(names);
    *n_out = n;
    return vms;
}

static void
simulate(const struct vm *vms, int n_vms, const struct policy *pol, struct outcome *out)
{
    struct sched_conf conf;
    sched_conf_defaults(&conf);
    for (int w = 0; sched_weighers[w]; w++) {
        const char *name = sched_weighers[w]->name;
        conf.multipliers[w] = strcmp(name, "RAMWeigher") == 0      ? pol->ram
                              : strcmp(name, "CPUWeigher") == 0    ? pol->cpu
                              : strcmp(name, "EnergyWeigher") == 0 ? pol->energy
                                                                   : 0;
    }
    conf.energy_consolidate = pol->consolidate;
    struct sched_host *hosts = xcalloc(N_HOSTS, sizeof(*hosts));
    char names[N_HOSTS][16];
    for (int i = 0; i < N_HOSTS; i++) {
        struct sched_host *h = &hosts[i];
        snprintf(names[i], sizeof(names[i]), "host-%03d", i);
        h->host = names[i];
        h->availability_zone = (char *)"nova";
        h->vcpus = 2;
        h->memory_mb = 4096;
        h->local_gb = 1000;
        h->cpu_allocation_ratio = 4.0; /* compute_node's default */
        h->ram_allocation_ratio = 1.0;
        h->disk_allocation_ratio = 1.0;
        h->domain_types = SCHED_DOMAIN_KVM;
        energy_model_table(&h->power, i % 2 ? g5 : g4, 11);
        h->enabled = true;
        h->heartbeat_at = 1.7e9;
    }
    int *where = xcalloc((size_t)n_vms, sizeof(*where));
    struct sched_result res;
    memset(&res, 0, sizeof(res));
    struct sched_ctx ctx = {&conf, 1.7e9};
    out->unplaced = 0;
    for (int v = 0; v < n_vms; v++) {
        struct sched_spec spec = {.instance_id = "vm",
                                  .vcpus = 1,
                                  .memory_mb = vm_ram[vms[v].type],
                                  .vm_mode = SCHED_VM_HVM};
        sched_select(hosts, N_HOSTS, &spec, &ctx, &res);
        int c = sched_result_next(&res);
        if (c < 0) {
            where[v] = -1;
            out->unplaced++;
            continue;
        }
        where[v] = res.cand[c];
        sched_host_consume(&hosts[where[v]], &spec, &conf);
    }
    out->active_hosts = 0;
    for (int i = 0; i < N_HOSTS; i++)
        out->active_hosts += hosts[i].running_vms > 0;

    double joules = 0;
    long active_steps = 0, over_steps = 0;
    static double demand[N_HOSTS];
    for (int t = 0; t < STEPS; t++) {
        memset(demand, 0, sizeof(demand));
        for (int v = 0; v < n_vms; v++)
            if (where[v] >= 0)
                demand[where[v]] += vm_mips[vms[v].type] * vms[v].util[t] / 100.0;
        for (int i = 0; i < N_HOSTS; i++) {
            if (hosts[i].running_vms == 0)
                continue; /* asleep */
            double capacity = 2 * (i % 2 ? 2660.0 : 1860.0);
            double util = demand[i] / capacity;
            active_steps++;
            over_steps += util > 1;
            joules += energy_power(&hosts[i].power, util) * 300;
        }
    }
    out->kwh = joules / 3.6e6;
    out->overload = active_steps ? (double)over_steps / active_steps : 0;
    sched_result_fini(&res);
    free(where);
    free(hosts);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sched_energy DAY_DIR [DAY_DIR...]\n");
        return 2;
    }
    static double kwh[N_POL][64], over[N_POL][64], active[N_POL][64];
    int days = 0;
    printf("PlanetLab traces, 800 hosts (G4/G5), one placement per VM through the scheduler,\n"
           "no migrations; idle hosts asleep (0 W). kWh per day, active hosts, share of active\n"
           "host time with CPU demand over capacity (SLATAH-like).\n");
    for (int a = 1; a < argc && days < 64; a++) {
        int n_vms = 0;
        struct vm *vms = load_day(argv[a], &n_vms);
        if (!vms || n_vms == 0) {
            free(vms);
            continue;
        }
        const char *day = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
        for (size_t p = 0; p < N_POL; p++) {
            struct outcome o;
            simulate(vms, n_vms, &policies[p], &o);
            printf("%s %4d VMs  %-44s %7.1f kWh  %3d hosts on  overload %5.2f%%%s\n", day, n_vms,
                   policies[p].name, o.kwh, o.active_hosts, o.overload * 100,
                   o.unplaced ? "  (some VMs found no host)" : "");
            kwh[p][days] = o.kwh;
            over[p][days] = o.overload;
            active[p][days] = o.active_hosts;
        }
        days++;
        free(vms);
    }
    if (days == 0)
        return 1;
    printf("median over %d day%s:\n", days, days == 1 ? "" : "s");
    for (size_t p = 0; p < N_POL; p++) {
        qsort(kwh[p], (size_t)days, sizeof(double), cmp_double);
        qsort(over[p], (size_t)days, sizeof(double), cmp_double);
        qsort(active[p], (size_t)days, sizeof(double), cmp_double);
        printf("  %-44s %7.1f kWh  %5.0f hosts on  overload %5.2f%%\n", policies[p].name,
               median(kwh[p], days), median(active[p], days), median(over[p], days) * 100);
    }
    return 0;
}
