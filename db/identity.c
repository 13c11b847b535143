/* Identity tables: every statement is parameterised; rows come back as JSON. */
#include "identity.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

/* The single row of a query, or NULL with ERR_NOT_FOUND naming @what. */
static json_t *
db_query_one(PGconn *conn, const char *what, const char *key, const char *sql, int n,
             const char *const *params, struct err *err)
{
    return db_first_row(db_query_json(conn, sql, n, params, err), err, "Could not find %s: %s.",
                        what, key);
}

/* A statement that must touch a row; ERR_NOT_FOUND otherwise. */
static int
db_cmd_one(PGconn *conn, const char *what, const char *key, const char *sql, int n,
           const char *const *params, struct err *err)
{
    PGresult *res = db_exec(conn, sql, n, params, err);
    if (!res)
        return -1;
    const char *tuples = PQcmdTuples(res);
    bool touched = tuples && atoi(tuples) > 0;
    PQclear(res);
    if (!touched)
        return err_set(err, ERR_NOT_FOUND, "Could not find %s: %s.", what, key);
    return 0;
}

static const char *
db_tristate(int v)
{
    return v < 0 ? NULL : v ? "true" : "false";
}

/* ---- domains ---- */

#define DOMAIN_COLS "id, name, description, enabled"

json_t *
db_domain_get(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_query_one(conn, "domain", id, "SELECT " DOMAIN_COLS " FROM domain WHERE id = $1", 1,
                        p, err);
}

json_t *
db_domain_find(PGconn *conn, const char *name, struct err *err)
{
    const char *p[] = {name};
    return db_query_one(conn, "domain", name, "SELECT " DOMAIN_COLS " FROM domain WHERE name = $1",
                        1, p, err);
}

json_t *
db_domain_list(PGconn *conn, const char *name, struct err *err)
{
    const char *p[] = {name};
    return db_query_json(conn,
                         "SELECT " DOMAIN_COLS " FROM domain WHERE ($1::text IS NULL OR name = $1)"
                         " ORDER BY name",
                         1, p, err);
}

int
db_domain_ensure(PGconn *conn, const char *id, const char *name, struct err *err)
{
    const char *p[] = {id, name};
    return db_cmd(conn, "INSERT INTO domain (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", 2,
                  p, err);
}

int
db_domain_create(PGconn *conn, const char *id, const char *name, const char *description,
                 bool enabled, struct err *err)
{
    const char *p[] = {id, name, description ? description : "", enabled ? "true" : "false"};
    return db_cmd(conn,
                  "INSERT INTO domain (id, name, description, enabled) VALUES ($1, $2, $3, $4)", 4,
                  p, err);
}

int
db_domain_update(PGconn *conn, const char *id, const char *name, const char *description,
                 int enabled, struct err *err)
{
    const char *p[] = {id, name, description, db_tristate(enabled)};
    return db_cmd_one(conn, "domain", id,
                      "UPDATE domain SET name = coalesce($2, name),"
                      " description = coalesce($3, description),"
                      " enabled = coalesce($4::boolean, enabled) WHERE id = $1",
                      4, p, err);
}

int
db_domain_delete(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_cmd_one(conn, "domain", id, "DELETE FROM domain WHERE id = $1", 1, p, err);
}

json_t *
db_domain_members(PGconn *conn, const char *id, const char *what, struct err *err)
{
    const char *p[] = {id};
    return db_query_json(conn,
                         strcmp(what, "user") == 0
                             ? "SELECT id FROM identity_user WHERE domain_id = $1"
                             : "SELECT id FROM project WHERE domain_id = $1",
                         1, p, err);
}

/* ---- projects ---- */

#define PROJECT_COLS                                                                               \
    "p.id, p.name, p.domain_id, p.description, p.enabled, p.parent_id,"                            \
    " (SELECT coalesce(json_agg(t.name ORDER BY t.name), '[]')::text FROM project_tag t"           \
    " WHERE t.project_id = p.id) AS tags"
/* the project's tags as a text[] */
#define PROJECT_TAGS                                                                               \
    "coalesce((SELECT array_agg(t.name) FROM project_tag t WHERE t.project_id = p.id),"            \
    " '{}'::text[])"

json_t *
db_project_get(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_query_one(conn, "project", id,
                        "SELECT " PROJECT_COLS " FROM project p WHERE p.id = $1", 1, p, err);
}

json_t *
db_project_find(PGconn *conn, const char *name, const char *domain_id, struct err *err)
{
    const char *p[] = {name, domain_id};
    return db_query_one(
        conn, "project", name,
        "SELECT " PROJECT_COLS " FROM project p WHERE p.name = $1 AND p.domain_id = $2", 2, p, err);
}

