/* /compute/v2.1/os-server-groups: affinity / anti-affinity (and the soft
 * variants) groups of a project. Members are the live instances created with
 * scheduler_hints {"group": id}; the scheduler enforces the policy. A
 * resource of the engine (core/resource.h), with the quota in its create. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "id.h"
#include "mem.h"
#include "resource.h"

/* A group and its live members, oldest first. */
#define GROUP_COLS                                                                                 \
    "g.id::text AS id, g.name, g.policy, g.project_id, g.user_id, g.created_at, coalesce((SELECT " \
    "json_agg(i.id::text ORDER BY i.created_at) FROM instance i WHERE i.server_group_id = g.id "   \
    "AND i.deleted_at IS NULL), '[]')::text AS members"

static json_t *
group_render(struct api_req *req, const json_t *row, enum api_view view)
{
    (void)view;
    json_t *members = json_loads(json_string_value(json_object_get(row, "members")), 0, NULL);
    json_t *g = json_pack("{s:O,s:O,s:[O],s:o,s:{}}", "id", json_object_get(row, "id"), "name",
                          json_object_get(row, "name"), "policies", json_object_get(row, "policy"),
                          "members", members ? members : json_array(), "metadata");
    /* 2.13: the owner */
    if (req->microversion >= COMPUTE_MV(2, 13)) {
        json_object_set(g, "project_id", json_object_get(row, "project_id"));
        json_object_set(g, "user_id", json_object_get(row, "user_id"));
    }
    return g;
}

/* The caller's project; an admin sees any one group, and every project's in
 * a list with ?all_projects=true. */
static int
group_scope(struct api_req *req, struct db_sql *where, struct err *err)
{
    int all = -1;
    if (compute_query_bool(req, "all_projects", &all, err) < 0)
        return -1;
    bool one = api_req_param(req, "group_id") != NULL;
    bool everyone =
        one ? compute_is_admin(req)
            : all == 1 && compute_may(req, "os_compute_api:os-server-groups:index:all_projects");
    if (!everyone)
        db_sql_add1(where, " AND g.project_id = $?", req->ctx.project_id);
    return 0;
}

/* Nova 2.1 takes a list of exactly one policy; the table keeps the one. */
static int
group_prepare(struct api_req *req, const json_t *obj, struct api_values *vals,
              enum api_schema_op op, struct err *err)
{
    (void)op;
    json_t *pol = json_object_get(obj, "policies");
    if (json_array_size(pol) != 1)
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute policies: exactly one policy is "
                       "required.");
    const char *policy = json_string_value(json_array_get(pol, 0));
    /* the soft variants came with 2.15 */
    if (strncmp(policy, "soft-", 5) == 0 && req->microversion < COMPUTE_MV(2, 15))
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute policies: one of affinity, "
                       "anti-affinity is required.");
    api_values_set(vals, "policy", policy);
    api_values_set(vals, "user_id", req->ctx.user_id);
    return 0;
}

/* The server_groups quota, counted under the project's lock. */
static int
group_quota(struct api_req *req, PGconn *conn, const struct api_values *vals, struct err *err)
{
    const char *project = api_values_get(vals, "project_id");
    long long lim;
    if (db_compute_lock_project(conn, project, err) < 0 ||
        compute_quota_limit(req, conn, project, COMPUTE_QUOTA_SERVER_GROUPS, &lim, err) < 0)
        return -1;
    const char *cp[] = {project};
    json_t *cnt =
        db_compute_one(conn, "Project", project,
                       "SELECT count(*) AS n FROM server_group WHERE project_id = $1", 1, cp, err);
    if (!cnt)
        return -1;
    long long used = json_integer_value(json_object_get(cnt, "n"));
    json_decref(cnt);
    if (lim >= 0 && used + 1 > lim)
        return err_set(err, ERR_FORBIDDEN, "Quota exceeded, too many server groups.");
    return 0;
}

static const char *const group_policies[] = {"affinity", "anti-affinity", "soft-affinity",
                                             "soft-anti-affinity", NULL};
static const struct api_field group_policy =
    API_FIELD_DEF("policy", API_FIELD_STRING, API_FIELD_REQUIRED, .enum_values = group_policies);

static const struct api_field group_fields[] = {
    API_FIELD_DEF("name", API_FIELD_STRING, API_FIELD_REQUIRED | API_FIELD_NONEMPTY, .min = 1,
                  .max = 255),
    API_FIELD_DEF("policies", API_FIELD_ARRAY, API_FIELD_REQUIRED, .max = 1, .items = &group_policy,
                  .column = "policy"),
};

static const struct api_schema group_schema = {
    .name = "server_group",
    .fields = group_fields,
    .nfields = ARRAY_SIZE(group_fields),
};

static const struct api_resource group_resource = {
    .singular = "server_group",
    .plural = "server_groups",
    .noun = "Instance group",
    .id_param = "group_id",
    .path = COMPUTE_V21 "/os-server-groups",
    .schema = &group_schema,
    .table = "server_group g",
    .select = GROUP_COLS,
    .project_column = "project_id",
    .uuid_id = true,
    .default_sort = "created_at",
    .paging = API_PAGING_NOVA,
    .list_action = "os_compute_api:os-server-groups:index",
    .show_action = "os_compute_api:os-server-groups:show",
    .create_action = "os_compute_api:os-server-groups:create",
    .delete_action = "os_compute_api:os-server-groups:delete",
    .create_status = 200,
    .begin = compute_begin,
    .scope = group_scope,
    .prepare = group_prepare,
    .before_create = group_quota,
    .render = group_render,
};

static const struct api_route routes[] = {
    API_RESOURCE_LIST(&group_resource, COMPUTE_V21 "/os-server-groups", API_VIEW_DETAIL),
    API_RESOURCE_CREATE(&group_resource, COMPUTE_V21 "/os-server-groups"),
    API_RESOURCE_SHOW(&group_resource, COMPUTE_V21 "/os-server-groups/{group_id}"),
    API_RESOURCE_DELETE(&group_resource, COMPUTE_V21 "/os-server-groups/{group_id}"),
};

const struct api_route_table compute_server_groups_routes = {
    .name = "compute_server_groups",
    .prefix = COMPUTE_V21 "/os-server-groups",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
