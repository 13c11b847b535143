/* The bus against a real RabbitMQ, started by run.sh in a temporary folder:
 * NUBE_BUS_URL points at it, NUBE_BUS_STOP / NUBE_BUS_START are shell
 * commands that stop and start that same node (same data). */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "check.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "mem.h"

static const char *url;

static long long
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct bus *
open_bus(const struct bus_options *opts)
{
    struct err err = ERR_INIT;
    struct bus *bus = bus_open(url, opts, &err);
    if (!bus)
        fprintf(stderr, "bus_open: %s\n", err.msg);
    return bus;
}

/* ---- a raw librabbitmq connection, to send what the bus would never send ---- */

static amqp_connection_state_t
raw_open(void)
{
    char *copy = strdup(url);
    struct amqp_connection_info info;
    amqp_connection_state_t conn = NULL;
    if (amqp_parse_url(copy, &info) != AMQP_STATUS_OK)
        goto out;
    conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    if (amqp_socket_open(sock, info.host, info.port) != AMQP_STATUS_OK ||
        amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, info.user, info.password)
                .reply_type != AMQP_RESPONSE_NORMAL) {
        amqp_destroy_connection(conn);
        conn = NULL;
        goto out;
    }
    amqp_channel_open(conn, 1);
    amqp_confirm_select(conn, 1);
out:
    free(copy);
    return conn;
}

static void
raw_publish(amqp_connection_state_t conn, const char *routing_key, const char *body, size_t len)
{
    amqp_basic_properties_t props = {._flags = AMQP_BASIC_DELIVERY_MODE_FLAG,
                                     .delivery_mode = AMQP_DELIVERY_PERSISTENT};
    int rc = amqp_basic_publish(conn, 1, amqp_cstring_bytes(BUS_EXCHANGE),
                                amqp_cstring_bytes(routing_key), 1, 0, &props,
                                (amqp_bytes_t){.len = len, .bytes = (void *)body});
    CHECK_INT(rc, AMQP_STATUS_OK);
    /* Wait for the confirm so the message is in the queue before we go on. */
    amqp_frame_t frame;
    for (;;) {
        struct timeval tv = {5, 0};
        if (amqp_simple_wait_frame_noblock(conn, &frame, &tv) != AMQP_STATUS_OK) {
            CHECK(!"raw publish confirmed");
            return;
        }
        if (frame.frame_type == AMQP_FRAME_METHOD &&
            frame.payload.method.id == AMQP_BASIC_ACK_METHOD)
            return;
    }
}

/* Messages in @queue (passive declare), or -1. */
static long
raw_depth(amqp_connection_state_t conn, const char *queue)
{
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    return ok ? (long)ok->message_count : -1;
}

/* ---- handlers ---- */

struct seen {
    int count;
    char method[64];
    char request_id[64];
    char log_request_id[64];
    char message_id[64];
    json_int_t n;
    bool redelivered;
    int attempt;
    int attempts[16];
    const char *stop_on; /* bus_stop() when this method arrives */
    enum bus_verdict verdict;
};

static enum bus_verdict
record(struct bus *bus, const struct bus_msg *msg, void *opaque)
{
    struct seen *s = opaque;
    if (s->count < 16)
        s->attempts[s->count] = msg->attempt;
    s->count++;
    snprintf(s->method, sizeof(s->method), "%s", msg->method);
    snprintf(s->request_id, sizeof(s->request_id), "%s", msg->request_id ? msg->request_id : "");
    const char *lr = log_get_request_id();
    snprintf(s->log_request_id, sizeof(s->log_request_id), "%s", lr ? lr : "");
    snprintf(s->message_id, sizeof(s->message_id), "%s", msg->message_id);
    s->n = -1;
    json_get_int(msg->args, "n", &s->n);
    s->redelivered = msg->redelivered;
    s->attempt = msg->attempt;
    if (s->stop_on && strcmp(msg->method, s->stop_on) == 0)
        bus_stop(bus);
    return s->verdict;
}

