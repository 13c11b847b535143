/* /compute/v2.1/flavors: list (summary and detail, with is_public, minRam,
 * minDisk, limit and marker), show, create and delete (admins), and the
 * os-extra_specs sub-resource. Non-admins see public flavors and the private
 * ones shared with their project. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "id.h"
#include "mem.h"

#define FLAVOR_COLS                                                                                \
    "f.id, f.name, f.memory_mb, f.vcpus, f.root_gb, f.ephemeral_gb, f.swap_mb, "                   \
    "f.rxtx_factor::text AS rxtx, f.is_public, f.disabled"
/* $1: the caller's project, $2: 't' for an admin (sees everything) */
#define FLAVOR_VISIBLE                                                                             \
    "($2 = 't' OR f.is_public OR EXISTS (SELECT 1 FROM flavor_project fp WHERE fp.flavor_id = "    \
    "f.id AND fp.project_id = $1))"

static json_t *
flavor_json(struct api_req *req, const json_t *row, bool detail)
{
    const char *id = json_string_value(json_object_get(row, "id"));
    json_t *f = json_pack("{s:s,s:O,s:o}", "id", id, "name", json_object_get(row, "name"), "links",
                          compute_links(req, "flavors/%s", id));
    if (!detail)
        return f;
    json_int_t swap = json_integer_value(json_object_get(row, "swap_mb"));
    json_object_set(f, "ram", json_object_get(row, "memory_mb"));
    json_object_set(f, "vcpus", json_object_get(row, "vcpus"));
    json_object_set(f, "disk", json_object_get(row, "root_gb"));
    json_object_set(f, "OS-FLV-EXT-DATA:ephemeral", json_object_get(row, "ephemeral_gb"));
    /* Nova renders no swap as "" before 2.75 */
    json_object_set_new(f, "swap", swap ? json_integer(swap) : json_string(""));
    json_object_set_new(f, "rxtx_factor",
                        json_real(strtod(json_string_value(json_object_get(row, "rxtx")), NULL)));
    json_object_set(f, "os-flavor-access:is_public", json_object_get(row, "is_public"));
    json_object_set(f, "OS-FLV-DISABLED:disabled", json_object_get(row, "disabled"));
    return f;
}

/* The flavor @id as the caller may see it, or 404. */
static json_t *
flavor_get(struct api_req *req, PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {req->ctx.project_id, compute_is_admin(req) ? "t" : "f", id};
    return db_compute_one(
        conn, "Flavor", id,
        "SELECT " FLAVOR_COLS " FROM flavor f WHERE f.id = $3 AND " FLAVOR_VISIBLE, 3, p, err);
}

