/* Modern virtio-pci transport: see pci.h. */
#include "pci.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../state.h"
#include "log.h"
#include "mem.h"

/* Vendor capability types (virtio 1.x, 4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

/* Common configuration fields. */
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0c
#define CC_MSIX_CONFIG 0x10
#define CC_NUM_QUEUES 0x12
#define CC_STATUS 0x14
#define CC_CONFIG_GEN 0x15
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE 0x18
#define CC_Q_MSIX 0x1a
#define CC_Q_ENABLE 0x1c
#define CC_Q_NOTIFY_OFF 0x1e
#define CC_Q_DESC 0x20
#define CC_Q_AVAIL 0x28
#define CC_Q_USED 0x30

#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_MASK 0x4000
#define MSIX_ENTRY_MASKED 0x1

#define ISR_QUEUE 0x1
#define ISR_CONFIG 0x2

static inline uint64_t
get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void
put_le(uint8_t *p, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void
virtio_pci_lock(struct virtio_pci *vp)
{
    pthread_mutex_lock(&vp->lock);
}

void
virtio_pci_unlock(struct virtio_pci *vp)
{
    pthread_mutex_unlock(&vp->lock);
}

struct virtq *
virtio_pci_queue(struct virtio_pci *vp, uint16_t q)
{
    return q < vp->ops->num_queues ? &vp->vqs[q] : NULL;
}

bool
virtio_pci_has_feature(const struct virtio_pci *vp, unsigned bit)
{
    return bit < 64 && (vp->regs.guest_features >> bit) & 1;
}

bool
virtio_pci_driver_ok(const struct virtio_pci *vp)
{
    return (vp->regs.status & VIRTIO_STATUS_DRIVER_OK) &&
           !(vp->regs.status & VIRTIO_STATUS_NEEDS_RESET);
}

/* ---- interrupts ---- */

static void
vp_msix_deliver(struct virtio_pci *vp, uint16_t vec)
{
    const uint8_t *e = vp->msix_table[vec];
    uint64_t addr = get_le(e, 4) | get_le(e + 4, 4) << 32;
    uint32_t data = (uint32_t)get_le(e + 8, 4);
    vp->interrupts++;
    vm_msi_send(vp->vm, addr, data);
}

static void
vp_signal(struct virtio_pci *vp, uint16_t vec, uint8_t isr_bit)
{
    if (vp->msix_enabled) {
        if (vec >= vp->msix_nvec)
            return; /* no vector: the driver polls */
        if (vp->msix_masked || (get_le(vp->msix_table[vec] + 12, 4) & MSIX_ENTRY_MASKED)) {
            vp->msix_pba |= 1ULL << vec;
            return;
        }
        vp_msix_deliver(vp, vec);
        return;
    }
    vp->regs.isr |= isr_bit;
    vp->interrupts++;
    pci_dev_set_irq(&vp->pci, true);
}

/* Deliver pending vectors that are no longer masked. */
static void
vp_msix_flush(struct virtio_pci *vp)
{
    if (!vp->msix_enabled || vp->msix_masked)
        return;
    for (uint16_t v = 0; v < vp->msix_nvec; v++) {
        if (!(vp->msix_pba & (1ULL << v)))
            continue;
        if (get_le(vp->msix_table[v] + 12, 4) & MSIX_ENTRY_MASKED)
            continue;
        vp->msix_pba &= ~(1ULL << v);
        vp_msix_deliver(vp, v);
    }
}

void
virtio_pci_queue_interrupt(struct virtio_pci *vp, uint16_t q)
{
    struct virtq *vq = virtio_pci_queue(vp, q);
    if (!vq || !virtq_should_notify(vq))
        return;
    vp_signal(vp, vq->msix_vector, ISR_QUEUE);
}

void
virtio_pci_config_changed(struct virtio_pci *vp)
{
    vp->regs.config_gen++;
    vp_signal(vp, vp->regs.msix_config, ISR_CONFIG);
}

void
virtio_pci_queue_kick(struct virtio_pci *vp, uint16_t q)
{
    if (q < vp->ops->num_queues && eventfd_write(vp->kick_fd[q], 1) < 0)
        log_warn("virtio-pci %02x.0: queue %u: requeue: %m", vp->pci.slot, q);
}

void
virtio_pci_error(struct virtio_pci *vp, const char *what)
{
    if (vp->regs.status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    /* a guest can break and reset its device in a loop: do not let it flood
     * the log */
    if (vp->errors < 10)
        log_warn("virtio-pci %02x.0: %s: device needs reset", vp->pci.slot, what);
    else
        log_debug("virtio-pci %02x.0: %s: device needs reset", vp->pci.slot, what);
    vp->errors++;
    vp->regs.status |= VIRTIO_STATUS_NEEDS_RESET;
    for (uint16_t i = 0; i < vp->ops->num_queues; i++)
        vp->vqs[i].broken = true;
    if (vp->regs.status & VIRTIO_STATUS_DRIVER_OK)
        virtio_pci_config_changed(vp);
}

/* ---- reset and queue notification ---- */

static void
vp_reset_locked(struct virtio_pci *vp)
{
    if (vp->ops->reset)
        vp->ops->reset(vp->dev);
    for (uint16_t i = 0; i < vp->ops->num_queues; i++)
        virtq_reset(&vp->vqs[i]);
    uint64_t host = vp->regs.host_features;
    memset(&vp->regs, 0, sizeof(vp->regs));
    vp->regs.host_features = host;
    vp->regs.msix_config = VIRTIO_MSI_NO_VECTOR;
    vp->msix_pba = 0;
    pci_dev_set_irq(&vp->pci, false);
}

void
virtio_pci_reset(struct virtio_pci *vp)
{
    virtio_pci_lock(vp);
    vp_reset_locked(vp);
    /* a whole-VM reset also takes the function back to power-on: MSI-X table
     * masked, nothing pending */
    memset(vp->msix_table, 0, sizeof(vp->msix_table));
    for (uint16_t v = 0; v < vp->msix_nvec; v++)
        vp->msix_table[v][12] = MSIX_ENTRY_MASKED;
    vp->msix_pba = 0;
    virtio_pci_unlock(vp);
    pci_dev_reset(&vp->pci); /* command, BARs, MSI-X enable: the hook updates our cache */
}

static void
vp_kick(void *opaque, uint32_t events)
{
    struct virtio_pci_kick *k = opaque;
    struct virtio_pci *vp = k->vp;
    uint64_t cnt;
    (void)events;
    if (read(vp->kick_fd[k->q], &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
        log_warn("virtio-pci %02x.0: queue %u kick: %m", vp->pci.slot, k->q);
    virtio_pci_lock(vp);
    struct virtq *vq = &vp->vqs[k->q];
    if (virtio_pci_driver_ok(vp) && vq->enabled && !vq->broken) {
        vp->ops->queue_notify(vp->dev, k->q);
        if (vq->broken)
            virtio_pci_error(vp, vq->error ? vq->error : "queue violation");
    }
    virtio_pci_unlock(vp);
}

/* ---- common configuration ---- */

static void
vp_common_image(struct virtio_pci *vp, uint8_t *img)
{
    struct virtio_pci_regs *r = &vp->regs;
    memset(img, 0, VIRTIO_COMMON_LEN);
    put_le(img + CC_DFSELECT, 4, r->dfselect);
    put_le(img + CC_DF, 4,
           r->dfselect < 2 ? (uint32_t)(r->host_features >> (32 * r->dfselect)) : 0);
    put_le(img + CC_GFSELECT, 4, r->gfselect);
    put_le(img + CC_GF, 4,
           r->gfselect < 2 ? (uint32_t)(r->guest_features >> (32 * r->gfselect)) : 0);
    put_le(img + CC_MSIX_CONFIG, 2, r->msix_config);
    put_le(img + CC_NUM_QUEUES, 2, vp->ops->num_queues);
    img[CC_STATUS] = r->status;
    img[CC_CONFIG_GEN] = r->config_gen;
    put_le(img + CC_Q_SELECT, 2, r->queue_sel);
    struct virtq *q = virtio_pci_queue(vp, r->queue_sel);
    if (!q)
        return; /* queue_size 0: no such queue */
    put_le(img + CC_Q_SIZE, 2, q->size);
    put_le(img + CC_Q_MSIX, 2, q->msix_vector);
    put_le(img + CC_Q_ENABLE, 2, q->enabled);
    put_le(img + CC_Q_NOTIFY_OFF, 2, r->queue_sel);
    put_le(img + CC_Q_DESC, 8, q->desc_gpa);
    put_le(img + CC_Q_AVAIL, 8, q->avail_gpa);
    put_le(img + CC_Q_USED, 8, q->used_gpa);
}

static void
vp_status_write(struct virtio_pci *vp, uint8_t val)
{
    struct virtio_pci_regs *r = &vp->regs;
    if (val == 0) {
        vp_reset_locked(vp);
        return;
    }
    uint8_t old = r->status;
    if ((val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        /* accept only what we offered, and only the modern interface */
        if ((r->guest_features & ~r->host_features) ||
            !(r->guest_features & (1ULL << VIRTIO_F_VERSION_1)))
            val &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    }
    /* NEEDS_RESET is the device's to set; FEATURES_OK cannot come back */
    val = (uint8_t)((val & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET));
    r->status = val;
    if ((val & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) && vp->ops->driver_ok)
        vp->ops->driver_ok(vp->dev);
}

static void
vp_queue_enable(struct virtio_pci *vp, struct virtq *q)
{
    if (q->enabled)
        return;
    q->indirect = virtio_pci_has_feature(vp, VIRTIO_F_RING_INDIRECT_DESC);
    if (virtq_enable(q) < 0)
        virtio_pci_error(vp, "queue rings outside guest memory or misaligned");
}

static void
vp_common_write(struct virtio_pci *vp, uint32_t off, const uint8_t *data, uint32_t size)
{
    uint8_t img[VIRTIO_COMMON_LEN];
    vp_common_image(vp, img);
    memcpy(img + off, data, size);
    struct virtio_pci_regs *r = &vp->regs;
    struct virtq *q = virtio_pci_queue(vp, r->queue_sel);
    bool qw = q && !q->enabled; /* queue fields are frozen once enabled */
    uint32_t end = off + size;
#define TOUCHES(field, len) (off < (field) + (len) && end > (field))
    if (TOUCHES(CC_DFSELECT, 4))
        r->dfselect = (uint32_t)get_le(img + CC_DFSELECT, 4);
    if (TOUCHES(CC_GFSELECT, 4))
        r->gfselect = (uint32_t)get_le(img + CC_GFSELECT, 4);
    if (TOUCHES(CC_GF, 4) && r->gfselect < 2 && !(r->status & VIRTIO_STATUS_FEATURES_OK)) {
        unsigned sh = 32 * r->gfselect;
        r->guest_features =
            (r->guest_features & ~(0xffffffffULL << sh)) | (get_le(img + CC_GF, 4) << sh);
    }
    if (TOUCHES(CC_MSIX_CONFIG, 2)) {
        uint16_t v = (uint16_t)get_le(img + CC_MSIX_CONFIG, 2);
        r->msix_config = v < vp->msix_nvec ? v : VIRTIO_MSI_NO_VECTOR;
    }
    if (TOUCHES(CC_Q_SELECT, 2))
        r->queue_sel = (uint16_t)get_le(img + CC_Q_SELECT, 2);
    if (qw && TOUCHES(CC_Q_SIZE, 2))
        q->size = (uint16_t)get_le(img + CC_Q_SIZE, 2);
    if (q && TOUCHES(CC_Q_MSIX, 2)) {
        uint16_t v = (uint16_t)get_le(img + CC_Q_MSIX, 2);
        q->msix_vector = v < vp->msix_nvec ? v : VIRTIO_MSI_NO_VECTOR;
    }
    if (qw && TOUCHES(CC_Q_DESC, 8))
        q->desc_gpa = get_le(img + CC_Q_DESC, 8);
    if (qw && TOUCHES(CC_Q_AVAIL, 8))
        q->avail_gpa = get_le(img + CC_Q_AVAIL, 8);
    if (qw && TOUCHES(CC_Q_USED, 8))
        q->used_gpa = get_le(img + CC_Q_USED, 8);
    if (qw && TOUCHES(CC_Q_ENABLE, 2) && get_le(img + CC_Q_ENABLE, 2) == 1)
        vp_queue_enable(vp, q);
    /* status last: a single write never mixes it with queue fields anyway */
    if (TOUCHES(CC_STATUS, 1))
        vp_status_write(vp, img[CC_STATUS]);
#undef TOUCHES
}

/* ---- the BAR ---- */

static void
vp_bar_access_locked(struct virtio_pci *vp, uint64_t offset, uint8_t *data, uint32_t size,
                     bool is_write)
{
    const struct virtio_dev_ops *ops = vp->ops;
    if (!is_write)
        memset(data, 0, size);
    if (size == 0 || size > 8)
        return;
    if (offset < VIRTIO_BAR_COMMON + VIRTIO_COMMON_LEN) {
        uint32_t off = (uint32_t)offset;
        if (off + size > VIRTIO_COMMON_LEN)
            return;
        if (is_write) {
            vp_common_write(vp, off, data, size);
        } else {
            uint8_t img[VIRTIO_COMMON_LEN];
            vp_common_image(vp, img);
            memcpy(data, img + off, size);
        }
    } else if (offset >= VIRTIO_BAR_ISR && offset < VIRTIO_BAR_ISR + 4) {
        if (!is_write && offset == VIRTIO_BAR_ISR) {
            data[0] = vp->regs.isr; /* read to clear */
            vp->regs.isr = 0;
            pci_dev_set_irq(&vp->pci, false);
        }
    } else if (offset >= VIRTIO_BAR_DEVICE && offset < VIRTIO_BAR_DEVICE + ops->config_len) {
        uint32_t off = (uint32_t)(offset - VIRTIO_BAR_DEVICE);
        if (off + size > ops->config_len)
            return;
        if (!is_write)
            ops->config_read(vp->dev, off, data, size);
        else if (ops->config_write)
            ops->config_write(vp->dev, off, data, size);
    } else if (offset >= VIRTIO_BAR_NOTIFY &&
               offset < VIRTIO_BAR_NOTIFY + VIRTIO_NOTIFY_MULTIPLIER * (uint64_t)ops->num_queues) {
        /* Only reached when no ioeventfd caught the write: hand it to the loop
         * thread all the same. */
        uint64_t q = (offset - VIRTIO_BAR_NOTIFY) / VIRTIO_NOTIFY_MULTIPLIER;
        if (is_write && eventfd_write(vp->kick_fd[q], 1) < 0)
            log_warn("virtio-pci %02x.0: notify: %m", vp->pci.slot);
    } else if (offset >= VIRTIO_BAR_MSIX_TABLE &&
               offset < VIRTIO_BAR_MSIX_TABLE + 16u * vp->msix_nvec) {
        uint32_t off = (uint32_t)(offset - VIRTIO_BAR_MSIX_TABLE);
        if (off + size > 16u * vp->msix_nvec)
            return;
        uint8_t *t = &vp->msix_table[0][0];
        if (!is_write) {
            memcpy(data, t + off, size);
            return;
        }
        for (uint32_t i = 0; i < size; i++) {
            uint32_t o = off + i;
            if (o % 16 == 12)
                t[o] = data[i] & MSIX_ENTRY_MASKED; /* vector control: mask bit only */
            else if (o % 16 < 12)
                t[o] = data[i];
        }
        vp_msix_flush(vp);
    } else if (offset >= VIRTIO_BAR_MSIX_PBA && offset < VIRTIO_BAR_MSIX_PBA + 8) {
        uint32_t off = (uint32_t)(offset - VIRTIO_BAR_MSIX_PBA);
        if (!is_write && off + size <= 8) {
            uint8_t pba[8];
            put_le(pba, 8, vp->msix_pba);
            memcpy(data, pba + off, size);
        }
    }
}

void
virtio_pci_bar_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
    struct virtio_pci *vp = opaque;
    virtio_pci_lock(vp);
    vp_bar_access_locked(vp, offset, data, size, is_write);
    virtio_pci_unlock(vp);
}

/* ---- PCI configuration space hooks (bus lock held) ---- */

static void
vp_cfg_read(struct pci_dev *pdev, uint32_t off, uint32_t size)
{
    struct virtio_pci *vp = pdev->opaque;
    uint32_t data = vp->pcicfg_cap + 16;
    if (off + size <= data || off >= data + 4)
        return;
    /* VIRTIO_PCI_CAP_PCI_CFG: the window reads the BAR at the programmed spot */
    uint8_t *cap = &pdev->cfg[vp->pcicfg_cap];
    uint32_t bar_off = (uint32_t)get_le(cap + 8, 4), len = (uint32_t)get_le(cap + 12, 4);
    if (cap[4] != 0 || (len != 1 && len != 2 && len != 4) || bar_off >= VIRTIO_BAR_SIZE ||
        bar_off + len > VIRTIO_BAR_SIZE) {
        memset(cap + 16, 0, 4); /* nothing there */
        return;
    }
    virtio_pci_lock(vp);
    vp_bar_access_locked(vp, bar_off, cap + 16, len, false);
    virtio_pci_unlock(vp);
}

static void
vp_cfg_write(struct pci_dev *pdev, uint32_t off, uint32_t size)
{
    struct virtio_pci *vp = pdev->opaque;
    uint32_t msix_ctrl = vp->msix_cap + 2u;
    if (off < msix_ctrl + 2 && off + size > msix_ctrl) {
        uint16_t ctrl = (uint16_t)get_le(&pdev->cfg[msix_ctrl], 2);
        virtio_pci_lock(vp);
        vp->msix_enabled = ctrl & MSIX_CTRL_ENABLE;
        vp->msix_masked = ctrl & MSIX_CTRL_MASK;
        if (vp->msix_enabled)
            pci_dev_set_irq(&vp->pci, false);
        vp_msix_flush(vp);
        virtio_pci_unlock(vp);
    }
    uint32_t data = vp->pcicfg_cap + 16;
    if (off < data + 4 && off + size > data) {
        uint8_t *cap = &pdev->cfg[vp->pcicfg_cap];
        uint32_t bar_off = (uint32_t)get_le(cap + 8, 4), len = (uint32_t)get_le(cap + 12, 4);
        if (cap[4] != 0 || (len != 1 && len != 2 && len != 4) || bar_off >= VIRTIO_BAR_SIZE ||
            bar_off + len > VIRTIO_BAR_SIZE)
            return;
        virtio_pci_lock(vp);
        vp_bar_access_locked(vp, bar_off, cap + 16, len, true);
        virtio_pci_unlock(vp);
    }
}

static void
vp_bar_mapped(struct pci_dev *pdev, int bar, uint64_t addr, bool mapped)
{
    struct virtio_pci *vp = pdev->opaque;
    if (bar != 0)
        return;
    virtio_pci_lock(vp);
    for (uint16_t i = 0; i < vp->ops->num_queues; i++) {
        uint64_t a = addr + VIRTIO_BAR_NOTIFY + VIRTIO_NOTIFY_MULTIPLIER * i;
        if (!mapped && vp->ioeventfd[i]) {
            vm_ioeventfd_del(vp->vm, VM_IO_MMIO, a, 2, vp->kick_fd[i]);
            vp->ioeventfd[i] = false;
        } else if (mapped && !vp->ioeventfd[i]) {
            struct err err = ERR_INIT;
            if (vm_ioeventfd_add(vp->vm, VM_IO_MMIO, a, 2, vp->kick_fd[i], &err) == 0)
                vp->ioeventfd[i] = true;
            else
                log_debug("virtio-pci %02x.0: queue %u notify without ioeventfd: %s", pdev->slot, i,
                          err.msg);
        }
    }
    vp->ioeventfd_base = addr;
    virtio_pci_unlock(vp);
}

static const struct pci_dev_ops virtio_pci_dev_ops = {
    .cfg_read = vp_cfg_read,
    .cfg_write = vp_cfg_write,
    .bar_mapped = vp_bar_mapped,
};

/* ---- creation ---- */

static void
vp_add_vendor_cap(struct virtio_pci *vp, uint8_t type, uint32_t offset, uint32_t length,
                  uint8_t extra_len, uint32_t extra)
{
    uint8_t cap[20] = {0};
    cap[0] = PCI_CAP_ID_VNDR;
    cap[2] = (uint8_t)(16 + extra_len);
    cap[3] = type;
    cap[4] = 0; /* BAR 0 */
    put_le(cap + 8, 4, offset);
    put_le(cap + 12, 4, length);
    put_le(cap + 16, 4, extra);
    uint8_t at = pci_dev_add_cap(&vp->pci, cap, cap[2]);
    if (type == VIRTIO_PCI_CAP_PCI_CFG) {
        vp->pcicfg_cap = at;
        pci_dev_set_wmask(&vp->pci, at + 4u, 1, 0xff);        /* bar */
        pci_dev_set_wmask(&vp->pci, at + 8u, 4, 0xffffffff);  /* offset */
        pci_dev_set_wmask(&vp->pci, at + 12u, 4, 0xffffffff); /* length */
        pci_dev_set_wmask(&vp->pci, at + 16u, 4, 0xffffffff); /* data */
    }
}

struct virtio_pci *
virtio_pci_new(struct vm *vm, struct pci_bus *bus, const struct virtio_dev_ops *ops, void *dev,
               uint64_t features, struct err *err)
{
    if (ops->num_queues == 0 || ops->num_queues > VIRTIO_PCI_MAX_QUEUES || ops->queue_size == 0 ||
        ops->queue_size > VIRTQ_MAX_SIZE || (ops->queue_size & (ops->queue_size - 1)) ||
        ops->config_len > 0x1000) {
        err_set(err, ERR_INTERNAL, "virtio device %u: bad queue or config layout", ops->device_id);
        return NULL;
    }
    struct virtio_pci *vp = xzalloc(sizeof(*vp));
    vp->vm = vm;
    vp->ops = ops;
    vp->dev = dev;
    pthread_mutex_init(&vp->lock, NULL);
    vp->msix_nvec = (uint16_t)(ops->num_queues + 1);
    for (uint16_t i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++)
        vp->kick_fd[i] = -1;
    for (uint16_t i = 0; i < ops->num_queues; i++)
        virtq_init(&vp->vqs[i], vm, ops->queue_size);
    for (uint16_t v = 0; v < vp->msix_nvec; v++)
        vp->msix_table[v][12] = MSIX_ENTRY_MASKED;
    vp->regs.host_features =
        features | (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_INDIRECT_DESC);
    vp->regs.msix_config = VIRTIO_MSI_NO_VECTOR;

    struct pci_dev *p = &vp->pci;
    pci_dev_init(p, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_id),
                 ops->class_code, 0x01, VIRTIO_PCI_VENDOR, 0x40);
    p->ops = &virtio_pci_dev_ops;
    p->opaque = vp;
    if (pci_dev_set_bar(p, 0, PCI_BAR_MMIO32, VIRTIO_BAR_SIZE, virtio_pci_bar_io, vp, err) < 0)
        goto fail;
    uint8_t msix[12] = {PCI_CAP_ID_MSIX, 0, 0, 0};
    put_le(msix + 2, 2, vp->msix_nvec - 1u);
    put_le(msix + 4, 4, VIRTIO_BAR_MSIX_TABLE); /* BIR 0 */
    put_le(msix + 8, 4, VIRTIO_BAR_MSIX_PBA);
    vp->msix_cap = pci_dev_add_cap(p, msix, sizeof(msix));
    pci_dev_set_wmask(p, vp->msix_cap + 2u, 2, MSIX_CTRL_ENABLE | MSIX_CTRL_MASK);
    vp_add_vendor_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_BAR_COMMON, VIRTIO_COMMON_LEN, 0, 0);
    vp_add_vendor_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_BAR_NOTIFY,
                      VIRTIO_NOTIFY_MULTIPLIER * ops->num_queues, 4, VIRTIO_NOTIFY_MULTIPLIER);
    vp_add_vendor_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_BAR_ISR, 4, 0, 0);
    if (ops->config_len)
        vp_add_vendor_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_BAR_DEVICE, ops->config_len, 0, 0);
    vp_add_vendor_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 4, 0);

    for (uint16_t i = 0; i < ops->num_queues; i++) {
        vp->kick_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (vp->kick_fd[i] < 0) {
            err_set_errno(err, ERR_IO, errno, "eventfd");
            goto fail;
        }
        vp->kick[i].vp = vp;
        vp->kick[i].q = i;
        if (vm_loop_add_fd(vm, vp->kick_fd[i], EPOLLIN, vp_kick, &vp->kick[i], err) < 0)
            goto fail;
    }
    if (pci_bus_add(bus, p, err) < 0)
        goto fail;
    return vp;
