/* cloud-scheduler's message handlers: build_instance from the api and
 * build_failed from agents (docs/compute-flow.md). One decision: load the
 * instance row, refresh the host cache when it is older than host_refresh_ms,
 * filter and weigh (select.c), claim the best host (claim.c; on a lost race
 * the next best), cast build_instance to compute.<host>. No host: the
 * instance goes to ERROR with a fault that says which filter removed what.
 *
 * Idempotency (delivery is at least once): a build_instance for an instance
 * that is gone, deleted or past building is acknowledged and ignored; for one
 * that already holds a host and is still 'spawning', the build_instance is
 * cast to that host again (the scheduler may have died between its claim and
 * its cast; agents ignore a build for an instance they already have). A
 * build_failed naming a host the instance no longer holds is stale and
 * ignored; one for an instance back in 'scheduling' without a host (our own
 * retry that did not finish) schedules it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "id.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "service.h"

#define SCHED_EXPLAIN_MAX 1024
#define SCHED_REASON_MAX 1024
#define SCHED_ROUNDS_MAX 6     /* reload-and-reselect rounds per decision */
#define SCHED_LOST_PER_ROUND 3 /* lost claims before the cache is reloaded */

enum inst_col {
    I_ID,
    I_NAME,
    I_VCPUS,
    I_MEMORY_MB,
    I_ROOT_GB,
    I_EPHEMERAL_GB,
    I_SWAP_MB,
    I_VM_MODE,
    I_IMAGE_ID,
    I_USER_DATA,
    I_KEY_DATA,
    I_METADATA,
    I_AZ,
    I_VM_STATE,
    I_TASK_STATE,
    I_HOST,
    I_GROUP,
    I_ATTEMPTS,
    I_TRIED,
    I_DELETED,
};

static PGresult *
instance_load(PGconn *conn, const char *id, bool for_update, struct err *err)
{
    const char *p[1] = {id};
    return db_exec(conn,
                   for_update ? "SELECT id, name, vcpus, memory_mb, root_gb, ephemeral_gb, swap_mb,"
                                " vm_mode, image_id, user_data, key_data, metadata::text,"
                                " availability_zone, vm_state, task_state, host, server_group_id,"
                                " attempts, to_json(tried_hosts)::text, deleted_at IS NOT NULL"
                                " FROM instance WHERE id = $1 FOR UPDATE"
                              : "SELECT id, name, vcpus, memory_mb, root_gb, ephemeral_gb, swap_mb,"
                                " vm_mode, image_id, user_data, key_data, metadata::text,"
                                " availability_zone, vm_state, task_state, host, server_group_id,"
                                " attempts, to_json(tried_hosts)::text, deleted_at IS NOT NULL"
                                " FROM instance WHERE id = $1",
                   1, p, err);
}

static const char *
col(const PGresult *res, enum inst_col c)
{
    return db_get(res, 0, (int)c);
}

static bool
col_is(const PGresult *res, enum inst_col c, const char *want)
{
    const char *v = col(res, c);
    return v && strcmp(v, want) == 0;
}

/* RFC 952/1123 label from the display name, as Nova's hostname sanitiser. */
static void
hostname_from(const char *name, const char *id, char *out, size_t size)
{
    size_t o = 0;
    for (const char *s = name; *s && o + 1 < size && o < 63; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch))
            out[o++] = (char)tolower(ch);
        else if ((ch == '-' || ch == ' ' || ch == '_' || ch == '.') && o > 0 && out[o - 1] != '-')
            out[o++] = '-';
    }
    while (o > 0 && out[o - 1] == '-')
        o--;
    out[o] = '\0';
    if (o == 0)
        snprintf(out, size, "server-%.8s", id);
}

static json_t *
json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The `instance` object of compute.<host> build_instance (the contract).
 * @boot holds what only the api can resolve: `image` and, for PV, `kernel`
 * and `ramdisk`; without an image the agent gets {"id": image_id}. */
