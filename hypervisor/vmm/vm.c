/* The VM: KVM file descriptors, guest RAM, the in-kernel irqchip and PIT,
 * interrupts, the device list, and the lifecycle (run, pause, exit). */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "vm.h"

const char *const vm_stat_names[VM_STAT__LAST] = {
    [VM_STAT_IO] = "io",
    [VM_STAT_MMIO] = "mmio",
    [VM_STAT_INTR] = "intr",
    [VM_STAT_HLT] = "hlt",
    [VM_STAT_SHUTDOWN] = "shutdown",
    [VM_STAT_SYSTEM_EVENT] = "system_event",
    [VM_STAT_INTERNAL_ERROR] = "internal_error",
    [VM_STAT_FAIL_ENTRY] = "fail_entry",
    [VM_STAT_OTHER] = "other",
};

uint64_t
vm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int
kvm_check_cap(struct vm *vm, int cap)
{
    int r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
}

static int
vm_memory_setup(struct vm *vm, struct err *err)
{
    vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (vm->ram == MAP_FAILED) {
        vm->ram = NULL;
        return err_set_errno(err, ERR_IO, errno, "mapping %llu MiB of guest RAM",
                             (unsigned long long)(vm->ram_size >> 20));
    }
    madvise(vm->ram, vm->ram_size, MADV_HUGEPAGE); /* best effort: fewer EPT misses */
    guest_mem_layout(&vm->mem, vm->ram, vm->ram_size);
    for (int i = 0; i < vm->mem.nregions; i++) {
        struct kvm_userspace_memory_region r = {
            .slot = (uint32_t)i,
            .guest_phys_addr = vm->mem.region[i].gpa,
            .memory_size = vm->mem.region[i].size,
            .userspace_addr = (uint64_t)(uintptr_t)vm->mem.region[i].host,
        };
        if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
            return err_set_errno(err, ERR_IO, errno, "KVM_SET_USER_MEMORY_REGION slot %d", i);
    }
    return 0;
}

static struct kvm_cpuid_entry2 *
cpuid_find(struct kvm_cpuid2 *c, uint32_t function, uint32_t index)
{
    for (uint32_t i = 0; i < c->nent; i++)
        if (c->entries[i].function == function && c->entries[i].index == index)
            return &c->entries[i];
    return NULL;
}

/* Offer an XSAVE state component only with its CPU feature: a component in
 * leaf 0xd whose feature bit is absent (possible on nested or emulated hosts)
 * makes Linux warn of an "XSAVE consistency problem" and turn XSAVE off. */
static void
cpuid_normalize_xsave(struct kvm_cpuid2 *c)
{
    struct kvm_cpuid_entry2 *l1 = cpuid_find(c, 1, 0), *l7 = cpuid_find(c, 7, 0),
                            *d0 = cpuid_find(c, 0xd, 0);
    if (!l1 || !d0)
        return;
    uint32_t l7b = l7 ? l7->ebx : 0, l7c = l7 ? l7->ecx : 0, l7d = l7 ? l7->edx : 0;
    static const struct {
        int first, last; /* components */
        int reg;         /* 0: leaf 1 ecx, 1: leaf 7 ebx, 2: leaf 7 ecx, 3: leaf 7 edx */
        int bit;
    } gates[] = {
        {2, 2, 0, 28},   /* AVX */
        {3, 4, 1, 14},   /* MPX */
        {5, 7, 1, 16},   /* AVX-512F */
        {9, 9, 2, 3},    /* PKU */
        {17, 18, 3, 24}, /* AMX-TILE */
    };
    uint64_t mask = d0->eax | ((uint64_t)d0->edx << 32);
    for (size_t g = 0; g < ARRAY_SIZE(gates); g++) {
        uint32_t reg = gates[g].reg == 0   ? l1->ecx
                       : gates[g].reg == 1 ? l7b
                       : gates[g].reg == 2 ? l7c
                                           : l7d;
        if (reg & (1u << gates[g].bit))
            continue;
        for (int i = gates[g].first; i <= gates[g].last; i++) {
            if (!(mask & (1ULL << i)))
                continue;
            mask &= ~(1ULL << i);
            struct kvm_cpuid_entry2 *e = cpuid_find(c, 0xd, (uint32_t)i);
            if (e)
                e->eax = e->ebx = e->ecx = e->edx = 0;
            log_debug("CPUID: XSAVE component %d offered without its feature; removed", i);
        }
    }
    d0->eax = (uint32_t)mask;
    d0->edx = (uint32_t)(mask >> 32);
    /* the largest standard-format area for the remaining user components */
    uint32_t max = 576; /* legacy region + XSAVE header */
    for (int i = 2; i < 64; i++) {
        struct kvm_cpuid_entry2 *e = (mask & (1ULL << i)) ? cpuid_find(c, 0xd, (uint32_t)i) : NULL;
        if (e && e->ebx + e->eax > max)
            max = e->ebx + e->eax;
    }
    d0->ecx = max;
    if (d0->ebx > max)
        d0->ebx = max;
}

