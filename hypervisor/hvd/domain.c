/* The domain registry and lifecycle: see domain.h. */
#include "domain.h"
#include "domain_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "mem.h"
#include "monitor.h"
#include "tap.h"

#define ERR_INVALID_OP(e, ...)                                                                     \
    rpc_error_set((e), VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, __VA_ARGS__)

int
domain_pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

const struct domain_def *
hvd_domain_current(const struct hvd_domain *d)
{
    return d->live ? d->live : d->def;
}

static void
emit(struct hvd_registry *reg, const struct hvd_domain *d, int event, int detail)
{
    if (reg->emit)
        reg->emit(reg->emit_opaque, d, event, detail);
}

/* ---- registry ---- */

struct hvd_domain *
domain_new(struct hvd_registry *reg)
{
    struct hvd_domain *d = xzalloc(sizeof(*d));
    d->id = -1;
    d->state = VIR_DOMAIN_SHUTOFF;
    d->reason = VIR_DOMAIN_SHUTOFF_UNKNOWN;
    d->watch_fd = -1;
    d->vm.restore_fd = -1;
    reg->doms = xrealloc(reg->doms, (reg->n + 1) * sizeof(*reg->doms));
    reg->doms[reg->n++] = d;
    return d;
}

static void
vm_clear(struct hvd_vm *vm)
{
    free(vm->run_dir);
    free(vm->control);
    free(vm->log_path);
    memset(vm, 0, sizeof(*vm));
    vm->restore_fd = -1;
}

static void
domain_free(struct hvd_domain *d)
{
    if (!d)
        return;
    if (d->watch_fd >= 0)
        close(d->watch_fd);
    domain_def_free(d->def);
    domain_def_free(d->live);
    vm_clear(&d->vm);
    free(d);
}

static void
domain_remove(struct hvd_registry *reg, struct hvd_domain *d)
{
    for (size_t i = 0; i < reg->n; i++) {
        if (reg->doms[i] == d) {
            memmove(&reg->doms[i], &reg->doms[i + 1], (reg->n - i - 1) * sizeof(*reg->doms));
            reg->n--;
            break;
        }
    }
    domain_free(d);
}

struct hvd_domain *
hvd_domain_by_name(struct hvd_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->n; i++) {
        if (!strcmp(hvd_domain_current(reg->doms[i])->name, name))
            return reg->doms[i];
    }
    return NULL;
}

struct hvd_domain *
hvd_domain_by_uuid(struct hvd_registry *reg, const uint8_t uuid[RPC_UUID_LEN])
{
    for (size_t i = 0; i < reg->n; i++) {
        if (!memcmp(hvd_domain_current(reg->doms[i])->uuid, uuid, RPC_UUID_LEN))
            return reg->doms[i];
    }
    return NULL;
}

struct hvd_domain *
hvd_domain_by_id(struct hvd_registry *reg, int id)
{
    if (id < 0)
        return NULL;
    for (size_t i = 0; i < reg->n; i++) {
        if (reg->doms[i]->id == id)
            return reg->doms[i];
    }
    return NULL;
}

uint64_t
hvd_domain_cpu_time(const struct hvd_domain *d)
{
    return d->live ? monitor_cpu_time_ns(d->vm.pid) : 0;
}

/* libvirt's duplicate checks (virDomainObjListAddLocked). */
int
domain_check_duplicate(struct hvd_registry *reg, const struct domain_def *def,
                       struct hvd_domain **found, struct rpc_error *e)
{
    char uuid[37];
    *found = hvd_domain_by_uuid(reg, def->uuid);
    if (*found) {
        const char *name = hvd_domain_current(*found)->name;
        if (strcmp(name, def->name)) {
            domain_uuid_format(def->uuid, uuid);
            return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_DOMAIN,
                                 "domain '%s' is already defined with uuid %s", name, uuid);
        }
        return 0;
    }
    struct hvd_domain *by_name = hvd_domain_by_name(reg, def->name);
    if (by_name) {
        domain_uuid_format(hvd_domain_current(by_name)->uuid, uuid);
        return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_DOMAIN,
                             "domain '%s' already exists with uuid %s", def->name, uuid);
    }
    return 0;
}

