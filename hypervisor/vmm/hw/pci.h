/* PCI bus 0 behind configuration mechanism #1 (ports 0xCF8/0xCFC), with an
 * i440FX-like host bridge at 00:00.0. Devices embed a struct pci_dev, describe
 * their BARs and capabilities, and register with pci_bus_add(); the bus assigns
 * BAR addresses (MMIO in the 32-bit hole, I/O from 0xC000), a legacy INTx GSI,
 * and maps/unmaps/moves the BAR ranges through vm_io_register/vm_io_move as the
 * guest programs the command register and the BARs. */
#ifndef NUBE_VMM_HW_PCI_H
#define NUBE_VMM_HW_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm.h"

#define PCI_CFG_SIZE 256
#define PCI_NUM_BARS 6
#define PCI_MAX_SLOTS 32

/* Configuration space offsets and bits used by the monitor. */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS 0x06
#define PCI_STATUS_INTERRUPT 0x08
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_ID_VNDR 0x09

/* The 32-bit PCI hole the bus places MMIO BARs in, and the I/O port window. */
#define PCI_MMIO_HOLE_START 0xC0000000ULL
#define PCI_MMIO_HOLE_END 0xFEC00000ULL
#define PCI_IO_START 0xC000u
#define PCI_IO_END 0x10000u

enum pci_bar_type { PCI_BAR_NONE, PCI_BAR_MMIO32, PCI_BAR_MMIO64, PCI_BAR_IO };

struct pci_bar {
    enum pci_bar_type type;
    uint64_t size; /* power of two; >= 16 for MMIO, >= 4 for I/O */
    vm_io_fn fn;
    void *opaque;
    /* runtime: where the range is registered with the core, if it is */
    bool mapped;
    uint64_t mapped_addr;
};

struct pci_dev;

/* Optional device hooks, called with the bus lock held (so a hook may take its
 * own device lock: the order is always bus, then device). */
struct pci_dev_ops {
    /* Before a configuration read is served from cfg[] (refresh dynamic bytes). */
    void (*cfg_read)(struct pci_dev *pdev, uint32_t off, uint32_t size);
    /* After a guest write to [off, off + size) was applied to cfg[]. */
    void (*cfg_write)(struct pci_dev *pdev, uint32_t off, uint32_t size);
    /* A BAR was mapped at @addr (mapped true) or unmapped from @addr. */
    void (*bar_mapped)(struct pci_dev *pdev, int bar, uint64_t addr, bool mapped);
};

struct pci_dev {
    uint8_t cfg[PCI_CFG_SIZE];
    uint8_t wmask[PCI_CFG_SIZE];     /* guest-writable bits */
    uint8_t w1cmask[PCI_CFG_SIZE];   /* write-one-to-clear bits */
    uint8_t cfg_reset[PCI_CFG_SIZE]; /* power-on contents, kept by pci_bus_add */
    struct pci_bar bars[PCI_NUM_BARS];
    uint8_t cap_end;  /* where the next capability goes */
    uint8_t cap_last; /* offset of the last capability, 0 if none */
    const struct pci_dev_ops *ops;
    void *opaque;
    /* set by pci_bus_add */
    struct pci_bus *bus;
    uint8_t slot;
    uint32_t gsi;
    pthread_mutex_t irq_lock; /* INTx: taken from any thread, after the device's lock */
    bool irq_level;           /* what the device asserts */
    bool irq_line;            /* what the line is (level && !INTx disable) */
    unsigned bar_warnings;    /* BARs the guest put where they cannot go */
};

/* Fill the type-0 header. @class_code is the 24-bit class/subclass/prog-if. */
void pci_dev_init(struct pci_dev *pdev, uint16_t vendor, uint16_t device, uint32_t class_code,
                  uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id);
/* Describe BAR @bar; a 64-bit BAR also uses @bar + 1. The range is dispatched to
 * @fn with offsets relative to the BAR's base. */
int pci_dev_set_bar(struct pci_dev *pdev, int bar, enum pci_bar_type type, uint64_t size,
                    vm_io_fn fn, void *opaque, struct err *err);
/* Append a capability (@data[0] is its id, @data[1] is overwritten with the next
 * pointer); it is read-only until pci_dev_set_wmask() opens some of its bits.
 * Returns its offset, or 0 if configuration space is full. */
uint8_t pci_dev_add_cap(struct pci_dev *pdev, const void *data, uint8_t len);
void pci_dev_set_wmask(struct pci_dev *pdev, uint32_t off, uint32_t len, uint32_t mask);
/* Current guest-programmed BAR address (low bits masked off). */
uint64_t pci_dev_bar_addr(const struct pci_dev *pdev, int bar);
/* Drive the INTx line (the device's GSI), tracking the status bit and the
 * command register's INTx disable. */
void pci_dev_set_irq(struct pci_dev *pdev, bool level);

/* Power-on state again (the VM resets in place): configuration space as
 * pci_bus_add left it (so decoding is off and the BARs are unmapped), INTx
 * low. The device's cfg_write hook then sees the whole space rewritten. Takes
 * the bus lock: call it without the device lock. */
void pci_dev_reset(struct pci_dev *pdev);

/* Configuration space snapshot helpers for devices' save/load. */
int pci_dev_save(struct pci_dev *pdev, struct state_writer *w, struct err *err);
/* Restores cfg[] and re-maps the BARs as the restored command register says. */
int pci_dev_load(struct pci_dev *pdev, struct state_reader *r, struct err *err);

struct pci_bus;

/* Create bus 0 with the host bridge, claim ports 0xCF8..0xCFF and register the
 * bus as a device (its config latch and host bridge state are snapshotted; the
 * core frees it with the other devices). */
struct pci_bus *pci_bus_new(struct vm *vm, struct err *err);
/* Put @pdev in the next free slot, assign its BARs and an INTx GSI. The device
 * stays owned by its caller and must outlive the bus. */
int pci_bus_add(struct pci_bus *bus, struct pci_dev *pdev, struct err *err);
struct vm *pci_bus_vm(struct pci_bus *bus);

/* Configuration mechanism #1 as the guest sees it, exported for tests: an
 * access of @size bytes at port 0xCF8 + @offset. */
void pci_bus_cfg_io(void *bus, uint64_t offset, uint8_t *data, uint32_t size, bool is_write);

#endif
