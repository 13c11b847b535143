/* cloud-api's request framework: the route tables, the request a handler sees,
 * and the helpers that build responses. A resource family is one file that
 * exports a `const struct api_route_table` and is listed in api_tables[]
 * (server.c). */
#ifndef NUBE_API_H
#define NUBE_API_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "id.h"

struct api_server;
struct api_req;

/* How a family spells its error bodies (OPENSTACK_API.md 1.8). */
enum api_error_style {
    API_ERRORS_KEYSTONE, /* {"error":{"code","title","message"}} */
    API_ERRORS_NOVA,     /* {"itemNotFound":{"code","message"}} and friends */
    API_ERRORS_NEUTRON,  /* {"NeutronError":{"type","message","detail"}} */
    API_ERRORS_GLANCE,   /* the Keystone body; Glance's words in the schema validator */
    API_ERRORS__LAST
};

/* A handler fills the response (api_reply_*) and returns 0, or returns -1 with
 * @err set; the framework then renders the error in the family's style. */
typedef int (*api_handler)(struct api_req *req, struct err *err);

enum api_route_flags {
    API_ROUTE_PUBLIC = 1 << 0,      /* no X-Auth-Token needed */
    API_ROUTE_STREAM_BODY = 1 << 1, /* the handler gets the body chunk by chunk (below) */
};

/* A streamed request body (API_ROUTE_STREAM_BODY), for uploads of any size:
 * nothing is buffered. The route's handler is called once per event, with
 * req->stream_event saying which:
 * - OPEN: the headers are in and the caller is authenticated; -1 refuses the
 *   request, answered before any body byte is read. The route's max_body
 *   does not apply: the handler enforces its own limits.
 * - DATA: req->stream_data holds the next req->stream_data_len bytes, as
 *   libmicrohttpd delivers them (Content-Length or chunked); -1 stops the
 *   upload and the error is answered at once.
 * - END: the body is complete; finish and reply as any handler does.
 * - ABORT: the request ends any other way (a failed DATA or END, the client
 *   gone mid-body): undo what OPEN began. Its return value is ignored.
 * Once the handler calls api_stream_done() no ABORT follows. */
enum api_stream_event {
    API_STREAM_OPEN,
    API_STREAM_DATA,
    API_STREAM_END,
    API_STREAM_ABORT,
};

struct api_route {
    const char *method;  /* "GET", "POST"...; HEAD falls back to GET */
    const char *pattern; /* "/v3/projects/{project_id}": literal or {name} segments */
    api_handler handler;
    unsigned flags;
    size_t max_body;  /* 0: the server's [api] max_body_size */
    long arg;         /* for the handler (req->match.route->arg): one handler
                         serves variants, e.g. a list and its /detail */
    const void *data; /* for generic handlers: the struct api_resource they serve */
};

struct api_route_table {
    const char *name;   /* "identity_projects" */
    const char *prefix; /* unknown paths under it get this family's error style */
    enum api_error_style errors;
    const struct api_route *routes;
    size_t nroutes;
    /* Also send the request id under this header (nova: "X-Compute-Request-Id"),
     * on every response of the family, errors included; NULL for none. */
    const char *request_id_header;
};

/* ---- the router (router.c), pure and unit-tested ---- */

#define API_PATH_MAX 2048
#define API_MAX_SEGMENTS 16
#define API_MAX_PARAMS 8

struct api_router;

struct api_match {
    const struct api_route *route;
    const struct api_route_table *table;
    int nparams;
    const char *param_names[API_MAX_PARAMS]; /* point into the route pattern */
    size_t param_lens[API_MAX_PARAMS];
    const char *params[API_MAX_PARAMS]; /* point into buf */
    char buf[API_PATH_MAX];
};

struct api_router *api_router_new(void);
void api_router_free(struct api_router *r);
void api_router_add(struct api_router *r, const struct api_route_table *t);
/* 0 with @m filled; -1 with ERR_NOT_FOUND (no pattern matches the path) or
 * ERR_NOT_ALLOWED (a pattern matches, not with this method). @m->table is set
 * to the best family for the error style even on failure (or NULL). A trailing
 * slash is ignored; "." and ".." segments never match. */
int api_router_match(const struct api_router *r, const char *method, const char *path,
                     struct api_match *m, struct err *err);
/* The value of {name} in a match, or NULL. */
const char *api_match_param(const struct api_match *m, const char *name);

/* ---- the authenticated caller ---- */

