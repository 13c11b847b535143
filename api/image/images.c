/* /image/v2/images: list (filters, sorting, marker paging), create, show,
 * update (JSON patch), delete; and the helpers the image families share. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "id.h"
#include "image_api.h"
#include "image_store.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "policy.h"
#include "server.h"

#define IMAGE_LIMIT_DEFAULT 25
#define IMAGE_LIMIT_MAX 1000

/* ---- shared helpers ---- */

struct db_image_viewer
image_viewer(const struct api_req *req)
{
    struct db_image_viewer who = {req->ctx.project_id, req->ctx.is_admin};
    return who;
}

const char *
image_store_dir(const struct api_req *req)
{
    return req->srv->cfg.image_store_dir;
}

json_t *
image_lookup(struct api_req *req, struct err *err)
{
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return NULL;
    struct db_image_viewer who = image_viewer(req);
    return db_image_get(conn, api_req_param(req, "image_id"), &who, err);
}

/* The policy target of @image (NULL: a new image of the caller's project). */
static struct policy_target
image_target(const struct api_req *req, const json_t *image, const char *member_id)
{
    const char *owner =
        image ? json_string_value(json_object_get(image, "owner")) : req->ctx.project_id;
    /* the database shows an image to a project other than its owner only when
     * it is public, community or shared with it: such a caller is its member */
    if (!member_id && owner && strcmp(owner, req->ctx.project_id) != 0)
        member_id = req->ctx.project_id;
    struct policy_target t = {
        .project_id = owner,
        .user_id = req->ctx.user_id,
        .member_id = member_id,
        .visibility = image ? json_string_value(json_object_get(image, "visibility")) : NULL,
    };
    return t;
}

int
image_authorize(const struct api_req *req, const char *action, const json_t *image,
                const char *member_id, struct err *err)
{
    struct policy_target t = image_target(req, image, member_id);
    return policy_check(&req->ctx, action, &t, err);
}

bool
image_may(const struct api_req *req, const char *action, const json_t *image)
{
    struct policy_target t = image_target(req, image, NULL);
    return policy_allows(&req->ctx, action, &t);
}

int
image_check_owner(const struct api_req *req, const json_t *image, struct err *err)
{
    return image_authorize(req, "modify_image", image, NULL, err);
}

char *
image_url_encode(const char *s)
{
    static const char hexd[] = "0123456789ABCDEF";
    char *out = xmalloc(strlen(s) * 3 + 1), *w = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *w++ = (char)*p;
        } else {
            *w++ = '%';
            *w++ = hexd[*p >> 4];
            *w++ = hexd[*p & 15];
        }
    }
    *w = '\0';
    return out;
}

/* ---- list ---- */

static int
query_bool(struct api_req *req, const char *name, int *out, struct err *err)
{
    const char *v = api_req_query(req, name);
    *out = -1;
    if (!v)
        return 0;
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = 1;
    else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = 0;
    else
        return err_set(err, ERR_INVALID, "Invalid value for %s: %s.", name, v);
    return 0;
}

static int
query_uint(struct api_req *req, const char *name, const char **out, struct err *err)
{
    const char *v = api_req_query(req, name);
    *out = NULL;
    if (!v)
        return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-' || n > (1ULL << 62))
        return err_set(err, ERR_INVALID, "Invalid value for %s: %s.", name, v);
    *out = v;
    return 0;
}

