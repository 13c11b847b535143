/* identity_bench: token issue and token validation rates and latencies of a
 * Keystone v3 identity API (Nube's cloud-api, or Keystone itself as the peer)
 * on loopback.
 *
 * For each server it measures
 *   issue     POST /v3/auth/tokens, password method, project scope  -> 201
 *   validate  GET  /v3/auth/tokens, X-Auth-Token + X-Subject-Token -> 200
 * with N client threads, each on its own keep-alive connection, for a fixed
 * time (or request count) after a short warm-up. Every response's status is
 * checked (and that it carries a token); failures are counted, and a figure
 * that has any is flagged, not passed off as a rate. With --peer-url the same
 * runs against a second server and the ratios are printed.
 *
 * It prints figures and never judges them: a benchmark, not a test. Only
 * loopback addresses are accepted as targets. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "mem.h"

#define BENCH_MAX_THREADS 64
#define BENCH_MAX_SECONDS 600.0
#define BENCH_MAX_REQUESTS 100000000ULL
#define BENCH_MAX_BODY (1024 * 1024)   /* a response larger than this is an error */
#define BENCH_MAX_TOKEN 8192           /* longest X-Subject-Token accepted */
#define BENCH_POOL_TOKENS 256          /* distinct subject tokens validated in turn */
#define BENCH_SETUP_TOKENS 32          /* issued before a validate-only run */
#define BENCH_REQUEST_TIMEOUT_MS 30000 /* one request; a timeout counts as an error */

enum bench_op {
    BENCH_OP_ISSUE,
    BENCH_OP_VALIDATE,
    BENCH_OP_LAST,
};

static const char *const bench_op_names[BENCH_OP_LAST] = {"issue", "validate"};

struct bench_opts {
    unsigned threads;
    double seconds;    /* measured time per operation (also the cap with --requests) */
    uint64_t requests; /* 0: run for `seconds` */
    double warmup;     /* seconds per operation, not measured */
    unsigned rounds;   /* measured slices per server, alternating between servers */
    bool ops[BENCH_OP_LAST];
    bool verbose;
};

struct bench_result {
    uint64_t ok;
    uint64_t errors;
    uint64_t connects;
    double seconds;
    double rate;
    double p50_ms, p99_ms, mean_ms, max_ms;
    char first_error[256];
};

/* One server under test: its credentials, the tokens it issued, its results. */
struct bench_server {
    const char *name;
    const char *url; /* .../v3 */
    const char *user, *password, *project, *domain;
    char *tokens_url;
    char *issue_body;
    char *admin_token;             /* X-Auth-Token for validation */
    char *pool[BENCH_POOL_TOKENS]; /* subject tokens to validate */
    size_t pool_len;
    pthread_mutex_t pool_lock;
    struct bench_worker *workers; /* one per client thread */
    unsigned nworkers;
    struct bench_result results[BENCH_OP_LAST];
};

struct bench_buf {
    char *data;
    size_t len, cap;
    bool overflow;
};

/* One client thread: its own curl handle (and so its own keep-alive
 * connection), response buffers and latency samples. */
struct bench_worker {
    pthread_t thread;
    unsigned id;
    struct bench_run *run;
    CURL *curl;
    struct curl_slist *issue_headers;
    struct curl_slist *validate_headers[BENCH_POOL_TOKENS];
    size_t validate_next;
    struct bench_buf body;
    char subject[BENCH_MAX_TOKEN];
    bool subject_overflow;
    uint64_t *lat_ns;
    size_t lat_len, lat_cap;
    uint64_t ok, errors;
    uint64_t connects; /* new connections opened: keep-alive keeps this at ~1 */
    char first_error[256];
};

struct bench_run {
    struct bench_server *server;
    const struct bench_opts *opts;
    enum bench_op op;
    bool record; /* false during warm-up */
    struct timespec deadline;
    atomic_uint_fast64_t started; /* requests begun, for --requests */
    uint64_t limit;               /* 0: no count limit */
    pthread_barrier_t barrier;
};

