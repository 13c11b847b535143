/* /image/v2/schemas/image[s] and member[s]: the JSON schemas that Glance
 * publishes and its clients (and Tempest) read. Custom properties are strings
 * (additionalProperties). */
#include "image_api.h"
#include "mem.h"

/* Glance's image schema, kept as the document it is (schema_image.json) and
 * compiled in as text by api/CMakeLists.txt. */
static json_t *
image_schema(void)
{
    static const char doc[] = {
#include "schema_image.inc"
        '\0'};
    json_t *schema = json_loads(doc, 0, NULL);
    if (!schema)
        abort(); /* a build input, checked by the golden test */
    return schema;
}

static int
get_image_schema(struct api_req *req, struct err *err)
{
    (void)err;
    api_reply_json(req, 200, image_schema());
    return 0;
}

static int
get_images_schema(struct api_req *req, struct err *err)
{
    (void)err;
    api_reply_json(
        req, 200,
        json_pack("{s:s,s:{s:{s:s,s:o},s:{s:s},s:{s:s},s:{s:s}},s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}",
                  "name", "images", "properties", "images", "type", "array", "items",
                  image_schema(), "schema", "type", "string", "first", "type", "string", "next",
                  "type", "string", "links", "rel", "first", "href", "{first}", "rel", "next",
                  "href", "{next}", "rel", "describedby", "href", "{schema}"));
    return 0;
}

static json_t *
member_schema(void)
{
    return json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:[s,s,s]},s:{s:s}}}", "name",
                     "member", "properties", "created_at", "type", "string", "updated_at", "type",
                     "string", "image_id", "type", "string", "member_id", "type", "string",
                     "status", "type", "string", "enum", "pending", "accepted", "rejected",
                     "schema", "type", "string");
}

static int
get_member_schema(struct api_req *req, struct err *err)
{
    (void)err;
    api_reply_json(req, 200, member_schema());
    return 0;
}

static int
get_members_schema(struct api_req *req, struct err *err)
{
    (void)err;
    api_reply_json(req, 200,
                   json_pack("{s:s,s:{s:{s:s,s:o},s:{s:s}},s:[{s:s,s:s}]}", "name", "members",
                             "properties", "members", "type", "array", "items", member_schema(),
                             "schema", "type", "string", "links", "rel", "describedby", "href",
                             "{schema}"));
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = IMAGE_V2 "/schemas/image", .handler = get_image_schema},
    {.method = "GET", .pattern = IMAGE_V2 "/schemas/images", .handler = get_images_schema},
    {.method = "GET", .pattern = IMAGE_V2 "/schemas/member", .handler = get_member_schema},
    {.method = "GET", .pattern = IMAGE_V2 "/schemas/members", .handler = get_members_schema},
};

const struct api_route_table image_schemas_routes = {
    "image_schemas", IMAGE_PREFIX, API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
