/* /compute/v2.1/servers/{id}/tags (microversion 2.26+; 404 below): a
 * server's simple string tags, kept sorted and unique in instance.tags
 * (text[]): list, replace (PUT), remove all (DELETE), and one tag (GET is 204
 * or 404, PUT 201 when added or 204 when present, DELETE). A tag is 1 to 60
 * characters without '/' or ','; a server has at most 50. The `tags` member of
 * the server document and the list filters tags, tags-any, not-tags and
 * not-tags-any are in servers.c and db/migrations/0006_compute_render.sql. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "mem.h"

#define TAG_MAX_LEN 60
#define TAGS_MAX 50

/* Every tags handler starts here: 2.26+, the verb's policy, and the server
 * visible to the caller (404 otherwise). */
static PGconn *
tags_begin(struct api_req *req, const char *action, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return NULL;
    if (req->microversion < COMPUTE_MV(2, 26)) {
        err_set(err, ERR_NOT_FOUND, "The resource could not be found.");
        return NULL;
    }
    if (compute_authorize(req, action, err) < 0)
        return NULL;
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? compute_server_get(req, conn, api_req_param(req, "server_id"), err) : NULL;
    if (!row)
        return NULL;
    json_decref(row);
    return conn;
}

static int
compute_tag_check(const char *tag, struct err *err)
{
    size_t n = strlen(tag);
    if (n == 0 || n > TAG_MAX_LEN)
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute tags: a tag is 1 to %d characters.",
                       TAG_MAX_LEN);
    if (strchr(tag, '/') || strchr(tag, ','))
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute tags: '%.64s' holds '/' or ','.", tag);
    for (const unsigned char *p = (const unsigned char *)tag; *p; p++)
        if (*p < 0x20)
            return err_set(err, ERR_INVALID,
                           "Invalid input for field/attribute tags: a tag holds a control "
                           "character.");
    return 0;
}

/* The server's tags as a JSON array (sorted). */
static json_t *
tags_get(PGconn *conn, const char *id, bool lock, struct err *err)
{
    const char *p[] = {id};
    json_t *row = db_compute_one(conn, "Instance", id,
                                 lock ? "SELECT to_json(tags)::text AS tags FROM instance WHERE id "
                                        "= $1::uuid AND deleted_at IS NULL FOR UPDATE"
                                      : "SELECT to_json(tags)::text AS tags FROM instance WHERE id "
                                        "= $1::uuid AND deleted_at IS NULL",
                                 1, p, err);
    if (!row)
        return NULL;
    json_t *tags = json_loads(json_string_value(json_object_get(row, "tags")), 0, NULL);
    json_decref(row);
    return tags ? tags : json_array();
}

/* Store @tags (a JSON array of checked strings) sorted and unique. */
static int
tags_set(PGconn *conn, const char *id, const json_t *tags, struct err *err)
{
    char *txt = json_dumps(tags, JSON_COMPACT);
    const char *p[] = {id, txt};
    int rc = db_cmd(conn,
                    "UPDATE instance SET tags = ARRAY(SELECT DISTINCT t FROM "
                    "json_array_elements_text($2::json) t ORDER BY t), updated_at = now() "
                    "WHERE id = $1::uuid AND deleted_at IS NULL",
                    2, p, err);
    free(txt);
    return rc;
}

static bool
tags_has(const json_t *tags, const char *tag)
{
    size_t i;
    json_t *t;
    json_array_foreach (tags, i, t)
        if (strcmp(json_string_value(t), tag) == 0)
            return true;
    return false;
}

static int
reply_tags(struct api_req *req, PGconn *conn, const char *id, struct err *err)
{
    json_t *tags = tags_get(conn, id, false, err);
    if (!tags)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "tags", tags));
    return 0;
}

static int
list_tags(struct api_req *req, struct err *err)
{
    PGconn *conn = tags_begin(req, "os_compute_api:os-server-tags:index", err);
    return conn ? reply_tags(req, conn, api_req_param(req, "server_id"), err) : -1;
}

