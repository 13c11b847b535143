/* /image/v2/images/{id}/members[/{member_id}]: sharing an image of visibility
 * "shared" with other projects. The owner adds and removes members; a member
 * accepts or rejects (an accepted image appears in its image list). The owner
 * sees every member, a member only itself. */
#include <string.h>

#include "db.h"
#include "image_api.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "schema.h"

static bool
is_owner(const struct api_req *req, const json_t *img)
{
    const char *owner = json_string_value(json_object_get(img, "owner"));
    return req->ctx.is_admin || (owner && strcmp(owner, req->ctx.project_id) == 0);
}

/* The image of the path, after @action's policy (on @member for a member's
 * own decision); NULL with 404 or 403. */
static json_t *
member_image(struct api_req *req, const char *action, const char *member, struct err *err)
{
    json_t *img = image_lookup(req, err);
    if (img && image_authorize(req, action, img, member, err) < 0) {
        json_decref(img);
        return NULL;
    }
    return img;
}

static const char *
image_id(const json_t *img)
{
    return json_string_value(json_object_get(img, "id"));
}

/* The bodies: {"member": project id} to add, {"status": ...} to decide. */
static const char *const member_statuses[] = {"accepted", "pending", "rejected", NULL};
static const struct api_field add_fields[] = {
    API_FIELD_DEF("member", API_FIELD_STRING, API_FIELD_REQUIRED, .min = 1, .max = 64),
};
static const struct api_field status_fields[] = {
    API_FIELD_DEF("status", API_FIELD_STRING, API_FIELD_REQUIRED, .enum_values = member_statuses),
};
static const struct api_schema add_schema = {
    .name = "member", .fields = add_fields, .nfields = ARRAY_SIZE(add_fields)};
static const struct api_schema status_schema = {
    .name = "member", .fields = status_fields, .nfields = ARRAY_SIZE(status_fields)};

/* The body's member (@schema's one field), checked; NULL with 400. */
static const char *
member_body(struct api_req *req, const struct api_schema *schema, struct err *err)
{
    json_t *body = api_req_json(req, err);
    if (!body || api_schema_validate(schema, body, API_SCHEMA_CREATE, req->ctx.is_admin,
                                     API_ERRORS_GLANCE, err) < 0)
        return NULL;
    return json_string_value(json_object_get(body, schema->fields[0].name));
}

static int
list_members(struct api_req *req, struct err *err)
{
    json_auto_t *img = member_image(req, "get_members", NULL, err);
    if (!img)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *rows = conn ? db_image_members(conn, image_id(img),
                                           is_owner(req, img) ? NULL : req->ctx.project_id, err)
                        : NULL;
    if (!rows)
        return -1;
    api_reply_json(req, 200,
                   json_pack("{s:o,s:s}", "members", rows, "schema", "/v2/schemas/members"));
    return 0;
}

static int
get_member(struct api_req *req, struct err *err)
{
    json_auto_t *img = member_image(req, "get_member", NULL, err);
    if (!img)
        return -1;
    const char *member = api_req_param(req, "member_id");
    if (!is_owner(req, img) && strcmp(member, req->ctx.project_id) != 0)
        return err_set(err, ERR_NOT_FOUND, "Member %s not found.", member);
    PGconn *conn = api_req_db(req, err);
    json_t *m = db_first_row(conn ? db_image_members(conn, image_id(img), member, err) : NULL, err,
                             "Member %s not found.", member);
    if (!m)
        return -1;
    api_reply_json(req, 200, m);
    return 0;
}

static int
add_member(struct api_req *req, struct err *err)
{
    const char *member = member_body(req, &add_schema, err);
    json_auto_t *img = member ? member_image(req, "add_member", NULL, err) : NULL;
    if (!img)
        return -1;
    const char *vis = json_string_value(json_object_get(img, "visibility"));
    if (strcmp(vis, "shared") != 0)
        return err_set(err, ERR_FORBIDDEN, "Only shared images have members.");
    PGconn *conn = api_req_db(req, err);
    json_t *m = conn ? db_image_member_add(conn, image_id(img), member, err) : NULL;
    if (!m)
        return -1;
    api_reply_json(req, 200, m);
    return 0;
}

static int
update_member(struct api_req *req, struct err *err)
{
    const char *status = member_body(req, &status_schema, err);
    const char *member = api_req_param(req, "member_id");
    /* only the member itself decides (Glance: the owner may not) */
    json_auto_t *img = status ? member_image(req, "modify_member", member, err) : NULL;
    if (!img)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *m = conn ? db_image_member_set(conn, image_id(img), member, status, err) : NULL;
    if (!m)
        return -1;
    api_reply_json(req, 200, m);
    return 0;
}

static int
delete_member(struct api_req *req, struct err *err)
{
    json_auto_t *img = member_image(req, "delete_member", NULL, err);
    if (!img)
        return -1;
    const char *member = api_req_param(req, "member_id");
    PGconn *conn = api_req_db(req, err);
    int n = conn ? db_image_member_remove(conn, image_id(img), member, err) : -1;
    if (n < 0)
        return -1;
    if (n == 0)
        return err_set(err, ERR_NOT_FOUND, "Member %s not found.", member);
    api_reply_empty(req, 204);
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = IMAGE_V2 "/images/{image_id}/members", .handler = list_members},
    {.method = "POST", .pattern = IMAGE_V2 "/images/{image_id}/members", .handler = add_member},
    {.method = "GET",
     .pattern = IMAGE_V2 "/images/{image_id}/members/{member_id}",
     .handler = get_member},
    {.method = "PUT",
     .pattern = IMAGE_V2 "/images/{image_id}/members/{member_id}",
     .handler = update_member},
    {.method = "DELETE",
     .pattern = IMAGE_V2 "/images/{image_id}/members/{member_id}",
     .handler = delete_member},
};

const struct api_route_table image_members_routes = {
    "image_members", IMAGE_PREFIX, API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
