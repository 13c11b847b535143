/* virtio-blk end to end through the PCI transport and the fake core: feature
 * negotiation, configuration, reads, writes, flush, GET_ID, errors, the
 * read-only option, MSI-X and INTx, a hostile chain putting the device in
 * NEEDS_RESET, reset, and a snapshot round trip. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fake_vm.h"
#include "hw/pci.h"
#include "test_driver.h"
#include "virtio/pci.h"
#include "virtio/virtio.h"

#define RAM (4u << 20)
#define SECTORS 2048
#define HDR 0x100000
#define DATA 0x110000
#define STATUS 0x130000

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

static struct vm *vm;
static uint8_t *ram;

static uint8_t
pattern(uint64_t off)
{
    return (uint8_t)(off * 7 + off / 512);
}

static int
make_image(char *path)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    uint8_t *buf = malloc(SECTORS * 512);
    for (uint64_t i = 0; i < SECTORS * 512; i++)
        buf[i] = pattern(i);
    ssize_t n = write(fd, buf, SECTORS * 512);
    free(buf);
    return n == SECTORS * 512 ? fd : -1;
}

static void
put_hdr(uint64_t gpa, uint32_t type, uint64_t sector)
{
    uint32_t z = 0;
    memcpy(ram + gpa, &type, 4);
    memcpy(ram + gpa + 4, &z, 4);
    memcpy(ram + gpa + 8, &sector, 8);
}

/* Submit a three-part request and wait for it; returns the status byte. */
static int
request(struct tdrv *d, uint32_t type, uint64_t sector, uint32_t len, bool data_write,
        uint32_t *used_len)
{
    put_hdr(HDR, type, sector);
    ram[STATUS] = 0xee;
    struct tdrv_seg segs[3] = {{HDR, 16, false}, {DATA, len, data_write}, {STATUS, 1, true}};
    struct tdrv_seg nodata[2] = {{HDR, 16, false}, {STATUS, 1, true}};
    uint16_t head = len ? tdrv_submit(d, 0, segs, 3) : tdrv_submit(d, 0, nodata, 2);
    uint32_t id = 0, l = 0;
    if (!tdrv_wait_used(d, 0, &id, &l, 5000))
        return -1;
    CHECK_INT(id, head);
    if (used_len)
        *used_len = l;
    return ram[STATUS];
}

static void
test_rw(struct tdrv *d, int fd)
{
    uint32_t ulen;
    /* read sectors 5 and 6 */
    memset(ram + DATA, 0, 1024);
    CHECK_INT(request(d, 0, 5, 1024, true, &ulen), 0);
    CHECK_INT(ulen, 1025);
    bool same = true;
    for (int i = 0; i < 1024; i++)
        same &= ram[DATA + i] == pattern(5 * 512 + (uint64_t)i);
    CHECK(same);

    /* write sector 7 */
    memset(ram + DATA, 0xab, 512);
    CHECK_INT(request(d, 1, 7, 512, false, &ulen), 0);
    CHECK_INT(ulen, 1);
    uint8_t back[512];
    CHECK_INT(pread(fd, back, 512, 7 * 512), 512);
    CHECK(back[0] == 0xab && back[511] == 0xab);

    /* flush */
    CHECK_INT(request(d, 4, 0, 0, false, NULL), 0);

    /* GET_ID: the image's file name, up to 20 bytes */
    memset(ram + DATA, 0, 20);
    CHECK_INT(request(d, 8, 0, 20, true, &ulen), 0);
    CHECK_INT(ulen, 21);
    CHECK(memcmp(ram + DATA, "nube-blk-", 9) == 0);

    /* errors: past the end, not a whole sector, unknown type */
    CHECK_INT(request(d, 0, SECTORS - 1, 1024, true, NULL), 1);
    CHECK_INT(request(d, 0, UINT64_MAX, 512, true, NULL), 1);
    CHECK_INT(request(d, 0, 0, 100, true, NULL), 1);
    CHECK_INT(request(d, 99, 0, 512, true, NULL), 2);

    /* header split over two descriptors, data over three */
    put_hdr(HDR, 0, 9);
    memcpy(ram + HDR + 0x100, ram + HDR + 6, 10);
    memset(ram + DATA, 0, 1536);
    struct tdrv_seg segs[6] = {{HDR, 6, false},          {HDR + 0x100, 10, false},
                               {DATA, 100, true},        {DATA + 100, 1000, true},
                               {DATA + 1100, 436, true}, {STATUS, 1, true}};
    uint16_t head = tdrv_submit(d, 0, segs, 6);
    uint32_t id, l;
    CHECK(tdrv_wait_used(d, 0, &id, &l, 5000));
    CHECK_INT(id, head);
    CHECK_INT(l, 1537);
    CHECK_INT(ram[STATUS], 0);
    same = true;
    for (int i = 0; i < 1536; i++)
        same &= ram[DATA + i] == pattern(9 * 512 + (uint64_t)i);
    CHECK(same);
}

