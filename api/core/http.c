/* The HTTP layer over libmicrohttpd: one struct api_req per request, from the
 * first callback (route, size limit) through the body to the handler, and
 * freed when libmicrohttpd reports the request completed. Every response
 * carries X-OpenStack-Request-Id, and every request logs one line. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "server.h"

/* A monotonic clock for request durations. */
static int64_t
mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- responses ---- */

void
api_reply_json(struct api_req *req, int status, json_t *body)
{
    if (req->resp_fd >= 0) {
        close(req->resp_fd);
        req->resp_fd = -1;
    }
    free(req->resp_body);
    req->resp_body = NULL;
    req->resp_len = 0;
    if (body) {
        req->resp_body = json_dump_compact(body);
        req->resp_len = strlen(req->resp_body);
        json_decref(body);
    }
    req->status = status;
    req->content_type = "application/json";
    req->responded = true;
}

void
api_reply_empty(struct api_req *req, int status)
{
    api_reply_json(req, status, NULL);
    req->content_type = NULL;
}

void
api_reply_fd(struct api_req *req, int status, int fd, uint64_t size, const char *content_type)
{
    api_reply_empty(req, status);
    req->resp_fd = fd;
    req->resp_fd_size = size;
    req->content_type = content_type;
}

void
api_stream_done(struct api_req *req)
{
    req->stream_open = false;
}

static void
api_stream_abort(struct api_req *req)
{
    if (!req->stream_open)
        return;
    req->stream_open = false;
    struct err err = ERR_INIT;
    req->stream_event = API_STREAM_ABORT;
    (void)req->match.route->handler(req, &err);
}

void
api_reply_header(struct api_req *req, const char *name, const char *value)
{
    for (int i = 0; i < req->nresp_headers; i++) {
        if (strcasecmp(req->resp_headers[i].name, name) == 0) {
            free(req->resp_headers[i].value);
            req->resp_headers[i].value = xstrdup(value);
            return;
        }
    }
    if (req->nresp_headers >= API_MAX_RESP_HEADERS)
        abort(); /* a handler bug: raise API_MAX_RESP_HEADERS */
    req->resp_headers[req->nresp_headers].name = xstrdup(name);
    req->resp_headers[req->nresp_headers].value = xstrdup(value);
    req->nresp_headers++;
}

/* ---- request accessors ---- */

const char *
api_req_param(const struct api_req *req, const char *name)
{
    return api_match_param(&req->match, name);
}

const char *
api_req_query(const struct api_req *req, const char *name)
{
    if (!req->conn)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct query_all {
    const char *name;
    const char **out;
    int max, n;
};

static enum MHD_Result
query_all_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct query_all *q = cls;
    if (strcmp(key, q->name) == 0 && q->n < q->max)
        q->out[q->n++] = value ? value : "";
    return MHD_YES;
}

int
api_req_query_all(const struct api_req *req, const char *name, const char **out, int max)
{
    if (!req->conn)
        return 0;
    struct query_all q = {.name = name, .out = out, .max = max};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_all_one, &q);
    return q.n;
}

struct query_copy {
    const char *const *drop;
    char *out;
    size_t len, cap;
};

static void
query_put(struct query_copy *q, const char *s, bool encode)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        if (q->len + 4 > q->cap) {
            q->cap = q->cap ? q->cap * 2 : 128;
            q->out = xrealloc(q->out, q->cap);
        }
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     strchr("-._~", c);
        if (!encode || plain) {
            q->out[q->len++] = (char)c;
        } else {
            q->out[q->len++] = '%';
            q->out[q->len++] = hex[c >> 4];
            q->out[q->len++] = hex[c & 15];
        }
    }
    if (q->out)
        q->out[q->len] = '\0';
}

static enum MHD_Result
query_copy_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct query_copy *q = cls;
    for (const char *const *d = q->drop; *d; d++)
        if (strcmp(*d, key) == 0)
            return MHD_YES;
    query_put(q, q->len ? "&" : "", false);
    query_put(q, key, true);
    query_put(q, "=", false);
    query_put(q, value ? value : "", true);
    return MHD_YES;
}