struct hvd_domain *
hvd_domain_define(struct hvd_registry *reg, const char *xml, struct rpc_error *e)
{
    struct domain_def *def = domain_xml_parse(xml, strlen(xml), e);
    if (!def)
        return NULL;
    struct hvd_domain *d;
    if (domain_check_duplicate(reg, def, &d, e) < 0 || domain_save_def(reg, def, e) < 0) {
        domain_def_free(def);
        return NULL;
    }
    bool added = !d || !d->def;
    if (!d)
        d = domain_new(reg);
    domain_def_free(d->def);
    d->def = def;
    log_info("domain %s: defined (%s)", def->name, domain_virt_name(def->virt));
    emit(reg, d, VIR_DOMAIN_EVENT_DEFINED,
         added ? VIR_DOMAIN_EVENT_DEFINED_ADDED : VIR_DOMAIN_EVENT_DEFINED_UPDATED);
    return d;
}

int
hvd_domain_undefine(struct hvd_registry *reg, struct hvd_domain *d, bool drop_save,
                    struct rpc_error *e)
{
    if (!d->def)
        return ERR_INVALID_OP(e, "cannot undefine transient domain");
    if (hvd_domain_has_managed_save(reg, d)) {
        if (!drop_save)
            return ERR_INVALID_OP(e, "Refusing to undefine while domain managed save image exists");
        if (hvd_domain_managed_save_remove(reg, d, e) < 0)
            return -1;
    }
    _cleanup_free_ char *path = domain_def_path(reg, d->def->name);
    _cleanup_free_ char *auto_path = domain_autostart_path(reg, d->def->name);
    if (unlink(path) < 0 && errno != ENOENT)
        return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN,
                             "cannot remove config %s: %s", path, strerror(errno));
    unlink(auto_path);
    log_info("domain %s: undefined", d->def->name);
    emit(reg, d, VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
    domain_def_free(d->def);
    d->def = NULL;
    d->autostart = false;
    if (!hvd_domain_active(d))
        domain_remove(reg, d);
    return 0;
}

static int
check_file(const char *what, const char *path, struct rpc_error *e)
{
    if (path && access(path, R_OK) < 0)
        return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN, "Cannot access %s '%s': %s",
                             what, path, strerror(errno));
    return 0;
}

static void
taps_release(struct hvd_domain *d)
{
    for (size_t i = 0; d->live && i < d->live->nifaces; i++) {
        if (d->tap_created[i] && d->live->ifaces[i].tap)
            tap_delete(d->live->ifaces[i].tap);
        d->tap_created[i] = false;
    }
}

static int
taps_prepare(struct hvd_domain *d, struct rpc_error *e)
{
    for (size_t i = 0; i < d->live->nifaces; i++) {
        struct domain_iface *f = &d->live->ifaces[i];
        if (!f->tap) {
            char name[16];
            tap_pick_name(name);
            f->tap = xstrdup(name);
        }
        if (!tap_exists(f->tap)) {
            long owner = d->vm.cfg->monitor_user ? (long)d->vm.cfg->monitor_uid : -1;
            if (tap_create(f->tap, owner, e) < 0)
                return -1;
            d->tap_created[i] = true;
        }
        if (tap_plug(f->tap, f->type == DOMAIN_IFACE_BRIDGE ? f->bridge : NULL, e) < 0)
            return -1;
    }
    return 0;
}

/* With a monitor user, the monitor owns its run folder (control socket) and
 * its console file; its disks, kernel and initrd must already be readable
 * (and disks writable) by that user: cloud-hvd does not change the ownership
 * of images it did not create. */
static int
give_to_monitor_user(const struct hvd_config *cfg, struct hvd_domain *d, struct rpc_error *e)
{
    if (!cfg->monitor_user)
        return 0;
    if (chown(d->vm.run_dir, cfg->monitor_uid, cfg->monitor_gid) < 0)
        return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN, "cannot chown %s: %s",
                             d->vm.run_dir, strerror(errno));
    if (d->live->serial_file) {
        /* Create it for the monitor, or reuse one it already owns: never hand
         * over a file that belongs to someone else. */
        const char *path = d->live->serial_file;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0) {
            int rc = fchown(fd, cfg->monitor_uid, cfg->monitor_gid);
            int saved = errno;
            close(fd);
            if (rc < 0)
                return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN,
                                     "cannot prepare console file '%s': %s", path, strerror(saved));
        } else {
            struct stat st;
            if (errno != EEXIST || lstat(path, &st) < 0)
                return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN,
                                     "cannot prepare console file '%s': %s", path, strerror(errno));
            if (!S_ISREG(st.st_mode) || st.st_uid != cfg->monitor_uid)
                return rpc_error_set(e, VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN,
                                     "console file '%s' exists and is not a file of user %s", path,
                                     cfg->monitor_user);
        }
    }
    return 0;
}