/* Run @bus until its handler stops it or @ms pass; returns the time taken. */
static long long
run_for(struct bus *bus, int ms)
{
    struct err err = ERR_INIT;
    long long t0 = mono_ms();
    CHECK_INT(bus_run(bus, ms, &err), 0);
    return mono_ms() - t0;
}

/* ---- tests ---- */

static void
test_envelope(void)
{
    struct err err = ERR_INIT;
    const char *good = "{\"v\":1,\"method\":\"boot\",\"args\":{\"a\":1},\"request_id\":\"req-1\"}";
    json_t *env = bus_envelope_parse(good, strlen(good), 1024, &err);
    CHECK(env != NULL);
    json_decref(env);
    static const char *const bad[] = {
        "not json",
        "[1,2]",
        "{\"v\":2,\"method\":\"boot\",\"args\":{}}",
        "{\"v\":1,\"args\":{}}",
        "{\"v\":1,\"method\":\"\",\"args\":{}}",
        "{\"v\":1,\"method\":\"a b\",\"args\":{}}",
        "{\"v\":1,\"method\":\"boot\",\"args\":[]}",
        "{\"v\":1,\"method\":\"boot\"}",
        "{\"v\":1,\"method\":\"boot\",\"args\":{},\"request_id\":7}",
        "{\"v\":1,\"method\":\"boot\",\"args\":{},\"request_id\":\"has space\"}",
        "{\"v\":1,\"v\":1,\"method\":\"boot\",\"args\":{}}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err_clear(&err);
        env = bus_envelope_parse(bad[i], strlen(bad[i]), 1024, &err);
        CHECK(env == NULL);
        CHECK(err.code == ERR_INVALID);
        json_decref(env);
    }
    err_clear(&err);
    CHECK(bus_envelope_parse(good, strlen(good), 10, &err) == NULL);
    CHECK_INT(err.code, ERR_TOO_LARGE);

    char topic[BUS_TOPIC_MAX + 1];
    CHECK_INT(bus_topic_compute("node-1.example", topic, sizeof(topic), &err), 0);
    CHECK_STR(topic, "compute.node-1.example");
    CHECK_INT(bus_topic_compute("bad#host", topic, sizeof(topic), &err), -1);
    CHECK_INT(bus_topic_compute("", topic, sizeof(topic), &err), -1);
    CHECK(bus_topic_valid("scheduler"));
    CHECK(!bus_topic_valid("compute.*"));
    CHECK(!bus_topic_valid(BUS_DEAD_QUEUE));
    CHECK(!bus_topic_valid("amq.gen-x"));
}

static void
test_open_errors(void)
{
    struct err err = ERR_INIT;
    CHECK(bus_open("http://nope", NULL, &err) == NULL);
    CHECK_INT(err.code, ERR_INVALID);
    err_clear(&err);
    /* Port 1 on loopback: nothing listens there. */
    CHECK(bus_open("amqp://guest:guest@127.0.0.1:1/", NULL, &err) == NULL);
    CHECK_INT(err.code, ERR_UNAVAILABLE);
    CHECK(strstr(err.msg, "127.0.0.1:1") != NULL);
    CHECK(strstr(err.msg, "guest:guest") == NULL); /* the password is not shown */
    err_clear(&err);
    /* From a config: the [bus] section. */
    struct config *cfg = config_new();
    config_set(cfg, "bus", "url", url);
    config_set(cfg, "bus", "publish_timeout_ms", "3000");
    err_clear(&err);
    struct bus *bus = bus_open_config(cfg, &err);
    CHECK(bus != NULL);
    CHECK_INT(bus_cast(bus, "test.config", "hello", NULL, &err), 0);
    bus_close(bus);
    config_set(cfg, "bus", "prefetch", "many");
    CHECK(bus_open_config(cfg, &err) == NULL);
    CHECK_INT(err.code, ERR_INVALID);
    CHECK(strstr(err.msg, "prefetch") != NULL);
    config_free(cfg);
    /* no url: refused, never a guessed broker */
    cfg = config_new();
    err_clear(&err);
    CHECK(bus_open_config(cfg, &err) == NULL);
    CHECK_INT(err.code, ERR_INVALID);
    CHECK(strstr(err.msg, "[bus] url is not set") != NULL);
    config_free(cfg);

    char bad_login[256];
    const char *at = strrchr(url, '@');
    CHECK(at != NULL);
    if (at) {
        snprintf(bad_login, sizeof(bad_login), "amqp://nobody:wrong%s", at);
        CHECK(bus_open(bad_login, NULL, &err) == NULL);
        CHECK_INT(err.code, ERR_UNAVAILABLE);
        CHECK(strstr(err.msg, "logging in") != NULL);
        CHECK(strstr(err.msg, "ACCESS_REFUSED") != NULL);
    }
}

