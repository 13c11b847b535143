/* /v3/auth/tokens: issue (password and token methods; project-scoped or
 * unscoped), validate (GET, HEAD), revoke (DELETE); and /v3/auth/catalog,
 * /v3/auth/projects and /v3/auth/domains for the caller's own token. */
#include <microhttpd.h>
#include <pthread.h>
#include <string.h>

#include "db.h"
#include "identity.h"
#include "json.h"
#include "keystone.h"
#include "mem.h"
#include "policy.h"
#include "schema.h"
#include "server.h"
#include "token_cache.h"

static const char unauthorized[] = "The request you have made requires authentication.";

/* A hash to verify against when the user does not exist, so that the answer
 * takes as long as for a wrong password. */
static char *dummy_hash;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void
dummy_hash_init(void)
{
    dummy_hash = crypto_password_hash("nube-not-a-password", CRYPTO_PBKDF2_ITERATIONS);
}

/* Any lookup failure on the authentication path reads as 401 (never which
 * part was wrong), except bad input (400) and an unavailable database. */
static int
auth_fail(struct err *err, const char *why)
{
    if (err->code == ERR_INVALID || err->code == ERR_UNAVAILABLE || err->code == ERR_INTERNAL)
        return -1;
    return err_set(err, ERR_UNAUTHORIZED, "%s%s%s", unauthorized, why ? " " : "", why ? why : "");
}

/* ---- the body of POST /v3/auth/tokens, checked once by the validator ---- */