/* Glance's sort syntaxes: sort_key=K&sort_dir=D, or sort=K[:D] (first key). */
static int
parse_sort(struct api_req *req, struct db_image_filter *f, char *buf, size_t cap, struct err *err)
{
    const char *key = api_req_query(req, "sort_key");
    const char *dir = api_req_query(req, "sort_dir");
    const char *sort = api_req_query(req, "sort");
    if (sort) {
        if (key || dir)
            return err_set(err, ERR_INVALID, "sort cannot be combined with sort_key or sort_dir.");
        strlcpy_n(buf, sort, cap);
        buf[strcspn(buf, ",")] = '\0';
        char *colon = strchr(buf, ':');
        if (colon) {
            *colon = '\0';
            dir = colon + 1;
        }
        key = buf;
    }
    f->sort_key = key ? key : "created_at";
    if (!db_image_sort_key_valid(f->sort_key))
        return err_set(err, ERR_INVALID, "Invalid sort key: %s.", f->sort_key);
    f->sort_desc = true;
    if (dir) {
        if (strcmp(dir, "asc") == 0)
            f->sort_desc = false;
        else if (strcmp(dir, "desc") != 0)
            return err_set(err, ERR_INVALID, "Invalid sort direction: %s.", dir);
    }
    return 0;
}

static int
list_images(struct api_req *req, struct err *err)
{
    if (image_authorize(req, "get_images", NULL, NULL, err) < 0)
        return -1;
    struct db_image_filter f = {0};
    char sortbuf[64];
    f.name = api_req_query(req, "name");
    f.status = api_req_query(req, "status");
    f.visibility = api_req_query(req, "visibility");
    f.owner = api_req_query(req, "owner");
    f.tag = api_req_query(req, "tag");
    f.disk_format = api_req_query(req, "disk_format");
    f.container_format = api_req_query(req, "container_format");
    f.member_status = api_req_query(req, "member_status");
    f.marker = api_req_query(req, "marker");
    if (f.visibility && strcmp(f.visibility, "public") != 0 &&
        strcmp(f.visibility, "private") != 0 && strcmp(f.visibility, "shared") != 0 &&
        strcmp(f.visibility, "community") != 0 && strcmp(f.visibility, "all") != 0)
        return err_set(err, ERR_INVALID, "Invalid visibility value: %s.", f.visibility);
    if (f.member_status && strcmp(f.member_status, "accepted") != 0 &&
        strcmp(f.member_status, "pending") != 0 && strcmp(f.member_status, "rejected") != 0 &&
        strcmp(f.member_status, "all") != 0)
        return err_set(err, ERR_INVALID, "Invalid member_status value: %s.", f.member_status);
    const char *limit_s = NULL;
    if (query_uint(req, "size_min", &f.size_min, err) < 0 ||
        query_uint(req, "size_max", &f.size_max, err) < 0 ||
        query_uint(req, "limit", &limit_s, err) < 0 ||
        query_bool(req, "os_hidden", &f.os_hidden, err) < 0 ||
        query_bool(req, "protected", &f.protected_, err) < 0 ||
        parse_sort(req, &f, sortbuf, sizeof(sortbuf), err) < 0)
        return -1;
    if (f.os_hidden < 0)
        f.os_hidden = 0; /* hidden images are listed only when asked for */
    f.limit = limit_s ? strtol(limit_s, NULL, 10) : IMAGE_LIMIT_DEFAULT;
    if (f.limit > IMAGE_LIMIT_MAX)
        f.limit = IMAGE_LIMIT_MAX;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    struct db_image_viewer who = image_viewer(req);
    if (f.marker) {
        json_t *m = db_image_get(conn, f.marker, &who, err);
        if (!m)
            return err_set(err, ERR_INVALID, "Invalid marker. Image %s could not be found.",
                           f.marker);
        json_decref(m);
    }
    json_t *images = db_image_list(conn, &f, &who, err);
    if (!images)
        return -1;
    json_t *body = json_pack("{s:o,s:s,s:s}", "images", images, "first", "/v2/images", "schema",
                             "/v2/schemas/images");
    size_t n = json_array_size(images);
    if (f.limit > 0 && n == (size_t)f.limit) {
        /* the same query again from the last image shown */
        const char *last = json_string_value(json_object_get(json_array_get(images, n - 1), "id"));
        char *next = xasprintf("/v2/images?marker=%s&limit=%ld&sort_key=%s&sort_dir=%s", last,
                               f.limit, f.sort_key, f.sort_desc ? "desc" : "asc");
        /* the filters ride along; values are ids, enums and names (URL-encoded) */
        static const char *const carry[] = {
            "name",     "status",        "visibility",       "owner",
            "tag",      "disk_format",   "container_format", "size_min",
            "size_max", "member_status", "os_hidden",        "protected"};
        for (size_t i = 0; i < ARRAY_SIZE(carry); i++) {
            const char *v = api_req_query(req, carry[i]);
            if (!v)
                continue;
            char *enc = image_url_encode(v);
            char *more = xasprintf("%s&%s=%s", next, carry[i], enc);
            free(enc);
            free(next);
            next = more;
        }
        json_object_set_new(body, "next", json_string(next));
        free(next);
    }
    api_reply_json(req, 200, body);
    return 0;
}

