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

static bool
is_owner(const struct api_req *req, const json_t *img)
{
    const char *owner = json_string_value(json_object_get(img, "owner"));
    return req->ctx.is_admin || (owner && strcmp(owner, req->ctx.project_id) == 0);
}

static int
list_members(struct api_req *req, struct err *err)
{
    json_auto_t *img = image_lookup(req, err);
    if (!img || image_authorize(req, "get_members", img, NULL, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *rows = conn ? db_image_members(conn, json_string_value(json_object_get(img, "id")),
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
    json_auto_t *img = image_lookup(req, err);
    if (!img || image_authorize(req, "get_member", img, NULL, err) < 0)
        return -1;
    const char *member = api_req_param(req, "member_id");
    if (!is_owner(req, img) && strcmp(member, req->ctx.project_id) != 0)
        return err_set(err, ERR_NOT_FOUND, "Member %s not found.", member);
    PGconn *conn = api_req_db(req, err);
    json_t *m = db_first_row(
        conn ? db_image_members(conn, json_string_value(json_object_get(img, "id")), member, err)
             : NULL,
        err, "Member %s not found.", member);
    if (!m)
        return -1;
    api_reply_json(req, 200, m);
    return 0;
}

static int
add_member(struct api_req *req, struct err *err)
{
    json_t *body = api_req_json(req, err);
    if (!body)
        return -1;
    const char *member = json_get_str(body, "member");
    if (!member || !member[0] || strlen(member) > 64)
        return err_set(err, ERR_INVALID, "The body needs 'member': a project id.");
    json_auto_t *img = image_lookup(req, err);
    if (!img || image_authorize(req, "add_member", img, NULL, err) < 0)
        return -1;
    const char *vis = json_string_value(json_object_get(img, "visibility"));
    if (strcmp(vis, "shared") != 0)
        return err_set(err, ERR_FORBIDDEN, "Only shared images have members.");
    PGconn *conn = api_req_db(req, err);
    json_t *m =
        conn ? db_image_member_add(conn, json_string_value(json_object_get(img, "id")), member, err)
             : NULL;
    if (!m)
        return -1;
    api_reply_json(req, 200, m);
    return 0;
}

static int
update_member(struct api_req *req, struct err *err)
{
    json_t *body = api_req_json(req, err);
    if (!body)
        return -1;
    const char *status = json_get_str(body, "status");
    if (!status || (strcmp(status, "accepted") != 0 && strcmp(status, "pending") != 0 &&
                    strcmp(status, "rejected") != 0))
        return err_set(err, ERR_INVALID, "'status' must be accepted, pending or rejected.");
    json_auto_t *img = image_lookup(req, err);
    if (!img)
        return -1;
    const char *member = api_req_param(req, "member_id");
    /* only the member itself decides (Glance: the owner may not) */
    if (image_authorize(req, "modify_member", img, member, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *m = conn ? db_image_member_set(conn, json_string_value(json_object_get(img, "id")),
                                           member, status, err)
                     : NULL;
    if (!m)
        return -1;
    api_reply_json(req, 200, m);
    return 0;
}

static int
delete_member(struct api_req *req, struct err *err)
{
    json_auto_t *img = image_lookup(req, err);
    if (!img || image_authorize(req, "delete_member", img, NULL, err) < 0)
        return -1;
    const char *member = api_req_param(req, "member_id");
    PGconn *conn = api_req_db(req, err);
    int n = conn ? db_image_member_remove(conn, json_string_value(json_object_get(img, "id")),
                                          member, err)
                 : -1;
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
