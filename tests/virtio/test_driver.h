/* A minimal virtio-pci driver for unit tests, speaking to a device through the
 * fake core exactly as a guest would: configuration cycles, BAR accesses, rings
 * in guest RAM, notifications through the (ioevent)fd path. */
#ifndef NUBE_TESTS_VIRTIO_TEST_DRIVER_H
#define NUBE_TESTS_VIRTIO_TEST_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "fake_vm.h"

#define TDRV_QSIZE 16

struct tdrv_seg {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

struct tdrv_queue {
    uint64_t desc, avail, used;
    uint16_t avail_idx;
    uint16_t used_seen;
    uint16_t next_desc;
};

struct tdrv {
    struct vm *vm;
    uint8_t *ram;
    int slot;
    uint64_t bar;
    uint64_t features;
    int nqueues;
    struct tdrv_queue q[4];
};

/* Enable the function, reset, negotiate @want (plus VERSION_1) and set up
 * @nqueues queues of TDRV_QSIZE with rings from @ring_base. Returns the
 * device status after DRIVER_OK (or after a refused FEATURES_OK). */
uint8_t tdrv_init(struct tdrv *d, struct vm *vm, int slot, uint64_t want, int nqueues,
                  uint64_t ring_base);
uint64_t tdrv_device_features(struct tdrv *d);
uint8_t tdrv_status(struct tdrv *d);
/* Put a chain on queue @q and notify. Returns its head. */
uint16_t tdrv_submit(struct tdrv *d, int q, const struct tdrv_seg *segs, int n);
/* Add a raw descriptor / avail entry without notifying (hostile tests). */
void tdrv_set_desc(struct tdrv *d, int q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                   uint16_t next);
void tdrv_offer(struct tdrv *d, int q, uint16_t head);
void tdrv_notify(struct tdrv *d, int q);
/* Run the loop until queue @q has a used entry not seen yet; returns false on
 * timeout. @id and @len get the entry. */
bool tdrv_wait_used(struct tdrv *d, int q, uint32_t *id, uint32_t *len, int timeout_ms);
uint64_t tdrv_cfg(struct tdrv *d, uint32_t off, uint32_t size); /* device configuration */

#endif
