/* /compute/v2.1/servers: list and detail (filters, paging, all_tenants for
 * admins), show, update and delete; create is server_create.c. Documents are
 * rendered by PostgreSQL (0006_compute_render.sql) for the microversion
 * asked. */
#include <stddef.h>
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
#include "sql.h"

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

/* What a list asks for, from the query, checked and scoped. */
struct server_query {
    bool detail;
    long long limit;
    const char *project, *host, *name, *vm_state, *image, *flavor, *since, *marker;
    char *tags[4]; /* 2.26: tags, tags-any, not-tags, not-tags-any (JSON arrays) */
};

static const char *const tag_filters[] = {"tags", "tags-any", "not-tags", "not-tags-any"};

/* The query's filters; a non-admin (or an admin without all_tenants) lists
 * its own project, and only an admin filters by host. */
static int
list_args(struct api_req *req, struct server_query *q, struct err *err)
{
    int all_tenants;
    if (compute_query_int(req, "limit", 1000, 1000, &q->limit, err) < 0 ||
        compute_query_bool(req, "all_tenants", &all_tenants, err) < 0)
        return -1;
    if (api_req_query(req, "all_tenants") && all_tenants < 0)
        all_tenants = 1;
    q->name = api_req_query(req, "name");
    q->image = api_req_query(req, "image");
    q->flavor = api_req_query(req, "flavor");
    q->since = api_req_query(req, "changes-since");
    q->marker = api_req_query(req, "marker");
    q->host = api_req_query(req, "host");
    q->project = api_req_query(req, "project_id");
    if (!q->project)
        q->project = api_req_query(req, "tenant_id");
    const char *status = api_req_query(req, "status");
    if (status && !(q->vm_state = vm_state_of_status(status)))
        return err_set(err, ERR_INVALID, "Invalid status value");
    bool admin = compute_is_admin(req);
    if (!admin || all_tenants != 1) {
        q->project = req->ctx.project_id;
        q->host = admin ? q->host : NULL;
    }
    if (q->since && strlen(q->since) > 64)
        return err_set(err, ERR_INVALID, "Invalid input for query parameter changes-since.");
    if (q->marker && !id_is_uuid(q->marker))
        return err_set(err, ERR_INVALID, "marker [%.64s] not found", q->marker);
    for (size_t t = 0; t < ARRAY_SIZE(tag_filters) && req->microversion >= COMPUTE_MV(2, 26); t++)
        q->tags[t] = tag_list(api_req_query(req, tag_filters[t]));
    return 0;
}

/* What only PostgreSQL can judge: the changes-since time, the marker, and
 * the name's regular expression (Nova's name filter is one: a bad one is the
 * caller's mistake, 400, not the query's, 500). */
static int
list_check(PGconn *conn, const struct server_query *q, struct err *err)
{
    static const struct {
        const char *sql, *what;
    } checks[] = {
        {"SELECT $1::timestamptz", "Invalid input for query parameter changes-since."},
        {"SELECT 1 FROM instance WHERE id = $1::uuid", "marker not found"},
        {"SELECT '' ~ $1", "Invalid input for query parameter name: not a regular expression."},
    };
    const char *values[] = {q->since, q->marker, q->name};
    for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
        if (!values[i])
            continue;
        struct err e = ERR_INIT;
        PGresult *r = db_exec(conn, checks[i].sql, 1, &values[i], &e);
        bool found = r && PQntuples(r) > 0;
        PQclear(r);
        if (!r && e.code != ERR_INVALID && e.code != ERR_INTERNAL)
            return err_set(err, e.code, "%s", e.msg);
        if (!found)
            return i == 1 ? err_set(err, ERR_INVALID, "marker [%s] not found", q->marker)
                          : err_set(err, ERR_INVALID, "%s", checks[i].what);
    }
    return 0;
}

/* The list's statement: the documents, the filters given, newest first,
 * keyset paging after the marker. */