static json_t *
instance_object(const PGresult *res, json_t *boot)
{
    char hostname[64];
    hostname_from(col(res, I_NAME), col(res, I_ID), hostname, sizeof(hostname));
    json_t *meta = json_loads(col(res, I_METADATA), 0, NULL);
    if (!meta)
        meta = json_object();
    json_t *image = json_get_obj(boot, "image");
    json_t *img = image ? json_incref(image) : json_pack("{s:s}", "id", col(res, I_IMAGE_ID));
    json_t *o = json_pack(
        "{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:o, s:o, s:o, s:o, s:s}", "id", col(res, I_ID),
        "name", col(res, I_NAME), "vcpus", atoi(col(res, I_VCPUS)), "memory_mb",
        atoi(col(res, I_MEMORY_MB)), "root_gb", atoi(col(res, I_ROOT_GB)), "ephemeral_gb",
        atoi(col(res, I_EPHEMERAL_GB)), "swap_mb", atoi(col(res, I_SWAP_MB)), "vm_mode",
        col(res, I_VM_MODE), "image", img, "user_data", json_str_or_null(col(res, I_USER_DATA)),
        "key_data", json_str_or_null(col(res, I_KEY_DATA)), "metadata", meta, "hostname", hostname);
    static const char *const extra[] = {"kernel", "ramdisk"};
    for (size_t i = 0; i < ARRAY_SIZE(extra); i++) {
        json_t *v = json_get_obj(boot, extra[i]);
        if (v)
            json_object_set(o, extra[i], v);
    }
    return o;
}

/* The boot objects of @src (image, kernel, ramdisk), or NULL when it has none. */
static json_t *
boot_extract(const json_t *src)
{
    static const char *const keys[] = {"image", "kernel", "ramdisk"};
    json_t *out = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        json_t *v = json_get_obj(src, keys[i]);
        if (!v)
            continue;
        if (!out)
            out = json_object();
        json_object_set(out, keys[i], v);
    }
    return out;
}

/* Remember the boot objects of a build for its retries (build_failed that
 * does not echo them); a ring of the last SCHED_BOOT_CACHE builds. */
static void
boot_remember(struct sched_service *svc, const char *id, json_t *boot)
{
    for (int i = 0; i < SCHED_BOOT_CACHE; i++) {
        if (svc->boot_cache[i].boot && strcmp(svc->boot_cache[i].id, id) == 0) {
            json_decref(svc->boot_cache[i].boot);
            svc->boot_cache[i].boot = json_incref(boot);
            return;
        }
    }
    struct sched_boot *b = &svc->boot_cache[svc->boot_next];
    svc->boot_next = (svc->boot_next + 1) % SCHED_BOOT_CACHE;
    json_decref(b->boot);
    strlcpy_n(b->id, id, sizeof(b->id));
    b->boot = json_incref(boot);
}

static json_t *
boot_recall(struct sched_service *svc, const char *id)
{
    for (int i = 0; i < SCHED_BOOT_CACHE; i++)
        if (svc->boot_cache[i].boot && strcmp(svc->boot_cache[i].id, id) == 0)
            return svc->boot_cache[i].boot;
    return NULL;
}

static int
service_cast(struct sched_service *svc, const char *topic, const char *method, json_t *args,
             struct err *err)
{
    if (svc->cast)
        return svc->cast(svc->cast_opaque, topic, method, args, err);
    return bus_cast(svc->bus, topic, method, args, err);
}

static enum bus_verdict
cast_build(struct sched_service *svc, const PGresult *res, const char *host, json_t *boot)
{
    char topic[BUS_TOPIC_MAX + 1];
    struct err err = ERR_INIT;
    if (bus_topic_compute(host, topic, sizeof(topic), &err) < 0) {
        log_error("instance %s: host %s makes no bus topic: %s", col(res, I_ID), host, err.msg);
        return BUS_ACK;
    }
    json_t *args = json_pack("{s:o}", "instance", instance_object(res, boot));
    int rc = service_cast(svc, topic, "build_instance", args, &err);
    json_decref(args);
    if (rc < 0) {
        log_warn("instance %s: cast build_instance to %s: %s (will retry)", col(res, I_ID), topic,
                 err.msg);
        return BUS_REQUEUE; /* the claim stands: the redelivery casts again */
    }
    return BUS_ACK;
}

static enum sched_vm_mode
vm_mode_parse(const char *s)
{
    if (s && strcmp(s, "hvm") == 0)
        return SCHED_VM_HVM;
    if (s && strcmp(s, "exe") == 0)
        return SCHED_VM_EXE;
    return SCHED_VM_XEN;
}

static enum sched_group_policy
group_policy_parse(const char *s)
{
    if (!s)
        return SCHED_GROUP_NONE;
    if (strcmp(s, "affinity") == 0)
        return SCHED_GROUP_AFFINITY;
    if (strcmp(s, "anti-affinity") == 0)
        return SCHED_GROUP_ANTI_AFFINITY;
    if (strcmp(s, "soft-affinity") == 0)
        return SCHED_GROUP_SOFT_AFFINITY;
    if (strcmp(s, "soft-anti-affinity") == 0)
        return SCHED_GROUP_SOFT_ANTI_AFFINITY;
    return SCHED_GROUP_NONE;
}

