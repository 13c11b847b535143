/* The PostgreSQL layer against a real server (tests/lib/with-postgres.sh). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "claim.h"
#include "db.h"
#include "image.h"
#include "mem.h"

static void
write_file(const char *dir, const char *name, const char *text)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static void
test_migrations(PGconn *conn)
{
    char dir[] = "/tmp/nube-mig.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct err err = ERR_INIT;
    int applied = -1, version = -1;

    db_cmd(conn, "DROP TABLE IF EXISTS schema_migrations, mig_a, mig_b, mig_c", 0, NULL, NULL);
    CHECK_INT(db_schema_version(conn, &version, &err), 0);
    CHECK_INT(version, 0);

    write_file(dir, "0001_a.sql",
               "CREATE TABLE mig_a (id int PRIMARY KEY);\n"
               "INSERT INTO mig_a VALUES (1);\n");
    write_file(dir, "README", "not a migration");
    CHECK_INT(db_migrate(conn, dir, &applied, &err), 0);
    CHECK_INT(applied, 1);
    /* a second sync is a no-op */
    CHECK_INT(db_migrate(conn, dir, &applied, &err), 0);
    CHECK_INT(applied, 0);

    write_file(dir, "0002_b.sql", "CREATE TABLE mig_b (id int);");
    CHECK_INT(db_migrate(conn, dir, &applied, &err), 0);
    CHECK_INT(applied, 1);
    CHECK_INT(db_schema_version(conn, &version, &err), 0);
    CHECK_INT(version, 2);

    /* a failing migration is rolled back whole and the version stays */
    write_file(dir, "0003_c.sql", "CREATE TABLE mig_c (id int); SELEC broken;");
    CHECK_INT(db_migrate(conn, dir, &applied, &err), -1);
    CHECK(strstr(err.msg, "0003_c.sql") != NULL);
    CHECK_INT(db_schema_version(conn, &version, &err), 0);
    CHECK_INT(version, 2);
    PGresult *res = db_exec(conn, "SELECT to_regclass('mig_c') IS NULL", 0, NULL, &err);
    CHECK(res && db_get_bool(res, 0, 0));
    PQclear(res);

    /* an older release refuses a newer schema */
    _cleanup_free_ char *p3 = xasprintf("%s/0003_c.sql", dir);
    _cleanup_free_ char *p2 = xasprintf("%s/0002_b.sql", dir);
    unlink(p3);
    unlink(p2);
    err_clear(&err);
    CHECK_INT(db_migrate(conn, dir, &applied, &err), -1);
    CHECK_INT(err.code, ERR_CONFLICT);
    CHECK(strstr(err.msg, "newer") != NULL);

    _cleanup_free_ char *p1 = xasprintf("%s/0001_a.sql", dir);
    _cleanup_free_ char *pr = xasprintf("%s/README", dir);
    unlink(p1);
    unlink(pr);
    rmdir(dir);
    db_cmd(conn, "DROP TABLE IF EXISTS schema_migrations, mig_a, mig_b, mig_c", 0, NULL, NULL);
}

static void
test_errors(PGconn *conn)
{
    struct err err = ERR_INIT;
    CHECK_INT(db_cmd(conn, "CREATE TEMP TABLE t (id uuid PRIMARY KEY, name text NOT NULL)", 0, NULL,
                     &err),
              0);
    const char *p1[] = {"6b1a2e56-8f0e-4a4f-9d57-3f3c2a6f5c11", "x'); DROP TABLE t; --"};
    CHECK_INT(db_cmd(conn, "INSERT INTO t VALUES ($1, $2)", 2, p1, &err), 0);
    /* parameters are data, never SQL */
    PGresult *res = db_exec(conn, "SELECT name FROM t WHERE id = $1", 1, p1, &err);
    CHECK(res && PQntuples(res) == 1);
    if (res && PQntuples(res) == 1)
        CHECK_STR(db_get(res, 0, 0), "x'); DROP TABLE t; --");
    PQclear(res);

    CHECK_INT(db_cmd(conn, "INSERT INTO t VALUES ($1, $2)", 2, p1, &err), -1);
    CHECK_INT(err.code, ERR_CONFLICT);
    const char *p2[] = {"not-a-uuid", "y"};
    CHECK_INT(db_cmd(conn, "INSERT INTO t VALUES ($1, $2)", 2, p2, &err), -1);
    CHECK_INT(err.code, ERR_INVALID);
    CHECK(strchr(err.msg, '\n') == NULL);
    CHECK_INT(db_cmd(conn, "SELECT * FROM no_such_table", 0, NULL, &err), -1);
    CHECK_INT(err.code, ERR_INTERNAL);
}

