/* /v3/roles (list, get, create, delete) and role assignments of users on
 * projects: PUT/HEAD/GET/DELETE /v3/projects/{p}/users/{u}/roles/{r},
 * GET /v3/projects/{p}/users/{u}/roles and GET /v3/role_assignments. */
#include <string.h>

#include "db.h"
#include "identity.h"
#include "keystone.h"
#include "mem.h"
#include "policy.h"
#include "server.h"

static int
list_roles(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:list_roles", NULL, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *rows = conn ? db_role_list(conn, api_req_query(req, "name"), err) : NULL;
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row)
        json_array_append_new(list, keystone_role_json(req, row));
    json_decref(rows);
    api_reply_json(
        req, 200,
        json_pack("{s:o,s:o}", "roles", list, "links", keystone_list_links(req, "roles")));
    return 0;
}

static int
get_role(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "role_id");
    if (policy_check(&req->ctx, "identity:get_role", NULL, err) < 0 ||
        keystone_check_id(id, "role", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? db_role_get(conn, id, err) : NULL;
    if (!row)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "role", keystone_role_json(req, row)));
    json_decref(row);
    return 0;
}

static int
create_role(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:create_role", NULL, err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    json_t *r = body ? keystone_body_object(body, "role", err) : NULL;
    if (!r)
        return -1;
    const char *name, *description, *domain_id;
    if (keystone_str(r, "name", true, true, KEYSTONE_NAME_MAX, &name, err) < 0 ||
        keystone_str(r, "description", false, false, KEYSTONE_DESCRIPTION_MAX, &description, err) <
            0 ||
        keystone_str(r, "domain_id", false, true, 64, &domain_id, err) < 0)
        return -1;
    if (domain_id)
        return err_set(err, ERR_INVALID, "Invalid input: domain-specific roles are not supported.");
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    char id[ID_HEX_LEN + 1];
    id_hex(id);
    if (db_role_create(conn, id, name, description, err) < 0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT,
                    "Conflict occurred attempting to store role - Duplicate entry found with "
                    "name %s.",
                    name);
        return -1;
    }
    json_t *row = db_role_get(conn, id, err);
    if (!row)
        return -1;
    api_reply_json(req, 201, json_pack("{s:o}", "role", keystone_role_json(req, row)));
    json_decref(row);
    return 0;
}

static int
delete_role(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "role_id");
    if (policy_check(&req->ctx, "identity:delete_role", NULL, err) < 0 ||
        keystone_check_id(id, "role", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn || db_role_delete(conn, id, err) < 0)
        return -1;
    role_cache_clear(req->srv->roles);
    api_reply_empty(req, 204);
    return 0;
}

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

static int
put_grant(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:create_grant", NULL, err) < 0)
        return -1;
    const char *p, *u, *r;
    PGconn *conn = api_req_db(req, err);
    if (!conn || grant_target(req, conn, &p, &u, &r, err) < 0)
        return -1;
    if (db_assignment_grant(conn, u, p, r, err) < 0)
        return -1;
    role_cache_clear(req->srv->roles);
    api_reply_empty(req, 204);
    return 0;
}

static int
check_grant(struct api_req *req, struct err *err)
{
    const char *p, *u, *r;
    struct policy_target target = {.user_id = api_req_param(req, "user_id")};
    if (policy_check(&req->ctx, "identity:check_grant", &target, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn || grant_target(req, conn, &p, &u, &r, err) < 0)
        return -1;
    bool exists;
    if (db_assignment_check(conn, u, p, r, &exists, err) < 0)
        return -1;
    if (!exists)
        return err_set(err, ERR_NOT_FOUND, "Could not find role assignment: %s on project %s.", r,
                       p);
    api_reply_empty(req, 204);
    return 0;
}

static int
delete_grant(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:revoke_grant", NULL, err) < 0)
        return -1;
    const char *p, *u, *r;
    PGconn *conn = api_req_db(req, err);
    if (!conn || grant_target(req, conn, &p, &u, &r, err) < 0)
        return -1;
    if (db_assignment_revoke(conn, u, p, r, err) < 0)
        return -1;
    role_cache_clear(req->srv->roles);
    api_reply_empty(req, 204);
    return 0;
}

static int
list_grants(struct api_req *req, struct err *err)
{
    const char *p, *u, *r;
    struct policy_target target = {.user_id = api_req_param(req, "user_id")};
    if (policy_check(&req->ctx, "identity:list_grants", &target, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn || grant_target(req, conn, &p, &u, &r, err) < 0)
        return -1;
    json_t *rows = db_assignment_roles(conn, u, p, err);
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        json_object_set_new(row, "description", json_string(""));
        json_array_append_new(list, keystone_role_json(req, row));
    }
    json_decref(rows);
    char *coll = xasprintf("projects/%s/users/%s/roles", p, u);
    api_reply_json(req, 200,
                   json_pack("{s:o,s:o}", "roles", list, "links", keystone_list_links(req, coll)));
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
    {"GET", "/v3/roles", list_roles, 0, 0, 0},
    {"POST", "/v3/roles", create_role, 0, 0, 0},
    {"GET", "/v3/roles/{role_id}", get_role, 0, 0, 0},
    {"DELETE", "/v3/roles/{role_id}", delete_role, 0, 0, 0},
    {"GET", "/v3/projects/{project_id}/users/{user_id}/roles", list_grants, 0, 0, 0},
    {"PUT", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}", put_grant, 0, 0, 0},
    {"HEAD", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}", check_grant, 0, 0, 0},
    {"GET", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}", check_grant, 0, 0, 0},
    {"DELETE", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}", delete_grant, 0, 0, 0},
    {"GET", "/v3/role_assignments", list_role_assignments, 0, 0, 0},
};

const struct api_route_table identity_roles_routes = {
    "identity_roles", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
