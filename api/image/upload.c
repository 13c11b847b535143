/* /image/v2/images/{id}/file: upload (PUT, streamed into the image store
 * while MD5 and SHA-512 are computed; Content-Length or chunked) and download
 * (GET, streamed from the file).
 *
 * An upload moves the image queued -> saving before the first byte is read
 * (so two uploads cannot race), writes a temporary file, and only after the
 * file is complete, fsynced and renamed does the row become active with its
 * size and hashes. When the upload fails or the client goes away, the
 * temporary file is removed and the image goes back to queued, as Glance
 * restores it, so the upload can be retried. */
#include <string.h>
#include <strings.h>

#include "db.h"
#include "image_api.h"
#include "image_store.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "server.h"

#define UPLOAD_STALE_S 60

struct upload {
    char id[64];
    struct image_store_writer *w;
};

static void
upload_free(struct api_req *req)
{
    struct upload *u = req->stream_state;
    if (!u)
        return;
    image_store_write_abort(u->w);
    free(u);
    req->stream_state = NULL;
}

/* The database connection is not held while the body streams in. */
static void
release_db(struct api_req *req)
{
    if (req->db) {
        db_pool_release(req->srv->db, req->db);
        req->db = NULL;
    }
}

static int
upload_open(struct api_req *req, struct err *err)
{
    const char *ct = api_req_header(req, "Content-Type");
    if (ct && strncasecmp(ct, "application/octet-stream", 24) != 0)
        return err_set(err, ERR_UNSUPPORTED_MEDIA,
                       "The image data must be sent as application/octet-stream.");
    json_auto_t *img = image_lookup(req, err);
    if (!img || image_authorize(req, "upload_image", img, NULL, err) < 0)
        return -1;
    const char *id = json_string_value(json_object_get(img, "id"));
    uint64_t max = (uint64_t)req->srv->cfg.image_max_size;
    const char *cl = api_req_header(req, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > max)
        return err_set(err, ERR_TOO_LARGE, "The image is larger than the limit of %llu bytes.",
                       (unsigned long long)max);
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    int moved = db_image_transition(conn, id, "queued", "saving", err);
    /* saving, but nothing written for a while: its uploader died with its
     * process (a stalled client is cut off by [api] connection_timeout, and
     * its upload cleaned up, well before) */
    int stale_s = (int)req->srv->cfg.connection_timeout + UPLOAD_STALE_S;
    if (moved == 0 && !image_store_has_partial(image_store_dir(req), id, stale_s)) {
        moved = db_image_reclaim_saving(conn, id, stale_s, err);
        if (moved > 0) {
            log_warn("image %s: taking over an upload abandoned in saving", id);
            image_store_remove_partials(image_store_dir(req), id);
        }
    }
    if (moved < 0)
        return -1;
    if (moved == 0)
        return err_set(err, ERR_CONFLICT,
                       "Image status transition from %s to saving is not allowed.",
                       json_string_value(json_object_get(img, "status")));
    struct upload *u = xzalloc(sizeof(*u));
    strlcpy_n(u->id, id, sizeof(u->id));
    u->w = image_store_write_begin(image_store_dir(req), id, max, err);
    if (!u->w) {
        free(u);
        struct err e2 = ERR_INIT;
        db_image_transition(conn, id, "saving", "queued", &e2);
        return -1;
    }
    req->stream_state = u;
    release_db(req);
    log_info("image %s: upload started", id);
    return 0;
}

static int
upload_write(struct api_req *req, const char *data, size_t len, struct err *err)
{
    struct upload *u = req->stream_state;
    return image_store_write(u->w, data, len, err);
}

static void
upload_abort(struct api_req *req)
{
    struct upload *u = req->stream_state;
    if (!u)
        return;
    log_warn("image %s: upload failed after %llu bytes; the partial data is removed", u->id,
             (unsigned long long)image_store_written(u->w));
    struct err err = ERR_INIT;
    PGconn *conn = api_req_db(req, &err);
    if (!conn || db_image_transition(conn, u->id, "saving", "queued", &err) < 0)
        log_error("image %s: cannot return it to queued: %s", u->id, err.msg);
    upload_free(req);
}

/* After the last byte: make the file durable, then the row active. */
static int
upload_finish(struct api_req *req, struct err *err)
{
    struct upload *u = req->stream_state;
    struct image_store_digest d;
    api_stream_done(req);
    struct image_store_writer *w = u->w;
    u->w = NULL;
    PGconn *conn = NULL;
    if (image_store_write_commit(w, &d, err) < 0)
        goto fail;
    conn = api_req_db(req, err);
    int moved = conn ? db_image_set_data(conn, u->id, d.size, d.md5, d.sha512, err) : -1;
    if (moved <= 0) {
        struct err ferr = ERR_INIT;
        image_store_delete(image_store_dir(req), u->id, &ferr);
        if (moved == 0)
            err_set(err, ERR_CONFLICT, "Image %s was deleted or changed during the upload.", u->id);
        goto fail;
    }
    log_info("image %s: active, %llu bytes, md5 %s", u->id, (unsigned long long)d.size, d.md5);
    upload_free(req);
    api_reply_empty(req, 204);
    return 0;
fail:
    if (!conn)
        conn = api_req_db(req, &(struct err)ERR_INIT);
    if (conn) {
        struct err e2 = ERR_INIT;
        db_image_transition(conn, u->id, "saving", "queued", &e2);
    }
    upload_free(req);
    return -1;
}

static int
upload(struct api_req *req, struct err *err)
{
    switch (req->stream_event) {
    case API_STREAM_OPEN:
        return upload_open(req, err);
    case API_STREAM_DATA:
        return upload_write(req, req->stream_data, req->stream_data_len, err);
    case API_STREAM_END:
        return upload_finish(req, err);
    case API_STREAM_ABORT:
        upload_abort(req);
        return 0;
    }
    return err_set(err, ERR_INTERNAL, "unknown stream event");
}

static int
download(struct api_req *req, struct err *err)
{
    json_auto_t *img = image_lookup(req, err);
    if (!img || image_authorize(req, "download_image", img, NULL, err) < 0)
        return -1;
    const char *id = json_string_value(json_object_get(img, "id"));
    const char *status = json_string_value(json_object_get(img, "status"));
    if (strcmp(status, "deactivated") == 0 && !req->ctx.is_admin)
        return err_set(err, ERR_FORBIDDEN,
                       "The requested image has been deactivated. "
                       "Image data download is forbidden.");
    if (strcmp(status, "active") != 0 && strcmp(status, "deactivated") != 0) {
        api_reply_empty(req, 204); /* no data yet */
        return 0;
    }
    uint64_t size = 0;
    int fd = image_store_open(image_store_dir(req), id, &size, err);
    if (fd < 0)
        return -1;
    const char *md5 = json_string_value(json_object_get(img, "checksum"));
    if (md5)
        api_reply_header(req, "Content-MD5", md5);
    api_reply_fd(req, 200, fd, size, "application/octet-stream");
    return 0;
}

static const struct api_route routes[] = {
    {.method = "PUT",
     .pattern = IMAGE_V2 "/images/{image_id}/file",
     .handler = upload,
     .flags = API_ROUTE_STREAM_BODY},
    {.method = "GET", .pattern = IMAGE_V2 "/images/{image_id}/file", .handler = download},
};

const struct api_route_table image_upload_routes = {
    "image_upload", IMAGE_PREFIX, API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
