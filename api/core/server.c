/* cloud-api's set-up: configuration, the database pool, token keys, caches and
 * the router over every family's route table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "db.h"
#include "image_api.h"
#include "keystone.h"
#include "log.h"
#include "mem.h"
#include "server.h"

#ifndef NUBE_MIGRATIONS_DIR
#define NUBE_MIGRATIONS_DIR "/usr/share/nube/migrations"
#endif

/* Every resource family's routes. A new family adds its table here. */
const struct api_route_table *const api_tables[] = {
    &identity_discovery_routes,
    &identity_tokens_routes,
    &identity_domains_routes,
    &identity_projects_routes,
    &identity_users_routes,
    &identity_roles_routes,
    &identity_catalog_routes,
    /* compute (api/compute.h): literal paths before {id} ones */
    &compute_versions_routes,
    &compute_flavors_routes,
    &compute_keypairs_routes,
    &compute_servers_routes,
    &compute_actions_routes,
    &compute_metadata_routes,
    &compute_server_tags_routes,
    &compute_limits_routes,
    &compute_hypervisors_routes,
    &compute_services_routes,
    &compute_az_routes,
    &compute_server_groups_routes,
    &compute_images_routes,
    /* image (api/image_api.h) */
    &image_versions_routes,
    &image_schemas_routes,
    &image_images_routes,
    &image_upload_routes,
    &image_tags_routes,
    &image_members_routes,
    &image_actions_routes,
    NULL,
};

static int
get_str(const struct config *cfg, const char *section, const char *key, const char *dflt, char *out,
        size_t cap, struct err *err)
{
    const char *v = config_get(cfg, section, key, dflt);
    if (!v)
        v = "";
    if (strlen(v) >= cap)
        return err_set(err, ERR_INVALID, "[%s] %s is too long", section, key);
    strlcpy_n(out, v, cap);
    return 0;
}

static int
get_long(const struct config *cfg, const char *section, const char *key, long dflt, long min,
         long max, long *out, struct err *err)
{
    if (config_get_long(cfg, section, key, dflt, out, err) < 0)
        return -1;
    if (*out < min || *out > max)
        return err_set(err, ERR_INVALID, "[%s] %s must be between %ld and %ld", section, key, min,
                       max);
    return 0;
}