/* ---- create ---- */

static int
create_image(struct api_req *req, struct err *err)
{
    if (!req->ctx.project_id[0])
        return err_set(err, ERR_FORBIDDEN, "Creating an image needs a project-scoped token.");
    json_t *body = api_req_json(req, err);
    if (!body || image_authorize(req, "add_image", NULL, NULL, err) < 0 ||
        (json_is_string(json_object_get(body, "visibility")) &&
         strcmp(json_string_value(json_object_get(body, "visibility")), "community") == 0 &&
         image_authorize(req, "communitize_image", NULL, NULL, err) < 0))
        return -1;
    bool publicize = image_may(req, "publicize_image", NULL);
    char id[ID_UUID_LEN + 1];
    const char *given = json_string_value(json_object_get(body, "id"));
    if (json_object_get(body, "id")) {
        if (!given || !db_image_id_valid(given))
            return err_set(err, ERR_INVALID, "The image id must be a UUID.");
        strlcpy_n(id, given, sizeof(id));
    } else {
        id_uuid(id);
    }
    /* the stored attributes: defaults, then the body's */
    json_auto_t *img = json_pack("{s:n,s:s,s:b,s:b,s:n,s:n,s:i,s:i,s:[]}", "name", "visibility",
                                 "shared", "protected", 0, "os_hidden", 0, "disk_format",
                                 "container_format", "min_disk", 0, "min_ram", 0, "tags");
    const char *key;
    json_t *v;
    json_object_foreach (body, key, v) {
        if (strcmp(key, "id") == 0)
            continue;
        if (image_attr_check(key, v, publicize, err) < 0)
            return -1;
        json_object_set(img, key, v);
    }
    const char *owner = json_string_value(json_object_get(img, "owner"));
    if (!owner)
        owner = req->ctx.project_id;
    PGconn *conn = api_req_db(req, err);
    if (!conn || db_begin(conn, err) < 0)
        return -1;
    if (db_image_create(conn, id, owner, img, err) < 0) {
        db_rollback(conn);
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT, "An image with identifier %s already exists.", id);
        return -1;
    }
    if (db_commit(conn, err) < 0)
        return -1;
    struct db_image_viewer who = image_viewer(req);
    json_t *out = db_image_get(conn, id, &who, err);
    if (!out)
        return -1;
    char *loc = api_req_url(req, IMAGE_V2 "/images/%s", id);
    api_reply_header(req, "Location", loc);
    free(loc);
    log_info("image %s created (owner %s)", id, owner);
    api_reply_json(req, 201, out);
    return 0;
}

/* ---- show ---- */

static int
get_image(struct api_req *req, struct err *err)
{
    json_t *img = image_lookup(req, err);
    if (!img)
        return -1;
    if (image_authorize(req, "get_image", img, NULL, err) < 0) {
        json_decref(img);
        return -1;
    }
    api_reply_json(req, 200, img);
    return 0;
}

/* ---- update ---- */

