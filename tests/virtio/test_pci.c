/* PCI configuration mechanism #1, the host bridge, BAR sizing and mapping, and
 * the virtio-pci capability list (golden bytes written from the virtio 1.x
 * spec's structure layouts, not from the code). */
#include <string.h>

#include "check.h"
#include "fake_vm.h"
#include "hw/pci.h"
#include "virtio/virtio.h"

static struct vm *vm;

static void
test_mechanism1(void)
{
    fake_vm_write(vm, VM_IO_PIO, 0xcf8, 4, 0x80000000u);
    CHECK_INT(fake_vm_read(vm, VM_IO_PIO, 0xcf8, 4), 0x80000000u);
    /* Linux's type-1 probe pokes a byte at 0xCFB: the latch must not change */
    fake_vm_write(vm, VM_IO_PIO, 0xcfb, 1, 0x01);
    CHECK_INT(fake_vm_read(vm, VM_IO_PIO, 0xcf8, 4), 0x80000000u);
    /* reserved low bits are not latched */
    fake_vm_write(vm, VM_IO_PIO, 0xcf8, 4, 0x80000003u);
    CHECK_INT(fake_vm_read(vm, VM_IO_PIO, 0xcf8, 4), 0x80000000u);

    /* host bridge 00:00.0: Intel 82441FX, class 06 00 00 */
    CHECK_INT(fake_vm_cfg_read(vm, 0, 0x00, 4), 0x12378086u);
    CHECK_INT(fake_vm_cfg_read(vm, 0, 0x08, 4) >> 8, 0x060000);
    CHECK_INT(fake_vm_cfg_read(vm, 0, 0x0e, 1), 0);
    CHECK_INT(fake_vm_cfg_read(vm, 0, 0x02, 2), 0x1237);
    CHECK_INT(fake_vm_cfg_read(vm, 0, 0x01, 1), 0x80);
    /* chipset registers keep what firmware writes (PAM0 at 0x59) */
    fake_vm_cfg_write(vm, 0, 0x59, 1, 0x30);
    CHECK_INT(fake_vm_cfg_read(vm, 0, 0x59, 1), 0x30);
    /* identity is read-only */
    fake_vm_cfg_write(vm, 0, 0x00, 4, 0);
    CHECK_INT(fake_vm_cfg_read(vm, 0, 0x00, 4), 0x12378086u);

    /* nothing at an empty slot, another function, another bus, or with the
     * enable bit clear */
    CHECK_INT(fake_vm_cfg_read(vm, 9, 0, 4), 0xffffffffu);
    fake_vm_write(vm, VM_IO_PIO, 0xcf8, 4, 0x80000100u); /* 00:00.1 */
    CHECK_INT(fake_vm_read(vm, VM_IO_PIO, 0xcfc, 4), 0xffffffffu);
    fake_vm_write(vm, VM_IO_PIO, 0xcf8, 4, 0x80010000u); /* bus 1 */
    CHECK_INT(fake_vm_read(vm, VM_IO_PIO, 0xcfc, 4), 0xffffffffu);
    fake_vm_write(vm, VM_IO_PIO, 0xcf8, 4, 0x00000000u);
    CHECK_INT(fake_vm_read(vm, VM_IO_PIO, 0xcfc, 4), 0xffffffffu);
    /* a dword read across the end of the data port is refused */
    fake_vm_write(vm, VM_IO_PIO, 0xcf8, 4, 0x80000000u);
    CHECK_INT(fake_vm_read(vm, VM_IO_PIO, 0xcfe, 4), 0xffffffffu);
}

/* virtio-rng: 1 queue, 2 MSI-X vectors, no device configuration. */
static const uint8_t golden_caps[] = {
    /* 0x40 MSI-X: table size 2 (N-1 = 1), table at BAR0+0x4000, PBA at BAR0+0x5000 */
    0x11, 0x4c, 0x01, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00,
    /* 0x4c common configuration: BAR0+0x0000, 0x38 bytes */
    0x09, 0x5c, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00,
    /* 0x5c notifications: BAR0+0x3000, 4 bytes, notify_off_multiplier 4 */
    0x09, 0x70, 0x14, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
    0x04, 0x00, 0x00, 0x00,
    /* 0x70 ISR: BAR0+0x1000, 4 bytes */
    0x09, 0x80, 0x10, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
    /* 0x80 PCI configuration access, end of list */
    0x09, 0x00, 0x14, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00};

