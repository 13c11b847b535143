/* /compute/v2.1/servers: create (flavor and image checked, quota and insert in
 * one transaction under the project's lock, then build_instance cast to the
 * scheduler), list and detail (filters, paging, all_tenants for admins), show,
 * update (name) and delete. Rendering is exactly the 2.1 representation. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "claim.h"
#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "id.h"
#include "image.h"
#include "log.h"
#include "mem.h"
#include "schema.h"

/* The columns of compute_server_get()'s row ($1: [compute] service_down_time). */
#define SERVER_COLS                                                                                \
    "i.id, i.name, i.project_id, i.user_id, i.image_id, i.flavor_id, i.key_name, "                 \
    "i.metadata::text AS metadata, i.availability_zone, i.vm_state, i.task_state, "                \
    "i.power_state, i.host, i.node, i.fault::text AS fault, i.access_ipv4, i.access_ipv6, "        \
    "nova_ts(i.created_at) AS created, nova_ts(i.updated_at) AS updated, "                         \
    "nova_ts(i.launched_at) AS launched_at, nova_ts(i.terminated_at) AS terminated_at, "           \
    "i.deleted_at IS NOT NULL AS deleted, "                                                        \
    "coalesce((SELECT n.last_heartbeat IS NOT NULL AND NOT n.forced_down "                         \
    "                 AND n.last_heartbeat > now() - make_interval(secs => $1::int) "              \
    "          FROM compute_node n WHERE n.host = i.host), false) AS host_up"

#define SERVER_USER_DATA_MAX 65535
#define SERVER_MAX_COUNT 100

static const struct {
    const char *vm_state;
    const char *status;
} status_map[] = {
    {"building", "BUILD"},  {"active", "ACTIVE"},       {"stopped", "SHUTOFF"},
    {"paused", "PAUSED"},   {"suspended", "SUSPENDED"}, {"error", "ERROR"},
    {"deleted", "DELETED"}, {"rescued", "RESCUE"},      {"resized", "VERIFY_RESIZE"},
    {"shelved", "SHELVED"},
};

/* Server documents are rendered by PostgreSQL, one text per server, by the
 * functions of db/migrations/0006_compute_render.sql; no JSON tree is built in
 * C, which is what makes a 1,000-server detail list cheap. The queries below
 * select two columns first: the document, and the members of the microversion,
 * the caller and the state ("k" : v, ... text or NULL) that reply_docs()
 * splices in before its closing brace; the instance is `i`, its host's
 * compute_node `n` (LEFT JOIN), and the parameters are $1 public URL, $2 't'
 * for an admin, $3 microversion, $4 service_down_time. */
#define SERVER_DETAIL_DOC                                                                          \
    "nova_server_doc(i, $1), nova_server_extra(i, n, $2::bool, $3::int, $4::int)"
#define SERVER_SUMMARY_DOC "nova_server_summary(i, $1), NULL::text"
/* n is needed for host_status only (2.16, admins): other callers skip the join */
#define SERVER_FROM                                                                                \
    " FROM instance i LEFT JOIN compute_node n ON n.host = i.host AND $2::bool AND $3::int >= 2016 "

static const char *
vm_state_of_status(const char *status)
{
    for (size_t i = 0; i < ARRAY_SIZE(status_map); i++)
        if (strcasecmp(status_map[i].status, status) == 0)
            return status_map[i].vm_state;
    return NULL;
}

static const char *
row_str(const json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

static json_t *
json_text(const char *s, json_t *dflt)
{
    json_t *v = s ? json_loads(s, 0, NULL) : NULL;
    if (!v)
        return dflt;
    json_decref(dflt);
    return v;
}

/* Reply @prefix + @docs (texts joined by commas) + @suffix, as JSON: the
 * bodies PostgreSQL rendered are sent as they are (what api_reply_json does
 * with a serialised tree). */
static void
reply_docs(struct api_req *req, int status, const char *prefix, const PGresult *res,
           const char *suffix)
{
    size_t plen = strlen(prefix), slen = strlen(suffix), n = plen + slen + 1;
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++)
        n += (size_t)PQgetlength(res, r, 0) + (size_t)PQgetlength(res, r, 1) + 2;
    char *out = xmalloc(n), *w = out;
    memcpy(w, prefix, plen);
    w += plen;
    for (int r = 0; r < rows; r++) {
        if (r)
            *w++ = ',';
        /* the document, and when column 1 is not NULL its extra members
         * ("a":1,"b":2, without braces) before the closing brace */
        size_t l = (size_t)PQgetlength(res, r, 0);
        memcpy(w, PQgetvalue(res, r, 0), l);
        w += l;
        if (!PQgetisnull(res, r, 1) && l > 0 && w[-1] == '}') {
            size_t e = (size_t)PQgetlength(res, r, 1);
            w[-1] = ',';
            memcpy(w, PQgetvalue(res, r, 1), e);
            w += e;
            *w++ = '}';
        }
    }
    memcpy(w, suffix, slen);
    w += slen;
    *w = '\0';
    api_reply_json(req, status, NULL);
    req->resp_body = out;
    req->resp_len = (size_t)(w - out);
}

/* The parameters of SERVER_DETAIL_DOC / SERVER_SUMMARY_DOC ($1..$4). */
struct doc_params {
    char mv[16], down[24];
    const char *p[4];
};

