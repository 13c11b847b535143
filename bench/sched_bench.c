/* Scheduler benchmark: decisions per second and per-decision latency with
 * simulated hosts. Prints figures, never pass/fail.
 *
 *   sched_bench [--hosts N[,N...]] [--decisions K] [--pg CONNINFO]
 *
 * 1. pure: filter + weigh + pick over N in-memory hosts (every filter, every
 *    weigher, energy included), then the claim recorded in the cache, as the
 *    daemon does between refreshes.
 * 2. full (with --pg, a migrated, empty database: bench/sched_bench.sh): N
 *    compute_node rows and K instance rows, then sched_service_build() per
 *    instance: load the instance, refresh the host cache when older than
 *    host_refresh_ms (1000), filter and weigh, the claim transaction, and the
 *    build_instance message built for the cast (handed to a counter instead
 *    of a broker, so the figure is the scheduler's and PostgreSQL's). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "id.h"
#include "log.h"
#include "mem.h"
#include "scheduler.h"
#include "service.h"

static const double g4[11] = {86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117};
static const double g5[11] = {93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135};

static const struct {
    int vcpus, memory_mb, disk_gb;
} flavors[] = {{1, 512, 1}, {1, 2048, 20}, {2, 4096, 40}, {4, 8192, 80}, {8, 16384, 160}};

static unsigned long long rng = 88172645463325252ull;

static unsigned
rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void
report(const char *what, int n_hosts, double *lat, int n, double wall)
{
    qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
    printf("%-6s %6d hosts: %6d decisions, %9.0f decisions/s, p50 %8.1f us, p99 %8.1f us, "
           "max %8.1f us\n",
           what, n_hosts, n, n / wall, lat[n / 2] * 1e6, lat[(int)(n * 0.99)] * 1e6,
           lat[n - 1] * 1e6);
}

/* A host like those of a mid-size cloud: 16..64 CPUs, 64..512 GB, a few down
 * or disabled, three zones, a VM or jail runtime, G4/G5-like power curves. */
static void
host_make(struct sched_host *h, int i, double now)
{
    memset(h, 0, sizeof(*h));
    h->host = xasprintf("compute-%05d", i);
    static const char *zones[] = {"nova", "az2", "az3"};
    h->availability_zone = xstrdup(zones[rnd(3)]);
    h->vcpus = 16 << rnd(3);
    h->memory_mb = (int64_t)65536 << rnd(4);
    h->local_gb = 1000 << rnd(2);
    h->cpu_allocation_ratio = 4;
    h->ram_allocation_ratio = 1;
    h->disk_allocation_ratio = 1;
    h->domain_types = rnd(10) == 0 ? SCHED_DOMAIN_EXE : SCHED_DOMAIN_KVM | SCHED_DOMAIN_QEMU;
    energy_model_table(&h->power, rnd(2) ? g4 : g5, 11);
    h->enabled = rnd(50) != 0;
    h->heartbeat_at = rnd(20) == 0 ? now - 600 : now - rnd(30);
    /* some already busy */
    int vms = (int)rnd(8);
    h->running_vms = vms;
    h->vcpus_used = vms * 2;
    h->memory_mb_used = (int64_t)vms * 4096;
    h->local_gb_used = vms * 40;
    h->cpu_util = fmin(1.0, h->vcpus_used * 0.5 / h->vcpus);
}

