/* The image API (Glance v2 subset) under {public_url}/image: one file per
 * resource family (image_*.c) and the helpers they share. The bytes live in
 * the image store (storage/image_store.h); the rows in db/image.h. */
#ifndef NUBE_API_IMAGE_API_H
#define NUBE_API_IMAGE_API_H

#include <jansson.h>
#include <stdbool.h>

#include "api.h"
#include "image.h"

#define IMAGE_PREFIX "/image"
#define IMAGE_V2 "/image/v2"

/* ---- route tables (listed in api_tables[]) ---- */
extern const struct api_route_table image_versions_routes;
extern const struct api_route_table image_images_routes;
extern const struct api_route_table image_upload_routes;
extern const struct api_route_table image_tags_routes;
extern const struct api_route_table image_members_routes;
extern const struct api_route_table image_schemas_routes;
extern const struct api_route_table image_actions_routes;

/* ---- shared helpers (image/images.c) ---- */

/* The caller as db/image.h sees it. */
struct db_image_viewer image_viewer(const struct api_req *req);
/* The image {image_id} of the path if the caller can see it, else 404. */
json_t *image_lookup(struct api_req *req, struct err *err);
/* 0 when the policy rule of the Glance @action ("modify_image") allows the
 * caller on @image (NULL: a new image of the caller's project), else 403.
 * The target: project_id the owner, visibility, and member_id (@member_id,
 * or the caller's project when it is not the owner). */
int image_authorize(const struct api_req *req, const char *action, const json_t *image,
                    const char *member_id, struct err *err);
/* Whether the rule of @action allows the caller on @image (no error). */
bool image_may(const struct api_req *req, const char *action, const json_t *image);
/* image_authorize(req, "modify_image", image, NULL, err), for older code. */
int image_check_owner(const struct api_req *req, const json_t *image, struct err *err);
/* @s percent-encoded for a query value (caller frees). */
char *image_url_encode(const char *s);
/* The image store folder ([image] store_dir). */
const char *image_store_dir(const struct api_req *req);

/* ---- JSON patch (image/patch.c), pure and unit-tested ---- */

/* Apply the JSON-patch document @ops (an array of {op, path, value}) to
 * @image (Glance's image JSON, changed in place) as Glance does: add, replace
 * and remove on core attributes and custom properties. Read-only attributes
 * are 403, reserved ones 403, unknown ops or malformed paths and values 400,
 * replace/remove of a missing property 409. Making an image public needs
 * @is_admin (403). */
int image_patch_apply(json_t *image, const json_t *ops, bool is_admin, struct err *err);
/* Check one attribute as a create body or a patch would set it: @key with
 * @value (400 for a bad value, 403 for a read-only or reserved attribute). */
int image_attr_check(const char *key, const json_t *value, bool is_admin, struct err *err);

#endif