static void
doc_params(struct api_req *req, struct doc_params *d)
{
    snprintf(d->mv, sizeof(d->mv), "%d", req->microversion);
    snprintf(d->down, sizeof(d->down), "%ld", req->srv->cfg.service_down_time);
    d->p[0] = req->srv->cfg.public_url;
    d->p[1] = compute_is_admin(req) ? "t" : "f";
    d->p[2] = d->mv;
    d->p[3] = d->down;
}

/* Render the live server @id ({"server": ...}) for the caller. */
static int
reply_server(struct api_req *req, PGconn *conn, const char *id, struct err *err)
{
    struct doc_params d;
    doc_params(req, &d);
    const char *p[] = {d.p[0], d.p[1], d.p[2], d.p[3], id, req->ctx.project_id};
    PGresult *res = db_exec(conn,
                            "SELECT " SERVER_DETAIL_DOC SERVER_FROM
                            "WHERE i.id = $5::uuid AND i.deleted_at IS NULL "
                            "AND ($2 = 't' OR i.project_id = $6)",
                            6, p, err);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return err_set(err, ERR_NOT_FOUND, "Instance %s could not be found.", id);
    }
    reply_docs(req, 200, "{\"server\":", res, "}");
    PQclear(res);
    return 0;
}

json_t *
compute_server_get(struct api_req *req, PGconn *conn, const char *id, struct err *err)
{
    if (!id || !id_is_uuid(id)) {
        err_set(err, ERR_NOT_FOUND, "Instance %.64s could not be found.", id ? id : "");
        return NULL;
    }
    char down[24];
    snprintf(down, sizeof(down), "%ld", req->srv->cfg.service_down_time);
    const char *p[] = {down, id, req->ctx.project_id, compute_is_admin(req) ? "t" : "f"};
    return db_compute_one(conn, "Instance", id,
                          "SELECT " SERVER_COLS " FROM instance i WHERE i.id = $2::uuid AND "
                          "i.deleted_at IS NULL AND ($4 = 't' OR i.project_id = $3)",
                          4, p, err);
}

/* ---- list ---- */

/* A comma-separated tag filter ("red,green") as a JSON array text, NULL for
 * none. */
static char *
tag_list(const char *v)
{
    if (!v)
        return NULL;
    json_t *a = json_array();
    char *copy = xstrdup(v), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(a, json_string(t));
    free(copy);
    char *txt = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return txt;
}

static int
list_servers(struct api_req *req, struct err *err)
{
    bool detail = req->match.route->arg != 0;
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req,
                          detail ? "os_compute_api:servers:detail" : "os_compute_api:servers:index",
                          err) < 0)
        return -1;
    long long limit;
    int all_tenants;
    if (compute_query_int(req, "limit", 1000, 1000, &limit, err) < 0 ||
        compute_query_bool(req, "all_tenants", &all_tenants, err) < 0)
        return -1;
    if (api_req_query(req, "all_tenants") && all_tenants < 0)
        all_tenants = 1;
    const char *name = api_req_query(req, "name");
    const char *status = api_req_query(req, "status");
    const char *image = api_req_query(req, "image");
    const char *flavor = api_req_query(req, "flavor");
    const char *since = api_req_query(req, "changes-since");
    const char *marker = api_req_query(req, "marker");
    const char *host = api_req_query(req, "host");
    const char *project = api_req_query(req, "project_id");
    if (!project)
        project = api_req_query(req, "tenant_id");
    const char *vm_state = NULL;
    if (status) {
        vm_state = vm_state_of_status(status);
        if (!vm_state)
            return err_set(err, ERR_INVALID, "Invalid status value");
    }
    bool admin = compute_is_admin(req);
    if (!admin || all_tenants != 1) {
        project = req->ctx.project_id;
        host = admin ? host : NULL;
    }
    if (since && strlen(since) > 64)
        return err_set(err, ERR_INVALID, "Invalid input for query parameter changes-since.");
    if (marker && !id_is_uuid(marker))
        return err_set(err, ERR_INVALID, "marker [%.64s] not found", marker);
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    if (since) {
        const char *sp[] = {since};
        PGresult *r = db_exec(conn, "SELECT $1::timestamptz", 1, sp, err);
        if (!r)
            return err_set(err, ERR_INVALID, "Invalid input for query parameter changes-since.");
        PQclear(r);
    }
    if (marker) {
        const char *mp[] = {marker};
        json_t *m = db_query_json(conn, "SELECT 1 FROM instance WHERE id = $1::uuid", 1, mp, err);
        if (!m)
            return -1;
        bool found = json_array_size(m) > 0;
        json_decref(m);
        if (!found)
            return err_set(err, ERR_INVALID, "marker [%s] not found", marker);
    }
    if (name) {
        /* Nova's name filter is a regular expression: a bad one is the
         * caller's mistake (400), not the query's (500) */
        const char *np[] = {name};
        struct err rerr = ERR_INIT;
        PGresult *r = db_exec(conn, "SELECT '' ~ $1", 1, np, &rerr);
        if (!r)
            return err_set(err, rerr.code == ERR_INTERNAL ? ERR_INVALID : rerr.code,
                           "Invalid input for query parameter name: %.64s is not a valid "
                           "regular expression.",
                           name);
        PQclear(r);
    }
    char lim[24];
    snprintf(lim, sizeof(lim), "%lld", limit);
    struct doc_params d;
    doc_params(req, &d);
    /* 2.26: tags (all of), tags-any, not-tags (not all of), not-tags-any */
    char *tf[4] = {NULL, NULL, NULL, NULL};
    static const char *const tag_filters[] = {"tags", "tags-any", "not-tags", "not-tags-any"};
    for (size_t t = 0; t < ARRAY_SIZE(tag_filters) && req->microversion >= COMPUTE_MV(2, 26); t++)
        tf[t] = tag_list(api_req_query(req, tag_filters[t]));
    const char *p[] = {d.p[0], d.p[1], d.p[2], d.p[3], project, name,  vm_state, image, flavor,
                       since,  marker, lim,    host,   tf[0],   tf[1], tf[2],    tf[3]};