static int
replace_tags(struct api_req *req, struct err *err)
{
    PGconn *conn = tags_begin(req, "os_compute_api:os-server-tags:update_all", err);
    if (!conn)
        return -1;
    const char *id = api_req_param(req, "server_id");
    json_t *body = api_req_json(req, err);
    if (!body)
        return -1;
    json_t *tags = json_object_get(body, "tags");
    if (!json_is_array(tags))
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute tags: an array is required.");
    if (json_array_size(tags) > TAGS_MAX)
        return err_set(err, ERR_INVALID, "The number of tags exceeded the per-server limit %d",
                       TAGS_MAX);
    size_t i;
    json_t *t;
    json_array_foreach (tags, i, t) {
        if (!json_is_string(t) || strlen(json_string_value(t)) != json_string_length(t))
            return err_set(err, ERR_INVALID,
                           "Invalid input for field/attribute tags: a tag is a string.");
        if (compute_tag_check(json_string_value(t), err) < 0)
            return -1;
    }
    if (tags_set(conn, id, tags, err) < 0)
        return -1;
    return reply_tags(req, conn, id, err);
}

static int
delete_tags(struct api_req *req, struct err *err)
{
    PGconn *conn = tags_begin(req, "os_compute_api:os-server-tags:delete_all", err);
    if (!conn)
        return -1;
    json_t *none = json_array();
    int rc = tags_set(conn, api_req_param(req, "server_id"), none, err);
    json_decref(none);
    if (rc < 0)
        return -1;
    api_reply_empty(req, 204);
    return 0;
}

static int
show_tag(struct api_req *req, struct err *err)
{
    PGconn *conn = tags_begin(req, "os_compute_api:os-server-tags:show", err);
    if (!conn)
        return -1;
    const char *id = api_req_param(req, "server_id"), *tag = api_req_param(req, "tag");
    json_t *tags = tags_get(conn, id, false, err);
    if (!tags)
        return -1;
    bool has = tags_has(tags, tag);
    json_decref(tags);
    if (!has)
        return err_set(err, ERR_NOT_FOUND, "Tag %.64s could not be found on instance %s.", tag, id);
    api_reply_empty(req, 204);
    return 0;
}

/* PUT and DELETE of one tag: one transaction, the row locked. */
static int
change_tag(struct api_req *req, struct err *err)
{
    bool add = req->match.route->arg != 0;
    PGconn *conn = tags_begin(
        req, add ? "os_compute_api:os-server-tags:update" : "os_compute_api:os-server-tags:delete",
        err);
    if (!conn)
        return -1;
    const char *id = api_req_param(req, "server_id"), *tag = api_req_param(req, "tag");
    if (add && compute_tag_check(tag, err) < 0)
        return -1;
    if (db_begin(conn, err) < 0)
        return -1;
    json_t *tags = tags_get(conn, id, true, err);
    if (!tags)
        goto rollback;
    bool has = tags_has(tags, tag);
    int status = 204;
    if (add && !has) {
        if (json_array_size(tags) >= TAGS_MAX) {
            err_set(err, ERR_INVALID, "The number of tags exceeded the per-server limit %d",
                    TAGS_MAX);
            goto rollback;
        }
        json_array_append_new(tags, json_string(tag));
        status = 201;
    } else if (!add) {
        if (!has) {
            err_set(err, ERR_NOT_FOUND, "Tag %.64s could not be found on instance %s.", tag, id);
            goto rollback;
        }
        size_t i;
        json_t *t;
        json_array_foreach (tags, i, t)
            if (strcmp(json_string_value(t), tag) == 0) {
                json_array_remove(tags, i);
                break;
            }
    }
    if ((status == 201 || !add) && tags_set(conn, id, tags, err) < 0)
        goto rollback;
    if (db_commit(conn, err) < 0)
        goto rollback;
    json_decref(tags);
    if (status == 201) {
        char *loc = api_req_url(req, COMPUTE_V21 "/servers/%s/tags/%s", id, tag);
        api_reply_header(req, "Location", loc);
        free(loc);
    }
    api_reply_empty(req, status);
    return 0;
rollback:
    json_decref(tags);
    db_rollback(conn);
    return -1;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = COMPUTE_V21 "/servers/{server_id}/tags", .handler = list_tags},
    {.method = "PUT", .pattern = COMPUTE_V21 "/servers/{server_id}/tags", .handler = replace_tags},
    {.method = "DELETE",
     .pattern = COMPUTE_V21 "/servers/{server_id}/tags",
     .handler = delete_tags},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/servers/{server_id}/tags/{tag}",
     .handler = show_tag},
    {.method = "PUT",
     .pattern = COMPUTE_V21 "/servers/{server_id}/tags/{tag}",
     .handler = change_tag,
     .arg = 1},
    {.method = "DELETE",
     .pattern = COMPUTE_V21 "/servers/{server_id}/tags/{tag}",
     .handler = change_tag,
     .arg = 0},
};

const struct api_route_table compute_server_tags_routes = {
    .name = "compute_server_tags",
    .prefix = COMPUTE_V21 "/servers",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
