/* /v3/projects: CRUD, the hierarchy (parent_id; a top-level project's parent
 * is its domain) and tags (/v3/projects/{id}/tags). Admins see every project;
 * others see only the project their token is scoped to. Disabling or deleting
 * a project revokes its tokens; a project with children cannot be deleted. */
#include <string.h>

#include "db.h"
#include "identity.h"
#include "keystone.h"
#include "mem.h"
#include "policy.h"
#include "schema.h"
#include "server.h"

#define PROJECT_NAME_MAX 64
/* Keystone's max_project_tree_depth: projects below a domain, top level = 1 */
#define PROJECT_TREE_DEPTH_MAX 5

/* A tag filter of the query (?tags=a,b): each name checked as a tag. */
static int
tag_filter(const struct api_req *req, const char *key, const char **out, struct err *err)
{
    *out = api_req_query(req, key);
    if (!*out)
        return 0;
    char *copy = xstrdup(*out);
    int rc = 0;
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strchr(t, '/') || strlen(t) > KEYSTONE_TAG_MAX) {
            rc = err_set(err, ERR_INVALID, "Invalid value for query parameter '%s'.", key);
            break;
        }
    }
    free(copy);
    return rc;
}

static int
list_projects(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:list_projects", NULL, err) < 0)
        return -1;
    struct db_project_filter f = {
        .name = api_req_query(req, "name"),
        .domain_id = api_req_query(req, "domain_id"),
        .parent_id = api_req_query(req, "parent_id"),
    };
    int is_domain;
    if (keystone_query_bool(req, "enabled", &f.enabled, err) < 0 ||
        keystone_query_bool(req, "is_domain", &is_domain, err) < 0 ||
        tag_filter(req, "tags", &f.tags, err) < 0 ||
        tag_filter(req, "tags-any", &f.tags_any, err) < 0 ||
        tag_filter(req, "not-tags", &f.not_tags, err) < 0 ||
        tag_filter(req, "not-tags-any", &f.not_tags_any, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    /* listing projects is an admin's (Keystone's default); a member finds its
     * own through /v3/auth/projects or /v3/users/{id}/projects */
    json_t *rows = is_domain == 1 ? json_array() /* no project acts as a domain here */
                                  : db_project_list(conn, &f, err);
    if (!rows)
        return -1;
    keystone_reply_list(req, "projects", rows, keystone_project_json, "projects");
    return 0;
}

/* ?parents_as_list / ?subtree_as_list: the project's ancestors or
 * descendants as [{"project": {...}}], limited for non-admins to the project
 * their token is scoped to (Keystone lists only what the caller may see). */
static int
add_lineage(struct api_req *req, PGconn *conn, const char *id, json_t *project, bool up,
            struct err *err)
{
    json_t *rows = db_project_lineage(conn, id, up, err);
    if (!rows)
        return -1;
    bool admin = policy_allows(&req->ctx, "identity:list_projects", NULL);
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *pid = json_string_value(json_object_get(row, "id"));
        if (admin || (pid && strcmp(pid, req->ctx.project_id) == 0))
            json_array_append_new(list,
                                  json_pack("{s:o}", "project", keystone_project_json(req, row)));
    }
    json_decref(rows);
    json_object_set_new(project, up ? "parents" : "subtree", list);
    return 0;
}

static int
get_project(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "project_id");
    /* an unknown id (or a name: the client's name-or-id lookup) is a 404 */
    if (keystone_check_id(id, "project", err) < 0)
        return -1;
    int parents, subtree;
    if (keystone_query_flag(req, "parents_as_list", &parents, err) < 0 ||
        keystone_query_flag(req, "subtree_as_list", &subtree, err) < 0)
        return -1;
    if (api_req_query(req, "parents_as_ids") || api_req_query(req, "subtree_as_ids"))
        return err_set(err, ERR_INVALID,
                       "Invalid input: parents_as_ids and subtree_as_ids are not supported; use "
                       "parents_as_list and subtree_as_list.");
    PGconn *conn = api_req_db(req, err);
    json_t *row = conn ? db_project_get(conn, id, err) : NULL;
    if (!row)
        return -1;
    struct policy_target target = {.project_id = id};
    if (policy_check(&req->ctx, "identity:get_project", &target, err) < 0) {
        json_decref(row);
        return -1;
    }
    json_t *project = keystone_project_json(req, row);
    json_decref(row);
    if ((parents == 1 && add_lineage(req, conn, id, project, true, err) < 0) ||
        (subtree == 1 && add_lineage(req, conn, id, project, false, err) < 0)) {
        json_decref(project);
        return -1;
    }
    api_reply_json(req, 200, json_pack("{s:o}", "project", project));
    return 0;
}

