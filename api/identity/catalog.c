/* /v3/services and /v3/endpoints (admin): the catalog as data. `cloud-api
 * bootstrap` registers identity and every [catalog] entry of the config; an
 * admin can add, show, list and delete services and endpoints here too. Token
 * bodies read the catalog from these tables. */
#include <string.h>

#include "identity.h"
#include "keystone.h"
#include "mem.h"
#include "policy.h"
#include "server.h"

#define SERVICE_TYPE_MAX 255
#define ENDPOINT_URL_MAX 2048

static json_t *
links_for(const struct api_req *req, const char *coll, const char *id)
{
    char *url = api_req_url(req, "/v3/%s/%s", coll, id);
    json_t *l = json_pack("{s:s}", "self", url);
    free(url);
    return l;
}

static json_t *
service_json(const struct api_req *req, json_t *row)
{
    json_t *s = json_deep_copy(row);
    json_object_set_new(s, "links",
                        links_for(req, "services", json_string_value(json_object_get(row, "id"))));
    return s;
}

static json_t *
endpoint_json(const struct api_req *req, const json_t *row)
{
    const char *id = json_string_value(json_object_get(row, "id"));
    json_t *region = json_object_get(row, "region");
    return json_pack("{s:s,s:O,s:O,s:O,s:O,s:O,s:O,s:o}", "id", id, "interface",
                     json_object_get(row, "interface"), "region_id", region, "region", region,
                     "service_id", json_object_get(row, "service_id"), "url",
                     json_object_get(row, "url"), "enabled", json_object_get(row, "enabled"),
                     "links", links_for(req, "endpoints", id));
}

static int
list_services(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:list_services", NULL, err) < 0)
        return -1;
    const char *type = api_req_query(req, "type");
    const char *name = api_req_query(req, "name");
    PGconn *conn = api_req_db(req, err);
    json_t *rows = conn ? db_service_list(conn, err) : NULL;
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        if ((type && strcmp(type, json_string_value(json_object_get(row, "type"))) != 0) ||
            (name && strcmp(name, json_string_value(json_object_get(row, "name"))) != 0))
            continue;
        json_array_append_new(list, service_json(req, row));
    }
    json_decref(rows);
    api_reply_json(
        req, 200,
        json_pack("{s:o,s:o}", "services", list, "links", keystone_list_links(req, "services")));
    return 0;
}

static int
get_service(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "service_id");
    if (policy_check(&req->ctx, "identity:get_service", NULL, err) < 0 ||
        keystone_check_id(id, "service", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? db_service_get(conn, id, err) : NULL;
    if (!row)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "service", service_json(req, row)));
    json_decref(row);
    return 0;
}

static int
create_service(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:create_service", NULL, err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    json_t *s = body ? keystone_body_object(body, "service", err) : NULL;
    if (!s)
        return -1;
    const char *type, *name, *description;
    int enabled;
    if (keystone_str(s, "type", true, true, SERVICE_TYPE_MAX, &type, err) < 0 ||
        keystone_str(s, "name", false, false, KEYSTONE_NAME_MAX, &name, err) < 0 ||
        keystone_str(s, "description", false, false, KEYSTONE_DESCRIPTION_MAX, &description, err) <
            0 ||
        keystone_bool(s, "enabled", &enabled, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    char id[ID_HEX_LEN + 1];
    id_hex(id);
    if (db_service_create(conn, id, type, name ? name : type, description, enabled != 0, err) < 0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT,
                    "Conflict occurred attempting to store service - a "
                    "service of type %s exists.",
                    type);
        return -1;
    }
    json_t *row = db_service_get(conn, id, err);
    if (!row)
        return -1;
    api_reply_json(req, 201, json_pack("{s:o}", "service", service_json(req, row)));
    json_decref(row);
    return 0;
}

static int
delete_service(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "service_id");
    if (policy_check(&req->ctx, "identity:delete_service", NULL, err) < 0 ||
        keystone_check_id(id, "service", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn || db_service_delete(conn, id, err) < 0)
        return -1;
    api_reply_empty(req, 204);
    return 0;
}

static int
list_endpoints(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:list_endpoints", NULL, err) < 0)
        return -1;
    const char *service_id = api_req_query(req, "service_id");
    const char *interface = api_req_query(req, "interface");
    const char *region = api_req_query(req, "region_id");
    PGconn *conn = api_req_db(req, err);
    json_t *rows = conn ? db_endpoint_list(conn, err) : NULL;
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *sid = json_string_value(json_object_get(row, "service_id"));
        const char *ifc = json_string_value(json_object_get(row, "interface"));
        const char *reg = json_string_value(json_object_get(row, "region"));
        if ((service_id && strcmp(service_id, sid) != 0) ||
            (interface && strcmp(interface, ifc) != 0) || (region && strcmp(region, reg) != 0))
            continue;
        json_array_append_new(list, endpoint_json(req, row));
    }
    json_decref(rows);
    api_reply_json(
        req, 200,
        json_pack("{s:o,s:o}", "endpoints", list, "links", keystone_list_links(req, "endpoints")));
    return 0;
}

