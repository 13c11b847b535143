/* Host capacity and usage from /proc and statvfs(2). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "metrics.h"

static FILE *
open_in(const char *dir, const char *name, struct err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "re");
    if (!f)
        err_set_errno(err, ERR_IO, errno, "opening %s", path);
    return f;
}

int
host_cpu_read(const char *proc_dir, struct host_cpu_sample *s, struct err *err)
{
    FILE *f = open_in(proc_dir, "stat", err);
    if (!f)
        return -1;
    char line[512];
    int rc = -1;
    if (fgets(line, sizeof(line), f) && strncmp(line, "cpu ", 4) == 0) {
        uint64_t v[8] = {0};
        int n = sscanf(line + 4,
                       "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                       " %" SCNu64 " %" SCNu64,
                       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
        if (n >= 4) {
            /* user nice system idle iowait irq softirq steal */
            uint64_t idle = v[3] + v[4], total = 0;
            for (int i = 0; i < 8; i++)
                total += v[i];
            s->total = total;
            s->busy = total - idle;
            rc = 0;
        }
    }
    fclose(f);
    if (rc < 0)
        err_set(err, ERR_IO, "%s/stat has no aggregate cpu line", proc_dir);
    return rc;
}

double
host_cpu_util(const struct host_cpu_sample *prev, const struct host_cpu_sample *cur)
{
    if (cur->total <= prev->total || cur->busy < prev->busy)
        return 0;
    double u = (double)(cur->busy - prev->busy) / (double)(cur->total - prev->total);
    return u < 0 ? 0 : u > 1 ? 1 : u;
}

int
host_cpu_count(const char *proc_dir, long *out, struct err *err)
{
    FILE *f = open_in(proc_dir, "stat", err);
    if (!f)
        return -1;
    char line[512];
    long n = 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9')
            n++;
    fclose(f);
    if (n == 0)
        return err_set(err, ERR_IO, "%s/stat lists no cpuN line", proc_dir);
    *out = n;
    return 0;
}

int
host_mem_read(const char *proc_dir, long *total_mb, long *avail_mb, struct err *err)
{
    FILE *f = open_in(proc_dir, "meminfo", err);
    if (!f)
        return -1;
    char line[256];
    long long total = -1, avail = -1, v;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "MemTotal: %lld kB", &v) == 1)
            total = v;
        else if (sscanf(line, "MemAvailable: %lld kB", &v) == 1)
            avail = v;
    }
    fclose(f);
    if (total < 0 || avail < 0)
        return err_set(err, ERR_IO, "%s/meminfo lacks MemTotal or MemAvailable", proc_dir);
    *total_mb = (long)(total / 1024);
    *avail_mb = (long)(avail / 1024);
    return 0;
}

int
host_disk_read(const char *dir, long *total_gb, long *free_gb, struct err *err)
{
    struct statvfs st;
    if (statvfs(dir, &st) < 0)
        return err_set_errno(err, ERR_IO, errno, "statvfs %s", dir);
    unsigned long long gib = 1ULL << 30;
    *total_gb = (long)((unsigned long long)st.f_blocks * st.f_frsize / gib);
    *free_gb = (long)((unsigned long long)st.f_bavail * st.f_frsize / gib);
    return 0;
}