static int
vm_cpuid_fetch(struct vm *vm, struct err *err)
{
    for (int nent = 128; nent <= 1024; nent *= 2) {
        struct kvm_cpuid2 *c = xzalloc(sizeof(*c) + (size_t)nent * sizeof(struct kvm_cpuid_entry2));
        c->nent = (uint32_t)nent;
        if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            cpuid_normalize_xsave(c);
            vm->cpuid = c;
            return 0;
        }
        int e = errno;
        free(c);
        if (e != E2BIG)
            return err_set_errno(err, ERR_IO, e, "KVM_GET_SUPPORTED_CPUID");
    }
    return err_set(err, ERR_IO, "KVM_GET_SUPPORTED_CPUID: too many entries");
}

struct irqchip_reset {
    struct kvm_irqchip chip[3]; /* PIC master, PIC slave, IOAPIC */
    struct kvm_pit_state2 pit;
};

static int
vm_irqchip_save(struct vm *vm, struct err *err)
{
    struct irqchip_reset *r = xzalloc(sizeof(*r));
    vm->irqchip_reset = r;
    for (uint32_t i = 0; i < 3; i++) {
        r->chip[i].chip_id = i;
        if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &r->chip[i]) < 0)
            return err_set_errno(err, ERR_IO, errno, "KVM_GET_IRQCHIP %u", i);
    }
    if (ioctl(vm->vm_fd, KVM_GET_PIT2, &r->pit) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_GET_PIT2");
    return 0;
}

int
vm_reset(struct vm *vm, struct err *err)
{
    struct irqchip_reset *r = vm->irqchip_reset;
    /* private anonymous memory reads back as zeros after MADV_DONTNEED */
    if (madvise(vm->ram, vm->ram_size, MADV_DONTNEED) < 0)
        return err_set_errno(err, ERR_IO, errno, "clearing guest RAM");
    for (uint32_t i = 0; i < 3; i++)
        if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &r->chip[i]) < 0)
            return err_set_errno(err, ERR_IO, errno, "KVM_SET_IRQCHIP %u", i);
    if (ioctl(vm->vm_fd, KVM_SET_PIT2, &r->pit) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_SET_PIT2");
    for (int i = 0; i < vm->ndevices; i++)
        if (vm->devices[i].ops->reset)
            vm->devices[i].ops->reset(vm->devices[i].dev);
    pthread_mutex_lock(&vm->lock);
    vm->paused = false;
    vm->npaused = 0;
    pthread_mutex_unlock(&vm->lock);
    atomic_store(&vm->exit_reason, VM_EXIT_NONE);
    vm->reboots++;
    return 0;
}