enum api_role {
    API_ROLE_READER = 1 << 0,
    API_ROLE_MEMBER = 1 << 1,
    API_ROLE_ADMIN = 1 << 2,
};

struct api_ctx {
    bool authenticated;
    char user_id[65];
    char project_id[65]; /* "" for an unscoped token */
    char audit_id[32];
    unsigned roles; /* enum api_role bits; admin implies member implies reader */
    bool is_admin;
};

/* ---- the request a handler sees ---- */

struct api_header {
    char *name;
    char *value;
};

#define API_MAX_RESP_HEADERS 8

struct api_req {
    struct api_server *srv;
    void *conn; /* struct MHD_Connection */
    const char *method;
    char path[API_PATH_MAX];
    char req_id[ID_UUID_LEN + 5];
    struct api_match match;
    struct api_ctx ctx;
    int64_t start_us;
    /* the compute microversion negotiated by compute_begin(), as
     * major * 1000 + minor (2.1 = 2001); 0 outside the compute API */
    int microversion;

    /* body as received (NUL-terminated), bounded by the route's limit */
    char *body;
    size_t body_len;
    size_t body_cap;
    size_t body_max;
    bool body_too_large;
    json_t *json;

    /* a streamed body (API_ROUTE_STREAM_BODY): the event, the chunk, the
     * handler's state, and whether OPEN succeeded and the stream is not done */
    enum api_stream_event stream_event;
    const char *stream_data;
    size_t stream_data_len;
    void *stream_state;
    bool stream_open;
    uint64_t stream_len; /* bytes received so far */

    PGconn *db; /* acquired on first use, released at completion */

    /* response */
    int status;
    char *resp_body;
    size_t resp_len;
    const char *content_type;
    struct api_header resp_headers[API_MAX_RESP_HEADERS];
    int nresp_headers;
    bool responded;
    int resp_fd; /* api_reply_fd: -1 for none */
    uint64_t resp_fd_size;
};

/* ---- request accessors ---- */

/* The {name} path parameter (URL-decoded by the HTTP layer). */
const char *api_req_param(const struct api_req *req, const char *name);
/* A query argument, or NULL. */
const char *api_req_query(const struct api_req *req, const char *name);
/* Every value of a repeated query argument (?fields=a&fields=b), in order, at
 * most @max; returns how many. */
int api_req_query_all(const struct api_req *req, const char *name, const char **out, int max);
/* The query string again (URL-encoded, "k=v&..."), less the arguments named
 * in the NULL-terminated @drop (caller frees): for next links. */
char *api_req_query_except(const struct api_req *req, const char *const *drop);
/* @s percent-encoded for a query value (caller frees). */
char *api_url_encode(const char *s);
/* A request header, or NULL. */
const char *api_req_header(const struct api_req *req, const char *name);
/* The body as a JSON object (parsed once). 400 for an empty body, malformed
 * JSON (with its position), invalid UTF-8 or a non-object. */
json_t *api_req_json(struct api_req *req, struct err *err);
/* The request's database connection (one per request, released at completion). */
PGconn *api_req_db(struct api_req *req, struct err *err);
/* The configured public URL + @path_fmt (caller frees). Never the bind address. */
char *api_req_url(const struct api_req *req, const char *path_fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- responses ---- */

/* Steals @body (may be NULL for an empty body). */
void api_reply_json(struct api_req *req, int status, json_t *body);
void api_reply_empty(struct api_req *req, int status);
void api_reply_header(struct api_req *req, const char *name, const char *value);
/* Reply @size bytes of the open file @fd from its start, streamed by
 * libmicrohttpd (sendfile where it can), never read into memory. Takes @fd. */
void api_reply_fd(struct api_req *req, int status, int fd, uint64_t size, const char *content_type);
/* The handler is done with the request's stream: no ABORT event follows. */
void api_stream_done(struct api_req *req);
/* The error body for @status in @style (caller decrefs). */
json_t *api_error_body(enum api_error_style style, int status, const char *message);
/* Render @err as the response, in the matched family's style. */
void api_reply_error(struct api_req *req, const struct err *err);

/* ---- checks shared by handlers ---- */

/* Valid UTF-8 (no overlongs, no surrogates). */
bool api_utf8_valid(const char *s, size_t len);
/* Microseconds since the epoch (CLOCK_REALTIME). */
int64_t api_now_us(void);
/* "2026-01-02T03:04:05.123456Z" */
void api_time_iso(int64_t us, char out[32]);

#endif
