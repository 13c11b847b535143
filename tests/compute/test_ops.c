/* The agent's operations against libvirt's in-process test driver
 * (test:///default), with events collected instead of cast: build (PV kernel
 * + initrd, HVM on a qcow2 overlay), idempotent redelivery, stop/start/
 * reboot/pause/suspend/resume, console output, delete and tombstones, failed
 * builds and their cleanup, reconcile after a restart, heartbeats. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "check.h"
#include "image_server.h"
#include "json.h"
#include "log.h"
#include "mem.h"

#define MAX_EVENTS 512

static struct {
    char topic[64], method[64];
    json_t *args;
} events[MAX_EVENTS];
static int nevents;
static int fail_emit; /* the bus is down */

static int
collect(void *opaque, const char *topic, const char *method, json_t *args, struct err *err)
{
    (void)opaque;
    if (fail_emit)
        return err_set(err, ERR_UNAVAILABLE, "bus down (test)");
    if (nevents < MAX_EVENTS) {
        snprintf(events[nevents].topic, sizeof(events[0].topic), "%s", topic);
        snprintf(events[nevents].method, sizeof(events[0].method), "%s", method);
        events[nevents].args = json_deep_copy(args);
        nevents++;
    }
    return 0;
}

static void
events_clear(void)
{
    for (int i = 0; i < nevents; i++)
        json_decref(events[i].args);
    nevents = 0;
}

/* The index of the @nth (0-based) instance_update of @id after @from, or -1. */
static int
update_at(const char *id, int nth)
{
    for (int i = 0; i < nevents; i++)
        if (!strcmp(events[i].method, "instance_update") &&
            !strcmp(json_get_str(events[i].args, "instance_id"), id) && nth-- == 0)
            return i;
    return -1;
}

static int
updates_of(const char *id)
{
    int n = 0;
    while (update_at(id, n) >= 0)
        n++;
    return n;
}

/* The last instance_update of @id has these states. */
static int
last_is(const char *id, const char *vm_state, const char *task_state, int power)
{
    int n = updates_of(id);
    if (n == 0) {
        fprintf(stderr, "no instance_update for %s\n", id);
        return 0;
    }
    json_t *a = events[update_at(id, n - 1)].args;
    const char *vs = json_get_str(a, "vm_state"), *ts = json_get_str(a, "task_state");
    json_int_t ps = -1;
    json_get_int(a, "power_state", &ps);
    int ok = vs && !strcmp(vs, vm_state) && ps == power &&
             (task_state ? ts && !strcmp(ts, task_state)
                         : json_is_null(json_object_get(a, "task_state")));
    if (!ok)
        fprintf(stderr, "last update of %s: %s/%s/%lld, expected %s/%s/%d\n", id, vs,
                ts ? ts : "null", (long long)ps, vm_state, task_state ? task_state : "null", power);
    return ok;
}

static char tmp[256];
static struct agent agent;

static void
start_agent(void)
{
    struct config *cfg = config_new();
    char v[512];
    config_set(cfg, "compute", "host", "unit-host");
    config_set(cfg, "compute", "libvirt_uri", "test:///default");
    snprintf(v, sizeof(v), "%s/instances", tmp);
    config_set(cfg, "compute", "instances_dir", v);
    snprintf(v, sizeof(v), "%s/cache", tmp);
    config_set(cfg, "DEFAULT", "image_cache_dir", v); /* [DEFAULT] as fallback */
    config_set(cfg, "compute", "shutdown_timeout", "1");
    config_set(cfg, "compute", "powercap_dir", "/nonexistent");
    config_set(cfg, "compute", "my_ip", "192.0.2.7");
    struct compute_config cc;
    struct err err = ERR_INIT;
    CHECK_INT(compute_config_load(&cc, cfg, &err), 0);
    config_free(cfg);
    if (agent_init(&agent, &cc, collect, NULL, &err) < 0) {
        fprintf(stderr, "agent_init: %s\n", err.msg);
        exit(1);
    }
    CHECK_INT(agent_records_load(&agent, &err), 0);
}

