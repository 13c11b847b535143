/* Compute tables: generic readers over parameterised statements. */
#include "compute_db.h"

#include <stdlib.h>

#include "db.h"

json_t *
db_compute_one(PGconn *conn, const char *what, const char *key, const char *sql, int n,
               const char *const *params, struct err *err)
{
    return db_first_row(db_query_json(conn, sql, n, params, err), err, "%s %s could not be found.",
                        what, key);
}

int
db_compute_cmd(PGconn *conn, const char *sql, int n, const char *const *params, struct err *err)
{
    PGresult *res = db_exec(conn, sql, n, params, err);
    if (!res)
        return -1;
    const char *tuples = PQcmdTuples(res);
    int touched = tuples && *tuples ? atoi(tuples) : 0;
    PQclear(res);
    return touched;
}

int
db_compute_lock_project(PGconn *conn, const char *project_id, struct err *err)
{
    const char *p[] = {project_id};
    return db_cmd(conn, "SELECT pg_advisory_xact_lock(hashtext('nube.quota.' || $1))", 1, p, err);
}
