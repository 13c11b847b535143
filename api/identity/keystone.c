/* Helpers shared by the identity families: input checks, resource bodies, the
 * catalog and the token body. */
#include "keystone.h"

#include <microhttpd.h>
#include <string.h>

#include "identity.h"
#include "mem.h"

/* ---- input ---- */

int
keystone_check_id(const char *id, const char *what, struct err *err)
{
    if (!id || !id_is_safe(id))
        return err_set(err, ERR_NOT_FOUND, "Could not find %s.", what);
    return 0;
}

int
keystone_query_bool(const struct api_req *req, const char *key, int *out, struct err *err)
{
    const char *v = api_req_query(req, key);
    *out = -1;
    if (!v)
        return 0;
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "") == 0)
        *out = 1;
    else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = 0;
    else
        return err_set(err, ERR_INVALID, "Invalid value for query parameter '%s'.", key);
    return 0;
}

int
keystone_query_flag(const struct api_req *req, const char *key, int *out, struct err *err)
{
    const char *v = NULL;
    size_t len = 0;
    *out = -1;
    if (!req->conn || MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, key,
                                                    strlen(key), &v, &len) != MHD_YES)
        return 0;
    if (!v || len == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = 1;
    else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = 0;
    else
        return err_set(err, ERR_INVALID, "Invalid value for query parameter '%s'.", key);
    return 0;
}

/* ---- bodies ---- */

static json_t *
self_links(const struct api_req *req, const char *collection, const char *id)
{
    char *url = api_req_url(req, "/v3/%s/%s", collection, id);
    json_t *links = json_pack("{s:s}", "self", url);
    free(url);
    return links;
}

static const char *
row_str(const json_t *row, const char *key)
{
    const char *s = json_string_value(json_object_get(row, key));
    return s ? s : "";
}

json_t *
keystone_list_links(const struct api_req *req, const char *collection)
{
    char *url = api_req_url(req, "/v3/%s", collection);
    json_t *links = json_pack("{s:s,s:n,s:n}", "self", url, "previous", "next");
    free(url);
    return links;
}

void
keystone_reply_list(struct api_req *req, const char *key, json_t *rows,
                    json_t *(*render)(const struct api_req *req, const json_t *row),
                    const char *collection)
{
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row)
        json_array_append_new(list, render(req, row));
    json_decref(rows);
    api_reply_json(
        req, 200, json_pack("{s:o,s:o}", key, list, "links", keystone_list_links(req, collection)));
}

json_t *
keystone_domain_json(const struct api_req *req, const json_t *row)
{
    const char *id = row_str(row, "id");
    return json_pack("{s:s,s:s,s:s,s:b,s:[],s:{},s:o}", "id", id, "name", row_str(row, "name"),
                     "description", row_str(row, "description"), "enabled",
                     json_is_true(json_object_get(row, "enabled")), "tags", "options", "links",
                     self_links(req, "domains", id));
}

json_t *
keystone_project_json(const struct api_req *req, const json_t *row)
{
    const char *id = row_str(row, "id");
    const char *parent = json_string_value(json_object_get(row, "parent_id"));
    json_t *tags = json_loads(row_str(row, "tags"), 0, NULL);
    if (!json_is_array(tags)) {
        json_decref(tags);
        tags = json_array();
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:b,s:o,s:{},s:o}", "id", id, "name",
                     row_str(row, "name"), "domain_id", row_str(row, "domain_id"), "description",
                     row_str(row, "description"), "enabled",
                     json_is_true(json_object_get(row, "enabled")), "parent_id",
                     parent ? parent : row_str(row, "domain_id"), "is_domain", 0, "tags", tags,
                     "options", "links", self_links(req, "projects", id));
}

int
keystone_tag_check(const char *tag, struct err *err)
{
    size_t len = strlen(tag);
    if (len == 0 || len > KEYSTONE_TAG_MAX)
        return err_set(err, ERR_INVALID,
                       "Invalid input for field 'tags': a tag must be 1 to %d characters long.",
                       KEYSTONE_TAG_MAX);
    if (strpbrk(tag, "/,"))
        return err_set(err, ERR_INVALID,
                       "Invalid input for field 'tags': a tag must not contain '/' or ','.");
    return 0;
}

