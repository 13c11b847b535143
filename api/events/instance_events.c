/* The consumer of the `events` queue (docs/compute-flow.md), on its own thread
 * with its own bus connection:
 * - instance_update: applied when its seq is newer than the instance's
 *   state_seq (a late or redelivered event never rolls state back); a
 *   `deleted` report finalises the delete and releases the claim in the same
 *   transaction.
 * - host_heartbeat: upserts compute_node (capacity, energy, last_heartbeat; the
 *   claimed *_used figures stay the API's), and casts delete_instance back for
 *   every instance the host reports that is deleted or not assigned to it.
 * A host is up while its last heartbeat is younger than [compute]
 * service_down_time; readers compare at query time. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "claim.h"
#include "compute.h"
#include "events.h"
#include "compute_db.h"
#include "db.h"
#include "id.h"
#include "log.h"
#include "mem.h"

struct api_events {
    struct api_server *srv;
    pthread_t thread;
    atomic_bool stop;
    struct bus *bus;
};

static bool
one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

static int
apply_update(PGconn *conn, json_t *args, struct err *err)
{
    static const char *const vm_states[] = {"building",  "active", "stopped", "paused",
                                            "suspended", "error",  "deleted", NULL};
    const char *id = json_string_value(json_object_get(args, "instance_id"));
    const char *host = json_string_value(json_object_get(args, "host"));
    const char *vm_state = json_string_value(json_object_get(args, "vm_state"));
    json_t *task = json_object_get(args, "task_state");
    json_t *seq = json_object_get(args, "seq");
    json_t *power = json_object_get(args, "power_state");
    if (!id || !id_is_uuid(id) || !host || !vm_state || !one_of(vm_state, vm_states) ||
        !json_is_integer(seq) || (task && !json_is_null(task) && !json_is_string(task)) ||
        (power && !json_is_integer(power)))
        return err_set(err, ERR_INVALID, "instance_update: malformed arguments");
    char sseq[24], spower[8];
    snprintf(sseq, sizeof(sseq), "%lld", (long long)json_integer_value(seq));
    int pw = power ? (int)json_integer_value(power) : 0;
    if (pw < 0 || pw > 7)
        pw = 0;
    snprintf(spower, sizeof(spower), "%d", pw);
    const char *task_s = json_is_string(task) ? json_string_value(task) : NULL;
    if (task_s && strlen(task_s) > 64)
        return err_set(err, ERR_INVALID, "instance_update: task_state too long");
    char *fault = NULL;
    json_t *jf = json_object_get(args, "fault");
    if (json_is_object(jf)) {
        json_t *msg = json_object_get(jf, "message");
        json_t *code = json_object_get(jf, "code");
        json_t *f =
            json_pack("{s:I,s:s}", "code", json_is_integer(code) ? json_integer_value(code) : 500,
                      "message", json_is_string(msg) ? json_string_value(msg) : "Unknown error");
        fault = json_dumps(f, JSON_COMPACT);
        json_decref(f);
    }
    const char *launched = json_string_value(json_object_get(args, "launched_at"));
    if (launched && strlen(launched) > 40)
        launched = NULL;
    const char *p[] = {id, host, vm_state, task_s, spower, sseq, fault, launched};
    int rc = -1;
    if (db_begin(conn, err) < 0)
        goto out;
    json_t *rows = db_query_json(
        conn,
        "UPDATE instance SET vm_state = $3, task_state = $4, power_state = $5::int, state_seq = "
        "$6::bigint, fault = CASE WHEN $7::jsonb IS NULL THEN fault ELSE $7::jsonb || "
        "jsonb_build_object('created', " COMPUTE_TS_SQL(
            "now()") ") END, launched_at = "
                     "coalesce(launched_at, CASE WHEN $3 = 'active' THEN coalesce($8::timestamptz, now()) END), "
                     "deleted_at = CASE WHEN $3 = 'deleted' THEN now() END, terminated_at = CASE WHEN $3 = "
                     "'deleted' THEN now() ELSE terminated_at END, updated_at = now() WHERE id = $1::uuid AND "
                     "host = $2 AND deleted_at IS NULL AND state_seq < $6::bigint RETURNING id",
        8, p, err);
    if (!rows)
        goto rollback;
    bool applied = json_array_size(rows) == 1;
    json_decref(rows);
    if (applied && strcmp(vm_state, "deleted") == 0 &&
        db_claim_release(conn, id, NULL, NULL, err) < 0)
        goto rollback;
    if (db_commit(conn, err) < 0)
        goto out;
    if (applied)
        log_info("instance %s: %s/%s power %s (from %s)", id, vm_state, task_s ? task_s : "-",
                 spower, host);
    else
        log_debug("instance %s: stale or unknown update from %s ignored", id, host);
    rc = 0;
    goto out;
rollback:
    db_rollback(conn);
out:
    free(fault);
    return rc;
}

static int
apply_heartbeat(PGconn *conn, json_t *args, json_t **casts, struct err *err)
{
    const char *host = json_string_value(json_object_get(args, "host"));
    char topic[BUS_TOPIC_MAX + 1];
    if (!host || bus_topic_compute(host, topic, sizeof(topic), err) < 0)
        return err_set(err, ERR_INVALID, "host_heartbeat: malformed host");
    json_t *v;
    static const char *const ints[] = {"vcpus", "memory_mb", "local_gb"};
    for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
        v = json_object_get(args, ints[i]);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return err_set(err, ERR_INVALID, "host_heartbeat: %s missing", ints[i]);
    }
    char *txt = json_dumps(args, JSON_COMPACT);
    const char *p[] = {txt, host};
    int rc = db_cmd(
        conn,
        "INSERT INTO compute_node AS n (host, hypervisor_hostname, hypervisor_type, "
        "hypervisor_version, host_ip, availability_zone, vcpus, memory_mb, local_gb, "
        "cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio, domain_types, "
        "cpu_util, power_watts, idle_watts, max_watts, power_source, energy_joules, started_at, "
        "last_heartbeat, updated_at) SELECT $2, coalesce(a->>'hypervisor_hostname', $2), "
        "coalesce(a->>'hypervisor_type', 'nube'), coalesce((a->>'hypervisor_version')::int, 0), "
        "coalesce(a->>'host_ip', ''), coalesce(a->>'availability_zone', 'nova'), "
        "(a->>'vcpus')::int, (a->>'memory_mb')::bigint, (a->>'local_gb')::bigint, "
        "coalesce((a->>'cpu_allocation_ratio')::float8, 4.0), "
        "coalesce((a->>'ram_allocation_ratio')::float8, 1.0), "
        "coalesce((a->>'disk_allocation_ratio')::float8, 1.0), CASE WHEN "
        "jsonb_typeof(a->'domain_types') = 'array' THEN ARRAY(SELECT "
        "jsonb_array_elements_text(a->'domain_types')) ELSE '{}' END, "
        "coalesce((a->>'cpu_util')::float8, 0), coalesce((a->>'power_watts')::float8, 0), "
        "coalesce((a->>'idle_watts')::float8, 0), coalesce((a->>'max_watts')::float8, 0), CASE "
        "WHEN a->>'power_source' = 'rapl' THEN 'rapl' ELSE 'model' END, "
        "coalesce((a->>'energy_joules')::float8, 0), (a->>'started_at')::timestamptz, now(), "
        "now() FROM (SELECT $1::jsonb AS a) s ON CONFLICT (host) DO UPDATE SET "
        "hypervisor_hostname = EXCLUDED.hypervisor_hostname, hypervisor_type = "
        "EXCLUDED.hypervisor_type, hypervisor_version = EXCLUDED.hypervisor_version, host_ip = "
        "EXCLUDED.host_ip, availability_zone = EXCLUDED.availability_zone, vcpus = "
        "EXCLUDED.vcpus, memory_mb = EXCLUDED.memory_mb, local_gb = EXCLUDED.local_gb, "
        "cpu_allocation_ratio = EXCLUDED.cpu_allocation_ratio, ram_allocation_ratio = "
        "EXCLUDED.ram_allocation_ratio, disk_allocation_ratio = EXCLUDED.disk_allocation_ratio, "
        "domain_types = EXCLUDED.domain_types, cpu_util = EXCLUDED.cpu_util, power_watts = "
        "EXCLUDED.power_watts, idle_watts = EXCLUDED.idle_watts, max_watts = EXCLUDED.max_watts, "
        "power_source = EXCLUDED.power_source, energy_joules = EXCLUDED.energy_joules, "
        "started_at = EXCLUDED.started_at, last_heartbeat = now(), updated_at = now()",
        2, p, err);
    if (rc < 0) {
        free(txt);
        return err_prefix(err, "host_heartbeat from %s", host);
    }
    /* instances the host runs that it should not (deleted, or someone else's) */
    json_t *stray = db_query_json(
        conn,
        "SELECT x AS id FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof($1::jsonb->"
        "'instances') = 'array' THEN $1::jsonb->'instances' ELSE '[]' END) x WHERE x ~ "
        "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' AND NOT "
        "EXISTS (SELECT 1 FROM instance i WHERE i.id = x::uuid AND i.deleted_at IS NULL AND "
        "i.host = $2)",
        2, p, err);
    free(txt);
    if (!stray)
        return -1;
    size_t i;
    json_t *row;
    json_array_foreach (stray, i, row) {
        const char *id = json_string_value(json_object_get(row, "id"));
        log_info("instance %s: reported by %s but deleted or not assigned to it: "
                 "delete_instance",
                 id, host);
        json_array_append_new(*casts, json_pack("{s:s,s:s,s:{s:s}}", "topic", topic, "method",
                                                "delete_instance", "args", "instance_id", id));
    }
    json_decref(stray);
    return 0;
}