static void
test_cast(void)
{
    struct err err = ERR_INIT;
    struct bus *pub = open_bus(NULL), *sub = open_bus(NULL);
    CHECK(pub && sub);
    if (!pub || !sub)
        goto cleanup;
    struct seen s = {.stop_on = "ping", .verdict = BUS_ACK};
    CHECK_INT(bus_consume(sub, "test.cast", record, &s, &err), 0);
    CHECK_INT(bus_consume(sub, "test.cast", record, &s, &err), -1);
    CHECK_INT(err.code, ERR_CONFLICT);

    log_set_request_id("req-cast-1");
    json_t *args = json_pack("{s:i}", "n", 42);
    err_clear(&err);
    CHECK_INT(bus_cast(pub, "test.cast", "ping", args, &err), 0);
    json_decref(args);
    log_set_request_id(NULL);

    CHECK(run_for(sub, 5000) < 5000);
    CHECK_INT(s.count, 1);
    CHECK_STR(s.method, "ping");
    CHECK_INT(s.n, 42);
    CHECK_STR(s.request_id, "req-cast-1");
    CHECK_STR(s.log_request_id, "req-cast-1"); /* set while the handler runs */
    CHECK(log_get_request_id() == NULL || *log_get_request_id() == '\0'); /* and restored */
    CHECK(strlen(s.message_id) == 36);
    CHECK(!s.redelivered);
    CHECK_INT(s.attempt, 1);

    /* Acked: never delivered again. */
    s.stop_on = NULL;
    run_for(sub, 700);
    CHECK_INT(s.count, 1);

    /* Bad input is refused before it reaches the broker. */
    CHECK_INT(bus_cast(pub, "compute.#", "ping", NULL, &err), -1);
    CHECK_INT(err.code, ERR_INVALID);
    CHECK_INT(bus_cast(pub, "test.cast", "no spaces", NULL, &err), -1);
    CHECK_INT(err.code, ERR_INVALID);
cleanup:
    bus_close(pub);
    bus_close(sub);
}

/* ---- call / reply: the server runs on its own thread with its own bus ---- */

struct server {
    struct bus *bus;
    atomic_bool quit;
    atomic_int served;
};

