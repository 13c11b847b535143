/* type='qemu': Debian's qemu-system-x86_64 with TCG, started the way libvirt's
 * QEMU driver starts it (-nodefaults, -no-user-config, QMP on a unix socket,
 * -sandbox), and driven over QMP: stop, cont, system_powerdown,
 * system_reset, query-status, query-blockstats. */
#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "json.h"
#include "mem.h"
#include "monitor.h"

#define QMP_TIMEOUT_MS 5000

static int
qemu_prepare(const struct hvd_config *cfg, const struct domain_def *def, struct rpc_error *e)
{
    (void)def;
    if (access(cfg->qemu_path, X_OK) < 0)
        return rpc_error_set(e, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_QEMU,
                             "QEMU binary %s is not available: %s", cfg->qemu_path,
                             strerror(errno));
    return 0;
}

struct argv_builder {
    char **v;
    size_t n, cap;
};

static void
arg(struct argv_builder *a, char *s_take)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = xrealloc(a->v, a->cap * sizeof(char *));
    }
    a->v[a->n++] = s_take;
    a->v[a->n] = NULL;
}

static void
arg2(struct argv_builder *a, const char *opt, char *value_take)
{
    arg(a, xstrdup(opt));
    arg(a, value_take);
}

/* QEMU option values double a literal comma. */
static char *
qemu_escape(const char *s)
{
    size_t n = strlen(s), commas = 0;
    for (size_t i = 0; i < n; i++)
        commas += s[i] == ',';
    char *out = xmalloc(n + commas + 1), *p = out;
    for (size_t i = 0; i < n; i++) {
        *p++ = s[i];
        if (s[i] == ',')
            *p++ = ',';
    }
    *p = '\0';
    return out;
}

static char **
qemu_argv(const struct hvd_vm *vm, bool paused)
{
    const struct domain_def *def = vm->def;
    struct argv_builder a = {0};
    char uuid[37];
    domain_uuid_format(def->uuid, uuid);

    arg(&a, xstrdup(vm->cfg->qemu_path));
    arg2(&a, "-name", xasprintf("guest=%s,debug-threads=on", def->name));
    arg2(&a, "-uuid", xstrdup(uuid));
    arg2(&a, "-machine", xasprintf("%s,accel=tcg", def->machine ? def->machine : "pc"));
    arg2(&a, "-m", xasprintf("%lluM", (unsigned long long)((def->memory_kib + 1023) / 1024)));
    arg2(&a, "-smp", xasprintf("%u", def->vcpus));
    arg(&a, xstrdup("-nodefaults"));
    arg(&a, xstrdup("-no-user-config"));
    arg2(&a, "-display", xstrdup("none"));
    if (vm->cfg->qemu_sandbox)
        arg2(&a, "-sandbox",
             xstrdup("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"));
    _cleanup_free_ char *qmp = qemu_escape(vm->control);
    arg2(&a, "-qmp", xasprintf("unix:%s,server=on,wait=off", qmp));
    if (def->serial_file) {
        _cleanup_free_ char *p = qemu_escape(def->serial_file);
        /* a restored guest continues its console; a booted one starts it afresh */
        arg2(
            &a, "-chardev",
            xasprintf("file,id=charserial0,path=%s%s", p, vm->restore_fd >= 0 ? ",append=on" : ""));
        arg2(&a, "-device", xstrdup("isa-serial,chardev=charserial0,id=serial0"));
    }
    if (def->loader)
        arg2(&a, "-bios", xstrdup(def->loader));
    if (def->kernel)
        arg2(&a, "-kernel", xstrdup(def->kernel));
    if (def->initrd)
        arg2(&a, "-initrd", xstrdup(def->initrd));
    if (def->cmdline)
        arg2(&a, "-append", xstrdup(def->cmdline));
    /* I/O errors go to the guest (werror/rerror=report): QEMU's default would
     * pause the VM on ENOSPC behind our back. */
    for (size_t i = 0; i < def->ndisks; i++) {
        const struct domain_disk *d = &def->disks[i];
        _cleanup_free_ char *p = qemu_escape(d->source);
        arg2(&a, "-drive",
             xasprintf("file=%s,format=%s,if=none,id=drive-%s,werror=report,rerror=report%s", p,
                       d->format, d->target, d->readonly ? ",readonly=on" : ""));
        arg2(&a, "-device",
             xasprintf("virtio-blk-pci,drive=drive-%s,id=%s%s", d->target, d->target,
                       (!def->kernel && i == 0) ? ",bootindex=1" : ""));
    }
    for (size_t i = 0; i < def->nifaces; i++) {
        const struct domain_iface *f = &def->ifaces[i];
        (void)f;
        arg2(&a, "-netdev", xasprintf("tap,id=hostnet%zu,fd=%zu", i, 3 + i));
        arg2(&a, "-device",
             xasprintf("virtio-net-pci,netdev=hostnet%zu,id=net%zu,mac=%s", i, i, f->mac));
    }
    if (def->reboot_destroy)
        arg(&a, xstrdup("-no-reboot"));
    if (paused)
        arg(&a, xstrdup("-S"));
    if (vm->restore_fd >= 0) /* inherited right after the taps */
        arg2(&a, "-incoming", xasprintf("fd:%zu", 3 + def->nifaces));
    arg2(&a, "-msg", xstrdup("timestamp=on"));
    return a.v;
}

