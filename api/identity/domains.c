/* /v3/domains: CRUD. "default" ("Default") is made by bootstrap and cannot be
 * disabled or deleted (the bootstrap admin lives there). Disabling a domain
 * revokes the tokens of its users and projects; only a disabled domain can be
 * deleted, and its projects and users go with it (Keystone's rules). */
#include <string.h>

#include "db.h"
#include "identity.h"
#include "keystone.h"
#include "mem.h"
#include "policy.h"
#include "resource.h"
#include "server.h"

#define DOMAIN_NAME_MAX 64

static const struct api_field domain_fields[] = {
    API_FIELD_DEF("id", API_FIELD_STRING, API_FIELD_READ_ONLY),
    API_FIELD_DEF("name", API_FIELD_STRING,
                  API_FIELD_REQUIRED | API_FIELD_NONEMPTY | API_FIELD_FILTER | API_FIELD_SORT,
                  .min = 1, .max = DOMAIN_NAME_MAX),
    API_FIELD_DEF("description", API_FIELD_STRING, API_FIELD_NULLABLE,
                  .max = KEYSTONE_DESCRIPTION_MAX),
    API_FIELD_DEF("enabled", API_FIELD_BOOLEAN, API_FIELD_FILTER),
};

static const struct api_schema domain_schema = {
    .name = "domain",
    .fields = domain_fields,
    .nfields = ARRAY_SIZE(domain_fields),
    .additional = true, /* Keystone keeps unknown members as extras */
};

static void
domain_conflict(struct api_req *req, const struct api_values *vals, struct err *err)
{
    (void)req;
    const char *name = api_values_get(vals, "name");
    err_set(err, ERR_CONFLICT,
            "Conflict occurred attempting to store domain - Duplicate entry found with name %s.",
            name ? name : "");
}

static json_t *
domain_render(struct api_req *req, const json_t *row, enum api_view view)
{
    (void)view;
    return keystone_domain_json(req, row);
}

/* list, show and create are the engine's; update and delete (revocations,
 * the default domain's protection) are handlers below. */
static const struct api_resource domain_resource = {
    .singular = "domain",
    .plural = "domains",
    .noun = "domain",
    .id_param = "domain_id",
    .path = "/v3/domains",
    .schema = &domain_schema,
    .table = "domain",
    .select = "id, name, description, enabled",
    .hex_id = true,
    .default_sort = "name",
    .paging = API_PAGING_NONE,
    .list_action = "identity:list_domains",
    .show_action = "identity:get_domain",
    .create_action = "identity:create_domain",
    .conflict = domain_conflict,
    .render = domain_render,
};

/* A revocation event for every user and project of domain @id. */
static int
revoke_domain(struct api_req *req, PGconn *conn, const char *id, struct err *err)
{
    static const char *const kinds[] = {"user", "project"};
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
        json_t *rows = db_domain_members(conn, id, kinds[k], err);
        if (!rows)
            return -1;
        size_t i;
        json_t *row;
        json_array_foreach (rows, i, row) {
            const char *mid = json_string_value(json_object_get(row, "id"));
            bool user = k == 0;
            if (revoke_add(req->srv, conn, NULL, user ? mid : NULL, user ? NULL : mid, err) < 0) {
                json_decref(rows);
                return -1;
            }
        }
        json_decref(rows);
    }
    return 0;
}

static int
update_domain(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "domain_id");
    if (policy_check(&req->ctx, "identity:update_domain", NULL, err) < 0 ||
        keystone_check_id(id, "domain", err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    json_t *d = body ? api_schema_unwrap(&domain_schema, body, API_ERRORS_KEYSTONE, err) : NULL;
    if (!d || api_schema_validate(&domain_schema, d, API_SCHEMA_UPDATE, req->ctx.is_admin,
                                  API_ERRORS_KEYSTONE, err) < 0)
        return -1;
    const char *name = json_string_value(json_object_get(d, "name"));
    const char *description = json_string_value(json_object_get(d, "description"));
    json_t *jenabled = json_object_get(d, "enabled");
    int enabled = jenabled ? json_is_true(jenabled) : -1;
    if (enabled == 0 && strcmp(id, KEYSTONE_DEFAULT_DOMAIN) == 0)
        return err_set(err, ERR_FORBIDDEN, "The default domain cannot be disabled.");
    PGconn *conn = api_req_db(req, err);
    /* the change and its revocation events commit together */
    if (!conn || db_begin(conn, err) < 0)
        return -1;
    if (db_domain_update(conn, id, name, description, enabled, err) < 0) {
        if (err->code == ERR_CONFLICT) {
            struct api_values v = {0};
            api_values_set(&v, "name", name);
            domain_conflict(req, &v, err);
            api_values_drop(&v, "name");
        }
        return -1;
    }
    if ((enabled == 0 && revoke_domain(req, conn, id, err) < 0) || db_commit(conn, err) < 0)
        return -1;
    json_t *row = db_domain_get(conn, id, err);
    if (!row)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "domain", keystone_domain_json(req, row)));
    json_decref(row);
    return 0;
}

static int
delete_domain(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "domain_id");
    if (policy_check(&req->ctx, "identity:delete_domain", NULL, err) < 0 ||
        keystone_check_id(id, "domain", err) < 0)
        return -1;
    if (strcmp(id, KEYSTONE_DEFAULT_DOMAIN) == 0)
        return err_set(err, ERR_FORBIDDEN, "The default domain cannot be deleted.");
    PGconn *conn = api_req_db(req, err);
    if (!conn || db_begin(conn, err) < 0)
        return -1;
    json_t *row = db_domain_get(conn, id, err);
    if (!row)
        return -1;
    bool enabled = json_is_true(json_object_get(row, "enabled"));
    json_decref(row);
    if (enabled)
        return err_set(err, ERR_FORBIDDEN,
                       "Cannot delete a domain that is enabled, please disable it first.");
    /* its tokens were revoked when it was disabled; revoke again for any
     * event pruned since */
    if (revoke_domain(req, conn, id, err) < 0 || db_domain_delete(conn, id, err) < 0 ||
        db_commit(conn, err) < 0)
        return -1;
    role_cache_clear(req->srv->roles);
    api_reply_empty(req, 204);
    return 0;
}

static const struct api_route routes[] = {
    API_RESOURCE_LIST(&domain_resource, "/v3/domains", API_VIEW_DETAIL),
    API_RESOURCE_CREATE(&domain_resource, "/v3/domains"),
    API_RESOURCE_SHOW(&domain_resource, "/v3/domains/{domain_id}"),
    {.method = "PATCH", .pattern = "/v3/domains/{domain_id}", .handler = update_domain},
    {.method = "DELETE", .pattern = "/v3/domains/{domain_id}", .handler = delete_domain},
};

const struct api_route_table identity_domains_routes = {
    "identity_domains", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
