/* cloud-compute as a daemon on a real RabbitMQ (NUBE_TEST_AMQP_URL), the
 * test playing scheduler and api: it casts to compute.<host>, consumes
 * `events` and `scheduler`, and calls get_console_output.
 *
 *   test_compute_service CLOUD_COMPUTE
 *       libvirt's test driver (test:///default, in the agent's process):
 *       heartbeats, build, duplicate build, every power operation, console
 *       output, failed build, restart and reconcile, delete.
 *   test_compute_service CLOUD_COMPUTE CLOUD_HVD GUEST_SH
 *       (label vm) the agent drives cloud-hvd, which boots Nube's guest as a
 *       qemu-type domain under TCG; the ready line is read through
 *       get_console_output; a duplicate build and an agent restart leave
 *       exactly one domain running. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "check.h"
#include "json.h"
#include "log.h"
#include "mem.h"

#define HOST "svc-host"
#define MAX_MSGS 4096

static struct {
    char queue[32], method[64];
    json_t *args;
} msgs[MAX_MSGS];
static int nmsgs;
static struct bus *bus;
static const char *agent_path, *hvd_path;
static pid_t agent_pid, hvd_pid;
static char tmp[512], conf[600], hvd_sock[600];

static enum bus_verdict
on_msg(struct bus *b, const struct bus_msg *m, void *opaque)
{
    (void)b;
    (void)opaque;
    if (nmsgs < MAX_MSGS) {
        snprintf(msgs[nmsgs].queue, sizeof(msgs[0].queue), "%s", m->queue);
        snprintf(msgs[nmsgs].method, sizeof(msgs[0].method), "%s", m->method);
        msgs[nmsgs].args = json_deep_copy(m->args);
        nmsgs++;
    }
    return BUS_ACK;
}

static void
pump(int ms)
{
    struct err err = ERR_INIT;
    bus_run(bus, ms, &err);
}

/* Index of the first message at or after @from matching method (and, when
 * @id is set, instance_id or the heartbeat's host), waiting up to @secs. */
static int
wait_msg(int from, const char *method, const char *id, int secs)
{
    for (int t = 0; t <= secs * 10; t++) {
        for (int i = from; i < nmsgs; i++) {
            if (strcmp(msgs[i].method, method))
                continue;
            const char *v = json_get_str(msgs[i].args, "instance_id");
            if (!id || (v && !strcmp(v, id)))
                return i;
        }
        pump(100);
    }
    fprintf(stderr, "no %s for %s within %d s\n", method, id ? id : "-", secs);
    return -1;
}

/* Wait for an instance_update of @id with @vm_state and task_state null. */
static json_t *
wait_state(int from, const char *id, const char *vm_state, int secs)
{
    time_t end = time(NULL) + secs;
    int i = from;
    while (time(NULL) <= end) {
        int k = wait_msg(i, "instance_update", id, 1);
        if (k < 0)
            continue;
        json_t *a = msgs[k].args;
        if (!strcmp(json_get_str(a, "vm_state"), vm_state) &&
            json_is_null(json_object_get(a, "task_state")))
            return a;
        i = k + 1;
    }
    fprintf(stderr, "instance %s never reported %s within %d s\n", id, vm_state, secs);
    return NULL;
}

static int
power_of(const json_t *a)
{
    json_int_t p = -1;
    if (a)
        json_get_int(a, "power_state", &p);
    return (int)p;
}

static void
cast_to_agent(const char *method, json_t *args_take)
{
    struct err err = ERR_INIT;
    int rc = bus_cast(bus, "compute." HOST, method, args_take, &err);
    if (rc < 0)
        fprintf(stderr, "cast %s: %s\n", method, err.msg);
    CHECK_INT(rc, 0);
    json_decref(args_take);
}

static void
cast_op(const char *method, const char *id)
{
    cast_to_agent(method, json_pack("{s:s}", "instance_id", id));
}

