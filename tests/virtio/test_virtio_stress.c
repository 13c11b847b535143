/* Threads as in cloud-vmm: a "vCPU" thread drives a virtio-blk device through
 * its registers (including resets while I/O is in flight) while a loop thread
 * serves the notifications and io_uring completions. Checks that every
 * request completes correctly between resets, and that nothing deadlocks or
 * crashes (run it under the sanitizer build too). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fake_vm.h"
#include "test_driver.h"
#include "virtio/pci.h"
#include "virtio/virtio.h"

#define RAM (4u << 20)
#define SECTORS 1024
#define ROUNDS 200
#define BATCH 5 /* requests in flight at once, 3 descriptors each: fits 16 */

static struct vm *vm;
static uint8_t *ram;
static atomic_bool stop;

static void *
loop_thread(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        fake_vm_loop_once(vm, 10);
    return NULL;
}

static uint16_t
used_idx(struct tdrv *d)
{
    return __atomic_load_n((uint16_t *)(void *)(ram + d->q[0].used + 2), __ATOMIC_ACQUIRE);
}

static bool
wait_used(struct tdrv *d, uint16_t want)
{
    for (int i = 0; i < 50000; i++) {
        if (used_idx(d) == want)
            return true;
        usleep(100);
    }
    return false;
}

int
main(void)
{
    char path[] = "/tmp/nube-stress-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, SECTORS * 512) < 0) {
        perror("image");
        return 1;
    }
    for (uint32_t s = 0; s < SECTORS; s++) {
        uint32_t tag[128];
        for (int i = 0; i < 128; i++)
            tag[i] = s;
        if (pwrite(fd, tag, 512, (off_t)s * 512) != 512)
            return 1;
    }
    struct err err = ERR_INIT;
    vm = fake_vm_new(RAM);
    ram = fake_vm_ram(vm);
    struct pci_bus *bus = pci_bus_new(vm, &err);
    CHECK(bus != NULL);
    CHECK_INT(virtio_blk_create(vm, bus, path, false, &err), 0);
    pthread_t loop;
    pthread_create(&loop, NULL, loop_thread, NULL);

    unsigned seed = 1;
    int completed = 0, bad = 0, resets_in_flight = 0;
    struct tdrv d;
    for (int round = 0; round < ROUNDS; round++) {
        if (!(tdrv_init(&d, vm, 1, ~0ULL, 1, 0x10000) & VIRTIO_STATUS_DRIVER_OK)) {
            bad++;
            continue;
        }
        uint32_t sectors[BATCH];
        for (int i = 0; i < BATCH; i++) {
            uint64_t hdr = 0x100000 + 0x1000u * (uint32_t)i,
                     data = 0x200000 + 0x1000u * (uint32_t)i;
            uint32_t type = 0;
            uint64_t sector = (uint64_t)(rand_r(&seed) % SECTORS);
            sectors[i] = (uint32_t)sector;
            memcpy(ram + hdr, &type, 4);
            memset(ram + hdr + 4, 0, 4);
            memcpy(ram + hdr + 8, &sector, 8);
            ram[hdr + 0x800] = 0xff;
            memset(ram + data, 0, 512);
            struct tdrv_seg segs[3] = {{hdr, 16, false}, {data, 512, true}, {hdr + 0x800, 1, true}};
            tdrv_submit(&d, 0, segs, 3);
        }
        if (round % 4 == 3) {
            /* reset with requests in flight: must neither hang nor crash */
            tdrv_init(&d, vm, 1, ~0ULL, 1, 0x10000);
            resets_in_flight++;
            continue;
        }
        if (!wait_used(&d, BATCH)) {
            fprintf(stderr, "round %d: used %u of %d, status %#x\n", round, used_idx(&d), BATCH,
                    tdrv_status(&d));
            bad++;
            continue;
        }
        for (int i = 0; i < BATCH; i++) {
            uint64_t hdr = 0x100000 + 0x1000u * (uint32_t)i,
                     data = 0x200000 + 0x1000u * (uint32_t)i;
            uint32_t first, last;
            memcpy(&first, ram + data, 4);
            memcpy(&last, ram + data + 508, 4);
            if (ram[hdr + 0x800] != 0 || first != sectors[i] || last != sectors[i])
                bad++;
            else
                completed++;
        }
    }
    atomic_store(&stop, true);
    pthread_join(loop, NULL);
    CHECK_INT(bad, 0);
    CHECK_INT(completed, (ROUNDS - ROUNDS / 4) * BATCH);
    CHECK_INT(resets_in_flight, ROUNDS / 4);
    fake_vm_free(vm);
    close(fd);
    unlink(path);
    return check_done();
}
