/* Split virtqueues (virtio 1.x, 2.7): the device side. Everything in the rings
 * is written by the guest and is hostile: every descriptor chain walk is
 * bounded, every address and length goes through vm_guest_ptr(), and a
 * violation marks the queue broken (the transport then sets
 * DEVICE_NEEDS_RESET) instead of ever touching memory outside the guest. */
#ifndef NUBE_VMM_VIRTIO_VIRTQUEUE_H
#define NUBE_VMM_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../vmm.h"

#define VIRTQ_MAX_SIZE 1024

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* What the driver programs (common configuration) plus the device's progress:
 * a plain struct, saved and loaded as it is. */
struct virtq {
    uint16_t size;     /* negotiated queue size, a power of two <= max_size */
    uint16_t max_size; /* what the device offers */
    uint16_t msix_vector;
    bool enabled;      /* queue_enable written 1 and the rings validated */
    bool broken;       /* the driver violated the spec: no more processing */
    const char *error; /* what the driver did, once broken (a static string) */
    bool indirect;     /* VIRTIO_F_RING_INDIRECT_DESC negotiated */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t last_avail; /* next avail ring entry the device consumes */
    uint16_t used_idx;   /* the device's copy of used->idx */
    /* runtime: host views of the rings, set by virtq_enable() */
    struct vm *vm;
    struct virtq_desc *desc;
    uint8_t *avail; /* flags, idx, ring[size], used_event */
    uint8_t *used;  /* flags, idx, ring[size] {id, len}, avail_event */
};

/* One popped descriptor chain: readable segments first, then writable ones. */
struct virtq_elem {
    uint16_t head;
    uint16_t out_num; /* readable (driver -> device) segments */
    uint16_t in_num;  /* writable (device -> driver) segments */
    uint64_t out_len, in_len;
    struct iovec *iov; /* out_num + in_num entries, supplied by the caller */
};

/* Queue @size entries (the driver's choice) and @max_size (the device's) at reset. */
void virtq_init(struct virtq *q, struct vm *vm, uint16_t max_size);
void virtq_reset(struct virtq *q);
/* Validate the driver's ring addresses and size and map them. Returns -1 (and
 * leaves the queue disabled) when they are out of guest memory or misaligned. */
int virtq_enable(struct virtq *q);

/* Pop the next available chain into @e, using at most @iov_max entries of
 * @iov. Returns 1 when a chain was popped, 0 when the ring is empty, -1 on a
 * violation (the queue is then broken: out-of-range or misaligned indices,
 * addresses outside guest memory, loops, a chain longer than the queue,
 * nested or malformed indirect tables, writable before readable, or more
 * segments than @iov_max). */
int virtq_pop(struct virtq *q, struct virtq_elem *e, struct iovec *iov, unsigned iov_max);
/* Give back the last @n popped chains without using them (no buffers yet). */
void virtq_unpop(struct virtq *q, uint16_t n);
/* True if the driver has made chains available that were not popped yet. */
bool virtq_has_avail(struct virtq *q);
/* Put @head in the used ring with @len bytes written; publishes used->idx. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* True unless the driver asked for no interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT). */
bool virtq_should_notify(struct virtq *q);

/* Copy helpers across an element's segments. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len);

#endif