#define SERVER_LIST_WHERE                                                                          \
    SERVER_FROM "WHERE ($5::text IS NULL OR i.project_id = $5) "                                   \
                "AND $1::text IS NOT NULL AND $2::bool IS NOT NULL AND $3::int IS NOT NULL "       \
                "AND $4::int IS NOT NULL /* the summary does not use them: give them types */ "    \
                "AND ($10::timestamptz IS NOT NULL OR i.deleted_at IS NULL) "                      \
                "AND ($10::timestamptz IS NULL OR i.updated_at >= $10::timestamptz) "              \
                "AND ($6::text IS NULL OR i.name ~ $6) "                                           \
                "AND ($7::text IS NULL OR i.vm_state = $7) "                                       \
                "AND ($8::text IS NULL OR i.image_id = $8) "                                       \
                "AND ($9::text IS NULL OR i.flavor_id = $9) "                                      \
                "AND ($13::text IS NULL OR i.host = $13) "                                         \
                "AND ($14::json IS NULL OR "                                                       \
                "     i.tags @> ARRAY(SELECT json_array_elements_text($14))) "                     \
                "AND ($15::json IS NULL OR "                                                       \
                "     i.tags && ARRAY(SELECT json_array_elements_text($15))) "                     \
                "AND ($16::json IS NULL OR "                                                       \
                "     NOT i.tags @> ARRAY(SELECT json_array_elements_text($16))) "                 \
                "AND ($17::json IS NULL OR "                                                       \
                "     NOT i.tags && ARRAY(SELECT json_array_elements_text($17))) "                 \
                "AND ($11::uuid IS NULL OR (i.created_at, i.id) < "                                \
                "     (SELECT created_at, id FROM instance WHERE id = $11::uuid)) "                \
                "ORDER BY i.created_at DESC, i.id DESC LIMIT $12::int"
    PGresult *res = db_exec(conn,
                            detail ? "SELECT " SERVER_DETAIL_DOC ", i.id::text" SERVER_LIST_WHERE
                                   : "SELECT " SERVER_SUMMARY_DOC ", i.id::text" SERVER_LIST_WHERE,
                            17, p, err);
#undef SERVER_LIST_WHERE
    for (size_t t = 0; t < ARRAY_SIZE(tf); t++)
        free(tf[t]);
    if (!res)
        return -1;
    int rows = PQntuples(res);
    char *suffix;
    if (api_req_query(req, "limit") && limit > 0 && rows == limit) {
        char *href = api_req_url(req, COMPUTE_V21 "/servers%s?limit=%lld&marker=%s",
                                 detail ? "/detail" : "", limit, PQgetvalue(res, rows - 1, 2));
        json_t *links = json_pack("[{s:s,s:s}]", "rel", "next", "href", href);
        char *ltxt = json_dumps(links, JSON_COMPACT);
        suffix = xasprintf("],\"servers_links\":%s}", ltxt);
        free(ltxt);
        json_decref(links);
        free(href);
    } else {
        suffix = xstrdup("]}");
    }
    reply_docs(req, 200, "{\"servers\":[", res, suffix);
    free(suffix);
    PQclear(res);
    return 0;
}

static int
show_server(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:servers:show", err) < 0)
        return -1;
    const char *id = api_req_param(req, "server_id");
    if (!id_is_uuid(id))
        return err_set(err, ERR_NOT_FOUND, "Instance %.64s could not be found.", id);
    PGconn *conn = api_req_db(req, err);
    return conn ? reply_server(req, conn, id, err) : -1;
}

/* The server's description (2.19+: a string of at most 255 printable
 * characters, or null); below 2.19 the member is not part of the API. */
static int
description_arg(struct api_req *req, const json_t *s, const char **out, struct err *err)
{
    *out = NULL;
    json_t *v = json_object_get(s, "description");
    if (!v)
        return 0;
    if (req->microversion < COMPUTE_MV(2, 19))
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute server. Additional properties are not "
                       "allowed ('description' was unexpected)");
    return compute_str(s, "description", false, 255, out, err);
}