static void
start_agent(void)
{
    char log[700];
    snprintf(log, sizeof(log), "%s/agent.log", tmp);
    agent_pid = fork();
    if (agent_pid == 0) {
        FILE *f = freopen(log, "a", stderr);
        (void)f;
        execl(agent_path, agent_path, "--config", conf, "--host", HOST, (char *)NULL);
        _exit(127);
    }
}

static int
stop_agent(void)
{
    if (agent_pid <= 0)
        return -1;
    kill(agent_pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 150; i++) {
        if (waitpid(agent_pid, &status, WNOHANG) == agent_pid) {
            agent_pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        usleep(100000);
    }
    kill(agent_pid, SIGKILL);
    waitpid(agent_pid, &status, 0);
    agent_pid = 0;
    return -2; /* did not stop in 15 s */
}

static void
start_hvd(void)
{
    char log[700], state[700];
    snprintf(log, sizeof(log), "%s/hvd.log", tmp);
    snprintf(state, sizeof(state), "%s/hvd-state", tmp);
    hvd_pid = fork();
    if (hvd_pid == 0) {
        FILE *f = freopen(log, "a", stderr);
        (void)f;
        execl(hvd_path, hvd_path, "--socket", hvd_sock, "--state-dir", state, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        struct stat st;
        if (stat(hvd_sock, &st) == 0)
            return;
        usleep(50000);
    }
    fprintf(stderr, "cloud-hvd did not create %s\n", hvd_sock);
}

static void
cleanup(void)
{
    if (agent_pid > 0)
        stop_agent();
    if (hvd_pid > 0) {
        kill(hvd_pid, SIGTERM);
        waitpid(hvd_pid, NULL, 0);
        /* monitors outlive the daemon by design: stop the ones started here */
        char cmd[1600];
        snprintf(cmd, sizeof(cmd),
                 "for f in %s/hvd-state/run/*/state.json; do [ -f \"$f\" ] && "
                 "kill -9 $(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p' \"$f\") 2>/dev/null; "
                 "done; true",
                 tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "monitor cleanup incomplete\n");
    }
    if (getenv("NUBE_TEST_KEEP") == NULL) {
        char cmd[700];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmp);
    }
}

static void
dump_log(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "tail -n 40 %s/agent.log >&2; [ -f %s/hvd.log ] && tail -n 20 %s/hvd.log >&2; true",
             tmp, tmp, tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "no log\n");
}

static json_t *
instance(const char *id, const char *image_json, const char *ramdisk_json, long root_gb)
{
    json_error_t je;
    json_t *img = json_loads(image_json, 0, &je);
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:s, s:o}", "id", id, "name", "svc",
                          "hostname", "svc", "vcpus", 1, "memory_mb", 256, "root_gb",
                          (json_int_t)root_gb, "vm_mode", "xen", "image", img);
    if (ramdisk_json)
        json_object_set_new(o, "ramdisk", json_loads(ramdisk_json, 0, &je));
    return json_pack("{s:o}", "instance", o);
}

static void
write_config(const char *uri)
{
    FILE *f = fopen(conf, "w");
    if (!f)
        exit(1);
    fprintf(f,
            "[DEFAULT]\nhost = ignored-by---host\n\n[compute]\nlibvirt_uri = %s\n"
            "instances_dir = %s/instances\nimage_cache_dir = %s/cache\nheartbeat_interval = 1\n"
            "idle_watts = 40\nmax_watts = 140\navailability_zone = az-test\n"
            "shutdown_timeout = 3\npowercap_dir = %s/no-powercap\n\n[bus]\nurl = %s\n\n"
            "[log]\nlevel = debug\n",
            uri, tmp, tmp, tmp, getenv("NUBE_TEST_AMQP_URL"));
    fclose(f);
}