/* Open a QMP session: greeting, then capabilities negotiation. */
static int
qmp_open(struct hvd_vm *vm, struct monitor_conn *c, unsigned timeout_ms, struct rpc_error *e)
{
    if (monitor_connect(c, vm->control, timeout_ms, e) < 0)
        return -1;
    json_t *greeting = monitor_recv(c, QMP_TIMEOUT_MS, e);
    if (!greeting || !json_get_obj(greeting, "QMP")) {
        json_decref(greeting);
        monitor_close(c);
        return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                             "no QMP greeting from domain '%s'", vm->def->name);
    }
    json_decref(greeting);
    json_t *cmd = json_pack("{s:s}", "execute", "qmp_capabilities");
    int rc = monitor_send(c, cmd, e);
    json_decref(cmd);
    while (rc == 0) {
        json_t *r = monitor_recv(c, QMP_TIMEOUT_MS, e);
        if (!r) {
            rc = -1;
            break;
        }
        bool done = json_object_get(r, "return") || json_object_get(r, "error");
        json_decref(r);
        if (done)
            break;
    }
    if (rc < 0)
        monitor_close(c);
    return rc;
}

/* Run @command (with @args, stolen; and @fd passed along when >= 0) on an
 * open session; *ret (if not NULL) receives its "return" value. */
static int
qmp_exec(struct monitor_conn *c, const char *command, json_t *args, int fd, json_t **ret,
         struct rpc_error *e)
{
    if (ret)
        *ret = NULL;
    json_t *cmd = json_pack("{s:s}", "execute", command);
    if (args)
        json_object_set_new(cmd, "arguments", args);
    int rc = fd >= 0 ? monitor_send_fd(c, cmd, fd, e) : monitor_send(c, cmd, e);
    json_decref(cmd);
    while (rc == 0) {
        json_t *r = monitor_recv(c, QMP_TIMEOUT_MS, e);
        if (!r)
            return -1;
        json_t *err = json_get_obj(r, "error");
        json_t *val = json_object_get(r, "return");
        if (err) {
            const char *desc = json_get_str(err, "desc");
            rc = rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU, "QEMU %s failed: %s",
                               command, desc ? desc : "unknown error");
        } else if (val && ret) {
            *ret = json_incref(val);
        }
        json_decref(r);
        if (err || val)
            break;
        /* an asynchronous event: skip */
    }
    return rc;
}

/* One QMP command in a session of its own. */
static int
qmp_run(struct hvd_vm *vm, const char *command, json_t **ret, struct rpc_error *e)
{
    struct monitor_conn *c = xmalloc(sizeof(*c));
    int rc = -1;
    if (ret)
        *ret = NULL;
    if (qmp_open(vm, c, 2000, e) == 0) {
        rc = qmp_exec(c, command, NULL, -1, ret, e);
        monitor_close(c);
    }
    free(c);
    return rc;
}

static int
qemu_wait_ready(struct hvd_vm *vm, unsigned timeout_ms, struct rpc_error *e)
{
    struct monitor_conn *c = xmalloc(sizeof(*c));
    int rc = -1;
    /* Retry the connection while the process lives, so an early exit is reported at once. */
    for (unsigned waited = 0; waited < timeout_ms; waited += 100) {
        if (kill(vm->pid, 0) < 0 || monitor_wait_exit(vm->pid, 0))
            break;
        struct rpc_error ignored;
        if (qmp_open(vm, c, 100, &ignored) == 0) {
            monitor_close(c);
            rc = 0;
            break;
        }
    }
    free(c);
    if (rc < 0) {
        monitor_wait_exit(vm->pid, 1000);
        _cleanup_free_ char *tail = monitor_log_tail(vm->log_path, 600);
        return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU,
                             "QEMU for domain '%s' did not start: %s", vm->def->name,
                             *tail ? tail : "no monitor socket");
    }
    return 0;
}

static int
qemu_suspend(struct hvd_vm *vm, struct rpc_error *e)
{
    return qmp_run(vm, "stop", NULL, e);
}

static int
qemu_resume(struct hvd_vm *vm, struct rpc_error *e)
{
    return qmp_run(vm, "cont", NULL, e);
}