static uint64_t
bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool
bench_past(const struct timespec *deadline)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec > deadline->tv_sec ||
           (ts.tv_sec == deadline->tv_sec && ts.tv_nsec >= deadline->tv_nsec);
}

static struct timespec
bench_after(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)(seconds * 1e9);
    ts.tv_sec += (time_t)(ns / 1000000000ULL);
    ts.tv_nsec = (long)(ns % 1000000000ULL);
    return ts;
}

/* JSON string body with escapes, for the credentials in the issue request. */
static void
bench_json_append(char **out, size_t *len, const char *s)
{
    size_t need = *len + strlen(s) * 6 + 3;
    *out = xrealloc(*out, need);
    char *p = *out + *len;
    *p++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *p++ = '\\';
            *p++ = (char)*c;
        } else if (*c < 0x20) {
            p += sprintf(p, "\\u%04x", *c);
        } else {
            *p++ = (char)*c;
        }
    }
    *p++ = '"';
    *p = '\0';
    *len = (size_t)(p - *out);
}

static char *
bench_issue_body(const struct bench_server *s)
{
    char *out = xstrdup("");
    size_t len = 0;
    const char *parts[] = {
        "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":",
        s->user,
        ",\"password\":",
        s->password,
        ",\"domain\":{\"name\":",
        s->domain,
        "}}}},\"scope\":{\"project\":{\"name\":",
        s->project,
        ",\"domain\":{\"name\":",
        s->domain,
        "}}}}}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        if (i % 2 == 0) {
            size_t n = strlen(parts[i]);
            out = xrealloc(out, len + n + 1);
            memcpy(out + len, parts[i], n + 1);
            len += n;
        } else {
            bench_json_append(&out, &len, parts[i]);
        }
    }
    return out;
}

/* Only loopback targets: this program generates load. */
static int
bench_url_check(const char *url, char *err, size_t errlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = -1;

    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(err, errlen, "%s: not a URL", url);
        goto cleanup;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(err, errlen, "%s: scheme must be http or https", url);
        goto cleanup;
    }
    if (strncmp(host, "127.", 4) != 0 && strcasecmp(host, "localhost") != 0 &&
        strcmp(host, "[::1]") != 0 && strcmp(host, "::1") != 0) {
        snprintf(err, errlen, "%s: only loopback hosts (127.0.0.0/8, localhost, [::1])", url);
        goto cleanup;
    }
    rc = 0;
cleanup:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

static size_t
bench_on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct bench_buf *b = userp;
    size_t n = size * nmemb;
    if (b->len + n + 1 > BENCH_MAX_BODY) {
        b->overflow = true;
        return n; /* keep the connection; the request counts as an error */
    }
    if (b->len + n + 1 > b->cap) {
        b->cap = b->cap ? b->cap : 4096;
        while (b->cap < b->len + n + 1)
            b->cap *= 2;
        b->data = xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static size_t
bench_on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct bench_worker *w = userp;
    size_t n = size * nmemb;
    static const char name[] = "x-subject-token:";
    if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        const char *v = data + sizeof(name) - 1;
        const char *end = data + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && isspace((unsigned char)end[-1]))
            end--;
        size_t len = (size_t)(end - v);
        if (len >= sizeof(w->subject)) {
            w->subject_overflow = true;
        } else {
            memcpy(w->subject, v, len);
            w->subject[len] = '\0';
        }
    }
    return n;
}

static void bench_worker_fail(struct bench_worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
bench_worker_fail(struct bench_worker *w, const char *fmt, ...)
{
    w->errors++;
    if (w->first_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->first_error, sizeof(w->first_error), fmt, ap);
    va_end(ap);
}

static struct curl_slist *
bench_headers(const char *auth, const char *subject)
{
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Accept: application/json");
    if (!auth) {
        h = curl_slist_append(h, "Content-Type: application/json");
    } else {
        char *line = xasprintf("X-Auth-Token: %s", auth);
        h = curl_slist_append(h, line);
        free(line);
        line = xasprintf("X-Subject-Token: %s", subject);
        h = curl_slist_append(h, line);
        free(line);
    }
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    if (!h)
        abort();
    return h;
}

static void
bench_worker_init(struct bench_worker *w, unsigned id)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->curl = curl_easy_init();
    if (!w->curl)
        abort();
    curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, (long)BENCH_REQUEST_TIMEOUT_MS);
    curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, bench_on_body);
    curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, &w->body);
    curl_easy_setopt(w->curl, CURLOPT_HEADERFUNCTION, bench_on_header);
    curl_easy_setopt(w->curl, CURLOPT_HEADERDATA, w);
    curl_easy_setopt(w->curl, CURLOPT_PROXY, ""); /* never via a proxy from the environment */
    curl_easy_setopt(w->curl, CURLOPT_NOPROXY, "*");
}