static void
check_heartbeat(int from, size_t want_instances)
{
    int k = wait_msg(from, "host_heartbeat", NULL, 10);
    CHECK(k >= 0);
    if (k < 0)
        return;
    json_t *hb = msgs[k].args;
    json_int_t v = -1;
    CHECK_STR(json_get_str(hb, "host"), HOST);
    CHECK_STR(json_get_str(hb, "availability_zone"), "az-test");
    CHECK(json_get_int(hb, "vcpus", &v) && v >= 1);
    CHECK(json_get_int(hb, "memory_mb", &v) && v > 0);
    CHECK(json_get_int(hb, "local_gb", &v) && v >= 0);
    CHECK(json_get_int(hb, "memory_mb_free", &v) && v >= 0);
    CHECK(json_array_size(json_get_array(hb, "domain_types")) >= 1);
    CHECK_STR(json_get_str(hb, "power_source"), "model");
    double w = json_real_value(json_object_get(hb, "power_watts"));
    CHECK(w >= 40 && w <= 140);
    CHECK(json_real_value(json_object_get(hb, "idle_watts")) == 40);
    CHECK(json_real_value(json_object_get(hb, "max_watts")) == 140);
    CHECK(json_object_get(hb, "energy_joules") != NULL);
    CHECK(json_is_number(json_object_get(hb, "cpu_util")));
    CHECK_INT(json_array_size(json_get_array(hb, "instances")), want_instances);
}

static double
energy_of(int k)
{
    return k >= 0 ? json_real_value(json_object_get(msgs[k].args, "energy_joules")) : -1;
}

/* ---------------- against libvirt's test driver ---------------- */

