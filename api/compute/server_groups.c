/* /compute/v2.1/os-server-groups: affinity / anti-affinity (and the soft
 * variants) groups of a project. Members are the live instances created with
 * scheduler_hints {"group": id}; the scheduler enforces the policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "id.h"
#include "mem.h"

#define GROUP_SQL                                                                                  \
    "SELECT g.id::text AS id, g.name, g.policy, g.project_id, g.user_id, coalesce((SELECT "        \
    "json_agg(i.id::text ORDER BY i.created_at) FROM instance i WHERE i.server_group_id = g.id "   \
    "AND i.deleted_at IS NULL), '[]')::text AS members FROM server_group g "

static json_t *
group_json(const struct api_req *req, const json_t *row)
{
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

static int
list_groups(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    int all;
    if (compute_query_bool(req, "all_projects", &all, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    const char *p[] = {req->ctx.project_id, compute_is_admin(req) && all == 1 ? "t" : "f"};
    json_t *rows = db_query_json(
        conn, GROUP_SQL "WHERE $2 = 't' OR g.project_id = $1 ORDER BY g.created_at", 2, p, err);
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row)
        json_array_append_new(list, group_json(req, row));
    json_decref(rows);
    api_reply_json(req, 200, json_pack("{s:o}", "server_groups", list));
    return 0;
}

static json_t *
group_get(struct api_req *req, PGconn *conn, const char *id, struct err *err)
{
    if (!id_is_uuid(id)) {
        err_set(err, ERR_NOT_FOUND, "Instance group %.64s could not be found.", id);
        return NULL;
    }
    const char *p[] = {id, req->ctx.project_id, compute_is_admin(req) ? "t" : "f"};
    return db_compute_one(conn, "Instance group", id,
                          GROUP_SQL "WHERE g.id = $1::uuid AND ($3 = 't' OR g.project_id = $2)", 3,
                          p, err);
}

static int
show_group(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? group_get(req, conn, api_req_param(req, "group_id"), err) : NULL;
    if (!row)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "server_group", group_json(req, row)));
    json_decref(row);
    return 0;
}

static int
create_group(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 || compute_require_member(req, err) < 0)
        return -1;
    const char *project = compute_project(req, err);
    json_t *g = project ? compute_body(req, "server_group", err) : NULL;
    if (!g)
        return -1;
    const char *name;
    if (compute_str(g, "name", true, 255, &name, err) < 0)
        return -1;
    if (!*name)
        return err_set(err, ERR_INVALID, "Invalid input for field/attribute name.");
    json_t *pol = json_object_get(g, "policies");
    const char *policy = json_is_array(pol) && json_array_size(pol) == 1
                             ? json_string_value(json_array_get(pol, 0))
                             : NULL;
    static const char *const known[] = {"affinity", "anti-affinity", "soft-affinity",
                                        "soft-anti-affinity"};
    /* the soft variants came with 2.15 */
    size_t nknown = req->microversion >= COMPUTE_MV(2, 15) ? ARRAY_SIZE(known) : 2;
    bool ok = false;
    for (size_t i = 0; policy && i < nknown; i++)
        ok |= strcmp(policy, known[i]) == 0;
    if (!ok)
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute policies: one of affinity, "
                       "anti-affinity%s is required.",
                       nknown > 2 ? ", soft-affinity, soft-anti-affinity" : "");
    PGconn *conn = api_req_db(req, err);
    if (!conn || db_begin(conn, err) < 0)
        return -1;
    long long lim;
    if (db_compute_lock_project(conn, project, err) < 0 ||
        compute_quota_limit(req, conn, project, COMPUTE_QUOTA_SERVER_GROUPS, &lim, err) < 0)
        goto rollback;
    const char *cp[] = {project};
    json_t *cnt =
        db_compute_one(conn, "Project", project,
                       "SELECT count(*) AS n FROM server_group WHERE project_id = $1", 1, cp, err);
    if (!cnt)
        goto rollback;
    long long used = json_integer_value(json_object_get(cnt, "n"));
    json_decref(cnt);
    if (lim >= 0 && used + 1 > lim) {
        err_set(err, ERR_FORBIDDEN, "Quota exceeded, too many server groups.");
        goto rollback;
    }
    char id[ID_UUID_LEN + 1];
    id_uuid(id);
    const char *p[] = {id, name, policy, project, req->ctx.user_id};
    if (db_cmd(conn,
               "INSERT INTO server_group (id, name, policy, project_id, user_id) VALUES "
               "($1::uuid, $2, $3, $4, $5)",
               5, p, err) < 0 ||
        db_commit(conn, err) < 0)
        goto rollback;
    json_t *row = group_get(req, conn, id, err);
    if (!row)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "server_group", group_json(req, row)));
    json_decref(row);
    return 0;
rollback:
    db_rollback(conn);
    return -1;
}

static int
delete_group(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 || compute_require_member(req, err) < 0)
        return -1;
    const char *id = api_req_param(req, "group_id");
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? group_get(req, conn, id, err) : NULL;
    if (!row)
        return -1;
    json_decref(row);
    const char *p[] = {id};
    if (db_cmd(conn, "DELETE FROM server_group WHERE id = $1::uuid", 1, p, err) < 0)
        return -1;
    api_reply_empty(req, 204);
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = COMPUTE_V21 "/os-server-groups", .handler = list_groups},
    {.method = "POST", .pattern = COMPUTE_V21 "/os-server-groups", .handler = create_group},
    {.method = "GET", .pattern = COMPUTE_V21 "/os-server-groups/{group_id}", .handler = show_group},
    {.method = "DELETE",
     .pattern = COMPUTE_V21 "/os-server-groups/{group_id}",
     .handler = delete_group},
};

const struct api_route_table compute_server_groups_routes = {
    .name = "compute_server_groups",
    .prefix = COMPUTE_V21 "/os-server-groups",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