#define STR_FIELD(n, flags_, max_) API_FIELD_DEF(n, API_FIELD_STRING, flags_, .min = 1, .max = max_)
#define REF_SCHEMA(var, ...)                                                                       \
    static const struct api_field var##_fields[] = {__VA_ARGS__};                                  \
    static const struct api_schema var = {                                                         \
        .fields = var##_fields, .nfields = ARRAY_SIZE(var##_fields), .additional = true}

REF_SCHEMA(domain_ref_schema, STR_FIELD("id", 0, 64), STR_FIELD("name", 0, KEYSTONE_NAME_MAX));
REF_SCHEMA(user_ref_schema, STR_FIELD("id", 0, 64), STR_FIELD("name", 0, KEYSTONE_NAME_MAX),
           API_FIELD_DEF("password", API_FIELD_STRING, API_FIELD_REQUIRED,
                         .max = KEYSTONE_PASSWORD_MAX),
           API_FIELD_DEF("domain", API_FIELD_OBJECT, 0, .object = &domain_ref_schema));
REF_SCHEMA(project_ref_schema, STR_FIELD("id", 0, 64), STR_FIELD("name", 0, KEYSTONE_NAME_MAX),
           API_FIELD_DEF("domain", API_FIELD_OBJECT, 0, .object = &domain_ref_schema));
REF_SCHEMA(password_method_schema,
           API_FIELD_DEF("user", API_FIELD_OBJECT, API_FIELD_REQUIRED, .object = &user_ref_schema));
REF_SCHEMA(token_method_schema, STR_FIELD("id", API_FIELD_REQUIRED, TOKEN_STR_MAX));
static const struct api_field method_name = API_FIELD_DEF("", API_FIELD_STRING, 0, .max = 64);
REF_SCHEMA(identity_schema,
           API_FIELD_DEF("methods", API_FIELD_ARRAY, API_FIELD_REQUIRED, .max = 8,
                         .items = &method_name),
           API_FIELD_DEF("password", API_FIELD_OBJECT, 0, .object = &password_method_schema),
           API_FIELD_DEF("token", API_FIELD_OBJECT, 0, .object = &token_method_schema));
REF_SCHEMA(scope_schema,
           API_FIELD_DEF("project", API_FIELD_OBJECT, 0, .object = &project_ref_schema));

static const struct api_field auth_fields[] = {
    API_FIELD_DEF("identity", API_FIELD_OBJECT, API_FIELD_REQUIRED, .object = &identity_schema),
    /* "scope" is an object or the string "unscoped": auth_scope() checks it */
};

static const struct api_schema auth_schema = {
    .name = "auth",
    .fields = auth_fields,
    .nfields = ARRAY_SIZE(auth_fields),
    .additional = true,
};

static const char *
member_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* {"domain": {"id"} | {"name"}} -> the domain id. */
static int
resolve_domain(PGconn *conn, const json_t *owner, const char *what, char *out, size_t cap,
               struct err *err)
{
    json_t *d = json_object_get(owner, "domain");
    if (!json_is_object(d))
        return err_set(err, ERR_INVALID, "Invalid input: a %s given by name needs its domain.",
                       what);
    const char *id = member_str(d, "id"), *name = member_str(d, "name");
    if (!id && !name)
        return err_set(err, ERR_INVALID, "Invalid input: the %s's domain needs an id or a name.",
                       what);
    json_t *row = id ? db_domain_get(conn, id, err) : db_domain_find(conn, name, err);
    if (!row)
        return auth_fail(err, NULL);
    bool enabled = json_is_true(json_object_get(row, "enabled"));
    strlcpy_n(out, json_string_value(json_object_get(row, "id")), cap);
    json_decref(row);
    if (!enabled)
        return err_set(err, ERR_UNAUTHORIZED, "%s", unauthorized);
    return 0;
}

/* 1 when domain @id is enabled, 0 when disabled or gone, -1 on a database error. */
static int
domain_enabled(PGconn *conn, const char *id, struct err *err)
{
    json_t *d = id ? db_domain_get(conn, id, err) : NULL;
    if (!d)
        return err->code == ERR_UNAVAILABLE || err->code == ERR_INTERNAL ? -1 : 0;
    int enabled = json_is_true(json_object_get(d, "enabled"));
    json_decref(d);
    return enabled;
}

static int
auth_password(PGconn *conn, const json_t *identity, struct token_payload *p, struct err *err)
{
    json_t *pw = json_object_get(identity, "password");
    json_t *u = pw ? json_object_get(pw, "user") : NULL;
    if (!json_is_object(pw) || !json_is_object(u))
        return err_set(err, ERR_INVALID,
                       "Invalid input: the password method needs 'password': {'user': {...}}.");
    const char *id = member_str(u, "id"), *name = member_str(u, "name");
    const char *password = member_str(u, "password");
    if (!id && !name)
        return err_set(err, ERR_INVALID, "Invalid input: the user needs an id or a name.");
    pthread_once(&dummy_once, dummy_hash_init);
    json_t *user = NULL;
    if (id) {
        user = id_is_safe(id) ? db_user_get(conn, id, err) : NULL;
        if (!user && err->code != ERR_UNAVAILABLE && err->code != ERR_INTERNAL)
            err_set(err, ERR_NOT_FOUND, "no such user");
    } else {
        char domain_id[65];
        if (resolve_domain(conn, u, "user", domain_id, sizeof(domain_id), err) < 0) {
            if (err->code != ERR_UNAUTHORIZED)
                return -1;
            crypto_password_verify(password, dummy_hash);
            return err_set(err, ERR_UNAUTHORIZED, "%s Invalid username or password.", unauthorized);
        }
        user = db_user_find(conn, name, domain_id, err);
    }
    if (!user) {
        if (err->code == ERR_UNAVAILABLE || err->code == ERR_INTERNAL)
            return -1;
        crypto_password_verify(password, dummy_hash);
        return err_set(err, ERR_UNAUTHORIZED, "%s Invalid username or password.", unauthorized);
    }
    const char *hash = json_string_value(json_object_get(user, "password_hash"));
    bool ok = crypto_password_verify(password, hash ? hash : dummy_hash) && hash;
    bool enabled = json_is_true(json_object_get(user, "enabled"));
    int dom_enabled =
        domain_enabled(conn, json_string_value(json_object_get(user, "domain_id")), err);
    if (dom_enabled < 0) {
        json_decref(user);
        return -1;
    }
    strlcpy_n(p->user_id, json_string_value(json_object_get(user, "id")), sizeof(p->user_id));
    json_decref(user);
    if (!ok)
        return err_set(err, ERR_UNAUTHORIZED, "%s Invalid username or password.", unauthorized);
    if (!enabled)
        return err_set(err, ERR_UNAUTHORIZED, "%s The user is disabled.", unauthorized);
    if (!dom_enabled)
        return err_set(err, ERR_UNAUTHORIZED, "%s The user's domain is disabled.", unauthorized);
    p->methods |= TOKEN_METHOD_PASSWORD;
    return 0;
}

static int
auth_token(struct api_req *req, const json_t *identity, struct token_payload *p,
           struct token_payload *parent, struct err *err)
{
    json_t *t = json_object_get(identity, "token");
    if (!json_is_object(t))
        return err_set(err, ERR_INVALID, "Invalid input: the token method needs 'token': {'id'}.");
    const char *id = member_str(t, "id");
    if (token_open(&req->srv->keys, id, api_now_us(), parent, err) < 0)
        return -1;
    bool revoked;
    if (revoke_check(req->srv, parent, &revoked, err) < 0)
        return -1;
    if (revoked)
        return err_set(err, ERR_UNAUTHORIZED, "%s The token has been revoked.", unauthorized);
    if (p->user_id[0] && strcmp(p->user_id, parent->user_id) != 0)
        return err_set(err, ERR_UNAUTHORIZED, "%s The methods name different users.", unauthorized);
    strlcpy_n(p->user_id, parent->user_id, sizeof(p->user_id));
    /* Keystone: the new token keeps the methods that authenticated the old
     * one ("password" stays, "token" is added) */
    p->methods |= parent->methods | TOKEN_METHOD_TOKEN;
    /* the new token belongs to the same chain and ends when its parent does */
    p->has_parent = true;
    memcpy(p->parent_audit, parent->has_parent ? parent->parent_audit : parent->audit,
           TOKEN_AUDIT_LEN);
    p->expires_us = parent->expires_us;
    return 0;
}

/* auth.scope -> p->project_id ("" for unscoped). */
/* No scope: Keystone's rule is the user's default project, when the user
 * has a role on it (else unscoped). */
static int
scope_default(PGconn *conn, struct token_payload *p, struct err *err)
{
    json_t *user = db_user_get(conn, p->user_id, err);
    if (!user)
        return auth_fail(err, NULL);
    const char *dp = json_string_value(json_object_get(user, "default_project_id"));
    json_t *roles = dp ? db_assignment_roles(conn, p->user_id, dp, err) : NULL;
    int rc = dp && !roles ? -1 : 0;
    if (json_array_size(roles) > 0)
        strlcpy_n(p->project_id, dp, sizeof(p->project_id));
    json_decref(roles);
    json_decref(user);
    return rc;
}

/* {"project": {"id"} | {"name", "domain"}}: the project, enabled, in an
 * enabled domain, into p->project_id. */
static int
scope_project(PGconn *conn, const json_t *scope, struct token_payload *p, struct err *err)
{
    if (json_object_get(scope, "domain") || json_object_get(scope, "system") ||
        json_object_get(scope, "OS-TRUST:trust"))
        return err_set(err, ERR_INVALID,
                       "Invalid input: only project-scoped and unscoped tokens are supported.");
    json_t *proj = json_object_get(scope, "project");
    if (!json_is_object(proj))
        return err_set(err, ERR_INVALID, "Invalid input: 'scope' needs a 'project'.");
    const char *id = member_str(proj, "id"), *name = member_str(proj, "name");
    if (!id && !name)
        return err_set(err, ERR_INVALID, "Invalid input: the project needs an id or a name.");
    json_t *row = NULL;
    if (id) {
        row = id_is_safe(id) ? db_project_get(conn, id, err) : NULL;
        if (!row && err->code != ERR_UNAVAILABLE && err->code != ERR_INTERNAL)
            err_set(err, ERR_NOT_FOUND, "no such project");
    } else {
        char domain_id[65];
        if (resolve_domain(conn, proj, "project", domain_id, sizeof(domain_id), err) < 0)
            return -1;
        row = db_project_find(conn, name, domain_id, err);
    }
    if (!row)
        return auth_fail(err, "The project to scope to was not found.");
    bool enabled = json_is_true(json_object_get(row, "enabled"));
    strlcpy_n(p->project_id, json_string_value(json_object_get(row, "id")), sizeof(p->project_id));
    int dom_enabled =
        domain_enabled(conn, json_string_value(json_object_get(row, "domain_id")), err);
    json_decref(row);
    if (dom_enabled < 0)
        return -1;
    if (!enabled)
        return err_set(err, ERR_UNAUTHORIZED, "%s The project is disabled.", unauthorized);
    if (!dom_enabled)
        return err_set(err, ERR_UNAUTHORIZED, "%s The project's domain is disabled.", unauthorized);
    return 0;
}

static int
auth_scope(PGconn *conn, const json_t *auth, const struct token_payload *parent, bool by_token,
           struct token_payload *p, struct err *err)
{
    json_t *scope = json_object_get(auth, "scope");
    if (!scope || json_is_null(scope)) {
        if (!by_token)
            return scope_default(conn, p, err);
        /* a rescoped token keeps its parent's scope */
        strlcpy_n(p->project_id, parent->project_id, sizeof(p->project_id));
    } else if (json_is_string(scope) && strcmp(json_string_value(scope), "unscoped") == 0) {
        return 0;
    } else if (!json_is_object(scope)) {
        return err_set(err, ERR_INVALID, "Invalid input: 'scope' must be an object.");
    } else if (api_schema_validate(&scope_schema, scope, API_SCHEMA_CREATE, false,
                                   API_ERRORS_KEYSTONE, err) < 0 ||
               scope_project(conn, scope, p, err) < 0) {
        return -1;
    }
    if (!p->project_id[0])
        return 0;
    json_t *roles = db_assignment_roles(conn, p->user_id, p->project_id, err);
    if (!roles)
        return -1;
    size_t n = json_array_size(roles);
    json_decref(roles);
    if (n == 0)
        return err_set(err, ERR_UNAUTHORIZED, "%s The user has no role on the project.",
                       unauthorized);
    return 0;
}

/* Reply with the serialized @text (taken), as api_reply_json() would. */
static void
reply_text(struct api_req *req, int status, char *text, size_t len)
{
    api_reply_empty(req, status);
    req->resp_body = text;
    req->resp_len = len;
    req->content_type = "application/json";
}

/* ?nocatalog, with or without a value (keystoneclient sends it bare). */
static bool
want_nocatalog(const struct api_req *req)
{
    const char *v = NULL;
    size_t len = 0;
    return req->conn && MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, "nocatalog",
                                                      strlen("nocatalog"), &v, &len) == MHD_YES;
}