int
api_events_apply(PGconn *conn, const struct api_config *cfg, const char *method, json_t *args,
                 json_t **casts, struct err *err)
{
    (void)cfg;
    if (strcmp(method, "instance_update") == 0)
        return apply_update(conn, args, err);
    if (strcmp(method, "host_heartbeat") == 0)
        return apply_heartbeat(conn, args, casts, err);
    return err_set(err, ERR_INVALID, "unknown event %.64s", method);
}

static enum bus_verdict
on_event(struct bus *bus, const struct bus_msg *msg, void *opaque)
{
    struct api_events *ev = opaque;
    struct err err = ERR_INIT;
    PGconn *conn = db_pool_acquire(ev->srv->db, &err);
    if (!conn) {
        log_warn("events: %s: %s (requeued)", msg->method, err.msg);
        return BUS_REQUEUE;
    }
    json_t *casts = json_array();
    int rc = api_events_apply(conn, &ev->srv->cfg, msg->method, msg->args, &casts, &err);
    db_pool_release(ev->srv->db, conn);
    enum bus_verdict verdict = BUS_ACK;
    if (rc < 0) {
        bool transient = err.code == ERR_UNAVAILABLE || err.code == ERR_INTERNAL;
        log_warn("events: %s: %s%s", msg->method, err.msg, transient ? " (requeued)" : "");
        verdict = transient ? BUS_REQUEUE : BUS_REJECT;
    }
    size_t i;
    json_t *c;
    json_array_foreach (casts, i, c) {
        struct err cerr = ERR_INIT;
        if (bus_cast(bus, json_string_value(json_object_get(c, "topic")),
                     json_string_value(json_object_get(c, "method")), json_object_get(c, "args"),
                     &cerr) < 0)
            log_warn("events: cast to %s: %s", json_string_value(json_object_get(c, "topic")),
                     cerr.msg);
    }
    json_decref(casts);
    return verdict;
}

