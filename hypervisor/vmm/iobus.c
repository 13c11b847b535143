/* Port I/O and MMIO dispatch: a small sorted table of ranges per address
 * space. Lookups take a read lock and call the handler after dropping it, so
 * a handler may move ranges (PCI BAR reprogramming) without deadlocking. */
#include <pthread.h>
#include <string.h>

#include "mem.h"
#include "vm.h"

struct vm_io_range {
    uint64_t base, len;
    vm_io_fn fn;
    void *opaque;
};

struct vm_io_bus {
    pthread_rwlock_t lock;
    struct vm_io_range *r;
    size_t n, cap;
};

struct vm_io_bus *
vm_io_bus_new(void)
{
    struct vm_io_bus *bus = xzalloc(sizeof(*bus));
    pthread_rwlock_init(&bus->lock, NULL);
    return bus;
}

void
vm_io_bus_free(struct vm_io_bus *bus)
{
    if (!bus)
        return;
    pthread_rwlock_destroy(&bus->lock);
    free(bus->r);
    free(bus);
}

static bool
overlaps(const struct vm_io_range *r, uint64_t base, uint64_t len)
{
    return base < r->base + r->len && r->base < base + len;
}

/* Insert keeping the table sorted by base; the caller holds the write lock. */
static int
bus_insert(struct vm_io_bus *bus, const struct vm_io_range *nr)
{
    size_t i;
    for (i = 0; i < bus->n; i++) {
        if (overlaps(&bus->r[i], nr->base, nr->len))
            return -1;
        if (bus->r[i].base > nr->base)
            break;
    }
    for (size_t j = i; j < bus->n; j++)
        if (overlaps(&bus->r[j], nr->base, nr->len))
            return -1;
    if (bus->n == bus->cap) {
        bus->cap = bus->cap ? bus->cap * 2 : 16;
        bus->r = xrealloc(bus->r, bus->cap * sizeof(*bus->r));
    }
    memmove(&bus->r[i + 1], &bus->r[i], (bus->n - i) * sizeof(*bus->r));
    bus->r[i] = *nr;
    bus->n++;
    return 0;
}

static ssize_t
bus_find_base(struct vm_io_bus *bus, uint64_t base)
{
    for (size_t i = 0; i < bus->n; i++)
        if (bus->r[i].base == base)
            return (ssize_t)i;
    return -1;
}

static void
bus_remove(struct vm_io_bus *bus, size_t i)
{
    memmove(&bus->r[i], &bus->r[i + 1], (bus->n - i - 1) * sizeof(*bus->r));
    bus->n--;
}

int
vm_io_register(struct vm *vm, enum vm_io_space space, uint64_t base, uint64_t len, vm_io_fn fn,
               void *opaque, struct err *err)
{
    if (space != VM_IO_PIO && space != VM_IO_MMIO)
        return err_set(err, ERR_INVALID, "bad I/O space %d", (int)space);
    if (len == 0 || base + len < base || (space == VM_IO_PIO && base + len > 0x10000))
        return err_set(err, ERR_INVALID, "bad I/O range 0x%llx+0x%llx", (unsigned long long)base,
                       (unsigned long long)len);
    struct vm_io_bus *bus = vm->io[space];
    struct vm_io_range nr = {.base = base, .len = len, .fn = fn, .opaque = opaque};
    pthread_rwlock_wrlock(&bus->lock);
    int rc = bus_insert(bus, &nr);
    pthread_rwlock_unlock(&bus->lock);
    if (rc < 0)
        return err_set(err, ERR_CONFLICT, "%s range 0x%llx+0x%llx overlaps another device",
                       space == VM_IO_PIO ? "port" : "MMIO", (unsigned long long)base,
                       (unsigned long long)len);
    return 0;
}

int
vm_io_move(struct vm *vm, enum vm_io_space space, uint64_t old_base, uint64_t new_base)
{
    if (space != VM_IO_PIO && space != VM_IO_MMIO)
        return -1;
    struct vm_io_bus *bus = vm->io[space];
    int rc = -1;
    pthread_rwlock_wrlock(&bus->lock);
    ssize_t i = bus_find_base(bus, old_base);
    if (i >= 0) {
        struct vm_io_range r = bus->r[i];
        bus_remove(bus, (size_t)i);
        r.base = new_base;
        if (new_base + r.len < new_base || (space == VM_IO_PIO && new_base + r.len > 0x10000) ||
            bus_insert(bus, &r) < 0) {
            r.base = old_base; /* refuse the move, keep the old range */
            bus_insert(bus, &r);
        } else {
            rc = 0;
        }
    }
    pthread_rwlock_unlock(&bus->lock);
    return rc;
}

int
vm_io_unregister(struct vm *vm, enum vm_io_space space, uint64_t base)
{
    if (space != VM_IO_PIO && space != VM_IO_MMIO)
        return -1;
    struct vm_io_bus *bus = vm->io[space];
    pthread_rwlock_wrlock(&bus->lock);
    ssize_t i = bus_find_base(bus, base);
    if (i >= 0)
        bus_remove(bus, (size_t)i);
    pthread_rwlock_unlock(&bus->lock);
    return i >= 0 ? 0 : -1;
}

bool
vm_io_dispatch(struct vm *vm, enum vm_io_space space, uint64_t addr, uint8_t *data, uint32_t size,
               bool is_write)
{
    struct vm_io_bus *bus = vm->io[space];
    struct vm_io_range hit = {0};
    bool found = false;

    pthread_rwlock_rdlock(&bus->lock);
    size_t lo = 0, hi = bus->n;
    while (lo < hi) { /* last range with base <= addr */
        size_t mid = lo + (hi - lo) / 2;
        if (bus->r[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0) {
        const struct vm_io_range *r = &bus->r[lo - 1];
        if (addr - r->base < r->len && size <= r->len - (addr - r->base)) {
            hit = *r;
            found = true;
        }
    }
    pthread_rwlock_unlock(&bus->lock);

    if (!found) {
        if (!is_write)
            memset(data, 0xff, size);
        return false;
    }
    hit.fn(hit.opaque, addr - hit.base, data, size, is_write);
    return true;
}
