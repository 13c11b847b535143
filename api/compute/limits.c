/* /compute/v2.1/limits and /os-quota-sets: per-project hard limits (the quota
 * table; a missing row is the [quota] default, -1 unlimited) and usage counted
 * from live instances. Enforcement happens where resources are created
 * (servers, keypairs, server groups), under the project's advisory lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "mem.h"
#include "schema.h"

static const char *const quota_names[COMPUTE_QUOTA__LAST] = {
    [COMPUTE_QUOTA_INSTANCES] = "instances",
    [COMPUTE_QUOTA_CORES] = "cores",
    [COMPUTE_QUOTA_RAM] = "ram",
    [COMPUTE_QUOTA_KEY_PAIRS] = "key_pairs",
    [COMPUTE_QUOTA_METADATA_ITEMS] = "metadata_items",
    [COMPUTE_QUOTA_SERVER_GROUPS] = "server_groups",
    [COMPUTE_QUOTA_SERVER_GROUP_MEMBERS] = "server_group_members",
};

/* Resources Nova reports that Nube does not count: fixed figures. */
static const struct {
    const char *name;
    long long value;
} fixed_quotas[] = {
    {"injected_files", 5},
    {"injected_file_content_bytes", 10240},
    {"injected_file_path_bytes", 255},
    {"fixed_ips", -1},
    {"floating_ips", -1},
    {"security_groups", -1},
    {"security_group_rules", -1},
};

/* A quota set's body: every counted and fixed quota, -1 for unlimited, as a
 * JSON integer or a decimal string (Nova); "force" is accepted and ignored. */
#define QUOTA_FIELD(n)                                                                             \
    API_FIELD_DEF(n, API_FIELD_INTEGER, API_FIELD_INT_STRING, .min = -1, .max = 0x7FFFFFFF)
static const struct api_field quota_set_fields[] = {
    QUOTA_FIELD("instances"),
    QUOTA_FIELD("cores"),
    QUOTA_FIELD("ram"),
    QUOTA_FIELD("key_pairs"),
    QUOTA_FIELD("metadata_items"),
    QUOTA_FIELD("server_groups"),
    QUOTA_FIELD("server_group_members"),
    QUOTA_FIELD("injected_files"),
    QUOTA_FIELD("injected_file_content_bytes"),
    QUOTA_FIELD("injected_file_path_bytes"),
    QUOTA_FIELD("fixed_ips"),
    QUOTA_FIELD("floating_ips"),
    QUOTA_FIELD("security_groups"),
    QUOTA_FIELD("security_group_rules"),
    API_FIELD_DEF("force", API_FIELD_BOOLEAN, API_FIELD_INT_STRING),
};

static const struct api_schema quota_set_schema = {
    .name = "quota_set",
    .fields = quota_set_fields,
    .nfields = ARRAY_SIZE(quota_set_fields),
};

const char *
compute_quota_name(enum compute_quota q)
{
    return q < COMPUTE_QUOTA__LAST ? quota_names[q] : "?";
}

static long long
quota_default(const struct api_config *c, enum compute_quota q)
{
    switch (q) {
    case COMPUTE_QUOTA_INSTANCES:
        return c->quota_instances;
    case COMPUTE_QUOTA_CORES:
        return c->quota_cores;
    case COMPUTE_QUOTA_RAM:
        return c->quota_ram;
    case COMPUTE_QUOTA_KEY_PAIRS:
        return c->quota_key_pairs;
    case COMPUTE_QUOTA_METADATA_ITEMS:
        return c->quota_metadata_items;
    case COMPUTE_QUOTA_SERVER_GROUPS:
        return c->quota_server_groups;
    case COMPUTE_QUOTA_SERVER_GROUP_MEMBERS:
        return c->quota_server_group_members;
    case COMPUTE_QUOTA__LAST:
        break;
    }
    return -1;
}

/* Every limit of @project: the defaults overridden by its rows. */
static int
limits_of(struct api_req *req, PGconn *conn, const char *project, long long out[], struct err *err)
{
    for (int q = 0; q < COMPUTE_QUOTA__LAST; q++)
        out[q] = quota_default(&req->srv->cfg, (enum compute_quota)q);
    const char *p[] = {project};
    json_t *rows = db_query_json(
        conn, "SELECT resource, hard_limit FROM quota WHERE project_id = $1", 1, p, err);
    if (!rows)
        return -1;
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *r = json_string_value(json_object_get(row, "resource"));
        for (int q = 0; q < COMPUTE_QUOTA__LAST; q++)
            if (strcmp(r, quota_names[q]) == 0)
                out[q] = json_integer_value(json_object_get(row, "hard_limit"));
    }
    json_decref(rows);
    return 0;
}

int
compute_quota_limit(struct api_req *req, PGconn *conn, const char *project, enum compute_quota q,
                    long long *limit, struct err *err)
{
    long long all[COMPUTE_QUOTA__LAST];
    if (limits_of(req, conn, project, all, err) < 0)
        return -1;
    *limit = all[q];
    return 0;
}