json_t *
db_project_list(PGconn *conn, const struct db_project_filter *f, struct err *err)
{
    const char *p[] = {f->name,     f->domain_id, db_tristate(f->enabled), f->parent_id, f->tags,
                       f->tags_any, f->not_tags,  f->not_tags_any};
    return db_query_json(
        conn,
        "SELECT " PROJECT_COLS " FROM project p"
        " WHERE ($1::text IS NULL OR p.name = $1)"
        " AND ($2::text IS NULL OR p.domain_id = $2)"
        " AND ($3::boolean IS NULL OR p.enabled = $3)"
        " AND ($4::text IS NULL OR p.parent_id = $4"
        " OR (p.parent_id IS NULL AND p.domain_id = $4))"
        " AND ($5::text IS NULL OR " PROJECT_TAGS " @> string_to_array($5, ','))"
        " AND ($6::text IS NULL OR " PROJECT_TAGS " && string_to_array($6, ','))"
        " AND ($7::text IS NULL OR NOT " PROJECT_TAGS " @> string_to_array($7, ','))"
        " AND ($8::text IS NULL OR NOT " PROJECT_TAGS " && string_to_array($8, ','))"
        " ORDER BY p.name, p.id",
        8, p, err);
}

json_t *
db_project_list_for_user(PGconn *conn, const char *user_id, struct err *err)
{
    const char *p[] = {user_id};
    return db_query_json(conn,
                         "SELECT DISTINCT " PROJECT_COLS " FROM project p"
                         " JOIN role_assignment a ON a.project_id = p.id"
                         " WHERE a.user_id = $1 ORDER BY p.name, p.id",
                         1, p, err);
}

int
db_project_create(PGconn *conn, const char *id, const char *name, const char *domain_id,
                  const char *parent_id, const char *description, bool enabled, const char *tags,
                  struct err *err)
{
    const char *p[] = {
        id, name, domain_id, description ? description : "", enabled ? "true" : "false", parent_id};
    if (db_cmd(conn,
               "INSERT INTO project (id, name, domain_id, description, enabled, parent_id)"
               " VALUES ($1, $2, $3, $4, $5, $6)",
               6, p, err) < 0)
        return -1;
    return tags ? db_project_tags_set(conn, id, tags, err) : 0;
}

int
db_project_update(PGconn *conn, const char *id, const char *name, const char *description,
                  int enabled, struct err *err)
{
    const char *p[] = {id, name, description, db_tristate(enabled)};
    return db_cmd_one(conn, "project", id,
                      "UPDATE project SET name = coalesce($2, name),"
                      " description = coalesce($3, description),"
                      " enabled = coalesce($4::boolean, enabled) WHERE id = $1",
                      4, p, err);
}

int
db_project_delete(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_cmd_one(conn, "project", id, "DELETE FROM project WHERE id = $1", 1, p, err);
}

int
db_project_children(PGconn *conn, const char *id, long *count, struct err *err)
{
    const char *p[] = {id};
    json_t *row = db_first_row(
        db_query_json(conn, "SELECT count(*) AS n FROM project WHERE parent_id = $1", 1, p, err),
        err, "Could not count the children of project %s.", id);
    if (!row)
        return -1;
    *count = (long)json_integer_value(json_object_get(row, "n"));
    json_decref(row);
    return 0;
}

json_t *
db_project_lineage(PGconn *conn, const char *id, bool up, struct err *err)
{
    const char *p[] = {id};
    /* bounded: a project tree is at most a few levels deep, and a cycle cannot
     * be made (a parent is set once, at creation, to an existing project) */
    return db_query_json(conn,
                         up ? "WITH RECURSIVE up(id, depth) AS ("
                              " SELECT parent_id, 1 FROM project WHERE id = $1"
                              " UNION ALL SELECT q.parent_id, up.depth + 1 FROM up"
                              " JOIN project q ON q.id = up.id WHERE up.depth < 64)"
                              " SELECT " PROJECT_COLS " FROM up JOIN project p ON p.id = up.id"
                              " ORDER BY up.depth"
                            : "WITH RECURSIVE down(id, depth) AS ("
                              " SELECT id, 1 FROM project WHERE parent_id = $1"
                              " UNION ALL SELECT q.id, down.depth + 1 FROM down"
                              " JOIN project q ON q.parent_id = down.id WHERE down.depth < 64)"
                              " SELECT " PROJECT_COLS " FROM down JOIN project p ON p.id = down.id"
                              " ORDER BY down.depth, p.name, p.id",
                         1, p, err);
}

