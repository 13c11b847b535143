/* The modern virtio-pci transport (virtio 1.x, 4.1): one 32-bit MMIO BAR holds
 * the common, ISR, device and notification structures and the MSI-X table and
 * PBA; vendor capabilities point at them, plus the PCI configuration access
 * capability. Legacy INTx (through the ISR) when MSI-X is off.
 *
 * Threads: the guest reaches the registers on vCPU threads; queue
 * notifications arrive as eventfds (KVM ioeventfds, or written by the notify
 * handler when those are missing) on the loop thread, where devices do their
 * work. One mutex per device (virtio_pci_lock) covers the transport and the
 * device's state; the order is PCI bus lock, device lock, INTx lock. */
#ifndef NUBE_VMM_VIRTIO_PCI_H
#define NUBE_VMM_VIRTIO_PCI_H

#include <pthread.h>

#include "../hw/pci.h"
#include "virtqueue.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* + virtio device id */
#define VIRTIO_PCI_MAX_QUEUES 8
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* Feature bits of the transport (virtio 1.x, 6). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* Device status (virtio 1.x, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Layout of BAR 0. */
#define VIRTIO_BAR_SIZE 0x8000
#define VIRTIO_BAR_COMMON 0x0000
#define VIRTIO_COMMON_LEN 0x38
#define VIRTIO_BAR_ISR 0x1000
#define VIRTIO_BAR_DEVICE 0x2000
#define VIRTIO_BAR_NOTIFY 0x3000
#define VIRTIO_NOTIFY_MULTIPLIER 4
#define VIRTIO_BAR_MSIX_TABLE 0x4000
#define VIRTIO_BAR_MSIX_PBA 0x5000

/* What a device plugs into the transport. Every hook runs with the device lock
 * held. */
struct virtio_dev_ops {
    uint16_t device_id;  /* virtio device id: 1 net, 2 blk, 4 rng */
    uint32_t class_code; /* PCI class */
    uint16_t num_queues;
    uint16_t queue_size;
    uint32_t config_len; /* device-specific configuration bytes */
    /* [off, off + size) lies within config_len */
    void (*config_read)(void *dev, uint32_t off, uint8_t *data, uint32_t size);
    void (*config_write)(void *dev, uint32_t off, const uint8_t *data, uint32_t size);
    /* The driver notified queue @q (loop thread, queue enabled, DRIVER_OK). */
    void (*queue_notify)(void *dev, uint16_t q);
    /* The driver set DRIVER_OK. May be NULL. */
    void (*driver_ok)(void *dev);
    /* Device reset: finish or drop in-flight work; must not touch the rings
     * after returning. May be NULL. */
    void (*reset)(void *dev);
};

/* The transport's registers: a plain struct, saved as it is. */
struct virtio_pci_regs {
    uint64_t host_features;
    uint64_t guest_features;
    uint32_t dfselect, gfselect;
    uint16_t msix_config;
    uint16_t queue_sel;
    uint8_t status;
    uint8_t config_gen;
    uint8_t isr;
};

struct virtio_pci {
    struct pci_dev pci;
    struct vm *vm;
    pthread_mutex_t lock;
    const struct virtio_dev_ops *ops;
    void *dev;
    struct virtio_pci_regs regs;
    struct virtq vqs[VIRTIO_PCI_MAX_QUEUES];
    int kick_fd[VIRTIO_PCI_MAX_QUEUES];
    struct virtio_pci_kick {
        struct virtio_pci *vp;
        uint16_t q;
    } kick[VIRTIO_PCI_MAX_QUEUES];
    bool ioeventfd[VIRTIO_PCI_MAX_QUEUES]; /* registered with the core */
    uint64_t ioeventfd_base;
    /* MSI-X */
    uint16_t msix_nvec;
    uint8_t msix_cap; /* its offset in configuration space */
    uint8_t pcicfg_cap;
    uint8_t msix_table[VIRTIO_PCI_MAX_QUEUES + 1][16];
    uint64_t msix_pba;
    bool msix_enabled, msix_masked; /* cached from the capability */
    uint64_t interrupts, errors;    /* counters */
};

/* Create the transport for @dev and put it on @bus. @features are the
 * device's own bits; VERSION_1 and INDIRECT_DESC are added here. */
struct virtio_pci *virtio_pci_new(struct vm *vm, struct pci_bus *bus,
                                  const struct virtio_dev_ops *ops, void *dev, uint64_t features,
                                  struct err *err);
void virtio_pci_free(struct virtio_pci *vp);

void virtio_pci_lock(struct virtio_pci *vp);
void virtio_pci_unlock(struct virtio_pci *vp);

/* With the lock held: */
struct virtq *virtio_pci_queue(struct virtio_pci *vp, uint16_t q);
bool virtio_pci_has_feature(const struct virtio_pci *vp, unsigned bit);
bool virtio_pci_driver_ok(const struct virtio_pci *vp);
/* Interrupt the driver for used buffers on @q (unless it suppressed them). */
void virtio_pci_queue_interrupt(struct virtio_pci *vp, uint16_t q);
void virtio_pci_config_changed(struct virtio_pci *vp);
/* Come back to @q on a later loop iteration (a device that stopped after its
 * per-notification budget, so one busy queue cannot starve the loop). */
void virtio_pci_queue_kick(struct virtio_pci *vp, uint16_t q);
/* The driver broke the rules (or the device cannot go on): set
 * DEVICE_NEEDS_RESET, stop every queue, tell the driver. */
void virtio_pci_error(struct virtio_pci *vp, const char *what);

/* For the device's vm_device_ops (take the lock themselves).
 * virtio_pci_reset is the VM-level reset: the virtio device and its PCI
 * function go back to power-on state (a driver's status 0 resets only the
 * former). */
void virtio_pci_reset(struct virtio_pci *vp);
int virtio_pci_save(struct virtio_pci *vp, struct state_writer *w, struct err *err);
int virtio_pci_load(struct virtio_pci *vp, struct state_reader *r, struct err *err);
void virtio_pci_stats(struct virtio_pci *vp, char *buf, size_t len);

/* The BAR as the guest sees it, exported for tests. */
void virtio_pci_bar_io(void *vp, uint64_t offset, uint8_t *data, uint32_t size, bool is_write);

#endif