static void
run_test_driver(void)
{
    write_config("test:///default");
    char cmd[1200];
    snprintf(cmd, sizeof(cmd),
             "cd %s && head -c 200000 /dev/urandom > vmlinuz && head -c 50000 /dev/urandom > "
             "initrd.img",
             tmp);
    CHECK_INT(system(cmd), 0);
    start_agent();

    /* registration and heartbeats with energy that grows */
    int h0 = wait_msg(0, "host_heartbeat", NULL, 20);
    CHECK(h0 >= 0);
    check_heartbeat(0, 0);
    int h1 = wait_msg(h0 + 1, "host_heartbeat", NULL, 5);
    CHECK(h1 > h0);
    CHECK(energy_of(h1) > energy_of(h0));
    json_t *types = h0 >= 0 ? json_get_array(msgs[h0].args, "domain_types") : NULL;
    CHECK(types && !strcmp(json_string_value(json_array_get(types, 0)), "test"));

    const char *id = "5d0c2f3e-1a2b-4c3d-8e4f-000000000001";
    const char *bad = "5d0c2f3e-1a2b-4c3d-8e4f-000000000002";
    char img[800], ramdisk[800];
    snprintf(img, sizeof(img),
             "{\"id\": \"k\", \"disk_format\": \"aki\", \"location\": \"file://%s/vmlinuz\", "
             "\"properties\": {\"os_command_line\": \"console=ttyS0\"}}",
             tmp);
    snprintf(ramdisk, sizeof(ramdisk),
             "{\"id\": \"r\", \"disk_format\": \"ari\", \"location\": \"file://%s/initrd.img\"}",
             tmp);

    /* build: building/spawning then active, seq increasing */
    int from = nmsgs;
    cast_to_agent("build_instance", instance(id, img, ramdisk, 1));
    json_t *active = wait_state(from, id, "active", 30);
    CHECK(active != NULL);
    CHECK_INT(power_of(active), 1);
    int sp = wait_msg(from, "instance_update", id, 1);
    CHECK(sp >= 0);
    if (sp >= 0 && active) {
        CHECK_STR(json_get_str(msgs[sp].args, "vm_state"), "building");
        CHECK_STR(json_get_str(msgs[sp].args, "task_state"), "spawning");
        json_int_t s0 = 0, s1 = 0;
        json_get_int(msgs[sp].args, "seq", &s0);
        json_get_int(active, "seq", &s1);
        CHECK(s1 > s0);
        CHECK(json_get_str(active, "launched_at") != NULL);
    }
    /* the same build again: no new spawn, one instance on the host */
    from = nmsgs;
    cast_to_agent("build_instance", instance(id, img, ramdisk, 1));
    CHECK(wait_state(from, id, "active", 10) != NULL);
    int k = wait_msg(from, "instance_update", id, 1);
    CHECK(k >= 0 && !strcmp(json_get_str(msgs[k].args, "vm_state"), "active"));
    check_heartbeat(nmsgs, 1);
    int hb = wait_msg(nmsgs, "host_heartbeat", NULL, 5);
    json_int_t vms = -1;
    CHECK(hb >= 0 && json_get_int(msgs[hb].args, "running_vms", &vms) && vms == 1);

    /* every power operation, in order */
    static const struct {
        const char *method, *state;
        int power;
    } steps[] = {
        {"stop_instance", "stopped", 4},   {"start_instance", "active", 1},
        {"reboot_instance", "active", 1},  {"pause_instance", "paused", 3},
        {"unpause_instance", "active", 1}, {"suspend_instance", "suspended", 4},
        {"resume_instance", "active", 1},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        from = nmsgs;
        cast_op(steps[i].method, id);
        json_t *a = wait_state(from, id, steps[i].state, 20);
        CHECK(a != NULL);
        if (power_of(a) != steps[i].power)
            fprintf(stderr, "%s: power %d\n", steps[i].method, power_of(a));
        CHECK_INT(power_of(a), steps[i].power);
    }
    from = nmsgs;
    cast_to_agent("reboot_instance", json_pack("{s:s, s:s}", "instance_id", id, "type", "HARD"));
    k = wait_msg(from, "instance_update", id, 10);
    CHECK(k >= 0 && !strcmp(json_get_str(msgs[k].args, "task_state"), "reboot_started_hard"));
    CHECK(wait_state(from, id, "active", 10) != NULL);

    /* console output (the test driver runs no guest: the test writes the file) */
    char path[800];
    snprintf(path, sizeof(path), "%s/instances/%s/console.log", tmp, id);
    FILE *f = fopen(path, "a");
    CHECK(f != NULL);
    if (f) {
        fputs("booting\nnube-guest ready\n", f);
        fclose(f);
    }
    json_t *reply = NULL;
    struct err err = ERR_INIT;
    json_t *args = json_pack("{s:s, s:i}", "instance_id", id, "length", 1);
    CHECK_INT(bus_call(bus, "compute." HOST, "get_console_output", args, 10000, &reply, &err), 0);
    json_decref(args);
    CHECK_STR(json_get_str(reply, "output"), "nube-guest ready\n");
    json_decref(reply);
    args = json_pack("{s:s}", "instance_id", bad);
    reply = NULL;
    CHECK_INT(bus_call(bus, "compute." HOST, "get_console_output", args, 10000, &reply, &err), -1);
    CHECK_INT(err.code, ERR_NOT_FOUND);
    json_decref(args);

    /* a failed build: build_failed to the scheduler, nothing left */
    from = nmsgs;
    char missing[800];
    snprintf(missing, sizeof(missing),
             "{\"id\": \"k2\", \"disk_format\": \"aki\", \"location\": \"file://%s/nothing\"}",
             tmp);
    cast_to_agent("build_instance", instance(bad, missing, NULL, 1));
    k = wait_msg(from, "build_failed", bad, 20);
    CHECK(k >= 0);
    if (k >= 0) {
        CHECK_STR(msgs[k].queue, "scheduler");
        CHECK_STR(json_get_str(msgs[k].args, "host"), HOST);
        CHECK(strstr(json_get_str(msgs[k].args, "reason"), "nothing") != NULL);
    }
    snprintf(path, sizeof(path), "%s/instances/%s", tmp, bad);
    CHECK(access(path, F_OK) != 0);
    check_heartbeat(nmsgs, 1);

    /* restart: graceful stop, then reconcile. The test driver's domains die
     * with the agent's connection, as on a host reboot: the instance comes
     * back defined and shut off, and the cloud hears it. */
    CHECK_INT(stop_agent(), 0);
    from = nmsgs;
    start_agent();
    json_t *st = wait_state(from, id, "stopped", 20);
    CHECK(st != NULL);
    CHECK_INT(power_of(st), 4);
    check_heartbeat(from, 1);
    from = nmsgs;
    cast_op("start_instance", id);
    CHECK(wait_state(from, id, "active", 20) != NULL);

    /* the api answers a heartbeat listing an instance it deleted with a delete */
    from = nmsgs;
    cast_op("delete_instance", id);
    st = wait_state(from, id, "deleted", 20);
    CHECK(st != NULL);
    CHECK_INT(power_of(st), 0);
    check_heartbeat(nmsgs, 0);
    snprintf(path, sizeof(path), "%s/instances/%s", tmp, id);
    CHECK(access(path, F_OK) != 0);
    /* a late duplicate of the build does not bring it back */
    from = nmsgs;
    cast_to_agent("build_instance", instance(id, img, ramdisk, 1));
    check_heartbeat(from, 0);
    check_heartbeat(nmsgs, 0);

    /* a real redelivery: the agent dies in the middle of a build (its kernel
     * image is a FIFO nobody writes yet), the broker gives the unacked
     * message to the restarted agent, which finishes the build once */
    const char *re = "5d0c2f3e-1a2b-4c3d-8e4f-000000000003";
    char fifo[800], fimg[900];
    snprintf(fifo, sizeof(fifo), "%s/slow-kernel", tmp);
    CHECK_INT(mkfifo(fifo, 0600), 0);
    snprintf(fimg, sizeof(fimg),
             "{\"id\": \"slow\", \"disk_format\": \"aki\", \"location\": \"file://%s\"}", fifo);
    from = nmsgs;
    cast_to_agent("build_instance", instance(re, fimg, NULL, 0));
    k = wait_msg(from, "instance_update", re, 20);
    CHECK(k >= 0 && !strcmp(json_get_str(msgs[k].args, "task_state"), "spawning"));
    kill(agent_pid, SIGKILL);
    waitpid(agent_pid, NULL, 0);
    agent_pid = 0;
    /* the agent had opened the FIFO: its partial download is in the cache */
    snprintf(cmd, sizeof(cmd), "ls %s/cache | grep -q '\\.part\\.'", tmp);
    CHECK_INT(system(cmd), 0);
    pid_t writer = fork();
    if (writer == 0) {
        FILE *w = fopen(fifo, "w"); /* blocks until the new agent reads */
        if (!w)
            _exit(1);
        for (int n = 0; n < 1000; n++)
            fputs("not really a kernel, but the test driver does not care\n", w);
        fclose(w);
        _exit(0);
    }
    from = nmsgs;
    start_agent();
    json_t *done = wait_state(from, re, "active", 30);
    CHECK(done != NULL);
    if (!done)
        kill(writer, SIGKILL); /* never read: do not hang on it */
    int status = -1;
    waitpid(writer, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int spawns = 0, actives = 0;
    for (int i = from; i < nmsgs; i++) {
        const char *v = json_get_str(msgs[i].args, "instance_id");
        if (strcmp(msgs[i].method, "instance_update") || !v || strcmp(v, re))
            continue;
        spawns += json_is_string(json_object_get(msgs[i].args, "task_state"));
        actives += !strcmp(json_get_str(msgs[i].args, "vm_state"), "active");
    }
    CHECK_INT(spawns, 1); /* the redelivered build, once */
    CHECK_INT(actives, 1);
    check_heartbeat(nmsgs, 1);
    snprintf(cmd, sizeof(cmd), "ls %s/cache | grep -q '\\.part\\.'", tmp);
    CHECK(system(cmd) != 0); /* the dead agent's partial download was removed */
    from = nmsgs;
    cast_op("delete_instance", re);
    CHECK(wait_state(from, re, "deleted", 20) != NULL);
    CHECK_INT(stop_agent(), 0);
}

/* ---------------- against cloud-hvd, booting the guest ---------------- */

static int
domains_named(virConnectPtr c, const char *name, int *state)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(c, &doms, 0), count = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(virDomainGetName(doms[i]), name)) {
            count++;
            int reason;
            if (state)
                virDomainGetState(doms[i], state, &reason, 0);
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    return n < 0 ? -1 : count;
}