/* Apply @ops to @img as the caller may: making it public needs
 * publicize_image (the patch checks it through its flag), making it a
 * community image communitize_image. */
static int
patch_as_caller(struct api_req *req, json_t *img, const json_t *ops, struct err *err)
{
    const char *v = json_string_value(json_object_get(img, "visibility"));
    char *was = xstrdup(v ? v : "");
    int rc = image_patch_apply(img, ops, image_may(req, "publicize_image", img), err);
    v = json_string_value(json_object_get(img, "visibility"));
    if (rc == 0 && v && strcmp(v, "community") == 0 && strcmp(was, "community") != 0)
        rc = image_authorize(req, "communitize_image", img, NULL, err);
    free(was);
    return rc;
}

static int
update_image(struct api_req *req, struct err *err)
{
    const char *ct = api_req_header(req, "Content-Type");
    if (!ct || (strncmp(ct, "application/openstack-images-v2.1-json-patch", 44) != 0 &&
                strncmp(ct, "application/openstack-images-v2.0-json-patch", 44) != 0))
        return err_set(err, ERR_UNSUPPORTED_MEDIA,
                       "The PATCH body must be application/openstack-images-v2.1-json-patch.");
    if (!req->body || !api_utf8_valid(req->body, req->body_len))
        return err_set(err, ERR_INVALID, "The request body must be a JSON-patch array.");
    json_auto_t *ops = json_parse_buf(req->body, req->body_len, err);
    if (!ops)
        return -1;
    const char *id = api_req_param(req, "image_id");
    PGconn *conn = api_req_db(req, err);
    /* read, patch and write under the row lock: concurrent PATCHes serialise */
    if (!conn || db_begin(conn, err) < 0)
        return -1;
    json_t *img = NULL, *out = NULL;
    if (db_image_lock(conn, id, err) < 0 || !(img = image_lookup(req, err)) ||
        image_authorize(req, "modify_image", img, NULL, err) < 0 ||
        patch_as_caller(req, img, ops, err) < 0 || db_image_store(conn, id, img, err) < 0 ||
        db_commit(conn, err) < 0) {
        db_rollback(conn);
        json_decref(img);
        return -1;
    }
    json_decref(img);
    struct db_image_viewer who = image_viewer(req);
    out = db_image_get(conn, id, &who, err);
    if (!out)
        return -1;
    api_reply_json(req, 200, out);
    return 0;
}

/* ---- delete ---- */

static int
delete_image(struct api_req *req, struct err *err)
{
    json_auto_t *img = image_lookup(req, err);
    if (!img || image_authorize(req, "delete_image", img, NULL, err) < 0)
        return -1;
    const char *id = json_string_value(json_object_get(img, "id"));
    if (json_is_true(json_object_get(img, "protected")))
        return err_set(err, ERR_FORBIDDEN, "Image %s is protected and cannot be deleted.", id);
    PGconn *conn = api_req_db(req, err);
    /* the row first: an upload still running then fails to activate it and
     * removes its own file */
    if (!conn || db_image_delete(conn, id, err) < 0)
        return -1;
    struct err ferr = ERR_INIT;
    if (image_store_delete(image_store_dir(req), id, &ferr) < 0)
        log_warn("image %s deleted, but its data stays: %s", id, ferr.msg);
    log_info("image %s deleted", id);
    api_reply_empty(req, 204);
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = IMAGE_V2 "/images", .handler = list_images},
    {.method = "POST", .pattern = IMAGE_V2 "/images", .handler = create_image},
    {.method = "GET", .pattern = IMAGE_V2 "/images/{image_id}", .handler = get_image},
    {.method = "PATCH", .pattern = IMAGE_V2 "/images/{image_id}", .handler = update_image},
    {.method = "DELETE", .pattern = IMAGE_V2 "/images/{image_id}", .handler = delete_image},
};

const struct api_route_table image_images_routes = {
    "image_images", IMAGE_PREFIX, API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