static int
list_flavors(struct api_req *req, struct err *err)
{
    bool detail = req->match.route->arg != 0;
    if (compute_begin(req, err) < 0)
        return -1;
    int is_public;
    long long min_ram, min_disk, limit;
    const char *v = api_req_query(req, "is_public");
    if (compute_query_int(req, "minRam", 0, 1LL << 40, &min_ram, err) < 0 ||
        compute_query_int(req, "minDisk", 0, 1LL << 40, &min_disk, err) < 0 ||
        compute_query_int(req, "limit", 1000, 1000, &limit, err) < 0)
        return -1;
    /* Nova: is_public defaults to true; "None" means all (admins), an
     * unparsable value is 400. Non-admins always get public + shared. */
    if (!v) {
        is_public = 1;
    } else if (compute_query_bool(req, "is_public", &is_public, err) < 0) {
        return -1;
    }
    const char *marker = api_req_query(req, "marker");
    const char *sort_dir = api_req_query(req, "sort_dir");
    bool desc = sort_dir && strcmp(sort_dir, "desc") == 0;
    if (sort_dir && !desc && strcmp(sort_dir, "asc") != 0)
        return err_set(err, ERR_INVALID, "Invalid input for query parameter sort_dir.");
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    bool admin = compute_is_admin(req);
    char pub[4], ram[24], disk[24], lim[24];
    snprintf(pub, sizeof(pub), "%d", admin ? is_public : (is_public == 0 ? 0 : -1));
    snprintf(ram, sizeof(ram), "%lld", min_ram);
    snprintf(disk, sizeof(disk), "%lld", min_disk);
    snprintf(lim, sizeof(lim), "%lld", limit);
    if (marker) {
        json_t *m = flavor_get(req, conn, marker, err);
        if (!m) {
            if (err->code == ERR_NOT_FOUND)
                err_set(err, ERR_INVALID, "marker [%.64s] not found", marker);
            return -1;
        }
        json_decref(m);
    }
    const char *p[] = {req->ctx.project_id, admin ? "t" : "f", pub, ram, disk, marker, lim};
    json_t *rows = db_query_json(
        conn,
        desc ? "SELECT " FLAVOR_COLS " FROM flavor f WHERE " FLAVOR_VISIBLE
               " AND ($3 = '-1' OR f.is_public = ($3 = '1')) AND f.memory_mb >= $4::bigint"
               " AND f.root_gb >= $5::bigint AND ($6::text IS NULL OR f.id < $6)"
               " ORDER BY f.id DESC LIMIT $7::int"
             : "SELECT " FLAVOR_COLS " FROM flavor f WHERE " FLAVOR_VISIBLE
               " AND ($3 = '-1' OR f.is_public = ($3 = '1')) AND f.memory_mb >= $4::bigint"
               " AND f.root_gb >= $5::bigint AND ($6::text IS NULL OR f.id > $6)"
               " ORDER BY f.id LIMIT $7::int",
        7, p, err);
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row)
        json_array_append_new(list, flavor_json(req, row, detail));
    json_t *body = json_pack("{s:o}", "flavors", list);
    if (limit > 0 && json_array_size(rows) == (size_t)limit && api_req_query(req, "limit")) {
        const char *last =
            json_string_value(json_object_get(json_array_get(rows, limit - 1), "id"));
        char *href = api_req_url(req, COMPUTE_V21 "/flavors%s?limit=%lld&marker=%s",
                                 detail ? "/detail" : "", limit, last);
        json_object_set_new(body, "flavors_links",
                            json_pack("[{s:s,s:s}]", "rel", "next", "href", href));
        free(href);
    }
    json_decref(rows);
    api_reply_json(req, 200, body);
    return 0;
}

static int
show_flavor(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? flavor_get(req, conn, api_req_param(req, "flavor_id"), err) : NULL;
    if (!row)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "flavor", flavor_json(req, row, true)));
    json_decref(row);
    return 0;
}

static bool
flavor_id_valid(const char *s)
{
    /* Nova: ^(?! )[a-zA-Z0-9. _-]+(?<! )$ */
    size_t n = strlen(s);
    if (n == 0 || n > 255 || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == ' ' || *p == '_' || *p == '-'))
            return false;
    return true;
}

static int
create_flavor(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-flavor-manage:create", err) < 0)
        return -1;
    json_t *f = compute_body(req, "flavor", err);
    if (!f)
        return -1;
    const char *name, *id;
    long long ram, vcpus, disk, swap, eph;
    if (compute_str(f, "name", true, 255, &name, err) < 0 ||
        compute_str(f, "id", false, 255, &id, err) < 0 ||
        compute_int(f, "ram", -1, 1, 1LL << 30, &ram, err) < 0 ||
        compute_int(f, "vcpus", -1, 1, 1LL << 20, &vcpus, err) < 0 ||
        compute_int(f, "disk", -1, 0, 1LL << 30, &disk, err) < 0 ||
        compute_int(f, "swap", 0, 0, 1LL << 30, &swap, err) < 0 ||
        compute_int(f, "OS-FLV-EXT-DATA:ephemeral", 0, 0, 1LL << 30, &eph, err) < 0)
        return -1;
    if (ram < 0 || vcpus < 0 || disk < 0)
        return err_set(err, ERR_INVALID, "Invalid input: ram, vcpus and disk are required.");
    char *trimmed = xstrdup(name);
    size_t n = strlen(trimmed);
    bool blank = true;
    for (size_t i = 0; i < n; i++)
        blank &= trimmed[i] == ' ';
    free(trimmed);
    if (blank || name[0] == ' ' || name[n - 1] == ' ')
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute name: leading or trailing spaces.");
    double rxtx = 1.0;
    json_t *jr = json_object_get(f, "rxtx_factor");
    if (jr && !json_is_null(jr)) {
        if (!json_is_number(jr) || json_number_value(jr) <= 0 || json_number_value(jr) > 3.4e38)
            return err_set(err, ERR_INVALID, "Invalid input for field/attribute rxtx_factor.");
        rxtx = json_number_value(jr);
    }
    json_t *jp = json_object_get(f, "os-flavor-access:is_public");
    if (jp && !json_is_null(jp) && !json_is_boolean(jp))
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute os-flavor-access:is_public.");
    bool is_public = !jp || json_is_null(jp) || json_is_true(jp);
    char uuid[ID_UUID_LEN + 1];
    if (!id) {
        id_uuid(uuid);
        id = uuid;
    } else if (!flavor_id_valid(id)) {
        return err_set(err, ERR_INVALID, "Invalid input for field/attribute id.");
    }
    char sram[24], svcpus[24], sdisk[24], sswap[24], seph[24], srxtx[40];
    snprintf(sram, sizeof(sram), "%lld", ram);
    snprintf(svcpus, sizeof(svcpus), "%lld", vcpus);
    snprintf(sdisk, sizeof(sdisk), "%lld", disk);
    snprintf(sswap, sizeof(sswap), "%lld", swap);
    snprintf(seph, sizeof(seph), "%lld", eph);
    snprintf(srxtx, sizeof(srxtx), "%.17g", rxtx);
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    const char *p[] = {id, name, sram, svcpus, sdisk, sswap, seph, srxtx, is_public ? "t" : "f"};
    if (db_cmd(conn,
               "INSERT INTO flavor (id, name, memory_mb, vcpus, root_gb, swap_mb, ephemeral_gb, "
               "rxtx_factor, is_public) VALUES ($1, $2, $3::int, $4::int, $5::int, $6::int, "
               "$7::int, $8::float8, $9::bool)",
               9, p, err) < 0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT, "Flavor with name %s or ID %s already exists.", name, id);
        return -1;
    }
    json_t *row = flavor_get(req, conn, id, err);
    if (!row)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "flavor", flavor_json(req, row, true)));
    json_decref(row);
    return 0;
}

