/* cloud-scheduler: places instances on compute hosts.
 *   cloud-scheduler --config FILE
 * Consumes the `scheduler` topic (build_instance, build_failed), claims
 * resources in PostgreSQL and casts build_instance to compute.<host>.
 * SIGTERM / SIGINT: finish the message in hand, then stop. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "service.h"

static volatile sig_atomic_t stop_signal;

static void
usage(FILE *f)
{
    fprintf(f, "usage: cloud-scheduler --config FILE\n"
               "  [database] connection  libpq connection string\n"
               "  [bus] url              amqp://user:pass@host:port/vhost\n"
               "  [scheduler] ...        see scheduler/README.md\n"
               "  [log] level, file\n");
}

static int
run(const struct config *raw, const char *config_path)
{
    struct err err = ERR_INIT;
    struct sched_conf conf;
    if (sched_conf_load(&conf, raw, &err) < 0) {
        log_error("%s: %s", config_path, err.msg);
        return 1;
    }
    const char *conninfo = config_get(raw, "database", "connection", NULL);
    if (!conninfo) {
        log_error("%s: [database] connection is missing", config_path);
        return 1;
    }
    struct db_pool *pool = db_pool_new(conninfo, 1, &err);
    if (!pool) {
        log_error("database: %s", err.msg);
        return 1;
    }
    struct bus *bus = bus_open_config(raw, &err);
    if (!bus) {
        log_error("bus: %s", err.msg);
        db_pool_free(pool);
        return 1;
    }
    struct sched_service svc;
    sched_service_init(&svc, &conf, pool, bus);
    svc.stop = &stop_signal;
    int rc = 1;
    if (bus_consume(bus, BUS_TOPIC_SCHEDULER, sched_service_handle, &svc, &err) < 0) {
        log_error("bus: consuming %s: %s", BUS_TOPIC_SCHEDULER, err.msg);
        goto cleanup;
    }
    char filters[512] = "";
    for (int i = 0; i < conf.n_filters; i++) {
        size_t len = strlen(filters);
        snprintf(filters + len, sizeof(filters) - len, "%s%s", i ? "," : "", conf.filters[i]->name);
    }
    log_info("consuming %s; filters %s; multipliers ram %.2f cpu %.2f energy %.2f "
             "soft-affinity %.2f; max_attempts %d, host_refresh_ms %d, retry_wait_s %d, "
             "energy_consolidate %s",
             BUS_TOPIC_SCHEDULER, filters, conf.multipliers[0], conf.multipliers[1],
             conf.multipliers[2], conf.multipliers[3], conf.max_attempts, conf.host_refresh_ms,
             conf.retry_wait_s, conf.energy_consolidate ? "on" : "off");
    while (!stop_signal) {
        if (bus_run(bus, 250, &err) < 0) {
            log_error("bus: %s", err.msg);
            goto cleanup;
        }
    }
    log_info("signal %d: stopping (%ld placed, %ld claims lost, %ld without a host, %ld "
             "retries, %ld re-casts)",
             (int)stop_signal, svc.decisions, svc.claims_lost, svc.no_host, svc.retries,
             svc.recasts);
    rc = 0;
cleanup:
    sched_service_fini(&svc);
    bus_close(bus);
    db_pool_free(pool);
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !config_path) {
        usage(stderr);
        return 2;
    }
    struct config *raw = daemon_config_load("cloud-scheduler", config_path);
    if (!raw)
        return 1;
    if (daemon_log_init("cloud-scheduler", raw, NULL, true) < 0) {
        config_free(raw);
        return 1;
    }
    daemon_signals_catch(&stop_signal);
    int rc = run(raw, config_path);
    config_free(raw);
    return rc;
}
