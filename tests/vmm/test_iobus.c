/* Port I/O and MMIO dispatch (hypervisor/vmm/iobus.c): registration,
 * overlap refusal, offsets and sizes passed to handlers, accesses straddling a
 * range's end, moves (PCI BARs) and removal. No /dev/kvm needed. */
#include <string.h>

#include "check.h"
#include "vm.h"

struct probe {
    int calls;
    uint64_t offset;
    uint32_t size;
    bool is_write;
    uint8_t last[8];
};

static void
probe_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
    struct probe *p = opaque;
    p->calls++;
    p->offset = offset;
    p->size = size;
    p->is_write = is_write;
    if (is_write)
        memcpy(p->last, data, size);
    else
        memset(data, 0x42, size);
}

int
main(void)
{
    struct vm vm;
    memset(&vm, 0, sizeof(vm));
    vm.io[VM_IO_PIO] = vm_io_bus_new();
    vm.io[VM_IO_MMIO] = vm_io_bus_new();
    struct err err = ERR_INIT;
    struct probe a = {0}, b = {0}, c = {0};

    CHECK_INT(vm_io_register(&vm, VM_IO_PIO, 0x3f8, 8, probe_io, &a, &err), 0);
    CHECK_INT(vm_io_register(&vm, VM_IO_PIO, 0x60, 1, probe_io, &b, &err), 0);
    CHECK_INT(vm_io_register(&vm, VM_IO_PIO, 0x3fc, 8, probe_io, &c, &err), -1); /* overlap */
    CHECK_INT(err.code, ERR_CONFLICT);
    CHECK_INT(vm_io_register(&vm, VM_IO_PIO, 0x3f0, 9, probe_io, &c, &err), -1);
    CHECK_INT(vm_io_register(&vm, VM_IO_PIO, 0xfffc, 8, probe_io, &c, &err), -1); /* past 64K */
    CHECK_INT(vm_io_register(&vm, VM_IO_PIO, 0x100, 0, probe_io, &c, &err), -1);
    CHECK_INT(vm_io_register(&vm, VM_IO_MMIO, UINT64_MAX - 4, 16, probe_io, &c, &err), -1);
    CHECK_INT(vm_io_register(&vm, VM_IO_MMIO, 0xc0000000, 0x1000, probe_io, &c, &err), 0);

    uint8_t d[8] = {0x11, 0x22, 0x33, 0x44};
    CHECK(vm_io_dispatch(&vm, VM_IO_PIO, 0x3fd, d, 1, true));
    CHECK_INT(a.calls, 1);
    CHECK_INT(a.offset, 5);
    CHECK_INT(a.last[0], 0x11);
    CHECK(vm_io_dispatch(&vm, VM_IO_PIO, 0x3fc, d, 4, false));
    CHECK_INT(a.offset, 4);
    CHECK_INT(d[3], 0x42);
    /* straddling the end of the range: unclaimed, reads as all ones */
    CHECK(!vm_io_dispatch(&vm, VM_IO_PIO, 0x3fe, d, 4, false));
    CHECK_INT(d[0], 0xff);
    CHECK_INT(a.calls, 2);
    CHECK(!vm_io_dispatch(&vm, VM_IO_PIO, 0x61, d, 1, false));
    CHECK(vm_io_dispatch(&vm, VM_IO_PIO, 0x60, d, 1, false));
    CHECK_INT(b.calls, 1);
    /* MMIO and PIO are separate spaces */
    CHECK(!vm_io_dispatch(&vm, VM_IO_MMIO, 0x3f8, d, 1, false));
    CHECK(vm_io_dispatch(&vm, VM_IO_MMIO, 0xc0000ff8, d, 8, true));
    CHECK_INT(c.offset, 0xff8);
    CHECK_INT(c.size, 8);

    /* a BAR move: the old address goes dark, the new one answers */
    CHECK_INT(vm_io_move(&vm, VM_IO_MMIO, 0xc0000000, 0xd0000000), 0);
    CHECK(!vm_io_dispatch(&vm, VM_IO_MMIO, 0xc0000010, d, 4, false));
    CHECK(vm_io_dispatch(&vm, VM_IO_MMIO, 0xd0000010, d, 4, false));
    CHECK_INT(c.offset, 0x10);
    CHECK_INT(vm_io_move(&vm, VM_IO_MMIO, 0xc0000000, 0xe0000000), -1); /* nothing there now */
    /* a move onto another range is refused and the old one stays */
    CHECK_INT(vm_io_move(&vm, VM_IO_PIO, 0x60, 0x3f9), -1);
    CHECK(vm_io_dispatch(&vm, VM_IO_PIO, 0x60, d, 1, false));
    CHECK_INT(vm_io_unregister(&vm, VM_IO_PIO, 0x60), 0);
    CHECK_INT(vm_io_unregister(&vm, VM_IO_PIO, 0x60), -1);
    CHECK(!vm_io_dispatch(&vm, VM_IO_PIO, 0x60, d, 1, false));

    /* many ranges stay sorted and findable */
    struct probe many[40];
    memset(many, 0, sizeof(many));
    for (int i = 39; i >= 0; i--)
        CHECK_INT(vm_io_register(&vm, VM_IO_PIO, 0x1000 + 0x10 * (uint64_t)i, 0x10, probe_io,
                                 &many[i], &err),
                  0);
    for (int i = 0; i < 40; i++) {
        CHECK(vm_io_dispatch(&vm, VM_IO_PIO, 0x1000 + 0x10 * (uint64_t)i + 3, d, 1, true));
        CHECK_INT(many[i].calls, 1);
        CHECK_INT(many[i].offset, 3);
    }
    vm_io_bus_free(vm.io[VM_IO_PIO]);
    vm_io_bus_free(vm.io[VM_IO_MMIO]);
    return check_done();
}