/* Spawn the monitor for d->live and wait until it answers. On failure the
 * caller kills what may be left (monitor_kill). */
static int
spawn_monitor(struct hvd_registry *reg, struct hvd_domain *d, bool paused, struct rpc_error *e)
{
    char **argv = d->ops->argv(&d->vm, paused);
    bool restoring = d->vm.restore_fd >= 0;
    int rc = -1;
    d->destroy_requested = false;
    d->shutdown_requested = false;
    unlink(d->vm.control);
    d->vm.ntap_fds = 0;
    for (size_t i = 0; d->ops->tap_by_fd && i < d->live->nifaces; i++) {
        int fd = tap_attach(d->live->ifaces[i].tap, e);
        if (fd < 0)
            goto cleanup;
        d->vm.tap_fds[d->vm.ntap_fds++] = fd;
    }
    if (d->vm.restore_fd >= 0) { /* inherited right after the taps */
        d->vm.tap_fds[d->vm.ntap_fds++] = d->vm.restore_fd;
        d->vm.restore_fd = -1;
    }
    int spawned = monitor_spawn(&d->vm, argv, e);
    for (size_t i = 0; i < d->vm.ntap_fds; i++)
        close(d->vm.tap_fds[i]); /* the monitor has its own copies now */
    d->vm.ntap_fds = 0;
    if (spawned < 0)
        goto cleanup;
    d->vm_starttime = monitor_starttime(d->vm.pid);
    d->watch_fd = domain_pidfd_open(d->vm.waiter);
    if (d->ops->wait_ready(&d->vm, reg->cfg->start_timeout_ms, e) < 0) {
        /* A guest that powered off before we could talk to its monitor did
         * start: report it started, and the exit right after (watch_fd). */
        int st;
        if (monitor_wait_exit(d->vm.waiter, 1000) && monitor_exit_status(&d->vm, &st) == 0 &&
            d->ops->exit_reason(st) == VIR_DOMAIN_SHUTOFF_SHUTDOWN) {
            log_info("domain %s: guest powered off right after start", d->live->name);
            rc = 0;
        }
        goto cleanup;
    }
    if (restoring) {
        /* Wait for the whole stream; the guest then stays paused as it was
         * saved, and runs again with resume (unless it should start paused). */
        bool is_paused = true, incoming = true;
        for (int i = 0; i < 10 * 600 && incoming; i++) {
            if (d->ops->query(&d->vm, &is_paused, &incoming, e) < 0)
                goto cleanup;
            if (incoming)
                usleep(100000);
        }
        if (incoming) {
            rpc_error_set(e, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_DOMAIN,
                          "restoring '%s' did not finish", d->live->name);
            goto cleanup;
        }
        if (is_paused && !paused && d->ops->resume(&d->vm, e) < 0)
            goto cleanup;
        paused = paused && !is_paused; /* already paused: nothing more to do */
    }
    if (paused && d->ops->suspend(&d->vm, e) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    for (size_t i = 0; i < d->vm.ntap_fds; i++)
        close(d->vm.tap_fds[i]);
    d->vm.ntap_fds = 0;
    monitor_argv_free(argv);
    return rc;
}

static int
require_active(const struct hvd_domain *d, struct rpc_error *e)
{
    return hvd_domain_active(d) ? 0 : ERR_INVALID_OP(e, "domain is not running");
}

/* Bring @d (whose d->live is set) to running. On failure d->live is released. */
static int
start_live(struct hvd_registry *reg, struct hvd_domain *d, bool paused, int restore_fd,
           struct rpc_error *e)
{
    const struct domain_def *def = d->live;
    bool restoring = restore_fd >= 0;
    int rc = -1;

    d->ops = hvd_backend_for(def->virt);
    if (check_file("kernel", def->kernel, e) < 0 || check_file("initrd", def->initrd, e) < 0 ||
        check_file("loader", def->loader, e) < 0)
        goto fail;
    for (size_t i = 0; i < def->ndisks; i++) {
        if (check_file("storage file", def->disks[i].source, e) < 0)
            goto fail;
    }
    if (def->serial_file) {
        _cleanup_free_ char *dir = xstrdup(def->serial_file);
        *strrchr(dir, '/') = '\0';
        if (check_file("console directory", *dir ? dir : "/", e) < 0)
            goto fail;
    }
    if (d->ops->prepare(reg->cfg, def, e) < 0)
        goto fail;

    vm_clear(&d->vm);
    d->vm.def = def;
    d->vm.cfg = reg->cfg;
    d->vm.restore_fd = restore_fd;
    restore_fd = -1; /* spawn_monitor owns it now */
    d->vm.run_dir = domain_run_dir(reg, def->name);
    d->vm.control = xasprintf("%s/%s", d->vm.run_dir,
                              def->virt == DOMAIN_VIRT_QEMU ? "qmp.sock" : "control.sock");
    d->vm.log_path = xasprintf("%s/monitor.log", d->vm.run_dir);
    if (mkdir(d->vm.run_dir, 0700) < 0 && errno != EEXIST) {
        rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN, "cannot create %s: %s",
                      d->vm.run_dir, strerror(errno));
        goto fail;
    }
    unlink(d->vm.control);
    if (give_to_monitor_user(reg->cfg, d, e) < 0)
        goto fail;
    memset(d->tap_created, 0, sizeof(d->tap_created));
    if (taps_prepare(d, e) < 0)
        goto fail;

    if (spawn_monitor(reg, d, paused, e) < 0)
        goto fail_kill;

    d->id = reg->next_id++;
    d->state = paused ? VIR_DOMAIN_PAUSED : VIR_DOMAIN_RUNNING;
    d->reason = paused      ? VIR_DOMAIN_PAUSED_USER
                : restoring ? VIR_DOMAIN_RUNNING_RESTORED
                            : VIR_DOMAIN_RUNNING_BOOTED;
    domain_save_run_state(reg, d);
    log_info("domain %s: %s (id %d, %s pid %d)", def->name, restoring ? "restored" : "started",
             d->id, d->ops->name, (int)d->vm.pid);
    emit(reg, d, VIR_DOMAIN_EVENT_STARTED,
         restoring ? VIR_DOMAIN_EVENT_STARTED_RESTORED : VIR_DOMAIN_EVENT_STARTED_BOOTED);
    if (paused)
        emit(reg, d, VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
    rc = 0;
    goto cleanup;

fail_kill:
    monitor_kill(&d->vm, 2000);
fail:
    if (restore_fd >= 0)
        close(restore_fd);
    if (d->vm.restore_fd >= 0)
        close(d->vm.restore_fd);
    d->vm.restore_fd = -1;
    log_warn("domain %s: start failed: %s", def->name, e->message);
    if (d->watch_fd >= 0)
        close(d->watch_fd);
    d->watch_fd = -1;
    taps_release(d);
    if (d->vm.run_dir)
        domain_remove_run_dir(d->vm.run_dir);
    domain_def_free(d->live);
    d->live = NULL;
    vm_clear(&d->vm);
cleanup:
    return rc;
}

int
hvd_domain_start(struct hvd_registry *reg, struct hvd_domain *d, bool paused, bool force_boot,
                 struct rpc_error *e)
{
    if (hvd_domain_active(d))
        return ERR_INVALID_OP(e, "domain is already running");
    if (force_boot && hvd_domain_managed_save_remove(reg, d, e) < 0)
        return -1;
    if (!hvd_domain_has_managed_save(reg, d)) {
        d->live = domain_def_copy(d->def);
        return start_live(reg, d, paused, -1, e);
    }
    /* Restore: the definition saved with the image, and the image itself. */
    _cleanup_free_ char *img = domain_save_path(reg, d->def->name, "save");
    _cleanup_free_ char *xml_path = domain_save_path(reg, d->def->name, "xml");
    _cleanup_free_ char *xml = domain_read_file(xml_path, DOMAIN_XML_MAX);
    struct domain_def *live = xml ? domain_xml_parse(xml, strlen(xml), e) : NULL;
    if (!live)
        return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_DOMAIN,
                             "the managed save image of '%s' has no usable definition",
                             d->def->name);
    int fd = open(img, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        domain_def_free(live);
        return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN, "cannot open %s: %s", img,
                             strerror(errno));
    }
    d->live = live;
    if (start_live(reg, d, paused, fd, e) < 0)
        return -1; /* the image stays for another try (or start --force-boot) */
    unlink(img);
    unlink(xml_path);
    return 0;
}

