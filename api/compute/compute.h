/* The compute API (Nova v2.1 subset) under {public_url}/compute: one file per
 * resource family (a file in compute/) and the shared helpers below. docs/compute-flow.md is the
 * contract with cloud-scheduler and cloud-compute. */
#ifndef NUBE_API_COMPUTE_H
#define NUBE_API_COMPUTE_H

#include <jansson.h>
#include <stdbool.h>

#include "api.h"
#include "server.h"

#define COMPUTE_PREFIX "/compute"
#define COMPUTE_V21 "/compute/v2.1"
/* Microversions as major * 1000 + minor (api_req.microversion). */
#define COMPUTE_MV(major, minor) ((major)*1000 + (minor))
#define COMPUTE_MV_MIN COMPUTE_MV(2, 1)
#define COMPUTE_MV_MAX COMPUTE_MV(2, 28)
#define COMPUTE_VERSION_MIN "2.1"
#define COMPUTE_VERSION_MAX "2.28"

/* ---- route tables (listed in api_tables[]) ---- */
extern const struct api_route_table compute_versions_routes;
extern const struct api_route_table compute_flavors_routes;
extern const struct api_route_table compute_keypairs_routes;
extern const struct api_route_table compute_servers_routes;
extern const struct api_route_table compute_actions_routes;
extern const struct api_route_table compute_metadata_routes;
extern const struct api_route_table compute_limits_routes;
extern const struct api_route_table compute_hypervisors_routes;
extern const struct api_route_table compute_services_routes;
extern const struct api_route_table compute_az_routes;
extern const struct api_route_table compute_server_groups_routes;
extern const struct api_route_table compute_images_routes;
extern const struct api_route_table compute_server_tags_routes;

/* ---- shared helpers (compute/util.c) ---- */

/* Every compute handler starts here: negotiates the microversion
 * (OpenStack-API-Version: compute X.Y, else X-OpenStack-Nova-API-Version;
 * none is 2.1, "latest" COMPUTE_VERSION_MAX; outside 2.1..max 406, malformed
 * 400) into req->microversion, and echoes the version headers and Vary. */
int compute_begin(struct api_req *req, struct err *err);

/* The request body's top-level object @key, else 400. */
json_t *compute_body(struct api_req *req, const char *key, struct err *err);
/* Its members are checked by the schema validator (core/schema.h). */
/* A query argument as a non-negative integer (absent -> @dflt); 400 otherwise. */
int compute_query_int(struct api_req *req, const char *name, long long dflt, long long max,
                      long long *out, struct err *err);
/* "true"/"1"/"yes" and friends; -1 for absent or "None" (no filter). 400 otherwise. */
int compute_query_bool(struct api_req *req, const char *name, int *out, struct err *err);

/* Is the caller the cloud admin? */
bool compute_is_admin(const struct api_req *req);
/* 403 (Nova's "Policy doesn't allow X to be performed.") unless the policy
 * rule of @action (an upstream name, "os_compute_api:servers:create") allows
 * the caller on a target of its own project and user. */
int compute_authorize(struct api_req *req, const char *action, struct err *err);
/* Whether @action is allowed so (for a variant such as all_projects). */
bool compute_may(struct api_req *req, const char *action);
/* The same on a target of project @project_id (os-quota-sets/{project_id}). */
int compute_authorize_project(struct api_req *req, const char *action, const char *project_id,
                              struct err *err);

/* "{public_url}/compute/v2.1/<path>" and the bookmark "{public_url}/compute/<path>". */
json_t *compute_links(const struct api_req *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A timestamp column rendered by COMPUTE_TS_SQL, or json null. */
json_t *compute_time(const char *ts);
/* SQL rendering a timestamptz as Nova does: "2026-01-02T03:04:05Z" (UTC). */
#define COMPUTE_TS_SQL(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The calling worker thread's bus (opened on first use). */
struct bus *compute_bus(struct api_req *req, struct err *err);
/* Cast @method to @topic on the worker's bus. */
int compute_cast(struct api_req *req, const char *topic, const char *method, json_t *args,
                 struct err *err);

/* The project a request acts on: its token's scope, or 400 for an unscoped token. */
const char *compute_project(struct api_req *req, struct err *err);

/* Is the host's last heartbeat (PostgreSQL timestamptz text, may be NULL)
 * younger than [compute] service_down_time? Evaluated in SQL elsewhere; this is
 * the SQL expression with $n the seconds. */
#define COMPUTE_HOST_UP_SQL(n)                                                                                \
    "(last_heartbeat IS NOT NULL AND NOT forced_down AND last_heartbeat > now() - make_interval(secs => $" #n \
    "::int))"

/* ---- servers (compute/servers.c) ---- */

/* The live (not deleted) instance @id as the caller may see it (its project,
 * or any for admins): a row with id, name, project_id, vm_state, task_state,
 * host, metadata (text) and host_up (bool); 404 otherwise. */
json_t *compute_server_get(struct api_req *req, PGconn *conn, const char *id, struct err *err);

/* POST /servers (server_create.c). */
int compute_server_create(struct api_req *req, struct err *err);
/* The "description" of a create or update body (2.19+; 400 below), or NULL. */
int compute_server_description(struct api_req *req, const json_t *s, const char **out,
                               struct err *err);

/* ---- metadata (compute/metadata.c) ---- */

/* 403 when @meta holds more keys than @project's metadata_items quota. */
int compute_metadata_quota(struct api_req *req, PGconn *conn, const char *project,
                           const json_t *meta, struct err *err);

/* ---- quotas (compute/limits.c) ---- */

enum compute_quota {
    COMPUTE_QUOTA_INSTANCES,
    COMPUTE_QUOTA_CORES,
    COMPUTE_QUOTA_RAM,
    COMPUTE_QUOTA_KEY_PAIRS,
    COMPUTE_QUOTA_METADATA_ITEMS,
    COMPUTE_QUOTA_SERVER_GROUPS,
    COMPUTE_QUOTA_SERVER_GROUP_MEMBERS,
    COMPUTE_QUOTA__LAST
};
const char *compute_quota_name(enum compute_quota q);
/* The effective limit of @project for @q: its quota row, else the default
 * ([quota] section); -1 is unlimited. */
int compute_quota_limit(struct api_req *req, PGconn *conn, const char *project,
                        enum compute_quota q, long long *limit, struct err *err);

/* ---- request bodies (compute/server_schema.c) ---- */

struct api_schema;
/* Nova 2.1's create-server body (the object inside "server"). */
extern const struct api_schema compute_server_create_schema;
/* PUT /servers/{id}'s body. */
extern const struct api_schema compute_server_update_schema;

#endif
