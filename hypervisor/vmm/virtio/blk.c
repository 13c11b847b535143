/* virtio-blk (virtio 1.x, 5.2) over a raw image, with asynchronous I/O through
 * io_uring: the loop thread pops requests when the queue's ioeventfd fires,
 * submits readv/writev/fdatasync straight into guest memory, and completes
 * them when the ring's eventfd says so. No vCPU ever waits for the disk. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <liburing.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../state.h"
#include "log.h"
#include "mem.h"
#include "pci.h"
#include "virtio.h"

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define SECTOR_SIZE 512

#define BLK_QUEUE_SIZE 256
#define BLK_SEG_MAX 126                 /* data segments per request */
#define BLK_SIZE_MAX (1u << 20)         /* bytes per segment */
#define BLK_CHAIN_MAX (BLK_SEG_MAX + 4) /* plus header and status, maybe split */
#define BLK_CONFIG_LEN 24               /* capacity, size_max, seg_max, geometry, blk_size */
#define BLK_STATE_VERSION 1

struct blk_req {
    uint16_t head;
    uint8_t *status;
    uint32_t type;
    uint64_t expect; /* bytes the operation must transfer */
    unsigned niov;
    struct iovec iov[BLK_CHAIN_MAX];
};

struct virtio_blk {
    struct vm *vm;
    struct virtio_pci *vp;
    int fd;
    bool read_only;
    uint64_t capacity; /* sectors */
    char id[VIRTIO_BLK_ID_BYTES];
    struct io_uring ring;
    bool ring_ok;
    int ring_efd;
    bool ring_efd_added;
    unsigned inflight;    /* prepared and not yet reaped */
    unsigned unsubmitted; /* prepared and not yet taken by the kernel */
    uint64_t reads, writes, flushes, errors;
};

static void
blk_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t size)
{
    struct virtio_blk *blk = dev;
    uint8_t cfg[BLK_CONFIG_LEN] = {0};
    uint64_t cap = blk->capacity;
    uint32_t size_max = BLK_SIZE_MAX, seg_max = BLK_SEG_MAX, bs = SECTOR_SIZE;
    memcpy(cfg + 0, &cap, 8);
    memcpy(cfg + 8, &size_max, 4);
    memcpy(cfg + 12, &seg_max, 4);
    memcpy(cfg + 20, &bs, 4);
    memcpy(data, cfg + off, size);
}

/* Hand a finished request back to the driver. */
static void
blk_complete(struct virtio_blk *blk, struct blk_req *req, uint8_t status, uint32_t written)
{
    struct virtq *q = virtio_pci_queue(blk->vp, 0);
    *req->status = status;
    if (status != VIRTIO_BLK_S_OK)
        blk->errors++;
    virtq_push(q, req->head, written + 1);
    free(req);
}

static bool
blk_range_ok(const struct virtio_blk *blk, uint64_t sector, uint64_t len)
{
    if (len % SECTOR_SIZE)
        return false;
    return sector <= blk->capacity && len / SECTOR_SIZE <= blk->capacity - sector;
}

/* Parse a popped chain and either complete it at once or submit it. Returns
 * false on a malformed chain the device cannot even answer. */
