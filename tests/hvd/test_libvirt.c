/* Service test through libvirt's own C API (libvirt-dev), as the compute
 * agent uses it: cloud-hvd on a temporary socket and state folder,
 * virConnectOpen, lifecycle events, define/create/info/suspend/resume/
 * destroy/undefine on a qemu-type domain booting Nube's guest, libvirt's error
 * codes for bad input, a daemon restart with the guest running, and a
 * transient domain whose guest powers off by itself.
 *
 *   test_hvd_libvirt CLOUD_HVD GUEST_SH */
#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MAX_EVENTS 256

static char tmp[256];
static char sock[300];
static char uri[400];
static char guest[1024];
static const char *hvd_path;
static pid_t hvd_pid;

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char name[64];
    int event, detail;
} events[MAX_EVENTS];
static int nevents;
static volatile int loop_run = 1;

static void
silent(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;
}

static int
on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn;
    (void)opaque;
    pthread_mutex_lock(&ev_lock);
    if (nevents < MAX_EVENTS) {
        snprintf(events[nevents].name, sizeof(events[0].name), "%s", virDomainGetName(dom));
        events[nevents].event = event;
        events[nevents].detail = detail;
        nevents++;
    }
    pthread_mutex_unlock(&ev_lock);
    return 0;
}

/* Wait up to @secs for event (@event, @detail) on @name. */
static int
wait_event(const char *name, int event, int detail, int secs)
{
    for (int t = 0; t < secs * 20; t++) {
        pthread_mutex_lock(&ev_lock);
        for (int i = 0; i < nevents; i++) {
            if (!strcmp(events[i].name, name) && events[i].event == event &&
                events[i].detail == detail) {
                events[i].event = -1; /* consumed */
                pthread_mutex_unlock(&ev_lock);
                return 1;
            }
        }
        pthread_mutex_unlock(&ev_lock);
        usleep(50000);
    }
    fprintf(stderr, "no event %d/%d for %s within %d s\n", event, detail, name, secs);
    return 0;
}

static void *
event_loop(void *arg)
{
    (void)arg;
    while (loop_run)
        virEventRunDefaultImpl();
    return NULL;
}

static int
last_code(void)
{
    virErrorPtr e = virGetLastError();
    return e ? e->code : 0;
}

static void
start_hvd(void)
{
    char log[400];
    snprintf(log, sizeof(log), "%s/hvd.log", tmp);
    char state[400];
    snprintf(state, sizeof(state), "%s/state", tmp);
    hvd_pid = fork();
    if (hvd_pid == 0) {
        FILE *f = freopen(log, "a", stderr);
        (void)f;
        execl(hvd_path, hvd_path, "--socket", sock, "--state-dir", state, "--log-level", "debug",
              (char *)NULL);
        _exit(127);
    }
    /* Ready when a connection is accepted (the socket file appears at bind(), before listen()). */
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(sock) >= sizeof(sa.sun_path))
            break;
        memcpy(sa.sun_path, sock, strlen(sock) + 1);
        int rc = fd >= 0 ? connect(fd, (struct sockaddr *)&sa, sizeof(sa)) : -1;
        if (fd >= 0)
            close(fd);
        if (rc == 0)
            return;
        usleep(50000);
    }
    fprintf(stderr, "cloud-hvd did not create %s\n", sock);
    exit(1);
}

static void
stop_hvd(void)
{
    if (hvd_pid > 0) {
        kill(hvd_pid, SIGTERM);
        waitpid(hvd_pid, NULL, 0);
    }
    hvd_pid = 0;
}

/* Monitors outlive the daemon by design: kill the ones this test started. */
static void
cleanup(void)
{
    stop_hvd();
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "for f in %s/state/run/*/state.json; do [ -f \"$f\" ] && "
             "kill -9 $(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p' \"$f\") 2>/dev/null; done; "
             "rm -rf %s",
             tmp, tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s incomplete\n", tmp);
}

static char *
domain_xml(const char *name, const char *uuid, const char *kernel, const char *cmdline)
{
    char *x = NULL;
    if (asprintf(&x,
                 "<domain type='qemu'><name>%s</name><uuid>%s</uuid>"
                 "<memory unit='MiB'>256</memory><vcpu>1</vcpu>"
                 "<os><type arch='x86_64'>hvm</type><kernel>%s</kernel>"
                 "<initrd>%s/initrd.img</initrd><cmdline>%s</cmdline></os>"
                 "<devices><serial type='file'><source path='%s/%s.console'/></serial></devices>"
                 "</domain>",
                 name, uuid, kernel, guest, cmdline, tmp, name) < 0)
        abort();
    return x;
}