static void
bench_worker_validate_headers(struct bench_worker *w, const struct bench_server *s)
{
    for (size_t i = 0; i < s->pool_len; i++)
        w->validate_headers[i] = bench_headers(s->admin_token, s->pool[i]);
}

static void
bench_worker_fini(struct bench_worker *w)
{
    curl_easy_cleanup(w->curl);
    curl_slist_free_all(w->issue_headers);
    for (size_t i = 0; i < BENCH_POOL_TOKENS; i++)
        curl_slist_free_all(w->validate_headers[i]);
    free(w->body.data);
    free(w->lat_ns);
}

/* One request; returns true when it succeeded. The subject token of an issue
 * is left in w->subject. */
static bool
bench_request(struct bench_worker *w, struct bench_server *s, enum bench_op op)
{
    long status = 0;
    CURLcode cc;

    w->body.len = 0;
    w->body.overflow = false;
    w->subject[0] = '\0';
    w->subject_overflow = false;
    if (w->body.data)
        w->body.data[0] = '\0';

    curl_easy_setopt(w->curl, CURLOPT_URL, s->tokens_url);
    if (op == BENCH_OP_ISSUE) {
        curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->issue_headers);
        curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, s->issue_body);
    } else {
        curl_easy_setopt(w->curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER,
                         w->validate_headers[w->validate_next++ % s->pool_len]);
    }
    cc = curl_easy_perform(w->curl);
    if (cc != CURLE_OK) {
        bench_worker_fail(w, "%s", curl_easy_strerror(cc));
        return false;
    }
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
    long want = op == BENCH_OP_ISSUE ? 201 : 200;
    if (status != want) {
        bench_worker_fail(w, "HTTP %ld (want %ld): %.120s", status, want,
                          w->body.data ? w->body.data : "");
        return false;
    }
    if (w->body.overflow) {
        bench_worker_fail(w, "response body over %d bytes", BENCH_MAX_BODY);
        return false;
    }
    if (!w->body.data || !strstr(w->body.data, "\"expires_at\"")) {
        bench_worker_fail(w, "HTTP %ld without a token body", status);
        return false;
    }
    if (op == BENCH_OP_ISSUE && (w->subject_overflow || !w->subject[0])) {
        bench_worker_fail(w, "HTTP 201 without a usable X-Subject-Token");
        return false;
    }
    return true;
}

static void
bench_pool_add(struct bench_server *s, const char *token)
{
    pthread_mutex_lock(&s->pool_lock);
    if (s->pool_len < BENCH_POOL_TOKENS)
        s->pool[s->pool_len++] = xstrdup(token);
    pthread_mutex_unlock(&s->pool_lock);
}

static void *
bench_worker_main(void *arg)
{
    struct bench_worker *w = arg;
    struct bench_run *run = w->run;

    pthread_barrier_wait(&run->barrier);
    while (!bench_past(&run->deadline)) {
        if (run->limit && atomic_fetch_add(&run->started, 1) >= run->limit)
            break;
        uint64_t t0 = bench_now_ns();
        bool ok = bench_request(w, run->server, run->op);
        uint64_t dt = bench_now_ns() - t0;
        long connects = 0;
        curl_easy_getinfo(w->curl, CURLINFO_NUM_CONNECTS, &connects);
        w->connects += (uint64_t)connects;
        if (!run->record || !ok)
            continue;
        w->ok++;
        if (w->lat_len == w->lat_cap) {
            w->lat_cap = w->lat_cap ? w->lat_cap * 2 : 4096;
            w->lat_ns = xrealloc(w->lat_ns, w->lat_cap * sizeof(*w->lat_ns));
        }
        w->lat_ns[w->lat_len++] = dt;
        if (run->op == BENCH_OP_ISSUE)
            bench_pool_add(run->server, w->subject);
    }
    return NULL;
}

