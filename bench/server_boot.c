/* server_boot: time to boot through the whole stack, against the hypervisor's
 * own time for the same guest (bench/server_boot.sh sets up the cloud).
 *
 *   server_boot --url COMPUTE_URL --token-file FILE --image ID --flavor ID
 *               --state NUBE_STATE_DIR --work DIR [--count N] [--libvirt URI]
 *               [--active event|poll] [-v]
 *
 * Each round has the machine to itself and runs two boots, one after the
 * other (so that a burst of other work falls on both alike; api first in
 * even rounds, the peer first in odd ones):
 *
 *   api:  POST /servers, then GET /servers/{id} on the same keep-alive
 *         connection until it answers ACTIVE: with --active poll every 2 ms
 *         from the POST on; with --active event (the default) every 100 ms
 *         until cloud-hvd's lifecycle event says the domain nube-<id>
 *         started, then every 1 ms (so the client's polling does not take
 *         the CPU the boot needs, on a 2-core machine). The guest's ready line
 *         ("nube-guest ready") is read from <state>/instances/<id>/console.log
 *         on this host, woken by inotify (at most 1 ms late, with a 10 ms poll
 *         as a fallback); then DELETE, and wait until the API answers 404,
 *         the domain is gone from cloud-hvd and the instance folder is removed.
 *   peer: the domain XML the agent defined for the first api boot, renamed,
 *         without its uuid, with its own copy of the instance folder's files
 *         (console file, disk) under DIR, created through libvirt's
 *         virDomainCreateXML (what `virsh create` calls) on a connection
 *         opened beforehand: create -> running is the call's return, then
 *         the ready line as above; then virDomainDestroy.
 *
 * Every request is checked; a failure is reported, its figure is INVALID and
 * the program exits 2. Prints figures only: never a pass/fail on timing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "http_buf.h"
#include "mem.h"

#define READY_LINE "nube-guest ready"
#define BOOT_TIMEOUT_S 180.0
#define GONE_TIMEOUT_S 120.0
#define GET_INTERVAL_MS 2       /* --active poll */
#define EVENT_GET_INTERVAL_MS 1 /* --active event, once the domain started */
#define FALLBACK_GET_MS 100     /* --active event, before that */

struct bench_opts {
    const char *url, *token_file, *image, *flavor, *state, *work, *libvirt;
    int count;
    bool verbose, by_event;
};

/* ---- time and figures ---- */

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(double ms)
{
    long long ns = (long long)(ms * 1e6);
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    nanosleep(&ts, NULL);
}

struct bench_series {
    const char *name;
    double *ms;
    int n, failed;
};

static void
bench_series_add(struct bench_series *s, double ms)
{
    s->ms[s->n++] = ms;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* median (mean of the middle two for an even count) and nearest-rank p90 */
static double
bench_series_median(const struct bench_series *s)
{
    return s->n % 2 ? s->ms[s->n / 2] : (s->ms[s->n / 2 - 1] + s->ms[s->n / 2]) / 2;
}

static double
bench_series_p90(const struct bench_series *s)
{
    int rank = (9 * s->n + 9) / 10; /* ceil(0.9 n) */
    return s->ms[rank - 1];
}

static bool
bench_series_valid(const struct bench_series *s)
{
    return s->n > 0 && s->failed == 0;
}

static void
bench_series_print(struct bench_series *s)
{
    qsort(s->ms, (size_t)s->n, sizeof(double), cmp_double);
    if (!bench_series_valid(s)) {
        printf("%-30s %4d   INVALID (%d failed)\n", s->name, s->n, s->failed);
        return;
    }
    printf("%-30s %4d %9.1f %9.1f %9.1f %9.1f\n", s->name, s->n, bench_series_median(s),
           bench_series_p90(s), s->ms[0], s->ms[s->n - 1]);
}

/* ---- HTTP ---- */

struct bench_http {
    CURL *c;
    const char *token;
    struct buf b;
    long conns; /* connections opened: 1 means every request reused the first */
};

/* One request; returns the HTTP status (0 on a transport error), body in h->b. */
static long
bench_http_do(struct bench_http *h, const char *method, const char *url, const char *body)
{
    h->b.len = 0;
    if (h->b.data)
        h->b.data[0] = '\0';
    struct curl_slist *hd = NULL;
    char auth[8300];
    snprintf(auth, sizeof(auth), "X-Auth-Token: %s", h->token);
    hd = curl_slist_append(hd, auth);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    curl_easy_setopt(h->c, CURLOPT_URL, url);
    curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, hd);
    if (body) {
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(h->c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h->c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->c, CURLOPT_WRITEDATA, &h->b);
    long status = 0, opened = 0;
    CURLcode rc = curl_easy_perform(h->c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(h->c, CURLINFO_NUM_CONNECTS, &opened);
        h->conns += opened;
    } else {
        fprintf(stderr, "server_boot: %s %s: %s\n", method, url, curl_easy_strerror(rc));
    }
    curl_slist_free_all(hd);
    return status;
}

/* ---- the console file: the guest's ready line ---- */

struct console_watch {
    char dir[PATH_MAX], path[PATH_MAX + 16];
    int ino;    /* inotify: the parent folder (the folder's creation), the folder */
    int wd_dir; /* -1 until the folder exists */
    int fd;     /* -1 until the file exists */
    off_t off;
    char tail[sizeof(READY_LINE)];
    size_t tail_len;
};

static void
console_watch_init(struct console_watch *w, const char *parent, const char *name)
{
    snprintf(w->dir, sizeof(w->dir), "%s/%s", parent, name);
    snprintf(w->path, sizeof(w->path), "%s/console.log", w->dir);
    w->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->ino >= 0)
        inotify_add_watch(w->ino, parent, IN_CREATE | IN_ONLYDIR);
    w->wd_dir = -1;
    w->fd = -1;
    w->off = 0;
    w->tail_len = 0;
}