static void
cache_key(const struct api_req *req, const struct token_payload *p, struct token_cache_key *key)
{
    memset(key, 0, sizeof(*key));
    memcpy(key->audit, p->audit, TOKEN_AUDIT_LEN);
    key->nocatalog = want_nocatalog(req);
}

/* The serialized token body of @p read from the database, stored in the
 * token cache unless something changed since @gen was read. */
static char *
token_body_text(struct api_req *req, PGconn *conn, const struct token_payload *p, uint64_t gen,
                size_t *len, struct err *err)
{
    struct token_cache_key key;
    cache_key(req, p, &key);
    json_t *body = keystone_token_body(req, conn, p, key.nocatalog, err);
    if (!body)
        return NULL;
    char *text = json_dump_compact(body);
    json_decref(body);
    *len = strlen(text);
    token_cache_put(role_cache_tokens(req->srv->roles), &key, text, *len, p->expires_us, gen,
                    api_now_us());
    return text;
}

static int
post_tokens(struct api_req *req, struct err *err)
{
    json_t *body = api_req_json(req, err);
    json_t *auth = body ? api_schema_unwrap(&auth_schema, body, API_ERRORS_KEYSTONE, err) : NULL;
    if (!auth || api_schema_validate(&auth_schema, auth, API_SCHEMA_CREATE, false,
                                     API_ERRORS_KEYSTONE, err) < 0)
        return -1;
    json_t *identity = json_object_get(auth, "identity");
    json_t *methods = json_object_get(identity, "methods");
    if (!json_is_array(methods) || json_array_size(methods) == 0)
        return err_set(err, ERR_INVALID,
                       "Invalid input: 'methods' must be a non-empty array of strings.");
    bool by_password = false, by_token = false;
    size_t i;
    json_t *m;
    json_array_foreach (methods, i, m) {
        if (!json_is_string(m))
            return err_set(err, ERR_INVALID,
                           "Invalid input: 'methods' must be a non-empty array of strings.");
        if (strcmp(json_string_value(m), "password") == 0)
            by_password = true;
        else if (strcmp(json_string_value(m), "token") == 0)
            by_token = true;
        else
            return err_set(err, ERR_UNAUTHORIZED,
                           "Attempted to authenticate with an unsupported method.");
    }
    /* a public route: the auth middleware did not run on this request */
    struct token_cache *cache = role_cache_tokens(req->srv->roles);
    token_cache_checkpoint(cache);
    uint64_t gen = token_cache_generation(cache);
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    struct token_payload p, parent;
    memset(&p, 0, sizeof(p));
    memset(&parent, 0, sizeof(parent));
    int64_t now = api_now_us();
    p.expires_us = now + (int64_t)req->srv->cfg.token_expiration * 1000000;
    if (by_password && auth_password(conn, identity, &p, err) < 0)
        return -1;
    if (by_token && auth_token(req, identity, &p, &parent, err) < 0)
        return -1;
    if (auth_scope(conn, auth, &parent, by_token && !by_password, &p, err) < 0)
        return -1;
    p.issued_us = now;
    crypto_random(p.audit, sizeof(p.audit));
    char *token = token_seal(&req->srv->keys, &p, err);
    if (!token)
        return -1;
    size_t len;
    char *text = token_body_text(req, conn, &p, gen, &len, err);
    if (!text) {
        free(token);
        return auth_fail(err, NULL);
    }
    reply_text(req, 201, text, len);
    api_reply_header(req, "X-Subject-Token", token);
    free(token);
    return 0;
}

