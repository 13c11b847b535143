/* The statement builder (sql.h). */
#include "sql.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "mem.h"

void
db_sql_init(struct db_sql *q)
{
    memset(q, 0, sizeof(*q));
    q->cap = 256;
    q->text = xmalloc(q->cap);
    q->text[0] = '\0';
}

void
db_sql_free(struct db_sql *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->nparams; i++)
        free(q->owned[i]);
    free(q->text);
    memset(q, 0, sizeof(*q));
}

static void
sql_put(struct db_sql *q, const char *s, size_t n)
{
    if (q->len + n + 1 > q->cap) {
        while (q->len + n + 1 > q->cap)
            q->cap *= 2;
        q->text = xrealloc(q->text, q->cap);
    }
    memcpy(q->text + q->len, s, n);
    q->len += n;
    q->text[q->len] = '\0';
}

void
db_sql_add(struct db_sql *q, const char *fragment)
{
    sql_put(q, fragment, strlen(fragment));
}

void
db_sql_addv(struct db_sql *q, const char *fragment, int nvalues, const char *const *values)
{
    int used = 0;
    const char *p = fragment;
    for (const char *hole; (hole = strstr(p, "$?")); p = hole + 2) {
        sql_put(q, p, (size_t)(hole - p));
        if (used >= nvalues || q->nparams >= DB_SQL_MAX_PARAMS) {
            q->overflow = true;
            return;
        }
        const char *v = values[used++];
        q->owned[q->nparams] = v ? xstrdup(v) : NULL;
        q->params[q->nparams] = q->owned[q->nparams];
        q->nparams++;
        char num[16];
        int n = snprintf(num, sizeof(num), "$%d", q->nparams);
        sql_put(q, num, (size_t)n);
    }
    sql_put(q, p, strlen(p));
    if (used != nvalues)
        q->overflow = true;
}

void
db_sql_bind(struct db_sql *q, int n, const char *const *values)
{
    for (int i = 0; i < n; i++) {
        if (q->nparams >= DB_SQL_MAX_PARAMS) {
            q->overflow = true;
            return;
        }
        q->owned[q->nparams] = values[i] ? xstrdup(values[i]) : NULL;
        q->params[q->nparams] = q->owned[q->nparams];
        q->nparams++;
    }
}

void
db_sql_add1(struct db_sql *q, const char *fragment, const char *value)
{
    db_sql_addv(q, fragment, 1, &value);
}

void
db_sql_ident(struct db_sql *q, const char *ident)
{
    if (!*ident)
        abort();
    for (const char *p = ident; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            abort(); /* identifiers come from static tables: a bug, not input */
    sql_put(q, ident, strlen(ident));
}

char *
db_sql_text_array(const char *const *values, int n)
{
    size_t cap = 3;
    for (int i = 0; i < n; i++)
        cap += 3 + 2 * strlen(values[i]);
    char *out = xmalloc(cap), *w = out;
    *w++ = '{';
    for (int i = 0; i < n; i++) {
        if (i)
            *w++ = ',';
        *w++ = '"';
        for (const char *s = values[i]; *s; s++) {
            if (*s == '"' || *s == '\\')
                *w++ = '\\';
            *w++ = *s;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    return out;
}

PGresult *
db_sql_exec(PGconn *conn, const struct db_sql *q, struct err *err)
{
    if (q->overflow) {
        err_set(err, ERR_INVALID, "The request has too many conditions.");
        return NULL;
    }
    return db_exec(conn, q->text, q->nparams, q->params, err);
}

json_t *
db_sql_rows(PGconn *conn, const struct db_sql *q, struct err *err)
{
    PGresult *res = db_sql_exec(conn, q, err);
    if (!res)
        return NULL;
    json_t *rows = db_rows_json(res);
    PQclear(res);
    return rows;
}