/* Usage of @project (instances, cores, ram, key pairs of the caller, server groups). */
static int
usage_of(struct api_req *req, PGconn *conn, const char *project, long long out[], struct err *err)
{
    memset(out, 0, sizeof(long long) * COMPUTE_QUOTA__LAST);
    const char *p[] = {project, req->ctx.user_id};
    json_t *row = db_compute_one(
        conn, "Project", project,
        "SELECT (SELECT count(*) FROM instance WHERE project_id = $1 AND deleted_at IS NULL) AS i, "
        "(SELECT coalesce(sum(vcpus), 0)::bigint FROM instance WHERE project_id = $1 AND "
        "deleted_at IS NULL) AS c, (SELECT coalesce(sum(memory_mb), 0)::bigint FROM instance "
        "WHERE project_id = $1 AND deleted_at IS NULL) AS r, (SELECT count(*) FROM keypair WHERE "
        "user_id = $2) AS k, (SELECT count(*) FROM server_group WHERE project_id = $1) AS g",
        2, p, err);
    if (!row)
        return -1;
    out[COMPUTE_QUOTA_INSTANCES] = json_integer_value(json_object_get(row, "i"));
    out[COMPUTE_QUOTA_CORES] = json_integer_value(json_object_get(row, "c"));
    out[COMPUTE_QUOTA_RAM] = json_integer_value(json_object_get(row, "r"));
    out[COMPUTE_QUOTA_KEY_PAIRS] = json_integer_value(json_object_get(row, "k"));
    out[COMPUTE_QUOTA_SERVER_GROUPS] = json_integer_value(json_object_get(row, "g"));
    json_decref(row);
    return 0;
}

static int
get_limits(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 || compute_authorize(req, "os_compute_api:limits", err) < 0)
        return -1;
    const char *project = compute_project(req, err);
    const char *tenant = api_req_query(req, "tenant_id");
    if (!project)
        return -1;
    if (tenant && strcmp(tenant, project) != 0) {
        if (compute_authorize(req, "os_compute_api:limits:other_project", err) < 0)
            return -1;
        project = tenant;
    }
    PGconn *conn = api_req_db(req, err);
    long long lim[COMPUTE_QUOTA__LAST], used[COMPUTE_QUOTA__LAST];
    if (!conn || limits_of(req, conn, project, lim, err) < 0 ||
        usage_of(req, conn, project, used, err) < 0)
        return -1;
    json_t *abs = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
        "maxServerMeta", lim[COMPUTE_QUOTA_METADATA_ITEMS], "maxPersonality", 5LL,
        "maxPersonalitySize", 10240LL, "maxImageMeta", lim[COMPUTE_QUOTA_METADATA_ITEMS],
        "maxTotalKeypairs", lim[COMPUTE_QUOTA_KEY_PAIRS], "maxSecurityGroups", -1LL,
        "maxSecurityGroupRules", -1LL, "maxServerGroups", lim[COMPUTE_QUOTA_SERVER_GROUPS],
        "maxServerGroupMembers", lim[COMPUTE_QUOTA_SERVER_GROUP_MEMBERS], "maxTotalCores",
        lim[COMPUTE_QUOTA_CORES], "maxTotalFloatingIps", -1LL, "maxTotalInstances",
        lim[COMPUTE_QUOTA_INSTANCES], "maxTotalRAMSize", lim[COMPUTE_QUOTA_RAM], "totalCoresUsed",
        used[COMPUTE_QUOTA_CORES], "totalInstancesUsed", used[COMPUTE_QUOTA_INSTANCES],
        "totalRAMUsed", used[COMPUTE_QUOTA_RAM], "totalServerGroupsUsed",
        used[COMPUTE_QUOTA_SERVER_GROUPS], "totalFloatingIpsUsed", 0LL, "totalSecurityGroupsUsed",
        0LL);
    api_reply_json(req, 200, json_pack("{s:{s:[],s:o}}", "limits", "rate", "absolute", abs));
    return 0;
}

/* The project of an os-quota-sets path, checked: admins any, others their own. */
static const char *
quota_project(struct api_req *req, const char *action, struct err *err)
{
    const char *p = api_req_param(req, "project_id");
    if (compute_authorize_project(req, action, p, err) < 0)
        return NULL;
    if (strlen(p) > 64) {
        err_set(err, ERR_INVALID, "Invalid project id.");
        return NULL;
    }
    return p;
}

/* {"id"?, every resource: limit or {in_use, limit, reserved}} */
static json_t *
quota_set_json(const char *id, const long long lim[], const long long *used)
{
    json_t *qs = json_object();
    if (id)
        json_object_set_new(qs, "id", json_string(id));
    for (int q = 0; q < COMPUTE_QUOTA__LAST; q++) {
        json_t *v =
            used ? json_pack("{s:I,s:I,s:i}", "in_use", used[q], "limit", lim[q], "reserved", 0)
                 : json_integer(lim[q]);
        json_object_set_new(qs, quota_names[q], v);
    }
    for (size_t i = 0; i < ARRAY_SIZE(fixed_quotas); i++) {
        json_t *v = used ? json_pack("{s:i,s:I,s:i}", "in_use", 0, "limit", fixed_quotas[i].value,
                                     "reserved", 0)
                         : json_integer(fixed_quotas[i].value);
        json_object_set_new(qs, fixed_quotas[i].name, v);
    }
    return qs;
}