static void
console_watch_close(struct console_watch *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->ino >= 0)
        close(w->ino);
    w->fd = w->ino = -1;
}

/* Reads what is new in the console file; true once the ready line is in it. */
static bool
console_watch_check(struct console_watch *w)
{
    if (w->wd_dir < 0 && w->ino >= 0)
        w->wd_dir = inotify_add_watch(w->ino, w->dir, IN_MODIFY | IN_CREATE | IN_ONLYDIR);
    if (w->fd < 0) {
        w->fd = open(w->path, O_RDONLY | O_CLOEXEC);
        if (w->fd < 0)
            return false;
    }
    static char chunk[sizeof(READY_LINE) + 65536];
    for (;;) {
        memcpy(chunk, w->tail, w->tail_len);
        ssize_t got = pread(w->fd, chunk + w->tail_len, 65536, w->off);
        if (got <= 0)
            return false;
        w->off += got;
        size_t len = w->tail_len + (size_t)got;
        if (memmem(chunk, len, READY_LINE, strlen(READY_LINE)))
            return true;
        w->tail_len = len < sizeof(w->tail) - 1 ? len : sizeof(w->tail) - 1;
        memcpy(w->tail, chunk + len - w->tail_len, w->tail_len);
    }
}

/* Waits up to @timeout_ms for a change in the folder. A guest's serial
 * console is written a few bytes at a time: after a wake-up, 1 ms more lets
 * a burst of writes collapse into one read (so the ready line is seen at
 * most about 1 ms late) and keeps this process off the guest's CPU. */
static void
console_watch_wait(struct console_watch *w, int timeout_ms, int wake_fd)
{
    struct pollfd p[2] = {{.fd = w->ino, .events = POLLIN}, {.fd = wake_fd, .events = POLLIN}};
    if (poll(p, 2, timeout_ms) <= 0)
        return;
    char evbuf[8192];
    if (p[1].revents & POLLIN) /* a domain started: no delay */
        while (read(wake_fd, evbuf, sizeof(evbuf)) > 0)
            ;
    if (p[0].revents & POLLIN) {
        sleep_ms(1);
        while (read(w->ino, evbuf, sizeof(evbuf)) > 0)
            ;
    }
}

/* ---- libvirt ---- */

static void
quiet_virt_error(void *opaque, virErrorPtr e)
{
    (void)opaque;
    (void)e;
}

/* --active event: cloud-hvd's lifecycle events, on libvirt's default event
 * loop in a thread. A domain's STARTED event wakes the main loop through a
 * pipe; it then polls the API every millisecond until it answers ACTIVE. */
