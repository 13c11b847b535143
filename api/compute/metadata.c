/* /compute/v2.1/servers/{id}/metadata: the server's key/value metadata
 * (instance.metadata, jsonb): list, replace (PUT), merge (POST), and one key
 * (GET, PUT, DELETE). Bodies are checked by the schema validator (keys 1 to
 * 255 of Nova's characters, string values up to 255); at most [quota]
 * metadata_items keys (403). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "mem.h"
#include "schema.h"

static const struct api_field meta_value = API_FIELD_DEF("", API_FIELD_STRING, 0, .max = 255);
#define META_FIELD(n)                                                                              \
    API_FIELD_DEF(n, API_FIELD_STRING_MAP, API_FIELD_REQUIRED,                                     \
                  .pattern = "[a-zA-Z0-9_:. -]{1,255}", .items = &meta_value)
static const struct api_field metadata_fields[] = {META_FIELD("metadata")};
static const struct api_field meta_fields[] = {META_FIELD("meta")};
static const struct api_schema metadata_schema = {
    .name = "metadata", .fields = metadata_fields, .nfields = ARRAY_SIZE(metadata_fields)};
static const struct api_schema meta_schema = {
    .name = "meta", .fields = meta_fields, .nfields = ARRAY_SIZE(meta_fields)};

int
compute_metadata_quota(struct api_req *req, PGconn *conn, const char *project, const json_t *meta,
                       struct err *err)
{
    long long lim;
    if (compute_quota_limit(req, conn, project, COMPUTE_QUOTA_METADATA_ITEMS, &lim, err) < 0)
        return -1;
    if (lim >= 0 && (long long)json_object_size(meta) > lim)
        return err_set(err, ERR_FORBIDDEN, "Quota exceeded for metadata_items: the limit is %lld.",
                       lim);
    return 0;
}

/* The body's @schema->name object, checked; NULL with 400 otherwise. */
static json_t *
meta_body(struct api_req *req, const struct api_schema *schema, struct err *err)
{
    json_t *body = api_req_json(req, err);
    if (!body || api_schema_validate(schema, body, API_SCHEMA_CREATE, req->ctx.is_admin,
                                     API_ERRORS_NOVA, err) < 0)
        return NULL;
    return json_object_get(body, schema->name);
}

/* The start of every verb: the microversion, @action's policy, then the
 * metadata object (*meta) of the server, which must be visible to the
 * caller; *conn is the request's connection. */
static int
load(struct api_req *req, const char *action, PGconn **conn, json_t **meta, struct err *err)
{
    if (compute_begin(req, err) < 0 || compute_authorize(req, action, err) < 0)
        return -1;
    *conn = api_req_db(req, err);
    json_t *row =
        *conn ? compute_server_get(req, *conn, api_req_param(req, "server_id"), err) : NULL;
    if (!row)
        return -1;
    const char *txt = json_string_value(json_object_get(row, "metadata"));
    *meta = txt ? json_loads(txt, 0, NULL) : NULL;
    if (!*meta)
        *meta = json_object();
    json_decref(row);
    return 0;
}

/* Write @meta (consumed) back, within the quota. */
static int
store(struct api_req *req, PGconn *conn, json_t *meta, struct err *err)
{
    int rc = compute_metadata_quota(req, conn, req->ctx.project_id, meta, err);
    if (rc == 0) {
        char *txt = json_dumps(meta, JSON_COMPACT);
        const char *p[] = {api_req_param(req, "server_id"), txt};
        rc = db_cmd(conn,
                    "UPDATE instance SET metadata = $2::jsonb, updated_at = now() WHERE id = "
                    "$1::uuid AND deleted_at IS NULL",
                    2, p, err);
        free(txt);
    }
    json_decref(meta);
    return rc;
}

