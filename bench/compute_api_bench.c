/* compute_api_bench: figures for the compute API of a running cloud-api on
 * loopback (bench/compute_api_bench.sh sets one up with 1,000 instances).
 *
 *   compute_api_bench list URL TOKEN [THREADS] [SECONDS]
 *       GET URL (e.g. .../compute/v2.1/servers/detail) repeatedly, each
 *       thread on its own keep-alive connection: requests/s, p50/p99 latency,
 *       and the number of servers in one answer.
 *   compute_api_bench boot COMPUTE_URL TOKEN IMAGE FLAVOR [COUNT]
 *       POST /servers, then GET /servers/{id} every 2 ms until ACTIVE:
 *       per-boot milliseconds from the POST to the first ACTIVE answer
 *       (min, p50, max); the server is deleted after each boot.
 *
 * Every status is checked; a failed request is counted and reported, never
 * passed off as a figure. Prints figures only. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "http_buf.h"
#include "mem.h"

#define MAX_THREADS 64
#define MAX_SAMPLES 2000000

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool
loopback(const char *url)
{
    return strncmp(url, "http://127.0.0.1:", 17) == 0 || strncmp(url, "http://localhost:", 17) == 0;
}

/* One request; returns the HTTP status (0 on a transport error), body in @b. */
static long
do_req(CURL *c, const char *method, const char *url, const char *token, const char *body,
       struct buf *b)
{
    b->len = 0;
    struct curl_slist *h = NULL;
    char auth[8300];
    snprintf(auth, sizeof(auth), "X-Auth-Token: %s", token);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    /* NUBE_BENCH_MICROVERSION: the compute microversion to ask for */
    const char *mv = getenv("NUBE_BENCH_MICROVERSION");
    char mvh[64];
    if (mv && *mv) {
        snprintf(mvh, sizeof(mvh), "OpenStack-API-Version: compute %.32s", mv);
        h = curl_slist_append(h, mvh);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (!body)
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return status;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- list ---- */

struct list_run {
    const char *url, *token;
    double until;
    double *lat;
    atomic_size_t nlat;
    atomic_ulong failures;
    atomic_long servers;
};

static void *
list_thread(void *opaque)
{
    struct list_run *r = opaque;
    CURL *c = curl_easy_init();
    struct buf b = {0};
    while (now_s() < r->until) {
        double t0 = now_s();
        long st = do_req(c, "GET", r->url, r->token, NULL, &b);
        double dt = now_s() - t0;
        if (st != 200) {
            atomic_fetch_add(&r->failures, 1);
            continue;
        }
        if (atomic_load(&r->servers) < 0) {
            json_t *j = json_loadb(b.data, b.len, 0, NULL);
            atomic_store(&r->servers, (long)json_array_size(json_object_get(j, "servers")));
            json_decref(j);
        }
        size_t i = atomic_fetch_add(&r->nlat, 1);
        if (i < MAX_SAMPLES)
            r->lat[i] = dt;
    }
    free(b.data);
    curl_easy_cleanup(c);
    return NULL;
}

static int
bench_list(const char *url, const char *token, int threads, double seconds)
{
    struct list_run r = {.url = url, .token = token};
    r.lat = xcalloc(MAX_SAMPLES, sizeof(double));
    atomic_init(&r.nlat, 0);
    atomic_init(&r.failures, 0);
    atomic_init(&r.servers, -1);
    pthread_t th[MAX_THREADS];
    double t0 = now_s();
    r.until = t0 + seconds;
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, list_thread, &r);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double elapsed = now_s() - t0;
    size_t n = atomic_load(&r.nlat);
    if (n > MAX_SAMPLES)
        n = MAX_SAMPLES;
    qsort(r.lat, n, sizeof(double), cmp_double);
    printf("list: GET %s\n", url);
    printf("  servers per answer: %ld, threads: %d, seconds: %.1f\n", atomic_load(&r.servers),
           threads, elapsed);
    printf("  requests: %zu ok, %lu failed\n", n, (unsigned long)atomic_load(&r.failures));
    if (n)
        printf("  rate: %.1f req/s (%.0f servers/s); latency p50 %.2f ms, p99 %.2f ms\n",
               (double)n / elapsed, (double)n * (double)atomic_load(&r.servers) / elapsed,
               r.lat[n / 2] * 1e3, r.lat[(size_t)((double)n * 0.99)] * 1e3);
    free(r.lat);
    return atomic_load(&r.failures) ? 1 : 0;
}

/* ---- boot ---- */

static int
bench_boot(const char *base, const char *token, const char *image, const char *flavor, int count)
{
    CURL *c = curl_easy_init();
    struct buf b = {0};
    double *ms = xcalloc((size_t)count, sizeof(double));
    int done = 0, failures = 0;
    for (int i = 0; i < count; i++) {
        char body[512], url[1024];
        snprintf(body, sizeof(body),
                 "{\"server\":{\"name\":\"bench-%d\",\"imageRef\":\"%s\",\"flavorRef\":\"%s\"}}", i,
                 image, flavor);
        snprintf(url, sizeof(url), "%s/servers", base);
        double t0 = now_s();
        long st = do_req(c, "POST", url, token, body, &b);
        json_t *j = st == 202 ? json_loadb(b.data, b.len, 0, NULL) : NULL;
        const char *id = json_string_value(json_object_get(json_object_get(j, "server"), "id"));
        if (!id) {
            fprintf(stderr, "boot %d: POST answered %ld: %.200s\n", i, st, b.data ? b.data : "");
            failures++;
            json_decref(j);
            continue;
        }
        char sid[64];
        snprintf(sid, sizeof(sid), "%s", id);
        json_decref(j);
        snprintf(url, sizeof(url), "%s/servers/%s", base, sid);
        const char *status = "";
        char last[32] = "";
        while (now_s() - t0 < 60) {
            st = do_req(c, "GET", url, token, NULL, &b);
            j = st == 200 ? json_loadb(b.data, b.len, 0, NULL) : NULL;
            status = json_string_value(json_object_get(json_object_get(j, "server"), "status"));
            snprintf(last, sizeof(last), "%s", status ? status : "?");
            json_decref(j);
            if (strcmp(last, "ACTIVE") == 0 || strcmp(last, "ERROR") == 0)
                break;
            nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
        }
        double dt = (now_s() - t0) * 1e3;
        if (strcmp(last, "ACTIVE") == 0)
            ms[done++] = dt;
        else {
            fprintf(stderr, "boot %d: ended %s\n", i, last);
            failures++;
        }
        do_req(c, "DELETE", url, token, NULL, &b);
        /* wait for the delete so that quota and host stay free */
        while (now_s() - t0 < 120 && do_req(c, "GET", url, token, NULL, &b) == 200)
            nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
    qsort(ms, (size_t)done, sizeof(double), cmp_double);
    printf("boot: POST /servers -> ACTIVE, %d boots (%d failed)\n", done, failures);
    if (done)
        printf("  ms: min %.1f, p50 %.1f, max %.1f (polling every 2 ms)\n", ms[0], ms[done / 2],
               ms[done - 1]);
    free(ms);
    free(b.data);
    curl_easy_cleanup(c);
    return failures ? 1 : 0;
}

int
main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc >= 4 && strcmp(argv[1], "list") == 0 && loopback(argv[2])) {
        int threads = argc > 4 ? atoi(argv[4]) : 2;
        double seconds = argc > 5 ? atof(argv[5]) : 10;
        if (threads < 1 || threads > MAX_THREADS || seconds <= 0 || seconds > 600)
            goto usage;
        return bench_list(argv[2], argv[3], threads, seconds);
    }
    if (argc >= 6 && strcmp(argv[1], "boot") == 0 && loopback(argv[2])) {
        int count = argc > 6 ? atoi(argv[6]) : 10;
        if (count < 1 || count > 10000)
            goto usage;
        return bench_boot(argv[2], argv[3], argv[4], argv[5], count);
    }
usage:
    fprintf(stderr, "usage: compute_api_bench list URL TOKEN [THREADS] [SECONDS]\n"
                    "       compute_api_bench boot COMPUTE_URL TOKEN IMAGE FLAVOR [COUNT]\n"
                    "(loopback URLs only)\n");
    return 2;
}
