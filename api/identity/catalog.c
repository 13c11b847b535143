/* /v3/services and /v3/endpoints (admin): the catalog as data. `cloud-api
 * bootstrap` registers identity and every [catalog] entry of the config; an
 * admin can list, show, add, change and delete services and endpoints here
 * too: two resources of the engine (core/resource.h). Token bodies read the
 * catalog from these tables. */
#include <string.h>

#include "identity.h"
#include "keystone.h"
#include "mem.h"
#include "policy.h"
#include "resource.h"
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

/* ---- services ---- */

static const struct api_field service_fields[] = {
    API_FIELD_DEF("type", API_FIELD_STRING,
                  API_FIELD_REQUIRED | API_FIELD_NONEMPTY | API_FIELD_FILTER | API_FIELD_SORT,
                  .min = 1, .max = SERVICE_TYPE_MAX),
    API_FIELD_DEF("name", API_FIELD_STRING, API_FIELD_NULLABLE | API_FIELD_FILTER | API_FIELD_SORT,
                  .max = KEYSTONE_NAME_MAX),
    API_FIELD_DEF("description", API_FIELD_STRING, API_FIELD_NULLABLE,
                  .max = KEYSTONE_DESCRIPTION_MAX),
    API_FIELD_DEF("enabled", API_FIELD_BOOLEAN, API_FIELD_FILTER),
};

static const struct api_schema service_schema = {
    .name = "service",
    .fields = service_fields,
    .nfields = ARRAY_SIZE(service_fields),
    .additional = true,
};

/* A service without a name is named after its type. */
static int
service_prepare(struct api_req *req, const json_t *obj, struct api_values *vals,
                enum api_schema_op op, struct err *err)
{
    (void)req;
    (void)obj;
    (void)err;
    if (op == API_SCHEMA_CREATE && !api_values_get(vals, "name"))
        api_values_set(vals, "name", api_values_get(vals, "type"));
    return 0;
}

static void
service_conflict(struct api_req *req, const struct api_values *vals, struct err *err)
{
    (void)req;
    err_set(err, ERR_CONFLICT,
            "Conflict occurred attempting to store service - a service of type %s exists.",
            api_values_get(vals, "type"));
}

static json_t *
service_render(struct api_req *req, const json_t *row, enum api_view view)
{
    (void)view;
    json_t *s = json_deep_copy(row);
    json_object_set_new(s, "links",
                        links_for(req, "services", json_string_value(json_object_get(row, "id"))));
    return s;
}

static const struct api_resource service_resource = {
    .singular = "service",
    .plural = "services",
    .noun = "service",
    .id_param = "service_id",
    .path = "/v3/services",
    .schema = &service_schema,
    .table = "catalog_service",
    .select = "id, type, name, description, enabled",
    .hex_id = true,
    .default_sort = "type",
    .paging = API_PAGING_NONE,
    .list_action = "identity:list_services",
    .show_action = "identity:get_service",
    .create_action = "identity:create_service",
    .update_action = "identity:update_service",
    .delete_action = "identity:delete_service",
    .prepare = service_prepare,
    .conflict = service_conflict,
    .render = service_render,
};

/* ---- endpoints ---- */

static const char *const endpoint_interfaces[] = {"public", "internal", "admin", NULL};

static const struct api_field endpoint_fields[] = {
    API_FIELD_DEF("service_id", API_FIELD_STRING,
                  API_FIELD_REQUIRED | API_FIELD_NONEMPTY | API_FIELD_FILTER | API_FIELD_SORT,
                  .max = 64),
    API_FIELD_DEF("interface", API_FIELD_STRING,
                  API_FIELD_REQUIRED | API_FIELD_FILTER | API_FIELD_SORT,
                  .enum_values = endpoint_interfaces),
    API_FIELD_DEF("url", API_FIELD_STRING, API_FIELD_REQUIRED, .min = 1, .max = ENDPOINT_URL_MAX,
                  .pattern = "https?://.+"),
    API_FIELD_DEF("region", API_FIELD_STRING, API_FIELD_NULLABLE, .min = 1, .max = 64),
    /* Keystone's current name for the region; it wins over "region" */
    API_FIELD_DEF("region_id", API_FIELD_STRING, API_FIELD_NULLABLE | API_FIELD_FILTER, .min = 1,
                  .max = 64, .column = "region"),
    API_FIELD_DEF("enabled", API_FIELD_BOOLEAN, API_FIELD_FILTER),
};

