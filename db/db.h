/* The PostgreSQL layer: a connection pool safe for the API's threads, and
 * parameterised queries only (SQL is never built from input). */
#ifndef NUBE_DB_H
#define NUBE_DB_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "error.h"

struct db_pool;

/* @conninfo is a libpq connection string or URI. Connections are opened lazily,
 * up to @size; a broken connection is reset on its next acquire. */
struct db_pool *db_pool_new(const char *conninfo, int size, struct err *err);
void db_pool_free(struct db_pool *pool);

/* Wait up to the pool's timeout (5 s) for a free connection. ERR_UNAVAILABLE
 * when the database cannot be reached. */
PGconn *db_pool_acquire(struct db_pool *pool, struct err *err);
/* Return a connection; a connection left inside a transaction is rolled back. */
void db_pool_release(struct db_pool *pool, PGconn *conn);

/* Run a parameterised statement (text parameters, text results). Returns the
 * result for PGRES_TUPLES_OK / PGRES_COMMAND_OK, else NULL with @err set:
 * unique_violation -> ERR_CONFLICT, foreign_key_violation -> ERR_CONFLICT,
 * invalid_text_representation / check_violation -> ERR_INVALID, a lost
 * connection -> ERR_UNAVAILABLE, anything else ERR_INTERNAL. */
PGresult *db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
                  struct err *err);
/* db_exec for statements whose result is not needed. */
int db_cmd(PGconn *conn, const char *sql, int nparams, const char *const *params, struct err *err);

int db_begin(PGconn *conn, struct err *err);
int db_commit(PGconn *conn, struct err *err);
void db_rollback(PGconn *conn);

/* Value of row @row, column @col, or NULL when SQL NULL. */
const char *db_get(const PGresult *res, int row, int col);
bool db_get_bool(const PGresult *res, int row, int col);

/* Every row of @res as an array of JSON objects: column names as keys,
 * booleans and integers typed, SQL NULL as null, everything else a string. */
json_t *db_rows_json(const PGresult *res);
/* db_exec, with the rows as db_rows_json() gives them. */
json_t *db_query_json(PGconn *conn, const char *sql, int nparams, const char *const *params,
                      struct err *err);
/* The first row of @rows (a new reference), consuming @rows: NULL when @rows
 * is NULL (the query failed: @err says why) or empty (then ERR_NOT_FOUND with
 * the message @fmt). So `db_first_row(db_query_json(...), err, "...")`. */
json_t *db_first_row(json_t *rows, struct err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- migrations (db/migrations/NNNN_name.sql) ---- */

/* Apply every migration newer than the recorded version, each in its own
 * transaction, under an advisory lock. Refuses (ERR_CONFLICT) when the database
 * records a version newer than the newest file in @dir. */
int db_migrate(PGconn *conn, const char *dir, int *applied, struct err *err);
/* The recorded schema version (0 for an empty database). */
int db_schema_version(PGconn *conn, int *version, struct err *err);

#endif
