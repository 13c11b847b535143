/* The token body cache (token_cache.h): 16 shards, each a hash table of
 * chained entries and an LRU list under one mutex. */
#include "token_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define TC_SHARDS 16
#define TC_BUCKETS 1024 /* per shard */

struct tc_entry {
    struct tc_entry *chain;         /* next in the bucket */
    struct tc_entry *newer, *older; /* the shard's LRU list */
    struct token_cache_key key;
    int64_t expires_us;
    size_t len;
    char text[]; /* len + 1 bytes */
};

struct tc_shard {
    pthread_mutex_t lock;
    struct tc_entry *buckets[TC_BUCKETS];
    struct tc_entry *newest, *oldest;
    size_t bytes, entries;
    uint64_t hits, misses, stores, refused, evictions;
};

struct token_cache {
    struct tc_shard shards[TC_SHARDS];
    size_t shard_max; /* bytes per shard */
    long ttl_s;
    atomic_uint_fast64_t generation;
    atomic_int writers;             /* write barriers not yet checkpointed */
    atomic_int_fast64_t hold_until; /* barriers stop fills until then */
    atomic_uint_fast64_t clears;
};

/* the barrier this thread opened and has not checkpointed yet */
static _Thread_local struct token_cache *tc_pending;

struct token_cache *
token_cache_new(size_t max_bytes, long ttl_s)
{
    struct token_cache *c = xzalloc(sizeof(*c));
    for (int i = 0; i < TC_SHARDS; i++)
        pthread_mutex_init(&c->shards[i].lock, NULL);
    c->shard_max = max_bytes / TC_SHARDS;
    c->ttl_s = ttl_s;
    atomic_init(&c->generation, 1);
    atomic_init(&c->writers, 0);
    atomic_init(&c->hold_until, 0);
    atomic_init(&c->clears, 0);
    return c;
}

static size_t
tc_cost(const struct tc_entry *e)
{
    return sizeof(*e) + e->len + 1;
}

static uint64_t
tc_hash(const struct token_cache_key *key)
{
    uint64_t h; /* the audit id is 16 random bytes */
    memcpy(&h, key->audit, sizeof(h));
    return h ^ (key->nocatalog ? 0x9e3779b97f4a7c15ull : 0);
}

static bool
tc_key_eq(const struct token_cache_key *a, const struct token_cache_key *b)
{
    return a->nocatalog == b->nocatalog && memcmp(a->audit, b->audit, TOKEN_AUDIT_LEN) == 0;
}

static struct tc_shard *
tc_shard_of(struct token_cache *c, uint64_t h)
{
    return &c->shards[h % TC_SHARDS];
}

static struct tc_entry **
tc_bucket(struct tc_shard *s, uint64_t h)
{
    return &s->buckets[(h / TC_SHARDS) % TC_BUCKETS];
}

static void
tc_lru_unlink(struct tc_shard *s, struct tc_entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        s->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        s->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void
tc_lru_push(struct tc_shard *s, struct tc_entry *e)
{
    e->older = s->newest;
    e->newer = NULL;
    if (s->newest)
        s->newest->newer = e;
    s->newest = e;
    if (!s->oldest)
        s->oldest = e;
}

/* Unlink @e (found at *@link in its bucket) and free it. With s->lock held. */
static void
tc_remove(struct tc_shard *s, struct tc_entry **link, struct tc_entry *e)
{
    *link = e->chain;
    tc_lru_unlink(s, e);
    s->bytes -= tc_cost(e);
    s->entries--;
    free(e);
}

/* The link that points at the entry for @key, or NULL. */
static struct tc_entry **
tc_find(struct tc_shard *s, uint64_t h, const struct token_cache_key *key)
{
    for (struct tc_entry **link = tc_bucket(s, h); *link; link = &(*link)->chain)
        if (tc_key_eq(&(*link)->key, key))
            return link;
    return NULL;
}

static void
tc_shard_empty(struct tc_shard *s)
{
    for (int b = 0; b < TC_BUCKETS; b++) {
        struct tc_entry *e = s->buckets[b];
        while (e) {
            struct tc_entry *next = e->chain;
            free(e);
            e = next;
        }
        s->buckets[b] = NULL;
    }
    s->newest = s->oldest = NULL;
    s->bytes = s->entries = 0;
}

void
token_cache_free(struct token_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < TC_SHARDS; i++) {
        tc_shard_empty(&c->shards[i]);
        pthread_mutex_destroy(&c->shards[i].lock);
    }
    if (tc_pending == c)
        tc_pending = NULL;
    free(c);
}

char *
token_cache_get(struct token_cache *c, const struct token_cache_key *key, int64_t now_us,
                size_t *len)
{
    uint64_t h = tc_hash(key);
    struct tc_shard *s = tc_shard_of(c, h);
    char *out = NULL;
    pthread_mutex_lock(&s->lock);
    struct tc_entry **link = tc_find(s, h, key);
    if (link && (*link)->expires_us <= now_us) {
        tc_remove(s, link, *link);
        link = NULL;
    }
    if (link) {
        struct tc_entry *e = *link;
        tc_lru_unlink(s, e);
        tc_lru_push(s, e);
        out = xmalloc(e->len + 1);
        memcpy(out, e->text, e->len + 1);
        *len = e->len;
        s->hits++;
    } else {
        s->misses++;
    }
    pthread_mutex_unlock(&s->lock);
    return out;
}