bool
hvd_domain_has_managed_save(const struct hvd_registry *reg, const struct hvd_domain *d)
{
    if (!d->def)
        return false;
    _cleanup_free_ char *img = domain_save_path(reg, d->def->name, "save");
    return access(img, F_OK) == 0;
}

int
hvd_domain_managed_save_remove(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e)
{
    const char *name = hvd_domain_current(d)->name;
    _cleanup_free_ char *img = domain_save_path(reg, name, "save");
    _cleanup_free_ char *xml_path = domain_save_path(reg, name, "xml");
    if (unlink(img) < 0 && errno != ENOENT)
        return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN, "cannot remove %s: %s", img,
                             strerror(errno));
    unlink(xml_path);
    return 0;
}

int
hvd_domain_managed_save(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e)
{
    if (require_active(d, e) < 0)
        return -1;
    if (!d->def)
        return ERR_INVALID_OP(e, "cannot do managed save for transient domain");
    if (!d->ops->save)
        return rpc_error_set(e, VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_DOMAIN,
                             "managed save is not supported for %s domains",
                             domain_virt_name(d->live->virt));
    const char *name = d->live->name;
    _cleanup_free_ char *img = domain_save_path(reg, name, "save");
    _cleanup_free_ char *tmp = domain_save_path(reg, name, "save.tmp");
    _cleanup_free_ char *xml_path = domain_save_path(reg, name, "xml");
    _cleanup_free_ char *xml = domain_xml_format(d->live, -1);
    bool was_running = d->state == VIR_DOMAIN_RUNNING;
    struct err err = ERR_INIT;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN, "cannot create %s: %s", tmp,
                             strerror(errno));
    if (was_running && d->ops->suspend(&d->vm, e) < 0)
        goto fail;
    if (d->ops->save(&d->vm, fd, e) < 0)
        goto fail;
    if (fsync(fd) < 0 || domain_write_file(xml_path, xml, &err) < 0 || rename(tmp, img) < 0) {
        rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN, "cannot save %s: %s", img,
                      err.msg[0] ? err.msg : strerror(errno));
        goto fail;
    }
    close(fd);
    log_info("domain %s: saved to %s", name, img);
    d->save_requested = true;
    monitor_kill(&d->vm, 3000);
    hvd_domain_exited(reg, d);
    return 0;

