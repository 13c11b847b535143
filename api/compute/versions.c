/* Compute discovery: GET /compute/ lists v2.0 (first, as Tempest requires)
 * and v2.1; each version document answers at its self link. v2.1 advertises
 * microversions 2.1 (min_version) to COMPUTE_VERSION_MAX (version). */
#include <stdlib.h>

#include "compute.h"
#include "mem.h"

static json_t *
version_json(struct api_req *req, bool v21, bool media_types)
{
    char *self = api_req_url(req, COMPUTE_PREFIX "/%s/", v21 ? "v2.1" : "v2");
    json_t *v = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s},{s:s,s:s,s:s}]}", "id", v21 ? "v2.1" : "v2.0", "status",
        v21 ? "CURRENT" : "SUPPORTED", "version", v21 ? COMPUTE_VERSION_MAX : "", "min_version",
        v21 ? COMPUTE_VERSION_MIN : "", "updated",
        v21 ? "2013-07-23T11:33:21Z" : "2011-01-21T11:33:21Z", "links", "rel", "self", "href", self,
        "rel", "describedby", "type", "text/html", "href", "http://docs.openstack.org/");
    free(self);
    if (media_types)
        json_object_set_new(v, "media-types",
                            json_pack("[{s:s,s:s}]", "base", "application/json", "type",
                                      v21 ? "application/vnd.openstack.compute+json;version=2.1"
                                          : "application/vnd.openstack.compute+json;version=2"));
    return v;
}

static int
list_versions(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    api_reply_json(req, 200,
                   json_pack("{s:[o,o]}", "versions", version_json(req, false, false),
                             version_json(req, true, false)));
    return 0;
}

static int
show_v20(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "version", version_json(req, false, true)));
    return 0;
}

static int
show_v21(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "version", version_json(req, true, true)));
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = "/compute", .handler = list_versions, .flags = API_ROUTE_PUBLIC},
    {.method = "GET", .pattern = "/compute/v2", .handler = show_v20, .flags = API_ROUTE_PUBLIC},
    {.method = "GET", .pattern = "/compute/v2.1", .handler = show_v21, .flags = API_ROUTE_PUBLIC},
};

const struct api_route_table compute_versions_routes = {
    .name = "compute_versions",
    .prefix = COMPUTE_PREFIX,
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
