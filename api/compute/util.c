/* Helpers shared by the compute families: microversion negotiation, input
 * checks that answer Nova's 400s, links, times and the worker's bus. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bus.h"
#include "compute.h"
#include "mem.h"
#include "policy.h"

/* Parse @v ("2.19", "latest") into *mv: 406 for a well-formed version outside
 * COMPUTE_MV_MIN..COMPUTE_MV_MAX, 400 for a malformed one. */
static int
parse_version(const char *v, int *mv, struct err *err)
{
    while (*v == ' ')
        v++;
    char buf[40];
    strlcpy_n(buf, v, sizeof(buf));
    for (size_t n = strlen(buf); n > 0 && buf[n - 1] == ' '; n--)
        buf[n - 1] = '\0';
    if (strcasecmp(buf, "latest") == 0) {
        *mv = COMPUTE_MV_MAX;
        return 0;
    }
    /* Nova's form: ^([1-9]\d*)\.([1-9]\d*|0)$ (no leading zeros) */
    const char *s = buf;
    char *end;
    if (!isdigit((unsigned char)*s) || *s == '0')
        goto bad;
    long major = strtol(s, &end, 10);
    if (*end != '.' || !isdigit((unsigned char)end[1]) ||
        (end[1] == '0' && isdigit((unsigned char)end[2])))
        goto bad;
    long minor = strtol(end + 1, &end, 10);
    if (*end || major > 1000 || minor > 999)
        goto bad;
    int want = (int)(major * 1000 + minor);
    if (want < COMPUTE_MV_MIN || want > COMPUTE_MV_MAX)
        return err_set(err, ERR_NOT_ACCEPTABLE,
                       "Version %ld.%ld is not supported by the API. Minimum is 2.1 and maximum "
                       "is " COMPUTE_VERSION_MAX ".",
                       major, minor);
    *mv = want;
    return 0;
bad:
    return err_set(err, ERR_INVALID,
                   "API Version String %.32s is of invalid format. Must be of format "
                   "MajorNum.MinorNum.",
                   v);
}

/* The value of the "compute X.Y" item of an OpenStack-API-Version header
 * ("compute 2.19" or a list "volume 3.0, compute 2.19"), copied into @out;
 * NULL when no item names compute. */
static const char *
modern_compute(const char *hdr, char *out, size_t size)
{
    char buf[256];
    strlcpy_n(buf, hdr, sizeof(buf));
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (strncasecmp(tok, "compute ", 8) == 0) {
            strlcpy_n(out, tok + 8, size);
            return out;
        }
    }
    return NULL;
}