/* The group's policy and its other members' hosts (one entry per member). */
static int
group_load(PGconn *conn, struct sched_spec *spec, const char *group_id, PGresult **members,
           const char ***hosts, struct err *err)
{
    const char *p[2] = {group_id, spec->instance_id};
    PGresult *res = db_exec(conn, "SELECT policy FROM server_group WHERE id = $1", 1, p, err);
    if (!res)
        return -1;
    spec->group_policy =
        PQntuples(res) == 1 ? group_policy_parse(db_get(res, 0, 0)) : SCHED_GROUP_NONE;
    PQclear(res);
    PQclear(*members);
    *members = db_exec(conn,
                       "SELECT host FROM instance WHERE server_group_id = $1 AND id <> $2"
                       " AND host IS NOT NULL AND deleted_at IS NULL ORDER BY host",
                       2, p, err);
    if (!*members)
        return -1;
    int n = PQntuples(*members);
    free(*hosts);
    *hosts = xcalloc((size_t)n + 1, sizeof(**hosts));
    for (int i = 0; i < n; i++)
        (*hosts)[i] = db_get(*members, i, 0);
    spec->group_hosts = *hosts;
    spec->n_group_hosts = n;
    return 0;
}

static int
hosts_refresh(struct sched_service *svc, PGconn *conn, bool force, struct err *err)
{
    double age_ms = (sched_monotonic() - svc->hosts.loaded_at) * 1000;
    if (!force && svc->hosts.loaded_at > 0 && age_ms < svc->conf.host_refresh_ms)
        return 0;
    return sched_hosts_load(conn, &svc->hosts, err);
}

/* The instance cannot be placed: ERROR with a fault, in one statement. */
static enum bus_verdict
instance_no_host(struct sched_service *svc, PGconn *conn, const char *id, const char *explain,
                 const char *last_failure)
{
    char message[SCHED_EXPLAIN_MAX + SCHED_REASON_MAX + 64];
    snprintf(message, sizeof(message), "No valid host was found. %s%s%s", explain,
             last_failure ? ". Last build failure: " : "", last_failure ? last_failure : "");
    const char *p[2] = {id, message};
    struct err err = ERR_INIT;
    PGresult *res = db_exec(conn,
                            "UPDATE instance SET vm_state = 'error', task_state = NULL,"
                            " fault = jsonb_build_object('code', 500, 'message', $2::text,"
                            " 'created', now()), updated_at = now()"
                            " WHERE id = $1 AND vm_state = 'building' AND host IS NULL"
                            " AND deleted_at IS NULL",
                            2, p, &err);
    if (!res) {
        log_warn("instance %s: setting ERROR: %s (will retry)", id, err.msg);
        return BUS_REQUEUE;
    }
    PQclear(res);
    svc->no_host++;
    log_warn("instance %s: %s", id, message);
    return BUS_ACK;
}