static char *
build_msg(const char *id, const char *vm_mode, const char *image_json, const char *extra)
{
    return xasprintf("{\"instance\": {\"id\": \"%s\", \"name\": \"vm-%.8s\", \"vcpus\": 1,"
                     " \"memory_mb\": 128, \"root_gb\": 1, \"vm_mode\": \"%s\", \"image\": %s%s}}",
                     id, id, vm_mode, image_json, extra ? extra : "");
}

static enum agent_result
run(const char *method, const char *args_json, json_t **reply, struct err *err)
{
    json_t *args = json_loads(args_json, 0, NULL);
    if (!args) {
        fprintf(stderr, "bad test JSON: %s\n", args_json);
        exit(1);
    }
    json_t *r = NULL;
    err_clear(err);
    enum agent_result res = agent_dispatch(&agent, method, args, &r, err);
    json_decref(args);
    if (reply)
        *reply = r;
    else
        json_decref(r);
    return res;
}

static enum agent_result
cast(const char *method, const char *id)
{
    char *a = xasprintf("{\"instance_id\": \"%s\"}", id);
    struct err err = ERR_INIT;
    enum agent_result r = run(method, a, NULL, &err);
    free(a);
    return r;
}

static int
domains_named(const char *id)
{
    struct compute_domain *d = NULL;
    size_t n = 0;
    struct err err = ERR_INIT;
    if (agent.drv->ops->list(agent.drv, &d, &n, &err) < 0)
        return -1;
    int count = 0;
    char name[64];
    compute_domain_name(id, name);
    for (size_t i = 0; i < n; i++)
        count += strcmp(d[i].name, name) == 0;
    free(d);
    return count;
}

static int
domain_power(const char *id, bool *saved)
{
    char name[64];
    compute_domain_name(id, name);
    struct compute_domain d;
    struct err err = ERR_INIT;
    if (agent.drv->ops->state(agent.drv, name, &d, &err) < 0)
        return -1;
    if (saved)
        *saved = d.managed_save;
    return d.power_state;
}

static int
count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static bool __attribute__((format(printf, 1, 2))) exists(const char *fmt, ...)
{
    char path[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return access(path, F_OK) == 0;
}

#define PV "0b1c6a4e-9a0f-4c1e-8d55-6f7d1b2a3c4d"
#define HVM1 "11111111-2222-4333-8444-555555555555"
#define HVM2 "11111111-2222-4333-8444-666666666666"
#define BAD1 "aaaaaaaa-0000-4000-8000-000000000001"
#define BAD2 "aaaaaaaa-0000-4000-8000-000000000002"
#define GHOST "aaaaaaaa-0000-4000-8000-000000000003"
#define WEB "aaaaaaaa-0000-4000-8000-000000000004"

/* A file's contents, "" when unreadable (the caller frees). */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = xcalloc(1, 1 << 16);
    if (f) {
        size_t n = fread(s, 1, (1 << 16) - 1, f);
        s[n] = '\0';
        fclose(f);
    }
    return s;
}

/* A build whose images come from Glance's download URL with the user's token
 * (a compute host on another machine than the image store): the token is
 * used for the download, and never written to the record on disk. */