/* Resolve @parent_id (a project, or a domain: then the project is top-level)
 * against @*domain_id (NULL: taken from the parent). Sets *top_parent to the
 * parent project's id or NULL. */
static int
resolve_parent(PGconn *conn, const char *parent_id, const char **domain_id, const char **top_parent,
               json_t **held, struct err *err)
{
    *top_parent = NULL;
    if (!id_is_safe(parent_id))
        return err_set(err, ERR_INVALID, "Invalid input for field 'parent_id': not a valid id.");
    json_t *parent = db_project_get(conn, parent_id, err);
    if (!parent) {
        if (err->code != ERR_NOT_FOUND)
            return -1;
        json_t *dom = db_domain_get(conn, parent_id, err);
        if (!dom) {
            if (err->code == ERR_NOT_FOUND)
                err_set(err, ERR_NOT_FOUND, "Could not find project: %s.", parent_id);
            return -1;
        }
        json_decref(dom);
        if (*domain_id && strcmp(*domain_id, parent_id) != 0)
            return err_set(err, ERR_INVALID,
                           "Cannot create project, since it specifies its domain_id %s, but "
                           "specifies a parent in a different domain (%s).",
                           *domain_id, parent_id);
        *domain_id = parent_id;
        return 0;
    }
    *held = parent;
    const char *pdom = json_string_value(json_object_get(parent, "domain_id"));
    if (*domain_id && strcmp(*domain_id, pdom) != 0)
        return err_set(err, ERR_INVALID,
                       "Cannot create project, since it specifies its domain_id %s, but "
                       "specifies a parent in a different domain (%s).",
                       *domain_id, pdom);
    if (!json_is_true(json_object_get(parent, "enabled")))
        return err_set(err, ERR_INVALID,
                       "cannot create a project in a branch containing a disabled project: %s",
                       parent_id);
    json_t *up = db_project_lineage(conn, parent_id, true, err);
    if (!up)
        return -1;
    size_t depth = json_array_size(up) + 2; /* the parent's ancestors, the parent, the new one */
    json_decref(up);
    if (depth > PROJECT_TREE_DEPTH_MAX)
        return err_set(err, ERR_FORBIDDEN, "Max hierarchy depth reached for %s branch.", parent_id);
    *domain_id = pdom;
    *top_parent = parent_id;
    return 0;
}

static const struct api_field project_fields[] = {
    API_FIELD_DEF("name", API_FIELD_STRING, API_FIELD_REQUIRED | API_FIELD_NONEMPTY, .min = 1,
                  .max = PROJECT_NAME_MAX),
    API_FIELD_DEF("description", API_FIELD_STRING, API_FIELD_NULLABLE,
                  .max = KEYSTONE_DESCRIPTION_MAX),
    API_FIELD_DEF("domain_id", API_FIELD_STRING, API_FIELD_NULLABLE, .min = 1, .max = 64),
    API_FIELD_DEF("parent_id", API_FIELD_STRING, API_FIELD_NULLABLE, .min = 1, .max = 64),
    API_FIELD_DEF("enabled", API_FIELD_BOOLEAN, 0),
    API_FIELD_DEF("is_domain", API_FIELD_BOOLEAN, API_FIELD_CREATE_ONLY),
    API_FIELD_DEF("tags", API_FIELD_ARRAY, API_FIELD_NULLABLE), /* keystone_tags_join checks */
};

/* Keystone keeps unknown members of a project as extras. */
static const struct api_schema project_schema = {
    .name = "project",
    .fields = project_fields,
    .nfields = ARRAY_SIZE(project_fields),
    .additional = true,
};

/* The body's "project" object checked for @op, or NULL. */
static json_t *
project_body(struct api_req *req, enum api_schema_op op, struct err *err)
{
    json_t *body = api_req_json(req, err);
    json_t *proj = body ? api_schema_unwrap(&project_schema, body, API_ERRORS_KEYSTONE, err) : NULL;
    if (!proj || api_schema_validate(&project_schema, proj, op, req->ctx.is_admin,
                                     API_ERRORS_KEYSTONE, err) < 0)
        return NULL;
    return proj;
}

