/* The resource engine (resource.h): the shared steps, and show, create,
 * update and delete. Lists are in resource_list.c. */
#include "resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "id.h"
#include "mem.h"
#include "policy.h"
#include "resource_int.h"

/* ---- small helpers ---- */

const struct api_resource *
api_resource_of(const struct api_req *req)
{
    return req->match.route->data;
}

enum api_error_style
api_req_style(const struct api_req *req)
{
    return req->match.table ? req->match.table->errors : API_ERRORS_KEYSTONE;
}

void
api_values_set(struct api_values *v, const char *column, const char *value)
{
    for (int i = 0; i < v->n; i++)
        if (strcmp(v->columns[i], column) == 0) {
            free(v->values[i]);
            v->values[i] = value ? xstrdup(value) : NULL;
            return;
        }
    if (v->n >= API_VALUES_MAX)
        abort(); /* more columns than a table has: a bug in a description */
    v->columns[v->n] = column;
    v->values[v->n++] = value ? xstrdup(value) : NULL;
}

void
api_values_drop(struct api_values *v, const char *column)
{
    for (int i = 0; i < v->n; i++)
        if (strcmp(v->columns[i], column) == 0) {
            free(v->values[i]);
            v->n--;
            memmove(&v->columns[i], &v->columns[i + 1], (size_t)(v->n - i) * sizeof(v->columns[0]));
            memmove(&v->values[i], &v->values[i + 1], (size_t)(v->n - i) * sizeof(v->values[0]));
            return;
        }
}

const char *
api_values_get(const struct api_values *v, const char *column)
{
    for (int i = 0; i < v->n; i++)
        if (strcmp(v->columns[i], column) == 0)
            return v->values[i];
    return NULL;
}

static void
values_free(struct api_values *v)
{
    for (int i = 0; i < v->n; i++)
        free(v->values[i]);
    v->n = 0;
}

const char *
resource_field_column(const struct api_field *f)
{
    return f->column ? f->column : f->name;
}

const char *
resource_id_column(const struct api_resource *r)
{
    return r->id_column ? r->id_column : "id";
}

/* " = $?" for the id column: as a uuid where the column is one (so that its
 * index serves; callers check the text first), else as text. */
void
resource_id_is(struct db_sql *q, const struct api_resource *r, const char *id)
{
    db_sql_add1(q, r->uuid_id ? " = $?::uuid" : " = $?", id);
}

/* "FROM flavor" with the select list. */
void
resource_select_from(struct db_sql *q, const struct api_resource *r)
{
    db_sql_add(q, "SELECT ");
    db_sql_add(q, r->select ? r->select : "*");
    db_sql_add(q, " FROM ");
    db_sql_add(q, r->table);
    db_sql_add(q, " WHERE true");
}

/* The caller's rows: the scope hook, or the project column for non-admins. */
int
resource_add_scope(struct api_req *req, const struct api_resource *r, struct db_sql *q,
                   struct err *err)
{
    if (r->scope)
        return r->scope(req, q, err);
    if (r->project_column && !req->ctx.is_admin) {
        db_sql_add(q, " AND ");
        db_sql_ident(q, r->project_column);
        db_sql_add1(q, " = $?", req->ctx.project_id);
    }
    return 0;
}

static int
resource_status(const struct api_req *req, const struct api_resource *r, int status)
{
    return r->status ? r->status(req, status) : status;
}

/* 404 in the family's words. */
int
resource_not_found(const struct api_req *req, const struct api_resource *r, const char *id,
                   struct err *err)
{
    switch (api_req_style(req)) {
    case API_ERRORS_KEYSTONE:
        return err_set(err, ERR_NOT_FOUND, "Could not find %s: %.64s.", r->noun, id);
    case API_ERRORS_GLANCE:
        return err_set(err, ERR_NOT_FOUND, "No %s found with ID %.64s", r->noun, id);
    default:
        return err_set(err, ERR_NOT_FOUND, "%s %.64s could not be found.", r->noun, id);
    }
}

