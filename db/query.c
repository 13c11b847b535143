/* Parameterised statements and transactions, with SQLSTATEs mapped to the
 * project's error codes. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "mem.h"

static enum err_code
db_sqlstate_code(const char *state)
{
    if (!state)
        return ERR_UNAVAILABLE; /* no SQLSTATE: the connection itself failed */
    if (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0 || strcmp(state, "40001") == 0 ||
        strcmp(state, "40P01") == 0)
        return ERR_CONFLICT; /* unique / foreign key / serialization / deadlock */
    if (strcmp(state, "22P02") == 0 || strcmp(state, "23514") == 0 || strcmp(state, "22001") == 0 ||
        strcmp(state, "23502") == 0 || strcmp(state, "22003") == 0 || strcmp(state, "22007") == 0 ||
        strcmp(state, "22008") == 0 || strcmp(state, "22021") == 0)
        return ERR_INVALID; /* bad text / check / too long / not null / range / encoding */
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
        return ERR_UNAVAILABLE; /* connection exceptions, admin shutdown */
    return ERR_INTERNAL;
}

PGresult *
db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params, struct err *err)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[ERR_MSG_MAX];
    strlcpy_n(msg, primary ? primary : PQerrorMessage(conn), sizeof(msg));
    msg[strcspn(msg, "\n")] = '\0';
    err_set(err, db_sqlstate_code(state), "database: %s", msg);
    PQclear(res);
    return NULL;
}

int
db_cmd(PGconn *conn, const char *sql, int nparams, const char *const *params, struct err *err)
{
    PGresult *res = db_exec(conn, sql, nparams, params, err);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

int
db_begin(PGconn *conn, struct err *err)
{
    return db_cmd(conn, "BEGIN", 0, NULL, err);
}

int
db_commit(PGconn *conn, struct err *err)
{
    return db_cmd(conn, "COMMIT", 0, NULL, err);
}

void
db_rollback(PGconn *conn)
{
    PQclear(PQexec(conn, "ROLLBACK"));
}

const char *
db_get(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

bool
db_get_bool(const PGresult *res, int row, int col)
{
    const char *v = db_get(res, row, col);
    return v && v[0] == 't';
}

/* PostgreSQL type oids (catalog/pg_type.h is a server header). */
#define DB_OID_BOOL 16
#define DB_OID_INT8 20
#define DB_OID_INT2 21
#define DB_OID_INT4 23

json_t *
db_rows_json(const PGresult *res)
{
    json_t *rows = json_array();
    int nrows = PQntuples(res), ncols = PQnfields(res);
    for (int r = 0; r < nrows; r++) {
        json_t *row = json_object();
        for (int c = 0; c < ncols; c++) {
            json_t *v;
            if (PQgetisnull(res, r, c)) {
                v = json_null();
            } else {
                const char *s = PQgetvalue(res, r, c);
                switch (PQftype(res, c)) {
                case DB_OID_BOOL:
                    v = json_boolean(s[0] == 't');
                    break;
                case DB_OID_INT2:
                case DB_OID_INT4:
                case DB_OID_INT8:
                    v = json_integer(strtoll(s, NULL, 10));
                    break;
                default:
                    v = json_string(s);
                    /* the server only sends valid UTF-8 text; be safe anyway */
                    if (!v)
                        v = json_null();
                }
            }
            json_object_set_new(row, PQfname(res, c), v);
        }
        json_array_append_new(rows, row);
    }
    return rows;
}

json_t *
db_first_row(json_t *rows, struct err *err, const char *fmt, ...)
{
    if (!rows)
        return NULL;
    json_t *row = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    if (!row) {
        char msg[ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        err_set(err, ERR_NOT_FOUND, "%s", msg);
    }
    return row;
}

json_t *
db_query_json(PGconn *conn, const char *sql, int nparams, const char *const *params,
              struct err *err)
{
    PGresult *res = db_exec(conn, sql, nparams, params, err);
    if (!res)
        return NULL;
    json_t *rows = db_rows_json(res);
    PQclear(res);
    return rows;
}