static int
bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static double
bench_percentile_ms(const uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1] / 1e6;
}

/* Runs one slice (warm-up or measured) of one operation on all of a server's
 * workers and adds its counts and time into acc; latency samples stay in the
 * workers until bench_result_finish(). */
static void
bench_phase(struct bench_run *run, struct bench_worker *workers, double seconds, uint64_t limit,
            struct bench_result *acc)
{
    unsigned n = run->opts->threads;

    for (unsigned i = 0; i < n; i++) {
        workers[i].run = run;
        workers[i].ok = workers[i].errors = workers[i].connects = 0;
        workers[i].first_error[0] = '\0';
    }
    atomic_store(&run->started, 0);
    run->limit = limit;
    pthread_barrier_init(&run->barrier, NULL, n + 1);
    for (unsigned i = 0; i < n; i++) {
        int e = pthread_create(&workers[i].thread, NULL, bench_worker_main, &workers[i]);
        if (e) {
            fprintf(stderr, "identity_bench: pthread_create: %s\n", strerror(e));
            exit(1);
        }
    }
    run->deadline = bench_after(seconds);
    pthread_barrier_wait(&run->barrier);
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < n; i++)
        pthread_join(workers[i].thread, NULL);
    uint64_t t1 = bench_now_ns();
    pthread_barrier_destroy(&run->barrier);

    acc->seconds += (double)(t1 - t0) / 1e9;
    for (unsigned i = 0; i < n; i++) {
        acc->ok += workers[i].ok;
        acc->errors += workers[i].errors;
        acc->connects += workers[i].connects;
        if (!acc->first_error[0] && workers[i].first_error[0])
            snprintf(acc->first_error, sizeof(acc->first_error), "%s", workers[i].first_error);
    }
}

/* Rate and latency percentiles from the samples the workers collected. */
static void
bench_result_finish(struct bench_result *res, struct bench_worker *workers, unsigned n)
{
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += workers[i].lat_len;
    uint64_t *all = xcalloc(total ? total : 1, sizeof(*all));
    size_t k = 0;
    double sum = 0;
    for (unsigned i = 0; i < n; i++) {
        if (workers[i].lat_len)
            memcpy(all + k, workers[i].lat_ns, workers[i].lat_len * sizeof(*all));
        k += workers[i].lat_len;
    }
    qsort(all, total, sizeof(*all), bench_cmp_u64);
    for (size_t i = 0; i < total; i++)
        sum += (double)all[i];
    res->rate = res->seconds > 0 ? (double)res->ok / res->seconds : 0;
    res->p50_ms = bench_percentile_ms(all, total, 50);
    res->p99_ms = bench_percentile_ms(all, total, 99);
    res->mean_ms = total ? sum / (double)total / 1e6 : 0;
    res->max_ms = total ? (double)all[total - 1] / 1e6 : 0;
    free(all);
}

/* One token for the caller (X-Auth-Token of every validation), on a separate
 * handle before the load starts. */
static int
bench_server_login(struct bench_server *s, const struct bench_opts *opts)
{
    struct bench_worker w;
    int rc = -1;

    bench_worker_init(&w, 0);
    w.issue_headers = bench_headers(NULL, NULL);
    if (!bench_request(&w, s, BENCH_OP_ISSUE)) {
        fprintf(stderr, "identity_bench: %s: cannot issue a token at %s: %s\n", s->name,
                s->tokens_url, w.first_error);
        goto cleanup;
    }
    s->admin_token = xstrdup(w.subject);
    /* Without an issue run to take them from, a few subject tokens now. */
    for (int i = 0; !opts->ops[BENCH_OP_ISSUE] && i < BENCH_SETUP_TOKENS; i++) {
        if (!bench_request(&w, s, BENCH_OP_ISSUE)) {
            fprintf(stderr, "identity_bench: %s: cannot issue a token at %s: %s\n", s->name,
                    s->tokens_url, w.first_error);
            goto cleanup;
        }
        bench_pool_add(s, w.subject);
    }
    rc = 0;
cleanup:
    bench_worker_fini(&w);
    return rc;
}

