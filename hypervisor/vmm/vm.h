/* cloud-vmm's core, private to the monitor: struct vm and what main.c, the
 * control socket and the vCPU threads share. Devices use vmm.h only. */
#ifndef NUBE_VMM_VM_H
#define NUBE_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "boot/boot.h"
#include "vmm.h"

/* Process exit codes of cloud-vmm. */
enum vmm_exit_code {
    VMM_EXIT_POWEROFF = 0, /* the guest powered off */
    VMM_EXIT_ERROR = 1,    /* the guest crashed or the monitor failed */
    VMM_EXIT_USAGE = 2,    /* bad command line */
    VMM_EXIT_REBOOT = 3,   /* the guest asked for a reset: the caller restarts it */
    VMM_EXIT_STOPPED = 4,  /* stopped from the control socket or by SIGTERM/SIGINT */
};

/* Why vCPUs left KVM_RUN, counted for the control socket's info. */
enum vm_stat {
    VM_STAT_IO,
    VM_STAT_MMIO,
    VM_STAT_INTR,
    VM_STAT_HLT,
    VM_STAT_SHUTDOWN,
    VM_STAT_SYSTEM_EVENT,
    VM_STAT_INTERNAL_ERROR,
    VM_STAT_FAIL_ENTRY,
    VM_STAT_OTHER,
    VM_STAT__LAST
};
extern const char *const vm_stat_names[VM_STAT__LAST];

struct vm_config {
    uint64_t ram_size;
    int ncpus;
};

struct vcpu;
struct vm_io_bus;
struct vm_loop;

#define VM_MILESTONES_MAX 64
struct vm_milestone {
    uint64_t ns; /* CLOCK_MONOTONIC */
    uint32_t value;
};

struct vm_device {
    const struct vm_device_ops *ops;
    void *dev;
};

struct vm {
    int kvm_fd;
    int vm_fd;
    int run_size;
    uint8_t *ram;
    uint64_t ram_size;
    struct guest_mem mem;

    struct vm_io_bus *io[2]; /* VM_IO_PIO, VM_IO_MMIO */
    struct vm_loop *loop;

    int ncpus;
    struct vcpu **vcpus;
    void *cpuid; /* struct kvm_cpuid2 from KVM_GET_SUPPORTED_CPUID */

    struct vm_device *devices;
    int ndevices;
    uint32_t irq_used; /* GSIs 0..31 handed out or owned by ISA devices */
    pthread_mutex_t irq_lock;

    /* lifecycle: the first exit request wins */
    _Atomic int exit_reason; /* enum vm_exit_reason */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool paused;
    int npaused;
    int nrunning;
    uint64_t start_ns; /* when the vCPUs were started */
    uint64_t process_start_ns;

    _Atomic uint64_t stats[VM_STAT__LAST];
    void *irqchip_reset; /* the in-kernel PICs, IOAPIC and PIT as created */
    int reboots;         /* in-place reboots so far */

    pthread_mutex_t milestone_lock;
    struct vm_milestone milestones[VM_MILESTONES_MAX];
    int nmilestones;
    bool milestone_log;

    void (*power_button)(void *opaque);
    void *power_button_opaque;
    int (*ctrl_alt_del)(void *opaque);
    void *ctrl_alt_del_opaque;
};

uint64_t vm_now_ns(void);

struct vm *vm_create(const struct vm_config *cfg, struct err *err);
void vm_free(struct vm *vm);
/* Set up every vCPU (CPUID, MSRs, FPU, LAPIC) and the BSP's entry registers. */
int vm_vcpus_setup(struct vm *vm, const struct boot_entry *entry, struct err *err);
/* Start the vCPU threads, run the event loop until an exit request, stop the
 * vCPUs; returns the reason. */
enum vm_exit_reason vm_run(struct vm *vm);
/* After vm_run returned VM_EXIT_REBOOT: zero guest RAM, put the irqchip, PIT
 * and every device back to power-on state and clear the exit request. The
 * caller then loads the guest and sets up the vCPUs again. */
int vm_reset(struct vm *vm, struct err *err);
int vm_pause(struct vm *vm, struct err *err);
int vm_resume(struct vm *vm, struct err *err);
bool vm_is_paused(struct vm *vm);
enum vm_exit_reason vm_exit_requested(struct vm *vm);
void vm_milestone_record(struct vm *vm, uint32_t value);
/* The control socket's "shutdown" and "ctrl_alt_del" reach these (hw/pm.c, hw/i8042.c). */
void vm_set_power_button(struct vm *vm, void (*fn)(void *), void *opaque);
void vm_set_ctrl_alt_del(struct vm *vm, int (*fn)(void *), void *opaque);
/* The legacy interrupt wiring of the PCI devices on bus 0, read from their
 * configuration space through ports 0xCF8/0xCFC as firmware would (interrupt
 * pin and line); returns how many, 0 without a PCI bus. */
int vm_pci_irqs(struct vm *vm, struct boot_pci_irq *out, int max);
/* Calls every device's stats into @buf as "name: text; ..." */
void vm_devices_stats(struct vm *vm, char *buf, size_t len);

/* iobus.c */
struct vm_io_bus *vm_io_bus_new(void);
void vm_io_bus_free(struct vm_io_bus *bus);
/* Dispatch one access; returns false when no range claims it (reads then
 * return all ones). */
bool vm_io_dispatch(struct vm *vm, enum vm_io_space space, uint64_t addr, uint8_t *data,
                    uint32_t size, bool is_write);

/* loop.c */
struct vm_loop *vm_loop_new(struct err *err);
void vm_loop_free(struct vm_loop *loop);
/* Run until vm_loop_wake() sees @stop return true. */
void vm_loop_run(struct vm_loop *loop, bool (*stop)(void *), void *opaque);
void vm_loop_wake(struct vm_loop *loop);

/* vcpu.c */
struct vcpu *vcpu_create(struct vm *vm, int id, struct err *err);
void vcpu_free(struct vcpu *vcpu);
int vcpu_setup(struct vcpu *vcpu, const struct boot_entry *entry, struct err *err);
int vcpu_start(struct vcpu *vcpu, struct err *err);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
void vcpu_kvmclock_ctrl(struct vcpu *vcpu);
void vcpu_signal_init(void);

/* control.c: the JSON-lines control socket */
struct control;
/* Listen on @path (before the VM exists, so the socket is ready early;
 * connections wait in the backlog), then serve it from @vm's event loop. */
struct control *control_listen(const char *path, struct err *err);
int control_attach(struct control *ctl, struct vm *vm, struct err *err);
void control_free(struct control *ctl);

#endif
