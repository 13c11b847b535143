/* /image/v2/images/{id}/actions/deactivate|reactivate. A deactivated image
 * keeps its data, but only admins may download it. Both are no-ops when the
 * image is already in the target state, and 409 from any status but
 * active/deactivated. */
#include <string.h>

#include "image_api.h"
#include "log.h"
#include "mem.h"

static int
change(struct api_req *req, const char *from, const char *to, struct err *err)
{
    json_auto_t *img = image_lookup(req, err);
    if (!img || image_authorize(req, strcmp(to, "active") == 0 ? "reactivate" : "deactivate", img,
                                NULL, err) < 0)
        return -1;
    const char *id = json_string_value(json_object_get(img, "id"));
    const char *status = json_string_value(json_object_get(img, "status"));
    if (strcmp(status, to) == 0) {
        api_reply_empty(req, 204);
        return 0;
    }
    PGconn *conn = api_req_db(req, err);
    int moved = conn ? db_image_transition(conn, id, from, to, err) : -1;
    if (moved < 0)
        return -1;
    if (moved == 0)
        return err_set(err, ERR_CONFLICT, "Not allowed to %s an image in status '%s'.",
                       strcmp(to, "active") == 0 ? "reactivate" : "deactivate", status);
    log_info("image %s: %s -> %s", id, from, to);
    api_reply_empty(req, 204);
    return 0;
}

static int
deactivate(struct api_req *req, struct err *err)
{
    return change(req, "active", "deactivated", err);
}

static int
reactivate(struct api_req *req, struct err *err)
{
    return change(req, "deactivated", "active", err);
}

static const struct api_route routes[] = {
    {.method = "POST",
     .pattern = IMAGE_V2 "/images/{image_id}/actions/deactivate",
     .handler = deactivate},
    {.method = "POST",
     .pattern = IMAGE_V2 "/images/{image_id}/actions/reactivate",
     .handler = reactivate},
};

const struct api_route_table image_actions_routes = {
    "image_actions", IMAGE_PREFIX, API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