struct worker {
    struct db_pool *pool;
    int ok;
};

static void *
worker_run(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 50; i++) {
        struct err err = ERR_INIT;
        PGconn *c = db_pool_acquire(w->pool, &err);
        if (!c)
            continue;
        char n[16];
        snprintf(n, sizeof(n), "%d", i);
        const char *p[] = {n};
        PGresult *res = db_exec(c, "SELECT $1::int + 1", 1, p, &err);
        if (res && atoi(PQgetvalue(res, 0, 0)) == i + 1)
            w->ok++;
        PQclear(res);
        db_pool_release(w->pool, c);
    }
    return NULL;
}

static void
test_pool(const char *conninfo)
{
    struct err err = ERR_INIT;
    struct db_pool *pool = db_pool_new(conninfo, 3, &err);
    CHECK(pool != NULL);
    struct worker w[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (struct worker){pool, 0};
        pthread_create(&t[i], NULL, worker_run, &w[i]);
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
    }
    CHECK_INT(ok, 8 * 50);

    /* a connection handed back inside a transaction is rolled back */
    PGconn *c = db_pool_acquire(pool, &err);
    CHECK(c != NULL);
    CHECK_INT(db_begin(c, &err), 0);
    db_pool_release(pool, c);
    CHECK_INT(PQtransactionStatus(c), PQTRANS_IDLE);
    db_pool_free(pool);

    CHECK(db_pool_new(conninfo, 0, &err) == NULL);
    CHECK_INT(err.code, ERR_INVALID);

    /* an unreachable server is ERR_UNAVAILABLE with libpq's reason */
    pool = db_pool_new("host=127.0.0.1 port=1 dbname=x connect_timeout=2", 1, &err);
    CHECK(db_pool_acquire(pool, &err) == NULL);
    CHECK_INT(err.code, ERR_UNAVAILABLE);
    CHECK(strstr(err.msg, "cannot connect") != NULL);
    db_pool_free(pool);
}

/* The figures of compute_node @host as "vcpus_used/memory_mb_used/local_gb_used/running_vms". */
static char *
node_usage(PGconn *conn, const char *host)
{
    struct err err = ERR_INIT;
    const char *p[] = {host};
    PGresult *res = db_exec(conn,
                            "SELECT vcpus_used || '/' || memory_mb_used || '/' || local_gb_used"
                            " || '/' || running_vms FROM compute_node WHERE host = $1",
                            1, p, &err);
    char *out = xstrdup(res && PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "?");
    PQclear(res);
    return out;
}

static const char *inst_a = "11111111-1111-4111-8111-111111111111";
static const char *inst_b = "22222222-2222-4222-8222-222222222222";

/* db/claim.c: the claim the scheduler takes and the release the API and the
 * scheduler make, against the project's schema. */