static const char *
member_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* -1 when absent, else 0 or 1 */
static int
member_bool(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v ? json_is_true(v) : -1;
}

static int
create_project(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:create_project", NULL, err) < 0)
        return -1;
    json_t *proj = project_body(req, API_SCHEMA_CREATE, err);
    if (!proj)
        return -1;
    const char *name = member_str(proj, "name"), *description = member_str(proj, "description");
    const char *domain_id = member_str(proj, "domain_id"),
               *parent_id = member_str(proj, "parent_id");
    int enabled = member_bool(proj, "enabled"), is_domain = member_bool(proj, "is_domain");
    if (is_domain == 1)
        return err_set(err, ERR_INVALID,
                       "Invalid input: projects acting as domains are not "
                       "supported.");
    char *tags = NULL;
    json_t *jtags = json_object_get(proj, "tags");
    if (jtags && !json_is_null(jtags) && !(tags = keystone_tags_join(jtags, err)))
        return -1;
    json_t *parent = NULL, *row = NULL;
    const char *parent_project = NULL;
    int rc = -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        goto cleanup;
    if (parent_id && resolve_parent(conn, parent_id, &domain_id, &parent_project, &parent, err) < 0)
        goto cleanup;
    if (!domain_id)
        domain_id = KEYSTONE_DEFAULT_DOMAIN;
    json_t *dom = id_is_safe(domain_id) ? db_domain_get(conn, domain_id, err) : NULL;
    if (!dom) {
        if (err->code == ERR_NOT_FOUND || !id_is_safe(domain_id))
            err_set(err, ERR_INVALID, "Invalid input: domain %s does not exist.",
                    id_is_safe(domain_id) ? domain_id : "(invalid)");
        goto cleanup;
    }
    json_decref(dom);
    char id[ID_HEX_LEN + 1];
    id_hex(id);
    if (db_begin(conn, err) < 0)
        goto cleanup;
    if (db_project_create(conn, id, name, domain_id, parent_project, description, enabled != 0,
                          tags, err) < 0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT,
                    "Conflict occurred attempting to store project - Duplicate entry found with "
                    "name %s at domain ID %s.",
                    name, domain_id);
        goto cleanup;
    }
    if (db_commit(conn, err) < 0 || !(row = db_project_get(conn, id, err)))
        goto cleanup;
    api_reply_json(req, 201, json_pack("{s:o}", "project", keystone_project_json(req, row)));
    rc = 0;
cleanup:
    free(tags);
    json_decref(parent);
    json_decref(row);
    return rc;
}

/* Keystone's hierarchy rules for enabling and disabling a project. */
static int
check_enable(PGconn *conn, const char *id, int enabled, struct err *err)
{
    if (enabled < 0)
        return 0;
    json_t *rows = db_project_lineage(conn, id, enabled == 1, err);
    if (!rows)
        return -1;
    bool blocked = false;
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        /* enabling needs every ancestor enabled; disabling, no enabled descendant */
        if (json_is_true(json_object_get(row, "enabled")) == (enabled == 0))
            blocked = true;
    }
    json_decref(rows);
    if (!blocked)
        return 0;
    if (enabled == 1)
        return err_set(err, ERR_FORBIDDEN, "cannot enable project %s since it has disabled parents",
                       id);
    return err_set(err, ERR_FORBIDDEN,
                   "cannot disable project %s since its subtree contains enabled projects.", id);
}