struct start_events {
    pthread_mutex_t lock;
    char name[80];         /* the last domain that started */
    double started;        /* when its event arrived (now_s) */
    char defined_name[80]; /* the last domain defined, and when */
    double defined;
    int pipe[2]; /* [0] non-blocking, polled by the main loop */
    atomic_bool stop;
    pthread_t thread;
};

static struct start_events events = {.lock = PTHREAD_MUTEX_INITIALIZER, .pipe = {-1, -1}};

static int
on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn;
    (void)detail;
    (void)opaque;
    double t = now_s();
    if (event == VIR_DOMAIN_EVENT_DEFINED) {
        pthread_mutex_lock(&events.lock);
        snprintf(events.defined_name, sizeof(events.defined_name), "%s", virDomainGetName(dom));
        events.defined = t;
        pthread_mutex_unlock(&events.lock);
        return 0;
    }
    if (event != VIR_DOMAIN_EVENT_STARTED)
        return 0;
    pthread_mutex_lock(&events.lock);
    snprintf(events.name, sizeof(events.name), "%s", virDomainGetName(dom));
    events.started = t;
    pthread_mutex_unlock(&events.lock);
    if (write(events.pipe[1], "s", 1) < 0) {
        /* the main loop still sees the name at its next fallback GET */
    }
    return 0;
}

static bool
start_events_seen(const char *name)
{
    pthread_mutex_lock(&events.lock);
    bool seen = strcmp(events.name, name) == 0;
    pthread_mutex_unlock(&events.lock);
    return seen;
}

/* When @name was defined and started (now_s), 0 when no event said so. */
static void
start_events_times(const char *name, double *defined, double *started)
{
    pthread_mutex_lock(&events.lock);
    *defined = strcmp(events.defined_name, name) == 0 ? events.defined : 0;
    *started = strcmp(events.name, name) == 0 ? events.started : 0;
    pthread_mutex_unlock(&events.lock);
}

static void
on_tick(int timer, void *opaque)
{
    (void)timer;
    (void)opaque;
}

static void *
start_events_loop(void *opaque)
{
    (void)opaque;
    while (!atomic_load(&events.stop))
        virEventRunDefaultImpl();
    return NULL;
}

/* 1: the domain exists, 0: it does not, -1: the lookup failed otherwise */
static int
domain_exists(virConnectPtr conn, const char *name)
{
    virDomainPtr d = virDomainLookupByName(conn, name);
    if (d) {
        virDomainFree(d);
        return 1;
    }
    virErrorPtr e = virGetLastError();
    if (e && e->code == VIR_ERR_NO_DOMAIN)
        return 0;
    fprintf(stderr, "server_boot: looking up %s: %s\n", name, virGetLastErrorMessage());
    return -1;
}

/* ---- the peer's domain template ---- */

struct peer_template {
    char *xml;      /* the agent's domain XML, uuid removed */
    char *name_tag; /* "<name>nube-ID</name>" */
    char *inst_dir; /* <state>/instances/ID: replaced by the peer's own folder */
    char files[PATH_MAX];
};

static char *
str_replace_all(const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = s; (p = strstr(p, from)); p += fl)
        n++;
    char *out = xmalloc(strlen(s) + n * tl + 1), *o = out;
    const char *p = s;
    for (const char *q; (q = strstr(p, from)); p = q + fl) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
    }
    strcpy(o, p);
    return out;
}

/* Runs a shell command built from our own paths (checked for quotes). */
static int
run_sh(const char *cmd)
{
    if (strchr(cmd, '"')) {
        fprintf(stderr, "server_boot: a path with a quote: %s\n", cmd);
        return -1;
    }
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "server_boot: '%s' failed (%d)\n", cmd, rc);
    return rc == 0 ? 0 : -1;
}

/* Takes the running domain's XML and a copy of its instance folder (without
 * the console output and the agent's record) while the instance exists. */
