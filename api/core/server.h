/* cloud-api's process-wide state, shared by the HTTP layer, the auth
 * middleware and the handlers. */
#ifndef NUBE_API_SERVER_H
#define NUBE_API_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "config.h"
#include "token.h"

struct db_pool;
struct revoke_cache;
struct role_cache;

struct api_config {
    char listen_host[256];
    long port;
    char public_url[512]; /* no trailing slash */
    long workers;
    long max_body_size;
    long connection_timeout; /* seconds an idle keep-alive connection is held */
    long shutdown_timeout;   /* seconds to wait for in-flight requests */
    char policy_file[1024];  /* [api] policy_file: rule overrides (JSON), "" for none */
    char connection[1024];   /* libpq conninfo */
    long db_pool_size;
    char migrations_dir[1024];
    char key_dir[1024];
    long token_expiration;   /* seconds */
    long role_cache_ttl;     /* seconds */
    long revocation_refresh; /* milliseconds between revocation list refreshes */
    char region[64];
    /* [compute], [quota], [bus]: the compute API (api/compute.h) */
    long service_down_time;  /* seconds without a heartbeat before a host is down */
    long console_timeout_ms; /* get_console_output call timeout */
    long quota_instances, quota_cores, quota_ram, quota_key_pairs, quota_metadata_items,
        quota_server_groups, quota_server_group_members;
    char bus_url[512];
    /* [image] (api/image_api.h; store_dir is also where the compute API's
     * file:// image locations point) */
    char image_store_dir[1024];
    /* [image] compute_url: Glance as compute hosts reach it; "" = they read
     * the image store through file:// (all-in-one) */
    char image_compute_url[512]; /* no trailing slash */
    long image_max_size;         /* [image] max_image_size: bytes an upload may hold */
};

struct api_server {
    struct api_config cfg;
    struct db_pool *db;
    struct api_router *router;
    struct token_keys keys;
    struct revoke_cache *revoke;
    struct role_cache *roles;
    void *mhd; /* struct MHD_Daemon */
    atomic_int inflight;
};

/* Read the [api], [database], [identity] sections, with defaults. */
int api_config_load(const struct config *cfg, struct api_config *out, struct err *err);

/* The route tables of every family, NULL-terminated (server.c). */
extern const struct api_route_table *const api_tables[];

/* Set up everything but the listener (db pool, keys, caches, router). */
int api_server_init(struct api_server *srv, const struct api_config *cfg, struct err *err);
void api_server_fini(struct api_server *srv);
/* Start listening (libmicrohttpd, epoll, a pool of cfg.workers threads). */
int api_server_start(struct api_server *srv, struct err *err);
/* Stop accepting, wait for in-flight requests (cfg.shutdown_timeout), stop. */
void api_server_stop(struct api_server *srv);

/* ---- the auth middleware (auth.c) ---- */

/* Turn X-Auth-Token into req->ctx: open the token, check revocations, look up
 * the caller's roles (cached briefly). ERR_UNAUTHORIZED when it is not valid. */
int api_auth_token(struct api_req *req, const char *token, struct api_ctx *ctx,
                   struct token_payload *payload, struct err *err);
struct role_cache *role_cache_new(long ttl_s);
void role_cache_free(struct role_cache *c);
/* Forget every cached entry (after a grant, revoke, or role deletion). */
void role_cache_clear(struct role_cache *c);

/* ---- the revocation list (revoke.c) ---- */

struct revoke_cache *revoke_cache_new(long refresh_ms, long max_age_s);
void revoke_cache_free(struct revoke_cache *c);
/* Is @p revoked? Refreshes the list from the database when it is older than the
 * refresh interval. -1 with ERR_UNAVAILABLE when the list cannot be read. */
int revoke_check(struct api_server *srv, const struct token_payload *p, bool *revoked,
                 struct err *err);
/* Record an event (NULL fields are wildcards) and refresh the list now. */
int revoke_add(struct api_server *srv, PGconn *conn, const char *audit_id, const char *user_id,
               const char *project_id, struct err *err);

#endif
