/* The token body cache: hits and misses, expiry (token and TTL), the
 * generation and the write barrier, the byte bound and LRU eviction, and many
 * threads reading, storing and clearing at once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mem.h"
#include "token_cache.h"

#define NOW 1700000000000000LL
#define SEC 1000000LL

static void
make_key(struct token_cache_key *k, unsigned n, bool nocatalog)
{
    memset(k, 0, sizeof(*k));
    /* spread over shards and buckets like random audit ids */
    uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ull + 1;
    memcpy(k->audit, &h, sizeof(h));
    memcpy(k->audit + 8, &n, sizeof(n));
    k->nocatalog = nocatalog;
}

/* A body that names its key, padded to @size bytes. */
static char *
make_body(unsigned n, size_t size)
{
    char *b = xmalloc(size + 1);
    int w = snprintf(b, size + 1, "{\"token\":%u}", n);
    memset(b + w, ' ', size > (size_t)w ? size - (size_t)w : 0);
    b[size] = '\0';
    return b;
}

static bool
cached_is(struct token_cache *c, unsigned n, bool nocatalog, int64_t now, const char *want)
{
    struct token_cache_key k;
    make_key(&k, n, nocatalog);
    size_t len = 0;
    char *got = token_cache_get(c, &k, now, &len);
    bool same = want ? got && len == strlen(want) && strcmp(got, want) == 0 : got == NULL;
    free(got);
    return same;
}

static void
put(struct token_cache *c, unsigned n, bool nocatalog, const char *text, int64_t token_expires,
    int64_t now)
{
    struct token_cache_key k;
    make_key(&k, n, nocatalog);
    token_cache_put(c, &k, text, strlen(text), token_expires, token_cache_generation(c), now);
}

static void
test_basic(void)
{
    struct token_cache *c = token_cache_new(1 << 20, 10);
    CHECK(cached_is(c, 1, false, NOW, NULL));
    put(c, 1, false, "{\"token\":1}", NOW + 3600 * SEC, NOW);
    CHECK(cached_is(c, 1, false, NOW, "{\"token\":1}"));
    CHECK(cached_is(c, 1, true, NOW, NULL)); /* ?nocatalog is another body */
    CHECK(cached_is(c, 2, false, NOW, NULL));
    /* a second put replaces */
    put(c, 1, false, "{\"token\":\"one\"}", NOW + 3600 * SEC, NOW);
    CHECK(cached_is(c, 1, false, NOW, "{\"token\":\"one\"}"));
    /* the TTL */
    CHECK(cached_is(c, 1, false, NOW + 9 * SEC, "{\"token\":\"one\"}"));
    CHECK(cached_is(c, 1, false, NOW + 10 * SEC, NULL));
    /* the token's own expiry when it comes first */
    put(c, 3, false, "{}", NOW + 2 * SEC, NOW);
    CHECK(cached_is(c, 3, false, NOW + SEC, "{}"));
    CHECK(cached_is(c, 3, false, NOW + 2 * SEC, NULL));
    /* an expired token is never stored */
    put(c, 4, false, "{}", NOW, NOW);
    CHECK(cached_is(c, 4, false, NOW, NULL));
    /* drop takes both variants */
    put(c, 5, false, "{\"a\":1}", NOW + 3600 * SEC, NOW);
    put(c, 5, true, "{\"a\":2}", NOW + 3600 * SEC, NOW);
    struct token_cache_key k;
    make_key(&k, 5, false);
    token_cache_drop(c, k.audit);
    CHECK(cached_is(c, 5, false, NOW, NULL));
    CHECK(cached_is(c, 5, true, NOW, NULL));
    struct token_cache_stats st;
    token_cache_stats(c, &st);
    CHECK_INT(st.entries, 0);
    CHECK_INT(st.hits, 4);
    token_cache_free(c);
}

static void
test_generation(void)
{
    struct token_cache *c = token_cache_new(1 << 20, 10);
    put(c, 1, false, "{\"old\":1}", NOW + 3600 * SEC, NOW);
    /* a body read from the database before a clear is not stored after it */
    uint64_t gen = token_cache_generation(c);
    token_cache_clear(c);
    CHECK(cached_is(c, 1, false, NOW, NULL));
    struct token_cache_key k;
    make_key(&k, 1, false);
    token_cache_put(c, &k, "{\"stale\":1}", 11, NOW + 3600 * SEC, gen, NOW);
    CHECK(cached_is(c, 1, false, NOW, NULL));
    /* one read after it is */
    put(c, 1, false, "{\"new\":1}", NOW + 3600 * SEC, NOW);
    CHECK(cached_is(c, 1, false, NOW, "{\"new\":1}"));
    token_cache_free(c);
}

struct barrier_arg {
    struct token_cache *c;
    bool stored;
};

static void *
put_elsewhere(void *arg)
{
    struct barrier_arg *a = arg;
    put(a->c, 7, false, "{\"other\":7}", NOW + 3600 * SEC, NOW + SEC);
    a->stored = cached_is(a->c, 7, false, NOW + SEC, "{\"other\":7}");
    return NULL;
}