static int
peer_template_take(struct peer_template *t, virConnectPtr conn, const struct bench_opts *o,
                   const char *id)
{
    _cleanup_free_ char *name = xasprintf("nube-%s", id);
    virDomainPtr d = virDomainLookupByName(conn, name);
    char *xml = d ? virDomainGetXMLDesc(d, 0) : NULL;
    if (d)
        virDomainFree(d);
    if (!xml) {
        fprintf(stderr, "server_boot: dumpxml %s: %s\n", name, virGetLastErrorMessage());
        return -1;
    }
    _cleanup_free_ char *path = xasprintf("%s/agent-domain.xml", o->work);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(xml, f);
        fclose(f);
    }
    char *u = strstr(xml, "<uuid>"), *ue = u ? strstr(u, "</uuid>") : NULL;
    if (ue)
        memmove(u, ue + strlen("</uuid>"), strlen(ue + strlen("</uuid>")) + 1);
    t->xml = xstrdup(xml);
    free(xml);
    t->name_tag = xasprintf("<name>%s</name>", name);
    t->inst_dir = xasprintf("%s/instances/%s", o->state, id);
    snprintf(t->files, sizeof(t->files), "%s/template", o->work);
    if (!strstr(t->xml, t->name_tag)) {
        fprintf(stderr, "server_boot: the domain XML has no %s\n", t->name_tag);
        free(t->xml);
        t->xml = NULL;
        return -1;
    }
    /* console.log is created empty per boot, instance.json is the agent's */
    if (strchr(t->files, '\'') || strchr(t->inst_dir, '\''))
        return -1;
    _cleanup_free_ char *cmd = xasprintf(
        "mkdir -p '%s' && cd '%s' && for f in *; do case $f in console.log|instance.json) ;; "
        "*) cp --sparse=always --reflink=auto -- ./$f '%s'/ ;; esac; done",
        t->files, t->inst_dir, t->files);
    if (run_sh(cmd) < 0) {
        free(t->xml);
        t->xml = NULL; /* no peer without its files */
        return -1;
    }
    return 0;
}

/* The peer's XML for round @k, its folder made with the template's files. */
static char *
peer_template_render(const struct peer_template *t, const struct bench_opts *o, int k,
                     const char *id, char *dir, size_t dirsz)
{
    snprintf(dir, dirsz, "%s/peer-%d", o->work, k);
    _cleanup_free_ char *cmd =
        xasprintf("rm -rf '%s' && cp -a '%s' '%s' && : >'%s'/console.log", dir, t->files, dir, dir);
    if (run_sh(cmd) < 0)
        return NULL;
    char name_tag[64];
    snprintf(name_tag, sizeof(name_tag), "<name>bootpeer-%d</name>", k);
    _cleanup_free_ char *renamed = str_replace_all(t->xml, t->name_tag, name_tag);
    char *xml = str_replace_all(renamed, t->inst_dir, dir);
    if (strstr(xml, id)) {
        fprintf(stderr, "server_boot: the peer's XML still names instance %s:\n%s\n", id, xml);
        free(xml);
        return NULL;
    }
    return xml;
}

/* ---- one boot through the API ---- */

struct api_result {
    double post, active, ready, gone;
    bool ok_post, ok_active, ok_ready, ok_gone;
    bool by_fallback;        /* --active event: ACTIVE seen by the 100 ms fallback GET */
    double defined, started; /* --active event: cloud-hvd's events, 0 when none came */
};

static int
boot_api(struct bench_http *h, virConnectPtr conn, const struct bench_opts *o, int k,
         struct peer_template *t, struct api_result *r)
{
    char body[512], url[1024], id[64] = "";
    snprintf(body, sizeof(body),
             "{\"server\":{\"name\":\"boot-%d\",\"imageRef\":\"%s\",\"flavorRef\":\"%s\"}}", k,
             o->image, o->flavor);
    snprintf(url, sizeof(url), "%s/servers", o->url);
    memset(r, 0, sizeof(*r));
    _cleanup_free_ char *instances = xasprintf("%s/instances", o->state);
    char dom_name[80] = "";