int
api_config_load(const struct config *cfg, struct api_config *c, struct err *err)
{
    memset(c, 0, sizeof(*c));
    if (get_str(cfg, "api", "host", "127.0.0.1", c->listen_host, sizeof(c->listen_host), err) < 0 ||
        get_long(cfg, "api", "port", 5000, 1, 65535, &c->port, err) < 0 ||
        get_long(cfg, "api", "workers", 4, 1, 256, &c->workers, err) < 0 ||
        get_long(cfg, "api", "max_body_size", 1024 * 1024, 1024, 1L << 30, &c->max_body_size, err) <
            0 ||
        get_long(cfg, "api", "connection_timeout", 75, 60, 3600, &c->connection_timeout, err) < 0 ||
        get_long(cfg, "api", "shutdown_timeout", 30, 0, 3600, &c->shutdown_timeout, err) < 0)
        return -1;
    /* [api] listen = HOST:PORT (or [V6]:PORT) is a shorthand for host + port */
    const char *listen = config_get(cfg, "api", "listen", NULL);
    if (listen && *listen) {
        const char *colon = strrchr(listen, ':');
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        size_t hlen = colon ? (size_t)(colon - listen) : 0;
        if (!colon || !*(colon + 1) || *end || port < 1 || port > 65535 ||
            hlen >= sizeof(c->listen_host))
            return err_set(err, ERR_INVALID, "[api] listen must be HOST:PORT");
        if (hlen >= 2 && listen[0] == '[' && listen[hlen - 1] == ']') {
            listen++;
            hlen -= 2;
        }
        memcpy(c->listen_host, listen, hlen);
        c->listen_host[hlen] = '\0';
        c->port = port;
    }
    char dflt_url[300];
    snprintf(dflt_url, sizeof(dflt_url), "http://%s:%ld",
             strcmp(c->listen_host, "0.0.0.0") == 0 ? "127.0.0.1" : c->listen_host, c->port);
    if (get_str(cfg, "api", "public_url", dflt_url, c->public_url, sizeof(c->public_url), err) < 0)
        return -1;
    size_t n = strlen(c->public_url);
    while (n > 0 && c->public_url[n - 1] == '/')
        c->public_url[--n] = '\0';
    if (strncmp(c->public_url, "http://", 7) != 0 && strncmp(c->public_url, "https://", 8) != 0)
        return err_set(err, ERR_INVALID, "[api] public_url must start with http:// or https://");

    if (get_str(cfg, "database", "connection", "", c->connection, sizeof(c->connection), err) < 0 ||
        get_long(cfg, "database", "pool_size", c->workers + 2, 1, 1000, &c->db_pool_size, err) <
            0 ||
        get_str(cfg, "database", "migrations_dir", NUBE_MIGRATIONS_DIR, c->migrations_dir,
                sizeof(c->migrations_dir), err) < 0)
        return -1;
    if (!c->connection[0])
        return err_set(err, ERR_INVALID, "[database] connection is required");

    if (get_str(cfg, "identity", "key_dir", "/var/lib/nube/keys", c->key_dir, sizeof(c->key_dir),
                err) < 0 ||
        get_long(cfg, "identity", "token_expiration", 3600, 60, 7 * 24 * 3600, &c->token_expiration,
                 err) < 0 ||
        get_long(cfg, "identity", "role_cache_ttl", 10, 0, 3600, &c->role_cache_ttl, err) < 0 ||
        get_long(cfg, "identity", "revocation_refresh_ms", 1000, 0, 600000, &c->revocation_refresh,
                 err) < 0 ||
        get_str(cfg, "identity", "region", "RegionOne", c->region, sizeof(c->region), err) < 0)
        return -1;
    if (get_long(cfg, "compute", "service_down_time", 60, 1, 86400, &c->service_down_time, err) <
            0 ||
        get_long(cfg, "compute", "console_timeout_ms", 10000, 100, 600000, &c->console_timeout_ms,
                 err) < 0 ||
        get_long(cfg, "quota", "instances", 10, -1, 1L << 30, &c->quota_instances, err) < 0 ||
        get_long(cfg, "quota", "cores", 20, -1, 1L << 30, &c->quota_cores, err) < 0 ||
        get_long(cfg, "quota", "ram", 51200, -1, 1L << 40, &c->quota_ram, err) < 0 ||
        get_long(cfg, "quota", "key_pairs", 100, -1, 1L << 30, &c->quota_key_pairs, err) < 0 ||
        get_long(cfg, "quota", "metadata_items", 128, -1, 1L << 30, &c->quota_metadata_items, err) <
            0 ||
        get_long(cfg, "quota", "server_groups", 10, -1, 1L << 30, &c->quota_server_groups, err) <
            0 ||
        get_long(cfg, "quota", "server_group_members", 10, -1, 1L << 30,
                 &c->quota_server_group_members, err) < 0 ||
        get_str(cfg, "bus", "url", NULL, c->bus_url, sizeof(c->bus_url), err) < 0 ||
        get_str(cfg, "image", "store_dir", "/var/lib/nube/images", c->image_store_dir,
                sizeof(c->image_store_dir), err) < 0 ||
        get_long(cfg, "image", "max_image_size", 1L << 40, 1, 1L << 50, &c->image_max_size, err) <
            0 ||
        get_str(cfg, "image", "compute_url", "", c->image_compute_url, sizeof(c->image_compute_url),
                err) < 0)
        return -1;
    n = strlen(c->image_compute_url);
    while (n > 0 && c->image_compute_url[n - 1] == '/')
        c->image_compute_url[--n] = '\0';
    if (n && strncmp(c->image_compute_url, "http://", 7) != 0 &&
        strncmp(c->image_compute_url, "https://", 8) != 0)
        return err_set(err, ERR_INVALID, "[image] compute_url must start with http:// or https://");
    return 0;
}

int
api_server_init(struct api_server *srv, const struct api_config *cfg, struct err *err)
{
    memset(srv, 0, sizeof(*srv));
    srv->cfg = *cfg;
    if (token_keys_load(cfg->key_dir, &srv->keys, err) < 0)
        return err_prefix(err, "loading token keys");
    srv->db = db_pool_new(cfg->connection, (int)cfg->db_pool_size, err);
    if (!srv->db)
        return err_prefix(err, "database pool");
    srv->revoke = revoke_cache_new(cfg->revocation_refresh, cfg->token_expiration);
    srv->roles = role_cache_new(cfg->role_cache_ttl);
    srv->router = api_router_new();
    for (int i = 0; api_tables[i]; i++)
        api_router_add(srv->router, api_tables[i]);
    atomic_init(&srv->inflight, 0);
    return 0;
}

void
api_server_fini(struct api_server *srv)
{
    api_router_free(srv->router);
    role_cache_free(srv->roles);
    revoke_cache_free(srv->revoke);
    db_pool_free(srv->db);
    memset(&srv->keys, 0, sizeof(srv->keys));
    srv->router = NULL;
    srv->roles = NULL;
    srv->revoke = NULL;
    srv->db = NULL;
}