/* Open X-Subject-Token: 404 for anything but a valid, unrevoked token. */
static int
open_subject(struct api_req *req, struct token_payload *p, const char **subject, struct err *err)
{
    *subject = api_req_header(req, "X-Subject-Token");
    if (!*subject || !**subject)
        return err_set(err, ERR_INVALID, "The X-Subject-Token header is required.");
    struct err terr = ERR_INIT;
    bool revoked = false;
    if (token_open(&req->srv->keys, *subject, api_now_us(), p, &terr) < 0)
        return err_set(err, ERR_NOT_FOUND, "Could not find token.");
    if (revoke_check(req->srv, p, &revoked, err) < 0)
        return -1;
    if (revoked)
        return err_set(err, ERR_NOT_FOUND, "Could not find token: it has been revoked.");
    struct policy_target target = {.user_id = p->user_id};
    bool head = req->match.route->arg != 0;
    return policy_check(&req->ctx, head ? "identity:check_token" : "identity:validate_token",
                        &target, err);
}

static int
validate(struct api_req *req, struct err *err)
{
    bool head = req->match.route->arg != 0;
    struct token_payload p;
    const char *subject;
    /* revocation and policy are checked first, on every request */
    if (open_subject(req, &p, &subject, err) < 0)
        return -1;
    struct token_cache *cache = role_cache_tokens(req->srv->roles);
    struct token_cache_key key;
    cache_key(req, &p, &key);
    size_t len;
    char *text = token_cache_get(cache, &key, api_now_us(), &len);
    if (!text) {
        uint64_t gen = token_cache_generation(cache);
        PGconn *conn = api_req_db(req, err);
        if (!conn)
            return -1;
        text = token_body_text(req, conn, &p, gen, &len, err);
        if (!text) {
            if (err->code == ERR_NOT_FOUND)
                err_set(err, ERR_NOT_FOUND, "Could not find token: %s", err->msg);
            return -1;
        }
    }
    if (head) {
        free(text);
        api_reply_empty(req, 200);
    } else {
        reply_text(req, 200, text, len);
    }
    api_reply_header(req, "X-Subject-Token", subject);
    return 0;
}

