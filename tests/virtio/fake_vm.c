/* The fake core for PCI and virtio unit tests: see fake_vm.h. Not thread-safe
 * beyond what the devices' own locks give; tests drive it from one thread. */
#include "fake_vm.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "mem.h"
#include "state.h"

#define FAKE_MAX 64

struct fake_range {
    enum vm_io_space space;
    uint64_t base, len;
    vm_io_fn fn;
    void *opaque;
};

struct fake_ioev {
    enum vm_io_space space;
    uint64_t addr;
    uint32_t size;
    int efd;
};

struct fake_fd {
    int fd;
    vm_fd_fn fn;
    void *opaque;
};

struct fake_dev {
    const struct vm_device_ops *ops;
    void *dev;
};

struct vm {
    uint8_t *ram;
    uint64_t ram_size;
    struct fake_range ranges[FAKE_MAX];
    int nranges;
    struct fake_ioev ioev[FAKE_MAX];
    int nioev;
    struct fake_fd fds[FAKE_MAX];
    int nfds;
    struct fake_dev devs[FAKE_MAX];
    int ndevs;
    bool irq[32];
    uint32_t next_irq;
    uint64_t msi_count;
    uint64_t msi_addr;
    uint32_t msi_data;
};

struct vm *
fake_vm_new(uint64_t ram_size)
{
    struct vm *vm = xzalloc(sizeof(*vm));
    vm->ram = xzalloc(ram_size);
    vm->ram_size = ram_size;
    vm->next_irq = 5;
    return vm;
}

void
fake_vm_free(struct vm *vm)
{
    if (!vm)
        return;
    for (int i = vm->ndevs - 1; i >= 0; i--)
        if (vm->devs[i].ops->free)
            vm->devs[i].ops->free(vm->devs[i].dev);
    free(vm->ram);
    free(vm);
}

uint8_t *
fake_vm_ram(struct vm *vm)
{
    return vm->ram;
}

/* ---- vmm.h ---- */

void *
vm_guest_ptr(struct vm *vm, uint64_t gpa, uint64_t len)
{
    if (len == 0)
        len = 1;
    if (gpa >= vm->ram_size || len > vm->ram_size - gpa)
        return NULL;
    return vm->ram + gpa;
}

uint64_t
vm_ram_size(const struct vm *vm)
{
    return vm->ram_size;
}

int
vm_io_register(struct vm *vm, enum vm_io_space space, uint64_t base, uint64_t len, vm_io_fn fn,
               void *opaque, struct err *err)
{
    for (int i = 0; i < vm->nranges; i++) {
        struct fake_range *r = &vm->ranges[i];
        if (r->space == space && base < r->base + r->len && r->base < base + len)
            return err_set(err, ERR_CONFLICT, "range %#llx overlaps", (unsigned long long)base);
    }
    if (vm->nranges == FAKE_MAX)
        return err_set(err, ERR_OVER_LIMIT, "too many ranges");
    vm->ranges[vm->nranges++] = (struct fake_range){space, base, len, fn, opaque};
    return 0;
}

static struct fake_range *
fake_range_find(struct vm *vm, enum vm_io_space space, uint64_t base)
{
    for (int i = 0; i < vm->nranges; i++)
        if (vm->ranges[i].space == space && vm->ranges[i].base == base)
            return &vm->ranges[i];
    return NULL;
}

int
vm_io_move(struct vm *vm, enum vm_io_space space, uint64_t old_base, uint64_t new_base)
{
    struct fake_range *r = fake_range_find(vm, space, old_base);
    if (!r)
        return -1;
    for (int i = 0; i < vm->nranges; i++) {
        struct fake_range *o = &vm->ranges[i];
        if (o != r && o->space == space && new_base < o->base + o->len &&
            o->base < new_base + r->len)
            return -1;
    }
    r->base = new_base;
    return 0;
}

int
vm_io_unregister(struct vm *vm, enum vm_io_space space, uint64_t base)
{
    struct fake_range *r = fake_range_find(vm, space, base);
    if (!r)
        return -1;
    *r = vm->ranges[--vm->nranges];
    return 0;
}

int
vm_irq_line(struct vm *vm, uint32_t gsi, bool level)
{
    if (gsi >= 32)
        return -1;
    vm->irq[gsi] = level;
    return 0;
}

