/* The token body cache: GET/HEAD /v3/auth/tokens answered from memory.
 *
 * An entry is the serialized {"token": {...}} body of one token (keyed by its
 * audit id and whether the catalog is left out), stored when the token is
 * issued or first validated. It lives until the token expires or for the TTL
 * ([identity] role_cache_ttl), whichever comes first; the cache holds at most
 * max_bytes (bodies plus bookkeeping) and evicts the least recently used
 * entry of a shard beyond its share. Shards have their own mutex.
 *
 * Revocations are not the cache's business: the caller checks the revocation
 * list before it serves a hit. Changes to what a body shows (roles, users,
 * projects, the catalog) go through the generation: a caller reads
 * token_cache_generation() before it reads the database, and the entry is
 * stored only if no clear happened meanwhile and no write is in flight.
 *
 * Writes in flight (the write barrier): token_cache_write_begin() drops every
 * entry and stops fills until the calling thread reaches its next
 * token_cache_checkpoint(), which the auth middleware runs before each
 * request; since a request's handler runs on the thread that authenticated it,
 * that point is after the write committed. A barrier older than
 * TOKEN_CACHE_WRITE_HOLD_S no longer stops fills (a thread left idle after a
 * write must not turn the cache off for good); the TTL bounds the staleness a
 * write slower than that could leave. */
#ifndef NUBE_API_TOKEN_CACHE_H
#define NUBE_API_TOKEN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "token.h"

#define TOKEN_CACHE_MAX_BYTES (64u << 20)
#define TOKEN_CACHE_WRITE_HOLD_S 30

struct token_cache;
struct role_cache;

struct token_cache_key {
    uint8_t audit[TOKEN_AUDIT_LEN];
    bool nocatalog;
};

struct token_cache_stats {
    uint64_t hits, misses, stores, refused, evictions, clears;
    size_t entries, bytes;
};

struct token_cache *token_cache_new(size_t max_bytes, long ttl_s);
void token_cache_free(struct token_cache *c);

/* The body for @key (a malloc'd, NUL-terminated copy; *len its length), or
 * NULL when absent or expired at @now_us. */
char *token_cache_get(struct token_cache *c, const struct token_cache_key *key, int64_t now_us,
                      size_t *len);
/* Read before reading the database for a body that may be stored. */
uint64_t token_cache_generation(struct token_cache *c);
/* May a value read since @gen be stored now? */
bool token_cache_fill_allowed(struct token_cache *c, uint64_t gen, int64_t now_us);
/* Store a copy of @text unless token_cache_fill_allowed() says no or it is
 * larger than a shard's share. It expires at min(@token_expires_us, now+TTL). */
void token_cache_put(struct token_cache *c, const struct token_cache_key *key, const char *text,
                     size_t len, int64_t token_expires_us, uint64_t gen, int64_t now_us);
/* Drop one entry (both catalog variants of @audit). */
void token_cache_drop(struct token_cache *c, const uint8_t audit[TOKEN_AUDIT_LEN]);
/* Drop everything and bump the generation. */
void token_cache_clear(struct token_cache *c);

/* The write barrier (see above). */
void token_cache_write_begin(struct token_cache *c, int64_t now_us);
void token_cache_checkpoint(struct token_cache *c);

void token_cache_stats(struct token_cache *c, struct token_cache_stats *out);

/* The process's token cache: it hangs off the auth middleware's caches
 * (auth.c), created and cleared with the role cache. */
struct token_cache *role_cache_tokens(struct role_cache *rc);

#endif