char *
keystone_tags_join(const json_t *tags, struct err *err)
{
    if (!json_is_array(tags)) {
        err_set(err, ERR_INVALID, "Invalid input for field 'tags': it must be an array.");
        return NULL;
    }
    if (json_array_size(tags) > KEYSTONE_TAGS_MAX) {
        err_set(err, ERR_INVALID, "Invalid input for field 'tags': at most %d tags are allowed.",
                KEYSTONE_TAGS_MAX);
        return NULL;
    }
    size_t cap = 1, i;
    json_t *t;
    json_array_foreach (tags, i, t) {
        if (!json_is_string(t) || strlen(json_string_value(t)) != json_string_length(t)) {
            err_set(err, ERR_INVALID, "Invalid input for field 'tags': each tag must be a string.");
            return NULL;
        }
        if (keystone_tag_check(json_string_value(t), err) < 0)
            return NULL;
        cap += json_string_length(t) + 1;
    }
    char *out = xmalloc(cap);
    out[0] = '\0';
    json_array_foreach (tags, i, t) {
        if (i)
            strcat(out, ",");
        strcat(out, json_string_value(t));
    }
    return out;
}

json_t *
keystone_user_json(const struct api_req *req, const json_t *row)
{
    const char *id = row_str(row, "id");
    json_t *u = json_pack("{s:s,s:s,s:s,s:b,s:n,s:{},s:o}", "id", id, "name", row_str(row, "name"),
                          "domain_id", row_str(row, "domain_id"), "enabled",
                          json_is_true(json_object_get(row, "enabled")), "password_expires_at",
                          "options", "links", self_links(req, "users", id));
    const char *s = json_string_value(json_object_get(row, "default_project_id"));
    if (s)
        json_object_set_new(u, "default_project_id", json_string(s));
    s = json_string_value(json_object_get(row, "description"));
    if (s && *s)
        json_object_set_new(u, "description", json_string(s));
    s = json_string_value(json_object_get(row, "email"));
    if (s)
        json_object_set_new(u, "email", json_string(s));
    return u;
}

json_t *
keystone_role_json(const struct api_req *req, const json_t *row)
{
    const char *id = row_str(row, "id");
    return json_pack("{s:s,s:s,s:n,s:s,s:{},s:o}", "id", id, "name", row_str(row, "name"),
                     "domain_id", "description", row_str(row, "description"), "options", "links",
                     self_links(req, "roles", id));
}

/* ---- catalog ---- */

/* @url with every $(project_id)s / $(tenant_id)s (and the %(..)s spellings)
 * replaced by @project_id. */
static char *
catalog_url(const char *url, const char *project_id)
{
    static const char *const vars[] = {"$(project_id)s", "$(tenant_id)s", "%(project_id)s",
                                       "%(tenant_id)s"};
    char *out = xstrdup(url);
    for (size_t v = 0; v < ARRAY_SIZE(vars); v++) {
        char *hit;
        while ((hit = strstr(out, vars[v]))) {
            *hit = '\0';
            char *next = xasprintf("%s%s%s", out, project_id, hit + strlen(vars[v]));
            free(out);
            out = next;
        }
    }
    return out;
}

json_t *
keystone_catalog(PGconn *conn, const char *project_id, struct err *err)
{
    json_t *rows = db_catalog_list(conn, err);
    if (!rows)
        return NULL;
    json_t *catalog = json_array();
    json_t *service = NULL;
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *sid = row_str(row, "service_id");
        if (!service || strcmp(row_str(service, "id"), sid) != 0) {
            service = json_pack("{s:[],s:s,s:s,s:s}", "endpoints", "id", sid, "type",
                                row_str(row, "type"), "name", row_str(row, "name"));
            json_array_append_new(catalog, service);
        }
        const char *url = row_str(row, "url");
        /* a per-project URL means nothing without a project */
        if (!project_id[0] && strstr(url, "(project_id)s"))
            continue;
        char *filled = catalog_url(url, project_id);
        json_array_append_new(json_object_get(service, "endpoints"),
                              json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", row_str(row, "endpoint_id"),
                                        "interface", row_str(row, "interface"), "region_id",
                                        row_str(row, "region"), "region", row_str(row, "region"),
                                        "url", filled));
        free(filled);
    }
    json_decref(rows);
    return catalog;
}

/* ---- the token body ---- */

