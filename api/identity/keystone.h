/* Identity (Keystone v3): the route tables of its resource families and the
 * helpers they share (input checks, resource bodies, the token body). */
#ifndef NUBE_API_KEYSTONE_H
#define NUBE_API_KEYSTONE_H

#include <stdbool.h>

#include "api.h"
#include "token.h"

extern const struct api_route_table identity_discovery_routes;
extern const struct api_route_table identity_tokens_routes;
extern const struct api_route_table identity_domains_routes;
extern const struct api_route_table identity_projects_routes;
extern const struct api_route_table identity_users_routes;
extern const struct api_route_table identity_roles_routes;
extern const struct api_route_table identity_catalog_routes;

#define KEYSTONE_NAME_MAX 255
#define KEYSTONE_DESCRIPTION_MAX 65535
#define KEYSTONE_PASSWORD_MAX 4096
#define KEYSTONE_DEFAULT_DOMAIN "default"
#define KEYSTONE_TAG_MAX 255
#define KEYSTONE_TAGS_MAX 80

/* ---- input ---- */

/* Bodies are checked by the schema validator (core/schema.h). */
/* An id from the path: 404 "Could not find <what>: <id>." when it cannot be one. */
int keystone_check_id(const char *id, const char *what, struct err *err);
/* ?enabled= as -1 / 0 / 1; 400 when not a boolean word. */
int keystone_query_bool(const struct api_req *req, const char *key, int *out, struct err *err);

/* A project tag: 400 when empty, over 255 characters, or holding '/' or ','. */
int keystone_tag_check(const char *tag, struct err *err);
/* A "tags" array checked (strings, each a valid tag, at most 80) and joined
 * with ',' (caller frees); NULL with 400 otherwise. */
char *keystone_tags_join(const json_t *tags, struct err *err);

/* A flag of the query: present bare (?include_names) or with a true word is 1,
 * a false word 0, absent -1; 400 for another value. */
int keystone_query_flag(const struct api_req *req, const char *key, int *out, struct err *err);

/* ---- bodies ---- */

json_t *keystone_domain_json(const struct api_req *req, const json_t *row);
json_t *keystone_project_json(const struct api_req *req, const json_t *row);
/* Publishes a whitelist of the row's fields: never password_hash. */
json_t *keystone_user_json(const struct api_req *req, const json_t *row);
json_t *keystone_role_json(const struct api_req *req, const json_t *row);
/* {"self": <url of the request's collection>, "previous": null, "next": null} */
json_t *keystone_list_links(const struct api_req *req, const char *collection);
/* Reply 200 {"<key>": [render(row)...], "links": {...}}, consuming @rows. */
void keystone_reply_list(struct api_req *req, const char *key, json_t *rows,
                         json_t *(*render)(const struct api_req *req, const json_t *row),
                         const char *collection);

/* The service catalog for a token scoped to @project_id ("" when unscoped),
 * with $(project_id)s / $(tenant_id)s filled in. */
json_t *keystone_catalog(PGconn *conn, const char *project_id, struct err *err);

/* The {"token": {...}} body for @p, read from the database (user, project,
 * roles, catalog). ERR_NOT_FOUND when the user or project is gone or disabled.
 * With @nocatalog the catalog is left out. */
json_t *keystone_token_body(struct api_req *req, PGconn *conn, const struct token_payload *p,
                            bool nocatalog, struct err *err);

#endif