json_t *
api_resource_get(struct api_req *req, const struct api_resource *r, PGconn *conn, const char *id,
                 struct err *err)
{
    if (r->uuid_id && !id_is_uuid(id)) {
        resource_not_found(req, r, id, err);
        return NULL;
    }
    struct db_sql q;
    db_sql_init(&q);
    resource_select_from(&q, r);
    db_sql_add(&q, " AND ");
    db_sql_ident(&q, resource_id_column(r));
    resource_id_is(&q, r, id);
    json_t *row = NULL;
    if (resource_add_scope(req, r, &q, err) == 0)
        row =
            db_first_row(db_sql_rows(conn, &q, err), err, "%s %s could not be found.", r->noun, id);
    if (!row && err->code == ERR_NOT_FOUND)
        resource_not_found(req, r, id, err);
    db_sql_free(&q);
    return row;
}

static int
check_policy(struct api_req *req, const struct api_resource *r, const char *action,
             const json_t *row, struct err *err)
{
    struct policy_target t = {.project_id = req->ctx.project_id};
    if (row && r->project_column)
        t.project_id = json_string_value(json_object_get(row, r->project_column));
    if (row && r->user_column)
        t.user_id = json_string_value(json_object_get(row, r->user_column));
    return policy_check(&req->ctx, action, &t, err);
}

/* begin hook, then the verb's policy on the caller's own project. */
int
resource_verb_begin(struct api_req *req, const struct api_resource *r, const char *action,
                    struct err *err)
{
    if (r->begin && r->begin(req, err) < 0)
        return -1;
    return action ? check_policy(req, r, action, NULL, err) : 0;
}

/* ---- rendering ---- */

json_t *
api_resource_render(struct api_req *req, const struct api_resource *r, const json_t *row,
                    enum api_view view)
{
    if (r->render)
        return r->render(req, row, view);
    json_t *doc = json_object();
    for (size_t i = 0; i < r->schema->nfields; i++) {
        const struct api_field *f = &r->schema->fields[i];
        if ((f->flags & API_FIELD_HIDDEN) ||
            ((f->flags & API_FIELD_ADMIN_ONLY) && !req->ctx.is_admin))
            continue;
        json_t *v = json_object_get(row, resource_field_column(f));
        if (!v)
            continue;
        bool structured = f->type == API_FIELD_OBJECT || f->type == API_FIELD_ARRAY ||
                          f->type == API_FIELD_STRING_MAP;
        if (structured && json_is_string(v)) {
            json_t *parsed = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
            json_object_set_new(doc, f->name, parsed ? parsed : json_null());
        } else {
            json_object_set(doc, f->name, v);
        }
    }
    return doc;
}

/* Neutron's fields=: keep only the members asked for (none asked: all). */
void
resource_project_fields(struct api_req *req, json_t *doc)
{
    const struct api_resource *r = api_resource_of(req);
    if (r->paging != API_PAGING_NEUTRON) /* the other families ignore fields= */
        return;
    const char *want[RESOURCE_MAX_VALUES];
    int n = api_req_query_all(req, "fields", want, RESOURCE_MAX_VALUES);
    if (n == 0)
        return;
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe (doc, tmp, key, v) {
        bool keep = false;
        for (int i = 0; i < n && !keep; i++)
            keep = strcmp(want[i], key) == 0;
        if (!keep)
            json_object_del(doc, key);
    }
}

/* ---- show, delete ---- */

/* The {id_param} row in scope, after the verb's begin and policy on the row. */
static json_t *
member_row(struct api_req *req, const struct api_resource *r, const char *action, PGconn **conn,
           struct err *err)
{
    if (r->begin && r->begin(req, err) < 0)
        return NULL;
    *conn = api_req_db(req, err);
    json_t *row =
        *conn ? api_resource_get(req, r, *conn, api_req_param(req, r->id_param), err) : NULL;
    if (row && check_policy(req, r, action, row, err) < 0) {
        json_decref(row);
        return NULL;
    }
    return row;
}

