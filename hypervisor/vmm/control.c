/* The control socket: JSON lines over a unix stream socket, served on the
 * event loop thread. Each request is one line, {"cmd": NAME}, and gets one
 * line back: {"ok": true, ...} or {"ok": false, "error": "..."}.
 *
 *   info      state, vCPUs, memory, uptime, exit counters, debug-port milestones
 *   pause     stop the vCPUs (they park until resume)
 *   resume    restart them
 *   shutdown  press the ACPI power button; the guest decides
 *   ctrl_alt_del  press Ctrl-Alt-Del on the i8042 keyboard; the guest's init decides
 *   reset     reset now (exit status VMM_EXIT_REBOOT: the caller starts it again)
 *   stop      power off now (exit status VMM_EXIT_STOPPED) */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "mem.h"
#include "vm.h"

#define CONTROL_LINE_MAX 4096
#define CONTROL_CLIENTS_MAX 8

struct control;

struct control_client {
    struct control *ctl;
    int fd;
    size_t len;
    char buf[CONTROL_LINE_MAX];
    struct control_client *next;
};

struct control {
    struct vm *vm;
    int fd;
    char *path;
    struct control_client *clients;
    int nclients;
};

typedef json_t *(*control_cmd_fn)(struct control *ctl, const json_t *req, struct err *err);

static json_t *
cmd_info(struct control *ctl, const json_t *req, struct err *err)
{
    (void)req, (void)err;
    struct vm *vm = ctl->vm;
    uint64_t now = vm_now_ns();
    json_t *exits = json_object();
    for (int i = 0; i < VM_STAT__LAST; i++)
        json_object_set_new(exits, vm_stat_names[i],
                            json_integer((json_int_t)atomic_load(&vm->stats[i])));
    json_t *ms = json_array();
    pthread_mutex_lock(&vm->milestone_lock);
    for (int i = 0; i < vm->nmilestones; i++) {
        const struct vm_milestone *m = &vm->milestones[i];
        json_array_append_new(
            ms,
            json_pack("{s:i, s:f, s:f}", "value", (json_int_t)m->value, "ms_since_start",
                      (double)(m->ns - vm->process_start_ns) / 1e6, "ms_since_boot",
                      vm->start_ns && m->ns >= vm->start_ns ? (double)(m->ns - vm->start_ns) / 1e6
                                                            : 0.0));
    }
    pthread_mutex_unlock(&vm->milestone_lock);
    char devices[1024];
    vm_devices_stats(vm, devices, sizeof(devices));
    return json_pack("{s:b, s:s, s:i, s:I, s:f, s:i, s:o, s:o, s:s, s:i}", "ok", 1, "state",
                     vm_is_paused(vm) ? "paused" : "running", "vcpus", vm->ncpus, "memory_mib",
                     (json_int_t)(vm->ram_size >> 20), "uptime_ms",
                     vm->start_ns ? (double)(now - vm->start_ns) / 1e6 : 0.0, "reboots",
                     vm->reboots, "exits", exits, "milestones", ms, "devices", devices, "pid",
                     (int)getpid());
}

static json_t *
cmd_pause(struct control *ctl, const json_t *req, struct err *err)
{
    (void)req;
    if (vm_pause(ctl->vm, err) < 0)
        return NULL;
    return json_pack("{s:b, s:s}", "ok", 1, "state", "paused");
}

static json_t *
cmd_resume(struct control *ctl, const json_t *req, struct err *err)
{
    (void)req;
    if (vm_resume(ctl->vm, err) < 0)
        return NULL;
    return json_pack("{s:b, s:s}", "ok", 1, "state", "running");
}

static json_t *
cmd_shutdown(struct control *ctl, const json_t *req, struct err *err)
{
    (void)req;
    struct vm *vm = ctl->vm;
    if (!vm->power_button) {
        err_set(err, ERR_UNSUPPORTED, "no ACPI power button");
        return NULL;
    }
    vm->power_button(vm->power_button_opaque);
    return json_pack("{s:b}", "ok", 1);
}

static json_t *
cmd_ctrl_alt_del(struct control *ctl, const json_t *req, struct err *err)
{
    (void)req;
    struct vm *vm = ctl->vm;
    if (!vm->ctrl_alt_del) {
        err_set(err, ERR_UNSUPPORTED, "no keyboard controller");
        return NULL;
    }
    if (vm->ctrl_alt_del(vm->ctrl_alt_del_opaque) < 0) {
        err_set(err, ERR_CONFLICT, "the guest has disabled the keyboard");
        return NULL;
    }
    return json_pack("{s:b}", "ok", 1);
}

static json_t *
cmd_reset(struct control *ctl, const json_t *req, struct err *err)
{
    (void)req, (void)err;
    vm_request_exit(ctl->vm, VM_EXIT_REBOOT);
    return json_pack("{s:b}", "ok", 1);
}

static json_t *
cmd_stop(struct control *ctl, const json_t *req, struct err *err)
{
    (void)req, (void)err;
    vm_request_exit(ctl->vm, VM_EXIT_STOPPED);
    return json_pack("{s:b}", "ok", 1);
}