fail:
    close(fd);
    unlink(tmp);
    unlink(xml_path);
    struct rpc_error ignored;
    if (was_running)
        d->ops->resume(&d->vm, &ignored);
    return -1;
}

struct hvd_domain *
hvd_domain_create_xml(struct hvd_registry *reg, const char *xml, bool paused, struct rpc_error *e)
{
    struct domain_def *def = domain_xml_parse(xml, strlen(xml), e);
    if (!def)
        return NULL;
    struct hvd_domain *d;
    if (domain_check_duplicate(reg, def, &d, e) < 0) {
        domain_def_free(def);
        return NULL;
    }
    if (d && hvd_domain_active(d)) {
        ERR_INVALID_OP(e, "domain '%s' is already active", def->name);
        domain_def_free(def);
        return NULL;
    }
    bool fresh = !d;
    if (!d)
        d = domain_new(reg);
    d->live = def;
    if (start_live(reg, d, paused, -1, e) < 0) {
        if (fresh)
            domain_remove(reg, d);
        return NULL;
    }
    return d;
}

int
hvd_domain_destroy(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e)
{
    if (require_active(d, e) < 0)
        return -1;
    d->destroy_requested = true;
    monitor_kill(&d->vm, 3000);
    hvd_domain_exited(reg, d);
    return 0;
}

int
hvd_domain_shutdown(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e)
{
    (void)reg;
    if (require_active(d, e) < 0 || d->ops->shutdown(&d->vm, e) < 0)
        return -1;
    d->shutdown_requested = true;
    log_info("domain %s: shutdown requested", d->live->name);
    return 0;
}

