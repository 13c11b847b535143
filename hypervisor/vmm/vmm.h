/* cloud-vmm: the contract between the monitor's core (VM, memory, vCPUs, event
 * loop, I/O dispatch, interrupts) and its devices (hw/, virtio/).
 *
 * The core owns struct vm and implements everything declared here; a device
 * only ever touches the guest through these calls. Guest-visible state is
 * hostile: every guest address a device uses goes through vm_guest_ptr(),
 * which checks the whole range against guest RAM. */
#ifndef NUBE_VMM_H
#define NUBE_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct vm;
struct state_writer; /* versioned device-state serializer (state.h) */
struct state_reader;

/* ---- guest memory ---- */

/* Host pointer for [gpa, gpa + len) if that range lies entirely inside one RAM
 * region (overflow-checked), else NULL. len 0 is treated as 1. */
void *vm_guest_ptr(struct vm *vm, uint64_t gpa, uint64_t len);
uint64_t vm_ram_size(const struct vm *vm);

/* ---- port I/O and MMIO dispatch ---- */

enum vm_io_space { VM_IO_PIO, VM_IO_MMIO };

/* Called on a vCPU thread for an access to [base, base + len) of a registered
 * range. @offset is relative to base; @data holds @size bytes (1, 2, 4 or 8):
 * filled by the handler on a read, the guest's value on a write. */
typedef void (*vm_io_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
                         bool is_write);

int vm_io_register(struct vm *vm, enum vm_io_space space, uint64_t base, uint64_t len, vm_io_fn fn,
                   void *opaque, struct err *err);
/* Move or remove a range (PCI BAR reprogramming); returns -1 if none starts at @old_base. */
int vm_io_move(struct vm *vm, enum vm_io_space space, uint64_t old_base, uint64_t new_base);
int vm_io_unregister(struct vm *vm, enum vm_io_space space, uint64_t base);

/* ---- interrupts (in-kernel irqchip: PIC + IOAPIC + LAPIC, PIT) ---- */

int vm_irq_line(struct vm *vm, uint32_t gsi, bool level);
/* Edge-trigger: raise and lower. */
int vm_irq_pulse(struct vm *vm, uint32_t gsi);
int vm_msi_send(struct vm *vm, uint64_t addr, uint32_t data);
/* Allocate a free legacy GSI for a device (PCI INTx), 5..15 not used by ISA devices. */
int vm_irq_alloc(struct vm *vm);

/* ---- event loop (one I/O thread; callbacks run there, never on a vCPU) ---- */

typedef void (*vm_fd_fn)(void *opaque, uint32_t epoll_events);
int vm_loop_add_fd(struct vm *vm, int fd, uint32_t epoll_events, vm_fd_fn fn, void *opaque,
                   struct err *err);
int vm_loop_del_fd(struct vm *vm, int fd);
/* KVM_IOEVENTFD: a guest write of any value to @addr (PIO or MMIO, @size bytes)
 * signals @efd instead of exiting to userspace. */
int vm_ioeventfd_add(struct vm *vm, enum vm_io_space space, uint64_t addr, uint32_t size, int efd,
                     struct err *err);
int vm_ioeventfd_del(struct vm *vm, enum vm_io_space space, uint64_t addr, uint32_t size, int efd);

/* ---- lifecycle requests from devices ---- */

enum vm_exit_reason {
    VM_EXIT_NONE,
    VM_EXIT_POWEROFF, /* the guest powered off (ACPI S5) */
    VM_EXIT_REBOOT,   /* the guest asked for a reset (i8042, ACPI reset register) */
    VM_EXIT_CRASH,    /* an unrecoverable vCPU or monitor error */
    VM_EXIT_STOPPED,  /* stopped from the control socket */
};
void vm_request_exit(struct vm *vm, enum vm_exit_reason reason);

/* ---- devices ---- */

/* Every device exports one const ops table (kvmtool's style); the core keeps a
 * list of realised devices and calls through it for reset, snapshot and
 * teardown. It never switches on a device's type. */
struct vm_device_ops {
    const char *name; /* "serial", "virtio-blk", ... also the state section name */
    uint32_t state_version;
    void (*reset)(void *dev);
    int (*save)(void *dev, struct state_writer *w, struct err *err);
    int (*load)(void *dev, struct state_reader *r, uint32_t version, struct err *err);
    /* counters for the control socket's info, may be NULL */
    void (*stats)(void *dev, char *buf, size_t len);
    void (*free)(void *dev);
};
void vm_device_add(struct vm *vm, const struct vm_device_ops *ops, void *dev);

#endif