    double t0 = now_s();
    long st = bench_http_do(h, "POST", url, body);
    r->post = (now_s() - t0) * 1e3;
    json_t *j = st == 202 ? json_loadb(h->b.data, h->b.len, 0, NULL) : NULL;
    const char *sid = json_string_value(json_object_get(json_object_get(j, "server"), "id"));
    if (sid)
        snprintf(id, sizeof(id), "%s", sid);
    json_decref(j);
    r->ok_post = id[0] != '\0';
    if (!id[0]) {
        fprintf(stderr, "server_boot: api %d: POST /servers answered %ld: %.300s\n", k, st,
                h->b.data ? h->b.data : "");
        return -1;
    }
    struct console_watch w;
    console_watch_init(&w, instances, id);
    snprintf(url, sizeof(url), "%s/servers/%s", o->url, id);
    snprintf(dom_name, sizeof(dom_name), "nube-%s", id);
    char last[32] = "";
    int rc = 0;
    double next_get = 0;
    while (!(r->ok_active && r->ok_ready)) {
        double now = now_s();
        if (now - t0 > BOOT_TIMEOUT_S) {
            fprintf(stderr, "server_boot: api %d (%s): no %s after %.0f s (status %s)\n", k, id,
                    r->ok_active ? "ready line" : "ACTIVE", BOOT_TIMEOUT_S, last);
            rc = -1;
            break;
        }
        if (!r->ok_active && now >= next_get) {
            st = bench_http_do(h, "GET", url, NULL);
            double got = now_s();
            j = st == 200 ? json_loadb(h->b.data, h->b.len, 0, NULL) : NULL;
            const char *s =
                json_string_value(json_object_get(json_object_get(j, "server"), "status"));
            snprintf(last, sizeof(last), "%s", s ? s : "?");
            json_decref(j);
            if (st != 200 || !s || strcmp(last, "ERROR") == 0) {
                fprintf(stderr, "server_boot: api %d (%s): GET answered %ld, status %s: %.300s\n",
                        k, id, st, last, h->b.data ? h->b.data : "");
                rc = -1;
                break;
            }
            if (strcmp(last, "ACTIVE") == 0) {
                r->active = (got - t0) * 1e3;
                r->ok_active = true;
                r->by_fallback = o->by_event && !start_events_seen(dom_name);
                if (!t->xml && peer_template_take(t, conn, o, id) < 0) {
                    rc = -1;
                    break;
                }
            }
            int every = !o->by_event                  ? GET_INTERVAL_MS
                        : start_events_seen(dom_name) ? EVENT_GET_INTERVAL_MS
                                                      : FALLBACK_GET_MS;
            next_get = got + every / 1e3;
        }
        if (o->by_event && !r->ok_active && start_events_seen(dom_name) &&
            next_get - now_s() > EVENT_GET_INTERVAL_MS / 1e3)
            next_get = now_s(); /* it started: ask now, then every millisecond */
        if (!r->ok_ready && console_watch_check(&w)) {
            r->ready = (now_s() - t0) * 1e3;
            r->ok_ready = true;
            continue;
        }
        double wait_ms = r->ok_active ? 10 : (next_get - now_s()) * 1e3;
        if (wait_ms >= 1)
            console_watch_wait(&w, (int)wait_ms, events.pipe[0]);
    }
    console_watch_close(&w);
    if (o->by_event) {
        double d, s;
        start_events_times(dom_name, &d, &s);
        r->defined = d > 0 ? (d - t0) * 1e3 : 0;
        r->started = s > 0 ? (s - t0) * 1e3 : 0;
    }

    /* delete, and wait until it is gone everywhere */
    double d0 = now_s();
    st = bench_http_do(h, "DELETE", url, NULL);
    if (st != 204) {
        fprintf(stderr, "server_boot: api %d (%s): DELETE answered %ld: %.300s\n", k, id, st,
                h->b.data ? h->b.data : "");
        return -1;
    }
    _cleanup_free_ char *dom = xasprintf("nube-%s", id);
    _cleanup_free_ char *dir = xasprintf("%s/%s", instances, id);
    bool api_gone = false;
    for (;;) {
        if (now_s() - d0 > GONE_TIMEOUT_S) {
            fprintf(stderr, "server_boot: api %d (%s): still there %.0f s after DELETE\n", k, id,
                    GONE_TIMEOUT_S);
            return -1;
        }
        if (!api_gone) {
            st = bench_http_do(h, "GET", url, NULL);
            if (st == 404)
                api_gone = true;
            else if (st != 200) {
                fprintf(stderr, "server_boot: api %d (%s): GET after DELETE answered %ld\n", k, id,
                        st);
                return -1;
            }
        }
        if (api_gone) {
            int ex = domain_exists(conn, dom);
            if (ex < 0)
                return -1;
            if (ex == 0 && access(dir, F_OK) < 0 && errno == ENOENT)
                break;
        }
        sleep_ms(5);
    }
    r->gone = (now_s() - d0) * 1e3;
    r->ok_gone = true;
    if (o->verbose)
        fprintf(stderr, "api %d: %s\n", k, id);
    return rc;
}