int
hvd_domain_reboot(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e)
{
    if (require_active(d, e) < 0)
        return -1;
    if (d->ops->reboot)
        return d->ops->reboot(&d->vm, e);
    /* The monitor cannot reset its guest: a new monitor, same id, same taps. */
    log_info("domain %s: reboot by restarting its monitor", d->live->name);
    d->destroy_requested = true;
    monitor_kill(&d->vm, 3000);
    if (d->watch_fd >= 0)
        close(d->watch_fd);
    d->watch_fd = -1;
    if (spawn_monitor(reg, d, false, e) < 0) {
        monitor_kill(&d->vm, 2000);
        d->destroy_requested = true;
        hvd_domain_exited(reg, d);
        return -1;
    }
    d->state = VIR_DOMAIN_RUNNING;
    d->reason = VIR_DOMAIN_RUNNING_BOOTED;
    domain_save_run_state(reg, d);
    return 0;
}

int
hvd_domain_suspend(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e)
{
    if (require_active(d, e) < 0)
        return -1;
    if (d->state == VIR_DOMAIN_PAUSED)
        return 0;
    if (d->ops->suspend(&d->vm, e) < 0)
        return -1;
    d->state = VIR_DOMAIN_PAUSED;
    d->reason = VIR_DOMAIN_PAUSED_USER;
    domain_save_run_state(reg, d);
    emit(reg, d, VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
    return 0;
}

int
hvd_domain_resume(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e)
{
    if (require_active(d, e) < 0)
        return -1;
    if (d->state != VIR_DOMAIN_PAUSED)
        return ERR_INVALID_OP(e, "domain is already running");
    if (d->ops->resume(&d->vm, e) < 0)
        return -1;
    d->state = VIR_DOMAIN_RUNNING;
    d->reason = VIR_DOMAIN_RUNNING_UNPAUSED;
    domain_save_run_state(reg, d);
    emit(reg, d, VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED);
    return 0;
}

int
hvd_domain_set_autostart(struct hvd_registry *reg, struct hvd_domain *d, bool on,
                         struct rpc_error *e)
{
    if (!d->def)
        return ERR_INVALID_OP(e, "cannot set autostart for transient domain");
    _cleanup_free_ char *path = domain_autostart_path(reg, d->def->name);
    if (on) {
        struct err err = ERR_INIT;
        if (domain_write_file(path, "", &err) < 0)
            return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN, "%s", err.msg);
    } else if (unlink(path) < 0 && errno != ENOENT) {
        return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_DOMAIN, "cannot remove %s: %s", path,
                             strerror(errno));
    }
    d->autostart = on;
    return 0;
}