static void
reply_one(struct api_req *req, const struct api_resource *r, int status, const json_t *row)
{
    json_t *doc = api_resource_render(req, r, row, API_VIEW_DETAIL);
    resource_project_fields(req, doc);
    json_t *body = json_object();
    json_object_set_new(body, r->singular, doc);
    api_reply_json(req, status, body);
}

int
api_resource_show(struct api_req *req, struct err *err)
{
    const struct api_resource *r = api_resource_of(req);
    PGconn *conn;
    json_t *row = member_row(req, r, r->show_action, &conn, err);
    if (!row)
        return -1;
    reply_one(req, r, 200, row);
    json_decref(row);
    return 0;
}

int
api_resource_delete(struct api_req *req, struct err *err)
{
    const struct api_resource *r = api_resource_of(req);
    PGconn *conn;
    json_t *row = member_row(req, r, r->delete_action, &conn, err);
    if (!row)
        return -1;
    int rc = r->before_delete ? r->before_delete(req, conn, row, err) : 0;
    json_decref(row);
    if (rc < 0)
        return -1;
    const char *id = api_req_param(req, r->id_param);
    struct db_sql q;
    db_sql_init(&q);
    db_sql_add(&q, "DELETE FROM ");
    db_sql_add(&q, r->table);
    db_sql_add(&q, " WHERE ");
    db_sql_ident(&q, resource_id_column(r));
    resource_id_is(&q, r, id);
    PGresult *res = resource_add_scope(req, r, &q, err) == 0 ? db_sql_exec(conn, &q, err) : NULL;
    db_sql_free(&q);
    if (!res)
        return -1;
    bool gone = atoi(PQcmdTuples(res)) == 0;
    PQclear(res);
    if (gone) /* deleted by another request meanwhile */
        return resource_not_found(req, r, id, err);
    api_reply_empty(req, resource_status(req, r, r->delete_status ? r->delete_status : 204));
    return 0;
}

/* ---- create, update ---- */

/* A body member as the text parameter of its column. */
static char *
value_text(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return xstrdup(json_string_value(v));
    case JSON_INTEGER:
        return xasprintf("%lld", (long long)json_integer_value(v));
    case JSON_REAL:
        return xasprintf("%.17g", json_real_value(v));
    case JSON_TRUE:
        return xstrdup("t");
    case JSON_FALSE:
        return xstrdup("f");
    case JSON_NULL:
        return NULL;
    default:
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
}

/* The validated object's fields as column values, then the prepare hook. */
static int
object_values(struct api_req *req, const struct api_resource *r, const json_t *obj,
              enum api_schema_op op, struct api_values *vals, struct err *err)
{
    if (api_schema_validate(r->schema, obj, op, req->ctx.is_admin, api_req_style(req), err) < 0)
        return -1;
    for (size_t i = 0; i < r->schema->nfields; i++) {
        const struct api_field *f = &r->schema->fields[i];
        json_t *v = json_object_get(obj, f->name);
        /* a null on create leaves the column's default */
        if (!v || (f->flags & API_FIELD_READ_ONLY) || (json_is_null(v) && op == API_SCHEMA_CREATE))
            continue;
        char *text = value_text(v);
        api_values_set(vals, resource_field_column(f), text);
        free(text);
    }
    return r->prepare ? r->prepare(req, obj, vals, op, err) : 0;
}

/* Run an INSERT or UPDATE ... RETURNING: the row, or NULL (a duplicate in
 * the family's words). */