struct vm *
vm_create(const struct vm_config *cfg, struct err *err)
{
    struct vm *vm = xzalloc(sizeof(*vm));
    vm->kvm_fd = vm->vm_fd = -1;
    vm->ram_size = cfg->ram_size;
    vm->ncpus = cfg->ncpus;
    pthread_mutex_init(&vm->lock, NULL);
    pthread_mutex_init(&vm->irq_lock, NULL);
    pthread_mutex_init(&vm->milestone_lock, NULL);
    pthread_cond_init(&vm->cond, NULL);
    vm->io[VM_IO_PIO] = vm_io_bus_new();
    vm->io[VM_IO_MMIO] = vm_io_bus_new();
    /* ISA interrupts taken by the legacy devices: PIT, keyboard, cascade,
     * COM2/COM1, RTC, SCI, mouse, IDE */
    vm->irq_used = (1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 8) |
                   (1u << 9) | (1u << 12) | (1u << 14) | (1u << 15);

    if (cfg->ncpus < 1 || cfg->ncpus > 254) {
        err_set(err, ERR_INVALID, "%d vCPUs: 1 to 254 supported", cfg->ncpus);
        goto fail;
    }
    vm->loop = vm_loop_new(err);
    if (!vm->loop)
        goto fail;
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        err_set_errno(err, ERR_UNAVAILABLE, errno, "opening /dev/kvm");
        goto fail;
    }
    int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        err_set(err, ERR_UNSUPPORTED, "KVM API version %d, expected %d", api, KVM_API_VERSION);
        goto fail;
    }
    static const struct {
        int cap;
        const char *name;
    } needed[] = {
        {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
        {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
        {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
        {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
        {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(needed); i++) {
        if (!kvm_check_cap(vm, needed[i].cap)) {
            err_set(err, ERR_UNSUPPORTED, "KVM lacks %s", needed[i].name);
            goto fail;
        }
    }
    vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->run_size <= 0) {
        err_set_errno(err, ERR_IO, errno, "KVM_GET_VCPU_MMAP_SIZE");
        goto fail;
    }
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        err_set_errno(err, ERR_IO, errno, "KVM_CREATE_VM");
        goto fail;
    }
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)BOOT_TSS_ADDR) < 0) {
        err_set_errno(err, ERR_IO, errno, "KVM_SET_TSS_ADDR");
        goto fail;
    }
    if (kvm_check_cap(vm, KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
        uint64_t addr = BOOT_IDENTITY_MAP_ADDR;
        if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0) {
            err_set_errno(err, ERR_IO, errno, "KVM_SET_IDENTITY_MAP_ADDR");
            goto fail;
        }
    }
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        err_set_errno(err, ERR_IO, errno, "KVM_CREATE_IRQCHIP");
        goto fail;
    }
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        err_set_errno(err, ERR_IO, errno, "KVM_CREATE_PIT2");
        goto fail;
    }
    if (vm_memory_setup(vm, err) < 0 || vm_cpuid_fetch(vm, err) < 0 || vm_irqchip_save(vm, err) < 0)
        goto fail;
    vm->vcpus = xcalloc((size_t)vm->ncpus, sizeof(*vm->vcpus));
    for (int i = 0; i < vm->ncpus; i++) {
        vm->vcpus[i] = vcpu_create(vm, i, err);
        if (!vm->vcpus[i])
            goto fail;
    }
    return vm;
fail:
    vm_free(vm);
    return NULL;
}

void
vm_free(struct vm *vm)
{
    if (!vm)
        return;
    for (int i = vm->ndevices - 1; i >= 0; i--)
        if (vm->devices[i].ops->free)
            vm->devices[i].ops->free(vm->devices[i].dev);
    free(vm->devices);
    if (vm->vcpus)
        for (int i = 0; i < vm->ncpus; i++)
            vcpu_free(vm->vcpus[i]);
    free(vm->vcpus);
    free(vm->cpuid);
    free(vm->irqchip_reset);
    if (vm->ram)
        munmap(vm->ram, vm->ram_size);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    vm_loop_free(vm->loop);
    vm_io_bus_free(vm->io[VM_IO_PIO]);
    vm_io_bus_free(vm->io[VM_IO_MMIO]);
    pthread_mutex_destroy(&vm->lock);
    pthread_mutex_destroy(&vm->irq_lock);
    pthread_mutex_destroy(&vm->milestone_lock);
    pthread_cond_destroy(&vm->cond);
    free(vm);
}

void *
vm_guest_ptr(struct vm *vm, uint64_t gpa, uint64_t len)
{
    return guest_mem_ptr(&vm->mem, gpa, len);
}

uint64_t
vm_ram_size(const struct vm *vm)
{
    return vm->ram_size;
}

/* ---- interrupts ---- */

int
vm_irq_line(struct vm *vm, uint32_t gsi, bool level)
{
    struct kvm_irq_level irq = {.irq = gsi, .level = level ? 1 : 0};
    return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -1 : 0;
}

int
vm_irq_pulse(struct vm *vm, uint32_t gsi)
{
    if (vm_irq_line(vm, gsi, true) < 0)
        return -1;
    return vm_irq_line(vm, gsi, false);
}

