/* /image/v2/images/{id}/tags/{tag}: add (idempotent) and delete. */
#include <string.h>

#include "image_api.h"
#include "mem.h"

#define IMAGE_TAG_MAX 255
#define IMAGE_TAGS_MAX 128

static int
add_tag(struct api_req *req, struct err *err)
{
    const char *tag = api_req_param(req, "tag");
    if (!tag[0] || strlen(tag) > IMAGE_TAG_MAX)
        return err_set(err, ERR_INVALID, "A tag is 1 to %d characters.", IMAGE_TAG_MAX);
    json_auto_t *img = image_lookup(req, err);
    if (!img || image_authorize(req, "modify_image", img, NULL, err) < 0)
        return -1;
    const char *id = json_string_value(json_object_get(img, "id"));
    PGconn *conn = api_req_db(req, err);
    int n = conn ? db_image_tag_count(conn, id, err) : -1;
    if (n < 0)
        return -1;
    if (n >= IMAGE_TAGS_MAX) {
        /* adding one it already has is still fine */
        size_t i;
        json_t *t;
        bool have = false;
        json_array_foreach (json_object_get(img, "tags"), i, t)
            have = have || strcmp(json_string_value(t), tag) == 0;
        if (!have)
            return err_set(err, ERR_TOO_LARGE, "An image may have at most %d tags.",
                           IMAGE_TAGS_MAX);
    }
    if (db_image_tag_add(conn, id, tag, err) < 0)
        return -1;
    api_reply_empty(req, 204);
    return 0;
}

static int
delete_tag(struct api_req *req, struct err *err)
{
    json_auto_t *img = image_lookup(req, err);
    if (!img || image_authorize(req, "modify_image", img, NULL, err) < 0)
        return -1;
    const char *id = json_string_value(json_object_get(img, "id"));
    PGconn *conn = api_req_db(req, err);
    int n = conn ? db_image_tag_remove(conn, id, api_req_param(req, "tag"), err) : -1;
    if (n < 0)
        return -1;
    if (n == 0)
        return err_set(err, ERR_NOT_FOUND, "Tag %s not found.", api_req_param(req, "tag"));
    api_reply_empty(req, 204);
    return 0;
}

static const struct api_route routes[] = {
    {.method = "PUT", .pattern = IMAGE_V2 "/images/{image_id}/tags/{tag}", .handler = add_tag},
    {.method = "DELETE",
     .pattern = IMAGE_V2 "/images/{image_id}/tags/{tag}",
     .handler = delete_tag},
};

const struct api_route_table image_tags_routes = {
    "image_tags", IMAGE_PREFIX, API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
