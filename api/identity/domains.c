/* /v3/domains: read-only; the one domain is "default" ("Default"). */
#include "identity.h"
#include "keystone.h"
#include "mem.h"
#include "policy.h"

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

static const struct api_route routes[] = {
    {"GET", "/v3/domains", list_domains, 0, 0, 0},
    {"GET", "/v3/domains/{domain_id}", get_domain, 0, 0, 0},
};

const struct api_route_table identity_domains_routes = {
    "identity_domains", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