static void
bench_server_workers_new(struct bench_server *s, const struct bench_opts *opts)
{
    s->workers = xcalloc(opts->threads, sizeof(*s->workers));
    s->nworkers = opts->threads;
    for (unsigned i = 0; i < opts->threads; i++) {
        bench_worker_init(&s->workers[i], i);
        s->workers[i].issue_headers = bench_headers(NULL, NULL);
    }
}

/* Readies a server's workers for an operation and warms it up, unmeasured. */
static void
bench_warmup(struct bench_server *s, enum bench_op op, const struct bench_opts *opts)
{
    struct bench_run run = {.server = s, .opts = opts, .op = op};
    if (op == BENCH_OP_VALIDATE) {
        if (s->pool_len == 0) /* no token came out of the issue run */
            s->pool[s->pool_len++] = xstrdup(s->admin_token);
        for (unsigned i = 0; i < opts->threads; i++) {
            bench_worker_validate_headers(&s->workers[i], s);
            s->workers[i].validate_next = i;
        }
    }
    if (opts->verbose)
        fprintf(stderr, "identity_bench: %s %s: warm-up %.1f s\n", s->name, bench_op_names[op],
                opts->warmup);
    if (opts->warmup > 0) {
        struct bench_result warm = {0};
        bench_phase(&run, s->workers, opts->warmup, 0, &warm);
        if (warm.errors)
            fprintf(stderr, "identity_bench: %s %s: %" PRIu64 " errors in warm-up: %s\n", s->name,
                    bench_op_names[op], warm.errors, warm.first_error);
    }
    for (unsigned i = 0; i < opts->threads; i++)
        s->workers[i].lat_len = 0;
}

/* Each operation: `rounds` measured slices that alternate between the
 * servers, so that load from elsewhere on the machine falls on both alike;
 * each server's slices add up to --seconds (or --requests). A server is warmed
 * up just before its first slice. */
static void
bench_run_all(struct bench_server *servers, size_t nservers, const struct bench_opts *opts)
{
    for (enum bench_op op = 0; op < BENCH_OP_LAST; op++) {
        if (!opts->ops[op])
            continue;
        uint64_t limit = opts->requests ? (opts->requests + opts->rounds - 1) / opts->rounds : 0;
        for (unsigned r = 0; r < opts->rounds; r++) {
            for (size_t k = 0; k < nservers; k++) {
                struct bench_server *s = &servers[k];
                struct bench_run run = {.server = s, .opts = opts, .op = op, .record = true};
                if (r == 0)
                    bench_warmup(s, op, opts);
                if (opts->verbose)
                    fprintf(stderr, "identity_bench: %s %s: round %u of %u\n", s->name,
                            bench_op_names[op], r + 1, opts->rounds);
                bench_phase(&run, s->workers, opts->seconds / opts->rounds, limit, &s->results[op]);
            }
        }
        for (size_t k = 0; k < nservers; k++)
            bench_result_finish(&servers[k].results[op], servers[k].workers, opts->threads);
    }
}

static void
bench_server_free(struct bench_server *s)
{
    free(s->tokens_url);
    free(s->issue_body);
    free(s->admin_token);
    for (unsigned i = 0; s->workers && i < s->nworkers; i++)
        bench_worker_fini(&s->workers[i]);
    free(s->workers);
    for (size_t i = 0; i < s->pool_len; i++)
        free(s->pool[i]);
    pthread_mutex_destroy(&s->pool_lock);
}

