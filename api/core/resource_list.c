/* The resource engine's list (resource.h): scope, filters, sorting, keyset
 * paging, changes-since, fields= and each family's links. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "mem.h"
#include "resource.h"
#include "resource_int.h"

/* ---- list ---- */

static const char *
array_cast(enum api_field_type t)
{
    switch (t) {
    case API_FIELD_INTEGER:
        return "::bigint[])";
    case API_FIELD_NUMBER:
        return "::float8[])";
    case API_FIELD_BOOLEAN:
        return "::boolean[])";
    default:
        return "::text[])";
    }
}

/* ?field=a&field=b for every FILTER field: the row matches any of them. */
static int
add_filters(struct api_req *req, const struct api_resource *r, struct db_sql *q, struct err *err)
{
    enum api_error_style style = api_req_style(req);
    for (size_t i = 0; i < r->schema->nfields; i++) {
        const struct api_field *f = &r->schema->fields[i];
        if (!(f->flags & API_FIELD_FILTER))
            continue;
        const char *vals[RESOURCE_MAX_VALUES];
        int n = api_req_query_all(req, f->name, vals, RESOURCE_MAX_VALUES);
        if (n == 0)
            continue;
        if ((f->flags & API_FIELD_ADMIN_ONLY) && !req->ctx.is_admin)
            return err_set(err, ERR_FORBIDDEN, "Only administrators may filter on %s.", f->name);
        for (int k = 0; k < n; k++)
            if (api_schema_check_text(f, vals[k], style, err) < 0)
                return -1;
        char *arr = db_sql_text_array(vals, n);
        db_sql_add(q, " AND ");
        db_sql_ident(q, resource_field_column(f));
        db_sql_add1(q, " = ANY($?", arr);
        db_sql_add(q, array_cast(f->type));
        free(arr);
    }
    return 0;
}

struct sort_key {
    const char *column;
    bool desc;
};

/* A SORT field by its name or its column (Nova sorts flavors by memory_mb). */
static const struct api_field *
sort_field(const struct api_schema *s, const char *name)
{
    for (size_t i = 0; i < s->nfields; i++)
        if ((s->fields[i].flags & API_FIELD_SORT) &&
            (strcmp(s->fields[i].name, name) == 0 ||
             strcmp(resource_field_column(&s->fields[i]), name) == 0))
            return &s->fields[i];
    return NULL;
}

/* sort_key / sort_dir pairs over SORT fields, then the id as the tie-break. */
static int
parse_sort(struct api_req *req, const struct api_resource *r, struct sort_key *keys, int *nkeys,
           struct err *err)
{
    const char *names[RESOURCE_MAX_SORT + 1], *dirs[RESOURCE_MAX_SORT + 1];
    int nn = api_req_query_all(req, "sort_key", names, RESOURCE_MAX_SORT + 1);
    int nd = api_req_query_all(req, "sort_dir", dirs, RESOURCE_MAX_SORT + 1);
    if (nn > RESOURCE_MAX_SORT)
        return err_set(err, ERR_INVALID, "At most %d sort keys are accepted.", RESOURCE_MAX_SORT);
    if (nd > (nn ? nn : 1))
        return err_set(err, ERR_INVALID, "There are more sort_dir than sort_key arguments.");
    int n = 0;
    for (int i = 0; i < nn; i++) {
        const struct api_field *f = sort_field(r->schema, names[i]);
        if (!f)
            return err_set(err, ERR_INVALID, "Invalid sort_key %.64s: it is not a sortable field.",
                           names[i]);
        keys[n++].column = resource_field_column(f);
    }
    for (int i = 0; i < nd; i++) {
        if (strcmp(dirs[i], "asc") != 0 && strcmp(dirs[i], "desc") != 0)
            return err_set(err, ERR_INVALID, "Invalid sort_dir %.16s: it is asc or desc.", dirs[i]);
    }
    /* a lone sort_dir orders the default key */
    bool id_desc = nn == 0 && nd == 1 && strcmp(dirs[0], "desc") == 0;
    if (nn == 0 && r->default_sort) {
        keys[n].column = r->default_sort;
        keys[n++].desc = id_desc;
    }
    for (int i = 0; i < n; i++)
        keys[i].desc = i < nd ? strcmp(dirs[i], "desc") == 0 : (nd ? keys[0].desc : false);
    bool has_id = false;
    for (int i = 0; i < n; i++)
        has_id |= strcmp(keys[i].column, resource_id_column(r)) == 0;
    if (!has_id) {
        keys[n].column = resource_id_column(r);
        keys[n].desc = n > 0 ? keys[0].desc : id_desc;
        n++;
    }
    *nkeys = n;
    return 0;
}

