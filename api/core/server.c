/* cloud-api's set-up: configuration, the database pool, token keys, caches and
 * the router over every family's route table. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "db.h"
#include "image_api.h"
#include "keystone.h"
#include "log.h"
#include "mem.h"
#include "policy.h"
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

/* Every setting with a plain default and bounds, as data: section, key, and
 * where it goes in struct api_config. Strings have a default text; numbers a
 * default and the range they must fall in. */
struct api_setting {
    const char *section, *key;
    size_t offset;
    size_t size;         /* a string's buffer; 0 for a number */
    const char *text;    /* a string's default (NULL: "") */
    long dflt, min, max; /* a number's */
};

#define CFG_STR(sec, k, field, d)                                                                  \
    {                                                                                              \
        sec, k, offsetof(struct api_config, field), sizeof(((struct api_config *)0)->field), d, 0, \
            0, 0                                                                                   \
    }
#define CFG_LONG(sec, k, field, d, lo, hi)                                                         \
    {                                                                                              \
        sec, k, offsetof(struct api_config, field), 0, NULL, d, lo, hi                             \
    }

static const struct api_setting api_settings[] = {
    CFG_STR("api", "host", listen_host, "127.0.0.1"),
    CFG_LONG("api", "port", port, 5000, 1, 65535),
    CFG_LONG("api", "workers", workers, 4, 1, 256),
    CFG_LONG("api", "max_body_size", max_body_size, 1024 * 1024, 1024, 1L << 30),
    CFG_LONG("api", "connection_timeout", connection_timeout, 75, 60, 3600),
    CFG_LONG("api", "shutdown_timeout", shutdown_timeout, 30, 0, 3600),
    CFG_STR("api", "policy_file", policy_file, ""),
    CFG_STR("database", "connection", connection, ""),
    CFG_STR("database", "migrations_dir", migrations_dir, NUBE_MIGRATIONS_DIR),
    CFG_STR("identity", "key_dir", key_dir, "/var/lib/nube/keys"),
    CFG_LONG("identity", "token_expiration", token_expiration, 3600, 60, 7 * 24 * 3600),
    CFG_LONG("identity", "role_cache_ttl", role_cache_ttl, 10, 0, 3600),
    CFG_LONG("identity", "revocation_refresh_ms", revocation_refresh, 1000, 0, 600000),
    CFG_STR("identity", "region", region, "RegionOne"),
    CFG_LONG("compute", "service_down_time", service_down_time, 60, 1, 86400),
    CFG_LONG("compute", "console_timeout_ms", console_timeout_ms, 10000, 100, 600000),
    CFG_LONG("quota", "instances", quota_instances, 10, -1, 1L << 30),
    CFG_LONG("quota", "cores", quota_cores, 20, -1, 1L << 30),
    CFG_LONG("quota", "ram", quota_ram, 51200, -1, 1L << 40),
    CFG_LONG("quota", "key_pairs", quota_key_pairs, 100, -1, 1L << 30),
    CFG_LONG("quota", "metadata_items", quota_metadata_items, 128, -1, 1L << 30),
    CFG_LONG("quota", "server_groups", quota_server_groups, 10, -1, 1L << 30),
    CFG_LONG("quota", "server_group_members", quota_server_group_members, 10, -1, 1L << 30),
    CFG_STR("bus", "url", bus_url, NULL),
    CFG_STR("image", "store_dir", image_store_dir, "/var/lib/nube/images"),
    CFG_LONG("image", "max_image_size", image_max_size, 1L << 40, 1, 1L << 50),
    CFG_STR("image", "compute_url", image_compute_url, ""),
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
get_setting(const struct config *cfg, const struct api_setting *s, struct api_config *c,
            struct err *err)
{
    char *at = (char *)c + s->offset;
    if (s->size)
        return get_str(cfg, s->section, s->key, s->text, at, s->size, err);
    long *out = (long *)(void *)at;
    if (config_get_long(cfg, s->section, s->key, s->dflt, out, err) < 0)
        return -1;
    if (*out < s->min || *out > s->max)
        return err_set(err, ERR_INVALID, "[%s] %s must be between %ld and %ld", s->section, s->key,
                       s->min, s->max);
    return 0;
}

/* A URL setting: no trailing slash, http:// or https:// (or empty when @may_be_empty). */
static int
check_url(char *url, const char *what, bool may_be_empty, struct err *err)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    if ((n || !may_be_empty) && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return err_set(err, ERR_INVALID, "%s must start with http:// or https://", what);
    return 0;
}

/* [api] listen = HOST:PORT (or [V6]:PORT), a shorthand for host + port. */
static int
parse_listen(const char *listen, struct api_config *c, struct err *err)
{
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
    return 0;
}

int
api_config_load(const struct config *cfg, struct api_config *c, struct err *err)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < ARRAY_SIZE(api_settings); i++)
        if (get_setting(cfg, &api_settings[i], c, err) < 0)
            return -1;
    const char *listen = config_get(cfg, "api", "listen", NULL);
    if (listen && *listen && parse_listen(listen, c, err) < 0)
        return -1;
    /* defaults that follow other settings */
    char dflt_url[300];
    snprintf(dflt_url, sizeof(dflt_url), "http://%s:%ld",
             strcmp(c->listen_host, "0.0.0.0") == 0 ? "127.0.0.1" : c->listen_host, c->port);
    if (get_str(cfg, "api", "public_url", dflt_url, c->public_url, sizeof(c->public_url), err) <
            0 ||
        check_url(c->public_url, "[api] public_url", false, err) < 0 ||
        check_url(c->image_compute_url, "[image] compute_url", true, err) < 0)
        return -1;
    const struct api_setting pool =
        CFG_LONG("database", "pool_size", db_pool_size, c->workers + 2, 1, 1000);
    if (get_setting(cfg, &pool, c, err) < 0)
        return -1;
    if (!c->connection[0])
        return err_set(err, ERR_INVALID, "[database] connection is required");
    return 0;
}

int
api_server_init(struct api_server *srv, const struct api_config *cfg, struct err *err)
{
    memset(srv, 0, sizeof(*srv));
    srv->cfg = *cfg;
    if (policy_load(cfg->policy_file, err) < 0)
        return -1;
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