int
db_project_tags_set(PGconn *conn, const char *id, const char *tags, struct err *err)
{
    const char *p[] = {id, tags};
    if (db_cmd(conn, "DELETE FROM project_tag WHERE project_id = $1", 1, p, err) < 0)
        return -1;
    return db_cmd(conn,
                  "INSERT INTO project_tag (project_id, name)"
                  " SELECT DISTINCT $1, n FROM unnest(string_to_array($2, ',')) AS n WHERE n <> ''",
                  2, p, err);
}

int
db_project_tag_add(PGconn *conn, const char *id, const char *tag, struct err *err)
{
    const char *p[] = {id, tag};
    return db_cmd(conn,
                  "INSERT INTO project_tag (project_id, name) VALUES ($1, $2)"
                  " ON CONFLICT DO NOTHING",
                  2, p, err);
}

int
db_project_tag_delete(PGconn *conn, const char *id, const char *tag, struct err *err)
{
    const char *p[] = {id, tag};
    return db_cmd_one(conn, "tag", tag,
                      "DELETE FROM project_tag WHERE project_id = $1 AND name = $2", 2, p, err);
}

/* ---- users ---- */

#define USER_COLS                                                                                  \
    "u.id, u.name, u.domain_id, u.password_hash, u.enabled, u.default_project_id,"                 \
    " u.description, u.email"

json_t *
db_user_get(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_query_one(conn, "user", id,
                        "SELECT " USER_COLS " FROM identity_user u WHERE u.id = $1", 1, p, err);
}

json_t *
db_user_find(PGconn *conn, const char *name, const char *domain_id, struct err *err)
{
    const char *p[] = {name, domain_id};
    return db_query_one(conn, "user", name,
                        "SELECT " USER_COLS
                        " FROM identity_user u WHERE u.name = $1 AND u.domain_id = $2",
                        2, p, err);
}

json_t *
db_user_list(PGconn *conn, const char *name, const char *domain_id, int enabled, struct err *err)
{
    const char *p[] = {name, domain_id, db_tristate(enabled)};
    return db_query_json(conn,
                         "SELECT " USER_COLS " FROM identity_user u"
                         " WHERE ($1::text IS NULL OR u.name = $1)"
                         " AND ($2::text IS NULL OR u.domain_id = $2)"
                         " AND ($3::boolean IS NULL OR u.enabled = $3) ORDER BY u.name, u.id",
                         3, p, err);
}

int
db_user_create(PGconn *conn, const char *id, const char *name, const char *domain_id,
               const char *password_hash, bool enabled, const char *default_project_id,
               const char *description, const char *email, struct err *err)
{
    const char *p[] = {id,
                       name,
                       domain_id,
                       password_hash,
                       enabled ? "true" : "false",
                       default_project_id,
                       description ? description : "",
                       email};
    return db_cmd(conn,
                  "INSERT INTO identity_user (id, name, domain_id, password_hash, enabled,"
                  " default_project_id, description, email, password_changed_at)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
                  " CASE WHEN $4::text IS NULL THEN NULL ELSE now() END)",
                  8, p, err);
}

int
db_user_update(PGconn *conn, const char *id, const char *name, const char *password_hash,
               int enabled, const char *default_project_id, const char *description,
               const char *email, struct err *err)
{
    const char *p[] = {id,          name, password_hash, db_tristate(enabled), default_project_id,
                       description, email};
    return db_cmd_one(conn, "user", id,
                      "UPDATE identity_user SET name = coalesce($2, name),"
                      " password_hash = coalesce($3, password_hash),"
                      " password_changed_at = CASE WHEN $3::text IS NULL"
                      " THEN password_changed_at ELSE now() END,"
                      " enabled = coalesce($4::boolean, enabled),"
                      " default_project_id = coalesce($5, default_project_id),"
                      " description = coalesce($6, description),"
                      " email = coalesce($7, email) WHERE id = $1",
                      7, p, err);
}

int
db_user_delete(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_cmd_one(conn, "user", id, "DELETE FROM identity_user WHERE id = $1", 1, p, err);
}

/* ---- roles ---- */

#define ROLE_COLS "id, name, description"

json_t *
db_role_get(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_query_one(conn, "role", id, "SELECT " ROLE_COLS " FROM role WHERE id = $1", 1, p,
                        err);
}