static void
bench_pure(int n_hosts, int decisions)
{
    struct sched_conf conf;
    sched_conf_defaults(&conf);
    double now = 1.7e9;
    struct sched_host *hosts = xcalloc((size_t)n_hosts, sizeof(*hosts));
    for (int i = 0; i < n_hosts; i++)
        host_make(&hosts[i], i, now);
    struct sched_host *fresh = xcalloc((size_t)n_hosts, sizeof(*hosts));
    memcpy(fresh, hosts, (size_t)n_hosts * sizeof(*hosts));
    struct sched_result res;
    memset(&res, 0, sizeof(res));
    struct sched_ctx ctx = {&conf, now};
    double *lat = xcalloc((size_t)decisions, sizeof(*lat));
    int placed = 0;
    double t0 = now_s();
    for (int k = 0; k < decisions; k++) {
        if (k % 2000 == 0) /* a refresh: usage back to the starting point */
            memcpy(hosts, fresh, (size_t)n_hosts * sizeof(*hosts));
        unsigned f = rnd(ARRAY_SIZE(flavors));
        struct sched_spec spec = {
            .instance_id = "bench",
            .vcpus = flavors[f].vcpus,
            .memory_mb = flavors[f].memory_mb,
            .disk_gb = flavors[f].disk_gb,
            .vm_mode = rnd(10) == 0 ? SCHED_VM_EXE : SCHED_VM_XEN,
            .availability_zone = rnd(4) == 0 ? "az2" : NULL,
        };
        double a = now_s();
        sched_select(hosts, n_hosts, &spec, &ctx, &res);
        int c = sched_result_next(&res);
        if (c >= 0) {
            sched_host_consume(&hosts[res.cand[c]], &spec, &conf);
            placed++;
        }
        lat[k] = now_s() - a;
    }
    double wall = now_s() - t0;
    report("pure", n_hosts, lat, decisions, wall);
    printf("       (%d placed; %d candidates after filters in the last decision)\n", placed,
           res.n_cand);
    for (int i = 0; i < n_hosts; i++) {
        free(fresh[i].host);
        free(fresh[i].availability_zone);
    }
    sched_result_fini(&res);
    free(hosts);
    free(fresh);
    free(lat);
}

static long cast_count;

static int
cast_count_fn(void *opaque, const char *topic, const char *method, json_t *args, struct err *err)
{
    (void)opaque;
    (void)topic;
    (void)method;
    (void)err;
    cast_count += json_object_size(args) > 0;
    return 0;
}

