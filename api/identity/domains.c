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
#include "server.h"

#define DOMAIN_NAME_MAX 64

static int
list_domains(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:list_domains", NULL, err) < 0)
        return -1;
    int enabled;
    if (keystone_query_bool(req, "enabled", &enabled, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *rows = conn ? db_domain_list(conn, api_req_query(req, "name"), err) : NULL;
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        if (enabled < 0 || json_is_true(json_object_get(row, "enabled")) == (enabled == 1))
            json_array_append_new(list, keystone_domain_json(req, row));
    }
    json_decref(rows);
    api_reply_json(
        req, 200,
        json_pack("{s:o,s:o}", "domains", list, "links", keystone_list_links(req, "domains")));
    return 0;
}

static int
get_domain(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "domain_id");
    if (policy_check(&req->ctx, "identity:get_domain", NULL, err) < 0 ||
        keystone_check_id(id, "domain", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? db_domain_get(conn, id, err) : NULL;
    if (!row)
        return -1;
    api_reply_json(req, 200, json_pack("{s:o}", "domain", keystone_domain_json(req, row)));
    json_decref(row);
    return 0;
}

/* The fields of a domain body; @create requires the name. */
static int
domain_fields(struct api_req *req, bool create, const char **name, const char **description,
              int *enabled, struct err *err)
{
    json_t *body = api_req_json(req, err);
    json_t *d = body ? keystone_body_object(body, "domain", err) : NULL;
    if (!d)
        return -1;
    if (keystone_name(d, create, DOMAIN_NAME_MAX, name, err) < 0 ||
        keystone_str(d, "description", false, false, KEYSTONE_DESCRIPTION_MAX, description, err) <
            0 ||
        keystone_bool(d, "enabled", enabled, err) < 0)
        return -1;
    if (!create && json_object_get(d, "id"))
        return err_set(err, ERR_INVALID, "Invalid input for field 'id': it cannot be updated.");
    return 0;
}

static int
conflict(struct err *err, const char *name)
{
    if (err->code == ERR_CONFLICT)
        err_set(err, ERR_CONFLICT,
                "Conflict occurred attempting to store domain - Duplicate entry found with name "
                "%s.",
                name ? name : "");
    return -1;
}

static int
create_domain(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:create_domain", NULL, err) < 0)
        return -1;
    const char *name, *description;
    int enabled;
    if (domain_fields(req, true, &name, &description, &enabled, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    char id[ID_HEX_LEN + 1];
    id_hex(id);
    if (db_domain_create(conn, id, name, description, enabled != 0, err) < 0)
        return conflict(err, name);
    json_t *row = db_domain_get(conn, id, err);
    if (!row)
        return -1;
    api_reply_json(req, 201, json_pack("{s:o}", "domain", keystone_domain_json(req, row)));
    json_decref(row);
    return 0;
}

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
    const char *name, *description;
    int enabled;
    if (domain_fields(req, false, &name, &description, &enabled, err) < 0)
        return -1;
    if (enabled == 0 && strcmp(id, KEYSTONE_DEFAULT_DOMAIN) == 0)
        return err_set(err, ERR_FORBIDDEN, "The default domain cannot be disabled.");
    PGconn *conn = api_req_db(req, err);
    /* the change and its revocation events commit together */
    if (!conn || db_begin(conn, err) < 0)
        return -1;
    if (db_domain_update(conn, id, name, description, enabled, err) < 0)
        return conflict(err, name);
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
    {"GET", "/v3/domains", list_domains, 0, 0, 0},
    {"POST", "/v3/domains", create_domain, 0, 0, 0},
    {"GET", "/v3/domains/{domain_id}", get_domain, 0, 0, 0},
    {"PATCH", "/v3/domains/{domain_id}", update_domain, 0, 0, 0},
    {"DELETE", "/v3/domains/{domain_id}", delete_domain, 0, 0, 0},
};

const struct api_route_table identity_domains_routes = {
    "identity_domains", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