static void
test_virtio_header(void)
{
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x00, 4), 0x10441af4u); /* modern virtio-rng */
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x08, 1), 1);           /* revision 1: modern only */
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x08, 4) >> 8, 0x00ff00);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x2c, 4), 0x00401af4u);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x3d, 1), 1); /* INTA# */
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x3c, 1), 5); /* first GSI the fake hands out */
    CHECK_INT(fake_vm_cfg_read(vm, 2, 0x3c, 1), 6);
    CHECK(fake_vm_cfg_read(vm, 1, 0x06, 2) & PCI_STATUS_CAP_LIST);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x34, 1), 0x40);

    uint8_t caps[sizeof(golden_caps)];
    for (uint32_t i = 0; i < sizeof(caps); i++)
        caps[i] = (uint8_t)fake_vm_cfg_read(vm, 1, 0x40 + i, 1);
    CHECK(memcmp(caps, golden_caps, sizeof(caps)) == 0);
    for (uint32_t i = 0; i < sizeof(caps); i++)
        if (caps[i] != golden_caps[i])
            fprintf(stderr, "cap byte %#x: %#04x, expected %#04x\n", 0x40 + i, caps[i],
                    golden_caps[i]);

    /* walking the list the way a driver does finds every virtio structure once */
    unsigned seen = 0;
    int steps = 0;
    for (uint32_t p = fake_vm_cfg_read(vm, 1, 0x34, 1); p && steps < 48; steps++) {
        if (fake_vm_cfg_read(vm, 1, p, 1) == PCI_CAP_ID_VNDR)
            seen |= 1u << fake_vm_cfg_read(vm, 1, p + 3, 1);
        p = fake_vm_cfg_read(vm, 1, p + 1, 1);
    }
    CHECK_INT(seen, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 5));
}