static int
update_server(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:servers:update", err) < 0)
        return -1;
    json_t *s = compute_body(req, "server", err);
    if (!s)
        return -1;
    const char *key;
    json_t *v;
    json_object_foreach (s, key, v)
        if (strcmp(key, "name") != 0 && strcmp(key, "accessIPv4") != 0 &&
            strcmp(key, "accessIPv6") != 0 && strcmp(key, "OS-DCF:diskConfig") != 0 &&
            (strcmp(key, "description") != 0 || req->microversion < COMPUTE_MV(2, 19)))
            return err_set(err, ERR_INVALID,
                           "Invalid input for field/attribute server. Additional properties are "
                           "not allowed ('%.64s' was unexpected)",
                           key);
    const char *name, *ip4, *ip6, *description;
    if (description_arg(req, s, &description, err) < 0 ||
        compute_str(s, "name", false, 255, &name, err) < 0 ||
        compute_str(s, "accessIPv4", false, 64, &ip4, err) < 0 ||
        compute_str(s, "accessIPv6", false, 64, &ip6, err) < 0)
        return -1;
    if (name && !*name)
        return err_set(err, ERR_INVALID, "Invalid input for field/attribute name.");
    const char *id = api_req_param(req, "server_id");
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? compute_server_get(req, conn, id, err) : NULL;
    if (!row)
        return -1;
    json_decref(row);
    /* "description": null clears it (2.19) */
    const char *set_desc = json_object_get(s, "description") ? "t" : "f";
    const char *p[] = {id, name, ip4, ip6, set_desc, description};
    if (db_cmd(conn,
               "UPDATE instance SET name = coalesce($2, name), access_ipv4 = coalesce($3, "
               "access_ipv4), access_ipv6 = coalesce($4, access_ipv6), description = CASE WHEN "
               "$5 = 't' THEN $6 ELSE description END, updated_at = now() WHERE id = $1::uuid",
               6, p, err) < 0)
        return -1;
    return reply_server(req, conn, id, err);
}

/* ---- create ---- */

/* The id at the end of a reference ("<id>" or ".../images/<id>"). */
static const char *
ref_id(const char *ref)
{
    const char *slash = strrchr(ref, '/');
    return slash ? slash + 1 : ref;
}

#define IMAGE_COLS                                                                                 \
    "id::text AS id, name, status, disk_format, checksum, min_disk, min_ram, "                     \
    "properties::text AS properties"
/* The image API's visibility rule (db/image.h), members once accepted. */
#define IMAGE_VISIBLE                                                                              \
    "deleted_at IS NULL AND " DB_IMAGE_VISIBLE_SQL("image", "$3", "$2::boolean", "'accepted'")

static json_t *
image_get(struct api_req *req, PGconn *conn, const char *id, struct err *err)
{
    if (!id_is_uuid(id)) {
        err_set(err, ERR_INVALID, "Image %.64s could not be found.", id);
        return NULL;
    }
    const char *p[] = {id, compute_is_admin(req) ? "t" : "f", req->ctx.project_id};
    json_t *row = db_compute_one(
        conn, "Image", id,
        "SELECT " IMAGE_COLS " FROM image WHERE id = $1::uuid AND " IMAGE_VISIBLE, 3, p, err);
    if (!row && err->code == ERR_NOT_FOUND)
        err->code = ERR_INVALID;
    return row;
}

/* The boot object of an image (the contract's `image`/`kernel`/`ramdisk`).
 * Its location is the image store's file (all-in-one), or with [image]
 * compute_url Glance's download URL and the caller's token, as Nova hands
 * Glance the user's context. */
static json_t *
boot_object(struct api_req *req, const json_t *img)
{
    const char *id = row_str(img, "id");
    const char *curl = req->srv->cfg.image_compute_url;
    json_t *props = json_text(row_str(img, "properties"), json_object());
    char *loc = curl[0] ? xasprintf("%s/v2/images/%s/file", curl, id)
                        : xasprintf("file://%s/%s", req->srv->cfg.image_store_dir, id);
    json_t *o = json_pack("{s:s,s:s,s:o,s:s}", "id", id, "disk_format",
                          row_str(img, "disk_format") ? row_str(img, "disk_format") : "raw",
                          "properties", props, "location", loc);
    free(loc);
    const char *token = api_req_header(req, "X-Auth-Token");
    if (curl[0] && token)
        json_object_set_new(o, "token", json_string(token));
    if (row_str(img, "checksum"))
        json_object_set(o, "checksum", json_object_get(img, "checksum"));
    return o;
}

/* Resolve a kernel_id / ramdisk_id property into its boot object: it must be
 * visible, active and of @format. */
static int
resolve_part(struct api_req *req, PGconn *conn, json_t *props, const char *key, const char *format,
             json_t *build, const char *member, struct err *err)
{
    const char *pid = json_string_value(json_object_get(props, key));
    if (!pid || !*pid)
        return 0;
    json_t *row = image_get(req, conn, pid, err);
    if (!row)
        return err_set(err, ERR_INVALID, "Image %s (the %s of the image) could not be found.", pid,
                       key);
    int rc = 0;
    if (strcmp(row_str(row, "status"), "active") != 0)
        rc = err_set(err, ERR_INVALID, "Image %s (the %s of the image) is not active.", pid, key);
    else if (!row_str(row, "disk_format") || strcmp(row_str(row, "disk_format"), format) != 0)
        rc = err_set(err, ERR_INVALID, "Image %s (the %s of the image) is not of disk_format %s.",
                     pid, key, format);
    else
        json_object_set_new(build, member, boot_object(req, row));
    json_decref(row);
    return rc;
}

static int
metadata_check(const json_t *meta, long long max_items, struct err *err)
{
    if (!json_is_object(meta))
        return err_set(err, ERR_INVALID, "Invalid input for field/attribute metadata.");
    if (max_items >= 0 && (long long)json_object_size(meta) > max_items)
        return err_set(err, ERR_FORBIDDEN, "Quota exceeded for metadata_items: the limit is %lld.",
                       max_items);
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
    return 0;
}

