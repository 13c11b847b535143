/* Router: literal and {param} segments, 404 vs 405, HEAD falling back to GET,
 * trailing slashes, "." / ".." segments, the error style of unknown paths. */
#include <string.h>

#include "api.h"
#include "check.h"
#include "mem.h"

static int
h_dummy(struct api_req *req, struct err *err)
{
    (void)req;
    (void)err;
    return 0;
}

static int
h_other(struct api_req *req, struct err *err)
{
    (void)req;
    (void)err;
    return 0;
}

static const struct api_route id_routes[] = {
    {.method = "GET", .pattern = "/", .handler = h_dummy, .flags = API_ROUTE_PUBLIC},
    {.method = "GET", .pattern = "/v3", .handler = h_dummy, .flags = API_ROUTE_PUBLIC},
    {.method = "GET", .pattern = "/v3/projects", .handler = h_dummy},
    {.method = "POST", .pattern = "/v3/projects", .handler = h_other},
    {.method = "GET", .pattern = "/v3/projects/{project_id}", .handler = h_dummy},
    {.method = "PUT",
     .pattern = "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
     .handler = h_other},
    {.method = "HEAD", .pattern = "/v3/auth/tokens", .handler = h_other},
    {.method = "GET", .pattern = "/v3/auth/tokens", .handler = h_dummy},
};
static const struct api_route_table id_table = {
    "identity", "/v3", API_ERRORS_KEYSTONE, id_routes, ARRAY_SIZE(id_routes), NULL};

static const struct api_route nova_routes[] = {
    {.method = "GET", .pattern = "/compute/v2.1/servers/{server_id}", .handler = h_dummy},
};
static const struct api_route_table nova_table = {"compute",
                                                  "/compute",
                                                  API_ERRORS_NOVA,
                                                  nova_routes,
                                                  ARRAY_SIZE(nova_routes),
                                                  "X-Compute-Request-Id"};

