/* Identity tables (Keystone v3 subset): domains, projects, users, roles, role
 * assignments, the service catalog and token revocation events.
 *
 * Readers return rows as jansson values: one object per row whose keys are the
 * column names, booleans as JSON booleans, integers as JSON integers and SQL
 * NULL as null. A single-row getter returns NULL with ERR_NOT_FOUND when the
 * row does not exist. User rows carry "password_hash": callers that render a
 * user must copy the fields they publish, never the row itself. */
#ifndef NUBE_DB_IDENTITY_H
#define NUBE_DB_IDENTITY_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* ---- domains ---- */
json_t *db_domain_get(PGconn *conn, const char *id, struct err *err);
json_t *db_domain_find(PGconn *conn, const char *name, struct err *err);
/* @name may be NULL (no filter). */
json_t *db_domain_list(PGconn *conn, const char *name, struct err *err);
/* Create the domain when missing (idempotent). */
int db_domain_ensure(PGconn *conn, const char *id, const char *name, struct err *err);
/* ERR_CONFLICT when the name is taken. */
int db_domain_create(PGconn *conn, const char *id, const char *name, const char *description,
                     bool enabled, struct err *err);
/* NULL / -1 leave a field unchanged. ERR_NOT_FOUND when the domain is missing. */
int db_domain_update(PGconn *conn, const char *id, const char *name, const char *description,
                     int enabled, struct err *err);
/* Deletes its projects and users (and their assignments) too. */
int db_domain_delete(PGconn *conn, const char *id, struct err *err);
/* The ids of the projects (@what "project") or users ("user") of a domain. */
json_t *db_domain_members(PGconn *conn, const char *id, const char *what, struct err *err);

/* ---- projects ---- */
/* Project rows are {id, name, domain_id, description, enabled, parent_id (NULL
 * for a top-level project), tags (a JSON array of names, as text)}. */
json_t *db_project_get(PGconn *conn, const char *id, struct err *err);
json_t *db_project_find(PGconn *conn, const char *name, const char *domain_id, struct err *err);
/* List filters: NULL (or -1 for @enabled) means none. The tag filters are
 * comma-separated names (a tag never holds a comma): @tags all of them,
 * @tags_any one of them, @not_tags not all of them, @not_tags_any none of them. */
struct db_project_filter {
    const char *name;
    const char *domain_id;
    const char *parent_id; /* a domain id lists its top-level projects */
    int enabled;
    const char *tags;
    const char *tags_any;
    const char *not_tags;
    const char *not_tags_any;
};
json_t *db_project_list(PGconn *conn, const struct db_project_filter *f, struct err *err);
/* Projects on which @user_id holds at least one role. */
json_t *db_project_list_for_user(PGconn *conn, const char *user_id, struct err *err);
/* @parent_id NULL for a top-level project; @tags a comma-separated list or NULL. */
int db_project_create(PGconn *conn, const char *id, const char *name, const char *domain_id,
                      const char *parent_id, const char *description, bool enabled,
                      const char *tags, struct err *err);
/* NULL / -1 leave a field unchanged. ERR_NOT_FOUND when the project is missing. */
int db_project_update(PGconn *conn, const char *id, const char *name, const char *description,
                      int enabled, struct err *err);
int db_project_delete(PGconn *conn, const char *id, struct err *err);
/* The number of projects whose parent is @id. */
int db_project_children(PGconn *conn, const char *id, long *count, struct err *err);
/* The ancestors of @id, nearest first (@up), or its descendants, breadth first. */
json_t *db_project_lineage(PGconn *conn, const char *id, bool up, struct err *err);
/* Replace the tags by @tags (comma-separated, "" for none). */
int db_project_tags_set(PGconn *conn, const char *id, const char *tags, struct err *err);
/* Idempotent. */
int db_project_tag_add(PGconn *conn, const char *id, const char *tag, struct err *err);
/* ERR_NOT_FOUND when the project has no such tag. */
int db_project_tag_delete(PGconn *conn, const char *id, const char *tag, struct err *err);

/* ---- users ---- */
json_t *db_user_get(PGconn *conn, const char *id, struct err *err);
json_t *db_user_find(PGconn *conn, const char *name, const char *domain_id, struct err *err);
json_t *db_user_list(PGconn *conn, const char *name, const char *domain_id, int enabled,
                     struct err *err);