static void
bench_print(struct bench_server *servers, size_t n, const struct bench_opts *opts)
{
    printf("identity_bench: %u client threads, keep-alive, loopback; per operation %.1f s "
           "warm-up, then ",
           opts->threads, opts->warmup);
    if (opts->requests)
        printf("%" PRIu64 " requests (at most %.1f s)", opts->requests, opts->seconds);
    else
        printf("%.1f s measured", opts->seconds);
    if (opts->rounds > 1)
        printf(" in %u rounds alternating between servers", opts->rounds);
    printf("\n");
    printf("issue: POST /v3/auth/tokens (password, project scope); validate: GET "
           "/v3/auth/tokens cycling over the tokens issued\n\n");
    printf("%-10s %-9s %9s %7s %6s %8s %10s %9s %9s %9s %9s\n", "server", "operation", "ok",
           "errors", "conns", "seconds", "rate/s", "p50 ms", "p99 ms", "mean ms", "max ms");
    for (size_t i = 0; i < n; i++) {
        for (enum bench_op op = 0; op < BENCH_OP_LAST; op++) {
            const struct bench_result *r = &servers[i].results[op];
            if (!opts->ops[op])
                continue;
            printf("%-10s %-9s %9" PRIu64 " %7" PRIu64 " %6" PRIu64
                   " %8.2f %10.1f %9.3f %9.3f %9.3f %9.3f%s\n",
                   servers[i].name, bench_op_names[op], r->ok, r->errors, r->connects, r->seconds,
                   r->rate, r->p50_ms, r->p99_ms, r->mean_ms, r->max_ms,
                   r->errors ? "  INVALID" : "");
        }
    }
    if (opts->ops[BENCH_OP_VALIDATE]) {
        printf("distinct subject tokens validated:");
        for (size_t i = 0; i < n; i++)
            printf(" %s %zu%s", servers[i].name, servers[i].pool_len, i + 1 < n ? "," : "\n");
    }
    for (size_t i = 0; i < n; i++)
        for (enum bench_op op = 0; op < BENCH_OP_LAST; op++)
            if (servers[i].results[op].errors)
                printf("%s %s: %" PRIu64 " failed requests; first: %s\n", servers[i].name,
                       bench_op_names[op], servers[i].results[op].errors,
                       servers[i].results[op].first_error);
    if (n < 2)
        return;

    const struct bench_server *a = &servers[0], *b = &servers[1];
    printf("\nratio %s/%s\n", a->name, b->name);
    printf("%-10s %-9s %10s %12s %12s\n", "", "operation", "rate", "p50 latency", "p99 latency");
    for (enum bench_op op = 0; op < BENCH_OP_LAST; op++) {
        const struct bench_result *ra = &a->results[op], *rb = &b->results[op];
        if (!opts->ops[op])
            continue;
        printf("%-10s %-9s", "", bench_op_names[op]);
        if (ra->errors || rb->errors || !ra->ok || !rb->ok || ra->p50_ms <= 0 || ra->p99_ms <= 0) {
            printf(" n/a (a figure is missing or has errors)\n");
            continue;
        }
        /* Rate: a over b. Latency: b over a, so above 1 means a is faster. */
        printf(" %9.1fx %11.1fx %11.1fx\n", ra->rate / rb->rate, rb->p50_ms / ra->p50_ms,
               rb->p99_ms / ra->p99_ms);
    }
    printf("(latency ratios are %s's latency over %s's: above 1 means %s answers faster)\n",
           b->name, a->name, a->name);
}

static void
bench_usage(FILE *f)
{
    fprintf(
        f,
        "usage: identity_bench --url http://127.0.0.1:PORT/v3 --user NAME --password P\n"
        "                      --project NAME [--domain NAME] [--name LABEL]\n"
        "                      [--peer-url URL [--peer-user NAME] [--peer-password P]\n"
        "                       [--peer-project NAME] [--peer-domain NAME] [--peer-name LABEL]]\n"
        "                      [--threads N] [--seconds S | --requests N] [--warmup S]\n"
        "                      [--ops issue,validate] [--rounds N] [-v]\n"
        "Measures token issue and validation rate and p50/p99 latency on loopback.\n"
        "Defaults: --domain Default, --threads 2, --seconds 10 (the time cap with\n"
        "--requests is 300 s), --warmup 1, --rounds 1, --name nube, --peer-name keystone;\n"
        "the peer's credentials default to the first server's. --rounds N splits each\n"
        "measurement into N slices that alternate between the two servers.\n");
}