/* The rows after the marker row in the sort order: for keys k1..kn,
 * OR over i of (k1 = m1 AND ... AND k(i-1) = m(i-1) AND ki > mi). */
static void
add_marker(struct db_sql *q, const struct api_resource *r, const struct sort_key *keys, int n,
           const char *marker)
{
    db_sql_add(q, " AND (false");
    for (int i = 0; i < n; i++) {
        db_sql_add(q, " OR (true");
        for (int j = 0; j <= i; j++) {
            db_sql_add(q, " AND ");
            db_sql_ident(q, keys[j].column);
            db_sql_add(q, j < i ? " IS NOT DISTINCT FROM " : (keys[j].desc ? " < " : " > "));
            db_sql_add(q, "(SELECT ");
            db_sql_ident(q, keys[j].column);
            db_sql_add(q, " FROM ");
            db_sql_add(q, r->table);
            db_sql_add(q, " WHERE ");
            db_sql_ident(q, resource_id_column(r));
            resource_id_is(q, r, marker);
            db_sql_add(q, ")");
        }
        db_sql_add(q, ")");
    }
    db_sql_add(q, ")");
}

static int
parse_limit(struct api_req *req, const struct api_resource *r, long *limit, struct err *err)
{
    long max = r->max_limit ? r->max_limit : 1000;
    *limit = r->default_limit ? r->default_limit : max;
    const char *v = api_req_query(req, "limit");
    if (!v || r->paging == API_PAGING_NONE)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 0)
        return err_set(err, ERR_INVALID, "Invalid limit %.32s: it is a non-negative integer.", v);
    *limit = n > max ? max : n;
    return 0;
}

/* The link to the page after @marker: the request's own query (filters,
 * sort keys) with its limit and marker replaced. */
static char *
link_href(struct api_req *req, const struct api_resource *r, const char *marker, long limit)
{
    static const char *const drop[] = {"limit", "marker", NULL};
    const char *view = req->match.route->arg == API_VIEW_DETAIL ? "/detail" : "";
    char *rest = api_req_query_except(req, drop), *m = api_url_encode(marker);
    char *href =
        r->paging == API_PAGING_GLANCE
            ? xasprintf("%s?%s%slimit=%ld&marker=%s", r->path, rest, *rest ? "&" : "", limit, m)
            : api_req_url(req, "%s%s?%s%slimit=%ld&marker=%s", r->path, view, rest,
                          *rest ? "&" : "", limit, m);
    free(m);
    free(rest);
    return href;
}

