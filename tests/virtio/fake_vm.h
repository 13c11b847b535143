/* A tiny stand-in for cloud-vmm's core, enough to drive PCI and virtio devices
 * from unit tests: guest RAM is a plain buffer, I/O ranges and ioeventfds are
 * tables, the loop is poll(2) over the registered fds. */
#ifndef NUBE_TESTS_VIRTIO_FAKE_VM_H
#define NUBE_TESTS_VIRTIO_FAKE_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

struct vm;

struct vm *fake_vm_new(uint64_t ram_size);
/* Frees every device added with vm_device_add, newest first, then the VM. */
void fake_vm_free(struct vm *vm);
uint8_t *fake_vm_ram(struct vm *vm);

/* A guest access: ioeventfds first (writes), then the registered ranges.
 * Returns false when nothing claims it (reads give all ones). */
bool fake_vm_io(struct vm *vm, enum vm_io_space space, uint64_t addr, uint8_t *data, uint32_t size,
                bool is_write);
uint64_t fake_vm_read(struct vm *vm, enum vm_io_space space, uint64_t addr, uint32_t size);
void fake_vm_write(struct vm *vm, enum vm_io_space space, uint64_t addr, uint32_t size,
                   uint64_t val);
/* PCI configuration through ports 0xCF8/0xCFC, bus 0 function 0. */
uint32_t fake_vm_cfg_read(struct vm *vm, int slot, uint32_t off, uint32_t size);
void fake_vm_cfg_write(struct vm *vm, int slot, uint32_t off, uint32_t size, uint32_t val);

/* Whether a range is registered at @base (and its length). */
bool fake_vm_range_at(struct vm *vm, enum vm_io_space space, uint64_t base, uint64_t *len);
int fake_vm_ioeventfd_count(struct vm *vm);

/* Run loop callbacks for ready fds, waiting up to @timeout_ms for the first.
 * Returns how many callbacks ran. */
int fake_vm_loop_once(struct vm *vm, int timeout_ms);
/* Run the loop until @done(@opaque) or @timeout_ms passed; returns done(). */
bool fake_vm_loop_until(struct vm *vm, bool (*done)(void *), void *opaque, int timeout_ms);

/* Interrupts seen: INTx level per GSI, MSI messages. */
bool fake_vm_irq_level(struct vm *vm, uint32_t gsi);
uint64_t fake_vm_msi_count(struct vm *vm);
void fake_vm_msi_last(struct vm *vm, uint64_t *addr, uint32_t *data);

/* Every device's reset, in the order they were added (the VM resets in place). */
void fake_vm_reset(struct vm *vm);

/* Every device's stats, "name: text; ..." (for failure messages). */
void fake_vm_stats(struct vm *vm, char *buf, size_t len);

/* Call every device's save into one buffer, then load it back (through the
 * real state.c serializer). */
int fake_vm_snapshot_roundtrip(struct vm *vm, struct err *err);

#endif