static int
get_endpoint(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "endpoint_id");
    if (policy_check(&req->ctx, "identity:get_endpoint", NULL, err) < 0 ||
        keystone_check_id(id, "endpoint", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? db_endpoint_get(conn, id, err) : NULL;
    if (!row)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "endpoint", endpoint_json(req, row)));
    json_decref(row);
    return 0;
}

static int
create_endpoint(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:create_endpoint", NULL, err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    json_t *e = body ? keystone_body_object(body, "endpoint", err) : NULL;
    if (!e)
        return -1;
    const char *service_id, *interface, *url, *region_id, *region;
    int enabled;
    if (keystone_str(e, "service_id", true, true, 64, &service_id, err) < 0 ||
        keystone_str(e, "interface", true, true, 16, &interface, err) < 0 ||
        keystone_str(e, "url", true, true, ENDPOINT_URL_MAX, &url, err) < 0 ||
        keystone_str(e, "region_id", false, true, 64, &region_id, err) < 0 ||
        keystone_str(e, "region", false, true, 64, &region, err) < 0 ||
        keystone_bool(e, "enabled", &enabled, err) < 0)
        return -1;
    if (strcmp(interface, "public") != 0 && strcmp(interface, "internal") != 0 &&
        strcmp(interface, "admin") != 0)
        return err_set(err, ERR_INVALID,
                       "Invalid input for field 'interface': public, internal or admin.");
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return err_set(err, ERR_INVALID, "Invalid input for field 'url': an http(s) URL.");
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    json_t *svc = id_is_safe(service_id) ? db_service_get(conn, service_id, err) : NULL;
    if (!svc)
        return err_set(err, ERR_INVALID, "Invalid input: service %s does not exist.",
                       id_is_safe(service_id) ? service_id : "(invalid)");
    json_decref(svc);
    char id[ID_HEX_LEN + 1];
    id_hex(id);
    const char *reg = region_id ? region_id : region ? region : req->srv->cfg.region;
    if (db_endpoint_create(conn, id, service_id, interface, reg, url, enabled != 0, err) < 0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT,
                    "Conflict occurred attempting to store endpoint - the service has a %s "
                    "endpoint in region %s.",
                    interface, reg);
        return -1;
    }
    json_t *row = db_endpoint_get(conn, id, err);
    if (!row)
        return -1;
    api_reply_json(req, 201, json_pack("{s:o}", "endpoint", endpoint_json(req, row)));
    json_decref(row);
    return 0;
}

static int
delete_endpoint(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "endpoint_id");
    if (policy_check(&req->ctx, "identity:delete_endpoint", NULL, err) < 0 ||
        keystone_check_id(id, "endpoint", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn || db_endpoint_delete(conn, id, err) < 0)
        return -1;
    api_reply_empty(req, 204);
    return 0;
}

static const struct api_route routes[] = {
    {"GET", "/v3/services", list_services, 0, 0, 0},
    {"POST", "/v3/services", create_service, 0, 0, 0},
    {"GET", "/v3/services/{service_id}", get_service, 0, 0, 0},
    {"DELETE", "/v3/services/{service_id}", delete_service, 0, 0, 0},
    {"GET", "/v3/endpoints", list_endpoints, 0, 0, 0},
    {"POST", "/v3/endpoints", create_endpoint, 0, 0, 0},
    {"GET", "/v3/endpoints/{endpoint_id}", get_endpoint, 0, 0, 0},
    {"DELETE", "/v3/endpoints/{endpoint_id}", delete_endpoint, 0, 0, 0},
};

const struct api_route_table identity_catalog_routes = {
    "identity_catalog", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