static bool
blk_handle(struct virtio_blk *blk, struct virtq_elem *e, struct blk_req *req)
{
    struct {
        uint32_t type;
        uint32_t reserved;
        uint64_t sector;
    } hdr;
    if (e->out_len < sizeof(hdr) || e->in_len < 1)
        return false;
    iov_to_buf(e->iov, e->out_num, 0, &hdr, sizeof(hdr));
    unsigned total = (unsigned)e->out_num + e->in_num;
    struct iovec *last = &e->iov[total - 1]; /* in_len >= 1 and empty segments are dropped */
    req->head = e->head;
    req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    req->type = hdr.type;
    req->niov = 0;

    /* the data segments: readable after the header, or writable before the status */
    size_t skip = hdr.type == VIRTIO_BLK_T_OUT ? sizeof(hdr) : 0;
    unsigned first = hdr.type == VIRTIO_BLK_T_OUT ? 0 : e->out_num;
    unsigned end = hdr.type == VIRTIO_BLK_T_OUT ? e->out_num : total;
    uint64_t data_len = hdr.type == VIRTIO_BLK_T_OUT ? e->out_len - sizeof(hdr) : e->in_len - 1;
    uint64_t left = data_len;
    for (unsigned i = first; i < end && left; i++) {
        size_t len = e->iov[i].iov_len;
        uint8_t *base = e->iov[i].iov_base;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        base += skip;
        len -= skip;
        skip = 0;
        if (len > left)
            len = left;
        if (len > BLK_SIZE_MAX || req->niov >= BLK_SEG_MAX) {
            blk_complete(blk, req, VIRTIO_BLK_S_IOERR, 0);
            return true;
        }
        req->iov[req->niov].iov_base = base;
        req->iov[req->niov].iov_len = len;
        req->niov++;
        left -= len;
    }

    struct io_uring_sqe *sqe = NULL;
    switch (hdr.type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        if (hdr.type == VIRTIO_BLK_T_OUT && blk->read_only) {
            blk_complete(blk, req, VIRTIO_BLK_S_IOERR, 0);
            return true;
        }
        if (!blk_range_ok(blk, hdr.sector, data_len)) {
            blk_complete(blk, req, VIRTIO_BLK_S_IOERR, 0);
            return true;
        }
        if (data_len == 0) {
            blk_complete(blk, req, VIRTIO_BLK_S_OK, 0);
            return true;
        }
        req->expect = data_len;
        sqe = io_uring_get_sqe(&blk->ring);
        if (!sqe)
            break;
        if (hdr.type == VIRTIO_BLK_T_IN)
            io_uring_prep_readv(sqe, blk->fd, req->iov, req->niov, hdr.sector * SECTOR_SIZE);
        else
            io_uring_prep_writev(sqe, blk->fd, req->iov, req->niov, hdr.sector * SECTOR_SIZE);
        break;
    case VIRTIO_BLK_T_FLUSH:
        req->expect = 0;
        sqe = io_uring_get_sqe(&blk->ring);
        if (sqe)
            io_uring_prep_fsync(sqe, blk->fd, IORING_FSYNC_DATASYNC);
        break;
    case VIRTIO_BLK_T_GET_ID: {
        size_t n = 0;
        for (unsigned i = 0; i < req->niov && n < VIRTIO_BLK_ID_BYTES; i++) {
            size_t c = req->iov[i].iov_len;
            if (c > VIRTIO_BLK_ID_BYTES - n)
                c = VIRTIO_BLK_ID_BYTES - n;
            memcpy(req->iov[i].iov_base, blk->id + n, c);
            n += c;
        }
        blk_complete(blk, req, VIRTIO_BLK_S_OK, (uint32_t)n);
        return true;
    }
    default:
        blk_complete(blk, req, VIRTIO_BLK_S_UNSUPP, 0);
        return true;
    }
    if (!sqe) { /* cannot happen: the ring has a slot per queue entry */
        blk_complete(blk, req, VIRTIO_BLK_S_IOERR, 0);
        return true;
    }
    io_uring_sqe_set_data(sqe, req);
    blk->inflight++;
    blk->unsubmitted++; /* blk_submit() hands the batch to the kernel */
    return true;
}

/* One io_uring_enter for every request a notification brought. */
static void
blk_submit(struct virtio_blk *blk)
{
    while (blk->unsubmitted) {
        int r = io_uring_submit(&blk->ring);
        if (r == -EINTR)
            continue;
        if (r <= 0) {
            /* the entries stay in the submission ring for the next call */
            log_warn("virtio-blk: io_uring submit: %s", strerror(r < 0 ? -r : EAGAIN));
            return;
        }
        blk->unsubmitted -= (unsigned)r < blk->unsubmitted ? (unsigned)r : blk->unsubmitted;
    }
}

static void
blk_queue_notify(void *dev, uint16_t qi)
{
    struct virtio_blk *blk = dev;
    struct virtq *q = virtio_pci_queue(blk->vp, qi);
    uint16_t used = q->used_idx;
    unsigned budget = q->size;
    int r = 0;
    while (budget--) {
        struct blk_req *req = xmalloc(sizeof(*req));
        struct virtq_elem e;
        struct iovec iov[BLK_CHAIN_MAX];
        r = virtq_pop(q, &e, iov, BLK_CHAIN_MAX);
        if (r != 1) {
            free(req);
            break;
        }
        if (!blk_handle(blk, &e, req)) {
            free(req);
            blk_submit(blk);
            virtio_pci_error(blk->vp, "virtio-blk: request without header or status");
            return;
        }
    }
    blk_submit(blk);
    if (q->used_idx != used)
        virtio_pci_queue_interrupt(blk->vp, qi);
    if (r == 1 && virtq_has_avail(q))
        virtio_pci_queue_kick(blk->vp, qi);
}