/* @password_hash, @default_project_id and @email may be NULL. */
int db_user_create(PGconn *conn, const char *id, const char *name, const char *domain_id,
                   const char *password_hash, bool enabled, const char *default_project_id,
                   const char *description, const char *email, struct err *err);
/* NULL / -1 leave a field unchanged. */
int db_user_update(PGconn *conn, const char *id, const char *name, const char *password_hash,
                   int enabled, const char *default_project_id, const char *description,
                   const char *email, struct err *err);
int db_user_delete(PGconn *conn, const char *id, struct err *err);

/* ---- roles ---- */
json_t *db_role_get(PGconn *conn, const char *id, struct err *err);
json_t *db_role_find(PGconn *conn, const char *name, struct err *err);
json_t *db_role_list(PGconn *conn, const char *name, struct err *err);
int db_role_create(PGconn *conn, const char *id, const char *name, const char *description,
                   struct err *err);
int db_role_delete(PGconn *conn, const char *id, struct err *err);

/* ---- role assignments (user on project) ---- */
/* Idempotent: granting an existing assignment succeeds. */
int db_assignment_grant(PGconn *conn, const char *user_id, const char *project_id,
                        const char *role_id, struct err *err);
int db_assignment_check(PGconn *conn, const char *user_id, const char *project_id,
                        const char *role_id, bool *exists, struct err *err);
/* ERR_NOT_FOUND when there was no such assignment. */
int db_assignment_revoke(PGconn *conn, const char *user_id, const char *project_id,
                         const char *role_id, struct err *err);
/* Rows {user_id, user_name, user_domain_id, user_domain_name, project_id,
 * project_name, project_domain_id, project_domain_name, role_id, role_name};
 * filters may be NULL. */
json_t *db_assignment_list(PGconn *conn, const char *user_id, const char *project_id,
                           const char *role_id, struct err *err);
/* The roles {id, name} of @user_id on @project_id, ordered by name. */
json_t *db_assignment_roles(PGconn *conn, const char *user_id, const char *project_id,
                            struct err *err);

/* ---- service catalog ---- */
/* Rows {service_id, type, name, endpoint_id, interface, region, url} of enabled
 * services and endpoints, ordered by type then interface. */
json_t *db_catalog_list(PGconn *conn, struct err *err);
/* Rows {id, type, name, description, enabled}. */
json_t *db_service_list(PGconn *conn, struct err *err);
json_t *db_service_get(PGconn *conn, const char *id, struct err *err);
/* ERR_CONFLICT when a service of that type exists. */
int db_service_create(PGconn *conn, const char *id, const char *type, const char *name,
                      const char *description, bool enabled, struct err *err);
/* Deletes its endpoints too. */
int db_service_delete(PGconn *conn, const char *id, struct err *err);
/* Rows {id, service_id, interface, region, url, enabled}, enabled or not. */
json_t *db_endpoint_list(PGconn *conn, struct err *err);
json_t *db_endpoint_get(PGconn *conn, const char *id, struct err *err);
/* ERR_CONFLICT when the service already has an endpoint for that interface and
 * region; ERR_CONFLICT (foreign key) when the service does not exist. */
int db_endpoint_create(PGconn *conn, const char *id, const char *service_id, const char *interface,
                       const char *region, const char *url, bool enabled, struct err *err);
int db_endpoint_delete(PGconn *conn, const char *id, struct err *err);
/* Create the service (by type) when missing and set its @interface endpoint in
 * @region to @url (idempotent). */
int db_catalog_ensure(PGconn *conn, const char *type, const char *name, const char *interface,
                      const char *region, const char *url, struct err *err);

/* ---- token revocation events ---- */
/* Any of @audit_id, @user_id, @project_id may be NULL (not all). Tokens issued
 * at or before @issued_before_us (microseconds since the epoch) match. */
int db_revocation_add(PGconn *conn, const char *audit_id, const char *user_id,
                      const char *project_id, int64_t issued_before_us, struct err *err);
/* Rows {id, audit_id, user_id, project_id, issued_before_us} with id > @after_id,
 * plus every event created in the last minute (a sequence value can commit
 * after a higher one: callers skip ids they already hold). */
json_t *db_revocation_list(PGconn *conn, int64_t after_id, struct err *err);
/* Delete events created more than @max_age_s seconds ago (no token they match
 * can still be valid). */
int db_revocation_prune(PGconn *conn, long max_age_s, struct err *err);

#endif
