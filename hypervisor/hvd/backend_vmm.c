/* type='kvm': Nube's own monitor, cloud-vmm (hypervisor/vmm/), one process per
 * VM, PV direct kernel boot. Its control socket speaks JSON lines:
 * {"cmd":"info"|"pause"|"resume"|"shutdown"|"stop"} -> one JSON reply line. */
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

#define VMM_TIMEOUT_MS 5000

static int
vmm_prepare(const struct hvd_config *cfg, const struct domain_def *def, struct rpc_error *e)
{
    (void)def;
    if (access(cfg->vmm_path, X_OK) < 0)
        return rpc_error_set(e, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_NONE,
                             "cloud-vmm binary %s is not available: %s", cfg->vmm_path,
                             strerror(errno));
    if (access("/dev/kvm", R_OK | W_OK) < 0)
        return rpc_error_set(e, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_NONE,
                             "domain type 'kvm' needs /dev/kvm: %s", strerror(errno));
    return 0;
}

static void
push(char ***v, size_t *n, char *s_take)
{
    *v = xrealloc(*v, (*n + 2) * sizeof(char *));
    (*v)[(*n)++] = s_take;
    (*v)[*n] = NULL;
}

static char **
vmm_argv(const struct hvd_vm *vm, bool paused)
{
    const struct domain_def *def = vm->def;
    char **v = NULL;
    size_t n = 0;
    (void)paused; /* cloud-vmm starts running; hvd pauses it right after start */
    push(&v, &n, xstrdup(vm->cfg->vmm_path));
    if (def->loader) {
        push(&v, &n, xstrdup("--payload"));
        push(&v, &n, xstrdup(def->loader));
    } else {
        push(&v, &n, xstrdup("--kernel"));
        push(&v, &n, xstrdup(def->kernel));
    }
    if (def->initrd) {
        push(&v, &n, xstrdup("--initrd"));
        push(&v, &n, xstrdup(def->initrd));
    }
    if (def->cmdline) {
        push(&v, &n, xstrdup("--cmdline"));
        push(&v, &n, xstrdup(def->cmdline));
    }
    push(&v, &n, xstrdup("--memory"));
    push(&v, &n, xasprintf("%llu", (unsigned long long)((def->memory_kib + 1023) / 1024)));
    push(&v, &n, xstrdup("--vcpus"));
    push(&v, &n, xasprintf("%u", def->vcpus));
    for (size_t i = 0; i < def->ndisks; i++) {
        push(&v, &n, xstrdup("--disk"));
        push(&v, &n, xasprintf("%s%s", def->disks[i].source, def->disks[i].readonly ? ",ro" : ""));
    }
    for (size_t i = 0; i < def->nifaces; i++) {
        push(&v, &n, xstrdup("--net"));
        push(&v, &n, xasprintf("tap=%s,mac=%s", def->ifaces[i].tap, def->ifaces[i].mac));
    }
    if (def->serial_file) {
        push(&v, &n, xstrdup("--console"));
        push(&v, &n, xstrdup(def->serial_file));
    }
    push(&v, &n, xstrdup("--control"));
    push(&v, &n, xstrdup(vm->control));
    return v;
}

/* One command, one reply line. A reply with "error" is a failure. */
static int
vmm_call(struct hvd_vm *vm, const char *cmd, unsigned connect_ms, json_t **ret, struct rpc_error *e)
{
    struct monitor_conn *c = xmalloc(sizeof(*c));
    int rc = -1;
    if (ret)
        *ret = NULL;
    if (monitor_connect(c, vm->control, connect_ms, e) < 0)
        goto cleanup;
    json_t *msg = json_pack("{s:s}", "cmd", cmd);
    rc = monitor_send(c, msg, e);
    json_decref(msg);
    if (rc == 0) {
        json_t *r = monitor_recv(c, VMM_TIMEOUT_MS, e);
        if (!r) {
            rc = -1;
        } else {
            json_t *err = json_object_get(r, "error");
            if (err) {
                const char *m =
                    json_is_string(err) ? json_string_value(err) : json_get_str(err, "message");
                rc = rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_NONE,
                                   "cloud-vmm %s failed: %s", cmd, m ? m : "unknown error");
            }
            if (rc == 0 && ret)
                *ret = json_incref(r);
            json_decref(r);
        }
    }
    monitor_close(c);
cleanup:
    free(c);
    return rc;
}

static int
vmm_wait_ready(struct hvd_vm *vm, unsigned timeout_ms, struct rpc_error *e)
{
    for (unsigned waited = 0; waited < timeout_ms; waited += 100) {
        if (monitor_wait_exit(vm->pid, 0))
            break;
        struct rpc_error ignored;
        if (vmm_call(vm, "info", 100, NULL, &ignored) == 0)
            return 0;
    }
    monitor_wait_exit(vm->pid, 1000);
    _cleanup_free_ char *tail = monitor_log_tail(vm->log_path, 600);
    return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_NONE,
                         "cloud-vmm for domain '%s' did not start: %s", vm->def->name,
                         *tail ? tail : "no control socket");
}

static int
vmm_suspend(struct hvd_vm *vm, struct rpc_error *e)
{
    return vmm_call(vm, "pause", 2000, NULL, e);
}

static int
vmm_resume(struct hvd_vm *vm, struct rpc_error *e)
{
    return vmm_call(vm, "resume", 2000, NULL, e);
}

static int
vmm_shutdown(struct hvd_vm *vm, struct rpc_error *e)
{
    return vmm_call(vm, "shutdown", 2000, NULL, e);
}

static int
vmm_query(struct hvd_vm *vm, bool *paused, bool *incoming, struct rpc_error *e)
{
    *incoming = false;
    json_t *r;
    if (vmm_call(vm, "info", 2000, &r, e) < 0)
        return -1;
    const char *state = json_get_str(r, "state");
    bool p = false;
    if (state)
        p = !strcmp(state, "paused");
    else
        json_get_bool(r, "paused", &p);
    *paused = p;
    json_decref(r);
    return 0;
}

static int
vmm_block_stats(struct hvd_vm *vm, const char *target, struct hvd_block_stats *st,
                struct rpc_error *e)
{
    (void)vm;
    (void)target;
    (void)st;
    return rpc_error_set(e, VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_NONE,
                         "cloud-vmm does not report block statistics");
}

/* cloud-vmm's exit status (hypervisor/vmm/main.c): 0 guest power-off,
 * 3 guest reboot request (cloud-hvd starts it again), 4 stopped from its
 * control socket or by a signal, 1 crash or error, 2 usage. */
static int
vmm_exit_reason(int wstatus)
{
    if (!WIFEXITED(wstatus))
        return VIR_DOMAIN_SHUTOFF_CRASHED;
    switch (WEXITSTATUS(wstatus)) {
    case 0:
        return VIR_DOMAIN_SHUTOFF_SHUTDOWN;
    case 3:
        return HVD_EXIT_REBOOT;
    case 4:
        return VIR_DOMAIN_SHUTOFF_DESTROYED;
    default:
        return VIR_DOMAIN_SHUTOFF_CRASHED;
    }
}

const struct hvd_backend_ops hvd_backend_vmm = {
    .name = "vmm",
    .prepare = vmm_prepare,
    .argv = vmm_argv,
    .wait_ready = vmm_wait_ready,
    .suspend = vmm_suspend,
    .resume = vmm_resume,
    .shutdown = vmm_shutdown,
    .reboot = NULL, /* no reset command: cloud-hvd restarts the monitor */
    .query = vmm_query,
    .block_stats = vmm_block_stats,
    .exit_reason = vmm_exit_reason,
};