static void
build_over_http(const char *script)
{
    int port = 0;
    pid_t srv = image_server_start(script, tmp, &port);
    CHECK(srv > 0);
    if (srv <= 0)
        return;
    struct err err = ERR_INIT;
    char *img = xasprintf("{\"id\": \"web-kernel\", \"disk_format\": \"aki\", \"location\": "
                          "\"http://127.0.0.1:%d/vmlinuz\", \"token\": \"secret-token\"}",
                          port);
    char *ramdisk = xasprintf(", \"ramdisk\": {\"id\": \"web-initrd\", \"disk_format\": \"ari\", "
                              "\"location\": \"http://127.0.0.1:%d/initrd.img\", "
                              "\"token\": \"secret-token\"}",
                              port);
    char *msg = build_msg(WEB, "xen", img, ramdisk);
    CHECK_INT(run("build_instance", msg, NULL, &err), AGENT_DONE);
    CHECK(last_is(WEB, "active", NULL, 1));
    CHECK(exists("%s/cache/web-kernel-any", tmp));
    CHECK(exists("%s/cache/web-initrd-any", tmp));
    char path[600];
    snprintf(path, sizeof(path), "%s/instances/%s/instance.json", tmp, WEB);
    char *rec = slurp(path);
    CHECK(strstr(rec, "web-kernel") != NULL);
    CHECK(strstr(rec, "secret-token") == NULL);
    free(rec);
    image_server_stop(srv);
    /* a redefinition from the record alone (no token) uses the cache */
    char name[64];
    compute_domain_name(WEB, name);
    CHECK_INT(agent.drv->ops->destroy(agent.drv, name, &err), 0);
    CHECK_INT(agent.drv->ops->undefine(agent.drv, name, &err), 0);
    CHECK_INT(cast("start_instance", WEB), AGENT_DONE);
    CHECK(last_is(WEB, "active", NULL, 1));
    CHECK_INT(cast("delete_instance", WEB), AGENT_DONE);
    free(msg);
    free(img);
    free(ramdisk);
}