static const struct {
    const char *name;
    control_cmd_fn fn;
} control_cmds[] = {
    {"info", cmd_info},
    {"pause", cmd_pause},
    {"resume", cmd_resume},
    {"shutdown", cmd_shutdown},
    {"ctrl_alt_del", cmd_ctrl_alt_del},
    {"reset", cmd_reset},
    {"stop", cmd_stop},
};

static void
client_close(struct control_client *c)
{
    struct control *ctl = c->ctl;
    for (struct control_client **pp = &ctl->clients; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    ctl->nclients--;
    vm_loop_del_fd(ctl->vm, c->fd);
    close(c->fd);
    free(c);
}

static int
client_send(struct control_client *c, json_t *resp)
{
    char *s = json_dump_compact(resp);
    size_t n = strlen(s);
    s = xrealloc(s, n + 2);
    s[n++] = '\n';
    size_t off = 0;
    int rc = 0;
    while (off < n) {
        ssize_t w = send(c->fd, s + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = -1; /* a client that does not read its answers is dropped */
            break;
        }
        off += (size_t)w;
    }
    free(s);
    return rc;
}

static json_t *
handle_line(struct control *ctl, const char *line, size_t len)
{
    struct err err = ERR_INIT;
    json_t *resp = NULL;
    json_t *req = json_parse_buf(line, len, &err);
    if (!req)
        goto error;
    const char *cmd = json_get_str(req, "cmd");
    if (!cmd) {
        err_set(&err, ERR_INVALID, "request needs a \"cmd\" string");
        goto error;
    }
    for (size_t i = 0; i < ARRAY_SIZE(control_cmds); i++) {
        if (strcmp(cmd, control_cmds[i].name) == 0) {
            resp = control_cmds[i].fn(ctl, req, &err);
            if (!resp)
                goto error;
            log_info("control: %s", cmd);
            json_decref(req);
            return resp;
        }
    }
    err_set(&err, ERR_NOT_FOUND, "unknown command \"%s\"", cmd);
error:
    json_decref(req);
    return json_pack("{s:b, s:s}", "ok", 0, "error", err.msg);
}

static void
client_readable(void *opaque, uint32_t events)
{
    struct control_client *c = opaque;
    ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        client_close(c);
        return;
    }
    (void)events;
    c->len += (size_t)n;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (!nl)
            break;
        size_t line = (size_t)(nl - c->buf);
        json_t *resp = handle_line(c->ctl, c->buf, line);
        int rc = client_send(c, resp);
        json_decref(resp);
        memmove(c->buf, nl + 1, c->len - line - 1);
        c->len -= line + 1;
        if (rc < 0) {
            client_close(c);
            return;
        }
    }
    if (c->len == sizeof(c->buf)) {
        json_t *resp = json_pack("{s:b, s:s}", "ok", 0, "error", "request line too long");
        client_send(c, resp);
        json_decref(resp);
        client_close(c);
    }
}

static void
control_accept(void *opaque, uint32_t events)
{
    struct control *ctl = opaque;
    (void)events;
    int fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (ctl->nclients >= CONTROL_CLIENTS_MAX) {
        close(fd);
        return;
    }
    struct control_client *c = xzalloc(sizeof(*c));
    c->ctl = ctl;
    c->fd = fd;
    struct err err = ERR_INIT;
    if (vm_loop_add_fd(ctl->vm, fd, EPOLLIN, client_readable, c, &err) < 0) {
        log_warn("control: %s", err.msg);
        close(fd);
        free(c);
        return;
    }
    c->next = ctl->clients;
    ctl->clients = c;
    ctl->nclients++;
}

struct control *
control_listen(const char *path, struct err *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        err_set(err, ERR_INVALID, "control socket path %s is too long", path);
        return NULL;
    }
    strcpy(addr.sun_path, path);
    struct control *ctl = xzalloc(sizeof(*ctl));
    ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ctl->fd < 0) {
        err_set_errno(err, ERR_IO, errno, "socket");
        goto fail;
    }
    unlink(path); /* a stale socket from an earlier run */
    if (bind(ctl->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        err_set_errno(err, ERR_IO, errno, "binding %s", path);
        goto fail;
    }
    ctl->path = xstrdup(path);
    if (listen(ctl->fd, 8) < 0) {
        err_set_errno(err, ERR_IO, errno, "listening on %s", path);
        goto fail;
    }
    return ctl;
fail:
    control_free(ctl);
    return NULL;
}

int
control_attach(struct control *ctl, struct vm *vm, struct err *err)
{
    ctl->vm = vm;
    if (vm_loop_add_fd(vm, ctl->fd, EPOLLIN, control_accept, ctl, err) < 0) {
        ctl->vm = NULL;
        return -1;
    }
    return 0;
}

void
control_free(struct control *ctl)
{
    if (!ctl)
        return;
    while (ctl->clients)
        client_close(ctl->clients);
    if (ctl->fd >= 0) {
        if (ctl->vm)
            vm_loop_del_fd(ctl->vm, ctl->fd);
        close(ctl->fd);
    }
    if (ctl->path)
        unlink(ctl->path);
    free(ctl->path);
    free(ctl);
}
