/* cloud-scheduler against a real PostgreSQL and RabbitMQ (run_service.sh
 * starts both and applies the migrations). The test inserts compute_node and
 * instance rows, casts build_instance / build_failed to the `scheduler` topic
 * as the api and agents do, consumes compute.<host>, and checks the database:
 * claims and hosts, the energy-aware choice, idempotent redelivery, no valid
 * host, retries then ERROR, server groups, and two schedulers racing for too
 * little room. Environment: NUBE_TEST_PG_CONNINFO, NUBE_TEST_AMQP_URL,
 * NUBE_SCHED_BIN, NUBE_TEST_TMP. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "check.h"
#include "db.h"
#include "id.h"
#include "json.h"
#include "mem.h"
#include "service.h"

static const char *conninfo, *amqp_url, *sched_bin, *tmpdir;
static PGconn *db;
static struct bus *bus;
static json_t *received; /* [{"queue": q, "method": m, "args": {...}}] */

static void
sql(const char *q, int n, const char *const *p)
{
    struct err err = ERR_INIT;
    if (db_cmd(db, q, n, p, &err) < 0) {
        fprintf(stderr, "SQL failed: %s: %s\n", q, err.msg);
        check_failures++;
    }
}

/* The first column of the first row, as a malloc'd string ("" for none). */
static char *
sql_str(const char *q, int n, const char *const *p)
{
    struct err err = ERR_INIT;
    PGresult *res = db_exec(db, q, n, p, &err);
    if (!res) {
        fprintf(stderr, "SQL failed: %s: %s\n", q, err.msg);
        check_failures++;
        return xstrdup("");
    }
    char *out = xstrdup(PQntuples(res) > 0 && db_get(res, 0, 0) ? db_get(res, 0, 0) : "");
    PQclear(res);
    return out;
}

static long
sql_long(const char *q, int n, const char *const *p)
{
    char *s = sql_str(q, n, p);
    long v = strtol(s, NULL, 10);
    free(s);
    return v;
}

/* Poll until @q (returning one boolean) is true, up to @ms. */
static bool
wait_sql(const char *q, int n, const char *const *p, int ms)
{
    for (int waited = 0; waited <= ms; waited += 50) {
        char *s = sql_str(q, n, p);
        bool ok = s[0] == 't';
        free(s);
        if (ok)
            return true;
        usleep(50 * 1000);
    }
    fprintf(stderr, "timed out waiting for: %s\n", q);
    return false;
}

static void
add_host(const char *host, int vcpus, long memory_mb, long local_gb, const char *domain_types,
         const char *heartbeat_age, double idle_w, double max_w, double util, int running_vms)
{
    char v[16], m[24], d[24], iw[32], mw[32], u[32], r[16];
    snprintf(v, sizeof(v), "%d", vcpus);
    snprintf(m, sizeof(m), "%ld", memory_mb);
    snprintf(d, sizeof(d), "%ld", local_gb);
    snprintf(iw, sizeof(iw), "%g", idle_w);
    snprintf(mw, sizeof(mw), "%g", max_w);
    snprintf(u, sizeof(u), "%g", util);
    snprintf(r, sizeof(r), "%d", running_vms);
    const char *p[10] = {host, v, m, d, domain_types, heartbeat_age, iw, mw, u, r};
    sql("INSERT INTO compute_node (host, hypervisor_hostname, vcpus, memory_mb, local_gb,"
        " domain_types, last_heartbeat, idle_watts, max_watts, cpu_util, running_vms,"
        " power_watts)"
        " VALUES ($1, $1, $2, $3, $4, $5::text[], now() - $6::interval, $7, $8, $9, $10,"
        " $7::float8 + ($8::float8 - $7::float8) * $9::float8)",
        10, p);
}