static const struct api_schema endpoint_schema = {
    .name = "endpoint",
    .fields = endpoint_fields,
    .nfields = ARRAY_SIZE(endpoint_fields),
    .additional = true,
};

/* The service must exist (400 otherwise, as Keystone); the region defaults
 * to [identity] region. */
static int
endpoint_prepare(struct api_req *req, const json_t *obj, struct api_values *vals,
                 enum api_schema_op op, struct err *err)
{
    (void)obj;
    const char *service_id = api_values_get(vals, "service_id");
    if (service_id) {
        PGconn *conn = api_req_db(req, err);
        json_t *svc = conn ? db_service_get(conn, service_id, err) : NULL;
        if (!svc)
            return conn ? err_set(err, ERR_INVALID, "Invalid input: service %.64s does not exist.",
                                  service_id)
                        : -1;
        json_decref(svc);
    }
    if (op == API_SCHEMA_CREATE && !api_values_get(vals, "region"))
        api_values_set(vals, "region", req->srv->cfg.region);
    return 0;
}

static void
endpoint_conflict(struct api_req *req, const struct api_values *vals, struct err *err)
{
    (void)req;
    err_set(err, ERR_CONFLICT,
            "Conflict occurred attempting to store endpoint - the service has a %s endpoint in "
            "region %s.",
            api_values_get(vals, "interface"), api_values_get(vals, "region"));
}

static json_t *
endpoint_render(struct api_req *req, const json_t *row, enum api_view view)
{
    (void)view;
    const char *id = json_string_value(json_object_get(row, "id"));
    json_t *region = json_object_get(row, "region");
    return json_pack("{s:s,s:O,s:O,s:O,s:O,s:O,s:O,s:o}", "id", id, "interface",
                     json_object_get(row, "interface"), "region_id", region, "region", region,
                     "service_id", json_object_get(row, "service_id"), "url",
                     json_object_get(row, "url"), "enabled", json_object_get(row, "enabled"),
                     "links", links_for(req, "endpoints", id));
}

static const struct api_resource endpoint_resource = {
    .singular = "endpoint",
    .plural = "endpoints",
    .noun = "endpoint",
    .id_param = "endpoint_id",
    .path = "/v3/endpoints",
    .schema = &endpoint_schema,
    .table = "catalog_endpoint",
    .select = "id, service_id, interface, region, url, enabled",
    .hex_id = true,
    .default_sort = "service_id",
    .paging = API_PAGING_NONE,
    .list_action = "identity:list_endpoints",
    .show_action = "identity:get_endpoint",
    .create_action = "identity:create_endpoint",
    .update_action = "identity:update_endpoint",
    .delete_action = "identity:delete_endpoint",
    .prepare = endpoint_prepare,
    .conflict = endpoint_conflict,
    .render = endpoint_render,
};

static const struct api_route routes[] = {
    API_RESOURCE_LIST(&service_resource, "/v3/services", API_VIEW_DETAIL),
    API_RESOURCE_CREATE(&service_resource, "/v3/services"),
    API_RESOURCE_SHOW(&service_resource, "/v3/services/{service_id}"),
    API_RESOURCE_UPDATE(&service_resource, "PATCH", "/v3/services/{service_id}"),
    API_RESOURCE_DELETE(&service_resource, "/v3/services/{service_id}"),
    API_RESOURCE_LIST(&endpoint_resource, "/v3/endpoints", API_VIEW_DETAIL),
    API_RESOURCE_CREATE(&endpoint_resource, "/v3/endpoints"),
    API_RESOURCE_SHOW(&endpoint_resource, "/v3/endpoints/{endpoint_id}"),
    API_RESOURCE_UPDATE(&endpoint_resource, "PATCH", "/v3/endpoints/{endpoint_id}"),
    API_RESOURCE_DELETE(&endpoint_resource, "/v3/endpoints/{endpoint_id}"),
};

const struct api_route_table identity_catalog_routes = {
    "identity_catalog", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