static int
update_project(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "project_id");
    if (policy_check(&req->ctx, "identity:update_project", NULL, err) < 0 ||
        keystone_check_id(id, "project", err) < 0)
        return -1;
    json_t *proj = project_body(req, API_SCHEMA_UPDATE, err);
    if (!proj)
        return -1;
    const char *name = member_str(proj, "name"), *description = member_str(proj, "description");
    int enabled = member_bool(proj, "enabled");
    PGconn *conn = api_req_db(req, err);
    json_t *cur = conn ? db_project_get(conn, id, err) : NULL;
    if (!cur)
        return -1;
    /* what cannot change: Keystone's messages */
    const char *parent = json_string_value(json_object_get(cur, "parent_id"));
    const char *domain = json_string_value(json_object_get(cur, "domain_id"));
    json_t *v = json_object_get(proj, "parent_id");
    bool bad_parent =
        v && !(json_is_string(v) && strcmp(json_string_value(v), parent ? parent : domain) == 0);
    v = json_object_get(proj, "domain_id");
    bool bad_domain = v && !(json_is_string(v) && strcmp(json_string_value(v), domain) == 0);
    v = json_object_get(proj, "is_domain");
    bool bad_is_domain = v && !json_is_false(v);
    json_decref(cur);
    if (bad_parent)
        return err_set(err, ERR_FORBIDDEN, "Update of `parent_id` is not allowed.");
    if (bad_domain)
        return err_set(err, ERR_INVALID, "Update of `domain_id` is not allowed.");
    if (bad_is_domain)
        return err_set(err, ERR_INVALID, "Update of `is_domain` is not allowed.");
    char *tags = NULL;
    json_t *jtags = json_object_get(proj, "tags");
    if (json_is_null(jtags))
        tags = xstrdup("");
    else if (jtags && !(tags = keystone_tags_join(jtags, err)))
        return -1;
    int rc = -1;
    /* the change and its revocation event commit together (an error rolls back) */
    if (check_enable(conn, id, enabled, err) < 0 || db_begin(conn, err) < 0)
        goto cleanup;
    if (db_project_update(conn, id, name, description, enabled, err) < 0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT,
                    "Conflict occurred attempting to store project - Duplicate entry found with "
                    "name %s.",
                    name ? name : "");
        goto cleanup;
    }
    if ((tags && db_project_tags_set(conn, id, tags, err) < 0) ||
        (enabled == 0 && revoke_add(req->srv, conn, NULL, NULL, id, err) < 0) ||
        db_commit(conn, err) < 0)
        goto cleanup;
    json_t *row = db_project_get(conn, id, err);
    if (!row)
        goto cleanup;
    api_reply_json(req, 200, json_pack("{s:o}", "project", keystone_project_json(req, row)));
    json_decref(row);
    rc = 0;
cleanup:
    free(tags);
    return rc;
}

static int
delete_project(struct api_req *req, struct err *err)
{
    const char *id = api_req_param(req, "project_id");
    if (policy_check(&req->ctx, "identity:delete_project", NULL, err) < 0 ||
        keystone_check_id(id, "project", err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn || db_begin(conn, err) < 0)
        return -1;
    long children;
    if (db_project_children(conn, id, &children, err) < 0)
        return -1;
    if (children > 0)
        return err_set(err, ERR_FORBIDDEN,
                       "Cannot delete the project %s since it is not a leaf in the hierarchy. Use "
                       "the cascade option if you want to delete a whole subtree.",
                       id);
    if (db_project_delete(conn, id, err) < 0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT, "Project %s is still in use.", id);
        return -1;
    }
    if (revoke_add(req->srv, conn, NULL, NULL, id, err) < 0 || db_commit(conn, err) < 0)
        return -1;
    role_cache_clear(req->srv->roles);
    api_reply_empty(req, 204);
    return 0;
}

/* ---- /v3/projects/{project_id}/tags ---- */

/* The project of a tags path, checked to exist and against @action; its row
 * in *row (caller frees) when @row is not NULL. */
static PGconn *
tags_project(struct api_req *req, const char *action, json_t **row, struct err *err)
{
    const char *id = api_req_param(req, "project_id");
    if (keystone_check_id(id, "project", err) < 0)
        return NULL;
    PGconn *conn = api_req_db(req, err);
    json_t *p = conn ? db_project_get(conn, id, err) : NULL;
    if (!p)
        return NULL;
    struct policy_target target = {.project_id = id};
    if (policy_check(&req->ctx, action, &target, err) < 0) {
        json_decref(p);
        return NULL;
    }
    if (row)
        *row = p;
    else
        json_decref(p);
    return conn;
}

static void
reply_tags(struct api_req *req, int status, const json_t *row)
{
    json_t *tags = json_loads(json_string_value(json_object_get(row, "tags")), 0, NULL);
    api_reply_json(req, status, json_pack("{s:o}", "tags", tags ? tags : json_array()));
}

static int
list_tags(struct api_req *req, struct err *err)
{
    json_t *row;
    if (!tags_project(req, "identity:list_project_tags", &row, err))
        return -1;
    reply_tags(req, 200, row);
    json_decref(row);
    return 0;
}