static void
test_claims(PGconn *conn)
{
    struct err err = ERR_INIT;
    CHECK_INT(db_cmd(conn,
                     "INSERT INTO compute_node (host, hypervisor_hostname, vcpus, memory_mb,"
                     " local_gb, cpu_allocation_ratio) VALUES ('h1', 'h1.local', 4, 4096, 40, 1),"
                     " ('h2', 'h2.local', 4, 4096, 40, 1)",
                     0, NULL, &err),
              0);
    const char *ids[] = {inst_a, inst_b};
    CHECK_INT(db_cmd(conn,
                     "INSERT INTO instance (id, name, project_id, user_id, flavor_id, vcpus,"
                     " memory_mb, root_gb, reservation_id) SELECT x::uuid, 'vm', 'p', 'u', '1', 2,"
                     " 1024, 10, 'r' FROM unnest(ARRAY[$1, $2]) x",
                     2, ids, &err),
              0);
    struct db_claim a = {inst_a, "h1", 2, 1024, 10};
    CHECK_INT(db_claim_take(conn, &a, &err), DB_CLAIM_OK);
    char *u = node_usage(conn, "h1");
    CHECK_STR(u, "2/1024/10/1");
    free(u);
    const char *pa[] = {inst_a};
    json_t *row = db_first_row(
        db_query_json(conn, "SELECT host, node, task_state, attempts FROM instance WHERE id = $1",
                      1, pa, &err),
        &err, "no instance");
    CHECK_STR(json_string_value(json_object_get(row, "node")), "h1.local");
    CHECK_STR(json_string_value(json_object_get(row, "task_state")), "spawning");
    CHECK_INT(json_integer_value(json_object_get(row, "attempts")), 1);
    json_decref(row);
    /* claimed already: gone, wherever it is asked */
    CHECK_INT(db_claim_take(conn, &a, &err), DB_CLAIM_GONE);
    a.host = "h2";
    CHECK_INT(db_claim_take(conn, &a, &err), DB_CLAIM_GONE);
    /* no room: 2 + 3 vCPUs on a 4-vCPU host at ratio 1 */
    struct db_claim b = {inst_b, "h1", 3, 1024, 10};
    CHECK_INT(db_claim_take(conn, &b, &err), DB_CLAIM_NO_ROOM);
    b.host = "nowhere";
    CHECK_INT(db_claim_take(conn, &b, &err), DB_CLAIM_NO_ROOM);
    CHECK_INT(
        db_cmd(conn, "UPDATE compute_node SET enabled = false WHERE host = 'h2'", 0, NULL, &err),
        0);
    b.host = "h2";
    CHECK_INT(db_claim_take(conn, &b, &err), DB_CLAIM_NO_ROOM);
    CHECK_INT(
        db_cmd(conn, "UPDATE compute_node SET enabled = true WHERE host = 'h2'", 0, NULL, &err), 0);
    CHECK_INT(db_claim_take(conn, &b, &err), DB_CLAIM_OK);
    u = node_usage(conn, "h2");
    CHECK_STR(u, "3/1024/10/1");
    free(u);

    /* the scheduler's release names the host: a stale one releases nothing */
    bool released = true;
    CHECK_INT(db_claim_release(conn, inst_a, "h2", &released, &err), 0);
    CHECK(!released);
    u = node_usage(conn, "h1");
    CHECK_STR(u, "2/1024/10/1");
    free(u);
    CHECK_INT(db_claim_release(conn, inst_a, "h1", &released, &err), 0);
    CHECK(released);
    u = node_usage(conn, "h1");
    CHECK_STR(u, "0/0/0/0");
    free(u);
    /* the API's release takes it wherever it is, once */
    CHECK_INT(db_claim_release(conn, inst_b, NULL, NULL, &err), 0);
    u = node_usage(conn, "h2");
    CHECK_STR(u, "0/0/0/0");
    free(u);
    CHECK_INT(db_claim_release(conn, inst_b, NULL, &released, &err), 0);
    CHECK(!released);
    /* figures never go below 0 (a node whose usage was reset meanwhile) */
    CHECK_INT(db_cmd(conn, "UPDATE instance SET host = NULL WHERE id = $1", 1, pa, &err), 0);
    a.host = "h1";
    CHECK_INT(db_claim_take(conn, &a, &err), DB_CLAIM_OK);
    CHECK_INT(
        db_cmd(conn, "UPDATE compute_node SET vcpus_used = 1 WHERE host = 'h1'", 0, NULL, &err), 0);
    CHECK_INT(db_claim_release(conn, inst_a, NULL, &released, &err), 0);
    CHECK(released);
    u = node_usage(conn, "h1");
    CHECK_STR(u, "0/0/0/0");
    free(u);
    /* a hard group: anti-affinity forbids a host a live member is on */
    CHECK_INT(db_cmd(conn,
                     "INSERT INTO server_group (id, name, policy, project_id, user_id) VALUES"
                     " ('33333333-3333-4333-8333-333333333333', 'g', 'anti-affinity', 'p', 'u')",
                     0, NULL, &err),
              0);
    CHECK_INT(db_cmd(conn,
                     "UPDATE instance SET server_group_id = '33333333-3333-4333-8333-333333333333',"
                     " host = 'h1'",
                     0, NULL, &err),
              0);
    const char *g = "33333333-3333-4333-8333-333333333333";
    CHECK_INT(db_claim_group_allows(conn, g, inst_a, "h1", false, &err), 0); /* b is on h1 */
    CHECK_INT(db_claim_group_allows(conn, g, inst_a, "h2", false, &err), 1);
    CHECK_INT(db_claim_group_allows(conn, g, inst_a, "h1", true, &err), 1);
    CHECK_INT(db_claim_group_allows(conn, g, inst_a, "h2", true, &err), 0);
    CHECK_INT(db_claim_group_allows(conn, "44444444-4444-4444-8444-444444444444", inst_a, "h1",
                                    false, &err),
              1); /* a deleted group has no policy left */
    if (err.code)
        fprintf(stderr, "claims: %s\n", err.msg);
}

/* DB_IMAGE_VISIBLE_SQL (image.h): the one rule the image and compute APIs
 * use. The names of the test images @project sees, comma-separated. */
