/* cloud-compute: one per host. Consumes compute.<host>, runs instance
 * operations through libvirt, and sends heartbeats and instance events to
 * `events` (docs/compute-flow.md). Never connects to PostgreSQL.
 *
 *   cloud-compute --config FILE [--host NAME]
 *
 * SIGTERM/SIGINT stop the agent after the current message; guests keep
 * running (they belong to the hypervisor, not to the agent). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "bus.h"
#include "daemon.h"
#include "log.h"

static volatile sig_atomic_t stopping;

static int
emit_bus(void *opaque, const char *topic, const char *method, json_t *args, struct err *err)
{
    return bus_cast(opaque, topic, method, args, err);
}

static enum bus_verdict
on_message(struct bus *bus, const struct bus_msg *msg, void *opaque)
{
    struct agent *a = opaque;
    json_t *reply = NULL;
    struct err err = ERR_INIT;
    bool call = agent_method_is_call(msg->method);
    if (call && !msg->reply_to) {
        log_warn("%s sent as a cast: it is a call; dropped", msg->method);
        return BUS_REJECT;
    }
    enum agent_result r = agent_dispatch(a, msg->method, msg->args, &reply, &err);
    if (call) {
        struct err e = ERR_INIT;
        int rc = reply ? bus_reply(bus, msg, reply, &e)
                       : bus_reply_error(
                             bus, msg,
                             err.code ? &err : &(struct err){ERR_INTERNAL, 0, "no answer"}, &e);
        json_decref(reply);
        if (rc < 0)
            log_warn("%s: reply not sent: %s", msg->method, e.msg);
        return BUS_ACK; /* a call nobody can answer any more is not retried */
    }
    json_decref(reply);
    switch (r) {
    case AGENT_DONE:
        return BUS_ACK;
    case AGENT_RETRY:
        log_warn("%s: will be retried: %s", msg->method, err.msg);
        return BUS_REQUEUE;
    case AGENT_BAD:
    default:
        log_error("%s: rejected: %s", msg->method, err.msg);
        return BUS_REJECT;
    }
}

static double
mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: cloud-compute --config FILE [--host NAME] [--log-level LEVEL]\n");
}

int
main(int argc, char **argv)
{
    const char *config_path = NULL, *host = NULL, *level_arg = NULL;
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"host", required_argument, NULL, 'H'},
                                         {"log-level", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:H:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'H':
            host = optarg;
            break;
        case 'l':
            level_arg = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!config_path || optind != argc) {
        usage(stderr);
        return 2;
    }
    struct config *cfg = daemon_config_load("cloud-compute", config_path);
    if (!cfg)
        return 1;
    if (host)
        config_set(cfg, "compute", "host", host);
    if (daemon_log_init("cloud-compute", cfg, level_arg, true) < 0) {
        config_free(cfg);
        return 1;
    }
    struct err err = ERR_INIT;
    struct compute_config cc;
    if (compute_config_load(&cc, cfg, &err) < 0) {
        log_error("%s", err.msg);
        config_free(cfg);
        return 1;
    }
    daemon_signals_catch(&stopping);

    int rc = 1;
    struct agent a;
    struct bus *bus = bus_open_config(cfg, &err);
    if (!bus) {
        log_error("bus: %s", err.msg);
        compute_config_free(&cc);
        config_free(cfg);
        return 1;
    }
    if (agent_init(&a, &cc, emit_bus, bus, &err) < 0) {
        log_error("%s", err.msg);
        goto cleanup;
    }
    agent_tombstones_prune(&a, 7 * 86400);
    if (agent_records_load(&a, &err) < 0) {
        log_error("%s", err.msg);
        goto cleanup;
    }
    /* Reconcile before taking new work: the cloud hears every state first. */
    if (agent_sync(&a, true, &err) < 0)
        log_warn("reconcile: %s", err.msg);
    err_clear(&err);
    if (agent_heartbeat_send(&a, &err) < 0)
        log_warn("heartbeat: %s", err.msg);
    char topic[BUS_TOPIC_MAX + 1];
    err_clear(&err);
    if (bus_topic_compute(a.cfg.host, topic, sizeof(topic), &err) < 0 ||
        bus_consume(bus, topic, on_message, &a, &err) < 0) {
        log_error("%s", err.msg);
        goto cleanup;
    }
    log_info("host %s: consuming %s", a.cfg.host, topic);
    while (!stopping) {
        double left = a.next_heartbeat - mono_now();
        if (left <= 0) {
            err_clear(&err);
            if (agent_sync(&a, false, &err) < 0)
                log_warn("sync: %s", err.msg);
            err_clear(&err);
            if (agent_heartbeat_send(&a, &err) < 0) /* sets the next one */
                log_warn("heartbeat: %s", err.msg);
            continue;
        }
        int ms = left > 0.5 ? 500 : (int)(left * 1000) + 1;
        if (bus_run(bus, ms, &err) < 0) {
            log_error("%s", err.msg);
            goto cleanup;
        }
    }
    log_info("host %s: stopping (guests keep running)", a.cfg.host);
    rc = 0;
cleanup:
    agent_fini(&a);
    bus_close(bus);
    config_free(cfg);
    return rc;
}