/* A new instance waiting for a host; its id goes to @id. */
static void
add_instance(char id[ID_UUID_LEN + 1], const char *name, int vcpus, int memory_mb, int root_gb,
             const char *vm_mode, const char *group)
{
    id_uuid(id);
    char v[16], m[16], r[16];
    snprintf(v, sizeof(v), "%d", vcpus);
    snprintf(m, sizeof(m), "%d", memory_mb);
    snprintf(r, sizeof(r), "%d", root_gb);
    const char *p[7] = {id, name, v, m, r, vm_mode, group};
    sql("INSERT INTO instance (id, name, project_id, user_id, image_id, flavor_id, vcpus,"
        " memory_mb, root_gb, vm_mode, task_state, reservation_id, server_group_id, metadata,"
        " user_data, key_data)"
        " VALUES ($1, $2, 'proj', 'user', 'img-1', 'flavor', $3, $4, $5, $6, 'scheduling',"
        " 'r-1', $7, '{\"role\": \"test\"}', 'I2Nsb3VkLWNvbmZpZw==', 'ssh-ed25519 AAAA test')",
        7, p);
}

static void
cast(const char *method, json_t *args)
{
    struct err err = ERR_INIT;
    if (bus_cast(bus, BUS_TOPIC_SCHEDULER, method, args, &err) < 0) {
        fprintf(stderr, "cast %s: %s\n", method, err.msg);
        check_failures++;
    }
    json_decref(args);
}

static void
cast_build(const char *id)
{
    cast("build_instance",
         json_pack("{s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}", "instance_id", id, "image", "id",
                   "img-1", "checksum", "0123abcd", "disk_format", "raw", "kernel", "id", "k-1",
                   "disk_format", "aki", "location", "file:///images/k-1"));
}

static enum bus_verdict
record(struct bus *b, const struct bus_msg *msg, void *opaque)
{
    (void)b;
    (void)opaque;
    json_array_append_new(received, json_pack("{s:s, s:s, s:O}", "queue", msg->queue, "method",
                                              msg->method, "args", msg->args));
    return BUS_ACK;
}

/* Take (remove) the first build_instance for @id received on compute.@host,
 * running the bus up to @ms for it; NULL when none came. */
static json_t *
take_build(const char *host, const char *id, int ms)
{
    char queue[BUS_TOPIC_MAX + 1];
    snprintf(queue, sizeof(queue), "compute.%s", host);
    for (int waited = 0; waited <= ms; waited += 100) {
        size_t i;
        json_t *m;
        json_array_foreach (received, i, m) {
            json_t *inst = json_get_obj(json_get_obj(m, "args"), "instance");
            const char *iid = json_get_str(inst, "id");
            if (strcmp(json_get_str(m, "queue"), queue) == 0 &&
                strcmp(json_get_str(m, "method"), "build_instance") == 0 && iid &&
                strcmp(iid, id) == 0) {
                json_t *out = json_incref(inst);
                json_array_remove(received, i);
                return out;
            }
        }
        struct err err = ERR_INIT;
        bus_run(bus, 100, &err);
    }
    return NULL;
}