/* ---- one boot of the same domain directly on the hypervisor ---- */

static int
boot_peer(virConnectPtr conn, const struct bench_opts *o, const struct peer_template *t, int k,
          const char *id, double *running, double *ready)
{
    char dir[PATH_MAX];
    _cleanup_free_ char *xml = peer_template_render(t, o, k, id, dir, sizeof(dir));
    if (!xml)
        return -1;
    struct console_watch w;
    console_watch_init(&w, o->work, strrchr(dir, '/') + 1);
    double t0 = now_s();
    virDomainPtr d = virDomainCreateXML(conn, xml, 0);
    *running = (now_s() - t0) * 1e3;
    if (!d) {
        fprintf(stderr, "server_boot: peer %d: create: %s\n", k, virGetLastErrorMessage());
        console_watch_close(&w);
        return -1;
    }
    int rc = 0;
    bool seen = false;
    while (!seen) {
        if ((seen = console_watch_check(&w))) {
            *ready = (now_s() - t0) * 1e3;
            break;
        }
        if (now_s() - t0 > BOOT_TIMEOUT_S) {
            fprintf(stderr, "server_boot: peer %d: no ready line after %.0f s\n", k,
                    BOOT_TIMEOUT_S);
            rc = -1;
            break;
        }
        console_watch_wait(&w, 10, events.pipe[0]);
    }
    console_watch_close(&w);
    if (virDomainIsActive(d) != 1) {
        fprintf(stderr, "server_boot: peer %d: not running after its boot\n", k);
        rc = -1;
    }
    if (virDomainDestroy(d) < 0) {
        fprintf(stderr, "server_boot: peer %d: destroy: %s\n", k, virGetLastErrorMessage());
        rc = -1;
    }
    virDomainFree(d);
    if (rc == 0) {
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
        run_sh(cmd);
    }
    return rc;
}

/* ---- main ---- */

static char *
read_token(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[8192] = "";
    char *ok = fgets(line, sizeof(line), f);
    fclose(f);
    if (!ok)
        return NULL;
    line[strcspn(line, "\r\n")] = '\0';
    return line[0] ? xstrdup(line) : NULL;
}

static void
usage(void)
{
    fprintf(stderr,
            "usage: server_boot --url COMPUTE_URL --token-file FILE --image ID "
            "--flavor ID --state NUBE_STATE_DIR --work DIR [--count N] [--libvirt URI] "
            "[--active event|poll] [-v]\n(loopback URLs only; bench/server_boot.sh runs it)\n");
    exit(2);
}

static void
print_overhead(const char *what, struct bench_series *api, struct bench_series *peer,
               struct bench_series *paired)
{
    if (!bench_series_valid(api) || !bench_series_valid(peer) || !bench_series_valid(paired)) {
        printf("%-30s   INVALID\n", what);
        return;
    }
    double d = bench_series_median(api) - bench_series_median(peer);
    int above = 0;
    for (int i = 0; i < paired->n; i++)
        above += paired->ms[i] > 0;
    qsort(paired->ms, (size_t)paired->n, sizeof(double), cmp_double);
    printf("%-30s %9.1f ms  (goal < 50 ms: %s); per round: median %.1f ms, p90 %.1f ms, "
           "api slower in %d of %d\n",
           what, d, d < 50 ? "met" : "NOT met", bench_series_median(paired),
           bench_series_p90(paired), above, paired->n);
}

