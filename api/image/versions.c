/* Image API discovery: GET /image/ and /image/v2/ answer 300 with the
 * versions list (Tempest's image.v2.test_versions wants 300). The SDK sends
 * every later call to the self href of the version it picks. */
#include "image_api.h"
#include "mem.h"

/* Glance's v2 minor versions; the newest is CURRENT. */
static const char *const versions[] = {"v2.16", "v2.15", "v2.14", "v2.13", "v2.12", "v2.11",
                                       "v2.10", "v2.9",  "v2.8",  "v2.7",  "v2.6",  "v2.5",
                                       "v2.4",  "v2.3",  "v2.2",  "v2.1",  "v2.0"};

static int
get_versions(struct api_req *req, struct err *err)
{
    (void)err;
    char *self = api_req_url(req, IMAGE_V2 "/");
    json_t *list = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(versions); i++)
        json_array_append_new(list, json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "id", versions[i],
                                              "status", i == 0 ? "CURRENT" : "SUPPORTED", "links",
                                              "rel", "self", "href", self));
    free(self);
    api_reply_json(req, 300, json_pack("{s:o}", "versions", list));
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = IMAGE_PREFIX, .handler = get_versions, .flags = API_ROUTE_PUBLIC},
    {.method = "GET",
     .pattern = IMAGE_PREFIX "/versions",
     .handler = get_versions,
     .flags = API_ROUTE_PUBLIC},
    {.method = "GET", .pattern = IMAGE_V2, .handler = get_versions, .flags = API_ROUTE_PUBLIC},
};

const struct api_route_table image_versions_routes = {
    "image_versions", IMAGE_PREFIX, API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