/* Place the instance in @row (building, no host): filter, weigh, claim, cast. */
static enum bus_verdict
schedule(struct sched_service *svc, PGconn *conn, const PGresult *row, json_t *boot,
         const char *last_failure)
{
    const char *id = col(row, I_ID);
    const char *group_id = col(row, I_GROUP);
    struct err err = ERR_INIT;
    enum bus_verdict verdict = BUS_REQUEUE;
    PGresult *members = NULL;
    const char **group_hosts = NULL;
    const char **tried = NULL;
    char explain[SCHED_EXPLAIN_MAX] = "";
    double t0 = sched_monotonic();

    json_t *tried_json = json_loads(col(row, I_TRIED), 0, NULL);
    size_t n_tried = json_is_array(tried_json) ? json_array_size(tried_json) : 0;
    tried = xcalloc(n_tried + 1, sizeof(*tried));
    for (size_t i = 0; i < n_tried; i++) {
        const char *s = json_string_value(json_array_get(tried_json, i));
        tried[i] = s ? s : "";
    }
    struct sched_spec spec = {
        .instance_id = id,
        .vcpus = atoi(col(row, I_VCPUS)),
        .memory_mb = strtoll(col(row, I_MEMORY_MB), NULL, 10),
        .disk_gb = strtoll(col(row, I_ROOT_GB), NULL, 10) +
                   strtoll(col(row, I_EPHEMERAL_GB), NULL, 10) +
                   (strtoll(col(row, I_SWAP_MB), NULL, 10) + 1023) / 1024,
        .vm_mode = vm_mode_parse(col(row, I_VM_MODE)),
        .availability_zone = col(row, I_AZ),
        .group_policy = SCHED_GROUP_NONE,
        .tried_hosts = tried,
        .n_tried_hosts = (int)n_tried,
    };

    int lost = 0;
    for (int round = 0; round < SCHED_ROUNDS_MAX; round++) {
        /* after a lost claim (or nothing fitting a cache older than this
         * decision), look at the database again */
        if (hosts_refresh(svc, conn, round > 0, &err) < 0)
            goto db_error;
        if (group_id && group_load(conn, &spec, group_id, &members, &group_hosts, &err) < 0)
            goto db_error;
        struct sched_ctx ctx = {&svc->conf, sched_realtime()};
        sched_select(svc->hosts.v, svc->hosts.n, &spec, &ctx, &svc->result);
        sched_result_explain(&svc->result, &svc->conf, explain, sizeof(explain));
        if (svc->result.n_cand == 0) {
            if (svc->hosts.loaded_at < t0)
                continue; /* never fail an instance on a stale cache */
            break;
        }
        int lost_round = 0, c;
        while (lost_round < SCHED_LOST_PER_ROUND && (c = sched_result_next(&svc->result)) >= 0) {
            struct sched_host *h = &svc->hosts.v[svc->result.cand[c]];
            enum sched_claim_result cr = sched_claim(conn, &spec, group_id, h->host, &err);
            if (cr == SCHED_CLAIM_OK) {
                char weights[512];
                sched_result_weights(&svc->result, svc->hosts.v, c, &svc->conf, weights,
                                     sizeof(weights));
                sched_host_consume(h, &spec, &svc->conf);
                svc->decisions++;
                log_info("instance %s: scheduled on %s in %.2f ms (%d claim%s lost); %s; weight "
                         "%s",
                         id, h->host, (sched_monotonic() - t0) * 1000, lost, lost == 1 ? "" : "s",
                         explain, weights);
                if (log_get_level() <= LOG_LEVEL_DEBUG) {
                    int c2;
                    for (int k = 0; k < 3 && (c2 = sched_result_next(&svc->result)) >= 0; k++) {
                        sched_result_weights(&svc->result, svc->hosts.v, c2, &svc->conf, weights,
                                             sizeof(weights));
                        log_debug("instance %s: runner-up %d: %s", id, k + 1, weights);
                    }
                }
                verdict = cast_build(svc, row, h->host, boot);
                goto cleanup;
            }
            if (cr == SCHED_CLAIM_GONE) {
                log_info("instance %s: no longer waiting for a host (deleted or claimed): "
                         "nothing to do",
                         id);
                verdict = BUS_ACK;
                goto cleanup;
            }
            if (cr == SCHED_CLAIM_ERROR)
                goto db_error;
            lost++;
            lost_round++;
            svc->claims_lost++;
            log_info("instance %s: claim on %s lost (%s); %s", id, h->host,
                     cr == SCHED_CLAIM_GROUP ? "a server group member landed meanwhile"
                                             : "another scheduler took the room",
                     lost_round < SCHED_LOST_PER_ROUND ? "trying the next host"
                                                       : "reloading hosts");
            if (cr == SCHED_CLAIM_GROUP)
                break; /* the group's hosts changed: reselect */
        }
    }
    if (lost > 0) {
        size_t len = strlen(explain);
        snprintf(explain + len, sizeof(explain) - len, "; %d claim%s lost to concurrent changes",
                 lost, lost == 1 ? "" : "s");
    }
    verdict = instance_no_host(svc, conn, id, explain, last_failure);
    goto cleanup;

db_error:
    log_warn("instance %s: %s (will retry)", id, err.msg);
    verdict = BUS_REQUEUE;
cleanup:
    PQclear(members);
    free(group_hosts);
    free(tried);
    json_decref(tried_json);
    return verdict;
}

void
sched_service_init(struct sched_service *svc, const struct sched_conf *conf, struct db_pool *pool,
                   struct bus *bus)
{
    memset(svc, 0, sizeof(*svc));
    svc->conf = *conf;
    svc->pool = pool;
    svc->bus = bus;
}

void
sched_service_fini(struct sched_service *svc)
{
    for (int i = 0; i < SCHED_BOOT_CACHE; i++)
        json_decref(svc->boot_cache[i].boot);
    sched_hosts_fini(&svc->hosts);
    sched_result_fini(&svc->result);
}