static int
delete_tokens(struct api_req *req, struct err *err)
{
    struct token_payload p;
    const char *subject;
    if (open_subject(req, &p, &subject, err) < 0)
        return -1;
    struct policy_target target = {.user_id = p.user_id};
    if (policy_check(&req->ctx, "identity:revoke_token", &target, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    char audit[TOKEN_AUDIT_STR];
    token_audit_str(p.audit, audit);
    if (revoke_add(req->srv, conn, audit, NULL, NULL, err) < 0)
        return -1;
    /* the revocation list already refuses it; free the memory too */
    token_cache_drop(role_cache_tokens(req->srv->roles), p.audit);
    api_reply_empty(req, 204);
    return 0;
}

static int
get_auth_catalog(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:get_auth_catalog", NULL, err) < 0)
        return -1;
    if (!req->ctx.project_id[0])
        return err_set(err, ERR_FORBIDDEN, "An unscoped token has no catalog.");
    PGconn *conn = api_req_db(req, err);
    json_t *catalog = conn ? keystone_catalog(conn, req->ctx.project_id, err) : NULL;
    if (!catalog)
        return -1;
    api_reply_json(req, 200,
                   json_pack("{s:o,s:o}", "catalog", catalog, "links",
                             keystone_list_links(req, "auth/catalog")));
    return 0;
}

static int
get_auth_projects(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:get_auth_projects", NULL, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    json_t *rows = conn ? db_project_list_for_user(conn, req->ctx.user_id, err) : NULL;
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    int rc = 0;
    json_array_foreach (rows, i, row) {
        /* what the user can scope to: enabled projects in enabled domains */
        if (!json_is_true(json_object_get(row, "enabled")))
            continue;
        int dom = domain_enabled(conn, json_string_value(json_object_get(row, "domain_id")), err);
        if (dom < 0) {
            rc = -1;
            break;
        }
        if (dom)
            json_array_append_new(list, keystone_project_json(req, row));
    }
    json_decref(rows);
    if (rc < 0) {
        json_decref(list);
        return -1;
    }
    api_reply_json(req, 200,
                   json_pack("{s:o,s:o}", "projects", list, "links",
                             keystone_list_links(req, "auth/projects")));
    return 0;
}

/* The domains the caller may scope a token to: those on which it holds a
 * role. Roles are granted on projects only here (and domain-scoped tokens
 * are not issued), so the list is empty, as Keystone's is for such a user. */
static int
get_auth_domains(struct api_req *req, struct err *err)
{
    if (policy_check(&req->ctx, "identity:get_auth_domains", NULL, err) < 0)
        return -1;
    api_reply_json(
        req, 200,
        json_pack("{s:[],s:o}", "domains", "links", keystone_list_links(req, "auth/domains")));
    return 0;
}

static const struct api_route routes[] = {
    {.method = "POST",
     .pattern = "/v3/auth/tokens",
     .handler = post_tokens,
     .flags = API_ROUTE_PUBLIC},
    {.method = "GET", .pattern = "/v3/auth/tokens", .handler = validate},
    {.method = "HEAD", .pattern = "/v3/auth/tokens", .handler = validate, .arg = 1},
    {.method = "DELETE", .pattern = "/v3/auth/tokens", .handler = delete_tokens},
    {.method = "GET", .pattern = "/v3/auth/catalog", .handler = get_auth_catalog},
    {.method = "GET", .pattern = "/v3/auth/projects", .handler = get_auth_projects},
    {.method = "GET", .pattern = "/v3/auth/domains", .handler = get_auth_domains},
};

const struct api_route_table identity_tokens_routes = {
    "identity_tokens", "/v3", API_ERRORS_KEYSTONE, routes, ARRAY_SIZE(routes), NULL,
};