static int
replace_tags(struct api_req *req, struct err *err)
{
    PGconn *conn = tags_project(req, "identity:update_project_tags", NULL, err);
    if (!conn)
        return -1;
    json_t *body = api_req_json(req, err);
    if (!body)
        return -1;
    json_t *jtags = json_object_get(body, "tags");
    if (!jtags)
        return err_set(err, ERR_INVALID, "Invalid input: 'tags' is a required property.");
    char *tags = keystone_tags_join(jtags, err);
    if (!tags)
        return -1;
    const char *id = api_req_param(req, "project_id");
    int rc = -1;
    json_t *row = NULL;
    if (db_begin(conn, err) < 0 || db_project_tags_set(conn, id, tags, err) < 0 ||
        db_commit(conn, err) < 0 || !(row = db_project_get(conn, id, err)))
        goto cleanup;
    reply_tags(req, 200, row);
    rc = 0;
cleanup:
    free(tags);
    json_decref(row);
    return rc;
}

static int
delete_tags(struct api_req *req, struct err *err)
{
    PGconn *conn = tags_project(req, "identity:delete_project_tags", NULL, err);
    if (!conn || db_project_tags_set(conn, api_req_param(req, "project_id"), "", err) < 0)
        return -1;
    api_reply_empty(req, 204);
    return 0;
}

static int
check_tag(struct api_req *req, struct err *err)
{
    json_t *row;
    const char *tag = api_req_param(req, "tag");
    if (!tags_project(req, "identity:get_project_tag", &row, err))
        return -1;
    json_t *tags = json_loads(json_string_value(json_object_get(row, "tags")), 0, NULL);
    json_decref(row);
    bool found = false;
    size_t i;
    json_t *t;
    json_array_foreach (tags, i, t)
        found = found || strcmp(json_string_value(t), tag) == 0;
    json_decref(tags);
    if (!found)
        return err_set(err, ERR_NOT_FOUND, "Could not find tag: %s.", tag);
    api_reply_empty(req, 204);
    return 0;
}

static int
add_tag(struct api_req *req, struct err *err)
{
    json_t *row;
    const char *id = api_req_param(req, "project_id");
    const char *tag = api_req_param(req, "tag");
    PGconn *conn = tags_project(req, "identity:create_project_tag", &row, err);
    if (!conn)
        return -1;
    json_t *tags = json_loads(json_string_value(json_object_get(row, "tags")), 0, NULL);
    size_t n = json_array_size(tags);
    json_decref(tags);
    json_decref(row);
    if (keystone_tag_check(tag, err) < 0)
        return -1;
    if (n >= KEYSTONE_TAGS_MAX)
        return err_set(err, ERR_INVALID,
                       "Invalid input for field 'tags': at most %d tags are allowed.",
                       KEYSTONE_TAGS_MAX);
    if (db_project_tag_add(conn, id, tag, err) < 0)
        return -1;
    api_reply_empty(req, 201);
    char *url = api_req_url(req, "/v3/projects/%s/tags/%s", id, tag);
    api_reply_header(req, "Location", url);
    free(url);
    return 0;
}

static int
delete_tag(struct api_req *req, struct err *err)
{
    PGconn *conn = tags_project(req, "identity:delete_project_tag", NULL, err);
    if (!conn || db_project_tag_delete(conn, api_req_param(req, "project_id"),
                                       api_req_param(req, "tag"), err) < 0)
        return -1;
    api_reply_empty(req, 204);
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = "/v3/projects", .handler = list_projects},
    {.method = "POST", .pattern = "/v3/projects", .handler = create_project},
    {.method = "GET", .pattern = "/v3/projects/{project_id}", .handler = get_project},
    {.method = "PATCH", .pattern = "/v3/projects/{project_id}", .handler = update_project},
    {.method = "DELETE", .pattern = "/v3/projects/{project_id}", .handler = delete_project},
    {.method = "GET", .pattern = "/v3/projects/{project_id}/tags", .handler = list_tags},
    {.method = "PUT", .pattern = "/v3/projects/{project_id}/tags", .handler = replace_tags},
    {.method = "DELETE", .pattern = "/v3/projects/{project_id}/tags", .handler = delete_tags},
    {.method = "GET", .pattern = "/v3/projects/{project_id}/tags/{tag}", .handler = check_tag},
    {.method = "HEAD", .pattern = "/v3/projects/{project_id}/tags/{tag}", .handler = check_tag},
    {.method = "PUT", .pattern = "/v3/projects/{project_id}/tags/{tag}", .handler = add_tag},
    {.method = "DELETE", .pattern = "/v3/projects/{project_id}/tags/{tag}", .handler = delete_tag},
};

const struct api_route_table identity_projects_routes = {
    "identity_projects", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
