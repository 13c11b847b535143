/* /v3/users: CRUD (list, show and create on the engine), password change, and
 * a user's projects. Listing users is an admin's (Keystone's default); a
 * user reads itself. Disabling, deleting or re-passwording a user
 * revokes their tokens. */
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "identity.h"
#include "keystone.h"
#include "mem.h"
#include "policy.h"
#include "resource.h"
#include "server.h"

/* default_project_id must name an existing project. */
static int
check_project(PGconn *conn, const char *project_id, struct err *err)
{
    if (!project_id)
        return 0;
    json_t *p = id_is_safe(project_id) ? db_project_get(conn, project_id, err) : NULL;
    if (!p) {
        if (err->code == ERR_UNAVAILABLE || err->code == ERR_INTERNAL)
            return -1;
        return err_set(err, ERR_INVALID, "Invalid input: default project %s does not exist.",
                       id_is_safe(project_id) ? project_id : "(invalid)");
    }
    json_decref(p);
    return 0;
}

static const struct api_field user_fields[] = {
    API_FIELD_DEF("name", API_FIELD_STRING,
                  API_FIELD_REQUIRED | API_FIELD_NONEMPTY | API_FIELD_FILTER | API_FIELD_SORT,
                  .min = 1, .max = KEYSTONE_NAME_MAX),
    API_FIELD_DEF("password", API_FIELD_STRING, API_FIELD_NULLABLE | API_FIELD_HIDDEN,
                  .max = KEYSTONE_PASSWORD_MAX),
    API_FIELD_DEF("domain_id", API_FIELD_STRING,
                  API_FIELD_NULLABLE | API_FIELD_CREATE_ONLY | API_FIELD_FILTER, .min = 1,
                  .max = 64),
    API_FIELD_DEF("default_project_id", API_FIELD_STRING, API_FIELD_NULLABLE, .min = 1, .max = 64),
    API_FIELD_DEF("description", API_FIELD_STRING, API_FIELD_NULLABLE,
                  .max = KEYSTONE_DESCRIPTION_MAX),
    API_FIELD_DEF("email", API_FIELD_STRING, API_FIELD_NULLABLE, .max = KEYSTONE_NAME_MAX),
    API_FIELD_DEF("enabled", API_FIELD_BOOLEAN, API_FIELD_FILTER),
};

static const struct api_schema user_schema = {
    .name = "user",
    .fields = user_fields,
    .nfields = ARRAY_SIZE(user_fields),
    .additional = true, /* Keystone keeps unknown members as extras */
};

/* The domain (default: "default") and the default project must exist; the
 * password is stored as its hash only. */
static int
user_prepare(struct api_req *req, const json_t *obj, struct api_values *vals, enum api_schema_op op,
             struct err *err)
{
    (void)obj;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    if (op == API_SCHEMA_CREATE) {
        if (!api_values_get(vals, "domain_id"))
            api_values_set(vals, "domain_id", KEYSTONE_DEFAULT_DOMAIN);
        const char *domain_id = api_values_get(vals, "domain_id");
        json_t *dom = db_domain_get(conn, domain_id, err);
        if (!dom)
            return err_set(err, ERR_INVALID, "Invalid input: domain %.64s does not exist.",
                           domain_id);
        json_decref(dom);
    }
    if (check_project(conn, api_values_get(vals, "default_project_id"), err) < 0)
        return -1;
    const char *password = api_values_get(vals, "password");
    if (password) {
        _cleanup_free_ char *hash = crypto_password_hash(password, CRYPTO_PBKDF2_ITERATIONS);
        api_values_set(vals, "password_hash", hash);
    }
    api_values_drop(vals, "password");
    return 0;
}

static void
user_conflict(struct api_req *req, const struct api_values *vals, struct err *err)
{
    (void)req;
    err_set(err, ERR_CONFLICT,
            "Conflict occurred attempting to store user - Duplicate entry found with name %s at "
            "domain ID %s.",
            api_values_get(vals, "name"), api_values_get(vals, "domain_id"));
}

static json_t *
user_render(struct api_req *req, const json_t *row, enum api_view view)
{
    (void)view;
    return keystone_user_json(req, row);
}

/* list, show and create are the engine's; update, delete and the password
 * change revoke tokens and are handlers below. A user reads itself
 * (identity:get_user is the user's own or an admin's). */
static const struct api_resource user_resource = {
    .singular = "user",
    .plural = "users",
    .noun = "user",
    .id_param = "user_id",
    .path = "/v3/users",
    .schema = &user_schema,
    .table = "identity_user u",
    .select = "u.id, u.name, u.domain_id, u.password_hash, u.enabled, u.default_project_id, "
              "u.description, u.email",
    .user_column = "id",
    .hex_id = true,
    .default_sort = "name",
    .paging = API_PAGING_NONE,
    .list_action = "identity:list_users",
    .show_action = "identity:get_user",
    .create_action = "identity:create_user",
    .prepare = user_prepare,
    .conflict = user_conflict,
    .render = user_render,
};

