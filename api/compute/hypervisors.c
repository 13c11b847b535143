/* /compute/v2.1/os-hypervisors (admins): one hypervisor per compute_node row,
 * with the integer id of microversions below 2.53; state up/down from the
 * last heartbeat, status from `enabled`; usage is the claimed figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "mem.h"

#define HV_COLS                                                                                               \
    "n.id, n.host, n.hypervisor_hostname, n.hypervisor_type, n.hypervisor_version, n.host_ip, "               \
    "n.vcpus, n.vcpus_used, n.memory_mb, n.memory_mb_used, n.local_gb, n.local_gb_used, "                     \
    "n.running_vms, n.enabled, n.disabled_reason, n.cpu_util::text AS cpu_util, "                             \
    "extract(epoch FROM now() - coalesce(n.started_at, n.created_at))::bigint AS up_s, " COMPUTE_HOST_UP_SQL( \
        1) " AS up"

static json_t *
hv_rows(struct api_req *req, PGconn *conn, const char *where, const char *arg, struct err *err)
{
    char down[24];
    snprintf(down, sizeof(down), "%ld", req->srv->cfg.service_down_time);
    const char *p[] = {down, arg};
    char *sql = xasprintf("SELECT " HV_COLS " FROM compute_node n WHERE %s ORDER BY n.id", where);
    json_t *rows = db_query_json(conn, sql, arg ? 2 : 1, p, err);
    free(sql);
    return rows;
}

static json_t *
hv_json(const json_t *row, bool detail, int mv)
{
    json_t *h =
        json_pack("{s:O,s:O,s:s,s:s}", "id", json_object_get(row, "id"), "hypervisor_hostname",
                  json_object_get(row, "hypervisor_hostname"), "state",
                  json_is_true(json_object_get(row, "up")) ? "up" : "down", "status",
                  json_is_true(json_object_get(row, "enabled")) ? "enabled" : "disabled");
    if (!detail)
        return h;
    json_int_t mem = json_integer_value(json_object_get(row, "memory_mb"));
    json_int_t mem_used = json_integer_value(json_object_get(row, "memory_mb_used"));
    json_int_t disk = json_integer_value(json_object_get(row, "local_gb"));
    json_int_t disk_used = json_integer_value(json_object_get(row, "local_gb_used"));
    json_object_set(h, "hypervisor_type", json_object_get(row, "hypervisor_type"));
    json_object_set(h, "hypervisor_version", json_object_get(row, "hypervisor_version"));
    json_object_set(h, "host_ip", json_object_get(row, "host_ip"));
    json_object_set(h, "vcpus", json_object_get(row, "vcpus"));
    json_object_set(h, "vcpus_used", json_object_get(row, "vcpus_used"));
    json_object_set(h, "memory_mb", json_object_get(row, "memory_mb"));
    json_object_set(h, "memory_mb_used", json_object_get(row, "memory_mb_used"));
    json_object_set(h, "local_gb", json_object_get(row, "local_gb"));
    json_object_set(h, "local_gb_used", json_object_get(row, "local_gb_used"));
    json_object_set_new(h, "free_ram_mb", json_integer(mem - mem_used));
    json_object_set_new(h, "free_disk_gb", json_integer(disk - disk_used));
    json_object_set_new(h, "current_workload", json_integer(0));
    json_object_set(h, "running_vms", json_object_get(row, "running_vms"));
    json_object_set_new(h, "disk_available_least", json_integer(disk - disk_used));
    /* a JSON object from 2.28, its text below */
    json_object_set_new(h, "cpu_info", mv >= COMPUTE_MV(2, 28) ? json_object() : json_string("{}"));
    json_object_set_new(h, "service",
                        json_pack("{s:O,s:O,s:O}", "host", json_object_get(row, "host"), "id",
                                  json_object_get(row, "id"), "disabled_reason",
                                  json_object_get(row, "disabled_reason")));
    return h;
}

static int
list_hypervisors(struct api_req *req, struct err *err)
{
    bool detail = req->match.route->arg != 0;
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req,
                          detail ? "os_compute_api:os-hypervisors:list-detail"
                                 : "os_compute_api:os-hypervisors:list",
                          err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *rows = conn ? hv_rows(req, conn, "true", NULL, err) : NULL;
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row)
        json_array_append_new(list, hv_json(row, detail, req->microversion));
    json_decref(rows);
    api_reply_json(req, 200, json_pack("{s:o}", "hypervisors", list));
    return 0;
}

/* The row of {hypervisor_id}: an integer below 2.53, else 404. */
static json_t *
hv_one(struct api_req *req, PGconn *conn, struct err *err)
{
    const char *id = api_req_param(req, "hypervisor_id");
    size_t n = strlen(id);
    bool digits = n > 0 && n < 10;
    for (size_t i = 0; i < n; i++)
        digits &= id[i] >= '0' && id[i] <= '9';
    if (!digits) {
        err_set(err, ERR_NOT_FOUND, "Hypervisor with ID %.64s could not be found.", id);
        return NULL;
    }
    return db_first_row(hv_rows(req, conn, "n.id = $2::int", id, err), err,
                        "Hypervisor with ID %s could not be found.", id);
}