static void
add_links(struct api_req *req, const struct api_resource *r, json_t *body, const json_t *rows,
          long limit)
{
    size_t n = json_array_size(rows);
    bool asked = api_req_query(req, "limit") != NULL;
    const char *last =
        n ? json_string_value(json_object_get(json_array_get(rows, n - 1), resource_id_column(r)))
          : NULL;
    char key[96];
    snprintf(key, sizeof(key), "%s_links", r->plural);
    switch (r->paging) {
    case API_PAGING_NONE: {
        char *self = api_req_url(req, "%s", r->path);
        json_object_set_new(body, "links",
                            json_pack("{s:s,s:n,s:n}", "self", self, "previous", "next"));
        free(self);
        break;
    }
    case API_PAGING_NOVA:
    case API_PAGING_NEUTRON: {
        if (!asked || !last || (long)n < limit)
            break;
        char *href = link_href(req, r, last, limit);
        json_object_set_new(body, key, json_pack("[{s:s,s:s}]", "rel", "next", "href", href));
        free(href);
        break;
    }
    case API_PAGING_GLANCE: {
        char *first = xasprintf("%s", r->path);
        json_object_set_new(body, "first", json_string(first));
        free(first);
        if (asked && last && (long)n >= limit) {
            char *next = link_href(req, r, last, limit);
            json_object_set_new(body, "next", json_string(next));
            free(next);
        }
        break;
    }
    }
}

static int
list_query(struct api_req *req, const struct api_resource *r, struct db_sql *q, long *limit,
           struct err *err)
{
    struct sort_key keys[RESOURCE_MAX_SORT + 1];
    int nkeys = 0;
    if (parse_limit(req, r, limit, err) < 0 || parse_sort(req, r, keys, &nkeys, err) < 0)
        return -1;
    resource_select_from(q, r);
    if (resource_add_scope(req, r, q, err) < 0 || add_filters(req, r, q, err) < 0 ||
        (r->filter && r->filter(req, q, err) < 0))
        return -1;
    const char *since = api_req_query(req, "changes-since");
    if (since && r->updated_column) {
        db_sql_add(q, " AND ");
        db_sql_ident(q, r->updated_column);
        db_sql_add1(q, " >= $?::timestamptz", since);
    }
    const char *marker = r->paging == API_PAGING_NONE ? NULL : api_req_query(req, "marker");
    if (marker) {
        PGconn *conn = api_req_db(req, err);
        json_t *m = conn ? api_resource_get(req, r, conn, marker, err) : NULL;
        if (!m) {
            if (err->code == ERR_NOT_FOUND)
                err_set(err, ERR_INVALID, "marker [%.64s] not found", marker);
            return -1;
        }
        json_decref(m);
        add_marker(q, r, keys, nkeys, marker);
    }
    db_sql_add(q, " ORDER BY ");
    for (int i = 0; i < nkeys; i++) {
        if (i)
            db_sql_add(q, ", ");
        db_sql_ident(q, keys[i].column);
        db_sql_add(q, keys[i].desc ? " DESC" : " ASC");
    }
    char lim[24];
    snprintf(lim, sizeof(lim), "%ld", *limit);
    db_sql_add1(q, " LIMIT $?::bigint", lim);
    return 0;
}

int
api_resource_list(struct api_req *req, struct err *err)
{
    const struct api_resource *r = api_resource_of(req);
    if (resource_verb_begin(req, r, r->list_action, err) < 0)
        return -1;
    struct db_sql q;
    db_sql_init(&q);
    long limit = 0;
    json_t *rows = NULL;
    PGconn *conn = NULL;
    if (list_query(req, r, &q, &limit, err) == 0 && (conn = api_req_db(req, err)))
        rows = db_sql_rows(conn, &q, err);
    db_sql_free(&q);
    if (!rows) {
        if (err->code == ERR_INVALID && api_req_query(req, "changes-since"))
            err_set(err, ERR_INVALID, "Invalid changes-since value: it is an ISO 8601 time.");
        return -1;
    }
    enum api_view view =
        req->match.route->arg == API_VIEW_SUMMARY && r->render ? API_VIEW_SUMMARY : API_VIEW_DETAIL;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        json_t *doc = api_resource_render(req, r, row, view);
        resource_project_fields(req, doc);
        json_array_append_new(list, doc);
    }
    json_t *body = json_object();
    json_object_set_new(body, r->plural, list);
    add_links(req, r, body, rows, limit);
    json_decref(rows);
    api_reply_json(req, 200, body);
    return 0;
}