static json_t *
write_row(struct api_req *req, const struct api_resource *r, PGconn *conn, struct db_sql *q,
          const struct api_values *vals, struct err *err)
{
    db_sql_add(q, " RETURNING ");
    db_sql_add(q, r->select ? r->select : "*");
    const char *id = api_values_get(vals, resource_id_column(r));
    json_t *row =
        db_first_row(db_sql_rows(conn, q, err), err, "%s %s could not be found.", r->noun, id);
    if (!row && err->code == ERR_NOT_FOUND)
        resource_not_found(req, r, id, err);
    if (!row && err->code == ERR_CONFLICT) {
        if (r->conflict)
            r->conflict(req, vals, err);
        else
            err_set(err, ERR_CONFLICT, "A %s with these attributes already exists.", r->singular);
    }
    return row;
}

/* "flavor AS f" for INSERT/UPDATE from "flavor f". */
static void
table_as(struct db_sql *q, const char *table)
{
    const char *sp = strchr(table, ' ');
    if (!sp) {
        db_sql_add(q, table);
        return;
    }
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)(sp - table), table);
    db_sql_add(q, name);
    db_sql_add(q, " AS");
    db_sql_add(q, sp);
}

/* One object of a create: its values, the id, the project, the quota hook,
 * the INSERT; the row. */
static json_t *
create_one(struct api_req *req, const struct api_resource *r, PGconn *conn, const json_t *obj,
           struct err *err)
{
    struct api_values vals = {0};
    struct db_sql q;
    db_sql_init(&q);
    json_t *row = NULL;
    if (object_values(req, r, obj, API_SCHEMA_CREATE, &vals, err) < 0)
        goto cleanup;
    const char *given = r->id_field ? api_values_get(&vals, r->id_field) : NULL;
    if (!given) {
        char id[ID_UUID_LEN + 1];
        if (r->hex_id)
            id_hex(id);
        else
            id_uuid(id);
        api_values_set(&vals, resource_id_column(r), id);
    } else if (strcmp(r->id_field, resource_id_column(r)) != 0) {
        api_values_set(&vals, resource_id_column(r), given);
    }
    if (r->project_column && !api_values_get(&vals, r->project_column))
        api_values_set(&vals, r->project_column, req->ctx.project_id);
    if (r->before_create && r->before_create(req, conn, &vals, err) < 0)
        goto cleanup;
    db_sql_add(&q, "INSERT INTO ");
    table_as(&q, r->table);
    db_sql_add(&q, " (");
    for (int i = 0; i < vals.n; i++) {
        db_sql_add(&q, i ? ", " : "");
        db_sql_ident(&q, vals.columns[i]);
    }
    db_sql_add(&q, ") VALUES (");
    for (int i = 0; i < vals.n; i++)
        db_sql_add1(&q, i ? ", $?" : "$?", vals.values[i]);
    db_sql_add(&q, ")");
    row = write_row(req, r, conn, &q, &vals, err);
cleanup:
    db_sql_free(&q);
    values_free(&vals);
    return row;
}

/* The objects to create: {"<singular>": {...}}, or with bulk also
 * {"<plural>": [{...}, ...]} (at most max_limit). */
static json_t *
create_objects(struct api_req *req, const struct api_resource *r, bool *bulk, struct err *err)
{
    json_t *body = api_req_json(req, err);
    if (!body)
        return NULL;
    json_t *many = r->bulk ? json_object_get(body, r->plural) : NULL;
    *bulk = many != NULL;
    if (!many) {
        json_t *one = api_schema_unwrap(r->schema, body, api_req_style(req), err);
        return one ? json_pack("[O]", one) : NULL;
    }
    size_t n = json_array_size(many);
    if (!json_is_array(many) || n == 0 || n > (size_t)(r->max_limit ? r->max_limit : 1000)) {
        err_set(err, ERR_INVALID, "Invalid input for %s: a list of 1 to %ld objects is required.",
                r->plural, r->max_limit ? r->max_limit : 1000);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!json_is_object(json_array_get(many, i))) {
            err_set(err, ERR_INVALID, "Invalid input for %s: item %zu is not an object.", r->plural,
                    i);
            return NULL;
        }
    return json_incref(many);
}