static int
delete_flavor(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-flavor-manage:delete", err) < 0)
        return -1;
    const char *id = api_req_param(req, "flavor_id");
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    const char *p[] = {id};
    int n = db_compute_cmd(conn, "DELETE FROM flavor WHERE id = $1", 1, p, err);
    if (n < 0)
        return -1;
    if (n == 0)
        return err_set(err, ERR_NOT_FOUND, "Flavor %s could not be found.", id);
    api_reply_empty(req, 202);
    return 0;
}

/* ---- os-extra_specs ---- */

static json_t *
specs_of(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    json_t *rows = db_query_json(
        conn, "SELECT key, value FROM flavor_extra_spec WHERE flavor_id = $1 ORDER BY key", 1, p,
        err);
    if (!rows)
        return NULL;
    json_t *specs = json_object();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row)
        json_object_set(specs, json_string_value(json_object_get(row, "key")),
                        json_object_get(row, "value"));
    json_decref(rows);
    return specs;
}

static int
list_specs(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-flavor-extra-specs:index", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    const char *id = api_req_param(req, "flavor_id");
    json_t *row = conn ? flavor_get(req, conn, id, err) : NULL;
    if (!row)
        return -1;
    json_decref(row);
    json_t *specs = specs_of(conn, id, err);
    if (!specs)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "extra_specs", specs));
    return 0;
}

static int
spec_valid(const char *key, json_t *value, struct err *err)
{
    size_t n = strlen(key);
    if (n == 0 || n > 255)
        return err_set(err, ERR_INVALID, "Invalid input: extra spec keys are 1 to 255 characters.");
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._-: ", *p)))
            return err_set(err, ERR_INVALID, "Invalid input: extra spec key %.64s.", key);
    if (!json_is_string(value) && !json_is_number(value) && !json_is_boolean(value))
        return err_set(err, ERR_INVALID, "Invalid input: extra spec %.64s must be a string.", key);
    if (json_is_string(value) && json_string_length(value) > 255)
        return err_set(err, ERR_INVALID, "Invalid input: extra spec %.64s is too long.", key);
    return 0;
}

static char *
spec_text(json_t *value)
{
    if (json_is_string(value))
        return xstrdup(json_string_value(value));
    if (json_is_boolean(value))
        return xstrdup(json_is_true(value) ? "True" : "False");
    if (json_is_integer(value))
        return xasprintf("%lld", (long long)json_integer_value(value));
    return xasprintf("%g", json_number_value(value));
}