/* Reap finished I/O; @deliver false drops the results (device reset). */
static void
blk_reap(struct virtio_blk *blk, bool deliver, bool wait)
{
    struct io_uring_cqe *cqe;
    if (wait)
        blk_submit(blk);
    /* never wait for entries the kernel has not taken (a failed submit) */
    while (blk->inflight > (wait ? blk->unsubmitted : 0)) {
        int r = wait ? io_uring_wait_cqe(&blk->ring, &cqe) : io_uring_peek_cqe(&blk->ring, &cqe);
        if (r == -EINTR)
            continue;
        if (r < 0)
            break;
        struct blk_req *req = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&blk->ring, cqe);
        blk->inflight--;
        if (!deliver) {
            free(req);
            continue;
        }
        bool ok = res >= 0 && (uint64_t)res == req->expect;
        if (!ok)
            log_warn("virtio-blk: request type %u: %s", req->type,
                     res < 0 ? strerror(-res) : "short transfer");
        if (req->type == VIRTIO_BLK_T_IN)
            blk->reads++;
        else if (req->type == VIRTIO_BLK_T_OUT)
            blk->writes++;
        else
            blk->flushes++;
        uint32_t written = ok && req->type == VIRTIO_BLK_T_IN ? (uint32_t)req->expect : 0;
        blk_complete(blk, req, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, written);
    }
}

static void
blk_ring_event(void *opaque, uint32_t events)
{
    struct virtio_blk *blk = opaque;
    eventfd_t cnt;
    (void)events;
    eventfd_read(blk->ring_efd, &cnt);
    virtio_pci_lock(blk->vp);
    struct virtq *q = virtio_pci_queue(blk->vp, 0);
    uint16_t used = q->used_idx;
    blk_reap(blk, true, false);
    if (q->used_idx != used)
        virtio_pci_queue_interrupt(blk->vp, 0);
    virtio_pci_unlock(blk->vp);
}

static void
blk_virtio_reset(void *dev)
{
    struct virtio_blk *blk = dev;
    /* The kernel may still be writing into the old buffers: wait for it, then
     * forget the requests (the rings are gone). */
    blk_reap(blk, false, true);
}

static const struct virtio_dev_ops blk_virtio_ops = {
    .device_id = 2,
    .class_code = 0x018000,
    .num_queues = 1,
    .queue_size = BLK_QUEUE_SIZE,
    .config_len = BLK_CONFIG_LEN,
    .config_read = blk_config_read,
    .queue_notify = blk_queue_notify,
    .reset = blk_virtio_reset,
};

static void
blk_reset(void *dev)
{
    struct virtio_blk *blk = dev;
    virtio_pci_reset(blk->vp);
}

static int
blk_save(void *dev, struct state_writer *w, struct err *err)
{
    struct virtio_blk *blk = dev;
    /* finish in-flight requests so the used ring holds them */
    virtio_pci_lock(blk->vp);
    uint16_t used = virtio_pci_queue(blk->vp, 0)->used_idx;
    blk_reap(blk, true, true);
    if (virtio_pci_queue(blk->vp, 0)->used_idx != used)
        virtio_pci_queue_interrupt(blk->vp, 0);
    virtio_pci_unlock(blk->vp);
    if (virtio_pci_save(blk->vp, w, err) < 0)
        return -1;
    state_put_u64(w, "blk.capacity", blk->capacity);
    state_put_bool(w, "blk.read_only", blk->read_only);
    return 0;
}

static int
blk_load(void *dev, struct state_reader *r, uint32_t version, struct err *err)
{
    struct virtio_blk *blk = dev;
    uint64_t cap;
    bool ro;
    if (version != BLK_STATE_VERSION)
        return err_set(err, ERR_INVALID, "virtio-blk: unknown state version %u", version);
    if (virtio_pci_load(blk->vp, r, err) < 0)
        return -1;
    if (state_get_u64(r, "blk.capacity", &cap, err) < 0 ||
        state_get_bool(r, "blk.read_only", &ro, err) < 0)
        return err_prefix(err, "virtio-blk");
    if (cap != blk->capacity || ro != blk->read_only)
        return err_set(err, ERR_INVALID, "virtio-blk: image differs from the saved one");
    return 0;
}

