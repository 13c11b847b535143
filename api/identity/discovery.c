/* Identity version discovery: GET / (300, every version) and GET /v3. The self
 * link comes from [api] public_url: clients POST their token request to it. */
#include "keystone.h"
#include "mem.h"

static json_t *
v3_document(const struct api_req *req)
{
    char *self = api_req_url(req, "/v3/");
    json_t *v = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}],s:[{s:s,s:s}]}", "id", "v3.14", "status",
                          "stable", "updated", "2020-04-07T00:00:00Z", "links", "rel", "self",
                          "href", self, "media-types", "base", "application/json", "type",
                          "application/vnd.openstack.identity-v3+json");
    free(self);
    return v;
}

static int
get_versions(struct api_req *req, struct err *err)
{
    (void)err;
    api_reply_json(req, 300, json_pack("{s:{s:[o]}}", "versions", "values", v3_document(req)));
    return 0;
}

static int
get_v3(struct api_req *req, struct err *err)
{
    (void)err;
    api_reply_json(req, 200, json_pack("{s:o}", "version", v3_document(req)));
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = "/", .handler = get_versions, .flags = API_ROUTE_PUBLIC},
    {.method = "GET", .pattern = "/v3", .handler = get_v3, .flags = API_ROUTE_PUBLIC},
};

const struct api_route_table identity_discovery_routes = {
    "identity_discovery", "/", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