static char *
console_until(const char *id, const char *needle, int secs)
{
    for (int t = 0; t < secs; t++) {
        json_t *reply = NULL;
        struct err err = ERR_INIT;
        json_t *args = json_pack("{s:s, s:i}", "instance_id", id, "length", 50);
        int rc = bus_call(bus, "compute." HOST, "get_console_output", args, 10000, &reply, &err);
        json_decref(args);
        if (rc == 0) {
            const char *out = json_get_str(reply, "output");
            if (out && strstr(out, needle)) {
                char *copy = strdup(out);
                json_decref(reply);
                return copy;
            }
        }
        json_decref(reply);
        pump(1000);
    }
    return NULL;
}

static void
run_hvd(const char *guest_sh)
{
    if (access("/usr/bin/qemu-system-x86_64", X_OK) < 0)
        SKIP("qemu-system-x86_64 is not installed");
    char guest[1024] = "";
    FILE *p = popen(guest_sh, "r");
    if (!p || !fgets(guest, sizeof(guest), p) || pclose(p) != 0)
        SKIP("no guest image (scripts/build-guest-image.sh)");
    guest[strcspn(guest, "\n")] = '\0';
    snprintf(hvd_sock, sizeof(hvd_sock), "%s/hvd.sock", tmp);
    start_hvd();
    char uri[800];
    snprintf(uri, sizeof(uri), "nube+unix:///system?socket=%s", hvd_sock);
    write_config(uri);
    virConnectPtr conn = virConnectOpen(uri);
    if (!conn) {
        dump_log();
        SKIP("cannot connect to cloud-hvd at %s", uri);
    }
    start_agent();
    int h0 = wait_msg(0, "host_heartbeat", NULL, 20);
    CHECK(h0 >= 0);
    json_t *types = h0 >= 0 ? json_get_array(msgs[h0].args, "domain_types") : NULL;
    bool has_qemu = false;
    size_t i;
    json_t *v;
    json_array_foreach (types, i, v)
        has_qemu |= !strcmp(json_string_value(v), "qemu");
    CHECK(has_qemu);
    const char *hv = h0 >= 0 ? json_get_str(msgs[h0].args, "hypervisor_type") : NULL;
    CHECK(hv && strcasecmp(hv, "nube") == 0); /* virConnectGetType of cloud-hvd */

    const char *id = "5d0c2f3e-1a2b-4c3d-8e4f-0000000000aa";
    char name[64];
    snprintf(name, sizeof(name), "nube-%s", id);
    char img[1400], ramdisk[1400];
    snprintf(img, sizeof(img),
             "{\"id\": \"nube-guest-kernel\", \"disk_format\": \"aki\", \"location\": "
             "\"file://%s/vmlinuz\", \"properties\": {\"os_command_line\": "
             "\"console=ttyS0 nube.dhcp=0 nube.metadata=0\"}}",
             guest);
    snprintf(ramdisk, sizeof(ramdisk),
             "{\"id\": \"nube-guest-initrd\", \"disk_format\": \"ari\", \"location\": "
             "\"file://%s/initrd.img\"}",
             guest);
    int from = nmsgs;
    cast_to_agent("build_instance", instance(id, img, ramdisk, 1));
    json_t *a = wait_state(from, id, "active", 60);
    CHECK(a != NULL);
    CHECK_INT(power_of(a), 1);
    int state = 0;
    CHECK_INT(domains_named(conn, name, &state), 1);
    CHECK_INT(state, VIR_DOMAIN_RUNNING);
    char *out = console_until(id, "nube-guest ready", 120);
    CHECK(out != NULL);
    free(out);

    /* a duplicate build and an agent restart: still one domain, still running */
    from = nmsgs;
    cast_to_agent("build_instance", instance(id, img, ramdisk, 1));
    CHECK(wait_state(from, id, "active", 20) != NULL);
    CHECK_INT(domains_named(conn, name, NULL), 1);
    CHECK_INT(stop_agent(), 0);
    CHECK_INT(domains_named(conn, name, &state), 1);
    CHECK_INT(state, VIR_DOMAIN_RUNNING); /* guests outlive the agent */
    from = nmsgs;
    start_agent();
    a = wait_state(from, id, "active", 30); /* reconcile reports what runs */
    CHECK(a != NULL);
    CHECK_INT(power_of(a), 1);
    check_heartbeat(from, 1);

    /* cloud-hvd restarts under the agent (the guest keeps running): the
     * agent reconnects, and the next operation works */
    kill(hvd_pid, SIGTERM);
    waitpid(hvd_pid, NULL, 0);
    unlink(hvd_sock);
    start_hvd();
    virConnectClose(conn);
    conn = virConnectOpen(uri);
    CHECK(conn != NULL);
    if (!conn)
        return;

    /* pause, suspend, stop, start */
    from = nmsgs;
    cast_op("pause_instance", id);
    CHECK_INT(power_of(wait_state(from, id, "paused", 20)), 3);
    from = nmsgs;
    cast_op("unpause_instance", id);
    CHECK_INT(power_of(wait_state(from, id, "active", 20)), 1);
    from = nmsgs;
    cast_op("suspend_instance", id);
    /* 4: saved to disk (cloud-hvd managed save); 7: paused in memory where it has none */
    int sp = power_of(wait_state(from, id, "suspended", 60));
    CHECK(sp == 7 || sp == 4);
    from = nmsgs;
    cast_op("resume_instance", id);
    CHECK_INT(power_of(wait_state(from, id, "active", 60)), 1);
    from = nmsgs;
    cast_op("stop_instance", id);
    CHECK_INT(power_of(wait_state(from, id, "stopped", 30)), 4);
    CHECK_INT(domains_named(conn, name, &state), 1);
    CHECK_INT(state, VIR_DOMAIN_SHUTOFF);
    from = nmsgs;
    cast_op("start_instance", id);
    CHECK_INT(power_of(wait_state(from, id, "active", 30)), 1);
    from = nmsgs;
    cast_op("reboot_instance", id);
    CHECK_INT(power_of(wait_state(from, id, "active", 30)), 1);

    from = nmsgs;
    cast_op("delete_instance", id);
    CHECK(wait_state(from, id, "deleted", 30) != NULL);
    CHECK_INT(domains_named(conn, name, NULL), 0);
    CHECK_INT(stop_agent(), 0);
    virConnectClose(conn);
}