int
vm_irq_pulse(struct vm *vm, uint32_t gsi)
{
    (void)vm;
    (void)gsi;
    return 0;
}

int
vm_msi_send(struct vm *vm, uint64_t addr, uint32_t data)
{
    vm->msi_count++;
    vm->msi_addr = addr;
    vm->msi_data = data;
    return 0;
}

int
vm_irq_alloc(struct vm *vm)
{
    if (vm->next_irq > 15)
        return -1;
    return (int)vm->next_irq++;
}

int
vm_loop_add_fd(struct vm *vm, int fd, uint32_t epoll_events, vm_fd_fn fn, void *opaque,
               struct err *err)
{
    (void)epoll_events;
    if (vm->nfds == FAKE_MAX)
        return err_set(err, ERR_OVER_LIMIT, "too many fds");
    vm->fds[vm->nfds++] = (struct fake_fd){fd, fn, opaque};
    return 0;
}

int
vm_loop_del_fd(struct vm *vm, int fd)
{
    for (int i = 0; i < vm->nfds; i++) {
        if (vm->fds[i].fd == fd) {
            vm->fds[i] = vm->fds[--vm->nfds];
            return 0;
        }
    }
    return -1;
}

int
vm_ioeventfd_add(struct vm *vm, enum vm_io_space space, uint64_t addr, uint32_t size, int efd,
                 struct err *err)
{
    if (vm->nioev == FAKE_MAX)
        return err_set(err, ERR_OVER_LIMIT, "too many ioeventfds");
    vm->ioev[vm->nioev++] = (struct fake_ioev){space, addr, size, efd};
    return 0;
}

int
vm_ioeventfd_del(struct vm *vm, enum vm_io_space space, uint64_t addr, uint32_t size, int efd)
{
    for (int i = 0; i < vm->nioev; i++) {
        struct fake_ioev *e = &vm->ioev[i];
        if (e->space == space && e->addr == addr && e->size == size && e->efd == efd) {
            *e = vm->ioev[--vm->nioev];
            return 0;
        }
    }
    return -1;
}

void
vm_request_exit(struct vm *vm, enum vm_exit_reason reason)
{
    (void)vm;
    (void)reason;
}

void
vm_device_add(struct vm *vm, const struct vm_device_ops *ops, void *dev)
{
    if (vm->ndevs < FAKE_MAX)
        vm->devs[vm->ndevs++] = (struct fake_dev){ops, dev};
}

/* ---- test side ---- */

bool
fake_vm_io(struct vm *vm, enum vm_io_space space, uint64_t addr, uint8_t *data, uint32_t size,
           bool is_write)
{
    if (is_write) {
        for (int i = 0; i < vm->nioev; i++) {
            struct fake_ioev *e = &vm->ioev[i];
            if (e->space == space && e->addr == addr && e->size == size) {
                eventfd_write(e->efd, 1);
                return true;
            }
        }
    }
    for (int i = 0; i < vm->nranges; i++) {
        struct fake_range *r = &vm->ranges[i];
        if (r->space == space && addr >= r->base && addr - r->base < r->len) {
            r->fn(r->opaque, addr - r->base, data, size, is_write);
            return true;
        }
    }
    if (!is_write)
        memset(data, 0xff, size);
    return false;
}

uint64_t
fake_vm_read(struct vm *vm, enum vm_io_space space, uint64_t addr, uint32_t size)
{
    uint8_t b[8] = {0};
    uint64_t v = 0;
    fake_vm_io(vm, space, addr, b, size, false);
    memcpy(&v, b, size);
    return v;
}

void
fake_vm_write(struct vm *vm, enum vm_io_space space, uint64_t addr, uint32_t size, uint64_t val)
{
    uint8_t b[8];
    memcpy(b, &val, 8);
    fake_vm_io(vm, space, addr, b, size, true);
}

uint32_t
fake_vm_cfg_read(struct vm *vm, int slot, uint32_t off, uint32_t size)
{
    fake_vm_write(vm, VM_IO_PIO, 0xcf8, 4, 0x80000000u | (uint32_t)slot << 11 | (off & 0xfc));
    return (uint32_t)fake_vm_read(vm, VM_IO_PIO, 0xcfc + (off & 3), size);
}