char *
api_url_encode(const char *s)
{
    struct query_copy q = {0};
    query_put(&q, s, true);
    return q.out ? q.out : xstrdup("");
}

char *
api_req_query_except(const struct api_req *req, const char *const *drop)
{
    struct query_copy q = {.drop = drop};
    if (req->conn)
        MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_copy_one, &q);
    return q.out ? q.out : xstrdup("");
}

const char *
api_req_header(const struct api_req *req, const char *name)
{
    if (!req->conn)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

json_t *
api_req_json(struct api_req *req, struct err *err)
{
    if (req->json)
        return req->json;
    if (!req->body || req->body_len == 0) {
        err_set(err, ERR_INVALID, "The request body is required.");
        return NULL;
    }
    if (!api_utf8_valid(req->body, req->body_len)) {
        err_set(err, ERR_INVALID, "The request body is not valid UTF-8.");
        return NULL;
    }
    json_t *v = json_parse_buf(req->body, req->body_len, err);
    if (!v)
        return NULL;
    if (!json_is_object(v)) {
        json_decref(v);
        err_set(err, ERR_INVALID, "The request body must be a JSON object.");
        return NULL;
    }
    req->json = v;
    return v;
}

PGconn *
api_req_db(struct api_req *req, struct err *err)
{
    if (!req->db) {
        req->db = db_pool_acquire(req->srv->db, err);
        if (!req->db)
            err->code = ERR_UNAVAILABLE;
    }
    return req->db;
}

char *
api_req_url(const struct api_req *req, const char *path_fmt, ...)
{
    va_list ap;
    va_start(ap, path_fmt);
    char *path;
    if (vasprintf(&path, path_fmt, ap) < 0)
        abort();
    va_end(ap);
    char *url = xasprintf("%s%s", req->srv->cfg.public_url, path);
    free(path);
    return url;
}

/* ---- the request's life ---- */

static void
api_req_free(struct api_req *req)
{
    if (!req)
        return;
    api_stream_abort(req);
    if (req->resp_fd >= 0)
        close(req->resp_fd);
    if (req->db)
        db_pool_release(req->srv->db, req->db);
    json_decref(req->json);
    free(req->body);
    free(req->resp_body);
    for (int i = 0; i < req->nresp_headers; i++) {
        free(req->resp_headers[i].name);
        free(req->resp_headers[i].value);
    }
    free(req);
}

static enum MHD_Result
api_queue(struct api_req *req)
{
    struct MHD_Response *resp;
    if (req->resp_fd >= 0) {
        /* libmicrohttpd owns the descriptor from here and closes it */
        resp = MHD_create_response_from_fd64(req->resp_fd_size, req->resp_fd);
        if (resp)
            req->resp_fd = -1;
    } else {
        resp = MHD_create_response_from_buffer(
            req->resp_len, req->resp_body ? req->resp_body : (void *)"", MHD_RESPMEM_MUST_COPY);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "X-OpenStack-Request-Id", req->req_id);
    if (req->match.table && req->match.table->request_id_header)
        MHD_add_response_header(resp, req->match.table->request_id_header, req->req_id);
    if (req->content_type)
        MHD_add_response_header(resp, "Content-Type", req->content_type);
    for (int i = 0; i < req->nresp_headers; i++)
        MHD_add_response_header(resp, req->resp_headers[i].name, req->resp_headers[i].value);
    enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    double ms = (double)(mono_us() - req->start_us) / 1000.0;
    log_info("%s %s %d %.1fms", req->method, req->path, req->status, ms);
    return rc;
}

static enum MHD_Result
query_utf8_check(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    bool *ok = cls;
    if (!api_utf8_valid(key, strlen(key)) || (value && !api_utf8_valid(value, strlen(value)))) {
        *ok = false;
        return MHD_NO;
    }
    return MHD_YES;
}

/* The first callback: route, check the URL and the announced size. */
static int
api_req_begin(struct api_req *req, const char *url, struct err *err)
{
    struct api_server *srv = req->srv;
    size_t ulen = strlen(url);
    if (ulen >= sizeof(req->path)) {
        strlcpy_n(req->path, "(too long)", sizeof(req->path));
        return err_set(err, ERR_NOT_FOUND, "The resource could not be found.");
    }
    memcpy(req->path, url, ulen + 1);
    if (!api_utf8_valid(url, ulen))
        return err_set(err, ERR_INVALID, "The request path is not valid UTF-8.");
    bool ok = true;
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_utf8_check, &ok);
    if (!ok)
        return err_set(err, ERR_INVALID, "The query string is not valid UTF-8.");
    if (api_router_match(srv->router, req->method, req->path, &req->match, err) < 0)
        return -1;
    req->body_max =
        req->match.route->max_body ? req->match.route->max_body : (size_t)srv->cfg.max_body_size;
    if (req->match.route->flags & API_ROUTE_STREAM_BODY)
        return 0; /* the stream's open() and write() enforce their own limits */
    const char *cl = api_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || n > req->body_max)
            return err_set(err, ERR_TOO_LARGE,
                           "The request body is larger than the limit of %zu bytes.",
                           req->body_max);
    }
    return 0;
}