static int
qemu_shutdown(struct hvd_vm *vm, struct rpc_error *e)
{
    return qmp_run(vm, "system_powerdown", NULL, e);
}

static int
qemu_reboot(struct hvd_vm *vm, struct rpc_error *e)
{
    return qmp_run(vm, "system_reset", NULL, e);
}

static int
qemu_query(struct hvd_vm *vm, bool *paused, bool *incoming, struct rpc_error *e)
{
    json_t *r;
    if (qmp_run(vm, "query-status", &r, e) < 0)
        return -1;
    const char *status = json_get_str(r, "status");
    bool running = false;
    json_get_bool(r, "running", &running);
    *paused = !running && status && strcmp(status, "shutdown") != 0;
    *incoming = status && !strcmp(status, "inmigrate");
    json_decref(r);
    return 0;
}

static int64_t
stat_int(json_t *stats, const char *key)
{
    json_int_t v = 0;
    json_get_int(stats, key, &v);
    return (int64_t)v;
}

static int
qemu_block_stats(struct hvd_vm *vm, const char *target, struct hvd_block_stats *st,
                 struct rpc_error *e)
{
    json_t *r;
    if (qmp_run(vm, "query-blockstats", &r, e) < 0)
        return -1;
    char want[64];
    snprintf(want, sizeof(want), "drive-%s", target);
    int rc = rpc_error_set(e, VIR_ERR_INVALID_ARG, VIR_FROM_QEMU,
                           "invalid path: %s (no such disk in the monitor)", target);
    size_t i;
    json_t *item;
    json_array_foreach (r, i, item) {
        const char *dev = json_get_str(item, "device");
        json_t *s = json_get_obj(item, "stats");
        if (!dev || !s || strcmp(dev, want))
            continue;
        st->rd_req = stat_int(s, "rd_operations");
        st->rd_bytes = stat_int(s, "rd_bytes");
        st->wr_req = stat_int(s, "wr_operations");
        st->wr_bytes = stat_int(s, "wr_bytes");
        st->errs = stat_int(s, "failed_rd_operations") + stat_int(s, "failed_wr_operations");
        rc = 0;
        break;
    }
    json_decref(r);
    return rc;
}

/* Managed save: the migration stream of the stopped VM into @fd (QMP getfd +
 * migrate "fd:"), as libvirt's QEMU driver saves. The caller stopped the vCPUs. */
static int
qemu_save(struct hvd_vm *vm, int fd, struct rpc_error *e)
{
    struct monitor_conn *c = xmalloc(sizeof(*c));
    int rc = -1;
    if (qmp_open(vm, c, 2000, e) < 0)
        goto out;
    if (qmp_exec(c, "getfd", json_pack("{s:s}", "fdname", "hvd-save"), fd, NULL, e) < 0 ||
        qmp_exec(c, "migrate-set-parameters",
                 json_pack("{s:I}", "max-bandwidth", (json_int_t)1 << 40), -1, NULL, e) < 0 ||
        qmp_exec(c, "migrate", json_pack("{s:s}", "uri", "fd:hvd-save"), -1, NULL, e) < 0)
        goto close;
    for (int tries = 0; tries < 20 * 600; tries++) { /* up to 10 minutes */
        json_t *r;
        if (qmp_exec(c, "query-migrate", NULL, -1, &r, e) < 0)
            goto close;
        const char *status = json_get_str(r, "status");
        if (status && !strcmp(status, "completed")) {
            json_decref(r);
            rc = 0;
            goto close;
        }
        if (status && (!strcmp(status, "failed") || !strcmp(status, "cancelled"))) {
            const char *why = json_get_str(r, "error-desc");
            rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU, "saving failed: %s",
                          why ? why : status);
            json_decref(r);
            goto close;
        }
        json_decref(r);
        usleep(50000);
    }
    rpc_error_set(e, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_QEMU, "saving did not finish");
close:
    monitor_close(c);
out:
    free(c);
    return rc;
}

/* QEMU exits 0 when the guest powers off (and on SIGTERM, which only destroy sends). */
static int
qemu_exit_reason(int wstatus)
{
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
        return VIR_DOMAIN_SHUTOFF_SHUTDOWN;
    return VIR_DOMAIN_SHUTOFF_CRASHED;
}

const struct hvd_backend_ops hvd_backend_qemu = {
    .name = "qemu",
    .tap_by_fd = true,
    .prepare = qemu_prepare,
    .argv = qemu_argv,
    .wait_ready = qemu_wait_ready,
    .suspend = qemu_suspend,
    .resume = qemu_resume,
    .shutdown = qemu_shutdown,
    .reboot = qemu_reboot,
    .query = qemu_query,
    .block_stats = qemu_block_stats,
    .save = qemu_save,
    .exit_reason = qemu_exit_reason,
};