uint64_t
token_cache_generation(struct token_cache *c)
{
    return atomic_load(&c->generation);
}

bool
token_cache_fill_allowed(struct token_cache *c, uint64_t gen, int64_t now_us)
{
    if (atomic_load(&c->generation) != gen)
        return false;
    return atomic_load(&c->writers) == 0 || atomic_load(&c->hold_until) <= now_us;
}

void
token_cache_put(struct token_cache *c, const struct token_cache_key *key, const char *text,
                size_t len, int64_t token_expires_us, uint64_t gen, int64_t now_us)
{
    uint64_t h = tc_hash(key);
    struct tc_shard *s = tc_shard_of(c, h);
    int64_t expires = now_us + (int64_t)c->ttl_s * 1000000;
    if (token_expires_us < expires)
        expires = token_expires_us;
    struct tc_entry *e = xmalloc(sizeof(*e) + len + 1);
    memset(e, 0, sizeof(*e));
    e->key = *key;
    e->expires_us = expires;
    e->len = len;
    memcpy(e->text, text, len);
    e->text[len] = '\0';
    pthread_mutex_lock(&s->lock);
    /* checked under the shard lock: token_cache_clear() bumps the generation
     * before it empties the shards, so an entry read before a clear is either
     * refused here or emptied by it */
    if (expires <= now_us || tc_cost(e) > c->shard_max ||
        !token_cache_fill_allowed(c, gen, now_us)) {
        s->refused++;
        pthread_mutex_unlock(&s->lock);
        free(e);
        return;
    }
    struct tc_entry **old = tc_find(s, h, key);
    if (old)
        tc_remove(s, old, *old);
    while (s->oldest && s->bytes + tc_cost(e) > c->shard_max) {
        struct tc_entry *victim = s->oldest;
        uint64_t vh = tc_hash(&victim->key);
        tc_remove(s, tc_find(s, vh, &victim->key), victim);
        s->evictions++;
    }
    struct tc_entry **bucket = tc_bucket(s, h);
    e->chain = *bucket;
    *bucket = e;
    tc_lru_push(s, e);
    s->bytes += tc_cost(e);
    s->entries++;
    s->stores++;
    pthread_mutex_unlock(&s->lock);
}

void
token_cache_drop(struct token_cache *c, const uint8_t audit[TOKEN_AUDIT_LEN])
{
    for (int nocatalog = 0; nocatalog <= 1; nocatalog++) {
        struct token_cache_key key = {.nocatalog = nocatalog};
        memcpy(key.audit, audit, TOKEN_AUDIT_LEN);
        uint64_t h = tc_hash(&key);
        struct tc_shard *s = tc_shard_of(c, h);
        pthread_mutex_lock(&s->lock);
        struct tc_entry **link = tc_find(s, h, &key);
        if (link)
            tc_remove(s, link, *link);
        pthread_mutex_unlock(&s->lock);
    }
}

void
token_cache_clear(struct token_cache *c)
{
    atomic_fetch_add(&c->generation, 1);
    atomic_fetch_add(&c->clears, 1);
    for (int i = 0; i < TC_SHARDS; i++) {
        pthread_mutex_lock(&c->shards[i].lock);
        tc_shard_empty(&c->shards[i]);
        pthread_mutex_unlock(&c->shards[i].lock);
    }
}

void
token_cache_write_begin(struct token_cache *c, int64_t now_us)
{
    if (tc_pending != c) { /* one cache per process: a test's other cache is forgotten */
        atomic_fetch_add(&c->writers, 1);
        tc_pending = c;
    }
    int64_t until = now_us + (int64_t)TOKEN_CACHE_WRITE_HOLD_S * 1000000;
    int64_t cur = atomic_load(&c->hold_until);
    while (cur < until && !atomic_compare_exchange_weak(&c->hold_until, &cur, until))
        ;
    token_cache_clear(c);
}

void
token_cache_checkpoint(struct token_cache *c)
{
    if (tc_pending != c)
        return;
    tc_pending = NULL;
    /* the write is done: what was filled while it ran goes, then fills resume */
    token_cache_clear(c);
    atomic_fetch_sub(&c->writers, 1);
}

void
token_cache_stats(struct token_cache *c, struct token_cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < TC_SHARDS; i++) {
        struct tc_shard *s = &c->shards[i];
        pthread_mutex_lock(&s->lock);
        out->hits += s->hits;
        out->misses += s->misses;
        out->stores += s->stores;
        out->refused += s->refused;
        out->evictions += s->evictions;
        out->entries += s->entries;
        out->bytes += s->bytes;
        pthread_mutex_unlock(&s->lock);
    }
    out->clears = atomic_load(&c->clears);
}
