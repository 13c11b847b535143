/* /compute/v2.1/servers/{id}/metadata: the server's key/value metadata
 * (instance.metadata, jsonb): list, replace (PUT), merge (POST), and one key
 * (GET, PUT, DELETE). At most [quota] metadata_items keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "mem.h"

static int
meta_check(struct api_req *req, PGconn *conn, const json_t *meta, struct err *err)
{
    if (!json_is_object(meta))
        return err_set(err, ERR_INVALID, "Invalid input for field/attribute metadata.");
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)meta, k, v) {
        if (!*k || strlen(k) > 255)
            return err_set(err, ERR_INVALID,
                           "Invalid input for field/attribute metadata: keys "
                           "are 1 to 255 characters.");
        if (!json_is_string(v) || json_string_length(v) > 255)
            return err_set(err, ERR_INVALID,
                           "Invalid input for field/attribute metadata: values "
                           "are strings of at most 255 characters.");
    }
    long long lim;
    if (compute_quota_limit(req, conn, req->ctx.project_id, COMPUTE_QUOTA_METADATA_ITEMS, &lim,
                            err) < 0)
        return -1;
    if (lim >= 0 && (long long)json_object_size(meta) > lim)
        return err_set(err, ERR_FORBIDDEN, "Quota exceeded for metadata_items: the limit is %lld.",
                       lim);
    return 0;
}

/* The metadata object (*meta) of the server, which must be visible to the
 * caller; *conn is the request's connection. */
static int
load(struct api_req *req, PGconn **conn, json_t **meta, struct err *err)
{
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

static int
store(struct api_req *req, PGconn *conn, json_t *meta, struct err *err)
{
    if (meta_check(req, conn, meta, err) < 0)
        return -1;
    char *txt = json_dumps(meta, JSON_COMPACT);
    const char *p[] = {api_req_param(req, "server_id"), txt};
    int rc = db_cmd(conn,
                    "UPDATE instance SET metadata = $2::jsonb, updated_at = now() WHERE id = "
                    "$1::uuid AND deleted_at IS NULL",
                    2, p, err);
    free(txt);
    return rc;
}

static int
list_meta(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:server-metadata:index", err) < 0)
        return -1;
    PGconn *conn;
    json_t *meta;
    if (load(req, &conn, &meta, err) < 0)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "metadata", meta));
    return 0;
}

static int
set_meta(struct api_req *req, struct err *err)
{
    bool replace = req->match.route->arg != 0;
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req,
                          replace ? "os_compute_api:server-metadata:update_all"
                                  : "os_compute_api:server-metadata:create",
                          err) < 0)
        return -1;
    json_t *in = compute_body(req, "metadata", err);
    if (!in)
        return -1;
    PGconn *conn;
    json_t *meta;
    if (load(req, &conn, &meta, err) < 0)
        return -1;
    if (replace) {
        json_decref(meta);
        meta = json_deep_copy(in);
    } else {
        json_object_update(meta, in);
    }
    if (store(req, conn, meta, err) < 0) {
        json_decref(meta);
        return -1;
    }
    api_reply_json(req, 200, json_pack("{s:o}", "metadata", meta));
    return 0;
}

static int
show_meta_item(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:server-metadata:show", err) < 0)
        return -1;
    PGconn *conn;
    json_t *meta;
    if (load(req, &conn, &meta, err) < 0)
        return -1;
    const char *key = api_req_param(req, "key");
    json_t *v = json_object_get(meta, key);
    if (!v) {
        json_decref(meta);
        return err_set(err, ERR_NOT_FOUND, "Metadata item was not found");
    }
    api_reply_json(req, 200, json_pack("{s:{s:O}}", "meta", key, v));
    json_decref(meta);
    return 0;
}

static int
set_meta_item(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:server-metadata:update", err) < 0)
        return -1;
    const char *key = api_req_param(req, "key");
    json_t *in = compute_body(req, "meta", err);
    if (!in)
        return -1;
    if (json_object_size(in) != 1)
        return err_set(err, ERR_INVALID, "Request body contains too many items");
    if (!json_object_get(in, key))
        return err_set(err, ERR_INVALID, "Request body and URI mismatch");
    PGconn *conn;
    json_t *meta;
    if (load(req, &conn, &meta, err) < 0)
        return -1;
    json_object_update(meta, in);
    if (store(req, conn, meta, err) < 0) {
        json_decref(meta);
        return -1;
    }
    json_decref(meta);
    api_reply_json(req, 200, json_pack("{s:O}", "meta", in));
    return 0;
}

static int
delete_meta_item(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:server-metadata:delete", err) < 0)
        return -1;
    PGconn *conn;
    json_t *meta;
    if (load(req, &conn, &meta, err) < 0)
        return -1;
    const char *key = api_req_param(req, "key");
    if (json_object_del(meta, key) < 0) {
        json_decref(meta);
        return err_set(err, ERR_NOT_FOUND, "Metadata item was not found");
    }
    int rc = store(req, conn, meta, err);
    json_decref(meta);
    if (rc < 0)
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
