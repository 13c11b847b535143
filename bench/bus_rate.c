/* Bus throughput and latency on a real broker: confirmed casts per second,
 * consumed (acked) messages per second, and call round-trip p50/p99.
 *   bus_rate URL [CASTS [CALLS]]      (bench/bus_rate.sh starts a private broker)
 * Prints figures; never fails on a timing. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "json.h"
#include "log.h"

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum bus_verdict
count(struct bus *bus, const struct bus_msg *msg, void *opaque)
{
    (void)bus;
    (void)msg;
    (*(int *)opaque)++;
    return BUS_ACK;
}

struct server {
    struct bus *bus;
    atomic_bool quit;
};

static enum bus_verdict
echo(struct bus *bus, const struct bus_msg *msg, void *opaque)
{
    (void)opaque;
    struct err err = ERR_INIT;
    bus_reply(bus, msg, msg->args, &err);
    return BUS_ACK;
}

static void *
server_main(void *opaque)
{
    struct server *srv = opaque;
    struct err err = ERR_INIT;
    while (!atomic_load(&srv->quit))
        bus_run(srv->bus, 100, &err);
    return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL [CASTS [CALLS]]\n", argv[0]);
        return 2;
    }
    const char *url = argv[1];
    int casts = argc > 2 ? atoi(argv[2]) : 2000;
    int calls = argc > 3 ? atoi(argv[3]) : 1000;
    if (casts < 1 || calls < 1) {
        fprintf(stderr, "CASTS and CALLS must be positive\n");
        return 2;
    }
    log_init("bus_rate", LOG_LEVEL_WARN, NULL);
    struct err err = ERR_INIT;
    struct bus *pub = bus_open(url, NULL, &err), *sub = NULL;
    struct server srv = {0};
    if (!pub || !(sub = bus_open(url, NULL, &err)) || !(srv.bus = bus_open(url, NULL, &err))) {
        fprintf(stderr, "bus_rate: %s\n", err.msg);
        return 1;
    }

    /* Confirmed, persistent casts, one at a time (as the API sends them). */
    json_t *args = json_pack("{s:s, s:i}", "instance", "0b6c4a52-7d1e-4c39-9d3e-3a2f1d6c8e10",
                             "flavor_ram_mb", 2048);
    double t0 = now_s();
    int sent = 0;
    for (int i = 0; i < casts; i++)
        if (bus_cast(pub, "bench.rate", "build_instance", args, &err) == 0)
            sent++;
    double cast_s = now_s() - t0;
    printf("casts:    %d confirmed in %.2f s = %.0f casts/s (%.2f ms each)\n", sent, cast_s,
           sent / cast_s, cast_s * 1000 / sent);

    int got = 0;
    bus_consume(sub, "bench.rate", count, &got, &err);
    t0 = now_s();
    while (got < sent && now_s() - t0 < 60)
        bus_run(sub, 100, &err);
    double drain_s = now_s() - t0;
    printf("consumed: %d acked in %.2f s = %.0f msgs/s\n", got, drain_s, got / drain_s);

    bus_consume(srv.bus, "bench.echo", echo, NULL, &err);
    pthread_t th;
    pthread_create(&th, NULL, server_main, &srv);
    double *lat = calloc((size_t)calls, sizeof(*lat));
    int ok = 0;
    for (int i = 0; i < calls; i++) {
        json_t *reply = NULL;
        double c0 = now_s();
        if (bus_call(pub, "bench.echo", "echo", args, 5000, &reply, &err) == 0)
            lat[ok++] = (now_s() - c0) * 1000;
        json_decref(reply);
    }
    atomic_store(&srv.quit, true);
    pthread_join(th, NULL);
    if (ok) {
        qsort(lat, (size_t)ok, sizeof(*lat), cmp_double);
        printf("calls:    %d round trips: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", ok, lat[ok / 2],
               lat[(int)(ok * 0.99)], lat[ok - 1]);
    } else {
        printf("calls:    none answered: %s\n", err.msg);
    }
    free(lat);
    json_decref(args);
    bus_close(pub);
    bus_close(sub);
    bus_close(srv.bus);
    return 0;
}