static char *
visible_to(PGconn *conn, const char *project, const char *admin, const char *status)
{
    struct err err = ERR_INIT;
    const char *p[] = {project, admin, status};
    PGresult *res = db_exec(
        conn,
        "SELECT string_agg(name, ',' ORDER BY name) FROM image i"
        " WHERE name LIKE 'vis-%' AND " DB_IMAGE_VISIBLE_SQL("i", "$1", "$2::boolean", "$3::text"),
        3, p, &err);
    char *out = xstrdup(res && PQntuples(res) == 1 && db_get(res, 0, 0) ? db_get(res, 0, 0) : "");
    if (!res)
        fprintf(stderr, "visibility: %s\n", err.msg);
    PQclear(res);
    return out;
}

static void
test_image_visibility(PGconn *conn)
{
    struct err err = ERR_INIT;
    CHECK_INT(
        db_cmd(conn,
               "INSERT INTO image (id, name, visibility, owner) VALUES"
               " ('a0000000-0000-4000-8000-000000000001', 'vis-public', 'public', 'p1'),"
               " ('a0000000-0000-4000-8000-000000000002', 'vis-community', 'community', 'p1'),"
               " ('a0000000-0000-4000-8000-000000000003', 'vis-private', 'private', 'p1'),"
               " ('a0000000-0000-4000-8000-000000000004', 'vis-shared-acc', 'shared', 'p1'),"
               " ('a0000000-0000-4000-8000-000000000005', 'vis-shared-pend', 'shared', 'p1'),"
               " ('a0000000-0000-4000-8000-000000000006', 'vis-shared-none', 'shared', 'p1'),"
               " ('a0000000-0000-4000-8000-000000000007', 'vis-own', 'private', 'p2'),"
               " ('a0000000-0000-4000-8000-000000000008', 'vis-was-shared', 'private', 'p1')",
               0, NULL, &err),
        0);
    CHECK_INT(db_cmd(conn,
                     "INSERT INTO image_member (image_id, member, status) VALUES"
                     " ('a0000000-0000-4000-8000-000000000004', 'p2', 'accepted'),"
                     " ('a0000000-0000-4000-8000-000000000005', 'p2', 'pending'),"
                     " ('a0000000-0000-4000-8000-000000000008', 'p2', 'accepted')",
                     0, NULL, &err),
              0);
    char *v = visible_to(conn, "p2", "f", "accepted");
    CHECK_STR(v, "vis-community,vis-own,vis-public,vis-shared-acc");
    free(v);
    v = visible_to(conn, "p2", "f", NULL); /* any membership, as show by id */
    CHECK_STR(v, "vis-community,vis-own,vis-public,vis-shared-acc,vis-shared-pend");
    free(v);
    v = visible_to(conn, "p2", "f", "all");
    CHECK_STR(v, "vis-community,vis-own,vis-public,vis-shared-acc,vis-shared-pend");
    free(v);
    v = visible_to(conn, "p2", "f", "pending");
    CHECK_STR(v, "vis-community,vis-own,vis-public,vis-shared-pend");
    free(v);
    v = visible_to(conn, "p1", "f", "accepted"); /* the owner sees all of its own */
    CHECK_STR(v, "vis-community,vis-private,vis-public,vis-shared-acc,vis-shared-none,"
                 "vis-shared-pend,vis-was-shared");
    free(v);
    v = visible_to(conn, "", "f", "accepted"); /* unscoped */
    CHECK_STR(v, "vis-community,vis-public");
    free(v);
    v = visible_to(conn, "p3", "t", "accepted"); /* admin */
    CHECK_STR(v, "vis-community,vis-own,vis-private,vis-public,vis-shared-acc,vis-shared-none,"
                 "vis-shared-pend,vis-was-shared");
    free(v);
}

int
main(void)
{
    const char *conninfo = getenv("NUBE_TEST_PG_CONNINFO");
    if (!conninfo)
        SKIP("NUBE_TEST_PG_CONNINFO is not set (run through tests/lib/with-postgres.sh)");
    struct err err = ERR_INIT;
    struct db_pool *pool = db_pool_new(conninfo, 1, &err);
    PGconn *conn = pool ? db_pool_acquire(pool, &err) : NULL;
    if (!conn) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    test_migrations(conn);
    test_errors(conn);
    db_pool_release(pool, conn);
    db_pool_free(pool);
    test_pool(conninfo);

    /* the project's own migrations apply to an empty database */
    const char *dir = getenv("NUBE_MIGRATIONS_DIR");
    if (dir) {
        pool = db_pool_new(conninfo, 1, &err);
        conn = db_pool_acquire(pool, &err);
        int applied = 0;
        CHECK_INT(db_migrate(conn, dir, &applied, &err), 0);
        if (err.code)
            fprintf(stderr, "%s\n", err.msg);
        if (applied > 0) {
            test_claims(conn);
            test_image_visibility(conn);
        }
        db_pool_release(pool, conn);
        db_pool_free(pool);
    }
    return check_done();
}
