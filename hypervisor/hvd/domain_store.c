/* The state folder of the registry (see domain.h): paths, atomic files,
 * persistent definitions, run state, and, at start-up, loading definitions
 * and re-attaching to the monitors a previous cloud-hvd started. */
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

/* ---- files ---- */

char *
domain_def_path(const struct hvd_registry *reg, const char *name)
{
    return xasprintf("%s/domains/%s.xml", reg->cfg->state_dir, name);
}

char *
domain_autostart_path(const struct hvd_registry *reg, const char *name)
{
    return xasprintf("%s/autostart/%s", reg->cfg->state_dir, name);
}

/* <state_dir>/save/<name>.save (the image) or .xml (its live definition). */
char *
domain_save_path(const struct hvd_registry *reg, const char *name, const char *ext)
{
    return xasprintf("%s/save/%s.%s", reg->cfg->state_dir, name, ext);
}

char *
domain_run_dir(const struct hvd_registry *reg, const char *name)
{
    return xasprintf("%s/run/%s", reg->cfg->state_dir, name);
}

/* Write @data to @path atomically (temporary file, fsync, rename). */
int
domain_write_file(const char *path, const char *data, struct err *err)
{
    _cleanup_free_ char *tmp = xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set_errno(err, ERR_IO, errno, "creating %s", tmp);
    size_t len = strlen(data), off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            close(fd);
            unlink(tmp);
            return err_set_errno(err, ERR_IO, saved, "writing %s", tmp);
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        int saved = errno;
        unlink(tmp);
        return err_set_errno(err, ERR_IO, saved, "saving %s", path);
    }
    return 0;
}

char *
domain_read_file(const char *path, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = xmalloc(max + 1);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, max - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == max)
            break;
    }
    close(fd);
    buf[len] = '\0';
    return buf;
}

int
domain_save_def(struct hvd_registry *reg, const struct domain_def *def, struct rpc_error *e)
{
    _cleanup_free_ char *path = domain_def_path(reg, def->name);
    _cleanup_free_ char *xml = domain_xml_format(def, -1);
    struct err err = ERR_INIT;
    if (domain_write_file(path, xml, &err) < 0)
        return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_DOMAIN,
                             "cannot save the definition of '%s': %s", def->name, err.msg);
    return 0;
}

void
domain_save_run_state(struct hvd_registry *reg, struct hvd_domain *d)
{
    json_t *taps = json_array();
    for (size_t i = 0; i < d->live->nifaces; i++)
        json_array_append_new(taps, json_boolean(d->tap_created[i]));
    json_t *st =
        json_pack("{s:i, s:i, s:i, s:I, s:I, s:b, s:s, s:o}", "id", d->id, "pid", (int)d->vm.pid,
                  "waiter", (int)d->vm.waiter, "starttime", (json_int_t)d->vm_starttime,
                  "waiter_starttime", (json_int_t)monitor_starttime(d->vm.waiter), "paused",
                  d->state == VIR_DOMAIN_PAUSED, "backend", d->ops->name, "taps_created", taps);
    _cleanup_free_ char *text = json_dump_compact(st);
    json_decref(st);
    _cleanup_free_ char *xml = domain_xml_format(d->live, d->id);
    _cleanup_free_ char *xml_path = xasprintf("%s/live.xml", d->vm.run_dir);
    _cleanup_free_ char *st_path = xasprintf("%s/state.json", d->vm.run_dir);
    struct err err = ERR_INIT;
    /* live.xml first: state.json is what marks a monitor as ours after a restart. */
    if (domain_write_file(xml_path, xml, &err) < 0 || domain_write_file(st_path, text, &err) < 0)
        log_error("domain %s: cannot save run state: %s", d->live->name, err.msg);
    (void)reg;
}

void
domain_remove_run_dir(const char *dir)
{
    static const char *const files[] = {"state.json",      "live.xml",     "exit-status",
                                        "exit-status.tmp", "control.sock", "qmp.sock"};
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, files[i]);
        unlink(p);
    }
    /* monitor.log stays for post-mortems; the directory goes once it is empty */
    rmdir(dir);
}

/* ---- start-up: load, re-attach, autostart ---- */

void
domain_load_definitions(struct hvd_registry *reg)
{
    _cleanup_free_ char *dir = xasprintf("%s/domains", reg->cfg->state_dir);
    DIR *dh = opendir(dir);
    if (!dh)
        return;
    struct dirent *ent;
    while ((ent = readdir(dh))) {
        size_t n = strlen(ent->d_name);
        if (n < 5 || strcmp(ent->d_name + n - 4, ".xml"))
            continue;
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, ent->d_name);
        _cleanup_free_ char *xml = domain_read_file(path, DOMAIN_XML_MAX);
        struct rpc_error e;
        struct domain_def *def = xml ? domain_xml_parse(xml, strlen(xml), &e) : NULL;
        if (!def) {
            log_error("ignoring %s: %s", path, xml ? e.message : "unreadable");
            continue;
        }
        struct hvd_domain *dup;
        if (domain_check_duplicate(reg, def, &dup, &e) < 0 || dup) {
            log_error("ignoring %s: duplicate domain", path);
            domain_def_free(def);
            continue;
        }
        struct hvd_domain *d = domain_new(reg);
        d->def = def;
        _cleanup_free_ char *ap = domain_autostart_path(reg, def->name);
        d->autostart = access(ap, F_OK) == 0;
    }
    closedir(dh);
}

