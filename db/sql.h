/* A parameterised statement built from pieces: static SQL text from the code,
 * with "$?" where a value goes, and the values alongside. The builder numbers
 * the placeholders ($1, $2, ...) so that conditions can be added in any order
 * (filters, scope, paging) without counting by hand. Values never become SQL
 * text: they travel as parameters, as everywhere in db/. */
#ifndef NUBE_DB_SQL_H
#define NUBE_DB_SQL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "error.h"

#define DB_SQL_MAX_PARAMS 64

struct db_sql {
    char *text;
    size_t len, cap;
    int nparams;
    const char *params[DB_SQL_MAX_PARAMS];
    char *owned[DB_SQL_MAX_PARAMS]; /* the copies params[] point to (freed with the builder) */
    bool overflow;                  /* more than DB_SQL_MAX_PARAMS: the statement is refused */
};

void db_sql_init(struct db_sql *q);
void db_sql_free(struct db_sql *q);
/* Append @fragment, a string literal of the code, never input. */
void db_sql_add(struct db_sql *q, const char *fragment);
/* Append @fragment, whose "$?" placeholders each take the next of @nvalues
 * values (copied; NULL is SQL NULL). */
void db_sql_addv(struct db_sql *q, const char *fragment, int nvalues, const char *const *values);
/* Bind @n values as $1..$n for fixed text that names them by number (a
 * shared select list); call before any "$?", which then continue at $n+1. */
void db_sql_bind(struct db_sql *q, int n, const char *const *values);
/* One placeholder, one value. */
void db_sql_add1(struct db_sql *q, const char *fragment, const char *value);
/* Append a SQL identifier from the code's static tables (a column name);
 * aborts on anything but [a-z0-9_], which would be a bug in a table. */
void db_sql_ident(struct db_sql *q, const char *ident);
/* A PostgreSQL text[] literal ({"a","b"}) of @values, for "= ANY($?::text[])". */
char *db_sql_text_array(const char *const *values, int n);

/* Run the statement (db_exec / db_query_json / db_cmd on the built text). */
PGresult *db_sql_exec(PGconn *conn, const struct db_sql *q, struct err *err);
json_t *db_sql_rows(PGconn *conn, const struct db_sql *q, struct err *err);

#endif
