/* /v3/roles (list, get, create, update, delete: a resource of the engine) and
 * role assignments of users on
 * projects: PUT/HEAD/GET/DELETE /v3/projects/{p}/users/{u}/roles/{r},
 * GET /v3/projects/{p}/users/{u}/roles and GET /v3/role_assignments. */
#include <string.h>

#include "db.h"
#include "identity.h"
#include "keystone.h"
#include "mem.h"
#include "policy.h"
#include "resource.h"
#include "server.h"

/* ---- roles: a resource of the engine (core/resource.h) ---- */

static const struct api_field role_fields[] = {
    API_FIELD_DEF("name", API_FIELD_STRING,
                  API_FIELD_REQUIRED | API_FIELD_NONEMPTY | API_FIELD_FILTER | API_FIELD_SORT,
                  .min = 1, .max = KEYSTONE_NAME_MAX),
    API_FIELD_DEF("description", API_FIELD_STRING, API_FIELD_NULLABLE,
                  .max = KEYSTONE_DESCRIPTION_MAX),
    /* domain-specific roles are not supported: only null is accepted */
    API_FIELD_DEF("domain_id", API_FIELD_STRING, API_FIELD_NULLABLE | API_FIELD_CREATE_ONLY,
                  .max = 0, .pattern = "^$"),
    API_FIELD_DEF("options", API_FIELD_OBJECT, API_FIELD_NULLABLE, .max = 0),
};

static const struct api_schema role_schema = {
    .name = "role",
    .fields = role_fields,
    .nfields = ARRAY_SIZE(role_fields),
    .additional = true, /* Keystone keeps unknown members of a role as extras */
};

static json_t *
role_render(struct api_req *req, const json_t *row, enum api_view view)
{
    (void)view;
    return keystone_role_json(req, row);
}

/* "options" is accepted and empty; it has no column */
static int
role_prepare(struct api_req *req, const json_t *obj, struct api_values *vals, enum api_schema_op op,
             struct err *err)
{
    (void)req;
    (void)obj;
    (void)op;
    (void)err;
    api_values_drop(vals, "options");
    api_values_drop(vals, "domain_id");
    return 0;
}

static void
role_conflict(struct api_req *req, const struct api_values *vals, struct err *err)
{
    (void)req;
    err_set(err, ERR_CONFLICT,
            "Conflict occurred attempting to store role - Duplicate entry found with name %s.",
            api_values_get(vals, "name"));
}

/* A role's assignments go with it: forget the cached roles at once. */
static int
role_before_delete(struct api_req *req, PGconn *conn, const json_t *row, struct err *err)
{
    (void)conn;
    (void)row;
    (void)err;
    role_cache_clear(req->srv->roles);
    return 0;
}

static const struct api_resource role_resource = {
    .singular = "role",
    .plural = "roles",
    .noun = "role",
    .id_param = "role_id",
    .path = "/v3/roles",
    .schema = &role_schema,
    .table = "role",
    .select = "id, name, description",
    .hex_id = true,
    .default_sort = "name",
    .paging = API_PAGING_NONE,
    .list_action = "identity:list_roles",
    .show_action = "identity:get_role",
    .create_action = "identity:create_role",
    .update_action = "identity:update_role",
    .delete_action = "identity:delete_role",
    .prepare = role_prepare,
    .conflict = role_conflict,
    .before_delete = role_before_delete,
    .render = role_render,
};

/* The {project_id}, {user_id}, {role_id} of a grant path, each checked to exist
 * (404 naming the missing one). @role_id may be absent from the route. */
static int
grant_target(struct api_req *req, PGconn *conn, const char **project_id, const char **user_id,
             const char **role_id, struct err *err)
{
    *project_id = api_req_param(req, "project_id");
    *user_id = api_req_param(req, "user_id");
    *role_id = api_req_param(req, "role_id");
    if (keystone_check_id(*project_id, "project", err) < 0 ||
        keystone_check_id(*user_id, "user", err) < 0 ||
        (*role_id && keystone_check_id(*role_id, "role", err) < 0))
        return -1;
    json_t *row = db_project_get(conn, *project_id, err);
    if (!row)
        return -1;
    json_decref(row);
    if (!(row = db_user_get(conn, *user_id, err)))
        return -1;
    json_decref(row);
    if (*role_id) {
        if (!(row = db_role_get(conn, *role_id, err)))
            return -1;
        json_decref(row);
    }
    return 0;
}

/* The policy of a grant verb (on the path's user for a check or list, which
 * Keystone lets the user make), then the path's project, user and role. */
static PGconn *
grant_begin(struct api_req *req, const char *action, const char **p, const char **u, const char **r,
            struct err *err)
{
    struct policy_target target = {.user_id = api_req_param(req, "user_id")};
    if (policy_check(&req->ctx, action, &target, err) < 0)
        return NULL;
    PGconn *conn = api_req_db(req, err);
    if (!conn || grant_target(req, conn, p, u, r, err) < 0)
        return NULL;
    return conn;
}

/* PUT (route arg 1) or DELETE (0) a grant. */
static int
set_grant(struct api_req *req, struct err *err)
{
    bool grant = req->match.route->arg != 0;
    const char *p, *u, *r;
    PGconn *conn = grant_begin(req, grant ? "identity:create_grant" : "identity:revoke_grant", &p,
                               &u, &r, err);
    if (!conn || (grant ? db_assignment_grant(conn, u, p, r, err)
                        : db_assignment_revoke(conn, u, p, r, err)) < 0)
        return -1;
    role_cache_clear(req->srv->roles);
    api_reply_empty(req, 204);
    return 0;
}

