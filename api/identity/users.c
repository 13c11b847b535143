/* /v3/users: CRUD, password change, and a user's projects. Admins see every
 * user; others see themselves. Disabling, deleting or re-passwording a user
 * revokes their tokens. */
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "identity.h"
#include "keystone.h"
#include "mem.h"
#include "policy.h"
#include "server.h"

static int
list_users(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:list_users", NULL, err) < 0)
        return -1;
    int enabled;
    if (keystone_query_bool(req, "enabled", &enabled, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    json_t *rows = db_user_list(conn, api_req_query(req, "name"), api_req_query(req, "domain_id"),
                                enabled, err);
    if (!rows)
        return -1;
    bool all = policy_allows(&req->ctx, "identity:list_users", NULL);
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        if (all || strcmp(json_string_value(json_object_get(row, "id")), req->ctx.user_id) == 0)
            json_array_append_new(list, keystone_user_json(req, row));
    }
    json_decref(rows);
    api_reply_json(
        req, 200,
        json_pack("{s:o,s:o}", "users", list, "links", keystone_list_links(req, "users")));
    return 0;
}

static int
get_user(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "user_id");
    if (keystone_check_id(id, "user", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? db_user_get(conn, id, err) : NULL;
    if (!row)
        return -1;
    struct policy_target target = {.user_id = id};
    if (policy_check(&req->ctx, "identity:get_user", &target, err) < 0) {
        json_decref(row);
        return -1;
    }
    api_reply_json(req, 200, json_pack("{s:o}", "user", keystone_user_json(req, row)));
    json_decref(row);
    return 0;
}

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

static int
create_user(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:create_user", NULL, err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    json_t *u = body ? keystone_body_object(body, "user", err) : NULL;
    if (!u)
        return -1;
    const char *name, *password, *domain_id, *default_project_id, *description, *email;
    int enabled;
    if (keystone_str(u, "name", true, true, KEYSTONE_NAME_MAX, &name, err) < 0 ||
        keystone_str(u, "password", false, false, KEYSTONE_PASSWORD_MAX, &password, err) < 0 ||
        keystone_str(u, "domain_id", false, true, 64, &domain_id, err) < 0 ||
        keystone_str(u, "default_project_id", false, true, 64, &default_project_id, err) < 0 ||
        keystone_str(u, "description", false, false, KEYSTONE_DESCRIPTION_MAX, &description, err) <
            0 ||
        keystone_str(u, "email", false, false, KEYSTONE_NAME_MAX, &email, err) < 0 ||
        keystone_bool(u, "enabled", &enabled, err) < 0)
        return -1;
    if (!domain_id)
        domain_id = KEYSTONE_DEFAULT_DOMAIN;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    json_t *dom = id_is_safe(domain_id) ? db_domain_get(conn, domain_id, err) : NULL;
    if (!dom)
        return err_set(err, ERR_INVALID, "Invalid input: domain %s does not exist.",
                       id_is_safe(domain_id) ? domain_id : "(invalid)");
    json_decref(dom);
    if (check_project(conn, default_project_id, err) < 0)
        return -1;
    char id[ID_HEX_LEN + 1];
    id_hex(id);
    _cleanup_free_ char *hash =
        password ? crypto_password_hash(password, CRYPTO_PBKDF2_ITERATIONS) : NULL;
    if (db_user_create(conn, id, name, domain_id, hash, enabled != 0, default_project_id,
                       description, email, err) < 0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT,
                    "Conflict occurred attempting to store user - Duplicate entry found with "
                    "name %s at domain ID %s.",
                    name, domain_id);
        return -1;
    }
    json_t *row = db_user_get(conn, id, err);
    if (!row)
        return -1;
    api_reply_json(req, 201, json_pack("{s:o}", "user", keystone_user_json(req, row)));
    json_decref(row);
    return 0;
}

static int
update_user(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "user_id");
    if (policy_check(&req->ctx, "identity:update_user", NULL, err) < 0 ||
        keystone_check_id(id, "user", err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    json_t *u = body ? keystone_body_object(body, "user", err) : NULL;
    if (!u)
        return -1;
    const char *name, *password, *default_project_id, *description, *email;
    int enabled;
    if (keystone_str(u, "name", false, true, KEYSTONE_NAME_MAX, &name, err) < 0 ||
        keystone_str(u, "password", false, false, KEYSTONE_PASSWORD_MAX, &password, err) < 0 ||
        keystone_str(u, "default_project_id", false, true, 64, &default_project_id, err) < 0 ||
        keystone_str(u, "description", false, false, KEYSTONE_DESCRIPTION_MAX, &description, err) <
            0 ||
        keystone_str(u, "email", false, false, KEYSTONE_NAME_MAX, &email, err) < 0 ||
        keystone_bool(u, "enabled", &enabled, err) < 0)
        return -1;
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
    json_t *u = body ? keystone_body_object(body, "user", err) : NULL;
    if (!u)
        return -1;
    const char *password, *original;
    if (keystone_str(u, "password", true, false, KEYSTONE_PASSWORD_MAX, &password, err) < 0 ||
        keystone_str(u, "original_password", true, false, KEYSTONE_PASSWORD_MAX, &original, err) <
            0)
        return -1;
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
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row)
        json_array_append_new(list, keystone_project_json(req, row));
    json_decref(rows);
    char *coll = xasprintf("users/%s/projects", id);
    api_reply_json(
        req, 200,
        json_pack("{s:o,s:o}", "projects", list, "links", keystone_list_links(req, coll)));
    free(coll);
    return 0;
}

static const struct api_route routes[] = {
    {"GET", "/v3/users", list_users, 0, 0, 0},
    {"POST", "/v3/users", create_user, 0, 0, 0},
    {"GET", "/v3/users/{user_id}", get_user, 0, 0, 0},
    {"PATCH", "/v3/users/{user_id}", update_user, 0, 0, 0},
    {"DELETE", "/v3/users/{user_id}", delete_user, 0, 0, 0},
    {"POST", "/v3/users/{user_id}/password", change_password, 0, 0, 0},
    {"GET", "/v3/users/{user_id}/projects", list_user_projects, 0, 0, 0},
};

const struct api_route_table identity_users_routes = {
    "identity_users", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