/* The notification reaches the device on the loop, not in the MMIO write. */
static void
test_async(struct tdrv *d)
{
    put_hdr(HDR, 0, 1);
    struct tdrv_seg segs[3] = {{HDR, 16, false}, {DATA, 512, true}, {STATUS, 1, true}};
    uint16_t before;
    memcpy(&before, ram + d->q[0].used + 2, 2);
    tdrv_submit(d, 0, segs, 3);
    uint16_t after;
    memcpy(&after, ram + d->q[0].used + 2, 2);
    CHECK_INT(after, before);
    uint32_t id, l;
    CHECK(tdrv_wait_used(d, 0, &id, &l, 5000));
    CHECK_INT(ram[STATUS], 0);
}

static void
test_interrupts(struct tdrv *d)
{
    struct pci_dev *unused = NULL;
    (void)unused;
    uint32_t gsi = fake_vm_cfg_read(vm, d->slot, 0x3c, 1);
    /* INTx: ISR bit 0 and the line, cleared by reading the ISR */
    fake_vm_read(vm, VM_IO_MMIO, d->bar + VIRTIO_BAR_ISR, 1);
    CHECK(!fake_vm_irq_level(vm, gsi));
    CHECK_INT(request(d, 0, 0, 512, true, NULL), 0);
    CHECK(fake_vm_irq_level(vm, gsi));
    CHECK(fake_vm_cfg_read(vm, d->slot, 0x06, 2) & PCI_STATUS_INTERRUPT);
    CHECK_INT(fake_vm_read(vm, VM_IO_MMIO, d->bar + VIRTIO_BAR_ISR, 1), 1);
    CHECK(!fake_vm_irq_level(vm, gsi));
    CHECK_INT(fake_vm_read(vm, VM_IO_MMIO, d->bar + VIRTIO_BAR_ISR, 1), 0);

    /* MSI-X: vector 1 for queue 0, masked first (pending bit), then unmasked */
    uint32_t cap = 0x40;
    CHECK_INT(fake_vm_cfg_read(vm, d->slot, cap, 1), PCI_CAP_ID_MSIX);
    fake_vm_cfg_write(vm, d->slot, cap + 2, 2, 0x8000);
    uint64_t t = d->bar + VIRTIO_BAR_MSIX_TABLE + 16;
    fake_vm_write(vm, VM_IO_MMIO, t, 4, 0xfee00000u);
    fake_vm_write(vm, VM_IO_MMIO, t + 4, 4, 0);
    fake_vm_write(vm, VM_IO_MMIO, t + 8, 4, 0x4041);
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x16, 2, 0);
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x1a, 2, 1);
    CHECK_INT(fake_vm_read(vm, VM_IO_MMIO, d->bar + 0x1a, 2), 1);
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x1a, 2, 7); /* no such vector */
    CHECK_INT(fake_vm_read(vm, VM_IO_MMIO, d->bar + 0x1a, 2), VIRTIO_MSI_NO_VECTOR);
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x1a, 2, 1);
    uint64_t n = fake_vm_msi_count(vm);
    CHECK_INT(request(d, 0, 0, 512, true, NULL), 0); /* entry still masked */
    CHECK_INT(fake_vm_msi_count(vm), n);
    CHECK_INT(fake_vm_read(vm, VM_IO_MMIO, d->bar + VIRTIO_BAR_MSIX_PBA, 8), 2);
    fake_vm_write(vm, VM_IO_MMIO, t + 12, 4, 0); /* unmask: the pending message goes */
    CHECK_INT(fake_vm_msi_count(vm), n + 1);
    CHECK_INT(fake_vm_read(vm, VM_IO_MMIO, d->bar + VIRTIO_BAR_MSIX_PBA, 8), 0);
    CHECK_INT(request(d, 0, 0, 512, true, NULL), 0);
    CHECK_INT(fake_vm_msi_count(vm), n + 2);
    uint64_t addr;
    uint32_t data;
    fake_vm_msi_last(vm, &addr, &data);
    CHECK_INT(addr, 0xfee00000u);
    CHECK_INT(data, 0x4041);
    CHECK(!fake_vm_irq_level(vm, gsi));
    /* the function mask holds messages back too */
    fake_vm_cfg_write(vm, d->slot, cap + 2, 2, 0xc000);
    CHECK_INT(request(d, 0, 0, 512, true, NULL), 0);
    CHECK_INT(fake_vm_msi_count(vm), n + 2);
    fake_vm_cfg_write(vm, d->slot, cap + 2, 2, 0x8000);
    CHECK_INT(fake_vm_msi_count(vm), n + 3);
}

