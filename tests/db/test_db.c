/* The PostgreSQL layer against a real server (tests/lib/with-postgres.sh). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "db.h"
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
        db_pool_release(pool, conn);
        db_pool_free(pool);
    }
    return check_done();
}