/* One <state_dir>/run/<name>/: a monitor we started before a restart. */
static void
reattach_one(struct hvd_registry *reg, const char *name)
{
    _cleanup_free_ char *dir = domain_run_dir(reg, name);
    _cleanup_free_ char *st_path = xasprintf("%s/state.json", dir);
    _cleanup_free_ char *xml_path = xasprintf("%s/live.xml", dir);
    _cleanup_free_ char *st_text = domain_read_file(st_path, 65536);
    _cleanup_free_ char *xml = domain_read_file(xml_path, DOMAIN_XML_MAX);
    struct rpc_error e;
    if (!st_text || !xml) {
        domain_remove_run_dir(dir);
        return;
    }
    struct err jerr = ERR_INIT;
    json_t *st = json_parse_buf(st_text, strlen(st_text), &jerr);
    struct domain_def *live = domain_xml_parse(xml, strlen(xml), &e);
    json_int_t id = -1, pid = 0, waiter = 0, starttime = 0, wstart = 0;
    bool paused = false;
    if (!st || !live || !json_get_int(st, "id", &id) || !json_get_int(st, "pid", &pid) ||
        !json_get_int(st, "starttime", &starttime)) {
        log_error("ignoring run state in %s: unreadable", dir);
        json_decref(st);
        domain_def_free(live);
        return;
    }
    json_get_int(st, "waiter", &waiter);
    json_get_int(st, "waiter_starttime", &wstart);
    json_get_bool(st, "paused", &paused);

    struct hvd_domain *d = hvd_domain_by_uuid(reg, live->uuid);
    if (d && strcmp(hvd_domain_current(d)->name, live->name)) {
        log_error("ignoring run state in %s: uuid belongs to another domain", dir);
        json_decref(st);
        domain_def_free(live);
        return;
    }
    if (!d)
        d = domain_new(reg);
    d->live = live;
    d->ops = hvd_backend_for(live->virt);
    d->vm.def = live;
    d->vm.cfg = reg->cfg;
    d->vm.run_dir = xstrdup(dir);
    d->vm.control =
        xasprintf("%s/%s", dir, live->virt == DOMAIN_VIRT_QEMU ? "qmp.sock" : "control.sock");
    d->vm.log_path = xasprintf("%s/monitor.log", dir);
    d->vm.pid = (pid_t)pid;
    d->vm.waiter = (pid_t)waiter;
    d->vm_starttime = (uint64_t)starttime;
    d->id = (int)id;
    json_t *taps = json_get_array(st, "taps_created");
    for (size_t i = 0; taps && i < live->nifaces && i < json_array_size(taps); i++)
        d->tap_created[i] = json_is_true(json_array_get(taps, i));
    json_decref(st);

    bool alive = d->vm_starttime && monitor_starttime(d->vm.pid) == d->vm_starttime;
    if (!alive) {
        /* It stopped while we were away: the waiter's record says why. */
        d->watch_fd = -1;
        if (d->vm.waiter > 0 && (uint64_t)wstart != monitor_starttime(d->vm.waiter))
            d->vm.waiter = 0;
        log_info("domain %s: monitor %d stopped while cloud-hvd was down", live->name,
                 (int)d->vm.pid);
        d->state = VIR_DOMAIN_RUNNING;
        hvd_domain_exited(reg, d);
        return;
    }
    if (d->vm.waiter > 0 && wstart && (uint64_t)wstart == monitor_starttime(d->vm.waiter))
        d->watch_fd = domain_pidfd_open(d->vm.waiter);
    else
        d->vm.waiter = 0;
    if (d->watch_fd < 0)
        d->watch_fd = domain_pidfd_open(d->vm.pid);
    bool now_paused = paused, incoming = false;
    if (d->ops->query(&d->vm, &now_paused, &incoming, &e) < 0)
        log_warn("domain %s: monitor not answering after re-attach: %s", live->name, e.message);
    d->state = now_paused ? VIR_DOMAIN_PAUSED : VIR_DOMAIN_RUNNING;
    d->reason = now_paused ? VIR_DOMAIN_PAUSED_USER : VIR_DOMAIN_RUNNING_BOOTED;
    if (d->id >= reg->next_id)
        reg->next_id = d->id + 1;
    log_info("domain %s: re-attached to %s monitor pid %d (id %d, %s)", live->name, d->ops->name,
             (int)d->vm.pid, d->id, now_paused ? "paused" : "running");
}

void
domain_reattach_all(struct hvd_registry *reg)
{
    _cleanup_free_ char *dir = xasprintf("%s/run", reg->cfg->state_dir);
    DIR *dh = opendir(dir);
    if (!dh)
        return;
    struct dirent *ent;
    while ((ent = readdir(dh))) {
        if (ent->d_name[0] == '.' || !domain_name_valid(ent->d_name))
            continue;
        reattach_one(reg, ent->d_name);
    }
    closedir(dh);
}