static void
test_hostile(struct tdrv *d)
{
    /* a buffer outside guest memory: the device stops and asks for a reset */
    tdrv_set_desc(d, 0, 0, HDR, 16, 1, 1);
    tdrv_set_desc(d, 0, 1, RAM - 256, 4096, 3, 2);
    tdrv_set_desc(d, 0, 2, STATUS, 1, 2, 0);
    d->q[0].next_desc = 3;
    put_hdr(HDR, 0, 0);
    tdrv_offer(d, 0, 0);
    tdrv_notify(d, 0);
    for (int i = 0; i < 10; i++)
        fake_vm_loop_once(vm, 20);
    CHECK(tdrv_status(d) & VIRTIO_STATUS_NEEDS_RESET);
    /* a good request is no longer processed */
    put_hdr(HDR, 0, 0);
    struct tdrv_seg segs[3] = {{HDR, 16, false}, {DATA, 512, true}, {STATUS, 1, true}};
    tdrv_submit(d, 0, segs, 3);
    uint32_t id, l;
    CHECK(!tdrv_wait_used(d, 0, &id, &l, 200));

    /* a loop in the chain, after a reset and a fresh start */
    CHECK_INT(tdrv_init(d, vm, d->slot, ~0ULL, 1, 0x200000) & VIRTIO_STATUS_NEEDS_RESET, 0);
    CHECK_INT(request(d, 0, 3, 512, true, NULL), 0);
    tdrv_set_desc(d, 0, 5, HDR, 16, 1, 6);
    tdrv_set_desc(d, 0, 6, DATA, 16, 1, 5);
    tdrv_offer(d, 0, 5);
    tdrv_notify(d, 0);
    for (int i = 0; i < 10; i++)
        fake_vm_loop_once(vm, 20);
    CHECK(tdrv_status(d) & VIRTIO_STATUS_NEEDS_RESET);

    /* a request without a status byte cannot be answered: also NEEDS_RESET */
    CHECK_INT(tdrv_init(d, vm, d->slot, ~0ULL, 1, 0x200000) & VIRTIO_STATUS_NEEDS_RESET, 0);
    struct tdrv_seg bad[1] = {{HDR, 16, false}};
    tdrv_submit(d, 0, bad, 1);
    for (int i = 0; i < 10; i++)
        fake_vm_loop_once(vm, 20);
    CHECK(tdrv_status(d) & VIRTIO_STATUS_NEEDS_RESET);

    /* rings outside guest memory at queue_enable */
    CHECK_INT(tdrv_init(d, vm, d->slot, ~0ULL, 1, RAM - 0x100) & VIRTIO_STATUS_NEEDS_RESET,
              VIRTIO_STATUS_NEEDS_RESET);
}