json_t *
db_role_find(PGconn *conn, const char *name, struct err *err)
{
    const char *p[] = {name};
    return db_query_one(conn, "role", name, "SELECT " ROLE_COLS " FROM role WHERE name = $1", 1, p,
                        err);
}

json_t *
db_role_list(PGconn *conn, const char *name, struct err *err)
{
    const char *p[] = {name};
    return db_query_json(conn,
                         "SELECT " ROLE_COLS " FROM role WHERE ($1::text IS NULL OR name = $1)"
                         " ORDER BY name",
                         1, p, err);
}

int
db_role_create(PGconn *conn, const char *id, const char *name, const char *description,
               struct err *err)
{
    const char *p[] = {id, name, description ? description : ""};
    return db_cmd(conn, "INSERT INTO role (id, name, description) VALUES ($1, $2, $3)", 3, p, err);
}

int
db_role_delete(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_cmd_one(conn, "role", id, "DELETE FROM role WHERE id = $1", 1, p, err);
}

/* ---- role assignments ---- */

int
db_assignment_grant(PGconn *conn, const char *user_id, const char *project_id, const char *role_id,
                    struct err *err)
{
    const char *p[] = {user_id, project_id, role_id};
    return db_cmd(conn,
                  "INSERT INTO role_assignment (user_id, project_id, role_id) VALUES ($1, $2, $3)"
                  " ON CONFLICT DO NOTHING",
                  3, p, err);
}