fail:
    virtio_pci_free(vp);
    return NULL;
}

void
virtio_pci_free(struct virtio_pci *vp)
{
    if (!vp)
        return;
    for (uint16_t i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++) {
        if (vp->kick_fd[i] < 0)
            continue;
        vm_loop_del_fd(vp->vm, vp->kick_fd[i]);
        close(vp->kick_fd[i]);
    }
    pthread_mutex_destroy(&vp->lock);
    free(vp);
}

/* ---- snapshot ---- */

#define QFIELD(buf, i, name) (snprintf(buf, sizeof(buf), "q%u." name, (unsigned)(i)), buf)

int
virtio_pci_save(struct virtio_pci *vp, struct state_writer *w, struct err *err)
{
    if (pci_dev_save(&vp->pci, w, err) < 0)
        return -1;
    virtio_pci_lock(vp);
    struct virtio_pci_regs *r = &vp->regs;
    char f[32];
    state_put_u64(w, "vp.guest_features", r->guest_features);
    state_put_u32(w, "vp.dfselect", r->dfselect);
    state_put_u32(w, "vp.gfselect", r->gfselect);
    state_put_u16(w, "vp.msix_config", r->msix_config);
    state_put_u16(w, "vp.queue_sel", r->queue_sel);
    state_put_u8(w, "vp.status", r->status);
    state_put_u8(w, "vp.config_gen", r->config_gen);
    state_put_u8(w, "vp.isr", r->isr);
    state_put_bytes(w, "vp.msix_table", vp->msix_table, sizeof(vp->msix_table));
    state_put_u64(w, "vp.msix_pba", vp->msix_pba);
    state_put_u16(w, "vp.num_queues", vp->ops->num_queues);
    for (uint16_t i = 0; i < vp->ops->num_queues; i++) {
        struct virtq *q = &vp->vqs[i];
        state_put_u16(w, QFIELD(f, i, "size"), q->size);
        state_put_u16(w, QFIELD(f, i, "msix_vector"), q->msix_vector);
        state_put_bool(w, QFIELD(f, i, "enabled"), q->enabled);
        state_put_bool(w, QFIELD(f, i, "broken"), q->broken);
        state_put_u64(w, QFIELD(f, i, "desc"), q->desc_gpa);
        state_put_u64(w, QFIELD(f, i, "avail"), q->avail_gpa);
        state_put_u64(w, QFIELD(f, i, "used"), q->used_gpa);
        state_put_u16(w, QFIELD(f, i, "last_avail"), q->last_avail);
        state_put_u16(w, QFIELD(f, i, "used_idx"), q->used_idx);
    }
    virtio_pci_unlock(vp);
    return 0;
}