static void
api_req_body(struct api_req *req, const char *data, size_t len)
{
    if (req->body_too_large)
        return;
    if (req->body_len + len > req->body_max) {
        req->body_too_large = true;
        free(req->body);
        req->body = NULL;
        req->body_len = 0;
        return;
    }
    if (req->body_len + len + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 4096;
        while (cap < req->body_len + len + 1)
            cap *= 2;
        req->body = xrealloc(req->body, cap);
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
}

/* A streamed body's route: authenticate and open the stream before any body
 * byte is read. */
static int
api_stream_begin(struct api_req *req, struct err *err)
{
    const struct api_route *route = req->match.route;
    if (!(route->flags & API_ROUTE_STREAM_BODY))
        return 0;
    if (!(route->flags & API_ROUTE_PUBLIC)) {
        struct token_payload p;
        if (api_auth_token(req, api_req_header(req, "X-Auth-Token"), &req->ctx, &p, err) < 0)
            return -1;
    }
    req->stream_event = API_STREAM_OPEN;
    if (route->handler(req, err) < 0)
        return -1;
    req->stream_open = true;
    return 0;
}

/* The last callback: authenticate, run the handler. */
static void
api_req_dispatch(struct api_req *req)
{
    struct err err = ERR_INIT;
    if (req->body_too_large) {
        err_set(&err, ERR_TOO_LARGE, "The request body is larger than the limit of %zu bytes.",
                req->body_max);
        api_reply_error(req, &err);
        return;
    }
    const struct api_route *route = req->match.route;
    if (route->flags & API_ROUTE_STREAM_BODY) { /* authenticated and opened already */
        req->stream_event = API_STREAM_END;
        if (route->handler(req, &err) < 0) {
            api_stream_abort(req);
            if (err.code == ERR_OK)
                err_set(&err, ERR_INTERNAL, "handler failed without saying why");
            api_reply_error(req, &err);
        } else if (!req->responded) {
            api_stream_abort(req);
            err_set(&err, ERR_INTERNAL, "handler set no response");
            api_reply_error(req, &err);
        }
        return;
    }
    if (!(route->flags & API_ROUTE_PUBLIC)) {
        struct token_payload p;
        if (api_auth_token(req, api_req_header(req, "X-Auth-Token"), &req->ctx, &p, &err) < 0) {
            api_reply_error(req, &err);
            return;
        }
    }
    if (route->handler(req, &err) < 0) {
        if (err.code == ERR_OK)
            err_set(&err, ERR_INTERNAL, "handler failed without saying why");
        api_reply_error(req, &err);
        return;
    }
    if (!req->responded) {
        err_set(&err, ERR_INTERNAL, "handler set no response");
        api_reply_error(req, &err);
    }
}

static enum MHD_Result
api_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct api_server *srv = cls;
    struct api_req *req = *con_cls;
    if (!req) {
        req = xzalloc(sizeof(*req));
        req->srv = srv;
        req->conn = conn;
        req->method = method;
        req->start_us = mono_us();
        id_request(req->req_id);
        req->resp_fd = -1;
        *con_cls = req;
        atomic_fetch_add(&srv->inflight, 1);
        log_set_request_id(req->req_id);
        struct err err = ERR_INIT;
        if (api_req_begin(req, url, &err) < 0 || api_stream_begin(req, &err) < 0) {
            api_reply_error(req, &err);
            enum MHD_Result rc = api_queue(req);
            log_set_request_id(NULL);
            return rc;
        }
        log_set_request_id(NULL);
        return MHD_YES;
    }
    if (req->responded) { /* answered early: discard whatever still arrives */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size && req->stream_open) {
        size_t len = *upload_data_size;
        *upload_data_size = 0;
        req->stream_len += len;
        struct err err = ERR_INIT;
        req->stream_event = API_STREAM_DATA;
        req->stream_data = upload_data;
        req->stream_data_len = len;
        if (req->match.route->handler(req, &err) == 0)
            return MHD_YES;
        /* answer now; libmicrohttpd closes the connection after the reply
         * instead of reading the rest of the body */
        log_set_request_id(req->req_id);
        api_stream_abort(req);
        api_reply_error(req, &err);
        enum MHD_Result rc = api_queue(req);
        log_set_request_id(NULL);
        return rc;
    }
    if (*upload_data_size) {
        api_req_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    log_set_request_id(req->req_id);
    api_req_dispatch(req);
    enum MHD_Result rc = api_queue(req);
    log_set_request_id(NULL);
    return rc;
}

static void
api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
              enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct api_server *srv = cls;
    struct api_req *req = *con_cls;
    if (!req)
        return;
    if (!req->responded || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        log_set_request_id(req->req_id);
        log_info("%s %s aborted before completion (reason %d)", req->method, req->path, (int)toe);
        log_set_request_id(NULL);
    }
    log_set_request_id(req->req_id); /* a stream's abort() may log */
    api_req_free(req);
    log_set_request_id(NULL);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

static void api_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
api_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    log_warn("libmicrohttpd: %s", buf);
}