static int
console_has(const char *name, const char *needle, int secs)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.console", tmp, name);
    for (int t = 0; t < secs * 10; t++) {
        FILE *f = fopen(path, "r");
        if (f) {
            char line[1024];
            while (fgets(line, sizeof(line), f)) {
                if (strstr(line, needle)) {
                    fclose(f);
                    return 1;
                }
            }
            fclose(f);
        }
        usleep(100000);
    }
    return 0;
}

static virConnectPtr
connect_and_watch(int *cb)
{
    virConnectPtr c = virConnectOpen(uri);
    CHECK(c != NULL);
    if (!c)
        return NULL;
    *cb = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                           VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), NULL, NULL);
    CHECK(*cb >= 0);
    return c;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_hvd_libvirt CLOUD_HVD GUEST_SH\n");
        return 2;
    }
    hvd_path = argv[1];
    if (access("/usr/bin/qemu-system-x86_64", X_OK) < 0)
        SKIP("qemu-system-x86_64 not installed");
    FILE *p = popen(argv[2], "r");
    if (!p || !fgets(guest, sizeof(guest), p)) {
        if (p)
            pclose(p);
        SKIP("no guest image (scripts/build-guest-image.sh)");
    }
    int grc = pclose(p);
    if (grc != 0)
        SKIP("no guest image (scripts/build-guest-image.sh)");
    guest[strcspn(guest, "\n")] = '\0';

    snprintf(tmp, sizeof(tmp), "/tmp/hvd-libvirt.XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    snprintf(sock, sizeof(sock), "%s/hvd.sock", tmp);
    snprintf(uri, sizeof(uri), "nube+unix:///system?socket=%s", sock);
    atexit(cleanup);
    /* libvirt's clients ignore SIGPIPE (a write to a daemon that went away). */
    signal(SIGPIPE, SIG_IGN);
    virSetErrorFunc(NULL, silent);
    virEventRegisterDefaultImpl();
    pthread_t loop;
    pthread_create(&loop, NULL, event_loop, NULL);
    start_hvd();

    int cb;
    virConnectPtr conn = connect_and_watch(&cb);
    if (!conn)
        return check_done();
    char kernel[1100];
    snprintf(kernel, sizeof(kernel), "%s/vmlinuz", guest);

    /* Bad XML: VIR_ERR_XML_ERROR, and the daemon keeps serving. */
    CHECK(virDomainDefineXML(conn, "<domain type='qemu'><name>x</name>") == NULL);
    CHECK_INT(last_code(), VIR_ERR_XML_ERROR);
    CHECK(virDomainDefineXML(conn, "<domain type='lxc'><name>x</name></domain>") == NULL);
    CHECK_INT(last_code(), VIR_ERR_CONFIG_UNSUPPORTED);
    CHECK(virDomainLookupByName(conn, "no-such-domain") == NULL);
    CHECK_INT(last_code(), VIR_ERR_NO_DOMAIN);
    /* An unimplemented procedure: libvirt's "unsupported", not a hang. */
    CHECK_INT(virConnectNumOfNetworks(conn), -1);
    CHECK_INT(last_code(), VIR_ERR_NO_SUPPORT);
    CHECK_INT(virConnectNumOfDomains(conn), 0);

    /* Host facts. */
    virNodeInfo ni;
    CHECK_INT(virNodeGetInfo(conn, &ni), 0);
    CHECK(ni.cpus >= 1 && ni.memory > 0);
    char *caps = virConnectGetCapabilities(conn);
    CHECK(caps && strstr(caps, "<domain type='qemu'/>"));
    free(caps);

    /* Define, duplicate name. */
    char *xml = domain_xml("hvd-api-a", "3f1c1b7e-58a4-4e5c-9c2d-0a1b2c3d4e5f", kernel,
                           "console=ttyS0 nube.dhcp=0 nube.metadata=0");
    virDomainPtr a = virDomainDefineXML(conn, xml);
    CHECK(a != NULL);
    free(xml);
    CHECK(wait_event("hvd-api-a", VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED, 5));
    xml = domain_xml("hvd-api-a", "3f1c1b7e-58a4-4e5c-9c2d-000000000000", kernel, "x");
    CHECK(virDomainDefineXML(conn, xml) == NULL);
    CHECK_INT(last_code(), VIR_ERR_OPERATION_FAILED);
    free(xml);
    CHECK_INT(virDomainIsPersistent(a), 1);
    CHECK_INT(virDomainIsActive(a), 0);
    CHECK_INT(virDomainDestroy(a), -1);
    CHECK_INT(last_code(), VIR_ERR_OPERATION_INVALID);

    /* Start and watch it boot. */
    CHECK_INT(virDomainCreate(a), 0);
    CHECK(wait_event("hvd-api-a", VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED, 5));
    virDomainInfo info;
    CHECK_INT(virDomainGetInfo(a, &info), 0);
    CHECK_INT(info.state, VIR_DOMAIN_RUNNING);
    CHECK_INT(info.maxMem, 256 * 1024);
    CHECK_INT(info.nrVirtCpu, 1);
    CHECK(console_has("hvd-api-a", "nube-guest ready", 90));
    CHECK_INT(virDomainGetInfo(a, &info), 0);
    CHECK(info.cpuTime > 0);
    int id = virDomainGetID(a);
    CHECK(id > 0);
    CHECK_INT(virDomainCreate(a), -1); /* already running */
    CHECK_INT(last_code(), VIR_ERR_OPERATION_INVALID);

    CHECK_INT(virDomainSuspend(a), 0);
    CHECK(
        wait_event("hvd-api-a", VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, 5));
    int state, reason;
    CHECK_INT(virDomainGetState(a, &state, &reason, 0), 0);
    CHECK_INT(state, VIR_DOMAIN_PAUSED);
    CHECK_INT(virDomainResume(a), 0);
    CHECK(wait_event("hvd-api-a", VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED, 5));
    char *desc = virDomainGetXMLDesc(a, 0);
    CHECK(desc && strstr(desc, "<name>hvd-api-a</name>"));
    free(desc);
    CHECK_INT(virDomainSetAutostart(a, 1), 0);
    int autostart = 0;
    CHECK_INT(virDomainGetAutostart(a, &autostart), 0);
    CHECK_INT(autostart, 1);
    CHECK_INT(virDomainSetAutostart(a, 0), 0);

    /* Managed save and restore. */
    CHECK_INT(virDomainManagedSave(a, 0), 0);
    CHECK(wait_event("hvd-api-a", VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SAVED, 5));
    CHECK_INT(virDomainHasManagedSaveImage(a, 0), 1);
    CHECK_INT(virDomainGetState(a, &state, &reason, 0), 0);
    CHECK_INT(reason, VIR_DOMAIN_SHUTOFF_SAVED);
    CHECK_INT(virDomainUndefine(a), -1); /* refused while the image exists */
    CHECK_INT(last_code(), VIR_ERR_OPERATION_INVALID);
    CHECK_INT(virDomainCreate(a), 0);
    CHECK(wait_event("hvd-api-a", VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_RESTORED, 30));
    CHECK_INT(virDomainHasManagedSaveImage(a, 0), 0);
    CHECK_INT(virDomainGetState(a, &state, &reason, 0), 0);
    CHECK_INT(state, VIR_DOMAIN_RUNNING);
    CHECK_INT(reason, VIR_DOMAIN_RUNNING_RESTORED);
    id = virDomainGetID(a);

    virDomainFree(a);

    /* Restart the daemon: the guest keeps running and is re-attached. */
    virConnectDomainEventDeregisterAny(conn, cb);
    virConnectClose(conn);
    stop_hvd();
    start_hvd();
    conn = connect_and_watch(&cb);
    if (!conn)
        return check_done();
    a = virDomainLookupByName(conn, "hvd-api-a");
    CHECK(a != NULL);
    if (a) {
        CHECK_INT(virDomainIsActive(a), 1);
        CHECK_INT(virDomainGetID(a), id);
        CHECK_INT(virDomainGetState(a, &state, &reason, 0), 0);
        CHECK_INT(state, VIR_DOMAIN_RUNNING);
        CHECK_INT(virDomainSuspend(a), 0); /* the monitor answers the new daemon */
        CHECK_INT(virDomainResume(a), 0);
        CHECK_INT(virDomainDestroy(a), 0);
        CHECK(wait_event("hvd-api-a", VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
                         5));
        CHECK_INT(virDomainGetState(a, &state, &reason, 0), 0);
        CHECK_INT(state, VIR_DOMAIN_SHUTOFF);
        CHECK_INT(reason, VIR_DOMAIN_SHUTOFF_DESTROYED);
        CHECK_INT(virDomainDestroy(a), -1);
        CHECK_INT(last_code(), VIR_ERR_OPERATION_INVALID);
        CHECK_INT(virDomainUndefine(a), 0);
        CHECK(wait_event("hvd-api-a", VIR_DOMAIN_EVENT_UNDEFINED,
                         VIR_DOMAIN_EVENT_UNDEFINED_REMOVED, 5));
        virDomainFree(a);
    }

    /* A missing kernel: start fails with libvirt's system error. */
    snprintf(kernel, sizeof(kernel), "%s/missing-vmlinuz", tmp);
    xml = domain_xml("hvd-api-c", "3f1c1b7e-58a4-4e5c-9c2d-cccccccccccc", kernel, "x");
    virDomainPtr c = virDomainDefineXML(conn, xml);
    free(xml);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(virDomainCreate(c), -1);
        CHECK_INT(last_code(), VIR_ERR_SYSTEM_ERROR);
        virErrorPtr e = virGetLastError();
        CHECK(e && e->message && strstr(e->message, "missing-vmlinuz"));
        CHECK_INT(virDomainUndefine(c), 0);
        virDomainFree(c);
    }

    /* A transient guest that powers off after its ready line. */
    snprintf(kernel, sizeof(kernel), "%s/vmlinuz", guest);
    xml = domain_xml("hvd-api-b", "3f1c1b7e-58a4-4e5c-9c2d-bbbbbbbbbbbb", kernel,
                     "console=ttyS0 nube.dhcp=0 nube.metadata=0 nube.poweroff=1");
    virDomainPtr b = virDomainCreateXML(conn, xml, 0);
    free(xml);
    CHECK(b != NULL);
    if (b) {
        CHECK_INT(virDomainIsPersistent(b), 0);
        CHECK(
            wait_event("hvd-api-b", VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED, 5));
        CHECK(wait_event("hvd-api-b", VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
                         120));
        CHECK(console_has("hvd-api-b", "nube-guest ready", 1));
        virDomainFree(b);
        CHECK(virDomainLookupByName(conn, "hvd-api-b") == NULL); /* transient: gone */
        CHECK_INT(last_code(), VIR_ERR_NO_DOMAIN);
    }

    /* A monitor that dies: shut off, crashed, and the event says it failed. */
    xml = domain_xml("hvd-api-d", "3f1c1b7e-58a4-4e5c-9c2d-dddddddddddd", kernel,
                     "console=ttyS0 nube.dhcp=0 nube.metadata=0");
    virDomainPtr d = virDomainDefineXML(conn, xml);
    free(xml);
    CHECK(d != NULL);
    if (d) {
        CHECK_INT(virDomainCreate(d), 0);
        char path[512];
        snprintf(path, sizeof(path), "%s/state/run/hvd-api-d/state.json", tmp);
        FILE *f = fopen(path, "r");
        char buf[1024] = "";
        if (f) {
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            buf[n] = '\0';
            fclose(f);
        }
        char *pid = strstr(buf, "\"pid\":");
        CHECK(pid != NULL);
        if (pid) {
            kill((pid_t)atoi(pid + 6), SIGKILL);
            CHECK(wait_event("hvd-api-d", VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FAILED,
                             10));
            CHECK_INT(virDomainGetState(d, &state, &reason, 0), 0);
            CHECK_INT(state, VIR_DOMAIN_SHUTOFF);
            CHECK_INT(reason, VIR_DOMAIN_SHUTOFF_CRASHED);
        }
        CHECK_INT(virDomainUndefine(d), 0);
        virDomainFree(d);
    }

    CHECK_INT(virConnectNumOfDomains(conn), 0);
    virConnectDomainEventDeregisterAny(conn, cb);
    virConnectClose(conn);
    loop_run = 0;
    return check_done();
}
