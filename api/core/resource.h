/* The resource engine: an API resource is a description (its names, its field
 * schema, its table, its policy action per verb and its paging style), and
 * generic handlers serve list, show, create, update and delete from it. A
 * resource's file holds the description and hooks only for what is not CRUD.
 * In the spirit of libvirt's remote_protocol.x and Redis's command tables: the
 * table is the documentation, the dispatch is generic.
 *
 * What the generic handlers do:
 * - list: scope (the caller's project unless admin, or the resource's scope
 *   hook), FILTER fields from the query (?name=a&name=b: any of them),
 *   sort_key/sort_dir over SORT fields (several keys; the id breaks ties),
 *   limit (bounded by max_limit) and marker (keyset paging: the rows after the
 *   marker row in the sort order), changes-since over updated_column, fields=
 *   (Neutron's projection), and the family's next/previous links.
 * - show: the row in scope or 404 ("<Noun> <id> could not be found.").
 * - create: the body unwrapped and validated against the schema (schema.h),
 *   columns from the fields given, the project from the token, an id made
 *   unless the schema lets the caller name it; a duplicate is 409.
 * - update: validated as an update, only the fields given change.
 * - delete: the row in scope or 404; the before_delete hook may refuse (409).
 * Every verb first runs the family's begin hook (e.g. Nova's microversion
 * check), then policy_check with the verb's action; show, update and delete
 * check it against the row's project. */
#ifndef NUBE_API_RESOURCE_H
#define NUBE_API_RESOURCE_H

#include <jansson.h>
#include <libpq-fe.h>

#include "api.h"
#include "schema.h"
#include "sql.h"

enum api_view {
    API_VIEW_SUMMARY, /* Nova's /flavors (id, name, links) */
    API_VIEW_DETAIL,  /* everything the caller may see */
};

/* How a family pages its lists. */
enum api_paging {
    API_PAGING_NONE,    /* Keystone: "links": {self, previous, next: null}; no limit/marker */
    API_PAGING_NOVA,    /* "<plural>_links": [{rel: next}] when a full page was asked with limit */
    API_PAGING_NEUTRON, /* "<plural>_links": next and previous when limit is given */
    API_PAGING_GLANCE,  /* "first" and "next" members (paths with the query) */
};

/* Column values for an INSERT or UPDATE: the schema's fields that the body
 * gave, then what a prepare hook adds. Values are text parameters (NULL for
 * SQL NULL). */
#define API_VALUES_MAX 48
struct api_values {
    int n;
    const char *columns[API_VALUES_MAX]; /* from static tables */
    char *values[API_VALUES_MAX];        /* owned */
};
/* Set @column to @value (copied; NULL for SQL NULL), replacing an earlier value. */
void api_values_set(struct api_values *v, const char *column, const char *value);
/* Forget @column (a body member that has no column of its own). */
void api_values_drop(struct api_values *v, const char *column);
/* The value set for @column, or NULL (also when it is set to NULL). */
const char *api_values_get(const struct api_values *v, const char *column);

struct api_resource {
    const char *singular; /* "flavor": the body key of one */
    const char *plural;   /* "flavors": the body key of a list */
    const char *noun;     /* "Flavor" ("Flavor x could not be found."), "role" ("Could not
                             find role: x.") */
    const char *id_param; /* "flavor_id": the {param} of the member path */
    const char *path;     /* COMPUTE_V21 "/flavors": the collection, for links */
    const struct api_schema *schema;

    /* ---- the table ---- */
    const char *table;           /* "flavor" */
    const char *select;          /* the select list; NULL: "*" */
    const char *id_column;       /* NULL: "id" */
    const char *project_column;  /* project-owned rows: scoped to the caller unless admin */
    const char *user_column;     /* the owner user, for rules on %(user_id)s (a user's own) */
    const char *updated_column;  /* changes-since, set on update; NULL: not kept */
    const char *revision_column; /* incremented on update (Neutron's revision_number) */
    const char *id_field;        /* a schema field the caller may use to name the id on create */
    bool hex_id;                 /* made ids are 32 hex digits (Keystone), not UUIDs */
    bool uuid_id;                /* the id column is a uuid: other ids are 404 at once */
    const char *default_sort;    /* the column a list is sorted by without sort_key; NULL: the id */
    long default_limit;          /* a list's size without ?limit (0: max_limit) */
    long max_limit;              /* 0: 1000 */
    enum api_paging paging;
    bool bulk; /* POST {"<plural>": [...]} creates each, all or none (Neutron) */

