/* See test_driver.h. */
#include "test_driver.h"

#include <string.h>

#include "hw/pci.h"
#include "virtio/pci.h"

static uint64_t
bar_read(struct tdrv *d, uint32_t off, uint32_t size)
{
    return fake_vm_read(d->vm, VM_IO_MMIO, d->bar + off, size);
}

static void
bar_write(struct tdrv *d, uint32_t off, uint32_t size, uint64_t v)
{
    fake_vm_write(d->vm, VM_IO_MMIO, d->bar + off, size, v);
}

uint8_t
tdrv_status(struct tdrv *d)
{
    return (uint8_t)bar_read(d, 0x14, 1);
}

uint64_t
tdrv_device_features(struct tdrv *d)
{
    bar_write(d, 0x00, 4, 0);
    uint64_t lo = bar_read(d, 0x04, 4);
    bar_write(d, 0x00, 4, 1);
    return lo | bar_read(d, 0x04, 4) << 32;
}

uint64_t
tdrv_cfg(struct tdrv *d, uint32_t off, uint32_t size)
{
    return bar_read(d, VIRTIO_BAR_DEVICE + off, size);
}

uint8_t
tdrv_init(struct tdrv *d, struct vm *vm, int slot, uint64_t want, int nqueues, uint64_t ring_base)
{
    memset(d, 0, sizeof(*d));
    d->vm = vm;
    d->ram = fake_vm_ram(vm);
    d->slot = slot;
    d->nqueues = nqueues;
    d->bar = fake_vm_cfg_read(vm, slot, 0x10, 4) & ~0xfu;
    fake_vm_cfg_write(vm, slot, 0x04, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    bar_write(d, 0x14, 1, 0); /* reset */
    bar_write(d, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    bar_write(d, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t f = tdrv_device_features(d) & (want | (1ULL << VIRTIO_F_VERSION_1));
    d->features = f;
    bar_write(d, 0x08, 4, 0);
    bar_write(d, 0x0c, 4, (uint32_t)f);
    bar_write(d, 0x08, 4, 1);
    bar_write(d, 0x0c, 4, (uint32_t)(f >> 32));
    uint8_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    bar_write(d, 0x14, 1, st);
    if (!(tdrv_status(d) & VIRTIO_STATUS_FEATURES_OK))
        return tdrv_status(d);
    uint64_t at = ring_base;
    for (int i = 0; i < nqueues; i++) {
        struct tdrv_queue *q = &d->q[i];
        bar_write(d, 0x16, 2, (uint64_t)i);
        bar_write(d, 0x18, 2, TDRV_QSIZE);
        q->desc = at;
        q->avail = at + 16 * TDRV_QSIZE;
        q->used = at + 0x200;
        at += 0x400;
        if (q->desc + 0x400 <= vm_ram_size(vm)) /* hostile tests put rings outside */
            memset(d->ram + q->desc, 0, 0x400);
        bar_write(d, 0x20, 4, (uint32_t)q->desc); /* two halves, as Linux does */
        bar_write(d, 0x24, 4, q->desc >> 32);
        bar_write(d, 0x28, 8, q->avail);
        bar_write(d, 0x30, 8, q->used);
        bar_write(d, 0x1c, 2, 1);
    }
    st |= VIRTIO_STATUS_DRIVER_OK;
    bar_write(d, 0x14, 1, st);
    return tdrv_status(d);
}

void
tdrv_set_desc(struct tdrv *d, int q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
              uint16_t next)
{
    uint8_t *p = d->ram + d->q[q].desc + 16u * i;
    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

void
tdrv_offer(struct tdrv *d, int q, uint16_t head)
{
    struct tdrv_queue *tq = &d->q[q];
    memcpy(d->ram + tq->avail + 4 + 2 * (tq->avail_idx % TDRV_QSIZE), &head, 2);
    tq->avail_idx++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    memcpy(d->ram + tq->avail + 2, &tq->avail_idx, 2);
}

void
tdrv_notify(struct tdrv *d, int q)
{
    bar_write(d, VIRTIO_BAR_NOTIFY + VIRTIO_NOTIFY_MULTIPLIER * (uint32_t)q, 2, (uint64_t)q);
}

uint16_t
tdrv_submit(struct tdrv *d, int q, const struct tdrv_seg *segs, int n)
{
    struct tdrv_queue *tq = &d->q[q];
    uint16_t head = tq->next_desc;
    for (int i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % TDRV_QSIZE);
        uint16_t flags = (uint16_t)((segs[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0));
        tdrv_set_desc(d, q, idx, segs[i].gpa, segs[i].len, flags,
                      (uint16_t)((idx + 1) % TDRV_QSIZE));
    }
    tq->next_desc = (uint16_t)((head + n) % TDRV_QSIZE);
    tdrv_offer(d, q, head);
    tdrv_notify(d, q);
    return head;
}

struct used_wait {
    struct tdrv *d;
    int q;
};

static bool
used_ready(void *opaque)
{
    struct used_wait *w = opaque;
    uint16_t idx;
    memcpy(&idx, w->d->ram + w->d->q[w->q].used + 2, 2);
    return idx != w->d->q[w->q].used_seen;
}

bool
tdrv_wait_used(struct tdrv *d, int q, uint32_t *id, uint32_t *len, int timeout_ms)
{
    struct used_wait w = {d, q};
    if (!fake_vm_loop_until(d->vm, used_ready, &w, timeout_ms))
        return false;
    struct tdrv_queue *tq = &d->q[q];
    const uint8_t *e = d->ram + tq->used + 4 + 8 * (tq->used_seen % TDRV_QSIZE);
    memcpy(id, e, 4);
    memcpy(len, e + 4, 4);
    tq->used_seen++;
    return true;
}
