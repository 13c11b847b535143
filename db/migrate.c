/* Numbered SQL migrations (db/migrations/NNNN_name.sql), applied in order, each
 * in its own transaction, under an advisory lock so that two cloud-manage runs
 * cannot interleave. Migration files are part of the source tree, not input,
 * so they run through PQexec (several statements per file). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "mem.h"

#define DB_MIGRATE_LOCK_KEY "4242001" /* pg_advisory_lock key for migrations */
#define DB_MIGRATION_MAX_BYTES (4 << 20)

struct migration {
    int version;
    char *name;
};

static int
migration_cmp(const void *a, const void *b)
{
    return ((const struct migration *)a)->version - ((const struct migration *)b)->version;
}

/* Files named NNNN_something.sql, sorted by number; a duplicate number is an error. */
static struct migration *
migrations_list(const char *dir, size_t *count, struct err *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        err_set_errno(err, ERR_IO, errno, "cannot open migrations folder %s", dir);
        return NULL;
    }
    struct migration *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        int version, len = 0;
        size_t nlen = strlen(de->d_name);
        if (nlen < 10 || strcmp(de->d_name + nlen - 4, ".sql") != 0 ||
            sscanf(de->d_name, "%4d_%n", &version, &len) != 1 || len != 5 || version <= 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            list = xrealloc(list, cap * sizeof(*list));
        }
        list[n++] = (struct migration){version, xstrdup(de->d_name)};
    }
    closedir(d);
    qsort(list, n, sizeof(*list), migration_cmp);
    for (size_t i = 1; i < n; i++) {
        if (list[i].version == list[i - 1].version) {
            err_set(err, ERR_INVALID, "migrations %s and %s share a number", list[i - 1].name,
                    list[i].name);
            for (size_t j = 0; j < n; j++)
                free(list[j].name);
            free(list);
            return NULL;
        }
    }
    *count = n;
    return list;
}

static char *
read_file(const char *path, struct err *err)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        err_set_errno(err, ERR_IO, errno, "cannot open %s", path);
        return NULL;
    }
    char *buf = xmalloc(DB_MIGRATION_MAX_BYTES + 1);
    size_t n = fread(buf, 1, DB_MIGRATION_MAX_BYTES + 1, f);
    fclose(f);
    if (n > DB_MIGRATION_MAX_BYTES) {
        free(buf);
        err_set(err, ERR_INVALID, "%s is larger than %d bytes", path, DB_MIGRATION_MAX_BYTES);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int
db_exec_script(PGconn *conn, const char *sql, struct err *err)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
        PQclear(res);
        return 0;
    }
    char msg[ERR_MSG_MAX];
    strlcpy_n(msg, PQerrorMessage(conn), sizeof(msg));
    msg[strcspn(msg, "\n")] = '\0';
    PQclear(res);
    return err_set(err, ERR_INTERNAL, "%s", msg);
}

static int
db_migrations_table(PGconn *conn, struct err *err)
{
    return db_cmd(conn,
                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " version integer PRIMARY KEY,"
                  " name text NOT NULL,"
                  " applied_at timestamptz NOT NULL DEFAULT now())",
                  0, NULL, err);
}

int
db_schema_version(PGconn *conn, int *version, struct err *err)
{
    PGresult *res = db_exec(conn, "SELECT to_regclass('schema_migrations') IS NULL", 0, NULL, err);
    if (!res)
        return -1;
    bool empty = db_get_bool(res, 0, 0);
    PQclear(res);
    if (empty) {
        *version = 0;
        return 0;
    }
    res = db_exec(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL, err);
    if (!res)
        return -1;
    *version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int
db_migrate(PGconn *conn, const char *dir, int *applied, struct err *err)
{
    size_t n = 0;
    struct migration *list = migrations_list(dir, &n, err);
    int rc = -1, current = 0;
    *applied = 0;
    if (!list)
        return -1;
    const char *lock_params[] = {DB_MIGRATE_LOCK_KEY};
    if (db_cmd(conn, "SELECT pg_advisory_lock($1::bigint)", 1, lock_params, err) < 0)
        goto cleanup;
    if (db_migrations_table(conn, err) < 0 || db_schema_version(conn, &current, err) < 0)
        goto unlock;
    int newest = n ? list[n - 1].version : 0;
    if (current > newest) {
        err_set(err, ERR_CONFLICT,
                "the database schema is at version %d, newer than this release knows (%d):"
                " refusing to run an older cloud-manage against it",
                current, newest);
        goto unlock;
    }
    for (size_t i = 0; i < n; i++) {
        if (list[i].version <= current)
            continue;
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, list[i].name);
        _cleanup_free_ char *sql = read_file(path, err);
        if (!sql)
            goto unlock;
        char vbuf[16];
        snprintf(vbuf, sizeof(vbuf), "%d", list[i].version);
        const char *params[] = {vbuf, list[i].name};
        if (db_begin(conn, err) < 0)
            goto unlock;
        if (db_exec_script(conn, sql, err) < 0 ||
            db_cmd(conn, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, params,
                   err) < 0 ||
            db_commit(conn, err) < 0) {
            db_rollback(conn);
            err_prefix(err, "migration %s", list[i].name);
            goto unlock;
        }
        log_info("applied migration %s", list[i].name);
        (*applied)++;
    }
    rc = 0;
unlock:
    db_cmd(conn, "SELECT pg_advisory_unlock($1::bigint)", 1, lock_params, NULL);
cleanup:
    for (size_t i = 0; i < n; i++)
        free(list[i].name);
    free(list);
    return rc;
}