int
api_server_start(struct api_server *srv, struct err *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%ld", srv->cfg.port);
    const char *host = srv->cfg.listen_host[0] ? srv->cfg.listen_host : NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0)
        return err_set(err, ERR_INVALID, "[api] listen %s: %s", host ? host : "*",
                       gai_strerror(gai));
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)srv->cfg.port, NULL, NULL, api_access, srv,
        /* first, so that every message of the daemon goes to our log */
        MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)srv->cfg.workers, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)srv->cfg.connection_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(128 * 1024), MHD_OPTION_NOTIFY_COMPLETED, api_completed, srv,
        /* no SO_REUSEPORT: a second cloud-api on the same port must fail to start,
         * not share the port silently */
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d)
        return err_set(err, ERR_IO, "cannot listen on %s port %ld (see the log above)",
                       host ? host : "*", srv->cfg.port);
    srv->mhd = d;
    return 0;
}

void
api_server_stop(struct api_server *srv)
{
    if (!srv->mhd)
        return;
    MHD_socket fd = MHD_quiesce_daemon(srv->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    int64_t deadline = mono_us() + (int64_t)srv->cfg.shutdown_timeout * 1000000;
    while (atomic_load(&srv->inflight) > 0 && mono_us() < deadline)
        usleep(20 * 1000);
    int left = atomic_load(&srv->inflight);
    if (left > 0)
        log_warn("stopping with %d request(s) still in flight", left);
    MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
}