int
virtio_pci_load(struct virtio_pci *vp, struct state_reader *r, struct err *err)
{
    struct virtio_pci_regs g = vp->regs;
    uint16_t nq;
    uint8_t table[sizeof(vp->msix_table)];
    uint64_t pba;
    char f[32];
    if (pci_dev_load(&vp->pci, r, err) < 0)
        return -1;
    if (state_get_u64(r, "vp.guest_features", &g.guest_features, err) < 0 ||
        state_get_u32(r, "vp.dfselect", &g.dfselect, err) < 0 ||
        state_get_u32(r, "vp.gfselect", &g.gfselect, err) < 0 ||
        state_get_u16(r, "vp.msix_config", &g.msix_config, err) < 0 ||
        state_get_u16(r, "vp.queue_sel", &g.queue_sel, err) < 0 ||
        state_get_u8(r, "vp.status", &g.status, err) < 0 ||
        state_get_u8(r, "vp.config_gen", &g.config_gen, err) < 0 ||
        state_get_u8(r, "vp.isr", &g.isr, err) < 0 ||
        state_get_bytes(r, "vp.msix_table", table, sizeof(table), err) < 0 ||
        state_get_u64(r, "vp.msix_pba", &pba, err) < 0 ||
        state_get_u16(r, "vp.num_queues", &nq, err) < 0)
        return err_prefix(err, "virtio-pci");
    if (nq != vp->ops->num_queues)
        return err_set(err, ERR_INVALID, "virtio-pci: state has %u queues, device has %u", nq,
                       vp->ops->num_queues);
    if (g.guest_features & ~vp->regs.host_features)
        return err_set(err, ERR_INVALID, "virtio-pci: state has features the device lacks");
    struct virtq qs[VIRTIO_PCI_MAX_QUEUES];
    for (uint16_t i = 0; i < nq; i++) {
        struct virtq *q = &qs[i];
        *q = vp->vqs[i];
        if (state_get_u16(r, QFIELD(f, i, "size"), &q->size, err) < 0 ||
            state_get_u16(r, QFIELD(f, i, "msix_vector"), &q->msix_vector, err) < 0 ||
            state_get_bool(r, QFIELD(f, i, "enabled"), &q->enabled, err) < 0 ||
            state_get_bool(r, QFIELD(f, i, "broken"), &q->broken, err) < 0 ||
            state_get_u64(r, QFIELD(f, i, "desc"), &q->desc_gpa, err) < 0 ||
            state_get_u64(r, QFIELD(f, i, "avail"), &q->avail_gpa, err) < 0 ||
            state_get_u64(r, QFIELD(f, i, "used"), &q->used_gpa, err) < 0 ||
            state_get_u16(r, QFIELD(f, i, "last_avail"), &q->last_avail, err) < 0 ||
            state_get_u16(r, QFIELD(f, i, "used_idx"), &q->used_idx, err) < 0)
            return err_prefix(err, "virtio-pci queue %u", i);
    }
    virtio_pci_lock(vp);
    vp->regs = g;
    memcpy(vp->msix_table, table, sizeof(table));
    vp->msix_pba = pba;
    uint16_t ctrl = (uint16_t)get_le(&vp->pci.cfg[vp->msix_cap + 2u], 2);
    vp->msix_enabled = ctrl & MSIX_CTRL_ENABLE;
    vp->msix_masked = ctrl & MSIX_CTRL_MASK;
    int ret = 0;
    for (uint16_t i = 0; i < nq; i++) {
        struct virtq *q = &vp->vqs[i];
        bool en = qs[i].enabled;
        *q = qs[i];
        q->indirect = virtio_pci_has_feature(vp, VIRTIO_F_RING_INDIRECT_DESC);
        if (q->msix_vector >= vp->msix_nvec)
            q->msix_vector = VIRTIO_MSI_NO_VECTOR;
        if (en && virtq_enable(q) < 0)
            ret = err_set(err, ERR_INVALID, "virtio-pci: queue %u rings outside guest memory", i);
    }
    virtio_pci_unlock(vp);
    return ret;
}

void
virtio_pci_stats(struct virtio_pci *vp, char *buf, size_t len)
{
    virtio_pci_lock(vp);
    snprintf(buf, len, "status=%#x features=%#llx interrupts=%llu errors=%llu", vp->regs.status,
             (unsigned long long)vp->regs.guest_features, (unsigned long long)vp->interrupts,
             (unsigned long long)vp->errors);
    virtio_pci_unlock(vp);
}