static int
bench_parse_double(const char *arg, const char *what, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || *end || v < 0 || v > max) {
        fprintf(stderr, "identity_bench: %s: want 0..%g, got '%s'\n", what, max, arg);
        return -1;
    }
    *out = v;
    return 0;
}

static int
bench_parse_u64(const char *arg, const char *what, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || *end || arg[0] == '-' || v < min || v > max) {
        fprintf(stderr, "identity_bench: %s: want %" PRIu64 "..%" PRIu64 ", got '%s'\n", what, min,
                max, arg);
        return -1;
    }
    *out = v;
    return 0;
}

/* "issue,validate", "validate", ...: which operations to measure. */
static int
bench_parse_ops(const char *arg, bool ops[BENCH_OP_LAST])
{
    char *copy = xstrdup(arg), *save = NULL;
    int rc = 0;
    memset(ops, 0, sizeof(bool) * BENCH_OP_LAST);
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        enum bench_op op = 0;
        while (op < BENCH_OP_LAST && strcmp(t, bench_op_names[op]) != 0)
            op++;
        if (op == BENCH_OP_LAST) {
            fprintf(stderr, "identity_bench: --ops: unknown operation '%s'\n", t);
            rc = -1;
            break;
        }
        ops[op] = true;
    }
    if (rc == 0 && !ops[BENCH_OP_ISSUE] && !ops[BENCH_OP_VALIDATE]) {
        fprintf(stderr, "identity_bench: --ops: no operation\n");
        rc = -1;
    }
    free(copy);
    return rc;
}

