/* vCPUs: one thread each, looping on KVM_RUN and dispatching port I/O and
 * MMIO exits to the I/O buses. Other threads stop a vCPU with vcpu_kick():
 * immediate_exit plus a signal, so KVM_RUN returns EINTR at once. */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "vm.h"

#define VCPU_KICK_SIGNAL SIGUSR1
#define VCPU_STACK_SIZE (256 * 1024)

/* What KVM gives a new vCPU, kept to put it back on an in-place reboot. */
struct vcpu_reset_state {
    struct kvm_sregs sregs;
    struct kvm_lapic_state lapic;
    struct kvm_mp_state mp;
    struct kvm_vcpu_events events;
    struct kvm_debugregs debugregs;
    struct kvm_xcrs xcrs;
    bool has_events, has_debugregs, has_xcrs;
};

struct vcpu {
    struct vm *vm;
    int id;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    _Atomic bool started;
    bool cpuid_set;
    struct vcpu_reset_state *reset;
};

static void
kick_handler(int sig)
{
    (void)sig; /* only there to interrupt KVM_RUN */
}

void
vcpu_signal_init(void)
{
    struct sigaction sa = {.sa_handler = kick_handler};
    sigemptyset(&sa.sa_mask);
    sigaction(VCPU_KICK_SIGNAL, &sa, NULL); /* no SA_RESTART: KVM_RUN returns EINTR */
}

struct vcpu *
vcpu_create(struct vm *vm, int id, struct err *err)
{
    struct vcpu *v = xzalloc(sizeof(*v));
    v->vm = vm;
    v->id = id;
    v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
    if (v->fd < 0) {
        err_set_errno(err, ERR_IO, errno, "KVM_CREATE_VCPU %d", id);
        free(v);
        return NULL;
    }
    v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (v->run == MAP_FAILED) {
        err_set_errno(err, ERR_IO, errno, "mapping kvm_run of vCPU %d", id);
        close(v->fd);
        free(v);
        return NULL;
    }
    struct vcpu_reset_state *rs = xzalloc(sizeof(*rs));
    if (ioctl(v->fd, KVM_GET_SREGS, &rs->sregs) < 0 ||
        ioctl(v->fd, KVM_GET_LAPIC, &rs->lapic) < 0 ||
        ioctl(v->fd, KVM_GET_MP_STATE, &rs->mp) < 0) {
        err_set_errno(err, ERR_IO, errno, "reading the reset state of vCPU %d", id);
        free(rs);
        vcpu_free(v);
        return NULL;
    }
    rs->has_events = ioctl(v->fd, KVM_GET_VCPU_EVENTS, &rs->events) == 0;
    rs->has_debugregs = ioctl(v->fd, KVM_GET_DEBUGREGS, &rs->debugregs) == 0;
    rs->has_xcrs = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0 &&
                   ioctl(v->fd, KVM_GET_XCRS, &rs->xcrs) == 0;
    v->reset = rs;
    return v;
}

void
vcpu_free(struct vcpu *v)
{
    if (!v)
        return;
    munmap(v->run, (size_t)v->vm->run_size);
    close(v->fd);
    free(v->reset);
    free(v);
}

/* ---- register setup ---- */

static int
vcpu_set_cpuid(struct vcpu *v, struct err *err)
{
    /* Once only: KVM refuses (or, on older kernels, may refuse even an
     * identical) KVM_SET_CPUID2 after the vCPU has run, and a reboot keeps
     * the same CPU. */
    if (v->cpuid_set)
        return 0;
    const struct kvm_cpuid2 *sup = v->vm->cpuid;
    size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
    struct kvm_cpuid2 *c = xmalloc(sz);
    memcpy(c, sup, sz);
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            /* initial APIC id; CLFLUSH size and the logical processor count kept */
            e->ebx = (e->ebx & 0x00ffffff) | ((uint32_t)v->id << 24);
            e->ecx |= 1u << 31; /* running on a hypervisor */
            break;
        case 0xa: /* no virtual PMU: the guest must not program counters */
            e->eax = e->ebx = e->ecx = e->edx = 0;
            break;
        case 0xb:
        case 0x1f:
            e->edx = (uint32_t)v->id; /* x2APIC id */
            break;
        default:
            break;
        }
    }
    int rc = ioctl(v->fd, KVM_SET_CPUID2, c);
    int e = errno;
    free(c);
    if (rc < 0)
        return err_set_errno(err, ERR_IO, e, "KVM_SET_CPUID2");
    v->cpuid_set = true;
    return 0;
}

