/* PCI bus 0: configuration mechanism #1, an i440FX-like host bridge, BAR
 * assignment and (re)mapping. See pci.h. */
#include "pci.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../state.h"
#include "log.h"
#include "mem.h"

#define PCI_CONF1_ADDR_PORT 0xCF8
#define PCI_CONF1_ENABLE 0x80000000u

#define PCI_HOST_VENDOR 0x8086 /* Intel */
#define PCI_HOST_DEVICE 0x1237 /* 82441FX (i440FX) */

#define PCI_BUS_STATE_VERSION 1

struct pci_bus {
    struct vm *vm;
    pthread_mutex_t lock; /* the latch, every device's cfg[] and BAR mappings */
    uint32_t latch;       /* 0xCF8 */
    struct pci_dev host;
    struct pci_dev *slots[PCI_MAX_SLOTS];
    uint64_t next_mmio;
    uint32_t next_io;
};

static inline uint32_t
cfg_get(const uint8_t *p, uint32_t size)
{
    uint32_t v = 0;
    for (uint32_t i = 0; i < size; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static inline void
cfg_put(uint8_t *p, uint32_t size, uint32_t v)
{
    for (uint32_t i = 0; i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void
pci_dev_set_wmask(struct pci_dev *pdev, uint32_t off, uint32_t len, uint32_t mask)
{
    if (off >= PCI_CFG_SIZE || len > 4 || off + len > PCI_CFG_SIZE)
        return;
    cfg_put(&pdev->wmask[off], len, mask);
}

void
pci_dev_init(struct pci_dev *pdev, uint16_t vendor, uint16_t device, uint32_t class_code,
             uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id)
{
    memset(pdev, 0, sizeof(*pdev));
    cfg_put(&pdev->cfg[PCI_VENDOR_ID], 2, vendor);
    cfg_put(&pdev->cfg[PCI_DEVICE_ID], 2, device);
    pdev->cfg[PCI_REVISION_ID] = revision;
    cfg_put(&pdev->cfg[PCI_CLASS_PROG], 3, class_code);
    pdev->cfg[PCI_HEADER_TYPE] = 0x00;
    cfg_put(&pdev->cfg[PCI_SUBSYSTEM_VENDOR_ID], 2, subsys_vendor);
    cfg_put(&pdev->cfg[PCI_SUBSYSTEM_ID], 2, subsys_id);
    /* I/O, memory, bus master, parity, SERR, INTx disable */
    pci_dev_set_wmask(pdev, PCI_COMMAND, 2,
                      PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0x40 | 0x100 |
                          PCI_COMMAND_INTX_DISABLE);
    cfg_put(&pdev->w1cmask[PCI_STATUS], 2, 0xF900); /* error bits */
    pdev->wmask[0x0c] = 0xff;                       /* cache line size */
    pdev->wmask[0x0d] = 0xff;                       /* latency timer */
    pdev->wmask[PCI_INTERRUPT_LINE] = 0xff;
    pdev->cap_end = 0x40;
}

int
pci_dev_set_bar(struct pci_dev *pdev, int bar, enum pci_bar_type type, uint64_t size, vm_io_fn fn,
                void *opaque, struct err *err)
{
    int slots = type == PCI_BAR_MMIO64 ? 2 : 1;
    if (bar < 0 || bar + slots > PCI_NUM_BARS || type == PCI_BAR_NONE)
        return err_set(err, ERR_INVALID, "BAR %d: bad index or type", bar);
    uint64_t min = type == PCI_BAR_IO ? 4 : 16;
    uint64_t max = type == PCI_BAR_IO ? 256 : type == PCI_BAR_MMIO32 ? (1ULL << 30) : (1ULL << 40);
    if (size < min || size > max || (size & (size - 1)))
        return err_set(err, ERR_INVALID, "BAR %d: bad size %#llx", bar, (unsigned long long)size);
    struct pci_bar *b = &pdev->bars[bar];
    b->type = type;
    b->size = size;
    b->fn = fn;
    b->opaque = opaque;
    uint32_t off = PCI_BASE_ADDRESS_0 + 4u * (uint32_t)bar;
    if (type == PCI_BAR_IO) {
        cfg_put(&pdev->cfg[off], 4, 0x1);
        pci_dev_set_wmask(pdev, off, 4, ~(uint32_t)(size - 1) & ~0x3u);
    } else {
        cfg_put(&pdev->cfg[off], 4, type == PCI_BAR_MMIO64 ? 0x4 : 0x0);
        pci_dev_set_wmask(pdev, off, 4, ~(uint32_t)(size - 1) & ~0xfu);
        if (type == PCI_BAR_MMIO64)
            pci_dev_set_wmask(pdev, off + 4, 4, (uint32_t)(~(size - 1) >> 32));
    }
    return 0;
}

uint8_t
pci_dev_add_cap(struct pci_dev *pdev, const void *data, uint8_t len)
{
    uint32_t off = (pdev->cap_end + 3u) & ~3u;
    if (len < 2 || off + len > PCI_CFG_SIZE)
        return 0;
    memcpy(&pdev->cfg[off], data, len);
    pdev->cfg[off + 1] = 0;
    if (pdev->cap_last)
        pdev->cfg[pdev->cap_last + 1] = (uint8_t)off;
    else
        pdev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
    pdev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    pdev->cap_last = (uint8_t)off;
    pdev->cap_end = (uint8_t)(off + len);
    return (uint8_t)off;
}

uint64_t
pci_dev_bar_addr(const struct pci_dev *pdev, int bar)
{
    const struct pci_bar *b = &pdev->bars[bar];
    uint32_t off = PCI_BASE_ADDRESS_0 + 4u * (uint32_t)bar;
    uint64_t lo = cfg_get(&pdev->cfg[off], 4);
    switch (b->type) {
    case PCI_BAR_IO:
        return lo & ~0x3ull & 0xffff;
    case PCI_BAR_MMIO32:
        return lo & ~0xfull;
    case PCI_BAR_MMIO64:
        return (lo & ~0xfull) | ((uint64_t)cfg_get(&pdev->cfg[off + 4], 4) << 32);
    default:
        return 0;
    }
}

static void
pci_dev_irq_update(struct pci_dev *pdev)
{
    bool disabled = pdev->cfg[PCI_COMMAND + 1] & (PCI_COMMAND_INTX_DISABLE >> 8);
    bool line = pdev->irq_level && !disabled;
    if (line != pdev->irq_line && pdev->bus) {
        pdev->irq_line = line;
        vm_irq_line(pci_bus_vm(pdev->bus), pdev->gsi, line);
    }
}

void
pci_dev_set_irq(struct pci_dev *pdev, bool level)
{
    pthread_mutex_lock(&pdev->irq_lock);
    pdev->irq_level = level;
    pci_dev_irq_update(pdev);
    pthread_mutex_unlock(&pdev->irq_lock);
}

/* Bring the core's view of the BARs in line with cfg[]: a BAR is mapped while
 * its decode bit is on and its address is sane. Called with the bus lock held. */
static void
pci_dev_update_bars(struct pci_dev *pdev)
{
    struct vm *vm = pci_bus_vm(pdev->bus);
    uint16_t cmd = (uint16_t)cfg_get(&pdev->cfg[PCI_COMMAND], 2);
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &pdev->bars[i];
        if (b->type == PCI_BAR_NONE)
            continue;
        bool io = b->type == PCI_BAR_IO;
        enum vm_io_space space = io ? VM_IO_PIO : VM_IO_MMIO;
        uint64_t addr = pci_dev_bar_addr(pdev, i);
        uint64_t limit = io ? 0x10000 : b->type == PCI_BAR_MMIO32 ? (1ULL << 32) : (1ULL << 52);
        bool want = (cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) && addr != 0 &&
                    addr <= limit - b->size;
        if (b->mapped && want && addr == b->mapped_addr)
            continue;
        if (b->mapped) {
            uint64_t old = b->mapped_addr;
            if (want && vm_io_move(vm, space, old, addr) == 0) {
                b->mapped_addr = addr;
            } else {
                vm_io_unregister(vm, space, old);
                b->mapped = false;
            }
            if (pdev->ops && pdev->ops->bar_mapped) {
                pdev->ops->bar_mapped(pdev, i, old, false);
                if (b->mapped)
                    pdev->ops->bar_mapped(pdev, i, addr, true);
            }
            if (b->mapped || !want)
                continue;
        }
        if (!want)
            continue;
        struct err err = ERR_INIT;
        if (vm_io_register(vm, space, addr, b->size, b->fn, b->opaque, &err) < 0) {
            /* the guest chose the address: do not let it flood the log */
            if (pdev->bar_warnings++ < 5)
                log_warn("pci %02x.0: BAR%d at %#llx not mapped: %s", pdev->slot, i,
                         (unsigned long long)addr, err.msg);
            continue;
        }
        b->mapped = true;
        b->mapped_addr = addr;
        if (pdev->ops && pdev->ops->bar_mapped)
            pdev->ops->bar_mapped(pdev, i, addr, true);
    }
}

static void
pci_dev_cfg_write(struct pci_dev *pdev, uint32_t off, uint32_t size, uint32_t val)
{
    for (uint32_t i = 0; i < size; i++) {
        uint8_t b = (uint8_t)(val >> (8 * i));
        uint32_t o = off + i;
        pdev->cfg[o] = (uint8_t)((pdev->cfg[o] & ~pdev->wmask[o]) | (b & pdev->wmask[o]));
        pdev->cfg[o] &= (uint8_t) ~(b & pdev->w1cmask[o]);
    }
    bool cmd = off < PCI_COMMAND + 2 && off + size > PCI_COMMAND;
    bool bars = off < PCI_BASE_ADDRESS_0 + 24 && off + size > PCI_BASE_ADDRESS_0;
    if (pdev->bus && (cmd || bars))
        pci_dev_update_bars(pdev);
    if (cmd) {
        pthread_mutex_lock(&pdev->irq_lock);
        pci_dev_irq_update(pdev);
        pthread_mutex_unlock(&pdev->irq_lock);
    }
    if (pdev->ops && pdev->ops->cfg_write)
        pdev->ops->cfg_write(pdev, off, size);
}

static uint32_t
pci_dev_cfg_read(struct pci_dev *pdev, uint32_t off, uint32_t size)
{
    if (pdev->ops && pdev->ops->cfg_read)
        pdev->ops->cfg_read(pdev, off, size);
    pthread_mutex_lock(&pdev->irq_lock);
    if (pdev->irq_level)
        pdev->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    else
        pdev->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
    pthread_mutex_unlock(&pdev->irq_lock);
    return cfg_get(&pdev->cfg[off], size);
}

void
pci_bus_cfg_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
    struct pci_bus *bus = opaque;
    pthread_mutex_lock(&bus->lock);
    if (offset < 4) {
        /* The address latch answers only to whole dwords (Linux's type-1 probe
         * writes a byte to 0xCFB, which must not disturb it). */
        if (offset == 0 && size == 4) {
            if (is_write)
                bus->latch = cfg_get(data, 4) & 0x80fffffcu;
            else
                cfg_put(data, 4, bus->latch);
        } else if (!is_write) {
            memset(data, 0xff, size);
        }
        goto out;
    }
    uint32_t reg = (bus->latch & 0xfc) + (uint32_t)(offset - 4);
    uint32_t busno = (bus->latch >> 16) & 0xff, slot = (bus->latch >> 11) & 0x1f,
             fn = (bus->latch >> 8) & 0x7;
    struct pci_dev *pdev = NULL;
    if ((bus->latch & PCI_CONF1_ENABLE) && busno == 0 && fn == 0)
        pdev = bus->slots[slot];
    if (!pdev || size > 4 || (reg & 3) + size > 4) {
        if (!is_write)
            memset(data, 0xff, size);
        goto out;
    }
    if (is_write)
        pci_dev_cfg_write(pdev, reg, size, cfg_get(data, size));
    else
        cfg_put(data, size, pci_dev_cfg_read(pdev, reg, size));
out:
    pthread_mutex_unlock(&bus->lock);
}

struct vm *
pci_bus_vm(struct pci_bus *bus)
{
    return bus->vm;
}

static int
pci_bus_place(struct pci_bus *bus, struct pci_dev *pdev, struct err *err)
{
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &pdev->bars[i];
        if (b->type == PCI_BAR_NONE)
            continue;
        uint32_t off = PCI_BASE_ADDRESS_0 + 4u * (uint32_t)i;
        if (b->type == PCI_BAR_IO) {
            uint32_t addr = (bus->next_io + (uint32_t)b->size - 1) & ~((uint32_t)b->size - 1);
            if (addr + b->size > PCI_IO_END)
                return err_set(err, ERR_OVER_LIMIT, "PCI I/O window full");
            cfg_put(&pdev->cfg[off], 4, addr | 0x1);
            bus->next_io = addr + (uint32_t)b->size;
        } else {
            uint64_t addr = (bus->next_mmio + b->size - 1) & ~(b->size - 1);
            if (addr + b->size > PCI_MMIO_HOLE_END)
                return err_set(err, ERR_OVER_LIMIT, "PCI MMIO hole full");
            cfg_put(&pdev->cfg[off], 4, (uint32_t)addr | (pdev->cfg[off] & 0xf));
            if (b->type == PCI_BAR_MMIO64)
                cfg_put(&pdev->cfg[off + 4], 4, (uint32_t)(addr >> 32));
            bus->next_mmio = addr + b->size;
        }
    }
    return 0;
}

int
pci_bus_add(struct pci_bus *bus, struct pci_dev *pdev, struct err *err)
{
    pthread_mutex_lock(&bus->lock);
    int ret = -1;
    int slot = 1;
    while (slot < PCI_MAX_SLOTS && bus->slots[slot])
        slot++;
    if (slot == PCI_MAX_SLOTS) {
        err_set(err, ERR_OVER_LIMIT, "PCI bus 0 is full");
        goto out;
    }
    uint64_t saved_mmio = bus->next_mmio;
    uint32_t saved_io = bus->next_io;
    if (pci_bus_place(bus, pdev, err) < 0) {
        bus->next_mmio = saved_mmio;
        bus->next_io = saved_io;
        goto out;
    }
    int gsi = vm_irq_alloc(bus->vm);
    if (gsi < 0) {
        err_set(err, ERR_OVER_LIMIT, "no free interrupt line for PCI slot %d", slot);
        goto out;
    }
    pthread_mutex_init(&pdev->irq_lock, NULL);
    pdev->bus = bus;
    pdev->slot = (uint8_t)slot;
    pdev->gsi = (uint32_t)gsi;
    pdev->cfg[PCI_INTERRUPT_LINE] = (uint8_t)gsi;
    pdev->cfg[PCI_INTERRUPT_PIN] = 1; /* INTA# */
    memcpy(pdev->cfg_reset, pdev->cfg, PCI_CFG_SIZE);
    bus->slots[slot] = pdev;
    ret = 0;
out:
    pthread_mutex_unlock(&bus->lock);
    return ret;
}

void
pci_dev_reset(struct pci_dev *pdev)
{
    pthread_mutex_lock(&pdev->bus->lock);
    memcpy(pdev->cfg, pdev->cfg_reset, PCI_CFG_SIZE);
    pci_dev_update_bars(pdev);
    pthread_mutex_lock(&pdev->irq_lock);
    pdev->irq_level = false;
    pci_dev_irq_update(pdev);
    pthread_mutex_unlock(&pdev->irq_lock);
    if (pdev->ops && pdev->ops->cfg_write)
        pdev->ops->cfg_write(pdev, 0, PCI_CFG_SIZE);
    pthread_mutex_unlock(&pdev->bus->lock);
}

int
pci_dev_save(struct pci_dev *pdev, struct state_writer *w, struct err *err)
{
    pthread_mutex_lock(&pdev->bus->lock);
    pthread_mutex_lock(&pdev->irq_lock);
    state_put_bytes(w, "pci.cfg", pdev->cfg, sizeof(pdev->cfg));
    state_put_bool(w, "pci.irq", pdev->irq_level);
    pthread_mutex_unlock(&pdev->irq_lock);
    pthread_mutex_unlock(&pdev->bus->lock);
    (void)err;
    return 0;
}

int
pci_dev_load(struct pci_dev *pdev, struct state_reader *r, struct err *err)
{
    uint8_t cfg[PCI_CFG_SIZE];
    bool level;
    if (state_get_bytes(r, "pci.cfg", cfg, sizeof(cfg), err) < 0 ||
        state_get_bool(r, "pci.irq", &level, err) < 0)
        return err_prefix(err, "PCI configuration space");
    pthread_mutex_lock(&pdev->bus->lock);
    /* identity, BAR type bits and the capability chain are the device's own;
     * take only what the guest can change */
    for (int i = 0; i < PCI_CFG_SIZE; i++)
        pdev->cfg[i] = (uint8_t)((pdev->cfg[i] & ~pdev->wmask[i]) | (cfg[i] & pdev->wmask[i]));
    pci_dev_update_bars(pdev);
    pthread_mutex_lock(&pdev->irq_lock);
    pdev->irq_level = level;
    pci_dev_irq_update(pdev);
    pthread_mutex_unlock(&pdev->irq_lock);
    pthread_mutex_unlock(&pdev->bus->lock);
    return 0;
}

/* ---- the bus as a device: snapshot of the latch and the host bridge ---- */

static void
pci_bus_reset(void *opaque)
{
    struct pci_bus *bus = opaque;
    pthread_mutex_lock(&bus->lock);
    bus->latch = 0;
    memcpy(bus->host.cfg, bus->host.cfg_reset, PCI_CFG_SIZE); /* PAM, SMRAM, ... */
    pthread_mutex_unlock(&bus->lock);
}

static int
pci_bus_save(void *opaque, struct state_writer *w, struct err *err)
{
    struct pci_bus *bus = opaque;
    pthread_mutex_lock(&bus->lock);
    state_put_u32(w, "latch", bus->latch);
    state_put_bytes(w, "host.cfg", bus->host.cfg, sizeof(bus->host.cfg));
    pthread_mutex_unlock(&bus->lock);
    (void)err;
    return 0;
}

static int
pci_bus_load(void *opaque, struct state_reader *r, uint32_t version, struct err *err)
{
    struct pci_bus *bus = opaque;
    uint32_t latch;
    uint8_t cfg[PCI_CFG_SIZE];
    if (version != PCI_BUS_STATE_VERSION)
        return err_set(err, ERR_INVALID, "pci: unknown state version %u", version);
    if (state_get_u32(r, "latch", &latch, err) < 0 ||
        state_get_bytes(r, "host.cfg", cfg, sizeof(cfg), err) < 0)
        return err_prefix(err, "pci");
    pthread_mutex_lock(&bus->lock);
    bus->latch = latch & 0x80fffffcu;
    for (int i = 0; i < PCI_CFG_SIZE; i++)
        bus->host.cfg[i] =
            (uint8_t)((bus->host.cfg[i] & ~bus->host.wmask[i]) | (cfg[i] & bus->host.wmask[i]));
    pthread_mutex_unlock(&bus->lock);
    return 0;
}

static void
pci_bus_stats(void *opaque, char *buf, size_t len)
{
    struct pci_bus *bus = opaque;
    int n = 0;
    pthread_mutex_lock(&bus->lock);
    for (int i = 0; i < PCI_MAX_SLOTS; i++)
        n += bus->slots[i] != NULL;
    pthread_mutex_unlock(&bus->lock);
    snprintf(buf, len, "devices=%d", n);
}

static void
pci_bus_free(void *opaque)
{
    struct pci_bus *bus = opaque;
    if (!bus)
        return;
    pthread_mutex_destroy(&bus->lock);
    free(bus);
}

static const struct vm_device_ops pci_bus_ops = {
    .name = "pci",
    .state_version = PCI_BUS_STATE_VERSION,
    .reset = pci_bus_reset,
    .save = pci_bus_save,
    .load = pci_bus_load,
    .stats = pci_bus_stats,
    .free = pci_bus_free,
};

struct pci_bus *
pci_bus_new(struct vm *vm, struct err *err)
{
    struct pci_bus *bus = xzalloc(sizeof(*bus));
    bus->vm = vm;
    pthread_mutex_init(&bus->lock, NULL);
    bus->next_mmio = PCI_MMIO_HOLE_START;
    bus->next_io = PCI_IO_START;

    struct pci_dev *host = &bus->host;
    pci_dev_init(host, PCI_HOST_VENDOR, PCI_HOST_DEVICE, 0x060000, 0x02, 0x1af4, 0x1100);
    /* chipset registers (PAM, SMRAM, ...): stored so firmware reads back what it
     * wrote; guest RAM below 1 MiB is always RAM here, so they do nothing */
    memset(&host->wmask[0x40], 0xff, PCI_CFG_SIZE - 0x40);
    pthread_mutex_init(&host->irq_lock, NULL);
    host->bus = bus;
    host->slot = 0;
    memcpy(host->cfg_reset, host->cfg, PCI_CFG_SIZE);
    bus->slots[0] = host;

    if (vm_io_register(vm, VM_IO_PIO, PCI_CONF1_ADDR_PORT, 8, pci_bus_cfg_io, bus, err) < 0) {
        err_prefix(err, "PCI configuration ports");
        pci_bus_free(bus);
        return NULL;
    }
    vm_device_add(vm, &pci_bus_ops, bus);
    return bus;
}