int
vm_msi_send(struct vm *vm, uint64_t addr, uint32_t data)
{
    struct kvm_msi msi = {
        .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data};
    int r = ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);
    return r < 0 ? -1 : 0;
}

int
vm_irq_alloc(struct vm *vm)
{
    /* PCI INTx lines: prefer the ISA interrupts PCs leave for PCI */
    static const int order[] = {5, 10, 11, 6, 7, 13};
    int gsi = -1;
    pthread_mutex_lock(&vm->irq_lock);
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        if (!(vm->irq_used & (1u << order[i]))) {
            vm->irq_used |= 1u << order[i];
            gsi = order[i];
            break;
        }
    }
    pthread_mutex_unlock(&vm->irq_lock);
    return gsi;
}

/* ---- ioeventfd ---- */

static int
ioeventfd(struct vm *vm, enum vm_io_space space, uint64_t addr, uint32_t size, int efd,
          bool deassign)
{
    struct kvm_ioeventfd io = {.addr = addr, .len = size, .fd = efd};
    if (space == VM_IO_PIO)
        io.flags |= KVM_IOEVENTFD_FLAG_PIO;
    if (deassign)
        io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
    return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io);
}

int
vm_ioeventfd_add(struct vm *vm, enum vm_io_space space, uint64_t addr, uint32_t size, int efd,
                 struct err *err)
{
    if (ioeventfd(vm, space, addr, size, efd, false) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_IOEVENTFD at %s 0x%llx",
                             space == VM_IO_PIO ? "port" : "MMIO", (unsigned long long)addr);
    return 0;
}

int
vm_ioeventfd_del(struct vm *vm, enum vm_io_space space, uint64_t addr, uint32_t size, int efd)
{
    return ioeventfd(vm, space, addr, size, efd, true) < 0 ? -1 : 0;
}

/* ---- devices ---- */