    /* ---- policy: one action per verb (NULL: the verb is not served) ---- */
    const char *list_action, *show_action, *create_action, *update_action, *delete_action;
    int create_status; /* 0: 201 */
    int update_status; /* 0: 200 */
    int delete_status; /* 0: 204 */

    /* ---- hooks, all optional ---- */
    /* Runs first for every verb (Nova's microversion check). */
    int (*begin)(struct api_req *req, struct err *err);
    /* Which rows the caller may see: append " AND ..." to @where (the default
     * is the caller's project on project_column, all rows for an admin). */
    int (*scope)(struct api_req *req, struct db_sql *where, struct err *err);
    /* List filters that are not plain FILTER fields (?minRam=): append " AND ...". */
    int (*filter)(struct api_req *req, struct db_sql *where, struct err *err);
    /* Create and update: checks beyond the schema, derived columns. */
    int (*prepare)(struct api_req *req, const json_t *obj, struct api_values *vals,
                   enum api_schema_op op, struct err *err);
    /* Inside the create's transaction, before the INSERT: quotas (lock the
     * project, count, refuse with ERR_OVER_LIMIT or the family's 403). */
    int (*before_create)(struct api_req *req, PGconn *conn, const struct api_values *vals,
                         struct err *err);
    /* A duplicate on create or update: rewrite @err in the family's words. */
    void (*conflict)(struct api_req *req, const struct api_values *vals, struct err *err);
    /* Before a delete, on the row: -1 refuses (e.g. 409 while in use). */
    int (*before_delete)(struct api_req *req, PGconn *conn, const json_t *row, struct err *err);
    /* A success status that depends on more than the verb (Nova's
     * microversions: 202 becomes 204 at 2.2 for key pairs). */
    int (*status)(const struct api_req *req, int status);
    /* The document of one row; NULL: each schema field from its column
     * (HIDDEN never, ADMIN_ONLY to admins only). */
    json_t *(*render)(struct api_req *req, const json_t *row, enum api_view view);
};

/* The generic handlers: a route's `data` is the struct api_resource, its
 * `arg` the view (API_VIEW_SUMMARY or API_VIEW_DETAIL) for lists. */
int api_resource_list(struct api_req *req, struct err *err);
int api_resource_show(struct api_req *req, struct err *err);
int api_resource_create(struct api_req *req, struct err *err);
int api_resource_update(struct api_req *req, struct err *err);
int api_resource_delete(struct api_req *req, struct err *err);

/* The routes of a resource, for a route table: collection is the literal
 * path, member the path with the {id_param}. */
#define API_RESOURCE_LIST(res, collection, view)                                                   \
    {                                                                                              \
        .method = "GET", .pattern = collection, .handler = api_resource_list, .arg = view,         \
        .data = res                                                                                \
    }
#define API_RESOURCE_SHOW(res, member)                                                             \
    {                                                                                              \
        .method = "GET", .pattern = member, .handler = api_resource_show, .data = res              \
    }
#define API_RESOURCE_CREATE(res, collection)                                                       \
    {                                                                                              \
        .method = "POST", .pattern = collection, .handler = api_resource_create, .data = res       \
    }
#define API_RESOURCE_UPDATE(res, method_, member)                                                  \
    {                                                                                              \
        .method = method_, .pattern = member, .handler = api_resource_update, .data = res          \
    }
#define API_RESOURCE_DELETE(res, member)                                                           \
    {                                                                                              \
        .method = "DELETE", .pattern = member, .handler = api_resource_delete, .data = res         \
    }

/* For hooks and resource-specific handlers. */
const struct api_resource *api_resource_of(const struct api_req *req);
/* The row @id as the caller may see it (scope applied), or NULL with 404. */
json_t *api_resource_get(struct api_req *req, const struct api_resource *r, PGconn *conn,
                         const char *id, struct err *err);
/* The document of @row (the render hook, or the schema's fields). */
json_t *api_resource_render(struct api_req *req, const struct api_resource *r, const json_t *row,
                            enum api_view view);
/* The error style of the matched route's family. */
enum api_error_style api_req_style(const struct api_req *req);

#endif
