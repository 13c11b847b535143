/* /image/v2/schemas/image[s] and member[s]: the JSON schemas that Glance
 * publishes and its clients (and Tempest) read. Custom properties are strings
 * (additionalProperties). */
#include "image_api.h"
#include "mem.h"

static json_t *
nullable(const char *type)
{
    return json_pack("[s,s]", type, "null");
}

static json_t *
image_schema(void)
{
    json_t *props = json_object();
    json_object_set_new(props, "id",
                        json_pack("{s:s,s:s,s:s,s:b}", "type", "string", "description",
                                  "An identifier for the image", "pattern",
                                  "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                                  "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$",
                                  "readOnly", 0));
    json_object_set_new(props, "name",
                        json_pack("{s:o,s:i,s:s}", "type", nullable("string"), "maxLength", 255,
                                  "description", "Descriptive name for the image"));
    json_object_set_new(props, "status",
                        json_pack("{s:s,s:b,s:[s,s,s,s,s,s,s,s,s],s:s}", "type", "string",
                                  "readOnly", 1, "enum", "queued", "saving", "active", "killed",
                                  "deleted", "uploading", "importing", "pending_delete",
                                  "deactivated", "description", "Status of the image"));
    json_object_set_new(props, "visibility",
                        json_pack("{s:s,s:[s,s,s,s],s:s}", "type", "string", "enum", "community",
                                  "public", "private", "shared", "description",
                                  "Scope of image accessibility"));
    json_object_set_new(props, "protected",
                        json_pack("{s:s,s:s}", "type", "boolean", "description",
                                  "If true, image will not be deletable."));
    json_object_set_new(props, "os_hidden",
                        json_pack("{s:s,s:s}", "type", "boolean", "description",
                                  "If true, image will not appear in default image list."));
    json_object_set_new(props, "checksum",
                        json_pack("{s:o,s:b,s:i,s:s}", "type", nullable("string"), "readOnly", 1,
                                  "maxLength", 32, "description", "md5 hash of image contents."));
    json_object_set_new(props, "os_hash_algo",
                        json_pack("{s:o,s:b,s:i,s:s}", "type", nullable("string"), "readOnly", 1,
                                  "maxLength", 64, "description",
                                  "Algorithm to calculate the os_hash_value"));
    json_object_set_new(props, "os_hash_value",
                        json_pack("{s:o,s:b,s:i,s:s}", "type", nullable("string"), "readOnly", 1,
                                  "maxLength", 128, "description",
                                  "Hexdigest of the image contents using the algorithm "
                                  "specified by the os_hash_algo"));
    json_object_set_new(props, "owner",
                        json_pack("{s:o,s:i,s:s}", "type", nullable("string"), "maxLength", 255,
                                  "description", "Owner of the image"));
    json_object_set_new(props, "size",
                        json_pack("{s:o,s:b,s:s}", "type", nullable("integer"), "readOnly", 1,
                                  "description", "Size of image file in bytes"));
    json_object_set_new(props, "virtual_size",
                        json_pack("{s:o,s:b,s:s}", "type", nullable("integer"), "readOnly", 1,
                                  "description", "Virtual size of image in bytes"));
    json_object_set_new(props, "container_format",
                        json_pack("{s:o,s:[n,s,s,s,s,s,s,s,s],s:s}", "type", nullable("string"),
                                  "enum", "ami", "ari", "aki", "bare", "ovf", "ova", "docker",
                                  "compressed", "description", "Format of the container"));
    json_object_set_new(props, "disk_format",
                        json_pack("{s:o,s:[n,s,s,s,s,s,s,s,s,s,s,s],s:s}", "type",
                                  nullable("string"), "enum", "ami", "ari", "aki", "vhd", "vhdx",
                                  "vmdk", "raw", "qcow2", "vdi", "iso", "ploop", "description",
                                  "Format of the disk"));
    static const char *const times[] = {"created_at", "updated_at"};
    for (size_t i = 0; i < ARRAY_SIZE(times); i++)
        json_object_set_new(props, times[i],
                            json_pack("{s:s,s:b,s:s}", "type", "string", "readOnly", 1,
                                      "description", "Date and time of the image's change"));
    json_object_set_new(props, "tags",
                        json_pack("{s:s,s:{s:s,s:i},s:s}", "type", "array", "items", "type",
                                  "string", "maxLength", 255, "description",
                                  "List of strings related to the image"));
    json_object_set_new(props, "direct_url",
                        json_pack("{s:s,s:b,s:s}", "type", "string", "readOnly", 1, "description",
                                  "URL to access the image file kept in external store"));
    static const char *const ints[] = {"min_ram", "min_disk"};
    for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
        json_object_set_new(props, ints[i],
                            json_pack("{s:s,s:s}", "type", "integer", "description",
                                      "Amount needed to boot the image (MiB or GiB)"));
    static const char *const links[] = {"self", "file", "schema"};
    for (size_t i = 0; i < ARRAY_SIZE(links); i++)
        json_object_set_new(
            props, links[i],
            json_pack("{s:s,s:b,s:s}", "type", "string", "readOnly", 1, "description", "A link"));
    json_object_set_new(props, "locations",
                        json_pack("{s:s,s:{s:s},s:s}", "type", "array", "items", "type", "object",
                                  "description", "A set of URLs to access the image file"));
    /* the common properties Glance's schema names, all strings */
    static const char *const common[] = {"kernel_id",    "ramdisk_id",        "instance_uuid",
                                         "architecture", "os_distro",         "os_version",
                                         "description",  "cim_pasd_processor"};
    for (size_t i = 0; i < ARRAY_SIZE(common); i++)
        json_object_set_new(
            props, common[i],
            json_pack("{s:o,s:s}", "type", nullable("string"), "description", common[i]));
    return json_pack("{s:s,s:o,s:{s:s},s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}", "name", "image",
                     "properties", props, "additionalProperties", "type", "string", "links", "rel",
                     "self", "href", "{self}", "rel", "enclosure", "href", "{file}", "rel",
                     "describedby", "href", "{schema}");
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
    {"GET", IMAGE_V2 "/schemas/image", get_image_schema, 0, 0, 0},
    {"GET", IMAGE_V2 "/schemas/images", get_images_schema, 0, 0, 0},
    {"GET", IMAGE_V2 "/schemas/member", get_member_schema, 0, 0, 0},
    {"GET", IMAGE_V2 "/schemas/members", get_members_schema, 0, 0, 0},
};

const struct api_route_table image_schemas_routes = {
    "image_schemas", IMAGE_PREFIX, API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