int
main(int argc, char **argv)
{
    log_init("test_compute_ops", LOG_LEVEL_WARN, NULL);
    if (access("/usr/bin/qemu-img", X_OK) < 0)
        SKIP("qemu-img (qemu-utils) is not installed");
    snprintf(tmp, sizeof(tmp), "/tmp/nube-compute-ops.XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    char cmd[2048];
    /* A kernel, an initrd and a 64 MiB raw disk image with a little data. */
    snprintf(cmd, sizeof(cmd),
             "cd %s && head -c 300000 /dev/urandom > vmlinuz && head -c 100000 /dev/urandom > "
             "initrd.img && truncate -s 64M root.raw && printf 'NUBE-DISK' | dd of=root.raw "
             "conv=notrunc bs=1 seek=1048576 status=none",
             tmp);
    CHECK_INT(system(cmd), 0);
    char md5[64] = "";
    snprintf(cmd, sizeof(cmd), "md5sum %s/root.raw", tmp);
    FILE *p = popen(cmd, "r");
    CHECK(p && fscanf(p, "%32s", md5) == 1);
    if (p)
        pclose(p);

    start_agent();
    CHECK_STR(agent.virt_type, "test");
    CHECK(agent.ndomain_types >= 1);
    CHECK_STR(agent.domain_types[0], "test");
    CHECK_INT(agent.disk_kind, DISK_QCOW2_OVERLAY);
    struct err err = ERR_INIT;

    /* ---- build a PV instance: aki kernel, ari initrd, blank root disk ---- */
    char *img = xasprintf("{\"id\": \"kernel-1\", \"disk_format\": \"aki\", \"location\": "
                          "\"file://%s/vmlinuz\", \"properties\": {\"os_command_line\": "
                          "\"console=ttyS0 nube.dhcp=0\"}}",
                          tmp);
    char *ramdisk = xasprintf(", \"ramdisk\": {\"id\": \"initrd-1\", \"disk_format\": \"ari\", "
                              "\"location\": \"file://%s/initrd.img\"}",
                              tmp);
    char *msg = build_msg(PV, "xen", img, ramdisk);
    CHECK_INT(run("build_instance", msg, NULL, &err), AGENT_DONE);
    CHECK_INT(updates_of(PV), 2);
    int u0 = update_at(PV, 0), u1 = update_at(PV, 1);
    CHECK(u0 >= 0 && u1 >= 0);
    if (u0 >= 0 && u1 >= 0) {
        json_t *a0 = events[u0].args, *a1 = events[u1].args;
        CHECK_STR(json_get_str(a0, "vm_state"), "building");
        CHECK_STR(json_get_str(a0, "task_state"), "spawning");
        CHECK_STR(json_get_str(a0, "host"), "unit-host");
        CHECK_STR(events[u0].topic, "events");
        json_int_t s0 = 0, s1 = 0;
        json_get_int(a0, "seq", &s0);
        json_get_int(a1, "seq", &s1);
        CHECK(s1 > s0 && s0 > 1000000000000000000LL); /* ns since the epoch */
        CHECK(json_get_str(a1, "launched_at") != NULL);
    }
    CHECK(last_is(PV, "active", NULL, 1));
    CHECK_INT(domains_named(PV), 1);
    CHECK_INT(domain_power(PV, NULL), COMPUTE_POWER_RUNNING);
    CHECK(exists("%s/instances/%s/disk", tmp, PV));
    CHECK(exists("%s/instances/%s/instance.json", tmp, PV));
    CHECK(exists("%s/cache/kernel-1-any", tmp));
    CHECK(exists("%s/cache/initrd-1-any", tmp));

    /* the same message again (a redelivery): no second domain, state re-reported */
    events_clear();
    CHECK_INT(run("build_instance", msg, NULL, &err), AGENT_DONE);
    CHECK_INT(domains_named(PV), 1);
    CHECK_INT(updates_of(PV), 1);
    CHECK(last_is(PV, "active", NULL, 1));
    /* a malformed build for an instance that is here: ignored, nothing torn down */
    events_clear();
    CHECK_INT(
        run("build_instance", "{\"instance\": {\"id\": \"" PV "\", \"vcpus\": -1}}", NULL, &err),
        AGENT_DONE);
    CHECK_INT(nevents, 0);
    CHECK_INT(domains_named(PV), 1);
    /* its definition lost behind the agent's back, then the build again:
     * defined again and re-reported, the disk kept */
    char pvname[64];
    compute_domain_name(PV, pvname);
    CHECK_INT(agent.drv->ops->destroy(agent.drv, pvname, &err), 0);
    CHECK_INT(agent.drv->ops->undefine(agent.drv, pvname, &err), 0);
    CHECK_INT(run("build_instance", msg, NULL, &err), AGENT_DONE);
    CHECK_INT(domains_named(PV), 1);
    CHECK(exists("%s/instances/%s/disk", tmp, PV));
    CHECK_INT(updates_of(PV), 1);
    CHECK(last_is(PV, "stopped", NULL, 4));
    CHECK_INT(cast("start_instance", PV), AGENT_DONE);
    CHECK(last_is(PV, "active", NULL, 1));
    free(msg);

    /* ---- two HVM instances on one cached image: qcow2 overlays ---- */
    char *rootimg = xasprintf("{\"id\": \"root-1\", \"checksum\": \"%s\", \"disk_format\": "
                              "\"raw\", \"location\": \"file://%s/root.raw\"}",
                              md5, tmp);
    msg = build_msg(HVM1, "hvm", rootimg, NULL);
    CHECK_INT(run("build_instance", msg, NULL, &err), AGENT_DONE);
    free(msg);
    msg = build_msg(HVM2, "hvm", rootimg, NULL);
    CHECK_INT(run("build_instance", msg, NULL, &err), AGENT_DONE);
    free(msg);
    CHECK(last_is(HVM1, "active", NULL, 1));
    CHECK(last_is(HVM2, "active", NULL, 1));
    char path[1024];
    snprintf(path, sizeof(path), "%s/cache", tmp);
    CHECK_INT(count_files(path), 3); /* kernel, initrd, one root image */
    snprintf(path, sizeof(path), "%s/instances/%s/disk", tmp, HVM2);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK(st.st_blocks * 512 < 4 * 1024 * 1024); /* an overlay, not a 64 MiB copy */
    uint64_t vsize = 0;
    CHECK_INT(disk_virtual_size(path, &vsize, &err), 0);
    CHECK_INT(vsize, 1LL << 30); /* root_gb 1 > the 64 MiB image */
    snprintf(cmd, sizeof(cmd),
             "qemu-img info %s/instances/%s/disk | grep -q 'backing file: %s/cache/root-1-%s'", tmp,
             HVM2, tmp, md5);
    CHECK_INT(system(cmd), 0);

    /* ---- power operations ---- */
    events_clear();
    CHECK_INT(cast("stop_instance", HVM1), AGENT_DONE);
    CHECK(last_is(HVM1, "stopped", NULL, 4));
    CHECK_INT(domain_power(HVM1, NULL), COMPUTE_POWER_SHUTDOWN);
    CHECK_INT(cast("stop_instance", HVM1), AGENT_DONE); /* again: still stopped, no error */
    CHECK(last_is(HVM1, "stopped", NULL, 4));
    CHECK_INT(cast("start_instance", HVM1), AGENT_DONE);
    CHECK(last_is(HVM1, "active", NULL, 1));
    CHECK_INT(cast("start_instance", HVM1), AGENT_DONE);
    CHECK(last_is(HVM1, "active", NULL, 1));
    events_clear();
    CHECK_INT(
        run("reboot_instance", "{\"instance_id\": \"" HVM1 "\", \"type\": \"SOFT\"}", NULL, &err),
        AGENT_DONE);
    CHECK_INT(updates_of(HVM1), 2);
    CHECK_STR(json_get_str(events[update_at(HVM1, 0)].args, "task_state"), "reboot_started");
    CHECK(last_is(HVM1, "active", NULL, 1));
    CHECK_INT(
        run("reboot_instance", "{\"instance_id\": \"" HVM1 "\", \"type\": \"HARD\"}", NULL, &err),
        AGENT_DONE);
    CHECK(last_is(HVM1, "active", NULL, 1));
    CHECK_INT(
        run("reboot_instance", "{\"instance_id\": \"" HVM1 "\", \"type\": \"WARM\"}", NULL, &err),
        AGENT_BAD);
    CHECK_INT(cast("pause_instance", HVM1), AGENT_DONE);
    CHECK(last_is(HVM1, "paused", NULL, 3));
    CHECK_INT(domain_power(HVM1, NULL), COMPUTE_POWER_PAUSED);
    CHECK_INT(cast("unpause_instance", HVM1), AGENT_DONE);
    CHECK(last_is(HVM1, "active", NULL, 1));
    bool saved = false;
    CHECK_INT(cast("suspend_instance", HVM1), AGENT_DONE); /* managed save in the test driver */
    CHECK(last_is(HVM1, "suspended", NULL, 4));
    CHECK_INT(domain_power(HVM1, &saved), COMPUTE_POWER_SHUTDOWN);
    CHECK(saved);
    CHECK_INT(cast("suspend_instance", HVM1), AGENT_DONE);
    CHECK(last_is(HVM1, "suspended", NULL, 4));
    CHECK_INT(cast("resume_instance", HVM1), AGENT_DONE);
    CHECK(last_is(HVM1, "active", NULL, 1));
    CHECK_INT(domain_power(HVM1, &saved), COMPUTE_POWER_RUNNING);
    CHECK_INT(cast("pause_instance", GHOST), AGENT_DONE); /* not here: logged, nothing sent */
    CHECK_INT(updates_of(GHOST), 0);
    CHECK_INT(cast("pause_instance", "not-a-uuid"), AGENT_BAD);
    CHECK_INT(run("frobnicate_instance", "{}", NULL, &err), AGENT_BAD);

    /* a state change behind the agent's back: reported at the next sync */
    events_clear();
    char name[64];
    compute_domain_name(HVM2, name);
    CHECK_INT(agent.drv->ops->destroy(agent.drv, name, &err), 0);
    CHECK_INT(agent_sync(&agent, false, &err), 0);
    CHECK(last_is(HVM2, "stopped", NULL, 4));
    CHECK_INT(updates_of(PV), 0); /* unchanged: not reported */

    /* ---- console output ---- */
    snprintf(path, sizeof(path), "%s/instances/%s/console.log", tmp, PV);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("[    0.000000] Linux version\r\nline two \x01\xff\nnube-guest ready\n", f);
        fclose(f);
    }
    json_t *reply = NULL;
    CHECK_INT(
        run("get_console_output", "{\"instance_id\": \"" PV "\", \"length\": 2}", &reply, &err),
        AGENT_DONE);
    CHECK(reply != NULL);
    CHECK_STR(json_get_str(reply, "output"), "line two ??\nnube-guest ready\n");
    json_decref(reply);
    CHECK_INT(run("get_console_output", "{\"instance_id\": \"" PV "\"}", &reply, &err), AGENT_DONE);
    CHECK_STR(json_get_str(reply, "output"),
              "[    0.000000] Linux version\nline two ??\nnube-guest ready\n");
    json_decref(reply);
    CHECK_INT(run("get_console_output", "{\"instance_id\": \"" GHOST "\"}", &reply, &err),
              AGENT_DONE);
    CHECK(reply == NULL);
    CHECK_INT(err.code, ERR_NOT_FOUND);
    CHECK_INT(
        run("get_console_output", "{\"instance_id\": \"" PV "\", \"length\": -1}", &reply, &err),
        AGENT_DONE);
    CHECK(reply == NULL);
    CHECK_INT(err.code, ERR_INVALID);
    CHECK(agent_method_is_call("get_console_output"));
    CHECK(!agent_method_is_call("build_instance"));

    /* ---- failed builds: build_failed to the scheduler, nothing left behind ---- */
    events_clear();
    char *missing = xasprintf("{\"id\": \"gone\", \"disk_format\": \"raw\", \"location\": "
                              "\"file://%s/no-such-image\"}",
                              tmp);
    msg = build_msg(BAD1, "hvm", missing, NULL);
    CHECK_INT(run("build_instance", msg, NULL, &err), AGENT_DONE);
    free(msg);
    free(missing);
    char *wrongsum = xasprintf("{\"id\": \"root-2\", \"checksum\": "
                               "\"00000000000000000000000000000000\", \"disk_format\": \"raw\", "
                               "\"location\": \"file://%s/root.raw\"}",
                               tmp);
    msg = build_msg(BAD2, "hvm", wrongsum, NULL);
    CHECK_INT(run("build_instance", msg, NULL, &err), AGENT_DONE);
    free(msg);
    free(wrongsum);
    int failed = 0;
    for (int i = 0; i < nevents; i++) {
        if (strcmp(events[i].method, "build_failed"))
            continue;
        failed++;
        CHECK_STR(events[i].topic, "scheduler");
        CHECK_STR(json_get_str(events[i].args, "host"), "unit-host");
        const char *id = json_get_str(events[i].args, "instance_id");
        const char *reason = json_get_str(events[i].args, "reason");
        CHECK(reason != NULL);
        if (id && reason && !strcmp(id, BAD1))
            CHECK(strstr(reason, "no-such-image") != NULL);
        if (id && reason && !strcmp(id, BAD2))
            CHECK(strstr(reason, "checksum mismatch") != NULL);
    }
    CHECK_INT(failed, 2);
    CHECK_INT(domains_named(BAD1), 0);
    CHECK_INT(domains_named(BAD2), 0);
    CHECK(!exists("%s/instances/%s", tmp, BAD1));
    CHECK(!exists("%s/instances/%s", tmp, BAD2));
    snprintf(path, sizeof(path), "%s/cache", tmp);
    CHECK_INT(count_files(path), 3); /* no partial download left */
    CHECK(agent_record_find(&agent, BAD1) == NULL);
    /* a malformed instance with a good id: build_failed too, so it can end in ERROR */
    events_clear();
    CHECK_INT(run("build_instance",
                  "{\"instance\": {\"id\": \"" BAD1 "\", \"name\": \"x\", \"vcpus\": 99999}}", NULL,
                  &err),
              AGENT_DONE);
    CHECK_INT(nevents, 1);
    CHECK_STR(events[0].method, "build_failed");
    CHECK_INT(run("build_instance", "{\"instance\": {\"id\": 7}}", NULL, &err), AGENT_BAD);

    /* the bus is down while building: retried later, not failed */
    fail_emit = 1;
    msg = build_msg(BAD2, "hvm", rootimg, NULL);
    CHECK_INT(run("build_instance", msg, NULL, &err), AGENT_RETRY);
    fail_emit = 0;
    CHECK_INT(run("build_instance", msg, NULL, &err), AGENT_DONE);
    CHECK(last_is(BAD2, "active", NULL, 1));
    CHECK_INT(domains_named(BAD2), 1);

    /* ---- delete: idempotent, and a late build does not resurrect ---- */
    events_clear();
    CHECK_INT(cast("delete_instance", BAD2), AGENT_DONE);
    CHECK(last_is(BAD2, "deleted", NULL, 0));
    CHECK_INT(domains_named(BAD2), 0);
    CHECK(!exists("%s/instances/%s", tmp, BAD2));
    CHECK(exists("%s/instances/.deleted/%s", tmp, BAD2));
    CHECK_INT(cast("delete_instance", BAD2), AGENT_DONE);
    CHECK(last_is(BAD2, "deleted", NULL, 0));
    CHECK_INT(run("build_instance", msg, NULL, &err), AGENT_DONE);
    CHECK_INT(domains_named(BAD2), 0);
    CHECK_INT(updates_of(BAD2), 2);
    free(msg);

    /* ---- heartbeat ---- */
    json_t *hb = agent_heartbeat_build(&agent, 1e9);
    json_int_t v = 0;
    CHECK(json_get_int(hb, "vcpus", &v) && v >= 1);
    CHECK(json_get_int(hb, "memory_mb", &v) && v > 0);
    CHECK(json_get_int(hb, "vcpus_used", &v) && v == 3);
    CHECK(json_get_int(hb, "memory_mb_used", &v) && v == 3 * 128);
    CHECK(json_get_int(hb, "running_vms", &v) && v == 3);
    CHECK_STR(json_get_str(hb, "power_source"), "model");
    CHECK(json_real_value(json_object_get(hb, "power_watts")) >= 60);
    CHECK(json_real_value(json_object_get(hb, "energy_joules")) > 0);
    CHECK_INT(json_array_size(json_get_array(hb, "instances")), 3);
    CHECK_INT(json_array_size(json_get_array(hb, "domain_types")), agent.ndomain_types);
    CHECK_STR(json_get_str(hb, "host"), "unit-host");
    CHECK_STR(json_get_str(hb, "host_ip"), "192.0.2.7");
    json_decref(hb);

    /* ---- restart: test:///default forgets its domains, as a host reboot
     * with a forgetful hypervisor would; the records bring them back shut
     * off, and the cloud hears it ---- */
    agent_fini(&agent);
    events_clear();
    start_agent();
    CHECK_INT(agent.nrecs, 3);
    CHECK_INT(domains_named(PV), 0);
    /* meanwhile: a domain of a deleted instance, and one nobody knows */
    const char *orphan_xml = "<domain type='test'><name>nube-" BAD2 "</name><memory>65536</memory>"
                             "<os><type>hvm</type></os></domain>";
    const char *unknown_xml = "<domain type='test'><name>nube-" GHOST "</name><memory>65536"
                              "</memory><os><type>hvm</type></os></domain>";
    CHECK_INT(agent.drv->ops->define(agent.drv, orphan_xml, &err), 0);
    CHECK_INT(agent.drv->ops->define(agent.drv, unknown_xml, &err), 0);
    CHECK_INT(agent_sync(&agent, true, &err), 0);
    CHECK(last_is(PV, "stopped", NULL, 4));
    CHECK(last_is(HVM1, "stopped", NULL, 4));
    CHECK(last_is(HVM2, "stopped", NULL, 4));
    CHECK_INT(domains_named(PV), 1);
    CHECK_INT(domains_named(BAD2), 0);  /* tombstoned: removed */
    CHECK_INT(domains_named(GHOST), 1); /* unknown: left alone, reported */
    hb = agent_heartbeat_build(&agent, 1e9 + 10);
    json_t *ids = json_get_array(hb, "instances");
    bool ghost_listed = false;
    size_t i;
    json_t *val;
    json_array_foreach (ids, i, val)
        ghost_listed |= !strcmp(json_string_value(val), GHOST);
    CHECK(ghost_listed);
    json_decref(hb);
    /* the cloud answers with a delete for the unknown one */
    CHECK_INT(cast("delete_instance", GHOST), AGENT_DONE);
    CHECK_INT(domains_named(GHOST), 0);
    /* and a start brings an instance back */
    CHECK_INT(cast("start_instance", PV), AGENT_DONE);
    CHECK(last_is(PV, "active", NULL, 1));
    /* nothing changed since: a periodic sync reports nothing */
    events_clear();
    CHECK_INT(agent_sync(&agent, false, &err), 0);
    CHECK_INT(nevents, 0);

    if (argc > 1)
        build_over_http(argv[1]);

    CHECK_INT(cast("delete_instance", PV), AGENT_DONE);
    CHECK_INT(cast("delete_instance", HVM1), AGENT_DONE);
    CHECK_INT(cast("delete_instance", HVM2), AGENT_DONE);
    CHECK_INT(agent.nrecs, 0);
    snprintf(path, sizeof(path), "%s/instances", tmp);
    CHECK_INT(count_files(path), 0); /* only .deleted is left */
    agent_fini(&agent);
    events_clear();

    /* ---- configuration refusals ---- */
    struct config *cfg = config_new();
    struct compute_config cc;
    config_set(cfg, "compute", "host", "bad host name");
    CHECK_INT(compute_config_load(&cc, cfg, &err), -1);
    config_set(cfg, "compute", "host", "h1");
    config_set(cfg, "compute", "idle_watts", "300");
    CHECK_INT(compute_config_load(&cc, cfg, &err), -1);
    CHECK(strstr(err.msg, "max_watts") != NULL);
    config_set(cfg, "compute", "idle_watts", "30");
    config_set(cfg, "DEFAULT", "heartbeat_interval", "0");
    CHECK_INT(compute_config_load(&cc, cfg, &err), -1);
    CHECK(strstr(err.msg, "heartbeat_interval") != NULL);
    config_set(cfg, "DEFAULT", "heartbeat_interval", "5");
    snprintf(path, sizeof(path), "%s/instances", tmp);
    config_set(cfg, "compute", "instances_dir", path);
    snprintf(path, sizeof(path), "%s/cache", tmp);
    config_set(cfg, "compute", "image_cache_dir", path);
    config_set(cfg, "compute", "libvirt_uri", "test:///default");
    config_set(cfg, "compute", "domain_type", "kvm"); /* the test driver has none */
    CHECK_INT(compute_config_load(&cc, cfg, &err), 0);
    CHECK_INT(cc.heartbeat_interval_s, 5);
    err_clear(&err);
    CHECK_INT(agent_init(&agent, &cc, collect, NULL, &err), -1);
    CHECK_INT(err.code, ERR_INVALID);
    CHECK(strstr(err.msg, "domain_type") != NULL);
    agent_fini(&agent);
    snprintf(path, sizeof(path), "nube+unix:///system?socket=%s/no-hvd.sock", tmp);
    config_set(cfg, "compute", "libvirt_uri", path);
    config_set(cfg, "compute", "libvirt_connect_timeout", "0");
    config_set(cfg, "compute", "domain_type", "auto");
    CHECK_INT(compute_config_load(&cc, cfg, &err), 0);
    err_clear(&err);
    CHECK_INT(agent_init(&agent, &cc, collect, NULL, &err), -1);
    CHECK(strstr(err.msg, "no-hvd.sock") != NULL);
    agent_fini(&agent);
    config_free(cfg);
    free(img);
    free(ramdisk);
    free(rootimg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return check_done();
}