static int
show_hypervisor(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-hypervisors:show", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? hv_one(req, conn, err) : NULL;
    if (!row)
        return -1;
    api_reply_json(req, 200,
                   json_pack("{s:o}", "hypervisor", hv_json(row, true, req->microversion)));
    json_decref(row);
    return 0;
}

static int
hypervisor_uptime(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-hypervisors:uptime", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? hv_one(req, conn, err) : NULL;
    if (!row)
        return -1;
    long long up = json_integer_value(json_object_get(row, "up_s"));
    if (up < 0)
        up = 0;
    double load = strtod(json_string_value(json_object_get(row, "cpu_util")), NULL) *
                  (double)json_integer_value(json_object_get(row, "vcpus"));
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char uptime[160];
    /* the shape of uptime(1), which the client parses */
    snprintf(uptime, sizeof(uptime),
             " %02d:%02d:%02d up %lld days, %2lld:%02lld,  0 users,  load average: %.2f, %.2f, "
             "%.2f",
             tm.tm_hour, tm.tm_min, tm.tm_sec, up / 86400, (up % 86400) / 3600, (up % 3600) / 60,
             load, load, load);
    json_t *h = hv_json(row, false, req->microversion);
    json_object_set_new(h, "uptime", json_string(uptime));
    json_decref(row);
    api_reply_json(req, 200, json_pack("{s:o}", "hypervisor", h));
    return 0;
}

static int
hypervisor_statistics(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-hypervisors:statistics", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    json_t *s = db_compute_one(
        conn, "Statistics", "",
        "SELECT count(*)::int AS count, coalesce(sum(vcpus), 0)::bigint AS vcpus, "
        "coalesce(sum(vcpus_used), 0)::bigint AS vcpus_used, coalesce(sum(memory_mb), 0)::bigint "
        "AS memory_mb, coalesce(sum(memory_mb_used), 0)::bigint AS memory_mb_used, "
        "coalesce(sum(local_gb), 0)::bigint AS local_gb, coalesce(sum(local_gb_used), 0)::bigint "
        "AS local_gb_used, coalesce(sum(memory_mb - memory_mb_used), 0)::bigint AS free_ram_mb, "
        "coalesce(sum(local_gb - local_gb_used), 0)::bigint AS free_disk_gb, 0 AS "
        "current_workload, coalesce(sum(running_vms), 0)::bigint AS running_vms, "
        "coalesce(sum(local_gb - local_gb_used), 0)::bigint AS disk_available_least FROM "
        "compute_node",
        0, NULL, err);
    if (!s)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "hypervisor_statistics", s));
    return 0;
}

static int
search_hypervisors(struct api_req *req, struct err *err)
{
    bool servers = req->match.route->arg != 0;
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req,
                          servers ? "os_compute_api:os-hypervisors:servers"
                                  : "os_compute_api:os-hypervisors:search",
                          err) < 0)
        return -1;
    const char *pattern = api_req_param(req, "hostname");
    PGconn *conn = api_req_db(req, err);
    json_t *rows =
        conn ? hv_rows(req, conn, "strpos(n.hypervisor_hostname, $2) > 0", pattern, err) : NULL;
    if (!rows)
        return -1;
    if (json_array_size(rows) == 0) {
        json_decref(rows);
        return err_set(err, ERR_NOT_FOUND, "No hypervisor matching '%.64s' could be found.",
                       pattern);
    }
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        json_t *h = hv_json(row, false, req->microversion);
        if (servers) {
            const char *p[] = {json_string_value(json_object_get(row, "host"))};
            json_t *insts = db_query_json(conn,
                                          "SELECT id::text AS uuid, name FROM instance WHERE "
                                          "host = $1 AND deleted_at IS NULL ORDER BY created_at",
                                          1, p, err);
            if (!insts) {
                json_decref(h);
                json_decref(list);
                json_decref(rows);
                return -1;
            }
            if (json_array_size(insts))
                json_object_set(h, "servers", insts);
            json_decref(insts);
        }
        json_array_append_new(list, h);
    }
    json_decref(rows);
    api_reply_json(req, 200, json_pack("{s:o}", "hypervisors", list));
    return 0;
}

/* Host aggregates are not modelled: the list is empty (OSC's hypervisor show
 * reads it). */
static int
list_aggregates(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-aggregates:index", err) < 0)
        return -1;
    api_reply_json(req, 200, json_pack("{s:[]}", "aggregates"));
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = COMPUTE_V21 "/os-aggregates", .handler = list_aggregates},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/os-hypervisors",
     .handler = list_hypervisors,
     .arg = 0},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/os-hypervisors/detail",
     .handler = list_hypervisors,
     .arg = 1},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/os-hypervisors/statistics",
     .handler = hypervisor_statistics},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/os-hypervisors/{hypervisor_id}",
     .handler = show_hypervisor},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/os-hypervisors/{hypervisor_id}/uptime",
     .handler = hypervisor_uptime},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/os-hypervisors/{hostname}/search",
     .handler = search_hypervisors,
     .arg = 0},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/os-hypervisors/{hostname}/servers",
     .handler = search_hypervisors,
     .arg = 1},
};

const struct api_route_table compute_hypervisors_routes = {
    .name = "compute_hypervisors",
    .prefix = COMPUTE_V21 "/os-hypervisors",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