static void *
events_main(void *opaque)
{
    struct api_events *ev = opaque;
    bool warned = false;
    while (!atomic_load(&ev->stop)) {
        struct err err = ERR_INIT;
        if (!ev->bus) {
            /* the broker may start after us: keep trying */
            ev->bus = bus_open(ev->srv->cfg.bus_url, NULL, &err);
            if (ev->bus && bus_consume(ev->bus, BUS_TOPIC_EVENTS, on_event, ev, &err) < 0) {
                bus_close(ev->bus);
                ev->bus = NULL;
            }
            if (!ev->bus) {
                if (!warned)
                    log_warn("events: %s (retrying)", err.msg);
                warned = true;
                for (int i = 0; i < 20 && !atomic_load(&ev->stop); i++)
                    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
                continue;
            }
            log_info("events: consuming %s", BUS_TOPIC_EVENTS);
        }
        if (bus_run(ev->bus, 500, &err) < 0) {
            log_error("events: %s", err.msg);
            break;
        }
    }
    return NULL;
}

struct api_events *
api_events_start(struct api_server *srv, struct err *err)
{
    struct api_events *ev = xzalloc(sizeof(*ev));
    ev->srv = srv;
    atomic_init(&ev->stop, false);
    if (pthread_create(&ev->thread, NULL, events_main, ev) != 0) {
        free(ev);
        err_set(err, ERR_INTERNAL, "cannot start the events thread");
        return NULL;
    }
    return ev;
}

void
api_events_stop(struct api_events *ev)
{
    if (!ev)
        return;
    atomic_store(&ev->stop, true);
    pthread_join(ev->thread, NULL);
    bus_close(ev->bus);
    free(ev);
}