static void
test_write_barrier(void)
{
    struct token_cache *c = token_cache_new(1 << 20, 10);
    put(c, 1, false, "{\"before\":1}", NOW + 3600 * SEC, NOW);
    token_cache_write_begin(c, NOW);
    /* the write may change anything: everything cached goes at once */
    CHECK(cached_is(c, 1, false, NOW, NULL));
    /* and until the writing thread's next checkpoint nothing is stored, by
     * any thread, even with a generation read after the barrier */
    put(c, 1, false, "{\"during\":1}", NOW + 3600 * SEC, NOW + SEC);
    CHECK(cached_is(c, 1, false, NOW + SEC, NULL));
    struct barrier_arg a = {.c = c};
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, put_elsewhere, &a), 0);
    pthread_join(t, NULL);
    CHECK(!a.stored);
    /* another thread's checkpoint does not end this thread's barrier */
    CHECK_INT(pthread_create(&t, NULL, put_elsewhere, &a), 0);
    pthread_join(t, NULL);
    CHECK(!a.stored);
    /* a body read during the write and stored after the checkpoint: refused */
    uint64_t during = token_cache_generation(c);
    token_cache_checkpoint(c);
    struct token_cache_key k;
    make_key(&k, 1, false);
    token_cache_put(c, &k, "{\"during\":1}", 12, NOW + 3600 * SEC, during, NOW + SEC);
    CHECK(cached_is(c, 1, false, NOW + SEC, NULL));
    /* after it, fills resume */
    put(c, 1, false, "{\"after\":1}", NOW + 3600 * SEC, NOW + SEC);
    CHECK(cached_is(c, 1, false, NOW + SEC, "{\"after\":1}"));
    /* a barrier left open past the hold stops fills no longer */
    token_cache_write_begin(c, NOW + 2 * SEC);
    int64_t later = NOW + (2 + TOKEN_CACHE_WRITE_HOLD_S) * SEC;
    put(c, 2, false, "{\"late\":2}", later + 3600 * SEC, later);
    CHECK(cached_is(c, 2, false, later, "{\"late\":2}"));
    token_cache_checkpoint(c);
    CHECK(cached_is(c, 2, false, later, NULL));
    token_cache_free(c);
}

static void
test_bound(void)
{
    size_t max = 16 * 8192; /* 8 KiB per shard */
    struct token_cache *c = token_cache_new(max, 10);
    char *hot = make_body(0, 1000);
    put(c, 0, false, hot, NOW + 3600 * SEC, NOW);
    for (unsigned n = 1; n <= 2000; n++) {
        char *b = make_body(n, 1000);
        put(c, n, false, b, NOW + 3600 * SEC, NOW);
        free(b);
        /* keep entry 0 the most recently used of its shard */
        CHECK(cached_is(c, 0, false, NOW, hot));
    }
    struct token_cache_stats st;
    token_cache_stats(c, &st);
    CHECK(st.bytes <= max);
    CHECK(st.entries > 16 && st.entries < 16 * 8);
    CHECK(st.evictions >= 2000 - st.entries);
    /* the newest entries are there, the oldest gone */
    char *b = make_body(2000, 1000);
    CHECK(cached_is(c, 2000, false, NOW, b));
    free(b);
    CHECK(cached_is(c, 1, false, NOW, NULL));
    /* a body larger than a shard's share is not stored */
    char *big = make_body(9999, 9000);
    put(c, 9999, false, big, NOW + 3600 * SEC, NOW);
    CHECK(cached_is(c, 9999, false, NOW, NULL));
    free(big);
    free(hot);
    token_cache_free(c);
}

#define STRESS_THREADS 8
#define STRESS_OPS 20000
#define STRESS_KEYS 512

struct stress_arg {
    struct token_cache *c;
    unsigned seed;
    int wrong;
    int hits;
};

static void *
stress(void *arg)
{
    struct stress_arg *a = arg;
    unsigned s = a->seed;
    for (int i = 0; i < STRESS_OPS; i++) {
        s = s * 1103515245u + 12345u;
        unsigned n = (s >> 8) % STRESS_KEYS;
        struct token_cache_key k;
        make_key(&k, n, false);
        size_t len;
        char *got = token_cache_get(a->c, &k, NOW, &len);
        if (got) {
            a->hits++;
            char want[32];
            snprintf(want, sizeof(want), "{\"token\":%u}", n);
            if (strncmp(got, want, strlen(want)) != 0 || len != 100 + n % 50)
                a->wrong++;
            free(got);
        } else {
            uint64_t gen = token_cache_generation(a->c);
            char *b = make_body(n, 100 + n % 50);
            token_cache_put(a->c, &k, b, strlen(b), NOW + 3600 * SEC, gen, NOW);
            free(b);
        }
        if ((s >> 4) % 997 == 0)
            token_cache_clear(a->c);
        if ((s >> 4) % 1999 == 1) {
            token_cache_write_begin(a->c, NOW);
            token_cache_checkpoint(a->c);
        }
    }
    return NULL;
}

static void
test_threads(void)
{
    /* small enough that eviction runs too */
    struct token_cache *c = token_cache_new(16 * 4096, 10);
    pthread_t t[STRESS_THREADS];
    struct stress_arg a[STRESS_THREADS];
    for (int i = 0; i < STRESS_THREADS; i++) {
        a[i] = (struct stress_arg){.c = c, .seed = (unsigned)i * 7919u + 1};
        CHECK_INT(pthread_create(&t[i], NULL, stress, &a[i]), 0);
    }
    int wrong = 0, hits = 0;
    for (int i = 0; i < STRESS_THREADS; i++) {
        pthread_join(t[i], NULL);
        wrong += a[i].wrong;
        hits += a[i].hits;
    }
    CHECK_INT(wrong, 0);
    CHECK(hits > 0);
    struct token_cache_stats st;
    token_cache_stats(c, &st);
    CHECK(st.bytes <= 16 * 4096);
    CHECK(st.evictions > 0);
    /* every barrier was checkpointed: fills are allowed */
    CHECK(token_cache_fill_allowed(c, token_cache_generation(c), NOW));
    token_cache_free(c);
}

int
main(void)
{
    test_basic();
    test_generation();
    test_write_barrier();
    test_bound();
    test_threads();
    return check_done();
}