static int
vcpu_set_msrs(struct vcpu *v, struct err *err)
{
    static const struct {
        uint32_t index;
        uint64_t data;
    } init[] = {
        {0x174, 0},                     /* IA32_SYSENTER_CS */
        {0x175, 0},                     /* IA32_SYSENTER_ESP */
        {0x176, 0},                     /* IA32_SYSENTER_EIP */
        {0xc0000081, 0},                /* STAR */
        {0xc0000082, 0},                /* LSTAR */
        {0xc0000083, 0},                /* CSTAR */
        {0xc0000084, 0},                /* SYSCALL_MASK */
        {0xc0000102, 0},                /* KERNEL_GS_BASE */
        {0x10, 0},                      /* IA32_TSC */
        {0x1a0, 1},                     /* IA32_MISC_ENABLE: fast strings */
        {0x2ff, (1u << 11) | 6},        /* MTRR default type: enabled, write-back */
        {0x277, 0x0007040600070406ULL}, /* PAT: the power-on value */
        /* KVM's paravirtual MSRs off, as at power-on: after an in-place
         * reboot KVM must not go on writing kvm-clock, steal time or async
         * page fault data into the new guest's memory. (The wall-clock MSRs
         * are left alone: writing one asks KVM to write guest memory.) */
        {0x12, 0},       /* MSR_KVM_SYSTEM_TIME */
        {0x4b564d01, 0}, /* MSR_KVM_SYSTEM_TIME_NEW */
        {0x4b564d02, 0}, /* MSR_KVM_ASYNC_PF_EN */
        {0x4b564d03, 0}, /* MSR_KVM_STEAL_TIME */
        {0x4b564d04, 0}, /* MSR_KVM_PV_EOI_EN */
        {0x4b564d05, 1}, /* MSR_KVM_POLL_CONTROL */
        {0x4b564d06, 0}, /* MSR_KVM_ASYNC_PF_INT */
    };
    /* one at a time: KVM stops a batch at the first MSR it refuses */
    for (size_t i = 0; i < ARRAY_SIZE(init); i++) {
        union {
            struct kvm_msrs hdr;
            uint8_t raw[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
        } m;
        memset(&m, 0, sizeof(m));
        m.hdr.nmsrs = 1;
        m.hdr.entries[0].index = init[i].index;
        m.hdr.entries[0].data = init[i].data;
        int n = ioctl(v->fd, KVM_SET_MSRS, &m);
        if (n < 0)
            return err_set_errno(err, ERR_IO, errno, "KVM_SET_MSRS 0x%x", init[i].index);
        if (n != 1)
            log_debug("vCPU %d: KVM refused MSR 0x%x", v->id, init[i].index);
    }
    return 0;
}

/* Put the vCPU back in the state KVM created it in (a no-op on the first
 * boot, a reset on an in-place reboot). */
static int
vcpu_restore_reset_state(struct vcpu *v, struct err *err)
{
    struct vcpu_reset_state *rs = v->reset;
    if (ioctl(v->fd, KVM_SET_SREGS, &rs->sregs) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_SET_SREGS");
    if (ioctl(v->fd, KVM_SET_LAPIC, &rs->lapic) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_SET_LAPIC");
    if (ioctl(v->fd, KVM_SET_MP_STATE, &rs->mp) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_SET_MP_STATE");
    if (rs->has_events && ioctl(v->fd, KVM_SET_VCPU_EVENTS, &rs->events) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_SET_VCPU_EVENTS");
    if (rs->has_debugregs && ioctl(v->fd, KVM_SET_DEBUGREGS, &rs->debugregs) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_SET_DEBUGREGS");
    if (rs->has_xcrs && ioctl(v->fd, KVM_SET_XCRS, &rs->xcrs) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_SET_XCRS");
    struct kvm_regs regs = {.rflags = 2, .rip = 0xfff0, .rdx = 0x600};
    if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_SET_REGS");
    return 0;
}

static int
vcpu_set_fpu_lapic(struct vcpu *v, struct err *err)
{
    struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
    if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_SET_FPU");

    struct kvm_lapic_state lapic = v->reset->lapic;
    /* LINT0 delivers the 8259's ExtINT, LINT1 NMIs (what a PC BIOS sets up) */
    uint32_t lint0, lint1;
    memcpy(&lint0, lapic.regs + 0x350, 4);
    memcpy(&lint1, lapic.regs + 0x360, 4);
    lint0 = (lint0 & ~0x700u & ~(1u << 16)) | 0x700;
    lint1 = (lint1 & ~0x700u & ~(1u << 16)) | 0x400;
    memcpy(lapic.regs + 0x350, &lint0, 4);
    memcpy(lapic.regs + 0x360, &lint1, 4);
    if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_SET_LAPIC");
    return 0;
}

static void
seg_from_gdt(struct kvm_segment *s, uint16_t sel, uint64_t desc)
{
    s->selector = sel;
    s->base = (uint32_t)(((desc >> 16) & 0xffffff) | ((desc >> 32) & 0xff000000));
    uint32_t limit = (uint32_t)((desc & 0xffff) | ((desc >> 32) & 0xf0000));
    s->g = (desc >> 55) & 1;
    s->limit = s->g ? (limit << 12) | 0xfff : limit;
    s->type = (desc >> 40) & 0xf;
    s->s = (desc >> 44) & 1;
    s->dpl = (desc >> 45) & 3;
    s->present = (desc >> 47) & 1;
    s->avl = (desc >> 52) & 1;
    s->l = (desc >> 53) & 1;
    s->db = (desc >> 54) & 1;
    s->unusable = 0;
}

static int
vcpu_set_entry(struct vcpu *v, const struct boot_entry *entry, struct err *err)
{
    struct kvm_sregs sregs = v->reset->sregs;
    struct kvm_regs regs = {
        .rflags = 2, .rip = entry->rip, .rsi = entry->rsi, .rbx = entry->rbx, .rsp = entry->rsp};

    if (entry->mode == BOOT_MODE_REAL) {
        struct kvm_segment seg = {.selector = entry->real_cs,
                                  .base = (uint64_t)entry->real_cs << 4,
                                  .limit = 0xffff,
                                  .type = 3,
                                  .present = 1,
                                  .s = 1};
        sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
        seg.type = 0xb;
        sregs.cs = seg;
        regs.rsp = 0xfff0;
    } else {
        uint64_t gdt[BOOT_GDT_ENTRIES];
        boot_gdt_entries(entry->mode, gdt);
        seg_from_gdt(&sregs.cs, BOOT_SEL_CODE, gdt[BOOT_SEL_CODE >> 3]);
        struct kvm_segment data;
        seg_from_gdt(&data, BOOT_SEL_DATA, gdt[BOOT_SEL_DATA >> 3]);
        sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
        seg_from_gdt(&sregs.tr, BOOT_SEL_TSS, gdt[BOOT_SEL_TSS >> 3]);
        sregs.gdt.base = BOOT_GDT_ADDR;
        sregs.gdt.limit = sizeof(gdt) - 1;
        sregs.idt.base = 0;
        sregs.idt.limit = 0;
        if (entry->mode == BOOT_MODE_LONG) {
            sregs.cr3 = BOOT_PML4_ADDR;
            sregs.cr4 = 1u << 5;                               /* PAE */
            sregs.cr0 = 0x80000000u | 0x20 | 0x10 | 0x2 | 0x1; /* PG NE ET MP PE */
            sregs.efer = (1u << 8) | (1u << 10);               /* LME, LMA */
        } else {
            sregs.cr0 = 0x10 | 0x1; /* ET PE, paging off */
            sregs.cr4 = 0;
            sregs.efer = 0;
        }
    }
    if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_SET_SREGS");
    if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
        return err_set_errno(err, ERR_IO, errno, "KVM_SET_REGS");
    return 0;
}

int
vcpu_setup(struct vcpu *v, const struct boot_entry *entry, struct err *err)
{
    if (vcpu_restore_reset_state(v, err) < 0 || vcpu_set_cpuid(v, err) < 0 ||
        vcpu_set_msrs(v, err) < 0 || vcpu_set_fpu_lapic(v, err) < 0)
        return -1;
    /* Application processors keep their reset state: the in-kernel LAPIC holds
     * them in wait-for-SIPI until the BSP's INIT/SIPI sequence. */
    if (v->id == 0)
        return vcpu_set_entry(v, entry, err);
    return 0;
}

/* ---- the run loop ---- */

static void
vcpu_io(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
    for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
        vm_io_dispatch(v->vm, VM_IO_PIO, run->io.port, data, run->io.size, is_write);
}

static void
vcpu_park(struct vcpu *v)
{
    struct vm *vm = v->vm;
    pthread_mutex_lock(&vm->lock);
    if (vm->paused && vm_exit_requested(vm) == VM_EXIT_NONE) {
        vm->npaused++;
        pthread_cond_broadcast(&vm->cond);
        while (vm->paused && vm_exit_requested(vm) == VM_EXIT_NONE)
            pthread_cond_wait(&vm->cond, &vm->lock);
        vm->npaused--;
    }
    pthread_mutex_unlock(&vm->lock);
}

static void
vcpu_fail(struct vcpu *v, const char *what)
{
    struct kvm_regs regs;
    if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0)
        log_error("vCPU %d: %s at rip 0x%llx", v->id, what, (unsigned long long)regs.rip);
    else
        log_error("vCPU %d: %s", v->id, what);
    vm_request_exit(v->vm, VM_EXIT_CRASH);
}

static void *
vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct vm *vm = v->vm;
    struct kvm_run *run = v->run;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, VCPU_KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    while (vm_exit_requested(vm) == VM_EXIT_NONE) {
        vcpu_park(v);
        if (vm_exit_requested(vm) != VM_EXIT_NONE)
            break;
        if (ioctl(v->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                /* cleared before the flags are checked again: a later kick re-arms it */
                __atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
                atomic_fetch_add(&vm->stats[VM_STAT_INTR], 1);
                continue;
            }
            vcpu_fail(v, strerror(errno));
            break;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            atomic_fetch_add(&vm->stats[VM_STAT_IO], 1);
            vcpu_io(v);
            break;
        case KVM_EXIT_MMIO:
            atomic_fetch_add(&vm->stats[VM_STAT_MMIO], 1);
            vm_io_dispatch(vm, VM_IO_MMIO, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
                           run->mmio.is_write);
            break;
        case KVM_EXIT_HLT:
            /* with the in-kernel LAPIC, HLT is handled by KVM; this is a bug */
            atomic_fetch_add(&vm->stats[VM_STAT_HLT], 1);
            vcpu_fail(v, "unexpected HLT exit");
            break;
        case KVM_EXIT_SHUTDOWN:
            /* a triple fault: a PC resets, and Linux uses it as a reboot method */
            atomic_fetch_add(&vm->stats[VM_STAT_SHUTDOWN], 1);
            log_info("vCPU %d: triple fault, resetting", v->id);
            vm_request_exit(vm, VM_EXIT_REBOOT);
            break;
        case KVM_EXIT_SYSTEM_EVENT:
            atomic_fetch_add(&vm->stats[VM_STAT_SYSTEM_EVENT], 1);
            if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
                vm_request_exit(vm, VM_EXIT_POWEROFF);
            else if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
                vm_request_exit(vm, VM_EXIT_REBOOT);
            else
                vcpu_fail(v, "system event: crash");
            break;
        case KVM_EXIT_FAIL_ENTRY:
            atomic_fetch_add(&vm->stats[VM_STAT_FAIL_ENTRY], 1);
            log_error("vCPU %d: entry failed, hardware reason 0x%llx", v->id,
                      (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            vcpu_fail(v, "KVM_EXIT_FAIL_ENTRY");
            break;
        case KVM_EXIT_INTERNAL_ERROR:
            atomic_fetch_add(&vm->stats[VM_STAT_INTERNAL_ERROR], 1);
            log_error("vCPU %d: KVM internal error, suberror %u", v->id, run->internal.suberror);
            vcpu_fail(v, "KVM_EXIT_INTERNAL_ERROR");
            break;
        default:
            atomic_fetch_add(&vm->stats[VM_STAT_OTHER], 1);
            log_error("vCPU %d: unhandled exit reason %u", v->id, run->exit_reason);
            vcpu_fail(v, "unhandled exit");
            break;
        }
    }
    if (log_get_level() == LOG_LEVEL_DEBUG) {
        struct kvm_regs regs;
        struct kvm_sregs sregs;
        if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0 && ioctl(v->fd, KVM_GET_SREGS, &sregs) == 0)
            log_debug("vCPU %d stopped at rip 0x%llx rsp 0x%llx cr0 0x%llx cr3 0x%llx efer 0x%llx",
                      v->id, (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
                      (unsigned long long)sregs.cr0, (unsigned long long)sregs.cr3,
                      (unsigned long long)sregs.efer);
    }
    pthread_mutex_lock(&vm->lock);
    vm->nrunning--;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    return NULL;
}

int
vcpu_start(struct vcpu *v, struct err *err)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, VCPU_STACK_SIZE);
    /* the kick signal is blocked everywhere but in vCPU threads */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, VCPU_KICK_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    pthread_mutex_lock(&v->vm->lock);
    v->vm->nrunning++;
    pthread_mutex_unlock(&v->vm->lock);
    int rc = pthread_create(&v->thread, &attr, vcpu_thread, v);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&v->vm->lock);
        v->vm->nrunning--;
        pthread_mutex_unlock(&v->vm->lock);
        return err_set_errno(err, ERR_IO, rc, "creating the thread of vCPU %d", v->id);
    }
    char name[16];
    snprintf(name, sizeof(name), "vcpu%d", v->id);
    pthread_setname_np(v->thread, name);
    v->started = true;
    return 0;
}

void
vcpu_kick(struct vcpu *v)
{
    if (!v)
        return;
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (v->started)
        pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void
vcpu_join(struct vcpu *v)
{
    if (v && v->started) {
        pthread_join(v->thread, NULL);
        v->started = false;
    }
}

void
vcpu_kvmclock_ctrl(struct vcpu *v)
{
    /* tell a kvm-clock guest it was paused, so its watchdogs do not fire;
     * EINVAL when the guest does not use kvm-clock */
    ioctl(v->fd, KVM_KVMCLOCK_CTRL, 0);
}
