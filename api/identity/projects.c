/* /v3/projects: CRUD. Admins see every project; others see only the project
 * their token is scoped to. Disabling or deleting a project revokes its
 * tokens. */
#include <string.h>

#include "db.h"
#include "identity.h"
#include "keystone.h"
#include "mem.h"
#include "policy.h"
#include "server.h"

#define PROJECT_NAME_MAX 64

static int
list_projects(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:list_projects", NULL, err) < 0)
        return -1;
    int enabled;
    if (keystone_query_bool(req, "enabled", &enabled, err) < 0)
        return -1;
    const char *name = api_req_query(req, "name");
    const char *domain_id = api_req_query(req, "domain_id");
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    json_t *rows;
    if (policy_allows(&req->ctx, "identity:list_projects", NULL)) {
        rows = db_project_list(conn, name, domain_id, enabled, err);
    } else {
        /* members and readers: their own project, when it passes the filters */
        rows = json_array();
        if (req->ctx.project_id[0]) {
            json_t *own = db_project_list(conn, name, domain_id, enabled, err);
            if (!own) {
                json_decref(rows);
                return -1;
            }
            size_t i;
            json_t *row;
            json_array_foreach (own, i, row) {
                if (strcmp(json_string_value(json_object_get(row, "id")), req->ctx.project_id) == 0)
                    json_array_append(rows, row);
            }
            json_decref(own);
        }
    }
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row)
        json_array_append_new(list, keystone_project_json(req, row));
    json_decref(rows);
    api_reply_json(
        req, 200,
        json_pack("{s:o,s:o}", "projects", list, "links", keystone_list_links(req, "projects")));
    return 0;
}

static int
get_project(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "project_id");
    /* an unknown id (or a name: the client's name-or-id lookup) is a 404 */
    if (keystone_check_id(id, "project", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? db_project_get(conn, id, err) : NULL;
    if (!row)
        return -1;
    struct policy_target target = {.project_id = id};
    if (policy_check(&req->ctx, "identity:get_project", &target, err) < 0) {
        json_decref(row);
        return -1;
    }
    api_reply_json(req, 200, json_pack("{s:o}", "project", keystone_project_json(req, row)));
    json_decref(row);
    return 0;
}

static int
create_project(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:create_project", NULL, err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    json_t *proj = body ? keystone_body_object(body, "project", err) : NULL;
    if (!proj)
        return -1;
    const char *name, *description, *domain_id, *parent_id;
    int enabled, is_domain;
    if (keystone_str(proj, "name", true, true, PROJECT_NAME_MAX, &name, err) < 0 ||
        keystone_str(proj, "description", false, false, KEYSTONE_DESCRIPTION_MAX, &description,
                     err) < 0 ||
        keystone_str(proj, "domain_id", false, true, 64, &domain_id, err) < 0 ||
        keystone_str(proj, "parent_id", false, true, 64, &parent_id, err) < 0 ||
        keystone_bool(proj, "enabled", &enabled, err) < 0 ||
        keystone_bool(proj, "is_domain", &is_domain, err) < 0)
        return -1;
    if (is_domain == 1)
        return err_set(err, ERR_INVALID,
                       "Invalid input: projects acting as domains are not "
                       "supported.");
    if (!domain_id)
        domain_id = parent_id ? parent_id : KEYSTONE_DEFAULT_DOMAIN;
    if (parent_id && strcmp(parent_id, domain_id) != 0)
        return err_set(err, ERR_INVALID, "Invalid input: nested projects are not supported.");
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    json_t *dom = id_is_safe(domain_id) ? db_domain_get(conn, domain_id, err) : NULL;
    if (!dom)
        return err_set(err, ERR_INVALID, "Invalid input: domain %s does not exist.",
                       id_is_safe(domain_id) ? domain_id : "(invalid)");
    json_decref(dom);
    char id[ID_HEX_LEN + 1];
    id_hex(id);
    if (db_project_create(conn, id, name, domain_id, description, enabled != 0, err) < 0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT,
                    "Conflict occurred attempting to store project - Duplicate entry found with "
                    "name %s at domain ID %s.",
                    name, domain_id);
        return -1;
    }
    json_t *row = db_project_get(conn, id, err);
    if (!row)
        return -1;
    api_reply_json(req, 201, json_pack("{s:o}", "project", keystone_project_json(req, row)));
    json_decref(row);
    return 0;
}

static int
update_project(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "project_id");
    if (policy_check(&req->ctx, "identity:update_project", NULL, err) < 0 ||
        keystone_check_id(id, "project", err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    json_t *proj = body ? keystone_body_object(body, "project", err) : NULL;
    if (!proj)
        return -1;
    const char *name, *description;
    int enabled;
    if (keystone_str(proj, "name", false, true, PROJECT_NAME_MAX, &name, err) < 0 ||
        keystone_str(proj, "description", false, false, KEYSTONE_DESCRIPTION_MAX, &description,
                     err) < 0 ||
        keystone_bool(proj, "enabled", &enabled, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    /* the change and its revocation event commit together (an error rolls back) */
    if (!conn || db_begin(conn, err) < 0)
        return -1;
    if (db_project_update(conn, id, name, description, enabled, err) < 0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT,
                    "Conflict occurred attempting to store project - Duplicate entry found with "
                    "name %s.",
                    name ? name : "");
        return -1;
    }
    if ((enabled == 0 && revoke_add(req->srv, conn, NULL, NULL, id, err) < 0) ||
        db_commit(conn, err) < 0)
        return -1;
    json_t *row = db_project_get(conn, id, err);
    if (!row)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "project", keystone_project_json(req, row)));
    json_decref(row);
    return 0;
}

static int
delete_project(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "project_id");
    if (policy_check(&req->ctx, "identity:delete_project", NULL, err) < 0 ||
        keystone_check_id(id, "project", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn || db_begin(conn, err) < 0)
        return -1;
    if (db_project_delete(conn, id, err) < 0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT, "Project %s is still in use.", id);
        return -1;
    }
    if (revoke_add(req->srv, conn, NULL, NULL, id, err) < 0 || db_commit(conn, err) < 0)
        return -1;
    role_cache_clear(req->srv->roles);
    api_reply_empty(req, 204);
    return 0;
}

static const struct api_route routes[] = {
    {"GET", "/v3/projects", list_projects, 0, 0, 0},
    {"POST", "/v3/projects", create_project, 0, 0, 0},
    {"GET", "/v3/projects/{project_id}", get_project, 0, 0, 0},
    {"PATCH", "/v3/projects/{project_id}", update_project, 0, 0, 0},
    {"DELETE", "/v3/projects/{project_id}", delete_project, 0, 0, 0},
};

const struct api_route_table identity_projects_routes = {
    "identity_projects", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