int
main(int argc, char **argv)
{
    struct bench_opts o = {.count = 20, .by_event = true};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-v") == 0) {
            o.verbose = true;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--url") == 0)
            o.url = v;
        else if (strcmp(a, "--token-file") == 0)
            o.token_file = v;
        else if (strcmp(a, "--image") == 0)
            o.image = v;
        else if (strcmp(a, "--flavor") == 0)
            o.flavor = v;
        else if (strcmp(a, "--state") == 0)
            o.state = v;
        else if (strcmp(a, "--work") == 0)
            o.work = v;
        else if (strcmp(a, "--libvirt") == 0)
            o.libvirt = v;
        else if (strcmp(a, "--count") == 0)
            o.count = atoi(v);
        else if (strcmp(a, "--active") == 0 && (!strcmp(v, "event") || !strcmp(v, "poll")))
            o.by_event = strcmp(v, "event") == 0;
        else
            usage();
    }
    if (!o.url || !o.token_file || !o.image || !o.flavor || !o.state || !o.work || o.count < 1 ||
        o.count > 1000 ||
        (strncmp(o.url, "http://127.0.0.1:", 17) != 0 && strncmp(o.url, "http://localhost:", 17)))
        usage();
    _cleanup_free_ char *uri =
        o.libvirt ? xstrdup(o.libvirt)
                  : xasprintf("nube+unix:///system?socket=%s/hvd/hvd.sock", o.state);
    _cleanup_free_ char *token = read_token(o.token_file);
    if (!token) {
        fprintf(stderr, "server_boot: no token in %s\n", o.token_file);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    virSetErrorFunc(NULL, quiet_virt_error);
    if (pipe2(events.pipe, O_NONBLOCK | O_CLOEXEC) < 0 ||
        (o.by_event && virEventRegisterDefaultImpl() < 0)) {
        fprintf(stderr, "server_boot: cannot set up the event loop\n");
        return 2;
    }
    virConnectPtr conn = virConnectOpen(uri);
    if (!conn) {
        fprintf(stderr, "server_boot: connecting to %s: %s\n", uri, virGetLastErrorMessage());
        return 2;
    }
    int tick = -1, cb = -1;
    if (o.by_event) {
        tick = virEventAddTimeout(100, on_tick, NULL, NULL); /* so that the loop sees stop */
        cb = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), NULL, NULL);
        if (tick < 0 || cb < 0 ||
            pthread_create(&events.thread, NULL, start_events_loop, NULL) != 0) {
            fprintf(stderr, "server_boot: lifecycle events: %s\n", virGetLastErrorMessage());
            return 2;
        }
    }
    struct bench_http h = {.c = curl_easy_init(), .token = token};

    size_t n = (size_t)o.count;
    struct bench_series post = {"POST /servers -> 202", xcalloc(n, sizeof(double)), 0, 0};
    struct bench_series active = {"POST -> ACTIVE", xcalloc(n, sizeof(double)), 0, 0};
    struct bench_series ready = {"POST -> ready line", xcalloc(n, sizeof(double)), 0, 0};
    struct bench_series running = {"create -> running (hvd)", xcalloc(n, sizeof(double)), 0, 0};
    struct bench_series pready = {"create -> ready line (hvd)", xcalloc(n, sizeof(double)), 0, 0};
    struct bench_series gone = {"DELETE -> gone everywhere", xcalloc(n, sizeof(double)), 0, 0};
    struct bench_series defined = {"  POST -> defined (hvd event)", xcalloc(n, sizeof(double)), 0,
                                   0};
    struct bench_series hvd_start = {"  defined -> started (event)", xcalloc(n, sizeof(double)), 0,
                                     0};
    struct bench_series report = {"  started -> ACTIVE", xcalloc(n, sizeof(double)), 0, 0};
    /* per round: the api's figure less the peer's of the same round */
    struct bench_series d_active = {"", xcalloc(n, sizeof(double)), 0, 0};
    struct bench_series d_ready = {"", xcalloc(n, sizeof(double)), 0, 0};
    struct peer_template t = {0};
    char first_id[64] = "";
    double started = now_s();
    int fallbacks = 0;

    for (int k = 0; k < o.count; k++) {
        /* the order alternates (the first round needs the api's boot for the
         * template), so that neither side always follows the other */
        double run_ms = 0, ready_ms = 0;
        int prc = -1;
        bool peer_first = k % 2 == 1 && t.xml;
        if (peer_first)
            prc = boot_peer(conn, &o, &t, k, first_id, &run_ms, &ready_ms);
        struct api_result r;
        int rc = boot_api(&h, conn, &o, k, &t, &r);
        fallbacks += r.by_fallback;
        if (o.by_event && r.ok_active && r.defined > 0 && r.started >= r.defined) {
            bench_series_add(&defined, r.defined);
            bench_series_add(&hvd_start, r.started - r.defined);
            bench_series_add(&report, r.active - r.started);
        } else if (o.by_event) {
            defined.failed++;
            hvd_start.failed++;
            report.failed++;
        }
        struct {
            struct bench_series *s;
            bool ok;
            double ms;
        } api[] = {{&post, r.ok_post, r.post},
                   {&active, r.ok_active, r.active},
                   {&ready, r.ok_ready, r.ready},
                   {&gone, r.ok_gone, r.gone}};
        for (size_t i = 0; i < ARRAY_SIZE(api); i++) {
            if (api[i].ok)
                bench_series_add(api[i].s, api[i].ms);
            else
                api[i].s->failed++;
        }
        if (!first_id[0] && t.inst_dir)
            snprintf(first_id, sizeof(first_id), "%s", strrchr(t.inst_dir, '/') + 1);
        if (!t.xml) {
            fprintf(stderr, "server_boot: no domain XML to boot directly: stopping\n");
            running.failed++;
            pready.failed++;
            break;
        }
        if (!peer_first)
            prc = boot_peer(conn, &o, &t, k, first_id, &run_ms, &ready_ms);
        if (prc == 0) {
            bench_series_add(&running, run_ms);
            bench_series_add(&pready, ready_ms);
        } else {
            running.failed++;
            pready.failed++;
        }
        if (prc == 0 && r.ok_active)
            bench_series_add(&d_active, r.active - run_ms);
        else
            d_active.failed++;
        if (prc == 0 && r.ok_ready)
            bench_series_add(&d_ready, r.ready - ready_ms);
        else
            d_ready.failed++;
        printf("round %2d: api POST %.1f ms, ACTIVE %.1f ms, ready %.1f ms, gone %.1f ms%s | "
               "hvd running %.1f ms, ready %.1f ms%s%s\n",
               k + 1, r.post, r.active, r.ready, r.gone, rc ? " FAILED" : "", run_ms, ready_ms,
               prc ? " FAILED" : "", peer_first ? " (hvd first)" : "");
        fflush(stdout);
    }

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\nserver_boot: %d rounds in %.0f s; this process used %.2f s of CPU; HTTP connections "
           "opened: %ld\n",
           o.count, now_s() - started,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
               ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6,
           h.conns);
    if (o.by_event)
        printf("ACTIVE: GET every %d ms once cloud-hvd's event said the domain started, every "
               "%d ms before (%d of %d ACTIVE answers came from those)\n",
               EVENT_GET_INTERVAL_MS, FALLBACK_GET_MS, fallbacks, active.n);
    else
        printf("ACTIVE: GET every %d ms from the POST on\n", GET_INTERVAL_MS);
    printf("%-30s %4s %9s %9s %9s %9s\n", "ms", "n", "median", "p90", "min", "max");
    bench_series_print(&post);
    bench_series_print(&active);
    if (o.by_event) {
        bench_series_print(&defined);
        bench_series_print(&hvd_start);
        bench_series_print(&report);
    }
    bench_series_print(&running);
    bench_series_print(&ready);
    bench_series_print(&pready);
    bench_series_print(&gone);
    printf("\n");
    printf("API overhead: median(api) - median(peer)\n");
    print_overhead("  to ACTIVE (vs running)", &active, &running, &d_active);
    print_overhead("  to ready line", &ready, &pready, &d_ready);

    bool valid = bench_series_valid(&post) && bench_series_valid(&active) &&
                 bench_series_valid(&ready) && bench_series_valid(&running) &&
                 bench_series_valid(&pready) && bench_series_valid(&gone);
    free(post.ms);
    free(active.ms);
    free(ready.ms);
    free(running.ms);
    free(pready.ms);
    free(gone.ms);
    free(defined.ms);
    free(hvd_start.ms);
    free(report.ms);
    free(d_active.ms);
    free(d_ready.ms);
    free(t.xml);
    free(t.name_tag);
    free(t.inst_dir);
    free(h.b.data);
    curl_easy_cleanup(h.c);
    if (o.by_event) {
        virConnectDomainEventDeregisterAny(conn, cb);
        atomic_store(&events.stop, true);
        pthread_join(events.thread, NULL);
        virEventRemoveTimeout(tick);
    }
    virConnectClose(conn);
    curl_global_cleanup();
    return valid ? 0 : 2;
}
