/* virtio-rng (virtio 1.x, 5.4): one request queue; the driver offers writable
 * buffers, the device fills them from getrandom(). */
#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

#include "../state.h"
#include "log.h"
#include "mem.h"
#include "pci.h"
#include "virtio.h"

#define RNG_QUEUE_SIZE 256
#define RNG_MAX_SEGS 64
#define RNG_MAX_REQUEST (64 * 1024) /* bytes served per chain */
#define RNG_STATE_VERSION 1

struct virtio_rng {
    struct virtio_pci *vp;
    uint64_t bytes, requests;
};

static void
rng_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t size)
{
    (void)dev;
    (void)off;
    (void)data;
    (void)size; /* no device configuration */
}

/* Fill the writable part of @e; returns the number of bytes written. */
static uint32_t
rng_fill(const struct virtq_elem *e)
{
    uint32_t done = 0;
    for (unsigned i = e->out_num; i < (unsigned)e->out_num + e->in_num; i++) {
        uint8_t *p = e->iov[i].iov_base;
        size_t len = e->iov[i].iov_len;
        while (len && done < RNG_MAX_REQUEST) {
            size_t want = len < RNG_MAX_REQUEST - done ? len : RNG_MAX_REQUEST - done;
            /* Never complete a request empty: Linux's virtio-rng driver
             * queues no new request after a 0-byte completion, and its
             * readers then block for good. So the first bytes may wait for
             * the host's pool (only ever at the host's early boot). */
            ssize_t n = getrandom(p, want, done ? GRND_NONBLOCK : 0);
            if (n <= 0) {
                if (n < 0 && errno == EINTR)
                    continue;
                return done; /* pool not ready: hand back what we have */
            }
            p += n;
            len -= (size_t)n;
            done += (uint32_t)n;
        }
    }
    return done;
}

static void
rng_queue_notify(void *dev, uint16_t qi)
{
    struct virtio_rng *rng = dev;
    struct virtq *q = virtio_pci_queue(rng->vp, qi);
    struct iovec iov[RNG_MAX_SEGS];
    struct virtq_elem e;
    unsigned budget = q->size;
    bool used = false;
    int r = 0;
    while (budget-- && (r = virtq_pop(q, &e, iov, RNG_MAX_SEGS)) == 1) {
        uint32_t n = rng_fill(&e);
        virtq_push(q, e.head, n);
        rng->bytes += n;
        rng->requests++;
        used = true;
    }
    if (used)
        virtio_pci_queue_interrupt(rng->vp, qi);
    if (r == 1 && virtq_has_avail(q))
        virtio_pci_queue_kick(rng->vp, qi);
}

static const struct virtio_dev_ops rng_virtio_ops = {
    .device_id = 4,
    .class_code = 0x00ff00,
    .num_queues = 1,
    .queue_size = RNG_QUEUE_SIZE,
    .config_len = 0,
    .config_read = rng_config_read,
    .queue_notify = rng_queue_notify,
};

static void
rng_reset(void *dev)
{
    struct virtio_rng *rng = dev;
    virtio_pci_reset(rng->vp);
}

static int
rng_save(void *dev, struct state_writer *w, struct err *err)
{
    struct virtio_rng *rng = dev;
    return virtio_pci_save(rng->vp, w, err);
}

static int
rng_load(void *dev, struct state_reader *r, uint32_t version, struct err *err)
{
    struct virtio_rng *rng = dev;
    if (version != RNG_STATE_VERSION)
        return err_set(err, ERR_INVALID, "virtio-rng: unknown state version %u", version);
    return virtio_pci_load(rng->vp, r, err);
}

static void
rng_stats(void *dev, char *buf, size_t len)
{
    struct virtio_rng *rng = dev;
    char t[160];
    virtio_pci_stats(rng->vp, t, sizeof(t));
    virtio_pci_lock(rng->vp);
    snprintf(buf, len, "%s requests=%llu bytes=%llu", t, (unsigned long long)rng->requests,
             (unsigned long long)rng->bytes);
    virtio_pci_unlock(rng->vp);
}

static void
rng_free(void *dev)
{
    struct virtio_rng *rng = dev;
    if (!rng)
        return;
    virtio_pci_free(rng->vp);
    free(rng);
}

static const struct vm_device_ops rng_device_ops = {
    .name = "virtio-rng",
    .state_version = RNG_STATE_VERSION,
    .reset = rng_reset,
    .save = rng_save,
    .load = rng_load,
    .stats = rng_stats,
    .free = rng_free,
};

int
virtio_rng_create(struct vm *vm, struct pci_bus *bus, struct err *err)
{
    struct virtio_rng *rng = xzalloc(sizeof(*rng));
    rng->vp = virtio_pci_new(vm, bus, &rng_virtio_ops, rng, 0, err);
    if (!rng->vp) {
        free(rng);
        return err_prefix(err, "virtio-rng");
    }
    vm_device_add(vm, &rng_device_ops, rng);
    return 0;
}
