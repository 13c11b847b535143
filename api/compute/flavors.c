/* /compute/v2.1/flavors, a resource of the engine (core/resource.h): list
 * (summary and detail, with is_public, minRam, minDisk, sort_key/sort_dir,
 * limit and marker), show, create and delete (admins); and the os-extra_specs
 * sub-resource, a map with handlers of its own. Non-admins see public flavors
 * and the private ones shared with their project. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "id.h"
#include "mem.h"
#include "resource.h"

#define FLAVOR_COLS                                                                                \
    "f.id, f.name, f.memory_mb, f.vcpus, f.root_gb, f.ephemeral_gb, f.swap_mb, "                   \
    "f.rxtx_factor::text AS rxtx, f.is_public, f.disabled"

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

/* Nova's flavor id: ^(?! )[a-zA-Z0-9. _-]+(?<! )$ (no edge blanks) */
#define FLAVOR_INT (API_FIELD_INT_STRING | API_FIELD_SORT)
#define FLAVOR_ID_PATTERN "^[a-zA-Z0-9._-]([a-zA-Z0-9. _-]*[a-zA-Z0-9._-])?$"

static const struct api_field flavor_fields[] = {
    API_FIELD_DEF("id", API_FIELD_STRING,
                  API_FIELD_NULLABLE | API_FIELD_CREATE_ONLY | API_FIELD_SORT, .min = 1, .max = 255,
                  .pattern = FLAVOR_ID_PATTERN),
    API_FIELD_DEF("name", API_FIELD_STRING,
                  API_FIELD_REQUIRED | API_FIELD_NONEMPTY | API_FIELD_NO_EDGE_BLANKS |
                      API_FIELD_SORT,
                  .min = 1, .max = 255),
    API_FIELD_DEF("ram", API_FIELD_INTEGER, FLAVOR_INT | API_FIELD_REQUIRED, .min = 1,
                  .max = 1LL << 30, .column = "memory_mb"),
    API_FIELD_DEF("vcpus", API_FIELD_INTEGER, FLAVOR_INT | API_FIELD_REQUIRED, .min = 1,
                  .max = 1LL << 20),
    API_FIELD_DEF("disk", API_FIELD_INTEGER, FLAVOR_INT | API_FIELD_REQUIRED, .min = 0,
                  .max = 1LL << 30, .column = "root_gb"),
    API_FIELD_DEF("swap", API_FIELD_INTEGER, FLAVOR_INT | API_FIELD_NULLABLE, .min = 0,
                  .max = 1LL << 30, .column = "swap_mb"),
    API_FIELD_DEF("OS-FLV-EXT-DATA:ephemeral", API_FIELD_INTEGER, FLAVOR_INT | API_FIELD_NULLABLE,
                  .min = 0, .max = 1LL << 30, .column = "ephemeral_gb"),
    API_FIELD_DEF("rxtx_factor", API_FIELD_NUMBER, API_FIELD_NULLABLE),
    API_FIELD_DEF("os-flavor-access:is_public", API_FIELD_BOOLEAN, API_FIELD_NULLABLE,
                  .column = "is_public"),
};

static const struct api_schema flavor_schema = {
    .name = "flavor",
    .fields = flavor_fields,
    .nfields = ARRAY_SIZE(flavor_fields),
};

/* Non-admins see public flavors and the private ones shared with their project. */
static int
flavor_scope(struct api_req *req, struct db_sql *where, struct err *err)
{
    (void)err;
    if (!compute_is_admin(req))
        db_sql_add1(where,
                    " AND (f.is_public OR EXISTS (SELECT 1 FROM flavor_project fp"
                    " WHERE fp.flavor_id = f.id AND fp.project_id = $?))",
                    req->ctx.project_id);
    return 0;
}

/* ?minRam, ?minDisk, and ?is_public: true by default, "None" for all
 * (admins); non-admins always get public + shared, or only shared for false. */
static int
flavor_filter(struct api_req *req, struct db_sql *where, struct err *err)
{
    long long min_ram, min_disk;
    int is_public = 1;
    if (compute_query_int(req, "minRam", 0, 1LL << 40, &min_ram, err) < 0 ||
        compute_query_int(req, "minDisk", 0, 1LL << 40, &min_disk, err) < 0 ||
        (api_req_query(req, "is_public") &&
         compute_query_bool(req, "is_public", &is_public, err) < 0))
        return -1;
    if (!compute_is_admin(req) && is_public != 0)
        is_public = -1;
    char ram[24], disk[24];
    snprintf(ram, sizeof(ram), "%lld", min_ram);
    snprintf(disk, sizeof(disk), "%lld", min_disk);
    const char *v[] = {ram, disk};
    db_sql_addv(where, " AND f.memory_mb >= $?::bigint AND f.root_gb >= $?::bigint", 2, v);
    if (is_public >= 0)
        db_sql_add1(where, " AND f.is_public = $?::boolean", is_public ? "t" : "f");
    return 0;
}

static void
flavor_conflict(struct api_req *req, const struct api_values *vals, struct err *err)
{
    (void)req;
    err_set(err, ERR_CONFLICT, "Flavor with name %s or ID %s already exists.",
            api_values_get(vals, "name"), api_values_get(vals, "id"));
}

static json_t *
flavor_render(struct api_req *req, const json_t *row, enum api_view view)
{
    return flavor_json(req, row, view == API_VIEW_DETAIL);
}

static const struct api_resource flavor_resource = {
    .singular = "flavor",
    .plural = "flavors",
    .noun = "Flavor",
    .id_param = "flavor_id",
    .path = COMPUTE_V21 "/flavors",
    .schema = &flavor_schema,
    .table = "flavor f",
    .select = FLAVOR_COLS,
    .id_field = "id",
    .max_limit = 1000,
    .paging = API_PAGING_NOVA,
    .list_action = "project:read",
    .show_action = "project:read",
    .create_action = "os_compute_api:os-flavor-manage:create",
    .delete_action = "os_compute_api:os-flavor-manage:delete",
    .create_status = 200,
    .delete_status = 202,
    .begin = compute_begin,
    .scope = flavor_scope,
    .filter = flavor_filter,
    .conflict = flavor_conflict,
    .render = flavor_render,
};

/* The flavor @id as the caller may see it, or 404. */
static json_t *
flavor_get(struct api_req *req, PGconn *conn, const char *id, struct err *err)
{
    return api_resource_get(req, &flavor_resource, conn, id, err);
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
    API_RESOURCE_LIST(&flavor_resource, COMPUTE_V21 "/flavors", API_VIEW_SUMMARY),
    API_RESOURCE_LIST(&flavor_resource, COMPUTE_V21 "/flavors/detail", API_VIEW_DETAIL),
    API_RESOURCE_CREATE(&flavor_resource, COMPUTE_V21 "/flavors"),
    API_RESOURCE_SHOW(&flavor_resource, COMPUTE_V21 "/flavors/{flavor_id}"),
    API_RESOURCE_DELETE(&flavor_resource, COMPUTE_V21 "/flavors/{flavor_id}"),
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
