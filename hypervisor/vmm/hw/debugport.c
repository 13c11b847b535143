/* The debug port: each write is a milestone the guest marks (e.g. "/init
 * started"), stamped with the monotonic clock for the boot benchmark and
 * reported by the control socket's info (and on stderr with
 * --debug-port-log). Reads return 0xe9, as on Bochs and QEMU, so a guest can
 * detect the port. */
#include <pthread.h>
#include <stdio.h>

#include "hw/legacy.h"
#include "mem.h"
#include "state.h"
#include "vm.h"

struct debugport {
    struct vm *vm;
    _Atomic uint64_t writes;
};

static void
debugport_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
    struct debugport *d = opaque;
    (void)offset;
    if (!is_write) {
        for (uint32_t i = 0; i < size; i++)
            data[i] = i == 0 ? DEBUGPORT_PORT : 0;
        return;
    }
    uint32_t v = 0;
    for (uint32_t i = 0; i < size && i < 4; i++)
        v |= (uint32_t)data[i] << (8 * i);
    atomic_fetch_add(&d->writes, 1);
    vm_milestone_record(d->vm, v);
}

static void
debugport_reset(void *dev)
{
    (void)dev; /* no guest-visible state */
}

static int
debugport_save(void *dev, struct state_writer *w, struct err *err)
{
    (void)err;
    struct debugport *d = dev;
    state_put_u64(w, "writes", atomic_load(&d->writes));
    return 0;
}

static int
debugport_load(void *dev, struct state_reader *r, uint32_t version, struct err *err)
{
    struct debugport *d = dev;
    uint64_t writes;
    if (version != 1)
        return err_set(err, ERR_UNSUPPORTED, "debug port state version %u", version);
    if (state_get_u64(r, "writes", &writes, err) < 0)
        return -1;
    atomic_store(&d->writes, writes);
    return 0;
}

static void
debugport_stats(void *dev, char *buf, size_t len)
{
    struct debugport *d = dev;
    snprintf(buf, len, "writes %llu", (unsigned long long)atomic_load(&d->writes));
}

static void
debugport_free(void *dev)
{
    free(dev);
}

static const struct vm_device_ops debugport_ops = {
    .name = "debugport",
    .state_version = 1,
    .reset = debugport_reset,
    .save = debugport_save,
    .load = debugport_load,
    .stats = debugport_stats,
    .free = debugport_free,
};

struct debugport *
debugport_create(struct vm *vm, struct err *err)
{
    struct debugport *d = xzalloc(sizeof(*d));
    d->vm = vm;
    if (vm_io_register(vm, VM_IO_PIO, DEBUGPORT_PORT, 1, debugport_io, d, err) < 0) {
        free(d);
        return NULL;
    }
    vm_device_add(vm, &debugport_ops, d);
    return d;
}