static int
show_quota(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    const char *project = quota_project(req, "os_compute_api:os-quota-sets:show", err);
    PGconn *conn = project ? api_req_db(req, err) : NULL;
    long long lim[COMPUTE_QUOTA__LAST];
    if (!conn || limits_of(req, conn, project, lim, err) < 0)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "quota_set", quota_set_json(project, lim, NULL)));
    return 0;
}

static int
show_quota_detail(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    const char *project = quota_project(req, "os_compute_api:os-quota-sets:detail", err);
    PGconn *conn = project ? api_req_db(req, err) : NULL;
    long long lim[COMPUTE_QUOTA__LAST], used[COMPUTE_QUOTA__LAST];
    if (!conn || limits_of(req, conn, project, lim, err) < 0 ||
        usage_of(req, conn, project, used, err) < 0)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "quota_set", quota_set_json(project, lim, used)));
    return 0;
}

static int
show_quota_defaults(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-quota-sets:defaults", err) < 0)
        return -1;
    const char *project = api_req_param(req, "project_id");
    long long lim[COMPUTE_QUOTA__LAST];
    for (int q = 0; q < COMPUTE_QUOTA__LAST; q++)
        lim[q] = quota_default(&req->srv->cfg, (enum compute_quota)q);
    api_reply_json(req, 200, json_pack("{s:o}", "quota_set", quota_set_json(project, lim, NULL)));
    return 0;
}

static int
update_quota(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-quota-sets:update", err) < 0)
        return -1;
    const char *project = api_req_param(req, "project_id");
    json_t *qs = compute_body(req, "quota_set", err);
    if (!qs)
        return -1;
    if (strlen(project) > 64)
        return err_set(err, ERR_INVALID, "Invalid project id.");
    if (api_schema_validate(&quota_set_schema, qs, API_SCHEMA_UPDATE, req->ctx.is_admin,
                            API_ERRORS_NOVA, err) < 0)
        return -1;
    long long vals[COMPUTE_QUOTA__LAST];
    bool set[COMPUTE_QUOTA__LAST] = {false};
    for (int q = 0; q < COMPUTE_QUOTA__LAST; q++) {
        json_t *v = json_object_get(qs, quota_names[q]);
        if (!v)
            continue;
        vals[q] =
            json_is_integer(v) ? json_integer_value(v) : strtoll(json_string_value(v), NULL, 10);
        set[q] = true;
    }
    PGconn *conn = api_req_db(req, err);
    if (!conn || db_begin(conn, err) < 0)
        return -1;
    for (int q = 0; q < COMPUTE_QUOTA__LAST; q++) {
        if (!set[q])
            continue;
        char v[24];
        snprintf(v, sizeof(v), "%lld", vals[q]);
        const char *p[] = {project, quota_names[q], v};
        if (db_cmd(conn,
                   "INSERT INTO quota (project_id, resource, hard_limit) VALUES ($1, $2, "
                   "$3::bigint) ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = "
                   "EXCLUDED.hard_limit",
                   3, p, err) < 0) {
            db_rollback(conn);
            return -1;
        }
    }
    if (db_commit(conn, err) < 0)
        return -1;
    long long lim[COMPUTE_QUOTA__LAST];
    if (limits_of(req, conn, project, lim, err) < 0)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "quota_set", quota_set_json(NULL, lim, NULL)));
    return 0;
}

static int
delete_quota(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-quota-sets:delete", err) < 0)
        return -1;
    const char *project = api_req_param(req, "project_id");
    PGconn *conn = api_req_db(req, err);
    const char *p[] = {project};
    if (!conn || db_cmd(conn, "DELETE FROM quota WHERE project_id = $1", 1, p, err) < 0)
        return -1;
    api_reply_empty(req, 202);
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = COMPUTE_V21 "/limits", .handler = get_limits},
    {.method = "GET", .pattern = COMPUTE_V21 "/os-quota-sets/{project_id}", .handler = show_quota},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/os-quota-sets/{project_id}/detail",
     .handler = show_quota_detail},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/os-quota-sets/{project_id}/defaults",
     .handler = show_quota_defaults},
    {.method = "PUT",
     .pattern = COMPUTE_V21 "/os-quota-sets/{project_id}",
     .handler = update_quota},
    {.method = "DELETE",
     .pattern = COMPUTE_V21 "/os-quota-sets/{project_id}",
     .handler = delete_quota},
};

const struct api_route_table compute_limits_routes = {
    .name = "compute_limits",
    .prefix = COMPUTE_V21 "/limits",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