struct create_args {
    const char *name, *image_ref, *flavor_ref, *key_name, *user_data, *az, *group, *description;
    long long min_count, max_count;
    json_t *metadata;
    bool return_reservation_id;
};

static int
parse_create(struct api_req *req, struct create_args *a, struct err *err)
{
    memset(a, 0, sizeof(*a));
    json_t *body = api_req_json(req, err);
    json_t *s = body ? compute_body(req, "server", err) : NULL;
    if (!s || api_schema_validate(&compute_server_create_schema, s, API_SCHEMA_CREATE,
                                  compute_is_admin(req), API_ERRORS_NOVA, err) < 0)
        return -1;
    if (compute_str(s, "name", true, 255, &a->name, err) < 0 ||
        compute_str(s, "imageRef", false, 1024, &a->image_ref, err) < 0 ||
        compute_str(s, "flavorRef", true, 1024, &a->flavor_ref, err) < 0 ||
        compute_str(s, "key_name", false, 255, &a->key_name, err) < 0 ||
        compute_str(s, "user_data", false, SERVER_USER_DATA_MAX, &a->user_data, err) < 0 ||
        compute_str(s, "availability_zone", false, 255, &a->az, err) < 0 ||
        compute_int(s, "min_count", 1, 1, SERVER_MAX_COUNT, &a->min_count, err) < 0 ||
        compute_int(s, "max_count", a->min_count, 1, SERVER_MAX_COUNT, &a->max_count, err) < 0)
        return -1;
    if (!*a->name || a->name[0] == ' ' || a->name[strlen(a->name) - 1] == ' ')
        return err_set(err, ERR_INVALID, "Invalid input for field/attribute name.");
    if (description_arg(req, s, &a->description, err) < 0)
        return -1;
    if (a->max_count < a->min_count)
        return err_set(err, ERR_INVALID, "min_count must be <= max_count");
    if (json_object_get(s, "block_device_mapping_v2") || json_object_get(s, "block_device_mapping"))
        return err_set(err, ERR_INVALID,
                       "Block device mapping is not supported; boot from an "
                       "image.");
    if (!a->image_ref || !*a->image_ref)
        return err_set(err, ERR_INVALID, "Missing imageRef attribute");
    json_t *rr = json_object_get(s, "return_reservation_id");
    a->return_reservation_id =
        json_is_true(rr) || (json_is_string(rr) && strcasecmp(json_string_value(rr), "true") == 0);
    if (a->user_data) {
        size_t n = strlen(a->user_data);
        unsigned char *tmp = xmalloc(n + 4);
        int dn =
            n % 4 == 0 ? EVP_DecodeBlock(tmp, (const unsigned char *)a->user_data, (int)n) : -1;
        free(tmp);
        if (dn < 0)
            return err_set(err, ERR_INVALID,
                           "Invalid input for field/attribute user_data: it is "
                           "not valid base64.");
    }
    json_t *nets = json_object_get(s, "networks");
    if (nets && !json_is_array(nets) && !json_is_string(nets))
        return err_set(err, ERR_INVALID, "Invalid input for field/attribute networks.");
    a->metadata = json_object_get(s, "metadata");
    json_t *hints = json_object_get(body, "os:scheduler_hints");
    if (!hints)
        hints = json_object_get(body, "OS-SCH-HNT:scheduler_hints");
    if (hints) {
        if (!json_is_object(hints))
            return err_set(err, ERR_INVALID, "Invalid input for field/attribute scheduler_hints.");
        json_t *g = json_object_get(hints, "group");
        if (g && (!json_is_string(g) || !id_is_uuid(json_string_value(g))))
            return err_set(err, ERR_INVALID,
                           "Invalid input for field/attribute group: it is not "
                           "a UUID.");
        a->group = g ? json_string_value(g) : NULL;
    }
    return 0;
}

/* Mark an instance ERROR with @msg (a build that could not be handed on). */
static void
server_fail(PGconn *conn, const char *id, const char *msg)
{
    struct err e = ERR_INIT;
    json_t *fault = json_pack("{s:i,s:s}", "code", 500, "message", msg);
    char *ftxt = json_dumps(fault, JSON_COMPACT);
    json_decref(fault);
    const char *p[] = {id, ftxt};
    if (db_cmd(conn,
               "UPDATE instance SET vm_state = 'error', task_state = NULL, fault = $2::jsonb || "
               "jsonb_build_object('created', " COMPUTE_TS_SQL(
                   "now()") "), updated_at = now() "
                            "WHERE id = $1::uuid AND vm_state = 'building' AND host IS NULL",
               2, p, &e) < 0)
        log_error("instance %s: could not record its failure: %s", id, e.msg);
    free(ftxt);
}

