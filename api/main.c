/* cloud-api: the OpenStack-compatible API server.
 *   cloud-api [serve] --config FILE
 *   cloud-api bootstrap --config FILE --admin-password P   (or $NUBE_ADMIN_PASSWORD)
 *   cloud-api rotate-keys --config FILE [--keep N]
 *   cloud-api policy-dump --config FILE */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "events.h"
#include "daemon.h"
#include "log.h"
#include "policy.h"
#include "server.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: cloud-api [serve] --config FILE\n"
               "       cloud-api bootstrap --config FILE --admin-password PASSWORD\n"
               "       cloud-api rotate-keys --config FILE [--keep N]\n"
               "       cloud-api policy-dump --config FILE\n"
               "The admin password may also come from $NUBE_ADMIN_PASSWORD.\n");
}

static int
serve(const struct api_config *cfg)
{
    /* The compute API is always served, and its casts and the events
     * consumer need a broker: never guess one. */
    if (!cfg->bus_url[0]) {
        log_error("cloud-api: [bus] url is not set: set it to the RabbitMQ of the cloud "
                  "(amqp://user:pass@host:port/vhost)");
        return 1;
    }
    /* signals are taken by daemon_signals_wait() in this thread only */
    daemon_signals_block();

    struct api_server srv;
    struct err err = ERR_INIT;
    if (api_server_init(&srv, cfg, &err) < 0 || api_server_start(&srv, &err) < 0) {
        log_error("cloud-api: %s", err.msg);
        api_server_fini(&srv);
        return 1;
    }
    log_info("listening on %s port %ld (public URL %s, %ld workers)", cfg->listen_host, cfg->port,
             cfg->public_url, cfg->workers);
    /* the compute events consumer (instance_update, host_heartbeat) */
    struct api_events *events = api_events_start(&srv, &err);
    if (!events)
        log_error("cloud-api: compute events: %s", err.msg);
    int sig = daemon_signals_wait();
    log_info("signal %d: finishing in-flight requests, then stopping", sig);
    api_server_stop(&srv);
    api_events_stop(events);
    api_server_fini(&srv);
    log_info("stopped");
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"admin-password", required_argument, NULL, 'p'},
        {"keep", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *admin_password = getenv("NUBE_ADMIN_PASSWORD");
    long keep = 3;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:p:k:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'p':
            admin_password = optarg;
            break;
        case 'k':
            keep = strtol(optarg, NULL, 10);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    const char *cmd = optind < argc ? argv[optind++] : "serve";
    if (optind != argc || !config_path || keep < 0) {
        usage(stderr);
        return 2;
    }
    /* one-shot commands log to stderr, for the operator who runs them */
    bool serving = strcmp(cmd, "serve") == 0;
    struct config *raw = daemon_config_load("cloud-api", config_path);
    if (!raw)
        return 1;
    if (daemon_log_init("cloud-api", raw, NULL, serving) < 0) {
        config_free(raw);
        return 1;
    }
    struct err err = ERR_INIT;
    struct api_config cfg;
    int rc = 1;
    if (api_config_load(raw, &cfg, &err) < 0) {
        log_error("cloud-api: %s: %s", config_path, err.msg);
    } else if (serving) {
        rc = serve(&cfg);
    } else if (strcmp(cmd, "bootstrap") == 0) {
        if (api_bootstrap(&cfg, raw, admin_password, &err) == 0)
            rc = 0;
        else
            log_error("bootstrap: %s", err.msg);
    } else if (strcmp(cmd, "rotate-keys") == 0) {
        if (token_keys_rotate(cfg.key_dir, (int)keep, &err) == 0) {
            log_info("rotate-keys: new primary key in %s; restart cloud-api to use it",
                     cfg.key_dir);
            rc = 0;
        } else {
            log_error("rotate-keys: %s", err.msg);
        }
    } else if (strcmp(cmd, "policy-dump") == 0) {
        /* the effective policy: the defaults with [api] policy_file applied */
        if (policy_load(cfg.policy_file, &err) == 0) {
            json_t *dump = policy_dump();
            rc = json_dumpf(dump, stdout, JSON_INDENT(2)) == 0 && puts("") >= 0 ? 0 : 1;
            json_decref(dump);
        } else {
            log_error("policy-dump: %s", err.msg);
        }
    } else {
        usage(stderr);
        rc = 2;
    }
    config_free(raw);
    return rc;
}
