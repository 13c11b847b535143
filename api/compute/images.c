/* /compute/v2.1/images: Nova's read-only image proxy (removed by Nova at
 * 2.36, still part of 2.1), rendered from the image table with the visibility
 * rules of the image API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "id.h"
#include "image.h"
#include "mem.h"

/* $1 project, $2 is_admin: the image API's visibility rule (db/image.h),
 * members once accepted. */
#define IMG_SQL                                                                                                  \
    "SELECT id::text AS id, name, status, min_disk, min_ram, size, properties::text AS "                         \
    "properties, " COMPUTE_TS_SQL("created_at") " AS created, " COMPUTE_TS_SQL(                                  \
        "updated_at") " AS updated FROM image WHERE deleted_at IS NULL AND " DB_IMAGE_VISIBLE_SQL("image",       \
                                                                                                  "$1",          \
                                                                                                  "$2::boolean", \
                                                                                                  "'accepted'") " "

static const char *
nova_image_status(const char *s)
{
    if (strcmp(s, "active") == 0)
        return "ACTIVE";
    if (strcmp(s, "queued") == 0 || strcmp(s, "saving") == 0 || strcmp(s, "uploading") == 0 ||
        strcmp(s, "importing") == 0)
        return "SAVING";
    if (strcmp(s, "deleted") == 0 || strcmp(s, "pending_delete") == 0)
        return "DELETED";
    if (strcmp(s, "killed") == 0)
        return "ERROR";
    return "UNKNOWN";
}

static json_t *
image_json(struct api_req *req, const json_t *row, bool detail)
{
    const char *id = json_string_value(json_object_get(row, "id"));
    json_t *links = compute_links(req, "images/%s", id);
    char *alt = api_req_url(req, "/image/v2/images/%s", id);
    json_array_append_new(links, json_pack("{s:s,s:s,s:s}", "rel", "alternate", "type",
                                           "application/vnd.openstack.image", "href", alt));
    free(alt);
    json_t *name = json_object_get(row, "name");
    json_t *im =
        json_pack("{s:s,s:o,s:o}", "id", id, "name",
                  json_is_string(name) ? json_incref(name) : json_string(""), "links", links);
    if (!detail)
        return im;
    const char *status = json_string_value(json_object_get(row, "status"));
    json_t *meta = json_loads(json_string_value(json_object_get(row, "properties")), 0, NULL);
    json_object_set(im, "minRam", json_object_get(row, "min_ram"));
    json_object_set(im, "minDisk", json_object_get(row, "min_disk"));
    json_object_set_new(im, "metadata", meta ? meta : json_object());
    json_object_set(im, "created", json_object_get(row, "created"));
    json_object_set(im, "updated", json_object_get(row, "updated"));
    json_object_set_new(im, "status", json_string(nova_image_status(status)));
    json_object_set_new(im, "progress", json_integer(strcmp(status, "active") == 0 ? 100 : 0));
    json_t *size = json_object_get(row, "size");
    json_object_set_new(im, "OS-EXT-IMG-SIZE:size",
                        json_is_integer(size) ? json_incref(size) : json_integer(0));
    return im;
}

static int
list_images(struct api_req *req, struct err *err)
{
    bool detail = req->match.route->arg != 0;
    if (compute_begin(req, err) < 0)
        return -1;
    long long limit;
    if (compute_query_int(req, "limit", 1000, 1000, &limit, err) < 0)
        return -1;
    const char *marker = api_req_query(req, "marker");
    const char *name = api_req_query(req, "name");
    const char *status = api_req_query(req, "status");
    if (marker && !id_is_uuid(marker))
        return err_set(err, ERR_INVALID, "marker [%.64s] not found", marker);
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    char lim[24];
    snprintf(lim, sizeof(lim), "%lld", limit);
    const char *p[] = {req->ctx.project_id, compute_is_admin(req) ? "t" : "f", marker, lim, name};
    json_t *rows = db_query_json(
        conn,
        IMG_SQL "AND ($3::uuid IS NULL OR (created_at, id) > (SELECT created_at, id FROM image "
                "WHERE id = $3::uuid)) AND ($5::text IS NULL OR name = $5) ORDER BY created_at, "
                "id LIMIT $4::int",
        5, p, err);
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        if (status && strcasecmp(status, nova_image_status(json_string_value(
                                             json_object_get(row, "status")))) != 0)
            continue;
        json_array_append_new(list, image_json(req, row, detail));
    }
    json_decref(rows);
    api_reply_json(req, 200, json_pack("{s:o}", "images", list));
    return 0;
}

static int
show_image(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    const char *id = api_req_param(req, "image_id");
    if (!id_is_uuid(id))
        return err_set(err, ERR_NOT_FOUND, "Image not found.");
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    const char *p[] = {req->ctx.project_id, compute_is_admin(req) ? "t" : "f", id};
    json_t *row = db_compute_one(conn, "Image", id, IMG_SQL "AND id = $3::uuid", 3, p, err);
    if (!row) {
        if (err->code == ERR_NOT_FOUND)
            err_set(err, ERR_NOT_FOUND, "Image not found.");
        return -1;
    }
    api_reply_json(req, 200, json_pack("{s:o}", "image", image_json(req, row, true)));
    json_decref(row);
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = COMPUTE_V21 "/images", .handler = list_images, .arg = 0},
    {.method = "GET", .pattern = COMPUTE_V21 "/images/detail", .handler = list_images, .arg = 1},
    {.method = "GET", .pattern = COMPUTE_V21 "/images/{image_id}", .handler = show_image},
};

const struct api_route_table compute_images_routes = {
    .name = "compute_images",
    .prefix = COMPUTE_V21 "/images",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