static void
blk_stats(void *dev, char *buf, size_t len)
{
    struct virtio_blk *blk = dev;
    char t[160];
    virtio_pci_stats(blk->vp, t, sizeof(t));
    virtio_pci_lock(blk->vp);
    snprintf(buf, len, "%s reads=%llu writes=%llu flushes=%llu errors=%llu inflight=%u", t,
             (unsigned long long)blk->reads, (unsigned long long)blk->writes,
             (unsigned long long)blk->flushes, (unsigned long long)blk->errors, blk->inflight);
    virtio_pci_unlock(blk->vp);
}

static void
blk_free(void *dev)
{
    struct virtio_blk *blk = dev;
    if (!blk)
        return;
    if (blk->vp) {
        virtio_pci_lock(blk->vp);
        blk_reap(blk, false, true);
        virtio_pci_unlock(blk->vp);
    }
    virtio_pci_free(blk->vp);
    if (blk->ring_efd_added)
        vm_loop_del_fd(blk->vm, blk->ring_efd);
    if (blk->ring_ok)
        io_uring_queue_exit(&blk->ring);
    if (blk->ring_efd >= 0)
        close(blk->ring_efd);
    if (blk->fd >= 0)
        close(blk->fd);
    free(blk);
}

static const struct vm_device_ops blk_device_ops = {
    .name = "virtio-blk",
    .state_version = BLK_STATE_VERSION,
    .reset = blk_reset,
    .save = blk_save,
    .load = blk_load,
    .stats = blk_stats,
    .free = blk_free,
};

int
virtio_blk_create(struct vm *vm, struct pci_bus *bus, const char *path, bool read_only,
                  struct err *err)
{
    struct virtio_blk *blk = xzalloc(sizeof(*blk));
    blk->vm = vm;
    blk->fd = blk->ring_efd = -1;
    blk->read_only = read_only;
    blk->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (blk->fd < 0) {
        err_set_errno(err, ERR_IO, errno, "opening %s", path);
        goto fail;
    }
    /* two monitors writing one image corrupt it: take the image like QEMU does */
    if (flock(blk->fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
        err_set_errno(err, ERR_CONFLICT, errno, "locking %s", path);
        goto fail;
    }
    off_t size = lseek(blk->fd, 0, SEEK_END);
    if (size < 0) {
        err_set_errno(err, ERR_IO, errno, "sizing %s", path);
        goto fail;
    }
    blk->capacity = (uint64_t)size / SECTOR_SIZE;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t idlen = strlen(base);
    /* the serial is 20 bytes, NUL-padded, not terminated when full */
    memcpy(blk->id, base, idlen < sizeof(blk->id) ? idlen : sizeof(blk->id));

    int r = io_uring_queue_init(BLK_QUEUE_SIZE, &blk->ring, 0);
    if (r < 0) {
        err_set_errno(err, ERR_IO, -r, "io_uring");
        goto fail;
    }
    blk->ring_ok = true;
    blk->ring_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (blk->ring_efd < 0) {
        err_set_errno(err, ERR_IO, errno, "eventfd");
        goto fail;
    }
    r = io_uring_register_eventfd(&blk->ring, blk->ring_efd);
    if (r < 0) {
        err_set_errno(err, ERR_IO, -r, "io_uring eventfd");
        goto fail;
    }
    /* completions only come after the device exists, so listen first: then a
     * failure below leaves nothing on the bus */
    if (vm_loop_add_fd(vm, blk->ring_efd, EPOLLIN, blk_ring_event, blk, err) < 0)
        goto fail;
    blk->ring_efd_added = true;
    uint64_t features = (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
                        (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH);
    if (read_only)
        features |= 1ULL << VIRTIO_BLK_F_RO;
    blk->vp = virtio_pci_new(vm, bus, &blk_virtio_ops, blk, features, err);
    if (!blk->vp)
        goto fail;
    vm_device_add(vm, &blk_device_ops, blk);
    log_info("virtio-blk %02x.0: %s, %llu sectors%s", blk->vp->pci.slot, path,
             (unsigned long long)blk->capacity, read_only ? ", read-only" : "");
    return 0;
fail:
    blk_free(blk);
    return err_prefix(err, "virtio-blk %s", path);
}