static int
put_specs(PGconn *conn, const char *id, json_t *specs, struct err *err)
{
    const char *key;
    json_t *value;
    json_object_foreach (specs, key, value)
        if (spec_valid(key, value, err) < 0)
            return -1;
    if (db_begin(conn, err) < 0)
        return -1;
    json_object_foreach (specs, key, value) {
        char *text = spec_text(value);
        const char *p[] = {id, key, text};
        int rc = db_cmd(conn,
                        "INSERT INTO flavor_extra_spec (flavor_id, key, value) VALUES ($1, $2, $3) "
                        "ON CONFLICT (flavor_id, key) DO UPDATE SET value = EXCLUDED.value",
                        3, p, err);
        free(text);
        if (rc < 0) {
            db_rollback(conn);
            return -1;
        }
    }
    return db_commit(conn, err);
}

static int
create_specs(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-flavor-extra-specs:create", err) < 0)
        return -1;
    json_t *specs = compute_body(req, "extra_specs", err);
    const char *id = api_req_param(req, "flavor_id");
    PGconn *conn = specs ? api_req_db(req, err) : NULL;
    json_t *row = conn ? flavor_get(req, conn, id, err) : NULL;
    if (!row)
        return -1;
    json_decref(row);
    if (put_specs(conn, id, specs, err) < 0)
        return -1;
    api_reply_json(req, 200, json_pack("{s:O}", "extra_specs", specs));
    return 0;
}

static int
show_spec(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-flavor-extra-specs:show", err) < 0)
        return -1;
    const char *id = api_req_param(req, "flavor_id"), *key = api_req_param(req, "key");
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? flavor_get(req, conn, id, err) : NULL;
    if (!row)
        return -1;
    json_decref(row);
    const char *p[] = {id, key};
    row = db_compute_one(conn, "Flavor extra spec", key,
                         "SELECT value FROM flavor_extra_spec WHERE flavor_id = $1 AND key = $2", 2,
                         p, err);
    if (!row)
        return -1;
    api_reply_json(req, 200, json_pack("{s:O}", key, json_object_get(row, "value")));
    json_decref(row);
    return 0;
}

static int
update_spec(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-flavor-extra-specs:update", err) < 0)
        return -1;
    const char *id = api_req_param(req, "flavor_id"), *key = api_req_param(req, "key");
    json_t *body = api_req_json(req, err);
    if (!body)
        return -1;
    if (json_object_size(body) != 1 || !json_object_get(body, key))
        return err_set(err, ERR_INVALID, "Request body and URI mismatch");
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? flavor_get(req, conn, id, err) : NULL;
    if (!row)
        return -1;
    json_decref(row);
    if (put_specs(conn, id, body, err) < 0)
        return -1;
    api_reply_json(req, 200, json_incref(body));
    return 0;
}

static int
delete_spec(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-flavor-extra-specs:delete", err) < 0)
        return -1;
    const char *id = api_req_param(req, "flavor_id"), *key = api_req_param(req, "key");
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    const char *p[] = {id, key};
    int n = db_compute_cmd(conn, "DELETE FROM flavor_extra_spec WHERE flavor_id = $1 AND key = $2",
                           2, p, err);
    if (n < 0)
        return -1;
    if (n == 0)
        return err_set(err, ERR_NOT_FOUND, "Flavor %s has no extra specs with key %s.", id, key);
    api_reply_empty(req, 200);
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = COMPUTE_V21 "/flavors", .handler = list_flavors, .arg = 0},
    {.method = "GET", .pattern = COMPUTE_V21 "/flavors/detail", .handler = list_flavors, .arg = 1},
    {.method = "POST", .pattern = COMPUTE_V21 "/flavors", .handler = create_flavor},
    {.method = "GET", .pattern = COMPUTE_V21 "/flavors/{flavor_id}", .handler = show_flavor},
    {.method = "DELETE", .pattern = COMPUTE_V21 "/flavors/{flavor_id}", .handler = delete_flavor},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/flavors/{flavor_id}/os-extra_specs",
     .handler = list_specs},
    {.method = "POST",
     .pattern = COMPUTE_V21 "/flavors/{flavor_id}/os-extra_specs",
     .handler = create_specs},
    {.method = "GET",
     .pattern = COMPUTE_V21 "/flavors/{flavor_id}/os-extra_specs/{key}",
     .handler = show_spec},
    {.method = "PUT",
     .pattern = COMPUTE_V21 "/flavors/{flavor_id}/os-extra_specs/{key}",
     .handler = update_spec},
    {.method = "DELETE",
     .pattern = COMPUTE_V21 "/flavors/{flavor_id}/os-extra_specs/{key}",
     .handler = delete_spec},
};

const struct api_route_table compute_flavors_routes = {
    .name = "compute_flavors",
    .prefix = COMPUTE_V21 "/flavors",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