static void
test_bars(void)
{
    uint64_t len = 0;
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x10, 4), 0xc0000000u);
    CHECK_INT(fake_vm_cfg_read(vm, 2, 0x10, 4), 0xc0008000u);
    CHECK(!fake_vm_range_at(vm, VM_IO_MMIO, 0xc0000000u, NULL)); /* decode off */

    /* sizing: all ones reads back the size mask, type bits 0 (32-bit memory) */
    fake_vm_cfg_write(vm, 1, 0x10, 4, 0xffffffffu);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x10, 4), 0xffff8000u);
    CHECK(!fake_vm_range_at(vm, VM_IO_MMIO, 0xffff8000u, NULL)); /* still not decoding */
    fake_vm_cfg_write(vm, 1, 0x10, 4, 0xc0000000u);
    /* unused BARs and the ROM BAR read 0 and ignore writes */
    fake_vm_cfg_write(vm, 1, 0x14, 4, 0xffffffffu);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x14, 4), 0);
    fake_vm_cfg_write(vm, 1, 0x30, 4, 0xffffffffu);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x30, 4), 0);

    /* memory decode on: the BAR is mapped, the queue notify has an ioeventfd */
    fake_vm_cfg_write(vm, 1, 0x04, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x04, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    CHECK(fake_vm_range_at(vm, VM_IO_MMIO, 0xc0000000u, &len));
    CHECK_INT(len, 0x8000);
    CHECK_INT(fake_vm_ioeventfd_count(vm), 1);
    /* through the BAR: num_queues, and VERSION_1 in the high feature word */
    CHECK_INT(fake_vm_read(vm, VM_IO_MMIO, 0xc0000012u, 2), 1);
    fake_vm_write(vm, VM_IO_MMIO, 0xc0000000u, 4, 1);
    CHECK(fake_vm_read(vm, VM_IO_MMIO, 0xc0000004u, 4) & 1);

    /* the guest moves the BAR while decoding: mapping and ioeventfd follow */
    fake_vm_cfg_write(vm, 1, 0x10, 4, 0xd0000000u);
    CHECK(!fake_vm_range_at(vm, VM_IO_MMIO, 0xc0000000u, NULL));
    CHECK(fake_vm_range_at(vm, VM_IO_MMIO, 0xd0000000u, NULL));
    CHECK_INT(fake_vm_ioeventfd_count(vm), 1);
    CHECK_INT(fake_vm_read(vm, VM_IO_MMIO, 0xd0000012u, 2), 1);

    /* the PCI configuration access capability reaches the same registers */
    fake_vm_cfg_write(vm, 1, 0x80 + 4, 1, 0);    /* BAR 0 */
    fake_vm_cfg_write(vm, 1, 0x80 + 8, 4, 0x12); /* num_queues */
    fake_vm_cfg_write(vm, 1, 0x80 + 12, 4, 2);   /* 2 bytes */
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x80 + 16, 2), 1);
    fake_vm_cfg_write(vm, 1, 0x80 + 8, 4, 0x16); /* queue_select */
    fake_vm_cfg_write(vm, 1, 0x80 + 16, 2, 0);
    fake_vm_cfg_write(vm, 1, 0x80 + 8, 4, 0x18); /* queue_size */
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x80 + 16, 2), 256);
    fake_vm_cfg_write(vm, 1, 0x80 + 8, 4, 0x7ffe); /* past the BAR: nothing */
    fake_vm_cfg_write(vm, 1, 0x80 + 12, 4, 4);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x80 + 16, 4), 0);

    /* snapshot and restore keep the programmed BAR */
    struct err err = ERR_INIT;
    CHECK_INT(fake_vm_snapshot_roundtrip(vm, &err), 0);
    if (err.code)
        fprintf(stderr, "snapshot: %s\n", err.msg);
    CHECK(fake_vm_range_at(vm, VM_IO_MMIO, 0xd0000000u, NULL));
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x10, 4), 0xd0000000u);

    CHECK_INT(fake_vm_ioeventfd_count(vm), 1);
    /* a VM reset takes everything back to power-on */
    fake_vm_cfg_write(vm, 1, 0x40 + 2, 2, 0x8000); /* MSI-X on */
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x40 + 2, 2), 0x8001);
    fake_vm_write(vm, VM_IO_MMIO, 0xd0000000u + 0x14, 1, 3); /* ACKNOWLEDGE | DRIVER */
    CHECK_INT(fake_vm_read(vm, VM_IO_MMIO, 0xd0000000u + 0x14, 1), 3);
    fake_vm_reset(vm);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x10, 4), 0xc0000000u);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x04, 2), 0);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x40 + 2, 2), 0x0001);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x80 + 8, 4), 0); /* PCI-cfg window too */
    CHECK_INT(fake_vm_cfg_read(vm, 0, 0x59, 1), 0);     /* host bridge PAM0 */
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x3c, 1), 5);     /* the line stays */
    CHECK(!fake_vm_range_at(vm, VM_IO_MMIO, 0xd0000000u, NULL));
    CHECK(!fake_vm_range_at(vm, VM_IO_MMIO, 0xc0000000u, NULL));
    CHECK_INT(fake_vm_ioeventfd_count(vm), 0);
    fake_vm_cfg_write(vm, 1, 0x04, 2, PCI_COMMAND_MEMORY);
    CHECK_INT(fake_vm_read(vm, VM_IO_MMIO, 0xc0000000u + 0x14, 1), 0);        /* status reset */
    CHECK_INT(fake_vm_read(vm, VM_IO_MMIO, 0xc0000000u + 0x4000 + 12, 4), 1); /* masked */
    CHECK_INT(fake_vm_ioeventfd_count(vm), 1);
    fake_vm_cfg_write(vm, 1, 0x10, 4, 0xd0000000u);

    /* decode off: unmapped, ioeventfd gone */
    fake_vm_cfg_write(vm, 1, 0x04, 2, 0);
    CHECK(!fake_vm_range_at(vm, VM_IO_MMIO, 0xd0000000u, NULL));
    CHECK_INT(fake_vm_ioeventfd_count(vm), 0);
    CHECK_INT(fake_vm_read(vm, VM_IO_MMIO, 0xd0000012u, 2), 0xffff);
}

int
main(void)
{
    struct err err = ERR_INIT;
    vm = fake_vm_new(1 << 20);
    struct pci_bus *bus = pci_bus_new(vm, &err);
    CHECK(bus != NULL);
    if (!bus)
        return check_done();
    CHECK_INT(virtio_rng_create(vm, bus, &err), 0);
    CHECK_INT(virtio_rng_create(vm, bus, &err), 0);
    test_mechanism1();
    test_virtio_header();
    test_bars();
    fake_vm_free(vm);
    return check_done();
}