static int
create_server(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:servers:create", err) < 0)
        return -1;
    const char *project = compute_project(req, err);
    struct create_args a;
    if (!project || parse_create(req, &a, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    /* flavor */
    const char *fid = ref_id(a.flavor_ref);
    const char *fp[] = {req->ctx.project_id, compute_is_admin(req) ? "t" : "f", fid};
    json_t *flavor = db_compute_one(
        conn, "Flavor", fid,
        "SELECT f.id, f.memory_mb, f.vcpus, f.root_gb, f.ephemeral_gb, f.swap_mb, f.disabled FROM "
        "flavor f WHERE f.id = $3 AND ($2 = 't' OR f.is_public OR EXISTS (SELECT 1 FROM "
        "flavor_project fp WHERE fp.flavor_id = f.id AND fp.project_id = $1))",
        3, fp, err);
    json_t *image = NULL, *build = NULL, *key = NULL, *ids = json_array();
    char *reservation = NULL;
    int rc = -1;
    if (!flavor) {
        if (err->code == ERR_NOT_FOUND)
            err_set(err, ERR_INVALID, "Flavor %.64s could not be found.", fid);
        goto cleanup;
    }
    if (json_is_true(json_object_get(flavor, "disabled"))) {
        err_set(err, ERR_INVALID, "Flavor %s is disabled.", fid);
        goto cleanup;
    }
    /* image */
    const char *iid = ref_id(a.image_ref);
    image = image_get(req, conn, iid, err);
    if (!image)
        goto cleanup;
    if (strcmp(row_str(image, "status"), "active") != 0) {
        err_set(err, ERR_INVALID, "Image %s is not active.", iid);
        goto cleanup;
    }
    const char *dfmt = row_str(image, "disk_format");
    if (dfmt && strcmp(dfmt, "ari") == 0) {
        err_set(err, ERR_INVALID, "Image %s is a ramdisk (ari) and cannot be booted.", iid);
        goto cleanup;
    }
    json_int_t fram = json_integer_value(json_object_get(flavor, "memory_mb"));
    json_int_t fdisk = json_integer_value(json_object_get(flavor, "root_gb"));
    json_int_t fvcpus = json_integer_value(json_object_get(flavor, "vcpus"));
    if (fram < json_integer_value(json_object_get(image, "min_ram"))) {
        err_set(err, ERR_INVALID, "Flavor's memory is too small for requested image.");
        goto cleanup;
    }
    if (fdisk && fdisk < json_integer_value(json_object_get(image, "min_disk"))) {
        err_set(err, ERR_INVALID, "Flavor's disk is too small for requested image.");
        goto cleanup;
    }
    build = json_object();
    json_object_set_new(build, "image", boot_object(req, image));
    json_t *props = json_object_get(json_object_get(build, "image"), "properties");
    if (resolve_part(req, conn, props, "kernel_id", "aki", build, "kernel", err) < 0 ||
        resolve_part(req, conn, props, "ramdisk_id", "ari", build, "ramdisk", err) < 0)
        goto cleanup;
    const char *vm_mode = json_string_value(json_object_get(props, "vm_mode"));
    if (vm_mode && strcmp(vm_mode, "xen") != 0 && strcmp(vm_mode, "hvm") != 0 &&
        strcmp(vm_mode, "exe") != 0) {
        err_set(err, ERR_INVALID, "Image %s has an unknown vm_mode %.32s.", iid, vm_mode);
        goto cleanup;
    }
    /* OS-EXT-SRV-ATTR:kernel_id / ramdisk_id (2.3) */
    const char *kernel_id =
        json_string_value(json_object_get(json_object_get(build, "kernel"), "id"));
    const char *ramdisk_id =
        json_string_value(json_object_get(json_object_get(build, "ramdisk"), "id"));
    if (!kernel_id)
        kernel_id = "";
    if (!ramdisk_id)
        ramdisk_id = "";
    if (!vm_mode)
        vm_mode =
            (dfmt && strcmp(dfmt, "aki") == 0) || json_object_get(build, "kernel") ? "xen" : "hvm";
    /* key pair */
    if (a.key_name) {
        const char *kp[] = {req->ctx.user_id, a.key_name};
        key = db_compute_one(conn, "Keypair", a.key_name,
                             "SELECT public_key FROM keypair WHERE user_id = $1 AND name = $2", 2,
                             kp, err);
        if (!key) {
            if (err->code == ERR_NOT_FOUND)
                err_set(err, ERR_INVALID, "Invalid key_name provided.");
            goto cleanup;
        }
    }
    if (a.az) {
        const char *zp[] = {a.az};
        json_t *z = db_query_json(
            conn, "SELECT 1 FROM compute_node WHERE availability_zone = $1 LIMIT 1", 1, zp, err);
        if (!z)
            goto cleanup;
        bool known = json_array_size(z) > 0;
        json_decref(z);
        if (!known) {
            err_set(err, ERR_INVALID, "The requested availability zone is not available");
            goto cleanup;
        }
    }
    /* quota and insert, one transaction under the project's lock */
    if (db_begin(conn, err) < 0)
        goto cleanup;
    long long lim_i, lim_c, lim_r, lim_m;
    if (db_compute_lock_project(conn, project, err) < 0 ||
        compute_quota_limit(req, conn, project, COMPUTE_QUOTA_INSTANCES, &lim_i, err) < 0 ||
        compute_quota_limit(req, conn, project, COMPUTE_QUOTA_CORES, &lim_c, err) < 0 ||
        compute_quota_limit(req, conn, project, COMPUTE_QUOTA_RAM, &lim_r, err) < 0 ||
        compute_quota_limit(req, conn, project, COMPUTE_QUOTA_METADATA_ITEMS, &lim_m, err) < 0)
        goto rollback;
    if (a.metadata && metadata_check(a.metadata, lim_m, err) < 0)
        goto rollback;
    if (a.group) {
        const char *gp[] = {a.group, project, compute_is_admin(req) ? "t" : "f"};
        json_t *g = db_compute_one(conn, "Server group", a.group,
                                   "SELECT id FROM server_group WHERE id = $1::uuid AND ($3 = 't' "
                                   "OR project_id = $2) FOR UPDATE",
                                   3, gp, err);
        if (!g) {
            if (err->code == ERR_NOT_FOUND)
                err->code = ERR_INVALID;
            goto rollback;
        }
        json_decref(g);
        long long lim_g;
        if (compute_quota_limit(req, conn, project, COMPUTE_QUOTA_SERVER_GROUP_MEMBERS, &lim_g,
                                err) < 0)
            goto rollback;
        const char *mp[] = {a.group};
        json_t *members = db_compute_one(conn, "Server group", a.group,
                                         "SELECT count(*) AS n FROM instance WHERE "
                                         "server_group_id = $1::uuid AND deleted_at IS NULL",
                                         1, mp, err);
        if (!members)
            goto rollback;
        long long nm = json_integer_value(json_object_get(members, "n"));
        json_decref(members);
        if (lim_g >= 0 && nm + a.min_count > lim_g) {
            err_set(err, ERR_FORBIDDEN, "Quota exceeded, too many servers in group");
            goto rollback;
        }
        if (lim_g >= 0 && nm + a.max_count > lim_g)
            a.max_count = lim_g - nm;
    }
    const char *up[] = {project};
    json_t *used = db_compute_one(
        conn, "Project", project,
        "SELECT count(*) AS n, coalesce(sum(vcpus), 0)::bigint AS c, coalesce(sum(memory_mb), "
        "0)::bigint AS r FROM instance WHERE project_id = $1 AND deleted_at IS NULL",
        1, up, err);
    if (!used)
        goto rollback;
    long long un = json_integer_value(json_object_get(used, "n"));
    long long uc = json_integer_value(json_object_get(used, "c"));
    long long ur = json_integer_value(json_object_get(used, "r"));
    json_decref(used);
    long long count = a.max_count;
    const char *over = NULL;
    long long over_used = 0, over_lim = 0, over_each = 0;
    for (; count >= a.min_count; count--) {
        over = NULL;
        if (lim_i >= 0 && un + count > lim_i) {
            over = "instances", over_used = un, over_lim = lim_i, over_each = 1;
        } else if (lim_c >= 0 && uc + count * fvcpus > lim_c) {
            over = "cores", over_used = uc, over_lim = lim_c, over_each = fvcpus;
        } else if (lim_r >= 0 && ur + count * fram > lim_r) {
            over = "ram", over_used = ur, over_lim = lim_r, over_each = fram;
        }
        if (!over)
            break;
    }
    if (over) {
        err_set(err, ERR_FORBIDDEN,
                "Quota exceeded for %s: Requested %lld, but already used %lld of %lld %s", over,
                a.min_count * over_each, over_used, over_lim, over);
        goto rollback;
    }
    char res_id[ID_HEX_LEN + 3];
    char hex[ID_HEX_LEN + 1];
    id_hex(hex);
    snprintf(res_id, sizeof(res_id), "r-%.8s", hex);
    reservation = xstrdup(res_id);
    char *meta_txt = json_dumps(a.metadata ? a.metadata : json_object(), JSON_COMPACT);
    if (!a.metadata) {
        free(meta_txt);
        meta_txt = xstrdup("{}");
    }
    for (long long n = 0; n < count; n++) {
        char id[ID_UUID_LEN + 1], idx[24];
        id_uuid(id);
        snprintf(idx, sizeof(idx), "%lld", n);
        char *name = count > 1 ? xasprintf("%s-%lld", a.name, n + 1) : xstrdup(a.name);
        const char *ip[] = {
            id,          name,         project,    req->ctx.user_id,
            iid,         fid,          a.key_name, key ? row_str(key, "public_key") : NULL,
            a.user_data, meta_txt,     a.az,       vm_mode,
            a.group,     res_id,       idx,        kernel_id,
            ramdisk_id,  a.description};
        int irc = db_cmd(
            conn,
            "INSERT INTO instance (id, name, project_id, user_id, image_id, flavor_id, vcpus, "
            "memory_mb, root_gb, ephemeral_gb, swap_mb, key_name, key_data, user_data, metadata, "
            "availability_zone, vm_mode, vm_state, task_state, server_group_id, reservation_id, "
            "launch_index, kernel_id, ramdisk_id, description, hostname) SELECT $1::uuid, $2, $3, "
            "$4, $5, f.id, f.vcpus, f.memory_mb, f.root_gb, f.ephemeral_gb, f.swap_mb, $7, $8, "
            "$9, $10::jsonb, $11, $12, 'building', 'scheduling', $13::uuid, $14, $15::int, $16, "
            "$17, $18, nova_hostname($2) FROM flavor f WHERE f.id = $6",
            18, ip, err);
        free(name);
        if (irc < 0) {
            free(meta_txt);
            goto rollback;
        }
        json_array_append_new(ids, json_string(id));
    }
    free(meta_txt);
    if (db_commit(conn, err) < 0)
        goto cleanup;
    /* hand each to the scheduler; a failed cast puts that instance in ERROR */
    size_t i;
    json_t *jid;
    json_array_foreach (ids, i, jid) {
        const char *id = json_string_value(jid);
        json_t *args = json_deep_copy(build);
        json_object_set_new(args, "instance_id", json_string(id));
        struct err cerr = ERR_INIT;
        if (compute_cast(req, BUS_TOPIC_SCHEDULER, "build_instance", args, &cerr) < 0) {
            log_error("instance %s: %s", id, cerr.msg);
            server_fail(conn, id,
                        "The scheduler could not be reached; the build was not "
                        "started.");
        }
        json_decref(args);
    }
    const char *first = json_string_value(json_array_get(ids, 0));
    char *loc = api_req_url(req, COMPUTE_V21 "/servers/%s", first);
    api_reply_header(req, "Location", loc);
    free(loc);
    if (a.return_reservation_id) {
        api_reply_json(req, 202, json_pack("{s:s}", "reservation_id", reservation));
    } else {
        unsigned char raw[9];
        char pass[13];
        RAND_bytes(raw, sizeof(raw));
        EVP_EncodeBlock((unsigned char *)pass, raw, sizeof(raw));
        for (char *c = pass; *c; c++)
            if (*c == '+' || *c == '/')
                *c = 'x';
        api_reply_json(req, 202,
                       json_pack("{s:{s:s,s:o,s:s,s:[{s:s}],s:s}}", "server", "id", first, "links",
                                 compute_links(req, "servers/%s", first), "OS-DCF:diskConfig",
                                 "MANUAL", "security_groups", "name", "default", "adminPass",
                                 pass));
    }
    rc = 0;
    goto cleanup;
rollback:
    db_rollback(conn);
cleanup:
    free(reservation);
    json_decref(ids);
    json_decref(key);
    json_decref(build);
    json_decref(image);
    json_decref(flavor);
    return rc;
}

/* ---- delete ---- */

static int
delete_server(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:servers:delete", err) < 0)
        return -1;
    const char *id = api_req_param(req, "server_id");
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? compute_server_get(req, conn, id, err) : NULL;
    if (!row)
        return -1;
    const char *host = row_str(row, "host");
    char *host_copy = host ? xstrdup(host) : NULL;
    bool host_up = json_is_true(json_object_get(row, "host_up"));
    json_decref(row);
    int rc = -1;
    const char *p[] = {id};
    if (db_begin(conn, err) < 0)
        goto out;
    /* Lock the row; the scheduler's claim takes the same lock, so either it
     * claimed first (we see the host) or it will find the instance deleted. */
    json_t *locked = db_compute_one(conn, "Instance", id,
                                    "SELECT host FROM instance WHERE id = $1::uuid AND deleted_at "
                                    "IS NULL FOR UPDATE",
                                    1, p, err);
    if (!locked)
        goto rollback;
    free(host_copy);
    host_copy = row_str(locked, "host") ? xstrdup(row_str(locked, "host")) : NULL;
    json_decref(locked);
    if (!host_copy || !host_up) {
        /* Never scheduled, or its host is down: delete here ("local delete",
         * as Nova does). A down host's agent learns of it from the cast below
         * when it comes back, or from its heartbeat's instance list. */
        if (db_claim_release(conn, id, NULL, NULL, err) < 0 ||
            db_cmd(conn,
                   "UPDATE instance SET vm_state = 'deleted', task_state = NULL, power_state = 0, "
                   "deleted_at = now(), terminated_at = now(), updated_at = now() WHERE id = "
                   "$1::uuid",
                   1, p, err) < 0 ||
            db_commit(conn, err) < 0)
            goto rollback;
        if (host_copy) {
            char topic[BUS_TOPIC_MAX + 1];
            struct err cerr = ERR_INIT;
            json_t *args = json_pack("{s:s}", "instance_id", id);
            if (bus_topic_compute(host_copy, topic, sizeof(topic), &cerr) < 0 ||
                compute_cast(req, topic, "delete_instance", args, &cerr) < 0)
                log_warn("instance %s: deleted locally; %s", id, cerr.msg);
            json_decref(args);
        }
    } else {
        if (db_cmd(conn,
                   "UPDATE instance SET task_state = 'deleting', updated_at = now() WHERE id = "
                   "$1::uuid",
                   1, p, err) < 0 ||
            db_commit(conn, err) < 0)
            goto rollback;
        char topic[BUS_TOPIC_MAX + 1];
        json_t *args = json_pack("{s:s}", "instance_id", id);
        int crc = bus_topic_compute(host_copy, topic, sizeof(topic), err) < 0
                      ? -1
                      : compute_cast(req, topic, "delete_instance", args, err);
        json_decref(args);
        if (crc < 0) {
            struct err e2 = ERR_INIT;
            db_cmd(conn,
                   "UPDATE instance SET task_state = NULL WHERE id = $1::uuid AND task_state "
                   "= 'deleting'",
                   1, p, &e2);
            goto out;
        }
    }
    api_reply_empty(req, 204);
    rc = 0;
    goto out;
rollback:
    db_rollback(conn);
out:
    free(host_copy);
    return rc;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = COMPUTE_V21 "/servers", .handler = list_servers, .arg = 0},
    {.method = "GET", .pattern = COMPUTE_V21 "/servers/detail", .handler = list_servers, .arg = 1},
    {.method = "POST", .pattern = COMPUTE_V21 "/servers", .handler = create_server},
    {.method = "GET", .pattern = COMPUTE_V21 "/servers/{server_id}", .handler = show_server},
    {.method = "PUT", .pattern = COMPUTE_V21 "/servers/{server_id}", .handler = update_server},
    {.method = "DELETE", .pattern = COMPUTE_V21 "/servers/{server_id}", .handler = delete_server},
};

const struct api_route_table compute_servers_routes = {
    .name = "compute_servers",
    .prefix = COMPUTE_V21 "/servers",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
