/* /compute/v2.1/os-services (admins): one nova-compute service per
 * compute_node; state up/down from the last heartbeat, status from `enabled`.
 * PUT disable / disable-log-reason / enable change `enabled`, which the
 * scheduler's ComputeFilter honours; force-down (2.11) sets `forced_down`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "mem.h"
#include "schema.h"

#define SERVICE_BINARY "nova-compute"

static int
list_services(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-services:list", err) < 0)
        return -1;
    const char *host = api_req_query(req, "host");
    const char *binary = api_req_query(req, "binary");
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    json_t *list = json_array();
    if (binary && strcmp(binary, SERVICE_BINARY) != 0)
        goto out;
    char down[24];
    snprintf(down, sizeof(down), "%ld", req->srv->cfg.service_down_time);
    const char *p[] = {down, host, req->microversion >= COMPUTE_MV(2, 11) ? "t" : "f"};
    json_t *rows = db_query_json(
        conn,
        "SELECT id, host, availability_zone AS zone, CASE WHEN enabled THEN 'enabled' ELSE "
        "'disabled' END AS status, CASE WHEN " COMPUTE_HOST_UP_SQL(
            1) " THEN 'up' ELSE 'down' "
               "END AS state, " COMPUTE_TS_SQL(
                   "coalesce(last_heartbeat, updated_at)") " AS updated_at, "
                                                           "disabled_reason, CASE WHEN $3 = 't' THEN forced_down END AS forced_down FROM compute_node WHERE ($2::text IS NULL OR host = $2) ORDER BY id",
        3, p, err);
    if (!rows) {
        json_decref(list);
        return -1;
    }
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        json_object_set_new(row, "binary", json_string(SERVICE_BINARY));
        /* 2.11: forced_down */
        if (json_is_null(json_object_get(row, "forced_down")))
            json_object_del(row, "forced_down");
        json_array_append(list, row);
    }
    json_decref(rows);
out:
    api_reply_json(req, 200, json_pack("{s:o}", "services", list));
    return 0;
}

/* PUT /os-services/enable|disable and disable-log-reason (Nova 2.1 bodies) */
#define SERVICE_STR(n) API_FIELD_DEF(n, API_FIELD_STRING, API_FIELD_REQUIRED, .min = 1, .max = 255)
static const struct api_field status_fields[] = {SERVICE_STR("host"), SERVICE_STR("binary")};
static const struct api_field disable_log_fields[] = {SERVICE_STR("host"), SERVICE_STR("binary"),
                                                      SERVICE_STR("disabled_reason")};
static const struct api_field force_down_fields[] = {
    SERVICE_STR("host"), SERVICE_STR("binary"),
    API_FIELD_DEF("forced_down", API_FIELD_BOOLEAN, API_FIELD_REQUIRED)};
static const struct api_schema force_down_schema = {
    .name = "service", .fields = force_down_fields, .nfields = ARRAY_SIZE(force_down_fields)};
static const struct api_schema status_schema = {
    .name = "service", .fields = status_fields, .nfields = ARRAY_SIZE(status_fields)};
static const struct api_schema disable_log_schema = {
    .name = "service", .fields = disable_log_fields, .nfields = ARRAY_SIZE(disable_log_fields)};

static int
set_status(struct api_req *req, bool enable, bool with_reason, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-services:update", err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    if (!body)
        return -1;
    const struct api_schema *schema = with_reason ? &disable_log_schema : &status_schema;
    if (api_schema_validate(schema, body, API_SCHEMA_CREATE, req->ctx.is_admin, API_ERRORS_NOVA,
                            err) < 0)
        return -1;
    const char *host = json_string_value(json_object_get(body, "host"));
    const char *binary = json_string_value(json_object_get(body, "binary"));
    const char *reason = json_string_value(json_object_get(body, "disabled_reason"));
    if (strcmp(binary, SERVICE_BINARY) != 0)
        return err_set(err, ERR_NOT_FOUND, "Service %s on host %s not found.", binary, host);
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    const char *p[] = {host, enable ? "t" : "f", reason};
    int n = db_compute_cmd(conn,
                           "UPDATE compute_node SET enabled = $2::bool, disabled_reason = $3, "
                           "updated_at = now() WHERE host = $1",
                           3, p, err);
    if (n < 0)
        return -1;
    if (n == 0)
        return err_set(err, ERR_NOT_FOUND, "Compute host %s could not be found.", host);
    json_t *svc = json_pack("{s:s,s:s,s:s}", "host", host, "binary", binary, "status",
                            enable ? "enabled" : "disabled");
    if (reason)
        json_object_set_new(svc, "disabled_reason", json_string(reason));
    api_reply_json(req, 200, json_pack("{s:o}", "service", svc));
    return 0;
}

static int
enable_service(struct api_req *req, struct err *err)
{
    return set_status(req, true, false, err);
}

static int
disable_service(struct api_req *req, struct err *err)
{
    return set_status(req, false, false, err);
}

static int
disable_log_reason(struct api_req *req, struct err *err)
{
    return set_status(req, false, true, err);
}

/* PUT /os-services/force-down (2.11): an external monitor says the host is
 * down (or back): a forced-down host is down whatever its heartbeat says. */
static int
force_down(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    if (req->microversion < COMPUTE_MV(2, 11))
        return err_set(err, ERR_NOT_FOUND, "Unknown action force-down.");
    if (compute_authorize(req, "os_compute_api:os-services:update", err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    if (!body || api_schema_validate(&force_down_schema, body, API_SCHEMA_CREATE, req->ctx.is_admin,
                                     API_ERRORS_NOVA, err) < 0)
        return -1;
    const char *host = json_string_value(json_object_get(body, "host"));
    const char *binary = json_string_value(json_object_get(body, "binary"));
    json_t *fd = json_object_get(body, "forced_down");
    if (strcmp(binary, SERVICE_BINARY) != 0)
        return err_set(err, ERR_NOT_FOUND, "Service %s on host %s not found.", binary, host);
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    const char *p[] = {host, json_is_true(fd) ? "t" : "f"};
    int n = db_compute_cmd(conn,
                           "UPDATE compute_node SET forced_down = $2::bool, updated_at = now() "
                           "WHERE host = $1",
                           2, p, err);
    if (n < 0)
        return -1;
    if (n == 0)
        return err_set(err, ERR_NOT_FOUND, "Compute host %s could not be found.", host);
    api_reply_json(req, 200,
                   json_pack("{s:{s:s,s:s,s:b}}", "service", "host", host, "binary", binary,
                             "forced_down", json_is_true(fd)));
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = COMPUTE_V21 "/os-services", .handler = list_services},
    {.method = "PUT", .pattern = COMPUTE_V21 "/os-services/enable", .handler = enable_service},
    {.method = "PUT", .pattern = COMPUTE_V21 "/os-services/disable", .handler = disable_service},
    {.method = "PUT", .pattern = COMPUTE_V21 "/os-services/force-down", .handler = force_down},
    {.method = "PUT",
     .pattern = COMPUTE_V21 "/os-services/disable-log-reason",
     .handler = disable_log_reason},
};

const struct api_route_table compute_services_routes = {
    .name = "compute_services",
    .prefix = COMPUTE_V21 "/os-services",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
