/* /v3/services and /v3/endpoints (read-only, admin): the catalog as data.
 * Services and endpoints are registered by `cloud-api bootstrap` (identity,
 * plus every [catalog] entry of the config). */
#include <string.h>

#include "identity.h"
#include "keystone.h"
#include "mem.h"
#include "policy.h"

static json_t *
links_for(const struct api_req *req, const char *coll, const char *id)
{
    char *url = api_req_url(req, "/v3/%s/%s", coll, id);
    json_t *l = json_pack("{s:s}", "self", url);
    free(url);
    return l;
}

static int
list_services(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:list_services", NULL, err) < 0)
        return -1;
    const char *type = api_req_query(req, "type");
    PGconn *conn = api_req_db(req, err);
    json_t *rows = conn ? db_service_list(conn, err) : NULL;
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *id = json_string_value(json_object_get(row, "id"));
        if (type && strcmp(type, json_string_value(json_object_get(row, "type"))) != 0)
            continue;
        json_object_set_new(row, "links", links_for(req, "services", id));
        json_array_append(list, row);
    }
    json_decref(rows);
    api_reply_json(
        req, 200,
        json_pack("{s:o,s:o}", "services", list, "links", keystone_list_links(req, "services")));
    return 0;
}

static int
list_endpoints(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:list_endpoints", NULL, err) < 0)
        return -1;
    const char *service_id = api_req_query(req, "service_id");
    const char *interface = api_req_query(req, "interface");
    PGconn *conn = api_req_db(req, err);
    json_t *rows = conn ? db_catalog_list(conn, err) : NULL;
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *id = json_string_value(json_object_get(row, "endpoint_id"));
        const char *sid = json_string_value(json_object_get(row, "service_id"));
        const char *ifc = json_string_value(json_object_get(row, "interface"));
        if ((service_id && strcmp(service_id, sid) != 0) || (interface && strcmp(interface, ifc)))
            continue;
        json_t *region = json_object_get(row, "region");
        json_array_append_new(list,
                              json_pack("{s:s,s:s,s:O,s:O,s:s,s:O,s:b,s:o}", "id", id, "interface",
                                        ifc, "region_id", region, "region", region, "service_id",
                                        sid, "url", json_object_get(row, "url"), "enabled", 1,
                                        "links", links_for(req, "endpoints", id)));
    }
    json_decref(rows);
    api_reply_json(
        req, 200,
        json_pack("{s:o,s:o}", "endpoints", list, "links", keystone_list_links(req, "endpoints")));
    return 0;
}

static const struct api_route routes[] = {
    {"GET", "/v3/services", list_services, 0, 0},
    {"GET", "/v3/endpoints", list_endpoints, 0, 0},
};

const struct api_route_table identity_catalog_routes = {
    "identity_catalog", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