static enum bus_verdict
serve(struct bus *bus, const struct bus_msg *msg, void *opaque)
{
    struct server *srv = opaque;
    struct err err = ERR_INIT;
    atomic_fetch_add(&srv->served, 1);
    if (strcmp(msg->method, "add") == 0) {
        json_int_t a = 0, b = 0;
        json_get_int(msg->args, "a", &a);
        json_get_int(msg->args, "b", &b);
        json_t *res = json_pack("{s:I, s:s}", "sum", (json_int_t)(a + b), "request_id",
                                log_get_request_id() ? log_get_request_id() : "");
        if (bus_reply(bus, msg, res, &err) < 0)
            fprintf(stderr, "bus_reply: %s\n", err.msg);
        json_decref(res);
    } else if (strcmp(msg->method, "slow") == 0) {
        usleep(800 * 1000);
        json_t *res = json_pack("{s:s}", "late", "yes");
        bus_reply(bus, msg, res, &err);
        json_decref(res);
    } else if (strcmp(msg->method, "fail") == 0) {
        struct err e = ERR_INIT;
        err_set(&e, ERR_NOT_FOUND, "instance %s not found", json_get_str(msg->args, "id"));
        bus_reply_error(bus, msg, &e, &err);
    } else if (strcmp(msg->method, "cast_reply") == 0) {
        /* Replying to a cast is a clear error, not a crash. */
        json_t *res = json_object();
        if (bus_reply(bus, msg, res, &err) == 0 || err.code != ERR_INVALID)
            fprintf(stderr, "bus_reply to a cast did not fail\n");
        json_decref(res);
    }
    return BUS_ACK;
}

static void *
server_main(void *opaque)
{
    struct server *srv = opaque;
    struct err err = ERR_INIT;
    while (!atomic_load(&srv->quit))
        bus_run(srv->bus, 200, &err);
    return NULL;
}

static void
test_call(void)
{
    struct err err = ERR_INIT;
    struct bus_options small = {.max_message_bytes = 4096};
    struct server srv = {.bus = open_bus(&small)};
    struct bus *cli = open_bus(NULL);
    CHECK(srv.bus && cli);
    if (!srv.bus || !cli)
        goto cleanup;
    CHECK_INT(bus_consume(srv.bus, "test.rpc", serve, &srv, &err), 0);
    pthread_t th;
    pthread_create(&th, NULL, server_main, &srv);

    json_t *reply = NULL;
    log_set_request_id("req-call-1");
    json_t *args = json_pack("{s:i, s:i}", "a", 2, "b", 40);
    CHECK_INT(bus_call(cli, "test.rpc", "add", args, 5000, &reply, &err), 0);
    json_int_t sum = 0;
    CHECK(reply && json_get_int(reply, "sum", &sum) && sum == 42);
    CHECK_STR(json_get_str(reply, "request_id"), "req-call-1");
    json_decref(reply);
    log_set_request_id(NULL);

    /* A reply that comes after the caller gave up is not taken for the
     * answer to the next call: correlation ids keep them apart. */
    err_clear(&err);
    long long t0 = mono_ms();
    CHECK_INT(bus_call(cli, "test.rpc", "slow", NULL, 300, &reply, &err), -1);
    CHECK_INT(err.code, ERR_TIMEOUT);
    CHECK(mono_ms() - t0 >= 300);
    CHECK(reply == NULL);
    usleep(700 * 1000); /* the late reply arrives in the reply queue meanwhile */
    json_decref(args);
    args = json_pack("{s:i, s:i}", "a", 1, "b", 1);
    err_clear(&err);
    CHECK_INT(bus_call(cli, "test.rpc", "add", args, 5000, &reply, &err), 0);
    CHECK(reply && json_get_int(reply, "sum", &sum) && sum == 2);
    CHECK(json_object_get(reply, "late") == NULL);
    json_decref(reply);
    json_decref(args);

    /* A remote error keeps its code and message. */
    args = json_pack("{s:s}", "id", "abc");
    err_clear(&err);
    CHECK_INT(bus_call(cli, "test.rpc", "fail", args, 5000, &reply, &err), -1);
    CHECK_INT(err.code, ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "instance abc not found") != NULL);
    json_decref(args);

    /* A request the server cannot accept (over its 4 KiB bound) is answered
     * with an error at once instead of leaving the caller to time out. */
    char pad[8192];
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    args = json_pack("{s:s}", "pad", pad);
    err_clear(&err);
    t0 = mono_ms();
    CHECK_INT(bus_call(cli, "test.rpc", "add", args, 5000, &reply, &err), -1);
    CHECK_INT(err.code, ERR_TOO_LARGE);
    CHECK(strstr(err.msg, "malformed request on test.rpc") != NULL);
    CHECK(mono_ms() - t0 < 4000);
    json_decref(args);

    /* Many round trips in a row on one connection. */
    int ok = 0;
    for (int i = 0; i < 50; i++) {
        args = json_pack("{s:i, s:i}", "a", i, "b", 1);
        if (bus_call(cli, "test.rpc", "add", args, 5000, &reply, &err) == 0 &&
            json_get_int(reply, "sum", &sum) && sum == i + 1)
            ok++;
        json_decref(reply);
        json_decref(args);
        if (ok <= i) {
            fprintf(stderr, "call %d: %s\n", i, err.msg);
            break;
        }
    }
    CHECK_INT(ok, 50);

    err_clear(&err);
    CHECK_INT(bus_cast(cli, "test.rpc", "cast_reply", NULL, &err), 0);
    usleep(300 * 1000);

    atomic_store(&srv.quit, true);
    pthread_join(th, NULL);
    CHECK(atomic_load(&srv.served) >= 55);