void
hvd_domain_exited(struct hvd_registry *reg, struct hvd_domain *d)
{
    if (!hvd_domain_active(d))
        return;
    int wstatus = 0;
    bool known = monitor_exit_status(&d->vm, &wstatus) == 0;
    if (d->vm.waiter > 0)
        waitpid(d->vm.waiter, NULL, WNOHANG);
    int reason, detail;
    if (!d->destroy_requested && known && d->ops->exit_reason(wstatus) == HVD_EXIT_REBOOT &&
        !d->live->reboot_destroy) {
        /* The guest asked for a reset and the monitor left it to us: same id, new monitor. */
        struct rpc_error e;
        if (d->watch_fd >= 0)
            close(d->watch_fd);
        d->watch_fd = -1;
        log_info("domain %s: guest reboot, restarting its monitor", d->live->name);
        if (spawn_monitor(reg, d, false, &e) == 0) {
            d->state = VIR_DOMAIN_RUNNING;
            d->reason = VIR_DOMAIN_RUNNING_BOOTED;
            domain_save_run_state(reg, d);
            return;
        }
        log_error("domain %s: restart after reboot failed: %s", d->live->name, e.message);
        monitor_kill(&d->vm, 2000);
        known = monitor_exit_status(&d->vm, &wstatus) == 0;
    }
    if (d->save_requested) {
        reason = VIR_DOMAIN_SHUTOFF_SAVED;
    } else if (d->destroy_requested) {
        reason = VIR_DOMAIN_SHUTOFF_DESTROYED;
    } else if (known) {
        reason = d->ops->exit_reason(wstatus);
        if (reason == HVD_EXIT_REBOOT)
            reason = VIR_DOMAIN_SHUTOFF_SHUTDOWN; /* <on_reboot>destroy</on_reboot> */
    } else {
        reason = d->shutdown_requested ? VIR_DOMAIN_SHUTOFF_SHUTDOWN : VIR_DOMAIN_SHUTOFF_UNKNOWN;
    }
    switch (reason) {
    case VIR_DOMAIN_SHUTOFF_DESTROYED:
        detail = VIR_DOMAIN_EVENT_STOPPED_DESTROYED;
        break;
    case VIR_DOMAIN_SHUTOFF_SHUTDOWN:
        detail = VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN;
        break;
    case VIR_DOMAIN_SHUTOFF_SAVED:
        detail = VIR_DOMAIN_EVENT_STOPPED_SAVED;
        break;
    default:
        detail = VIR_DOMAIN_EVENT_STOPPED_FAILED;
        break;
    }
    log_info("domain %s: monitor %d exited (%s%d), shut off with reason %d", d->live->name,
             (int)d->vm.pid, known ? "status " : "status unknown ", known ? wstatus : 0, reason);
    if (d->watch_fd >= 0)
        close(d->watch_fd);
    d->watch_fd = -1;
    taps_release(d);
    domain_remove_run_dir(d->vm.run_dir);
    vm_clear(&d->vm);
    d->id = -1;
    d->state = VIR_DOMAIN_SHUTOFF;
    d->reason = reason;
    d->destroy_requested = d->shutdown_requested = d->save_requested = false;
    /* The event names the domain by its live definition: a transient
     * domain has no other. */
    emit(reg, d, VIR_DOMAIN_EVENT_STOPPED, detail);
    domain_def_free(d->live);
    d->live = NULL;
    if (!d->def)
        domain_remove(reg, d); /* a transient domain ends with its monitor */
}

int
hvd_registry_open(struct hvd_registry *reg, const struct hvd_config *cfg, hvd_event_fn emit_fn,
                  void *emit_opaque, struct err *err)
{
    memset(reg, 0, sizeof(*reg));
    reg->cfg = cfg;
    reg->next_id = 1;
    reg->lock_fd = -1;
    const char *subdirs[] = {"", "/domains", "/run", "/autostart", "/save"};
    for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
        _cleanup_free_ char *p = xasprintf("%s%s", cfg->state_dir, subdirs[i]);
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return err_set_errno(err, ERR_IO, errno, "creating %s", p);
        /* An unprivileged monitor reaches its own run/<name>/ (search, no listing). */
        bool on_path = i == 0 || !strcmp(subdirs[i], "/run");
        if (cfg->monitor_user && on_path && chmod(p, 0711) < 0)
            return err_set_errno(err, ERR_IO, errno, "chmod %s", p);
    }
    /* One daemon per state folder: a second one would fight over the monitors. */
    _cleanup_free_ char *lock_path = xasprintf("%s/lock", cfg->state_dir);
    reg->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (reg->lock_fd < 0)
        return err_set_errno(err, ERR_IO, errno, "opening %s", lock_path);
    if (flock(reg->lock_fd, LOCK_EX | LOCK_NB) < 0)
        return err_set(err, ERR_CONFLICT, "another cloud-hvd uses the state folder %s",
                       cfg->state_dir);
    domain_load_definitions(reg);
    domain_reattach_all(reg);
    reg->emit = emit_fn;
    reg->emit_opaque = emit_opaque;
    for (size_t i = 0; i < reg->n; i++) {
        struct hvd_domain *d = reg->doms[i];
        if (d->autostart && !hvd_domain_active(d)) {
            struct rpc_error e;
            if (hvd_domain_start(reg, d, false, false, &e) < 0)
                log_error("domain %s: autostart failed: %s", d->def->name, e.message);
        }
    }
    log_info("%zu domains loaded from %s", reg->n, cfg->state_dir);
    return 0;
}

void
hvd_registry_close(struct hvd_registry *reg)
{
    for (size_t i = 0; i < reg->n; i++)
        domain_free(reg->doms[i]);
    free(reg->doms);
    reg->doms = NULL;
    reg->n = 0;
    if (reg->lock_fd >= 0)
        close(reg->lock_fd);
    reg->lock_fd = -1;
}