static json_t *
domain_ref(PGconn *conn, const char *domain_id, struct err *err)
{
    json_t *d = db_domain_get(conn, domain_id, err);
    if (!d)
        return NULL;
    if (!json_is_true(json_object_get(d, "enabled"))) {
        json_decref(d);
        err_set(err, ERR_NOT_FOUND, "The domain %s is disabled.", domain_id);
        return NULL;
    }
    json_t *ref = json_pack("{s:s,s:s}", "id", row_str(d, "id"), "name", row_str(d, "name"));
    json_decref(d);
    return ref;
}

/* The token's user part (methods, user, audit ids, times), or NULL when the
 * user is gone or disabled. */
static json_t *
token_user_part(PGconn *conn, const struct token_payload *p, struct err *err)
{
    json_t *user = db_user_get(conn, p->user_id, err), *udom = NULL, *token = NULL;
    if (user && !json_is_true(json_object_get(user, "enabled")))
        err_set(err, ERR_NOT_FOUND, "The user %s is disabled.", p->user_id);
    else if (user)
        udom = domain_ref(conn, row_str(user, "domain_id"), err);
    if (udom) {
        json_t *methods = json_array();
        if (p->methods & TOKEN_METHOD_PASSWORD)
            json_array_append_new(methods, json_string("password"));
        if (p->methods & TOKEN_METHOD_TOKEN)
            json_array_append_new(methods, json_string("token"));
        char audit[TOKEN_AUDIT_STR], parent[TOKEN_AUDIT_STR], issued[32], expires[32];
        token_audit_str(p->audit, audit);
        json_t *audit_ids = json_pack("[s]", audit);
        if (p->has_parent) {
            token_audit_str(p->parent_audit, parent);
            json_array_append_new(audit_ids, json_string(parent));
        }
        api_time_iso(p->issued_us, issued);
        api_time_iso(p->expires_us, expires);
        token = json_pack("{s:o,s:{s:O,s:s,s:s,s:n},s:o,s:s,s:s}", "methods", methods, "user",
                          "domain", udom, "id", row_str(user, "id"), "name", row_str(user, "name"),
                          "password_expires_at", "audit_ids", audit_ids, "expires_at", expires,
                          "issued_at", issued);
    }
    json_decref(udom);
    json_decref(user);
    return token;
}

/* The project scope into @token: the project, the user's roles on it (none is
 * ERR_NOT_FOUND) and, unless @nocatalog, the catalog. */
static int
token_project_part(PGconn *conn, const struct token_payload *p, bool nocatalog, json_t *token,
                   struct err *err)
{
    json_t *project = db_project_get(conn, p->project_id, err), *pdom = NULL, *roles = NULL;
    int rc = -1;
    if (!project)
        goto cleanup;
    if (!json_is_true(json_object_get(project, "enabled"))) {
        err_set(err, ERR_NOT_FOUND, "The project %s is disabled.", p->project_id);
        goto cleanup;
    }
    if (!(pdom = domain_ref(conn, row_str(project, "domain_id"), err)))
        goto cleanup;
    json_object_set_new(token, "project",
                        json_pack("{s:O,s:s,s:s}", "domain", pdom, "id", row_str(project, "id"),
                                  "name", row_str(project, "name")));
    json_object_set_new(token, "is_domain", json_false());
    if (!(roles = db_assignment_roles(conn, p->user_id, p->project_id, err)))
        goto cleanup;
    if (json_array_size(roles) == 0) {
        err_set(err, ERR_NOT_FOUND, "The user %s has no role on project %s.", p->user_id,
                p->project_id);
        goto cleanup;
    }
    json_object_set(token, "roles", roles);
    json_t *catalog = nocatalog ? NULL : keystone_catalog(conn, p->project_id, err);
    if (!nocatalog && !catalog)
        goto cleanup;
    if (catalog)
        json_object_set_new(token, "catalog", catalog);
    rc = 0;
cleanup:
    json_decref(roles);
    json_decref(pdom);
    json_decref(project);
    return rc;
}

json_t *
keystone_token_body(struct api_req *req, PGconn *conn, const struct token_payload *p,
                    bool nocatalog, struct err *err)
{
    (void)req;
    json_t *token = token_user_part(conn, p, err);
    if (!token)
        return NULL;
    if (p->project_id[0] && token_project_part(conn, p, nocatalog, token, err) < 0) {
        json_decref(token);
        return NULL;
    }
    return json_pack("{s:o}", "token", token);
}