enum bus_verdict
sched_service_build(struct sched_service *svc, const char *instance_id, json_t *args)
{
    struct err err = ERR_INIT;
    json_t *boot = boot_extract(args);
    if (boot)
        boot_remember(svc, instance_id, boot);
    else
        boot = json_incref(boot_recall(svc, instance_id));
    PGconn *conn = db_pool_acquire(svc->pool, &err);
    if (!conn) {
        log_warn("instance %s: %s (will retry)", instance_id, err.msg);
        json_decref(boot);
        return BUS_REQUEUE;
    }
    enum bus_verdict verdict = BUS_ACK;
    PGresult *row = instance_load(conn, instance_id, false, &err);
    if (!row) {
        log_warn("instance %s: %s (will retry)", instance_id, err.msg);
        verdict = BUS_REQUEUE;
    } else if (PQntuples(row) != 1) {
        log_info("instance %s: build_instance for an unknown instance: ignored", instance_id);
    } else if (col_is(row, I_DELETED, "t") || !col_is(row, I_VM_STATE, "building")) {
        log_info("instance %s: build_instance in vm_state %s: ignored", instance_id,
                 col(row, I_VM_STATE));
    } else if (col(row, I_HOST)) {
        if (col_is(row, I_TASK_STATE, "spawning")) {
            log_info("instance %s: already claimed on %s and spawning: casting build_instance "
                     "again",
                     instance_id, col(row, I_HOST));
            svc->recasts++;
            verdict = cast_build(svc, row, col(row, I_HOST), boot);
        } else {
            log_info("instance %s: already on %s: ignored", instance_id, col(row, I_HOST));
        }
    } else {
        verdict = schedule(svc, conn, row, boot, NULL);
    }
    PQclear(row);
    db_pool_release(svc->pool, conn);
    json_decref(boot);
    return verdict;
}

enum bus_verdict
sched_service_build_failed(struct sched_service *svc, const char *instance_id, const char *host,
                           const char *reason, json_t *args)
{
    struct err err = ERR_INIT;
    /* the agent may echo the instance object it got; else what we remember */
    json_t *boot = boot_extract(json_get_obj(args, "instance"));
    if (!boot)
        boot = boot_extract(args);
    if (!boot)
        boot = json_incref(boot_recall(svc, instance_id));
    enum bus_verdict verdict = BUS_REQUEUE;
    PGresult *row = NULL;
    char failure[SCHED_REASON_MAX + 300];
    snprintf(failure, sizeof(failure), "build failed on %s: %s", host, reason);
    PGconn *conn = db_pool_acquire(svc->pool, &err);
    if (!conn) {
        log_warn("instance %s: %s (will retry)", instance_id, err.msg);
        json_decref(boot);
        return BUS_REQUEUE;
    }
    if (db_begin(conn, &err) < 0 || !(row = instance_load(conn, instance_id, true, &err)))
        goto db_error;
    if (PQntuples(row) != 1 || col_is(row, I_DELETED, "t") ||
        !col_is(row, I_VM_STATE, "building")) {
        log_info("instance %s: build_failed on %s for an instance no longer building: ignored",
                 instance_id, host);
        verdict = BUS_ACK;
        goto cleanup;
    }
    if (!col(row, I_HOST)) {
        /* our own retry that did not finish: schedule it now */
        db_rollback(conn);
        PQclear(row);
        row = instance_load(conn, instance_id, false, &err);
        if (!row)
            goto db_error;
        if (PQntuples(row) == 1 && col_is(row, I_VM_STATE, "building") && !col(row, I_HOST))
            verdict = schedule(svc, conn, row, boot, failure);
        else
            verdict = BUS_ACK;
        goto cleanup;
    }
    if (strcmp(col(row, I_HOST), host) != 0) {
        log_info("instance %s: stale build_failed from %s (now on %s): ignored", instance_id, host,
                 col(row, I_HOST));
        verdict = BUS_ACK;
        goto cleanup;
    }
    bool released = false;
    if (sched_claim_release(conn, instance_id, host, &released, &err) < 0)
        goto db_error;
    int attempts = atoi(col(row, I_ATTEMPTS));
    const char *p[3] = {instance_id, host, NULL};
    char message[SCHED_REASON_MAX + 512];
    if (attempts >= svc->conf.max_attempts) {
        snprintf(message, sizeof(message),
                 "Exceeded maximum number of retries: the build failed on %d host%s "
                 "([scheduler] max_attempts %d). Last: %s",
                 attempts, attempts == 1 ? "" : "s", svc->conf.max_attempts, failure);
        p[2] = message;
        if (db_cmd(conn,
                   "UPDATE instance SET vm_state = 'error', task_state = NULL, host = NULL,"
                   " node = NULL, tried_hosts = array_append(tried_hosts, $2::text),"
                   " fault = jsonb_build_object('code', 500, 'message', $3::text,"
                   " 'created', now()), updated_at = now() WHERE id = $1",
                   3, p, &err) < 0 ||
            db_commit(conn, &err) < 0)
            goto db_error;
        log_warn("instance %s: %s", instance_id, message);
        verdict = BUS_ACK;
        goto cleanup;
    }
    if (db_cmd(conn,
               "UPDATE instance SET host = NULL, node = NULL, task_state = 'scheduling',"
               " tried_hosts = array_append(tried_hosts, $2::text), updated_at = now()"
               " WHERE id = $1",
               2, p, &err) < 0 ||
        db_commit(conn, &err) < 0)
        goto db_error;
    svc->retries++;
    log_info("instance %s: %s (claim %s); rescheduling, attempt %d of %d", instance_id, failure,
             released ? "released" : "already gone", attempts + 1, svc->conf.max_attempts);
    PQclear(row);
    row = instance_load(conn, instance_id, false, &err);
    if (!row)
        goto db_error;
    verdict = PQntuples(row) == 1 && col_is(row, I_VM_STATE, "building") && !col(row, I_HOST)
                  ? schedule(svc, conn, row, boot, failure)
                  : BUS_ACK;
    goto cleanup;

db_error:
    log_warn("instance %s: build_failed: %s (will retry)", instance_id, err.msg);
    verdict = BUS_REQUEUE;
cleanup:
    PQclear(row);
    db_pool_release(svc->pool, conn); /* rolls back an open transaction */
    json_decref(boot);
    return verdict;
}