int
db_assignment_check(PGconn *conn, const char *user_id, const char *project_id, const char *role_id,
                    bool *exists, struct err *err)
{
    const char *p[] = {user_id, project_id, role_id};
    PGresult *res = db_exec(conn,
                            "SELECT 1 FROM role_assignment WHERE user_id = $1 AND project_id = $2"
                            " AND role_id = $3",
                            3, p, err);
    if (!res)
        return -1;
    *exists = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

int
db_assignment_revoke(PGconn *conn, const char *user_id, const char *project_id, const char *role_id,
                     struct err *err)
{
    const char *p[] = {user_id, project_id, role_id};
    return db_cmd_one(conn, "role assignment", role_id,
                      "DELETE FROM role_assignment WHERE user_id = $1 AND project_id = $2"
                      " AND role_id = $3",
                      3, p, err);
}

json_t *
db_assignment_list(PGconn *conn, const char *user_id, const char *project_id, const char *role_id,
                   struct err *err)
{
    const char *p[] = {user_id, project_id, role_id};
    return db_query_json(
        conn,
        "SELECT a.user_id, u.name AS user_name, u.domain_id AS user_domain_id,"
        " ud.name AS user_domain_name, a.project_id, p.name AS project_name,"
        " p.domain_id AS project_domain_id, pd.name AS project_domain_name,"
        " a.role_id, r.name AS role_name"
        " FROM role_assignment a JOIN identity_user u ON u.id = a.user_id"
        " JOIN domain ud ON ud.id = u.domain_id"
        " JOIN project p ON p.id = a.project_id JOIN domain pd ON pd.id = p.domain_id"
        " JOIN role r ON r.id = a.role_id"
        " WHERE ($1::text IS NULL OR a.user_id = $1)"
        " AND ($2::text IS NULL OR a.project_id = $2)"
        " AND ($3::text IS NULL OR a.role_id = $3)"
        " ORDER BY p.name, u.name, r.name",
        3, p, err);
}

json_t *
db_assignment_roles(PGconn *conn, const char *user_id, const char *project_id, struct err *err)
{
    const char *p[] = {user_id, project_id};
    return db_query_json(
        conn,
        "SELECT r.id, r.name FROM role_assignment a JOIN role r ON r.id = a.role_id"
        " WHERE a.user_id = $1 AND a.project_id = $2 ORDER BY r.name, r.id",
        2, p, err);
}

/* ---- service catalog ---- */

json_t *
db_catalog_list(PGconn *conn, struct err *err)
{
    return db_query_json(conn,
                         "SELECT s.id AS service_id, s.type, s.name, e.id AS endpoint_id,"
                         " e.interface, e.region, e.url FROM catalog_service s"
                         " JOIN catalog_endpoint e ON e.service_id = s.id"
                         " WHERE s.enabled AND e.enabled ORDER BY s.type, e.interface, e.region",
                         0, NULL, err);
}

json_t *
db_service_list(PGconn *conn, struct err *err)
{
    return db_query_json(conn,
                         "SELECT id, type, name, description, enabled FROM catalog_service"
                         " ORDER BY type",
                         0, NULL, err);
}

json_t *
db_service_get(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_query_one(conn, "service", id,
                        "SELECT id, type, name, description, enabled FROM catalog_service"
                        " WHERE id = $1",
                        1, p, err);
}

int
db_service_create(PGconn *conn, const char *id, const char *type, const char *name,
                  const char *description, bool enabled, struct err *err)
{
    const char *p[] = {id, type, name, description ? description : "", enabled ? "true" : "false"};
    return db_cmd(conn,
                  "INSERT INTO catalog_service (id, type, name, description, enabled)"
                  " VALUES ($1, $2, $3, $4, $5)",
                  5, p, err);
}

int
db_service_delete(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_cmd_one(conn, "service", id, "DELETE FROM catalog_service WHERE id = $1", 1, p, err);
}

#define ENDPOINT_COLS "id, service_id, interface, region, url, enabled"

json_t *
db_endpoint_list(PGconn *conn, struct err *err)
{
    return db_query_json(conn,
                         "SELECT " ENDPOINT_COLS " FROM catalog_endpoint"
                         " ORDER BY service_id, interface, region",
                         0, NULL, err);
}

json_t *
db_endpoint_get(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_query_one(conn, "endpoint", id,
                        "SELECT " ENDPOINT_COLS " FROM catalog_endpoint WHERE id = $1", 1, p, err);
}

int
db_endpoint_create(PGconn *conn, const char *id, const char *service_id, const char *interface,
                   const char *region, const char *url, bool enabled, struct err *err)
{
    const char *p[] = {id, service_id, interface, region, url, enabled ? "true" : "false"};
    return db_cmd(conn,
                  "INSERT INTO catalog_endpoint (id, service_id, interface, region, url, enabled)"
                  " VALUES ($1, $2, $3, $4, $5, $6)",
                  6, p, err);
}

int
db_endpoint_delete(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_cmd_one(conn, "endpoint", id, "DELETE FROM catalog_endpoint WHERE id = $1", 1, p,
                      err);
}

int
db_catalog_ensure(PGconn *conn, const char *type, const char *name, const char *interface,
                  const char *region, const char *url, struct err *err)
{
    /* ids are derived from the natural keys, so concurrent bootstraps agree */
    const char *p1[] = {type, name};
    if (db_cmd(conn,
               "INSERT INTO catalog_service (id, type, name)"
               " VALUES (md5('service:' || $1), $1, $2)"
               " ON CONFLICT (type) DO UPDATE SET name = excluded.name",
               2, p1, err) < 0)
        return -1;
    const char *p2[] = {type, interface, region, url};
    return db_cmd(conn,
                  "INSERT INTO catalog_endpoint (id, service_id, interface, region, url)"
                  " SELECT md5('endpoint:' || $1 || ':' || $2 || ':' || $3), s.id, $2, $3, $4"
                  " FROM catalog_service s WHERE s.type = $1"
                  " ON CONFLICT (service_id, interface, region) DO UPDATE SET url = excluded.url",
                  4, p2, err);
}

/* ---- revocation events ---- */

int
db_revocation_add(PGconn *conn, const char *audit_id, const char *user_id, const char *project_id,
                  int64_t issued_before_us, struct err *err)
{
    char before[32];
    snprintf(before, sizeof(before), "%" PRId64, issued_before_us);
    const char *p[] = {audit_id, user_id, project_id, before};
    return db_cmd(conn,
                  "INSERT INTO revocation_event (audit_id, user_id, project_id, issued_before)"
                  " VALUES ($1, $2, $3,"
                  " 'epoch'::timestamptz + $4::bigint * interval '1 microsecond')",
                  4, p, err);
}

json_t *
db_revocation_list(PGconn *conn, int64_t after_id, struct err *err)
{
    char after[32];
    snprintf(after, sizeof(after), "%" PRId64, after_id);
    const char *p[] = {after};
    return db_query_json(conn,
                         "SELECT id, audit_id, user_id, project_id,"
                         " ((extract(epoch FROM issued_before) * 1000000)::numeric(20,0))::bigint"
                         " AS issued_before_us FROM revocation_event WHERE id > $1::bigint"
                         /* ids commit out of order: look back at recent ones too */
                         " OR created_at > now() - interval '60 seconds'"
                         " ORDER BY id",
                         1, p, err);
}

int
db_revocation_prune(PGconn *conn, long max_age_s, struct err *err)
{
    char age[32];
    snprintf(age, sizeof(age), "%ld", max_age_s);
    const char *p[] = {age};
    return db_cmd(conn,
                  "DELETE FROM revocation_event"
                  " WHERE created_at < now() - $1::bigint * interval '1 second'",
                  1, p, err);
}