void
fake_vm_cfg_write(struct vm *vm, int slot, uint32_t off, uint32_t size, uint32_t val)
{
    fake_vm_write(vm, VM_IO_PIO, 0xcf8, 4, 0x80000000u | (uint32_t)slot << 11 | (off & 0xfc));
    fake_vm_write(vm, VM_IO_PIO, 0xcfc + (off & 3), size, val);
}

bool
fake_vm_range_at(struct vm *vm, enum vm_io_space space, uint64_t base, uint64_t *len)
{
    struct fake_range *r = fake_range_find(vm, space, base);
    if (r && len)
        *len = r->len;
    return r != NULL;
}

int
fake_vm_ioeventfd_count(struct vm *vm)
{
    return vm->nioev;
}

int
fake_vm_loop_once(struct vm *vm, int timeout_ms)
{
    struct pollfd pfd[FAKE_MAX];
    struct fake_fd snap[FAKE_MAX];
    int n = vm->nfds;
    memcpy(snap, vm->fds, sizeof(snap[0]) * (size_t)n);
    for (int i = 0; i < n; i++)
        pfd[i] = (struct pollfd){.fd = snap[i].fd, .events = POLLIN};
    int r = poll(pfd, (nfds_t)n, timeout_ms);
    if (r <= 0)
        return 0;
    int ran = 0;
    for (int i = 0; i < n; i++) {
        if (!(pfd[i].revents & POLLIN))
            continue;
        /* a callback may have removed a later entry: run only live ones */
        bool live = false;
        for (int j = 0; j < vm->nfds; j++)
            live |= vm->fds[j].fd == snap[i].fd && vm->fds[j].opaque == snap[i].opaque;
        if (!live)
            continue;
        snap[i].fn(snap[i].opaque, pfd[i].revents);
        ran++;
    }
    return ran;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool
fake_vm_loop_until(struct vm *vm, bool (*done)(void *), void *opaque, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (!done(opaque)) {
        uint64_t t = now_ms();
        if (t >= end)
            return false;
        fake_vm_loop_once(vm, (int)(end - t));
    }
    return true;
}

bool
fake_vm_irq_level(struct vm *vm, uint32_t gsi)
{
    return gsi < 32 && vm->irq[gsi];
}

uint64_t
fake_vm_msi_count(struct vm *vm)
{
    return vm->msi_count;
}

void
fake_vm_msi_last(struct vm *vm, uint64_t *addr, uint32_t *data)
{
    *addr = vm->msi_addr;
    *data = vm->msi_data;
}

int
fake_vm_snapshot_roundtrip(struct vm *vm, struct err *err)
{
    struct state_writer *w = state_writer_new();
    struct state_reader *r = NULL;
    int ret = -1;
    for (int i = 0; i < vm->ndevs; i++) {
        const struct vm_device_ops *ops = vm->devs[i].ops;
        if (state_section_begin(w, ops->name, ops->state_version, err) < 0 ||
            ops->save(vm->devs[i].dev, w, err) < 0 || state_section_end(w, err) < 0)
            goto out;
    }
    size_t len;
    const uint8_t *buf = state_writer_data(w, &len);
    r = state_reader_new(buf, len, err);
    if (!r)
        goto out;
    for (int i = 0; i < vm->ndevs; i++) {
        const struct vm_device_ops *ops = vm->devs[i].ops;
        char name[STATE_NAME_MAX + 1];
        uint32_t version;
        if (state_reader_next(r, name, &version, err) != 1)
            goto out;
        if (strcmp(name, ops->name) != 0) {
            err_set(err, ERR_INVALID, "section %s where %s was expected", name, ops->name);
            goto out;
        }
        if (ops->load(vm->devs[i].dev, r, version, err) < 0)
            goto out;
    }
    ret = 0;
out:
    state_reader_free(r);
    state_writer_free(w);
    return ret;
}

void
fake_vm_stats(struct vm *vm, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < vm->ndevs && at + 1 < len; i++) {
        char one[512] = "";
        if (vm->devs[i].ops->stats)
            vm->devs[i].ops->stats(vm->devs[i].dev, one, sizeof(one));
        int n = snprintf(buf + at, len - at, "%s: %s; ", vm->devs[i].ops->name, one);
        if (n < 0)
            break;
        at += (size_t)n;
    }
}

void
fake_vm_reset(struct vm *vm)
{
    for (int i = 0; i < vm->ndevs; i++)
        if (vm->devs[i].ops->reset)
            vm->devs[i].ops->reset(vm->devs[i].dev);
}
