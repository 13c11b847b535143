/* Compute tables (db/migrations/0002_compute.sql): generic row readers the
 * compute API families use with their own parameterised statements (with
 * db_query_json() from db.h). Rows come back as db_rows_json() objects (column names as keys,
 * booleans and integers typed, SQL NULL as null). */
#ifndef NUBE_DB_COMPUTE_H
#define NUBE_DB_COMPUTE_H

#include <jansson.h>
#include <libpq-fe.h>

#include "error.h"

/* The one row of a statement; NULL with ERR_NOT_FOUND ("@what @key could not
 * be found.", Nova's wording) when there is none. */
json_t *db_compute_one(PGconn *conn, const char *what, const char *key, const char *sql, int n,
                       const char *const *params, struct err *err);
/* Rows a statement touched, or -1. */
int db_compute_cmd(PGconn *conn, const char *sql, int n, const char *const *params,
                   struct err *err);
/* Serialise writers of one project's quota-counted resources for the rest of
 * the transaction (pg_advisory_xact_lock on the project id). */
int db_compute_lock_project(PGconn *conn, const char *project_id, struct err *err);

#endif