cleanup:
    bus_close(cli);
    bus_close(srv.bus);
}

/* Several threads cast at once, each on its own bus_thread_get() bus. */
#define THREADS 4
#define CASTS_PER_THREAD 25

static atomic_int thread_cast_ok;

static void *
caster_main(void *opaque)
{
    (void)opaque;
    struct err err = ERR_INIT;
    struct bus *bus = bus_thread_get(url, NULL, &err);
    if (bus && bus_thread_get(url, NULL, &err) == bus) /* the same one again */
        for (int i = 0; i < CASTS_PER_THREAD; i++)
            if (bus_cast(bus, "test.threads", "hit", NULL, &err) == 0)
                atomic_fetch_add(&thread_cast_ok, 1);
    return NULL; /* the thread's bus is closed as it exits */
}

static void
test_threads(void)
{
    struct err err = ERR_INIT;
    struct bus *sub = open_bus(NULL);
    CHECK(sub != NULL);
    if (!sub)
        return;
    struct seen s = {.verdict = BUS_ACK};
    CHECK_INT(bus_consume(sub, "test.threads", record, &s, &err), 0);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, caster_main, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(atomic_load(&thread_cast_ok), THREADS * CASTS_PER_THREAD);
    for (int i = 0; i < 50 && s.count < THREADS * CASTS_PER_THREAD; i++)
        run_for(sub, 100);
    CHECK_INT(s.count, THREADS * CASTS_PER_THREAD);
    bus_close(sub);
}

static void
test_dead_consumer(void)
{
    struct err err = ERR_INIT;
    struct bus *cli = open_bus(NULL);
    CHECK(cli != NULL);
    if (!cli)
        return;
    json_t *reply = NULL;
    long long t0 = mono_ms();
    CHECK_INT(bus_call(cli, "test.nobody", "select_destinations", NULL, 500, &reply, &err), -1);
    long long took = mono_ms() - t0;
    CHECK_INT(err.code, ERR_TIMEOUT);
    CHECK(strstr(err.msg, "test.nobody") != NULL);
    CHECK(strstr(err.msg, "select_destinations") != NULL);
    CHECK(strstr(err.msg, "timed out") != NULL);
    CHECK(took >= 500 && took < 3000);
    printf("dead consumer: %s (%lld ms)\n", err.msg, took);
    bus_close(cli);
}

static void
test_requeue_bounded(void)
{
    struct err err = ERR_INIT;
    struct bus_options o = {.max_attempts = 3};
    struct bus *pub = open_bus(NULL), *sub = open_bus(&o);
    CHECK(pub && sub);
    if (!pub || !sub)
        goto cleanup;
    struct seen s = {.verdict = BUS_REQUEUE};
    CHECK_INT(bus_consume(sub, "test.retry", record, &s, &err), 0);
    CHECK_INT(bus_cast(pub, "test.retry", "flaky", NULL, &err), 0);
    run_for(sub, 1500);
    CHECK_INT(s.count, 3);
    CHECK_INT(s.attempts[0], 1);
    CHECK_INT(s.attempts[1], 2);
    CHECK_INT(s.attempts[2], 3);
cleanup:
    bus_close(pub);
    bus_close(sub);
}

