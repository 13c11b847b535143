/* virtio-rng through the PCI transport and the fake core. */
#include <string.h>

#include "check.h"
#include "fake_vm.h"
#include "test_driver.h"
#include "virtio/pci.h"
#include "virtio/virtio.h"

#define RAM (1u << 20)
#define BUF 0x80000

int
main(void)
{
    struct err err = ERR_INIT;
    struct vm *vm = fake_vm_new(RAM);
    uint8_t *ram = fake_vm_ram(vm);
    struct pci_bus *bus = pci_bus_new(vm, &err);
    CHECK(bus != NULL);
    CHECK_INT(virtio_rng_create(vm, bus, &err), 0);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x00, 4), 0x10441af4u);

    struct tdrv d;
    CHECK(tdrv_init(&d, vm, 1, ~0ULL, 1, 0x10000) & VIRTIO_STATUS_DRIVER_OK);
    for (int round = 0; round < 3; round++) {
        memset(ram + BUF, 0, 4096);
        struct tdrv_seg segs[2] = {{BUF, 100, true}, {BUF + 1000, 28, true}};
        uint16_t head = tdrv_submit(&d, 0, segs, 2);
        uint32_t id = 0, len = 0;
        CHECK(tdrv_wait_used(&d, 0, &id, &len, 5000));
        CHECK_INT(id, head);
        CHECK_INT(len, 128);
        int nonzero = 0;
        for (int i = 0; i < 100; i++)
            nonzero += ram[BUF + i] != 0;
        for (int i = 0; i < 28; i++)
            nonzero += ram[BUF + 1000 + i] != 0;
        CHECK(nonzero > 100);         /* 128 random bytes: a handful may be zero */
        CHECK_INT(ram[BUF + 100], 0); /* nothing beyond the buffers */
        CHECK_INT(ram[BUF + 999], 0);
        CHECK_INT(ram[BUF + 1028], 0);
    }
    /* a buffer the device may not write gets nothing */
    memset(ram + BUF, 0, 4096);
    struct tdrv_seg ro[1] = {{BUF, 64, false}};
    tdrv_submit(&d, 0, ro, 1);
    uint32_t id, len = 99;
    CHECK(tdrv_wait_used(&d, 0, &id, &len, 5000));
    CHECK_INT(len, 0);
    CHECK_INT(ram[BUF], 0);

    CHECK_INT(fake_vm_snapshot_roundtrip(vm, &err), 0);
    struct tdrv_seg segs[1] = {{BUF, 16, true}};
    tdrv_submit(&d, 0, segs, 1);
    CHECK(tdrv_wait_used(&d, 0, &id, &len, 5000));
    CHECK_INT(len, 16);
    fake_vm_free(vm);
    return check_done();
}