/* ---- the bus side: one handler per method, args checked first ---- */

static enum bus_verdict
handle_build_instance(struct sched_service *svc, const struct bus_msg *msg, const char *id)
{
    return sched_service_build(svc, id, msg->args);
}

static enum bus_verdict
handle_build_failed(struct sched_service *svc, const struct bus_msg *msg, const char *id)
{
    const char *host = json_get_str(msg->args, "host");
    const char *reason = json_get_str(msg->args, "reason");
    if (!host || !host[0] || strlen(host) > 255) {
        log_warn("build_failed for %s without a valid host: rejected", id);
        return BUS_REJECT;
    }
    char why[SCHED_REASON_MAX];
    strlcpy_n(why, reason ? reason : "(no reason given)", sizeof(why));
    return sched_service_build_failed(svc, id, host, why, msg->args);
}

static const struct {
    const char *method;
    enum bus_verdict (*fn)(struct sched_service *svc, const struct bus_msg *msg, const char *id);
} handlers[] = {
    {"build_instance", handle_build_instance},
    {"build_failed", handle_build_failed},
};

enum bus_verdict
sched_service_handle(struct bus *bus, const struct bus_msg *msg, void *opaque)
{
    (void)bus;
    struct sched_service *svc = opaque;
    for (size_t i = 0; i < ARRAY_SIZE(handlers); i++) {
        if (strcmp(msg->method, handlers[i].method) != 0)
            continue;
        const char *id = json_get_str(msg->args, "instance_id");
        if (!id || !id_is_uuid(id)) {
            log_warn("%s without a valid instance_id: rejected", msg->method);
            return BUS_REJECT;
        }
        /* A database (or broker) outage: keep the message in hand and try
         * again, rather than burn the bus's few requeues and dead-letter a
         * build the api accepted. Handlers are idempotent, so a retry after
         * partial progress picks up where the last try stopped. */
        int delay_ms = 200;
        double waited = 0;
        for (;;) {
            enum bus_verdict v = handlers[i].fn(svc, msg, id);
            if (v != BUS_REQUEUE || (svc->stop && *svc->stop) || waited >= svc->conf.retry_wait_s)
                return v;
            log_info("instance %s: %s will be tried again in %d ms", id, msg->method, delay_ms);
            struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL); /* a signal cuts it short */
            waited += delay_ms / 1000.0;
            delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
        }
    }
    log_warn("unknown method %s on the scheduler topic: rejected", msg->method);
    return BUS_REJECT;
}