int
compute_begin(struct api_req *req, struct err *err)
{
    req->microversion = COMPUTE_MV_MIN;
    const char *legacy = api_req_header(req, "X-OpenStack-Nova-API-Version");
    const char *modern = api_req_header(req, "OpenStack-API-Version");
    char item[64];
    const char *asked = modern ? modern_compute(modern, item, sizeof(item)) : NULL;
    if (!asked)
        asked = legacy;
    int rc = asked ? parse_version(asked, &req->microversion, err) : 0;
    /* the answer names the version it was rendered at (2.1 when refused) */
    char v[24];
    snprintf(v, sizeof(v), "%d.%d", req->microversion / 1000, req->microversion % 1000);
    char *both = xasprintf("compute %s", v);
    api_reply_header(req, "X-OpenStack-Nova-API-Version", v);
    api_reply_header(req, "OpenStack-API-Version", both);
    free(both);
    api_reply_header(req, "Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
    return rc;
}

json_t *
compute_body(struct api_req *req, const char *key, struct err *err)
{
    json_t *body = api_req_json(req, err);
    if (!body)
        return NULL;
    json_t *o = json_object_get(body, key);
    if (!json_is_object(o)) {
        err_set(err, ERR_INVALID, "Invalid input for field/attribute %s: an object is required.",
                key);
        return NULL;
    }
    return o;
}

int
compute_query_int(struct api_req *req, const char *name, long long dflt, long long max,
                  long long *out, struct err *err)
{
    const char *v = api_req_query(req, name);
    if (!v) {
        *out = dflt;
        return 0;
    }
    char *end;
    if (!*v || !isdigit((unsigned char)*v))
        return err_set(err, ERR_INVALID, "Invalid input for query parameter %s.", name);
    long long n = strtoll(v, &end, 10);
    if (*end || n < 0)
        return err_set(err, ERR_INVALID, "Invalid input for query parameter %s.", name);
    *out = n > max ? max : n;
    return 0;
}

int
compute_query_bool(struct api_req *req, const char *name, int *out, struct err *err)
{
    const char *v = api_req_query(req, name);
    *out = -1;
    if (!v || strcasecmp(v, "none") == 0)
        return 0;
    static const char *const yes[] = {"true", "1", "yes", "on", "t", "y", ""};
    static const char *const no[] = {"false", "0", "no", "off", "f", "n"};
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
    for (size_t i = 0; i < ARRAY_SIZE(no); i++)
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    return err_set(err, ERR_INVALID,
                   "Invalid input for query parameter %s: '%.32s' is not a "
                   "boolean.",
                   name, v);
}

bool
compute_is_admin(const struct api_req *req)
{
    return req->ctx.is_admin;
}

int
compute_authorize_project(struct api_req *req, const char *action, const char *project_id,
                          struct err *err)
{
    struct policy_target t = {.project_id = project_id, .user_id = req->ctx.user_id};
    if (policy_check(&req->ctx, action, &t, err) < 0) {
        if (err->code == ERR_FORBIDDEN) /* Nova's wording */
            err_set(err, ERR_FORBIDDEN, "Policy doesn't allow %s to be performed.", action);
        return -1;
    }
    return 0;
}

bool
compute_may(struct api_req *req, const char *action)
{
    struct policy_target t = {.project_id = req->ctx.project_id, .user_id = req->ctx.user_id};
    return policy_allows(&req->ctx, action, &t);
}

int
compute_authorize(struct api_req *req, const char *action, struct err *err)
{
    return compute_authorize_project(req, action, req->ctx.project_id, err);
}

const char *
compute_project(struct api_req *req, struct err *err)
{
    if (!req->ctx.project_id[0]) {
        err_set(err, ERR_INVALID, "The compute API needs a project-scoped token.");
        return NULL;
    }
    return req->ctx.project_id;
}

json_t *
compute_links(const struct api_req *req, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *path;
    if (vasprintf(&path, fmt, ap) < 0)
        abort();
    va_end(ap);
    char *self = api_req_url(req, COMPUTE_V21 "/%s", path);
    char *bookmark = api_req_url(req, COMPUTE_PREFIX "/%s", path);
    json_t *links = json_pack("[{s:s,s:s},{s:s,s:s}]", "rel", "self", "href", self, "rel",
                              "bookmark", "href", bookmark);
    free(path);
    free(self);
    free(bookmark);
    return links;
}

json_t *
compute_time(const char *ts)
{
    return ts ? json_string(ts) : json_null();
}

struct bus *
compute_bus(struct api_req *req, struct err *err)
{
    struct bus_options opts = {.publish_timeout_ms = 5000, .reconnect_max_ms = 1000};
    struct bus *bus = bus_thread_get(req->srv->cfg.bus_url, &opts, err);
    if (!bus)
        err->code = ERR_UNAVAILABLE;
    return bus;
}

int
compute_cast(struct api_req *req, const char *topic, const char *method, json_t *args,
             struct err *err)
{
    struct bus *bus = compute_bus(req, err);
    if (!bus)
        return -1;
    if (bus_cast(bus, topic, method, args, err) < 0) {
        err->code = ERR_UNAVAILABLE;
        return err_prefix(err, "casting %s to %s", method, topic);
    }
    return 0;
}