static int
check_grant(struct api_req *req, struct err *err)
{
    const char *p, *u, *r;
    PGconn *conn = grant_begin(req, "identity:check_grant", &p, &u, &r, err);
    bool exists;
    if (!conn || db_assignment_check(conn, u, p, r, &exists, err) < 0)
        return -1;
    if (!exists)
        return err_set(err, ERR_NOT_FOUND, "Could not find role assignment: %s on project %s.", r,
                       p);
    api_reply_empty(req, 204);
    return 0;
}

static int
list_grants(struct api_req *req, struct err *err)
{
    const char *p, *u, *r;
    PGconn *conn = grant_begin(req, "identity:list_grants", &p, &u, &r, err);
    json_t *rows = conn ? db_assignment_roles(conn, u, p, err) : NULL;
    if (!rows)
        return -1;
    char *coll = xasprintf("projects/%s/users/%s/roles", p, u);
    keystone_reply_list(req, "roles", rows, keystone_role_json, coll);
    free(coll);
    return 0;
}

static int
list_role_assignments(struct api_req *req, struct err *err)
{
    const char *user_id = api_req_query(req, "user.id");
    const char *project_id = api_req_query(req, "scope.project.id");
    const char *role_id = api_req_query(req, "role.id");
    int include_names, effective;
    /* ?include_names bare or true; ?effective changes nothing here: with no
     * groups and no inherited roles, every assignment is already effective */
    if (keystone_query_flag(req, "include_names", &include_names, err) < 0 ||
        keystone_query_flag(req, "effective", &effective, err) < 0)
        return -1;
    bool names = include_names == 1;
    if (api_req_query(req, "group.id") || api_req_query(req, "scope.domain.id") ||
        api_req_query(req, "scope.system")) {
        /* no groups, domain or system assignments exist here */
        api_reply_json(req, 200,
                       json_pack("{s:[],s:o}", "role_assignments", "links",
                                 keystone_list_links(req, "role_assignments")));
        return 0;
    }
    /* others than admins list only their own assignments */
    if (!policy_allows(&req->ctx, "identity:list_role_assignments", NULL)) {
        if (user_id && strcmp(user_id, req->ctx.user_id) != 0)
            return policy_check(&req->ctx, "identity:list_role_assignments", NULL, err);
        user_id = req->ctx.user_id;
    }
    PGconn *conn = api_req_db(req, err);
    json_t *rows = conn ? db_assignment_list(conn, user_id, project_id, role_id, err) : NULL;
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *u = json_string_value(json_object_get(row, "user_id"));
        const char *p = json_string_value(json_object_get(row, "project_id"));
        const char *r = json_string_value(json_object_get(row, "role_id"));
        char *url = api_req_url(req, "/v3/projects/%s/users/%s/roles/%s", p, u, r);
        json_t *a = json_pack("{s:{s:s},s:{s:s},s:{s:{s:s}},s:{s:s}}", "role", "id", r, "user",
                              "id", u, "scope", "project", "id", p, "links", "assignment", url);
        free(url);
        if (names) {
            json_object_set(json_object_get(a, "role"), "name", json_object_get(row, "role_name"));
            json_object_set(json_object_get(a, "user"), "name", json_object_get(row, "user_name"));
            json_object_set_new(json_object_get(a, "user"), "domain",
                                json_pack("{s:O,s:O}", "id", json_object_get(row, "user_domain_id"),
                                          "name", json_object_get(row, "user_domain_name")));
            json_t *proj = json_object_get(json_object_get(a, "scope"), "project");
            json_object_set(proj, "name", json_object_get(row, "project_name"));
            json_object_set_new(proj, "domain",
                                json_pack("{s:O,s:O}", "id",
                                          json_object_get(row, "project_domain_id"), "name",
                                          json_object_get(row, "project_domain_name")));
        }
        json_array_append_new(list, a);
    }
    json_decref(rows);
    api_reply_json(req, 200,
                   json_pack("{s:o,s:o}", "role_assignments", list, "links",
                             keystone_list_links(req, "role_assignments")));
    return 0;
}

static const struct api_route routes[] = {
    API_RESOURCE_LIST(&role_resource, "/v3/roles", API_VIEW_DETAIL),
    API_RESOURCE_CREATE(&role_resource, "/v3/roles"),
    API_RESOURCE_SHOW(&role_resource, "/v3/roles/{role_id}"),
    API_RESOURCE_UPDATE(&role_resource, "PATCH", "/v3/roles/{role_id}"),
    API_RESOURCE_DELETE(&role_resource, "/v3/roles/{role_id}"),
    {.method = "GET",
     .pattern = "/v3/projects/{project_id}/users/{user_id}/roles",
     .handler = list_grants},
    {.method = "PUT",
     .pattern = "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
     .handler = set_grant,
     .arg = 1},
    {.method = "HEAD",
     .pattern = "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
     .handler = check_grant},
    {.method = "GET",
     .pattern = "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
     .handler = check_grant},
    {.method = "DELETE",
     .pattern = "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
     .handler = set_grant,
     .arg = 0},
    {.method = "GET", .pattern = "/v3/role_assignments", .handler = list_role_assignments},
};

const struct api_route_table identity_roles_routes = {
    "identity_roles", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