static int
list_meta(struct api_req *req, struct err *err)
{
    PGconn *conn;
    json_t *meta;
    if (load(req, "os_compute_api:server-metadata:index", &conn, &meta, err) < 0)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "metadata", meta));
    return 0;
}

/* PUT replaces every key (route arg 1), POST merges (0). */
static int
set_meta(struct api_req *req, struct err *err)
{
    bool replace = req->match.route->arg != 0;
    PGconn *conn;
    json_t *meta, *in;
    if (load(req,
             replace ? "os_compute_api:server-metadata:update_all"
                     : "os_compute_api:server-metadata:create",
             &conn, &meta, err) < 0)
        return -1;
    if (!(in = meta_body(req, &metadata_schema, err))) {
        json_decref(meta);
        return -1;
    }
    if (replace)
        json_object_clear(meta);
    json_object_update(meta, in);
    if (store(req, conn, json_incref(meta), err) < 0) {
        json_decref(meta);
        return -1;
    }
    api_reply_json(req, 200, json_pack("{s:o}", "metadata", meta));
    return 0;
}

static int
show_meta_item(struct api_req *req, struct err *err)
{
    PGconn *conn;
    json_t *meta;
    if (load(req, "os_compute_api:server-metadata:show", &conn, &meta, err) < 0)
        return -1;
    const char *key = api_req_param(req, "key");
    json_t *v = json_object_get(meta, key);
    int rc = v ? 0 : err_set(err, ERR_NOT_FOUND, "Metadata item was not found");
    if (v)
        api_reply_json(req, 200, json_pack("{s:{s:O}}", "meta", key, v));
    json_decref(meta);
    return rc;
}

static int
set_meta_item(struct api_req *req, struct err *err)
{
    const char *key = api_req_param(req, "key");
    PGconn *conn;
    json_t *meta, *in;
    if (load(req, "os_compute_api:server-metadata:update", &conn, &meta, err) < 0)
        return -1;
    if (!(in = meta_body(req, &meta_schema, err))) {
        json_decref(meta);
        return -1;
    }
    if (json_object_size(in) != 1 || !json_object_get(in, key)) {
        json_decref(meta);
        return err_set(err, ERR_INVALID,
                       json_object_size(in) != 1 ? "Request body contains too many items"
                                                 : "Request body and URI mismatch");
    }
    json_object_update(meta, in);
    if (store(req, conn, meta, err) < 0)
        return -1;
    api_reply_json(req, 200, json_pack("{s:O}", "meta", in));
    return 0;
}

static int
delete_meta_item(struct api_req *req, struct err *err)
{
    PGconn *conn;
    json_t *meta;
    if (load(req, "os_compute_api:server-metadata:delete", &conn, &meta, err) < 0)
        return -1;
    if (json_object_del(meta, api_req_param(req, "key")) < 0) {
        json_decref(meta);
        return err_set(err, ERR_NOT_FOUND, "Metadata item was not found");
    }
    if (store(req, conn, meta, err) < 0)
        return -1;
    api_reply_empty(req, 204);
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = COMPUTE_V21 "/servers/{server_id}/metadata", .handler = list_meta},
    {.method = "PUT",
     .pattern = COMPUTE_V21 "/servers/{server_id}/metadata",
     .handler = set_meta,
     .arg = 1},
    {.method = "POST",
     .pattern = COMPUTE_V21 "/servers/{server_id}/metadata",
     .handler = set_meta,
     .arg = 0},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/servers/{server_id}/metadata/{key}",
     .handler = show_meta_item},
    {.method = "PUT",
     .pattern = COMPUTE_V21 "/servers/{server_id}/metadata/{key}",
     .handler = set_meta_item},
    {.method = "DELETE",
     .pattern = COMPUTE_V21 "/servers/{server_id}/metadata/{key}",
     .handler = delete_meta_item},
};

const struct api_route_table compute_metadata_routes = {
    .name = "compute_metadata",
    .prefix = COMPUTE_V21 "/servers",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