enum {
    OPT_URL = 256,
    OPT_USER,
    OPT_PASSWORD,
    OPT_PROJECT,
    OPT_DOMAIN,
    OPT_NAME,
    OPT_PEER_URL,
    OPT_PEER_USER,
    OPT_PEER_PASSWORD,
    OPT_PEER_PROJECT,
    OPT_PEER_DOMAIN,
    OPT_PEER_NAME,
    OPT_THREADS,
    OPT_SECONDS,
    OPT_REQUESTS,
    OPT_WARMUP,
    OPT_OPS,
    OPT_ROUNDS,
};

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, OPT_URL},
        {"user", required_argument, NULL, OPT_USER},
        {"password", required_argument, NULL, OPT_PASSWORD},
        {"project", required_argument, NULL, OPT_PROJECT},
        {"domain", required_argument, NULL, OPT_DOMAIN},
        {"name", required_argument, NULL, OPT_NAME},
        {"peer-url", required_argument, NULL, OPT_PEER_URL},
        {"peer-user", required_argument, NULL, OPT_PEER_USER},
        {"peer-password", required_argument, NULL, OPT_PEER_PASSWORD},
        {"peer-project", required_argument, NULL, OPT_PEER_PROJECT},
        {"peer-domain", required_argument, NULL, OPT_PEER_DOMAIN},
        {"peer-name", required_argument, NULL, OPT_PEER_NAME},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"seconds", required_argument, NULL, OPT_SECONDS},
        {"requests", required_argument, NULL, OPT_REQUESTS},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"ops", required_argument, NULL, OPT_OPS},
        {"rounds", required_argument, NULL, OPT_ROUNDS},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bench_server servers[2] = {
        {.name = "nube", .domain = "Default"},
        {.name = "keystone"},
    };
    struct bench_opts opts = {
        .threads = 2, .seconds = 10, .warmup = 1, .rounds = 1, .ops = {true, true}};
    bool seconds_set = false;
    uint64_t u;
    int c, rc = 1;

    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_URL:
            servers[0].url = optarg;
            break;
        case OPT_USER:
            servers[0].user = optarg;
            break;
        case OPT_PASSWORD:
            servers[0].password = optarg;
            break;
        case OPT_PROJECT:
            servers[0].project = optarg;
            break;
        case OPT_DOMAIN:
            servers[0].domain = optarg;
            break;
        case OPT_NAME:
            servers[0].name = optarg;
            break;
        case OPT_PEER_URL:
            servers[1].url = optarg;
            break;
        case OPT_PEER_USER:
            servers[1].user = optarg;
            break;
        case OPT_PEER_PASSWORD:
            servers[1].password = optarg;
            break;
        case OPT_PEER_PROJECT:
            servers[1].project = optarg;
            break;
        case OPT_PEER_DOMAIN:
            servers[1].domain = optarg;
            break;
        case OPT_PEER_NAME:
            servers[1].name = optarg;
            break;
        case OPT_THREADS:
            if (bench_parse_u64(optarg, "--threads", 1, BENCH_MAX_THREADS, &u) < 0)
                return 1;
            opts.threads = (unsigned)u;
            break;
        case OPT_SECONDS:
            if (bench_parse_double(optarg, "--seconds", BENCH_MAX_SECONDS, &opts.seconds) < 0)
                return 1;
            seconds_set = true;
            break;
        case OPT_REQUESTS:
            if (bench_parse_u64(optarg, "--requests", 1, BENCH_MAX_REQUESTS, &opts.requests) < 0)
                return 1;
            break;
        case OPT_WARMUP:
            if (bench_parse_double(optarg, "--warmup", 60, &opts.warmup) < 0)
                return 1;
            break;
        case OPT_ROUNDS:
            if (bench_parse_u64(optarg, "--rounds", 1, 100, &u) < 0)
                return 1;
            opts.rounds = (unsigned)u;
            break;
        case OPT_OPS:
            if (bench_parse_ops(optarg, opts.ops) < 0)
                return 1;
            break;
        case 'v':
            opts.verbose = true;
            break;
        case 'h':
            bench_usage(stdout);
            return 0;
        default:
            bench_usage(stderr);
            return 1;
        }
    }
    if (optind != argc || !servers[0].url || !servers[0].user || !servers[0].password ||
        !servers[0].project) {
        bench_usage(stderr);
        return 1;
    }
    if (opts.requests && !seconds_set)
        opts.seconds = 300;
    if (opts.seconds <= 0) {
        fprintf(stderr, "identity_bench: --seconds must be above 0\n");
        return 1;
    }
    size_t nservers = servers[1].url ? 2 : 1;
    if (nservers == 2) {
        servers[1].user = servers[1].user ? servers[1].user : servers[0].user;
        servers[1].password = servers[1].password ? servers[1].password : servers[0].password;
        servers[1].project = servers[1].project ? servers[1].project : servers[0].project;
        servers[1].domain = servers[1].domain ? servers[1].domain : servers[0].domain;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "identity_bench: curl_global_init failed\n");
        return 1;
    }
    for (size_t i = 0; i < nservers; i++)
        pthread_mutex_init(&servers[i].pool_lock, NULL);
    for (size_t i = 0; i < nservers; i++) {
        char err[512];
        struct bench_server *s = &servers[i];
        if (bench_url_check(s->url, err, sizeof(err)) < 0) {
            fprintf(stderr, "identity_bench: %s\n", err);
            goto cleanup;
        }
        size_t len = strlen(s->url);
        while (len > 0 && s->url[len - 1] == '/')
            len--;
        s->tokens_url = xasprintf("%.*s/auth/tokens", (int)len, s->url);
        s->issue_body = bench_issue_body(s);
        if (bench_server_login(s, &opts) < 0)
            goto cleanup;
    }
    /* One server at a time, so each has the machine to itself. */
    for (size_t i = 0; i < nservers; i++)
        bench_server_workers_new(&servers[i], &opts);
    bench_run_all(servers, nservers, &opts);
    bench_print(servers, nservers, &opts);

    rc = 0;
    for (size_t i = 0; i < nservers; i++)
        for (enum bench_op op = 0; op < BENCH_OP_LAST; op++)
            if (opts.ops[op] && (servers[i].results[op].errors || !servers[i].results[op].ok))
                rc = 2; /* figures built on failed requests are flagged, not passed off */
cleanup:
    for (size_t i = 0; i < nservers; i++)
        bench_server_free(&servers[i]);
    curl_global_cleanup();
    return rc;
}
