/* The auth middleware: X-Auth-Token -> struct api_ctx.
 *
 * Opening a token needs no database read. Revocations come from the cached
 * list (revoke.c). The caller's roles are looked up per (user, project) and
 * cached for [identity] role_cache_ttl seconds; this process clears the cache
 * when it changes an assignment or a role, so a change made here takes effect
 * at once and one made by another cloud-api process within the TTL. Roles are
 * not embedded in the token: a role removed from a user must stop counting
 * before the token expires. Every identity write this process serves clears
 * the role and token body caches before its handler runs and again when it has
 * finished (the write barrier, token_cache.h). */
#include <pthread.h>
#include <string.h>

#include "db.h"
#include "identity.h"
#include "keystone.h"
#include "log.h"
#include "mem.h"
#include "policy.h"
#include "server.h"
#include "token_cache.h"

#define ROLE_CACHE_SLOTS 4096
/* cached alongside the role bits: the user holds at least one role there */
#define ROLE_SOME (1u << 30)

struct role_entry {
    char user_id[TOKEN_ID_MAX + 1];
    char project_id[TOKEN_ID_MAX + 1];
    unsigned roles;
    int64_t expires_us;
};

/* The role cache also carries the token body cache (token_cache.h): both
 * hold what the database says about identities, are cleared together and obey
 * the same generation and write barrier. */
struct role_cache {
    pthread_mutex_t lock;
    long ttl_s;
    struct token_cache *tokens;
    struct role_entry slots[ROLE_CACHE_SLOTS];
};

struct role_cache *
role_cache_new(long ttl_s)
{
    struct role_cache *c = xzalloc(sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->ttl_s = ttl_s;
    c->tokens = token_cache_new(TOKEN_CACHE_MAX_BYTES, ttl_s);
    return c;
}

struct token_cache *
role_cache_tokens(struct role_cache *rc)
{
    return rc->tokens;
}

void
role_cache_free(struct role_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    token_cache_free(c->tokens);
    free(c);
}

static void
role_cache_clear_slots(struct role_cache *c)
{
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < ROLE_CACHE_SLOTS; i++)
        c->slots[i].expires_us = 0;
    pthread_mutex_unlock(&c->lock);
}

void
role_cache_clear(struct role_cache *c)
{
    /* the generation first: a role read before this clear is not stored */
    token_cache_clear(c->tokens);
    role_cache_clear_slots(c);
}

static unsigned
role_slot(const char *user_id, const char *project_id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *s = user_id; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    h = (h ^ '/') * 16777619u;
    for (const char *s = project_id; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h % ROLE_CACHE_SLOTS;
}

static bool
role_cache_get(struct role_cache *c, const char *user_id, const char *project_id, int64_t now,
               unsigned *roles)
{
    bool hit = false;
    unsigned slot = role_slot(user_id, project_id);
    pthread_mutex_lock(&c->lock);
    struct role_entry *e = &c->slots[slot];
    if (e->expires_us > now && strcmp(e->user_id, user_id) == 0 &&
        strcmp(e->project_id, project_id) == 0) {
        *roles = e->roles;
        hit = true;
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

static void
role_cache_put(struct role_cache *c, const char *user_id, const char *project_id, int64_t now,
               unsigned roles, uint64_t gen)
{
    unsigned slot = role_slot(user_id, project_id);
    pthread_mutex_lock(&c->lock);
    /* under c->lock, which role_cache_clear() takes after bumping the
     * generation: a row read before a clear is refused or cleared */
    if (!token_cache_fill_allowed(c->tokens, gen, now)) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    struct role_entry *e = &c->slots[slot];
    strlcpy_n(e->user_id, user_id, sizeof(e->user_id));
    strlcpy_n(e->project_id, project_id, sizeof(e->project_id));
    e->roles = roles;
    e->expires_us = now + (int64_t)c->ttl_s * 1000000;
    pthread_mutex_unlock(&c->lock);
}

/* A request that may change what a token body or a role lookup shows: any
 * write to the identity API but token issue and revocation (the revocation
 * list handles those). */
static bool
identity_write(const struct api_req *req)
{
    static const struct api_route_table *const tables[] = {
        &identity_domains_routes, &identity_projects_routes, &identity_users_routes,
        &identity_roles_routes,   &identity_catalog_routes,
    };
    if (!req->method || strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0 ||
        strcmp(req->method, "OPTIONS") == 0)
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
        if (req->match.table == tables[i])
            return true;
    return false;
}

/* Before the handler of an identity write: forget cached bodies and roles, and
 * store none until this thread's next request (token_cache.h). */
static void
identity_write_begin(struct role_cache *c, int64_t now)
{
    token_cache_write_begin(c->tokens, now);
    role_cache_clear_slots(c);
}

int
api_auth_token(struct api_req *req, const char *token, struct api_ctx *ctx, struct token_payload *p,
               struct err *err)
{
    struct api_server *srv = req->srv;
    memset(ctx, 0, sizeof(*ctx));
    int64_t now = api_now_us();
    /* the previous request on this thread has finished: end its write barrier */
    token_cache_checkpoint(srv->roles->tokens);
    if (!token || !*token)
        return err_set(err, ERR_UNAUTHORIZED, "The request you have made requires authentication.");
    if (token_open(&srv->keys, token, now, p, err) < 0)
        return -1;
    bool revoked;
    if (revoke_check(srv, p, &revoked, err) < 0)
        return -1;
    if (revoked)
        return err_set(err, ERR_UNAUTHORIZED,
                       "The request you have made requires authentication: the token has been "
                       "revoked.");
    unsigned roles = 0;
    if (p->project_id[0] && !role_cache_get(srv->roles, p->user_id, p->project_id, now, &roles)) {
        uint64_t gen = token_cache_generation(srv->roles->tokens);
        PGconn *conn = api_req_db(req, err);
        if (!conn)
            return -1;
        json_t *rows = db_assignment_roles(conn, p->user_id, p->project_id, err);
        if (!rows)
            return -1;
        size_t i;
        json_t *row;
        json_array_foreach (rows, i, row) {
            const char *name = json_string_value(json_object_get(row, "name"));
            roles |= name ? policy_role_bit(name) : 0;
        }
        if (json_array_size(rows) > 0)
            roles |= ROLE_SOME;
        json_decref(rows);
        roles = policy_roles_imply(roles);
        role_cache_put(srv->roles, p->user_id, p->project_id, now, roles, gen);
    }
    /* a project-scoped token stops working when its last role there goes */
    if (p->project_id[0] && !(roles & ROLE_SOME))
        return err_set(err, ERR_UNAUTHORIZED,
                       "The request you have made requires authentication: the user has no "
                       "role on the token's project.");
    roles &= ~ROLE_SOME;
    ctx->authenticated = true;
    strlcpy_n(ctx->user_id, p->user_id, sizeof(ctx->user_id));
    strlcpy_n(ctx->project_id, p->project_id, sizeof(ctx->project_id));
    token_audit_str(p->audit, ctx->audit_id);
    ctx->roles = roles;
    ctx->is_admin = (roles & API_ROLE_ADMIN) != 0;
    if (identity_write(req))
        identity_write_begin(srv->roles, now);
    return 0;
}