static void
list_sql(struct api_req *req, const struct server_query *q, struct db_sql *sql)
{
    struct doc_params d;
    doc_params(req, &d);
    db_sql_bind(sql, 4, d.p);
    db_sql_add(sql, q->detail ? "SELECT " SERVER_DETAIL_DOC : "SELECT " SERVER_SUMMARY_DOC);
    /* the summary does not use every shared parameter: give them types */
    db_sql_add(sql, ", i.id::text" SERVER_FROM "WHERE $4::int IS NOT NULL");
    if (!q->since)
        db_sql_add(sql, " AND i.deleted_at IS NULL");
    static const struct {
        const char *cond;
        size_t offset;
    } conds[] = {
        {" AND i.project_id = $?", offsetof(struct server_query, project)},
        {" AND i.updated_at >= $?::timestamptz", offsetof(struct server_query, since)},
        {" AND i.name ~ $?", offsetof(struct server_query, name)},
        {" AND i.vm_state = $?", offsetof(struct server_query, vm_state)},
        {" AND i.image_id = $?", offsetof(struct server_query, image)},
        {" AND i.flavor_id = $?", offsetof(struct server_query, flavor)},
        {" AND i.host = $?", offsetof(struct server_query, host)},
        {" AND (i.created_at, i.id) < (SELECT created_at, id FROM instance WHERE id = $?::uuid)",
         offsetof(struct server_query, marker)},
    };
    for (size_t i = 0; i < ARRAY_SIZE(conds); i++) {
        const char *v = *(const char *const *)((const char *)q + conds[i].offset);
        if (v)
            db_sql_add1(sql, conds[i].cond, v);
    }
    static const char *const tag_conds[] = {
        " AND i.tags @> ARRAY(SELECT json_array_elements_text($?::json))",
        " AND i.tags && ARRAY(SELECT json_array_elements_text($?::json))",
        " AND NOT i.tags @> ARRAY(SELECT json_array_elements_text($?::json))",
        " AND NOT i.tags && ARRAY(SELECT json_array_elements_text($?::json))",
    };
    for (size_t t = 0; t < ARRAY_SIZE(tag_conds); t++)
        if (q->tags[t])
            db_sql_add1(sql, tag_conds[t], q->tags[t]);
    char lim[24];
    snprintf(lim, sizeof(lim), "%lld", q->limit);
    db_sql_add1(sql, " ORDER BY i.created_at DESC, i.id DESC LIMIT $?::int", lim);
}

/* The documents as PostgreSQL rendered them, with a next link when a full
 * page was asked for with limit. */
static void
reply_list(struct api_req *req, const struct server_query *q, const PGresult *res)
{
    int rows = PQntuples(res);
    char *suffix;
    if (api_req_query(req, "limit") && q->limit > 0 && rows == q->limit) {
        char *href =
            api_req_url(req, COMPUTE_V21 "/servers%s?limit=%lld&marker=%s",
                        q->detail ? "/detail" : "", q->limit, PQgetvalue(res, rows - 1, 2));
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
}

static int
list_servers(struct api_req *req, struct err *err)
{
    struct server_query q = {.detail = req->match.route->arg != 0};
    if (compute_begin(req, err) < 0 || compute_authorize(req,
                                                         q.detail ? "os_compute_api:servers:detail"
                                                                  : "os_compute_api:servers:index",
                                                         err) < 0)
        return -1;
    struct db_sql sql;
    db_sql_init(&sql);
    PGconn *conn = NULL;
    PGresult *res = NULL;
    if (list_args(req, &q, err) == 0 && (conn = api_req_db(req, err)) &&
        list_check(conn, &q, err) == 0) {
        list_sql(req, &q, &sql);
        res = db_sql_exec(conn, &sql, err);
    }
    db_sql_free(&sql);
    for (size_t t = 0; t < ARRAY_SIZE(q.tags); t++)
        free(q.tags[t]);
    if (!res)
        return -1;
    reply_list(req, &q, res);
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
int
compute_server_description(struct api_req *req, const json_t *s, const char **out, struct err *err)
{
    json_t *v = json_object_get(s, "description");
    *out = json_string_value(v);
    if (v && req->microversion < COMPUTE_MV(2, 19))
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute server. Additional properties are not "
                       "allowed ('description' was unexpected)");
    return 0;
}

static int
update_server(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:servers:update", err) < 0)
        return -1;
    json_t *s = compute_body(req, "server", err);
    const char *description;
    if (!s ||
        api_schema_validate(&compute_server_update_schema, s, API_SCHEMA_UPDATE,
                            compute_is_admin(req), API_ERRORS_NOVA, err) < 0 ||
        compute_server_description(req, s, &description, err) < 0)
        return -1;
    const char *name = json_string_value(json_object_get(s, "name"));
    const char *ip4 = json_string_value(json_object_get(s, "accessIPv4"));
    const char *ip6 = json_string_value(json_object_get(s, "accessIPv6"));
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
    {.method = "POST", .pattern = COMPUTE_V21 "/servers", .handler = compute_server_create},
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
