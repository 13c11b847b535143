/* Host metrics and power on a fake /proc and a fake powercap sysfs: RAPL
 * package counters (wrap-around, subzones ignored, psys preferred), the
 * linear model and its energy integration, and the fallback when the
 * counters stop being readable. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "metrics.h"

static char root[256];

static void
put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    if (system(cmd) != 0)
        abort();
    *slash = '/';
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

#define NEAR(a, b) (fabs((a) - (b)) < 1e-6)

int
main(void)
{
    snprintf(root, sizeof(root), "/tmp/nube-compute-metrics.XXXXXX");
    if (!mkdtemp(root))
        return 1;
    struct err err = ERR_INIT;
    char dir[512];

    /* ---- /proc ---- */
    put("proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0\n"
                     "cpu1 50 0 50 400 0 0 0 0\nintr 1\n");
    put("proc/meminfo", "MemTotal:        8192000 kB\nMemFree:  1000 kB\n"
                        "MemAvailable:    4096000 kB\n");
    snprintf(dir, sizeof(dir), "%s/proc", root);
    struct host_cpu_sample a, b;
    CHECK_INT(host_cpu_read(dir, &a, &err), 0);
    CHECK_INT(a.total, 1000);
    CHECK_INT(a.busy, 200);
    put("proc/stat", "cpu  400 0 100 1100 100 0 0 0 0 0\ncpu0 1 1 1 1\ncpu1 1 1 1 1\n");
    CHECK_INT(host_cpu_read(dir, &b, &err), 0);
    /* +300 busy of +700 total (iowait counts as idle) */
    CHECK(NEAR(host_cpu_util(&a, &b), 300.0 / 700.0));
    CHECK(NEAR(host_cpu_util(&b, &b), 0));
    CHECK(NEAR(host_cpu_util(&b, &a), 0)); /* counters went back: no figure */
    long n = 0, total = 0, avail = 0;
    CHECK_INT(host_cpu_count(dir, &n, &err), 0);
    CHECK_INT(n, 2);
    CHECK_INT(host_mem_read(dir, &total, &avail, &err), 0);
    CHECK_INT(total, 8000);
    CHECK_INT(avail, 4000);
    put("proc/meminfo", "MemTotal: 1 kB\n");
    CHECK_INT(host_mem_read(dir, &total, &avail, &err), -1);
    long dg = 0, df = 0;
    CHECK_INT(host_disk_read(root, &dg, &df, &err), 0);
    CHECK(dg >= df);
    CHECK_INT(host_disk_read("/nonexistent/nube", &dg, &df, &err), -1);
    CHECK_INT(err.code, ERR_IO);

    /* ---- the RAPL arithmetic ---- */
    CHECK_INT(power_rapl_delta(100, 250, 1000), 150);
    CHECK_INT(power_rapl_delta(900, 50, 1000), 150); /* wrapped past max_energy_range_uj */
    CHECK_INT(power_rapl_delta(900, 50, 0), 50);     /* no range known: a reset */
    CHECK(NEAR(power_model_watts(50, 150, 0), 50));
    CHECK(NEAR(power_model_watts(50, 150, 0.25), 75));
    CHECK(NEAR(power_model_watts(50, 150, 2), 150));

    /* ---- two packages, a subzone that must not be added twice ---- */
    put("rapl/intel-rapl:0/name", "package-0\n");
    put("rapl/intel-rapl:0/energy_uj", "1000000\n");
    put("rapl/intel-rapl:0/max_energy_range_uj", "262143328850\n");
    put("rapl/intel-rapl:0:0/name", "core\n");
    put("rapl/intel-rapl:0:0/energy_uj", "5\n");
    put("rapl/intel-rapl:1/name", "package-1\n");
    put("rapl/intel-rapl:1/energy_uj", "262143000000\n");
    put("rapl/intel-rapl:1/max_energy_range_uj", "262143328850\n");
    put("rapl/dtpm/name", "dtpm\n");
    snprintf(dir, sizeof(dir), "%s/rapl", root);
    struct power_meter m;
    power_meter_init(&m, dir, 50, 150, 100.0);
    CHECK_INT(m.source, POWER_SOURCE_RAPL);
    CHECK_INT(m.nzones, 2);
    CHECK_STR(power_source_name(m.source), "rapl");
    /* 2 s later: package 0 used 60 J, package 1 wrapped and used 140 J */
    put("rapl/intel-rapl:0/energy_uj", "61000000\n");
    put("rapl/intel-rapl:1/energy_uj", "139671150\n");
    power_meter_sample(&m, 102.0, 0.9);
    CHECK(NEAR(m.energy_joules, 200.0));
    CHECK(NEAR(m.watts, 100.0));
    put("rapl/intel-rapl:0/energy_uj", "91000000\n");
    put("rapl/intel-rapl:1/energy_uj", "149671150\n");
    power_meter_sample(&m, 104.0, 0.1);
    CHECK(NEAR(m.energy_joules, 240.0));
    CHECK(NEAR(m.watts, 20.0));
    /* the counters vanish (or turn unreadable): the model takes over */
    char path[600];
    snprintf(path, sizeof(path), "%s/rapl/intel-rapl:1/energy_uj", root);
    unlink(path);
    power_meter_sample(&m, 106.0, 0.5);
    CHECK_INT(m.source, POWER_SOURCE_MODEL);
    CHECK(NEAR(m.watts, 100.0));
    CHECK(NEAR(m.energy_joules, 240.0 + 200.0));
    power_meter_free(&m);

    /* ---- psys covers the platform: used alone ---- */
    put("rapl/intel-rapl:1/energy_uj", "0\n");
    put("rapl/intel-rapl:2/name", "psys\n");
    put("rapl/intel-rapl:2/energy_uj", "10\n");
    power_meter_init(&m, dir, 50, 150, 0);
    CHECK_INT(m.source, POWER_SOURCE_RAPL);
    CHECK_INT(m.nzones, 1);
    put("rapl/intel-rapl:2/energy_uj", "30000010\n");
    power_meter_sample(&m, 10.0, 0);
    CHECK(NEAR(m.watts, 3.0));
    CHECK(NEAR(m.energy_joules, 30.0));
    power_meter_free(&m);

    /* ---- no powercap at all: the model, integrated over time ---- */
    power_meter_init(&m, "/nonexistent/powercap", 60, 200, 0);
    CHECK_INT(m.source, POWER_SOURCE_MODEL);
    CHECK_STR(power_source_name(m.source), "model");
    power_meter_sample(&m, 10.0, 0.5);
    CHECK(NEAR(m.watts, 130.0));
    CHECK(NEAR(m.energy_joules, 1300.0));
    power_meter_sample(&m, 15.0, 1.0);
    CHECK(NEAR(m.watts, 200.0));
    CHECK(NEAR(m.energy_joules, 2300.0));
    power_meter_sample(&m, 14.0, 1.0); /* time never runs backwards into energy */
    CHECK(NEAR(m.energy_joules, 2300.0));
    power_meter_free(&m);

    /* energy_uj readable by root only (modern kernels): as if absent */
    if (geteuid() != 0) {
        snprintf(path, sizeof(path), "%s/rapl/intel-rapl:2/energy_uj", root);
        chmod(path, 0);
        snprintf(path, sizeof(path), "%s/rapl/intel-rapl:0/energy_uj", root);
        chmod(path, 0);
        power_meter_init(&m, dir, 1, 2, 0);
        CHECK_INT(m.source, POWER_SOURCE_MODEL);
        power_meter_free(&m);
    }

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_done();
}