static int
update_user(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "user_id");
    if (policy_check(&req->ctx, "identity:update_user", NULL, err) < 0 ||
        keystone_check_id(id, "user", err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    json_t *u = body ? api_schema_unwrap(&user_schema, body, API_ERRORS_KEYSTONE, err) : NULL;
    if (!u || api_schema_validate(&user_schema, u, API_SCHEMA_UPDATE, req->ctx.is_admin,
                                  API_ERRORS_KEYSTONE, err) < 0)
        return -1;
    const char *name = json_string_value(json_object_get(u, "name"));
    const char *password = json_string_value(json_object_get(u, "password"));
    const char *default_project_id = json_string_value(json_object_get(u, "default_project_id"));
    const char *description = json_string_value(json_object_get(u, "description"));
    const char *email = json_string_value(json_object_get(u, "email"));
    json_t *jenabled = json_object_get(u, "enabled");
    int enabled = jenabled ? json_is_true(jenabled) : -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn || check_project(conn, default_project_id, err) < 0)
        return -1;
    _cleanup_free_ char *hash =
        password ? crypto_password_hash(password, CRYPTO_PBKDF2_ITERATIONS) : NULL;
    /* the change and its revocation event commit together (an error rolls back) */
    if (db_begin(conn, err) < 0)
        return -1;
    if (db_user_update(conn, id, name, hash, enabled, default_project_id, description, email, err) <
        0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT,
                    "Conflict occurred attempting to store user - Duplicate entry found with "
                    "name %s.",
                    name ? name : "");
        return -1;
    }
    if ((enabled == 0 || hash) && revoke_add(req->srv, conn, NULL, id, NULL, err) < 0)
        return -1;
    if (db_commit(conn, err) < 0)
        return -1;
    json_t *row = db_user_get(conn, id, err);
    if (!row)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "user", keystone_user_json(req, row)));
    json_decref(row);
    return 0;
}

static int
delete_user(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "user_id");
    if (policy_check(&req->ctx, "identity:delete_user", NULL, err) < 0 ||
        keystone_check_id(id, "user", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn || db_begin(conn, err) < 0 || db_user_delete(conn, id, err) < 0 ||
        revoke_add(req->srv, conn, NULL, id, NULL, err) < 0 || db_commit(conn, err) < 0)
        return -1;
    role_cache_clear(req->srv->roles);
    api_reply_empty(req, 204);
    return 0;
}

static const struct api_field password_fields[] = {
    API_FIELD_DEF("password", API_FIELD_STRING, API_FIELD_REQUIRED, .max = KEYSTONE_PASSWORD_MAX),
    API_FIELD_DEF("original_password", API_FIELD_STRING, API_FIELD_REQUIRED,
                  .max = KEYSTONE_PASSWORD_MAX),
};

static const struct api_schema password_schema = {
    .name = "user",
    .fields = password_fields,
    .nfields = ARRAY_SIZE(password_fields),
    .additional = true,
};

/* POST /v3/users/{id}/password {"user":{"password","original_password"}} */
static int
change_password(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "user_id");
    if (keystone_check_id(id, "user", err) < 0)
        return -1;
    struct policy_target target = {.user_id = id};
    if (policy_check(&req->ctx, "identity:change_password", &target, err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    json_t *u = body ? api_schema_unwrap(&password_schema, body, API_ERRORS_KEYSTONE, err) : NULL;
    if (!u || api_schema_validate(&password_schema, u, API_SCHEMA_CREATE, req->ctx.is_admin,
                                  API_ERRORS_KEYSTONE, err) < 0)
        return -1;
    const char *password = json_string_value(json_object_get(u, "password"));
    const char *original = json_string_value(json_object_get(u, "original_password"));
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? db_user_get(conn, id, err) : NULL;
    if (!row)
        return -1;
    const char *stored = json_string_value(json_object_get(row, "password_hash"));
    bool ok = stored && crypto_password_verify(original, stored);
    json_decref(row);
    if (!ok)
        return err_set(err, ERR_UNAUTHORIZED,
                       "The request you have made requires authentication: the original "
                       "password is wrong.");
    _cleanup_free_ char *hash = crypto_password_hash(password, CRYPTO_PBKDF2_ITERATIONS);
    if (db_begin(conn, err) < 0 ||
        db_user_update(conn, id, NULL, hash, -1, NULL, NULL, NULL, err) < 0 ||
        revoke_add(req->srv, conn, NULL, id, NULL, err) < 0 || db_commit(conn, err) < 0)
        return -1;
    api_reply_empty(req, 204);
    return 0;
}

static int
list_user_projects(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "user_id");
    if (keystone_check_id(id, "user", err) < 0)
        return -1;
    struct policy_target target = {.user_id = id};
    if (policy_check(&req->ctx, "identity:list_user_projects", &target, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *user = conn ? db_user_get(conn, id, err) : NULL;
    if (!user)
        return -1;
    json_decref(user);
    json_t *rows = db_project_list_for_user(conn, id, err);
    if (!rows)
        return -1;
    char *coll = xasprintf("users/%s/projects", id);
    keystone_reply_list(req, "projects", rows, keystone_project_json, coll);
    free(coll);
    return 0;
}

static const struct api_route routes[] = {
    API_RESOURCE_LIST(&user_resource, "/v3/users", API_VIEW_DETAIL),
    API_RESOURCE_CREATE(&user_resource, "/v3/users"),
    API_RESOURCE_SHOW(&user_resource, "/v3/users/{user_id}"),
    {.method = "PATCH", .pattern = "/v3/users/{user_id}", .handler = update_user},
    {.method = "DELETE", .pattern = "/v3/users/{user_id}", .handler = delete_user},
    {.method = "POST", .pattern = "/v3/users/{user_id}/password", .handler = change_password},
    {.method = "GET", .pattern = "/v3/users/{user_id}/projects", .handler = list_user_projects},
};

const struct api_route_table identity_users_routes = {
    "identity_users", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