static void
test_negotiation(struct tdrv *d)
{
    uint64_t f = tdrv_device_features(d);
    CHECK(f & (1ULL << VIRTIO_F_VERSION_1));
    CHECK(f & (1ULL << VIRTIO_F_RING_INDIRECT_DESC));
    CHECK(f & (1ULL << VIRTIO_BLK_F_FLUSH));
    CHECK(f & (1ULL << VIRTIO_BLK_F_SEG_MAX));
    CHECK(!(f & (1ULL << VIRTIO_BLK_F_RO)));
    CHECK_INT(tdrv_cfg(d, 0, 8), SECTORS);
    CHECK_INT(tdrv_cfg(d, 12, 4), 126);
    CHECK_INT(tdrv_cfg(d, 20, 4), 512);
    /* a driver without VERSION_1 (legacy) is refused at FEATURES_OK */
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x14, 1, 0);
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x14, 1, 3);
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x08, 4, 1);
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x0c, 4, 0);
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x14, 1, 3 | VIRTIO_STATUS_FEATURES_OK);
    CHECK(!(tdrv_status(d) & VIRTIO_STATUS_FEATURES_OK));
    /* nor can it take features that were not offered */
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x14, 1, 0);
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x14, 1, 3);
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x08, 4, 1);
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x0c, 4, 1 | (1u << 20));
    fake_vm_write(vm, VM_IO_MMIO, d->bar + 0x14, 1, 3 | VIRTIO_STATUS_FEATURES_OK);
    CHECK(!(tdrv_status(d) & VIRTIO_STATUS_FEATURES_OK));
}

static void
test_read_only(struct pci_bus *bus, const char *path, int slot)
{
    struct err err = ERR_INIT;
    CHECK_INT(virtio_blk_create(vm, bus, path, true, &err), 0);
    struct tdrv d;
    CHECK(tdrv_init(&d, vm, slot, ~0ULL, 1, 0x300000) & VIRTIO_STATUS_DRIVER_OK);
    CHECK(d.features & (1ULL << VIRTIO_BLK_F_RO));
    CHECK_INT(request(&d, 0, 4, 512, true, NULL), 0);
    CHECK_INT(ram[DATA], pattern(4 * 512));
    memset(ram + DATA, 0x11, 512);
    CHECK_INT(request(&d, 1, 4, 512, false, NULL), 1); /* IOERR */
    CHECK_INT(request(&d, 4, 0, 0, false, NULL), 0);   /* flush is harmless */
}

int
main(void)
{
    char path[] = "/tmp/nube-blk-XXXXXX";
    char ro_path[] = "/tmp/nube-blk-ro-XXXXXX";
    int fd = make_image(path);
    int ro_fd = make_image(ro_path);
    if (fd < 0 || ro_fd < 0) {
        perror("image");
        return 1;
    }
    struct err err = ERR_INIT;
    vm = fake_vm_new(RAM);
    ram = fake_vm_ram(vm);
    struct pci_bus *bus = pci_bus_new(vm, &err);
    CHECK(bus != NULL);
    int r = virtio_blk_create(vm, bus, path, false, &err);
    CHECK_INT(r, 0);
    if (r < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return check_done();
    }
    /* a second writer on the same image is refused */
    CHECK_INT(virtio_blk_create(vm, bus, path, false, &err), -1);
    CHECK_INT(err.code, ERR_CONFLICT);
    CHECK_INT(virtio_blk_create(vm, bus, "/nonexistent/disk.img", false, &err), -1);

    struct tdrv d;
    uint8_t st = tdrv_init(&d, vm, 1, ~0ULL, 1, 0x200000);
    CHECK(st & VIRTIO_STATUS_DRIVER_OK);
    CHECK(!(st & VIRTIO_STATUS_NEEDS_RESET));
    test_rw(&d, fd);
    test_async(&d);

    /* snapshot in the middle of a session: the queue carries on afterwards */
    err_clear(&err);
    CHECK_INT(fake_vm_snapshot_roundtrip(vm, &err), 0);
    if (err.code)
        fprintf(stderr, "snapshot: %s\n", err.msg);
    CHECK_INT(request(&d, 0, 2, 512, true, NULL), 0);
    CHECK_INT(ram[DATA + 1], pattern(2 * 512 + 1));

    test_interrupts(&d);
    test_negotiation(&d);
    CHECK(tdrv_init(&d, vm, 1, ~0ULL, 1, 0x200000) & VIRTIO_STATUS_DRIVER_OK);
    test_hostile(&d);
    test_read_only(bus, ro_path, 2);

    /* the VM resets in place: the devices come back as at power-on */
    fake_vm_reset(vm);
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x04, 2), 0);
    CHECK(tdrv_init(&d, vm, 1, ~0ULL, 1, 0x200000) & VIRTIO_STATUS_DRIVER_OK);
    CHECK_INT(request(&d, 0, 6, 512, true, NULL), 0);
    CHECK_INT(ram[DATA + 7], pattern(6 * 512 + 7));

    fake_vm_free(vm);
    close(fd);
    close(ro_fd);
    unlink(path);
    unlink(ro_path);
    return check_done();
}