int
api_resource_create(struct api_req *req, struct err *err)
{
    const struct api_resource *r = api_resource_of(req);
    if (resource_verb_begin(req, r, r->create_action, err) < 0)
        return -1;
    bool bulk = false;
    json_t *objs = create_objects(req, r, &bulk, err);
    PGconn *conn = objs ? api_req_db(req, err) : NULL;
    if (!conn) {
        json_decref(objs);
        return -1;
    }
    /* one transaction for every object, and for a quota's count and its insert */
    bool tx = bulk || r->before_create;
    json_t *docs = json_array();
    int rc = tx ? db_begin(conn, err) : 0;
    size_t i;
    json_t *obj;
    json_array_foreach (objs, i, obj) {
        json_t *row = rc == 0 ? create_one(req, r, conn, obj, err) : NULL;
        if (!row) {
            rc = -1;
            break;
        }
        json_t *doc = api_resource_render(req, r, row, API_VIEW_DETAIL);
        resource_project_fields(req, doc);
        json_array_append_new(docs, doc);
        json_decref(row);
    }
    if (tx && (rc < 0 || db_commit(conn, err) < 0)) {
        db_rollback(conn);
        rc = -1;
    }
    json_decref(objs);
    if (rc < 0) {
        json_decref(docs);
        return -1;
    }
    json_t *body = json_object();
    if (bulk)
        json_object_set_new(body, r->plural, docs);
    else {
        json_object_set(body, r->singular, json_array_get(docs, 0));
        json_decref(docs);
    }
    api_reply_json(req, resource_status(req, r, r->create_status ? r->create_status : 201), body);
    return 0;
}

int
api_resource_update(struct api_req *req, struct err *err)
{
    const struct api_resource *r = api_resource_of(req);
    PGconn *conn;
    json_t *row = member_row(req, r, r->update_action, &conn, err);
    if (!row)
        return -1;
    json_decref(row);
    row = NULL;
    const char *id = api_req_param(req, r->id_param);
    struct api_values vals = {0};
    struct db_sql q;
    db_sql_init(&q);
    int rc = -1;
    json_t *body = api_req_json(req, err);
    json_t *obj = body ? api_schema_unwrap(r->schema, body, api_req_style(req), err) : NULL;
    if (!obj || object_values(req, r, obj, API_SCHEMA_UPDATE, &vals, err) < 0)
        goto cleanup;
    db_sql_add(&q, "UPDATE ");
    table_as(&q, r->table);
    db_sql_add(&q, " SET ");
    db_sql_ident(&q, resource_id_column(r));
    db_sql_add(&q, " = ");
    db_sql_ident(&q, resource_id_column(r));
    for (int i = 0; i < vals.n; i++) {
        db_sql_add(&q, ", ");
        db_sql_ident(&q, vals.columns[i]);
        db_sql_add1(&q, " = $?", vals.values[i]);
    }
    if (r->updated_column) {
        db_sql_add(&q, ", ");
        db_sql_ident(&q, r->updated_column);
        db_sql_add(&q, " = now()");
    }
    if (r->revision_column) {
        db_sql_add(&q, ", ");
        db_sql_ident(&q, r->revision_column);
        db_sql_add(&q, " = ");
        db_sql_ident(&q, r->revision_column);
        db_sql_add(&q, " + 1");
    }
    db_sql_add(&q, " WHERE ");
    db_sql_ident(&q, resource_id_column(r));
    resource_id_is(&q, r, id);
    if (resource_add_scope(req, r, &q, err) == 0) {
        api_values_set(&vals, resource_id_column(r), id);
        row = write_row(req, r, conn, &q, &vals, err);
        if (row) {
            reply_one(req, r, resource_status(req, r, r->update_status ? r->update_status : 200),
                      row);
            json_decref(row);
            rc = 0;
        }
    }
cleanup:
    db_sql_free(&q);
    values_free(&vals);
    return rc;
}