int
main(void)
{
    struct api_router *r = api_router_new();
    api_router_add(r, &id_table);
    api_router_add(r, &nova_table);
    struct api_match m;
    struct err err = ERR_INIT;

    CHECK_INT(api_router_match(r, "GET", "/", &m, &err), 0);
    CHECK(m.route == &id_routes[0]);
    CHECK_INT(api_router_match(r, "GET", "/v3", &m, &err), 0);
    CHECK(m.route == &id_routes[1]);
    /* a trailing slash is the same resource */
    CHECK_INT(api_router_match(r, "GET", "/v3/", &m, &err), 0);
    CHECK(m.route == &id_routes[1]);
    CHECK_INT(api_router_match(r, "POST", "/v3/projects", &m, &err), 0);
    CHECK(m.route->handler == h_other);

    CHECK_INT(api_router_match(r, "GET", "/v3/projects/abc123", &m, &err), 0);
    CHECK(m.route == &id_routes[4]);
    CHECK_STR(api_match_param(&m, "project_id"), "abc123");
    CHECK(api_match_param(&m, "user_id") == NULL);
    CHECK(m.table == &id_table);

    CHECK_INT(api_router_match(r, "PUT", "/v3/projects/p1/users/u1/roles/r1", &m, &err), 0);
    CHECK_STR(api_match_param(&m, "project_id"), "p1");
    CHECK_STR(api_match_param(&m, "user_id"), "u1");
    CHECK_STR(api_match_param(&m, "role_id"), "r1");
    CHECK_INT(m.nparams, 3);

    /* an explicit HEAD route wins; otherwise HEAD falls back to GET */
    CHECK_INT(api_router_match(r, "HEAD", "/v3/auth/tokens", &m, &err), 0);
    CHECK(m.route == &id_routes[6]);
    CHECK_INT(api_router_match(r, "HEAD", "/v3/projects/x", &m, &err), 0);
    CHECK(m.route == &id_routes[4]);

    /* known path, wrong method: 405 */
    err_clear(&err);
    CHECK_INT(api_router_match(r, "DELETE", "/v3/projects", &m, &err), -1);
    CHECK_INT(err.code, ERR_NOT_ALLOWED);
    CHECK_INT(err_http_status(err.code), 405);
    err_clear(&err);
    CHECK_INT(api_router_match(r, "PATCH", "/v3/auth/tokens", &m, &err), -1);
    CHECK_INT(err.code, ERR_NOT_ALLOWED);

    /* unknown paths: 404, in the style of the family owning the prefix */
    err_clear(&err);
    CHECK_INT(api_router_match(r, "GET", "/v3/nothing", &m, &err), -1);
    CHECK_INT(err.code, ERR_NOT_FOUND);
    CHECK(m.table == &id_table);
    err_clear(&err);
    CHECK_INT(api_router_match(r, "GET", "/compute/v2.1/flavors", &m, &err), -1);
    CHECK_INT(err.code, ERR_NOT_FOUND);
    CHECK(m.table == &nova_table);
    CHECK_INT(api_router_match(r, "GET", "/compute/v2.1/servers/s1", &m, &err), 0);
    CHECK(m.table == &nova_table);
    CHECK_STR(api_match_param(&m, "server_id"), "s1");
    err_clear(&err);
    CHECK_INT(api_router_match(r, "GET", "/v3/projects/a/b", &m, &err), -1);
    CHECK_INT(err.code, ERR_NOT_FOUND);
    /* a prefix is a whole segment: /v3x is not under /v3 */
    CHECK_INT(api_router_match(r, "GET", "/compute2/x", &m, &err), -1);
    CHECK(m.table != &nova_table);

    /* traversal segments never match anything */
    err_clear(&err);
    CHECK_INT(api_router_match(r, "GET", "/v3/projects/..", &m, &err), -1);
    CHECK_INT(err.code, ERR_NOT_FOUND);
    CHECK_INT(api_router_match(r, "GET", "/v3/projects/../projects", &m, &err), -1);
    CHECK_INT(api_router_match(r, "GET", "/v3/./projects", &m, &err), -1);
    CHECK_INT(err.code, ERR_NOT_FOUND);
    /* "..x" is an ordinary (if odd) segment */
    CHECK_INT(api_router_match(r, "GET", "/v3/projects/..x", &m, &err), 0);
    CHECK_STR(api_match_param(&m, "project_id"), "..x");

    /* too many segments, an over-long path */
    char deep[512] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "/a");
    err_clear(&err);
    CHECK_INT(api_router_match(r, "GET", deep, &m, &err), -1);
    CHECK_INT(err.code, ERR_NOT_FOUND);
    static char longpath[API_PATH_MAX + 10];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    CHECK_INT(api_router_match(r, "GET", longpath, &m, &err), -1);

    /* error bodies by style */
    json_t *b = api_error_body(API_ERRORS_KEYSTONE, 404, "gone");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(b, "error"), "code")), 404);
    CHECK_STR(json_string_value(json_object_get(json_object_get(b, "error"), "title")),
              "Not Found");
    CHECK_STR(json_string_value(json_object_get(json_object_get(b, "error"), "message")), "gone");
    json_decref(b);
    b = api_error_body(API_ERRORS_NOVA, 404, "gone");
    CHECK(json_object_get(b, "itemNotFound") != NULL);
    json_decref(b);
    b = api_error_body(API_ERRORS_NOVA, 409, "busy");
    CHECK(json_object_get(b, "conflictingRequest") != NULL);
    json_decref(b);
    b = api_error_body(API_ERRORS_NEUTRON, 404, "gone");
    CHECK_STR(json_string_value(json_object_get(json_object_get(b, "NeutronError"), "type")),
              "HTTPNotFound");
    json_decref(b);

    /* UTF-8 validation */
    CHECK(api_utf8_valid("plain", 5));
    CHECK(api_utf8_valid("\xc3\xa9t\xc3\xa9", 5));
    CHECK(api_utf8_valid("\xf0\x9f\x98\x80", 4));
    CHECK(!api_utf8_valid("\xff", 1));
    CHECK(!api_utf8_valid("\xc3", 1));
    CHECK(!api_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    CHECK(!api_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    CHECK(!api_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */

    char iso[32];
    api_time_iso(1700000000123456LL, iso);
    CHECK_STR(iso, "2023-11-14T22:13:20.123456Z");

    api_router_free(r);
    return check_done();
}