static void
test_malformed(void)
{
    struct err err = ERR_INIT;
    struct bus_options o = {.max_message_bytes = 4096};
    struct bus *sub = open_bus(&o);
    amqp_connection_state_t raw = raw_open();
    CHECK(sub && raw);
    if (!sub || !raw)
        goto cleanup;
    struct seen s = {.stop_on = "ok", .verdict = BUS_ACK};
    CHECK_INT(bus_consume(sub, "test.malformed", record, &s, &err), 0); /* declares the queue */
    long dead_before = raw_depth(raw, BUS_DEAD_QUEUE);
    CHECK(dead_before >= 0);

    static const char *const bad[] = {
        "this is not JSON",
        "{\"v\":2,\"method\":\"boot\",\"args\":{}}",
        "{\"v\":1,\"method\":\"boot\",\"args\":[]}",
        "",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        raw_publish(raw, "test.malformed", bad[i], strlen(bad[i]));
    /* Valid JSON, valid envelope, but over the 4 KiB bound. */
    size_t big_len = 200000;
    char *big = malloc(big_len + 1);
    int n = snprintf(big, big_len, "{\"v\":1,\"method\":\"big\",\"args\":{\"pad\":\"");
    memset(big + n, 'x', big_len - (size_t)n - 3);
    memcpy(big + big_len - 3, "\"}}", 4);
    raw_publish(raw, "test.malformed", big, big_len);
    free(big);
    const char *ok = "{\"v\":1,\"method\":\"ok\",\"args\":{\"n\":7}}";
    raw_publish(raw, "test.malformed", ok, strlen(ok));

    run_for(sub, 5000);
    CHECK_INT(s.count, 1); /* only the good one reached the handler */
    CHECK_STR(s.method, "ok");
    CHECK_INT(s.n, 7);
    CHECK_STR(s.request_id, "");
    s.stop_on = NULL;
    run_for(sub, 700); /* nothing comes back */
    CHECK_INT(s.count, 1);
    CHECK_INT(raw_depth(raw, "test.malformed"), 0);
    long dead_after = raw_depth(raw, BUS_DEAD_QUEUE);
    CHECK(dead_after - dead_before >= 5); /* all five were dead-lettered */
cleanup:
    if (raw)
        amqp_destroy_connection(raw);
    bus_close(sub);
}

/* A connection the broker closed while we were idle (here: missed AMQP
 * heartbeats) is replaced by the next cast, which still succeeds. */
static void
test_idle(void)
{
    struct err err = ERR_INIT;
    struct bus_options o = {.heartbeat_s = 1};
    struct bus *pub = open_bus(&o), *sub = open_bus(NULL);
    CHECK(pub && sub);
    if (!pub || !sub)
        goto cleanup;
    struct seen s = {.stop_on = "wake", .verdict = BUS_ACK};
    CHECK_INT(bus_consume(sub, "test.idle", record, &s, &err), 0);
    sleep(4); /* the broker gives up on pub after about two heartbeats */
    CHECK_INT(bus_cast(pub, "test.idle", "wake", NULL, &err), 0);
    if (err.code)
        fprintf(stderr, "cast after idle: %s\n", err.msg);
    CHECK(run_for(sub, 5000) < 5000);
    CHECK_INT(s.count, 1);
cleanup:
    bus_close(pub);
    bus_close(sub);
}

static int
shell(const char *what, const char *cmd)
{
    long long t0 = mono_ms();
    int rc = system(cmd);
    printf("broker %s: exit %d in %lld ms\n", what, rc, mono_ms() - t0);
    return rc;
}

static void
test_restart(const char *stop_cmd, const char *start_cmd)
{
    struct err err = ERR_INIT;
    struct bus_options o = {.publish_timeout_ms = 1500, .reconnect_max_ms = 500};
    struct bus *pub = open_bus(&o), *live = open_bus(&o), *late = NULL;
    CHECK(pub && live);
    if (!pub || !live)
        goto cleanup;
    struct seen ls = {.stop_on = "after", .verdict = BUS_ACK};
    CHECK_INT(bus_consume(live, "test.live", record, &ls, &err), 0);
    run_for(live, 100);

    json_t *args = json_pack("{s:i}", "n", 99);
    CHECK_INT(bus_cast(pub, "test.durable", "durable", args, &err), 0);
    json_decref(args);

    if (shell("stop", stop_cmd) != 0) {
        CHECK(!"broker stopped");
        goto cleanup;
    }
    /* Broker down: a cast fails in bounded time with a clear error. */
    err_clear(&err);
    long long t0 = mono_ms();
    CHECK_INT(bus_cast(pub, "test.live", "while_down", NULL, &err), -1);
    CHECK_INT(err.code, ERR_UNAVAILABLE);
    CHECK(mono_ms() - t0 < 5000);
    printf("cast while down: %s\n", err.msg);
    run_for(live, 300); /* the live consumer notices and keeps retrying */

    if (shell("start", start_cmd) != 0) {
        CHECK(!"broker started");
        goto cleanup;
    }

    /* The publisher reconnects on its own. */
    err_clear(&err);
    args = json_pack("{s:i}", "n", 5);
    CHECK_INT(bus_cast(pub, "test.live", "after", args, &err), 0);
    json_decref(args);
    if (err.code)
        fprintf(stderr, "cast after restart: %s\n", err.msg);

    /* The live consumer reconnected and re-registered its consumer. */
    CHECK(run_for(live, 15000) < 15000);
    CHECK_INT(ls.count, 1);
    CHECK_STR(ls.method, "after");
    CHECK_INT(ls.n, 5);

    /* The cast made before the restart survived it. */
    late = open_bus(NULL);
    CHECK(late != NULL);
    if (!late)
        goto cleanup;
    struct seen ds = {.stop_on = "durable", .verdict = BUS_ACK};
    CHECK_INT(bus_consume(late, "test.durable", record, &ds, &err), 0);
    CHECK(run_for(late, 5000) < 5000);
    CHECK_INT(ds.count, 1);
    CHECK_STR(ds.method, "durable");
    CHECK_INT(ds.n, 99);
cleanup:
    bus_close(pub);
    bus_close(live);
    bus_close(late);
}

int
main(void)
{
    enum log_level level = LOG_LEVEL_INFO;
    if (getenv("NUBE_LOG_LEVEL"))
        log_level_parse(getenv("NUBE_LOG_LEVEL"), &level);
    log_init("test-bus", level, NULL);
    test_envelope();

    url = getenv("NUBE_BUS_URL");
    const char *stop_cmd = getenv("NUBE_BUS_STOP"), *start_cmd = getenv("NUBE_BUS_START");
    if (!url || !stop_cmd || !start_cmd)
        SKIP("NUBE_BUS_URL, NUBE_BUS_STOP and NUBE_BUS_START are not set (run tests/bus/run.sh)");

    /* NUBE_BUS_TESTS=call,cast runs only those (while debugging). */
    const char *only = getenv("NUBE_BUS_TESTS");
#define WANT(name) (!only || strstr(only, name))
    if (WANT("open"))
        test_open_errors();
    if (WANT("cast"))
        test_cast();
    if (WANT("call"))
        test_call();
    if (WANT("threads"))
        test_threads();
    if (WANT("malformed"))
        test_malformed();
    if (WANT("requeue"))
        test_requeue_bounded();
    if (WANT("dead"))
        test_dead_consumer();
    if (WANT("idle"))
        test_idle();
    if (WANT("restart"))
        test_restart(stop_cmd, start_cmd);
#undef WANT
    return check_done();
}