static int
db_setup(PGconn *conn, int n_hosts, int decisions, char (*ids)[ID_UUID_LEN + 1])
{
    struct err err = ERR_INIT;
    char nh[16];
    snprintf(nh, sizeof(nh), "%d", n_hosts);
    const char *p[1] = {nh};
    if (db_cmd(conn, "TRUNCATE instance_claim, instance, compute_node CASCADE", 0, NULL, &err) <
            0 ||
        db_cmd(conn,
               "INSERT INTO compute_node (host, hypervisor_hostname, availability_zone, vcpus,"
               " memory_mb, local_gb, domain_types, idle_watts, max_watts, cpu_util,"
               " running_vms, vcpus_used, memory_mb_used, local_gb_used, last_heartbeat,"
               " enabled)"
               " SELECT 'compute-' || lpad(i::text, 5, '0'), 'compute-' || i,"
               " (ARRAY['nova','az2','az3'])[1 + i % 3], 16 << (i % 3), 65536::bigint << (i % 4),"
               " 1000 << (i % 2), CASE WHEN i % 10 = 0 THEN '{exe}'::text[]"
               " ELSE '{kvm,qemu}' END, 86 + (i % 2) * 7.7, 117 + (i % 2) * 18,"
               " least(1.0, (i % 8) * 2 * 0.5 / (16 << (i % 3))), i % 8, (i % 8) * 2,"
               " (i % 8) * 4096, (i % 8) * 40,"
               " now() - CASE WHEN i % 20 = 0 THEN interval '10 minutes' ELSE interval '1 s' END,"
               " i % 50 <> 0 FROM generate_series(1, $1::int) AS i",
               1, p, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    if (db_begin(conn, &err) < 0)
        return -1;
    for (int k = 0; k < decisions; k++) {
        id_uuid(ids[k]);
        unsigned f = rnd(ARRAY_SIZE(flavors));
        char v[8], m[16], d[16];
        snprintf(v, sizeof(v), "%d", flavors[f].vcpus);
        snprintf(m, sizeof(m), "%d", flavors[f].memory_mb);
        snprintf(d, sizeof(d), "%d", flavors[f].disk_gb);
        const char *ip[5] = {ids[k], v, m, d, rnd(10) == 0 ? "exe" : "xen"};
        if (db_cmd(conn,
                   "INSERT INTO instance (id, name, project_id, user_id, image_id, flavor_id,"
                   " vcpus, memory_mb, root_gb, vm_mode, task_state, reservation_id)"
                   " VALUES ($1, 'bench', 'p', 'u', 'img', 'f', $2, $3, $4, $5, 'scheduling',"
                   " 'r')",
                   5, ip, &err) < 0) {
            fprintf(stderr, "setup: %s\n", err.msg);
            return -1;
        }
    }
    return db_commit(conn, &err);
}

static void
bench_full(const char *conninfo, int n_hosts, int decisions)
{
    struct err err = ERR_INIT;
    struct db_pool *pool = db_pool_new(conninfo, 1, &err);
    PGconn *conn = pool ? db_pool_acquire(pool, &err) : NULL;
    if (!conn) {
        fprintf(stderr, "database: %s\n", err.msg);
        db_pool_free(pool);
        return;
    }
    char(*ids)[ID_UUID_LEN + 1] = xcalloc((size_t)decisions, sizeof(*ids));
    if (db_setup(conn, n_hosts, decisions, ids) < 0)
        goto cleanup;
    db_cmd(conn, "ANALYZE compute_node", 0, NULL, NULL);
    db_cmd(conn, "ANALYZE instance", 0, NULL, NULL);
    /* the cost of one cache refresh on its own */
    struct sched_hosts hosts;
    memset(&hosts, 0, sizeof(hosts));
    double a = now_s();
    for (int i = 0; i < 5; i++)
        sched_hosts_load(conn, &hosts, &err);
    printf("full   %6d hosts: loading compute_node into the cache takes %.2f ms\n", n_hosts,
           (now_s() - a) / 5 * 1e3);
    sched_hosts_fini(&hosts);
    db_pool_release(pool, conn);

    struct sched_conf conf;
    sched_conf_defaults(&conf);
    struct sched_service svc;
    sched_service_init(&svc, &conf, pool, NULL);
    svc.cast = cast_count_fn;
    double *lat = xcalloc((size_t)decisions, sizeof(*lat));
    cast_count = 0;
    double t0 = now_s();
    for (int k = 0; k < decisions; k++) {
        double b = now_s();
        sched_service_build(&svc, ids[k], NULL);
        lat[k] = now_s() - b;
    }
    double wall = now_s() - t0;
    report("full", n_hosts, lat, decisions, wall);
    printf("       (%ld placed and cast, %ld without a host, %ld claims lost; refresh every "
           "%d ms included)\n",
           svc.decisions, svc.no_host, svc.claims_lost, conf.host_refresh_ms);
    sched_service_fini(&svc);
    free(lat);
    conn = NULL;
cleanup:
    free(ids);
    if (conn)
        db_pool_release(pool, conn);
    db_pool_free(pool);
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"hosts", required_argument, NULL, 'n'},
        {"decisions", required_argument, NULL, 'k'},
        {"pg", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    const char *host_list = "1000,10000", *conninfo = NULL;
    int decisions = 0, opt;
    while ((opt = getopt_long(argc, argv, "n:k:p:", opts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            host_list = optarg;
            break;
        case 'k':
            decisions = atoi(optarg);
            break;
        case 'p':
            conninfo = optarg;
            break;
        default:
            fprintf(stderr,
                    "usage: sched_bench [--hosts N[,N...]] [--decisions K] [--pg CONNINFO]\n");
            return 2;
        }
    }
    /* the daemon's decision log line is part of the cost: format it, drop it */
    log_init("sched_bench", LOG_LEVEL_INFO, "/dev/null");
    _cleanup_free_ char *list = xstrdup(host_list);
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int n = atoi(tok);
        if (n <= 0)
            continue;
        int k = decisions > 0 ? decisions : (n <= 1000 ? 20000 : 4000);
        bench_pure(n, k);
        if (conninfo)
            bench_full(conninfo, n, decisions > 0 ? decisions : (n <= 1000 ? 4000 : 2000));
    }
    return 0;
}
