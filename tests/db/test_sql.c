/* db/sql.h, the statement builder: placeholders are numbered in order across
 * fragments, values are copied and never become SQL text, text[] literals
 * escape quotes and backslashes, and a builder past its parameter limit
 * refuses to run. Pure: no database. */
#include <string.h>

#include "check.h"
#include "sql.h"

static void
test_numbering(void)
{
    struct db_sql q;
    db_sql_init(&q);
    db_sql_add(&q, "SELECT * FROM flavor f WHERE true");
    db_sql_add1(&q, " AND f.name = $?", "m1.tiny");
    const char *v[] = {"512", NULL};
    db_sql_addv(&q, " AND f.memory_mb >= $?::bigint AND f.description IS NOT DISTINCT FROM $?", 2,
                v);
    db_sql_add(&q, " ORDER BY ");
    db_sql_ident(&q, "memory_mb");
    CHECK_STR(q.text, "SELECT * FROM flavor f WHERE true AND f.name = $1 AND f.memory_mb >= "
                      "$2::bigint AND f.description IS NOT DISTINCT FROM $3 ORDER BY memory_mb");
    CHECK_INT(q.nparams, 3);
    CHECK_STR(q.params[0], "m1.tiny");
    CHECK_STR(q.params[1], "512");
    CHECK(q.params[2] == NULL);
    CHECK(!q.overflow);
    db_sql_free(&q);
}

static void
test_values_are_copied(void)
{
    struct db_sql q;
    db_sql_init(&q);
    char buf[16];
    strcpy(buf, "first");
    db_sql_add1(&q, "x = $?", buf);
    strcpy(buf, "changed");
    CHECK_STR(q.params[0], "first");
    /* a value that looks like SQL stays a value */
    db_sql_add1(&q, " AND y = $?", "'; DROP TABLE flavor; --");
    CHECK_STR(q.text, "x = $1 AND y = $2");
    db_sql_free(&q);
}

static void
test_text_array(void)
{
    const char *v[] = {"a", "b\"c", "d\\e", ""};
    char *arr = db_sql_text_array(v, 4);
    CHECK_STR(arr, "{\"a\",\"b\\\"c\",\"d\\\\e\",\"\"}");
    free(arr);
    arr = db_sql_text_array(NULL, 0);
    CHECK_STR(arr, "{}");
    free(arr);
}

static void
test_overflow(void)
{
    struct db_sql q;
    db_sql_init(&q);
    for (int i = 0; i < DB_SQL_MAX_PARAMS + 1; i++)
        db_sql_add1(&q, " $?", "v");
    CHECK(q.overflow);
    struct err err = ERR_INIT;
    CHECK(db_sql_exec(NULL, &q, &err) == NULL);
    CHECK_INT(err.code, ERR_INVALID);
    db_sql_free(&q);
    /* fewer values than holes, or more, is a bug the builder reports */
    db_sql_init(&q);
    const char *one[] = {"v"};
    db_sql_addv(&q, "$? $?", 1, one);
    CHECK(q.overflow);
    db_sql_free(&q);
}

int
main(void)
{
    test_numbering();
    test_values_are_copied();
    test_text_array();
    test_overflow();
    return check_done();
}
