/* /compute/v2.1/os-availability-zone: the zones of the compute nodes (a zone
 * is available while one of its enabled hosts is up); /detail (admins) lists
 * each zone's hosts with their nova-compute service. */
#include <stdio.h>
#include <string.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "mem.h"

static int
list_az(struct api_req *req, struct err *err)
{
    bool detail = req->match.route->arg != 0;
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req,
                          detail ? "os_compute_api:os-availability-zone:detail"
                                 : "os_compute_api:os-availability-zone:list",
                          err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    char down[24];
    snprintf(down, sizeof(down), "%ld", req->srv->cfg.service_down_time);
    const char *p[] = {down};
    json_t *rows = db_query_json(
        conn,
        "SELECT availability_zone AS zone, host, enabled, " COMPUTE_HOST_UP_SQL(1) " AS up, " COMPUTE_TS_SQL(
            "coalesce(last_heartbeat, updated_at)") " AS updated_at FROM compute_node "
                                                    "ORDER BY availability_zone, host",
        1, p, err);
    if (!rows)
        return -1;
    json_t *zones = json_object(); /* zone -> {available, hosts} */
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *zone = json_string_value(json_object_get(row, "zone"));
        json_t *z = json_object_get(zones, zone);
        if (!z) {
            z = json_pack("{s:b,s:{}}", "available", 0, "hosts");
            json_object_set_new(zones, zone, z);
        }
        bool avail = json_is_true(json_object_get(row, "enabled")) &&
                     json_is_true(json_object_get(row, "up"));
        if (avail)
            json_object_set_new(z, "available", json_true());
        json_object_set_new(json_object_get(z, "hosts"),
                            json_string_value(json_object_get(row, "host")),
                            json_pack("{s:{s:b,s:b,s:O}}", "nova-compute", "available",
                                      json_is_true(json_object_get(row, "up")), "active",
                                      json_is_true(json_object_get(row, "enabled")), "updated_at",
                                      json_object_get(row, "updated_at")));
    }
    json_decref(rows);
    json_t *list = json_array();
    const char *zone;
    json_t *z;
    json_object_foreach (zones, zone, z) {
        if (!detail && !json_is_true(json_object_get(z, "available")))
            continue;
        json_array_append_new(list, json_pack("{s:s,s:{s:O},s:O}", "zoneName", zone, "zoneState",
                                              "available", json_object_get(z, "available"), "hosts",
                                              detail ? json_object_get(z, "hosts") : json_null()));
    }
    json_decref(zones);
    api_reply_json(req, 200, json_pack("{s:o}", "availabilityZoneInfo", list));
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = COMPUTE_V21 "/os-availability-zone", .handler = list_az, .arg = 0},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/os-availability-zone/detail",
     .handler = list_az,
     .arg = 1},
};

const struct api_route_table compute_az_routes = {
    .name = "compute_az",
    .prefix = COMPUTE_V21 "/os-availability-zone",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