static void
silent(void *opaque, virErrorPtr e)
{
    (void)opaque;
    (void)e;
}

int
main(int argc, char **argv)
{
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: test_compute_service CLOUD_COMPUTE [CLOUD_HVD GUEST_SH]\n");
        return 2;
    }
    agent_path = argv[1];
    hvd_path = argc == 4 ? argv[2] : NULL;
    const char *url = getenv("NUBE_TEST_AMQP_URL");
    if (!url)
        SKIP("NUBE_TEST_AMQP_URL is not set (run through service.sh)");
    log_init("test_compute_service", LOG_LEVEL_WARN, NULL);
    signal(SIGPIPE, SIG_IGN); /* libvirt writes to a cloud-hvd the test restarts */
    virSetErrorFunc(NULL, silent);
    snprintf(tmp, sizeof(tmp), "%s/compute.XXXXXX",
             getenv("NUBE_TEST_TMP") ? getenv("NUBE_TEST_TMP") : "/tmp");
    if (!mkdtemp(tmp))
        return 1;
    chmod(tmp, 0755);
    snprintf(conf, sizeof(conf), "%s/compute.conf", tmp);
    atexit(cleanup);
    struct err err = ERR_INIT;
    bus = bus_open(url, NULL, &err);
    if (!bus) {
        fprintf(stderr, "bus_open: %s\n", err.msg);
        return 1;
    }
    if (bus_consume(bus, "events", on_msg, NULL, &err) < 0 ||
        bus_consume(bus, "scheduler", on_msg, NULL, &err) < 0) {
        fprintf(stderr, "bus_consume: %s\n", err.msg);
        return 1;
    }
    if (hvd_path)
        run_hvd(argv[3]);
    else
        run_test_driver();
    if (check_failures)
        dump_log();
    bus_close(bus);
    for (int i = 0; i < nmsgs; i++)
        json_decref(msgs[i].args);
    return check_done();
}