static uint32_t
pci_cfg_read32(struct vm *vm, uint8_t slot, uint8_t reg)
{
    uint32_t addr = 0x80000000u | ((uint32_t)slot << 11) | reg;
    uint8_t a[4] = {(uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
                    (uint8_t)(addr >> 24)};
    uint8_t d[4];
    vm_io_dispatch(vm, VM_IO_PIO, 0xcf8, a, 4, true);
    vm_io_dispatch(vm, VM_IO_PIO, 0xcfc, d, 4, false); /* all ones when nothing answers */
    return (uint32_t)d[0] | ((uint32_t)d[1] << 8) | ((uint32_t)d[2] << 16) | ((uint32_t)d[3] << 24);
}

int
vm_pci_irqs(struct vm *vm, struct boot_pci_irq *out, int max)
{
    int n = 0;
    for (uint8_t slot = 0; slot < 32 && n < max; slot++) {
        if ((pci_cfg_read32(vm, slot, 0x00) & 0xffff) == 0xffff)
            continue; /* no device */
        uint32_t r = pci_cfg_read32(vm, slot, 0x3c);
        uint8_t line = (uint8_t)r, pin = (uint8_t)(r >> 8);
        if (pin >= 1 && pin <= 4 && line > 0 && line < 24)
            out[n++] = (struct boot_pci_irq){.slot = slot, .pin = pin, .gsi = line};
    }
    uint8_t zero[4] = {0};
    vm_io_dispatch(vm, VM_IO_PIO, 0xcf8, zero, 4, true); /* leave the latch as reset left it */
    return n;
}

void
vm_device_add(struct vm *vm, const struct vm_device_ops *ops, void *dev)
{
    vm->devices = xrealloc(vm->devices, (size_t)(vm->ndevices + 1) * sizeof(*vm->devices));
    vm->devices[vm->ndevices++] = (struct vm_device){.ops = ops, .dev = dev};
}

void
vm_devices_stats(struct vm *vm, char *buf, size_t len)
{
    size_t off = 0;
    if (len)
        buf[0] = 0;
    for (int i = 0; i < vm->ndevices && off + 1 < len; i++) {
        if (!vm->devices[i].ops->stats)
            continue;
        char one[256];
        vm->devices[i].ops->stats(vm->devices[i].dev, one, sizeof(one));
        int n = snprintf(buf + off, len - off, "%s%s: %s", off ? "; " : "",
                         vm->devices[i].ops->name, one);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

void
vm_set_power_button(struct vm *vm, void (*fn)(void *), void *opaque)
{
    vm->power_button = fn;
    vm->power_button_opaque = opaque;
}

void
vm_set_ctrl_alt_del(struct vm *vm, int (*fn)(void *), void *opaque)
{
    vm->ctrl_alt_del = fn;
    vm->ctrl_alt_del_opaque = opaque;
}

void
vm_milestone_record(struct vm *vm, uint32_t value)
{
    uint64_t now = vm_now_ns();
    pthread_mutex_lock(&vm->milestone_lock);
    if (vm->nmilestones < VM_MILESTONES_MAX)
        vm->milestones[vm->nmilestones++] = (struct vm_milestone){.ns = now, .value = value};
    pthread_mutex_unlock(&vm->milestone_lock);
    if (vm->milestone_log)
        fprintf(stderr, "cloud-vmm: debug port 0x%02x at %.3f ms since start\n", value,
                (double)(now - vm->process_start_ns) / 1e6);
}

/* ---- lifecycle ---- */

void
vm_request_exit(struct vm *vm, enum vm_exit_reason reason)
{
    int none = VM_EXIT_NONE;
    if (!atomic_compare_exchange_strong(&vm->exit_reason, &none, (int)reason))
        return; /* the first request wins */
    pthread_mutex_lock(&vm->lock);
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    for (int i = 0; vm->vcpus && i < vm->ncpus; i++)
        vcpu_kick(vm->vcpus[i]);
    if (vm->loop)
        vm_loop_wake(vm->loop);
}

enum vm_exit_reason
vm_exit_requested(struct vm *vm)
{
    return (enum vm_exit_reason)atomic_load(&vm->exit_reason);
}

int
vm_vcpus_setup(struct vm *vm, const struct boot_entry *entry, struct err *err)
{
    for (int i = 0; i < vm->ncpus; i++)
        if (vcpu_setup(vm->vcpus[i], entry, err) < 0)
            return err_prefix(err, "vCPU %d", i);
    return 0;
}

static bool
loop_should_stop(void *opaque)
{
    return vm_exit_requested(opaque) != VM_EXIT_NONE;
}

enum vm_exit_reason
vm_run(struct vm *vm)
{
    struct err err = ERR_INIT;
    int started = 0;
    vm->start_ns = vm_now_ns();
    for (; started < vm->ncpus; started++) {
        if (vcpu_start(vm->vcpus[started], &err) < 0) {
            log_error("starting vCPU %d: %s", started, err.msg);
            vm_request_exit(vm, VM_EXIT_CRASH);
            break;
        }
    }
    vm_loop_run(vm->loop, loop_should_stop, vm);
    if (vm_exit_requested(vm) == VM_EXIT_NONE) /* the loop failed */
        vm_request_exit(vm, VM_EXIT_CRASH);
    for (int i = 0; i < started; i++)
        vcpu_join(vm->vcpus[i]);
    return vm_exit_requested(vm);
}

bool
vm_is_paused(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    bool p = vm->paused;
    pthread_mutex_unlock(&vm->lock);
    return p;
}

int
vm_pause(struct vm *vm, struct err *err)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->paused) {
        pthread_mutex_unlock(&vm->lock);
        return 0;
    }
    vm->paused = true;
    pthread_mutex_unlock(&vm->lock);
    for (int i = 0; i < vm->ncpus; i++)
        vcpu_kick(vm->vcpus[i]);

    /* wait until every running vCPU thread has parked */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    int rc = 0;
    pthread_mutex_lock(&vm->lock);
    while (vm->npaused < vm->nrunning && vm_exit_requested(vm) == VM_EXIT_NONE) {
        if (pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline) == ETIMEDOUT) {
            rc = err_set(err, ERR_TIMEOUT, "%d of %d vCPUs did not stop",
                         vm->nrunning - vm->npaused, vm->nrunning);
            break;
        }
    }
    pthread_mutex_unlock(&vm->lock);
    if (rc == 0)
        for (int i = 0; i < vm->ncpus; i++)
            vcpu_kvmclock_ctrl(vm->vcpus[i]);
    return rc;
}

int
vm_resume(struct vm *vm, struct err *err)
{
    (void)err;
    pthread_mutex_lock(&vm->lock);
    vm->paused = false;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    return 0;
}