static pid_t
start_scheduler(const char *name, const char *extra)
{
    _cleanup_free_ char *path = xasprintf("%s/%s.conf", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f,
            "[database]\nconnection = %s\n[bus]\nurl = %s\n[log]\nlevel = debug\nfile = "
            "%s/%s.log\n[compute]\nservice_down_time = 60\n[scheduler]\n%s\n",
            conninfo, amqp_url, tmpdir, name, extra);
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
        execl(sched_bin, sched_bin, "--config", path, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void
stop_scheduler(pid_t pid, const char *name)
{
    kill(pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; i++) { /* 10 s */
        if (waitpid(pid, &status, WNOHANG) == pid)
            goto done;
        usleep(100 * 1000);
    }
    fprintf(stderr, "%s did not stop on SIGTERM\n", name);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    check_failures++;
    return;
done:
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static long
count_in_log(const char *name, const char *needle)
{
    _cleanup_free_ char *path = xasprintf("%s/%s.log", tmpdir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[8192];
    long n = 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* ---- the scenarios ---- */

static const char *used_sql = "SELECT vcpus_used || '/' || memory_mb_used || '/' || local_gb_used"
                              " || '/' || running_vms FROM compute_node WHERE host = $1";

static void
test_place_and_redeliver(void)
{
    char id[ID_UUID_LEN + 1];
    add_instance(id, "Web Server #1", 2, 2048, 10, "xen", NULL);
    cast_build(id);
    const char *p[1] = {id};
    CHECK(wait_sql("SELECT task_state = 'spawning' FROM instance WHERE id = $1", 1, p, 10000));
    /* energy: busy-efficient wins over waking the bigger idle host */
    _cleanup_free_ char *host = sql_str("SELECT host FROM instance WHERE id = $1", 1, p);
    CHECK_STR(host, "busy");
    _cleanup_free_ char *node = sql_str("SELECT node FROM instance WHERE id = $1", 1, p);
    CHECK_STR(node, "busy");
    CHECK_INT(sql_long("SELECT attempts FROM instance WHERE id = $1", 1, p), 1);
    _cleanup_free_ char *claim = sql_str("SELECT host || '/' || vcpus || '/' || memory_mb || '/'"
                                         " || disk_gb FROM instance_claim WHERE instance_id = $1",
                                         1, p);
    CHECK_STR(claim, "busy/2/2048/10");
    const char *hb[1] = {"busy"};
    _cleanup_free_ char *used = sql_str(used_sql, 1, hb);
    CHECK_STR(used, "6/6144/30/3"); /* 4/4096/20/2 before */

    json_t *inst = take_build("busy", id, 10000);
    CHECK(inst != NULL);
    if (inst) {
        CHECK_STR(json_get_str(inst, "name"), "Web Server #1");
        CHECK_STR(json_get_str(inst, "hostname"), "web-server-1");
        CHECK_STR(json_get_str(inst, "vm_mode"), "xen");
        CHECK_STR(json_get_str(json_get_obj(inst, "image"), "checksum"), "0123abcd");
        CHECK_STR(json_get_str(json_get_obj(inst, "kernel"), "location"), "file:///images/k-1");
        CHECK(json_object_get(inst, "ramdisk") == NULL);
        CHECK_STR(json_get_str(json_get_obj(inst, "metadata"), "role"), "test");
        CHECK_STR(json_get_str(inst, "user_data"), "I2Nsb3VkLWNvbmZpZw==");
        json_int_t v = 0;
        CHECK(json_get_int(inst, "memory_mb", &v) && v == 2048);
        json_decref(inst);
    }

    /* redelivered build_instance: no second claim, the same host gets it again */
    cast_build(id);
    inst = take_build("busy", id, 10000);
    CHECK(inst != NULL);
    json_decref(inst);
    CHECK_INT(sql_long("SELECT count(*) FROM instance_claim WHERE instance_id = $1", 1, p), 1);
    _cleanup_free_ char *used2 = sql_str(used_sql, 1, hb);
    CHECK_STR(used2, "6/6144/30/3");

    /* active now (the api applied the agent's event): a late duplicate does nothing */
    sql("UPDATE instance SET vm_state = 'active', task_state = NULL WHERE id = $1", 1, p);
    cast_build(id);
    CHECK(take_build("busy", id, 1500) == NULL);

    /* a build for an unknown instance and a malformed one are dropped */
    char ghost[ID_UUID_LEN + 1];
    id_uuid(ghost);
    cast_build(ghost);
    cast("build_instance", json_pack("{s:s}", "instance_id", "not-a-uuid"));
}

static void
test_no_valid_host(void)
{
    char id[ID_UUID_LEN + 1], jail[ID_UUID_LEN + 1];
    add_instance(id, "huge", 2, 65536, 10, "hvm", NULL);
    add_instance(jail, "jail", 1, 512, 1, "exe", NULL);
    cast_build(id);
    cast_build(jail);
    const char *p[1] = {id}, *pj[1] = {jail};
    CHECK(wait_sql("SELECT vm_state = 'error' FROM instance WHERE id = $1", 1, p, 10000));
    CHECK_INT(sql_long("SELECT count(*) FROM instance WHERE id = $1 AND task_state IS NULL"
                       " AND host IS NULL",
                       1, p),
              1);
    CHECK_INT(sql_long("SELECT (fault->>'code')::int FROM instance WHERE id = $1", 1, p), 500);
    _cleanup_free_ char *msg =
        sql_str("SELECT fault->>'message' FROM instance WHERE id = $1", 1, p);
    printf("fault: %s\n", msg);
    static const char prefix[] =
        "No valid host was found. 6 hosts: 2 filtered out by ComputeFilter";
    CHECK(strncmp(msg, prefix, strlen(prefix)) == 0);
    CHECK(strstr(msg, "4 filtered out by RamFilter (host ") != NULL);
    CHECK(strstr(msg, "needs 65536 MB") != NULL);
    CHECK_INT(sql_long("SELECT count(*) FROM instance_claim WHERE instance_id = $1", 1, p), 0);

    CHECK(wait_sql("SELECT vm_state = 'error' FROM instance WHERE id = $1", 1, pj, 10000));
    _cleanup_free_ char *msg2 =
        sql_str("SELECT fault->>'message' FROM instance WHERE id = $1", 1, pj);
    printf("fault: %s\n", msg2);
    CHECK(strstr(msg2, "4 filtered out by ImagePropertiesFilter") != NULL);
    CHECK(strstr(msg2, "cannot run vm_mode exe") != NULL);
}

static void
build_failed(const char *id, const char *host, const char *reason)
{
    cast("build_failed",
         json_pack("{s:s, s:s, s:s}", "instance_id", id, "host", host, "reason", reason));
}

static void
test_retries(void)
{
    const char *hosts[] = {"busy", "idle", "spare", "small"};
    char before[4][64];
    for (int i = 0; i < 4; i++) {
        const char *p[1] = {hosts[i]};
        char *u = sql_str(used_sql, 1, p);
        strlcpy_n(before[i], u, sizeof(before[i]));
        free(u);
    }
    char id[ID_UUID_LEN + 1];
    add_instance(id, "retry-me", 1, 1024, 5, "hvm", NULL);
    const char *p[1] = {id};
    cast_build(id);
    char prev[3][64] = {"", "", ""};
    for (int attempt = 1; attempt <= 3; attempt++) {
        char q[64];
        snprintf(q, sizeof(q), "%d", attempt);
        const char *pa[2] = {id, q};
        CHECK(wait_sql("SELECT task_state = 'spawning' AND attempts = $2::int FROM instance"
                       " WHERE id = $1",
                       2, pa, 10000));
        char *host = sql_str("SELECT host FROM instance WHERE id = $1", 1, p);
        printf("attempt %d on %s\n", attempt, host);
        for (int k = 0; k < attempt - 1; k++)
            CHECK(strcmp(prev[k], host) != 0); /* never a host that failed */
        strlcpy_n(prev[attempt - 1], host, sizeof(prev[0]));
        json_t *inst = take_build(host, id, 10000);
        CHECK(inst != NULL);
        /* the retry carries the image the api sent (build_failed did not echo it) */
        CHECK_STR(json_get_str(json_get_obj(inst, "image"), "checksum"), "0123abcd");
        json_decref(inst);
        CHECK_INT(sql_long("SELECT count(*) FROM instance_claim WHERE instance_id = $1"
                           " AND host = (SELECT host FROM instance WHERE id = $1)",
                           1, p),
                  1);
        if (attempt == 2) /* a stale report about the first host changes nothing */
            build_failed(id, prev[0], "late duplicate");
        build_failed(id, host, "disk full");
        free(host);
    }
    CHECK(wait_sql("SELECT vm_state = 'error' FROM instance WHERE id = $1", 1, p, 10000));
    _cleanup_free_ char *msg =
        sql_str("SELECT fault->>'message' FROM instance WHERE id = $1", 1, p);
    printf("fault: %s\n", msg);
    CHECK(strstr(msg, "Exceeded maximum number of retries") != NULL);
    CHECK(strstr(msg, "disk full") != NULL);
    CHECK_INT(sql_long("SELECT cardinality(tried_hosts) FROM instance WHERE id = $1", 1, p), 3);
    CHECK_INT(sql_long("SELECT count(*) FROM instance WHERE id = $1 AND host IS NULL"
                       " AND task_state IS NULL",
                       1, p),
              1);
    CHECK_INT(sql_long("SELECT count(*) FROM instance_claim WHERE instance_id = $1", 1, p), 0);
    for (int i = 0; i < 4; i++) { /* every claim given back */
        const char *ph[1] = {hosts[i]};
        char *u = sql_str(used_sql, 1, ph);
        CHECK_STR(u, before[i]);
        free(u);
    }

    /* fits on two hosts only: after failing on both, RetryFilter explains */
    char id2[ID_UUID_LEN + 1];
    add_instance(id2, "retry-two", 1, 12288, 5, "xen", NULL);
    const char *p2[1] = {id2};
    cast_build(id2);
    for (int attempt = 1; attempt <= 2; attempt++) {
        char q[64];
        snprintf(q, sizeof(q), "%d", attempt);
        const char *pa[2] = {id2, q};
        CHECK(wait_sql("SELECT task_state = 'spawning' AND attempts = $2::int FROM instance"
                       " WHERE id = $1",
                       2, pa, 10000));
        char *host = sql_str("SELECT host FROM instance WHERE id = $1", 1, p2);
        json_t *inst = take_build(host, id2, 10000);
        CHECK(inst != NULL);
        if (attempt == 2) /* the echoed instance object wins over what the scheduler kept */
            CHECK_STR(json_get_str(json_get_obj(inst, "image"), "checksum"), "echoed");
        json_decref(inst);
        cast("build_failed", json_pack("{s:s, s:s, s:s, s:{s:{s:s, s:s}}}", "instance_id", id2,
                                       "host", host, "reason", "image download failed", "instance",
                                       "image", "id", "img-1", "checksum", "echoed"));
        free(host);
    }
    CHECK(wait_sql("SELECT vm_state = 'error' FROM instance WHERE id = $1", 1, p2, 10000));
    _cleanup_free_ char *msg2 =
        sql_str("SELECT fault->>'message' FROM instance WHERE id = $1", 1, p2);
    printf("fault: %s\n", msg2);
    CHECK(strstr(msg2, "No valid host was found.") != NULL);
    CHECK(strstr(msg2, "2 filtered out by RetryFilter") != NULL);
    CHECK(strstr(msg2, "Last build failure: build failed on") != NULL);
}

static void
test_groups(void)
{
    char anti[ID_UUID_LEN + 1], aff[ID_UUID_LEN + 1];
    id_uuid(anti);
    id_uuid(aff);
    const char *pg[2] = {anti, aff};
    sql("INSERT INTO server_group (id, name, policy, project_id, user_id) VALUES"
        " ($1, 'anti', 'anti-affinity', 'proj', 'user'), ($2, 'aff', 'affinity', 'proj', 'user')",
        2, pg);
    /* four up hosts can take a 512 MB instance: busy, idle, spare, small */
    char ids[5][ID_UUID_LEN + 1];
    for (int i = 0; i < 5; i++) {
        add_instance(ids[i], "anti", 1, 512, 1, "xen", anti);
        cast_build(ids[i]);
    }
    const char *pa[1] = {anti};
    CHECK(wait_sql("SELECT count(*) = 5 FROM instance WHERE server_group_id = $1"
                   " AND task_state IS DISTINCT FROM 'scheduling'",
                   1, pa, 15000));
    CHECK_INT(
        sql_long("SELECT count(DISTINCT host) FROM instance WHERE server_group_id = $1", 1, pa), 4);
    CHECK_INT(sql_long("SELECT count(*) FROM instance WHERE server_group_id = $1 AND host IS NOT"
                       " NULL",
                       1, pa),
              4);
    _cleanup_free_ char *msg = sql_str("SELECT fault->>'message' FROM instance WHERE"
                                       " server_group_id = $1 AND vm_state = 'error'",
                                       1, pa);
    printf("fault: %s\n", msg);
    CHECK(strstr(msg, "4 filtered out by ServerGroupAntiAffinityFilter") != NULL);

    for (int i = 0; i < 4; i++) {
        add_instance(ids[i], "aff", 1, 512, 1, "xen", aff);
        cast_build(ids[i]);
    }
    const char *pf[1] = {aff};
    CHECK(wait_sql("SELECT count(*) = 4 FROM instance WHERE server_group_id = $1"
                   " AND task_state = 'spawning'",
                   1, pf, 15000));
    CHECK_INT(
        sql_long("SELECT count(DISTINCT host) FROM instance WHERE server_group_id = $1", 1, pf), 1);
}

/* PostgreSQL goes away with a build in flight and comes back: the message
 * is kept in hand and retried, not dead-lettered. */
static void
test_db_outage(void)
{
    const char *stop = getenv("NUBE_PG_STOP"), *start = getenv("NUBE_PG_START");
    if (!stop || !start) {
        printf("db outage: skipped (NUBE_PG_STOP / NUBE_PG_START not set)\n");
        return;
    }
    char id[ID_UUID_LEN + 1];
    add_instance(id, "outage", 1, 512, 1, "hvm", NULL);
    PQfinish(db);
    db = NULL;
    CHECK_INT(system(stop), 0);
    cast_build(id);
    sleep(3); /* the scheduler tries, backs off, tries again */
    CHECK_INT(system(start), 0);
    db = PQconnectdb(conninfo);
    CHECK(PQstatus(db) == CONNECTION_OK);
    const char *p[1] = {id};
    CHECK(wait_sql("SELECT task_state = 'spawning' FROM instance WHERE id = $1", 1, p, 20000));
    _cleanup_free_ char *host = sql_str("SELECT host FROM instance WHERE id = $1", 1, p);
    json_t *inst = take_build(host, id, 10000);
    CHECK(inst != NULL);
    json_decref(inst);
    CHECK(count_in_log("sched", "build_instance will be tried again") >= 1);
}

/* Direct claims from many threads, each with its own connection, on one host
 * with room for exactly 17 instances. */
struct race_arg {
    int thread;
    int ok, no_room;
};

static void *
race_thread(void *opaque)
{
    struct race_arg *a = opaque;
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return NULL;
    }
    for (int i = 0; i < 10; i++) {
        char id[ID_UUID_LEN + 1];
        id_uuid(id);
        char name[32];
        snprintf(name, sizeof(name), "race-%d-%d", a->thread, i);
        const char *p[2] = {id, name};
        struct err err = ERR_INIT;
        db_cmd(c,
               "INSERT INTO instance (id, name, project_id, user_id, flavor_id, vcpus, memory_mb,"
               " root_gb, task_state, reservation_id) VALUES ($1, $2, 'p', 'u', 'f', 1, 1000, 1,"
               " 'scheduling', 'r')",
               2, p, &err);
        struct sched_spec spec = {.instance_id = id, .vcpus = 1, .memory_mb = 1000, .disk_gb = 1};
        enum sched_claim_result r = sched_claim(c, &spec, NULL, "threads", &err);
        if (r == SCHED_CLAIM_OK)
            a->ok++;
        else if (r == SCHED_CLAIM_NO_ROOM)
            a->no_room++;
        else
            fprintf(stderr, "claim: %d %s\n", (int)r, err.msg);
    }
    PQfinish(c);
    return NULL;
}

static void
test_claim_threads(void)
{
    add_host("threads", 64, 17000, 1000, "{kvm}", "1 second", 0, 0, 0, 0);
    pthread_t t[8];
    struct race_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (struct race_arg){i, 0, 0};
        pthread_create(&t[i], NULL, race_thread, &a[i]);
    }
    int ok = 0, no_room = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += a[i].ok;
        no_room += a[i].no_room;
    }
    printf("threads: %d claims, %d refused\n", ok, no_room);
    CHECK_INT(ok, 17);
    CHECK_INT(no_room, 63);
    const char *p[1] = {"threads"};
    _cleanup_free_ char *used = sql_str(used_sql, 1, p);
    CHECK_STR(used, "17/17000/17/17");
    CHECK_INT(sql_long("SELECT count(*) FROM instance_claim WHERE host = $1", 1, p), 17);
    CHECK_INT(sql_long("SELECT count(*) FROM instance WHERE host = $1", 1, p), 17);
    sql("UPDATE compute_node SET enabled = false WHERE host = 'threads'", 0, NULL);
}

/* Two scheduler processes whose caches never refresh on their own race for
 * two hosts with room for 5 + 3 instances; 24 instances ask. */
static void
test_two_schedulers(void)
{
    sql("UPDATE compute_node SET enabled = false", 0, NULL);
    add_host("race-1", 32, 5 * 1024, 1000, "{kvm}", "1 second", 100, 200, 0.1, 1);
    add_host("race-2", 32, 3 * 1024, 1000, "{qemu}", "1 second", 100, 200, 0.1, 1);
    const char *extra = "host_refresh_ms = 600000\nram_weight_multiplier = 1.0\n";
    pid_t a = start_scheduler("sched-a", extra);
    pid_t b = start_scheduler("sched-b", extra);
    usleep(1500 * 1000); /* both load their caches (empty race hosts) and consume */
    for (int i = 0; i < 24; i++) {
        char id[ID_UUID_LEN + 1];
        add_instance(id, "racer", 1, 1024, 1, "xen", NULL);
        cast_build(id);
    }
    CHECK(wait_sql("SELECT count(*) = 0 FROM instance WHERE name = 'racer'"
                   " AND task_state = 'scheduling'",
                   0, NULL, 30000));
    long placed = sql_long(
        "SELECT count(*) FROM instance WHERE name = 'racer' AND host IS NOT NULL", 0, NULL);
    long errors = sql_long(
        "SELECT count(*) FROM instance WHERE name = 'racer' AND vm_state = 'error'", 0, NULL);
    long lost_a = count_in_log("sched-a", "lost (another scheduler took the room)");
    long lost_b = count_in_log("sched-b", "lost (another scheduler took the room)");
    long done_a = count_in_log("sched-a", "scheduled on race-");
    long done_b = count_in_log("sched-b", "scheduled on race-");
    printf("two schedulers: %ld placed, %ld errors; placed by a %ld, b %ld; claims lost a %ld, "
           "b %ld\n",
           placed, errors, done_a, done_b, lost_a, lost_b);
    CHECK_INT(placed, 8);
    CHECK_INT(errors, 16);
    CHECK(done_a + done_b == 8);
    /* the sums: never over capacity, and usage equals the claims */
    CHECK_INT(sql_long("SELECT count(*) FROM compute_node n WHERE host LIKE 'race-%'"
                       " AND (memory_mb_used > memory_mb OR memory_mb_used <>"
                       " (SELECT coalesce(sum(memory_mb), 0) FROM instance_claim c"
                       "  WHERE c.host = n.host) OR running_vms - 1 <>"
                       " (SELECT count(*) FROM instance_claim c WHERE c.host = n.host))",
                       0, NULL),
              0);
    CHECK_INT(sql_long("SELECT memory_mb_used FROM compute_node WHERE host = 'race-1'", 0, NULL),
              5 * 1024);
    CHECK_INT(sql_long("SELECT memory_mb_used FROM compute_node WHERE host = 'race-2'", 0, NULL),
              3 * 1024);
    /* every instance with a host has exactly its claim there */
    CHECK_INT(sql_long("SELECT count(*) FROM instance i WHERE name = 'racer' AND host IS NOT NULL"
                       " AND NOT EXISTS (SELECT 1 FROM instance_claim c WHERE c.instance_id = i.id"
                       " AND c.host = i.host)",
                       0, NULL),
              0);
    stop_scheduler(a, "sched-a");
    stop_scheduler(b, "sched-b");
    CHECK(count_in_log("sched-a", "stopping") == 1);
}

int
main(void)
{
    conninfo = getenv("NUBE_TEST_PG_CONNINFO");
    amqp_url = getenv("NUBE_TEST_AMQP_URL");
    sched_bin = getenv("NUBE_SCHED_BIN");
    tmpdir = getenv("NUBE_TEST_TMP");
    if (!conninfo || !amqp_url || !sched_bin || !tmpdir)
        SKIP("run through run_service.sh (needs PostgreSQL, RabbitMQ and cloud-scheduler)");
    db = PQconnectdb(conninfo);
    if (PQstatus(db) != CONNECTION_OK) {
        fprintf(stderr, "database: %s", PQerrorMessage(db));
        return 1;
    }
    struct err err = ERR_INIT;
    bus = bus_open(amqp_url, NULL, &err);
    if (!bus) {
        fprintf(stderr, "bus: %s\n", err.msg);
        return 1;
    }
    received = json_array();
    /* Hosts: busy (efficient, 2 instances running), idle (bigger, nothing
     * running, hungrier), spare (kvm), small (4 GB), down (heartbeat 5 min
     * old), off (disabled). */
    add_host("busy", 8, 16384, 200, "{kvm,qemu}", "2 seconds", 80, 120, 0.5, 2);
    sql("UPDATE compute_node SET vcpus_used = 4, memory_mb_used = 4096, local_gb_used = 20"
        " WHERE host = 'busy'",
        0, NULL);
    add_host("idle", 8, 32768, 400, "{kvm,qemu}", "3 seconds", 90, 200, 0, 0);
    add_host("spare", 8, 16384, 200, "{kvm}", "1 second", 90, 200, 0, 0);
    add_host("small", 4, 4096, 50, "{qemu}", "1 second", 50, 90, 0, 0);
    add_host("down", 8, 131072, 400, "{kvm,exe}", "5 minutes", 90, 200, 0, 0);
    add_host("off", 8, 131072, 400, "{kvm,exe}", "1 second", 90, 200, 0, 0);
    sql("UPDATE compute_node SET enabled = false, disabled_reason = 'maintenance'"
        " WHERE host = 'off'",
        0, NULL);
    const char *hosts[] = {"busy", "idle", "spare", "small", "down", "off", "race-1", "race-2"};
    for (size_t i = 0; i < ARRAY_SIZE(hosts); i++) {
        char topic[BUS_TOPIC_MAX + 1];
        snprintf(topic, sizeof(topic), "compute.%s", hosts[i]);
        if (bus_consume(bus, topic, record, NULL, &err) < 0) {
            fprintf(stderr, "consume %s: %s\n", topic, err.msg);
            return 1;
        }
    }

    pid_t pid = start_scheduler("sched", "max_attempts = 3\nhost_refresh_ms = 200\n");
    test_place_and_redeliver();
    test_no_valid_host();
    test_retries();
    test_groups();
    test_db_outage();
    stop_scheduler(pid, "sched");
    CHECK(count_in_log("sched", "scheduled on busy") >= 1);
    CHECK(count_in_log("sched", "rejected") >= 1); /* the malformed build_instance */

    test_claim_threads();
    test_two_schedulers();

    json_decref(received);
    bus_close(bus);
    PQfinish(db);
    return check_done();
}
