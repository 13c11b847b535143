/* The legacy devices (hypervisor/vmm/hw/): registers as Linux's and SeaBIOS's
 * drivers use them, driven through the I/O bus of a VM that has no KVM behind
 * it, and each device's save/load through the state serializer: a device
 * loaded from a snapshot reads back like the one saved. */
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "check.h"
#include "hw/legacy.h"
#include "mem.h"
#include "state.h"
#include "vm.h"

static struct vm *
bare_vm(uint64_t ram)
{
    struct vm *vm = xzalloc(sizeof(*vm));
    vm->kvm_fd = vm->vm_fd = -1; /* interrupt ioctls fail quietly */
    vm->ncpus = 2;
    vm->ram_size = ram;
    pthread_mutex_init(&vm->lock, NULL);
    pthread_mutex_init(&vm->irq_lock, NULL);
    pthread_mutex_init(&vm->milestone_lock, NULL);
    pthread_cond_init(&vm->cond, NULL);
    vm->io[VM_IO_PIO] = vm_io_bus_new();
    vm->io[VM_IO_MMIO] = vm_io_bus_new();
    struct err err = ERR_INIT;
    vm->loop = vm_loop_new(&err);
    vm->ram =
        mmap(NULL, ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    guest_mem_layout(&vm->mem, vm->ram, ram);
    return vm;
}

static void
bare_vm_free(struct vm *vm)
{
    for (int i = vm->ndevices - 1; i >= 0; i--)
        vm->devices[i].ops->free(vm->devices[i].dev);
    free(vm->devices);
    vm_loop_free(vm->loop);
    vm_io_bus_free(vm->io[VM_IO_PIO]);
    vm_io_bus_free(vm->io[VM_IO_MMIO]);
    munmap(vm->ram, vm->ram_size);
    free(vm);
}

static uint8_t
inb(struct vm *vm, uint16_t port)
{
    uint8_t v = 0;
    vm_io_dispatch(vm, VM_IO_PIO, port, &v, 1, false);
    return v;
}

static uint16_t
inw(struct vm *vm, uint16_t port)
{
    uint8_t v[2] = {0};
    vm_io_dispatch(vm, VM_IO_PIO, port, v, 2, false);
    return (uint16_t)(v[0] | (v[1] << 8));
}

static uint32_t
inl(struct vm *vm, uint16_t port)
{
    uint8_t v[4] = {0};
    vm_io_dispatch(vm, VM_IO_PIO, port, v, 4, false);
    return (uint32_t)v[0] | ((uint32_t)v[1] << 8) | ((uint32_t)v[2] << 16) | ((uint32_t)v[3] << 24);
}

static void
outb(struct vm *vm, uint16_t port, uint8_t v)
{
    vm_io_dispatch(vm, VM_IO_PIO, port, &v, 1, true);
}

static void
outw(struct vm *vm, uint16_t port, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    vm_io_dispatch(vm, VM_IO_PIO, port, b, 2, true);
}

/* Save every device of @from and load the stream into the matching devices of @to. */
static void
snapshot(struct vm *from, struct vm *to)
{
    struct err err = ERR_INIT;
    struct state_writer *w = state_writer_new();
    for (int i = 0; i < from->ndevices; i++) {
        const struct vm_device_ops *ops = from->devices[i].ops;
        CHECK_INT(state_section_begin(w, ops->name, ops->state_version, &err), 0);
        CHECK_INT(ops->save(from->devices[i].dev, w, &err), 0);
        CHECK_INT(state_section_end(w, &err), 0);
    }
    size_t len;
    const uint8_t *buf = state_writer_data(w, &len);
    struct state_reader *r = state_reader_new(buf, len, &err);
    CHECK(r != NULL);
    char name[STATE_NAME_MAX + 1];
    uint32_t version;
    int loaded = 0;
    while (r && state_reader_next(r, name, &version, &err) == 1) {
        for (int i = 0; i < to->ndevices; i++) {
            if (strcmp(to->devices[i].ops->name, name) == 0) {
                int rc = to->devices[i].ops->load(to->devices[i].dev, r, version, &err);
                if (rc < 0)
                    fprintf(stderr, "load %s: %s\n", name, err.msg);
                CHECK_INT(rc, 0);
                loaded++;
            }
        }
        /* a version this monitor does not know is refused */
        for (int i = 0; i < to->ndevices; i++)
            if (strcmp(to->devices[i].ops->name, name) == 0)
                CHECK_INT(to->devices[i].ops->load(to->devices[i].dev, r, 99, &err), -1);
    }
    CHECK_INT(loaded, from->ndevices);
    state_reader_free(r);
    state_writer_free(w);
}

static void
create_all(struct vm *vm, int out_fd)
{
    struct err err = ERR_INIT;
    CHECK(serial_create(vm, out_fd, -1, &err) != NULL);
    CHECK(i8042_create(vm, &err) != NULL);
    CHECK(debugport_create(vm, &err) != NULL);
    CHECK(rtc_create(vm, &err) != NULL);
    CHECK(pm_create(vm, &err) != NULL);
    /* a second UART on the same ports is refused */
    CHECK(serial_create(vm, out_fd, -1, &err) == NULL);
}

static void
test_serial(struct vm *vm)
{
    /* Linux's 8250 autoconfig: scratch register, loopback, FIFO detection */
    outb(vm, 0x3ff, 0xa5);
    CHECK_INT(inb(vm, 0x3ff), 0xa5);
    outb(vm, 0x3fc, 0x1a); /* MCR: loop, OUT2, RTS */
    CHECK_INT(inb(vm, 0x3fe) & 0xf0, 0x90);
    outb(vm, 0x3f8, 'x');                   /* loops back into the receiver */
    CHECK_INT(inb(vm, 0x3fd) & 0x61, 0x61); /* DR, THRE, TEMT */
    CHECK_INT(inb(vm, 0x3f8), 'x');
    CHECK_INT(inb(vm, 0x3fd) & 0x01, 0);
    outb(vm, 0x3fc, 0x0b);
    outb(vm, 0x3fa, 0xc7);                  /* FCR: enable and clear FIFOs */
    CHECK_INT(inb(vm, 0x3fa) & 0xc0, 0xc0); /* 16550A */
    outb(vm, 0x3fb, 0x83);                  /* DLAB */
    outb(vm, 0x3f8, 0x01);                  /* 115200 baud */
    outb(vm, 0x3f9, 0x00);
    outb(vm, 0x3fb, 0x03); /* 8N1 */
    /* THRE interrupt: pending once enabled, acknowledged by reading IIR */
    CHECK_INT(inb(vm, 0x3fa) & 0x0f, 0x01);
    outb(vm, 0x3f9, 0x02);
    CHECK_INT(inb(vm, 0x3fa) & 0x0f, 0x02);
    CHECK_INT(inb(vm, 0x3fa) & 0x0f, 0x01);
    outb(vm, 0x3f8, 'A'); /* to the console; THRE again */
    CHECK_INT(inb(vm, 0x3fa) & 0x0f, 0x02);
    /* receive interrupt has priority over THRE */
    outb(vm, 0x3fc, 0x1b);
    outb(vm, 0x3f9, 0x03);
    outb(vm, 0x3f8, 'y');
    CHECK_INT(inb(vm, 0x3fa) & 0x0f, 0x04);
    outb(vm, 0x3fc, 0x0b);
}

static void
test_i8042(struct vm *vm)
{
    outb(vm, 0x64, 0xaa); /* self test */
    CHECK_INT(inb(vm, 0x64) & 0x01, 0x01);
    CHECK_INT(inb(vm, 0x60), 0x55);
    CHECK_INT(inb(vm, 0x64) & 0x01, 0);
    outb(vm, 0x64, 0x20); /* read CTR */
    uint8_t ctr = inb(vm, 0x60);
    CHECK(ctr & 0x40); /* translation on */
    outb(vm, 0x64, 0x60);
    outb(vm, 0x60, (uint8_t)(ctr & ~0x01)); /* keyboard interrupt off */
    outb(vm, 0x64, 0x20);
    CHECK_INT(inb(vm, 0x60), ctr & ~0x01);
    outb(vm, 0x64, 0xa9); /* no AUX port */
    uint8_t aux = inb(vm, 0x60);
    CHECK(aux != 0 && aux != 0xfa && aux != 0xff);
    outb(vm, 0x60, 0xf2); /* keyboard: identify */
    CHECK_INT(inb(vm, 0x60), 0xfa);
    CHECK_INT(inb(vm, 0x60), 0xab);
    CHECK_INT(inb(vm, 0x60), 0x83);
    outb(vm, 0x64, 0x60);
    outb(vm, 0x60, ctr);
    CHECK_INT(vm_exit_requested(vm), VM_EXIT_NONE);
}

static int
bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0xf);
}

static void
test_rtc(struct vm *vm)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    outb(vm, 0x70, 0x09);
    CHECK_INT(bcd(inb(vm, 0x71)), tm.tm_year % 100);
    outb(vm, 0x70, 0x32);
    CHECK_INT(bcd(inb(vm, 0x71)), (tm.tm_year + 1900) / 100);
    outb(vm, 0x70, 0x0d);
    CHECK_INT(inb(vm, 0x71), 0x80);
    /* SeaBIOS's memory size bytes: 64 MiB of RAM */
    outb(vm, 0x70, 0x34);
    uint16_t above16 = inb(vm, 0x71);
    outb(vm, 0x70, 0x35);
    above16 |= (uint16_t)(inb(vm, 0x71) << 8);
    CHECK_INT(above16, (64 - 16) * 16); /* 64 KiB units */
    outb(vm, 0x70, 0x30);
    uint16_t ext = inb(vm, 0x71);
    outb(vm, 0x70, 0x31);
    ext |= (uint16_t)(inb(vm, 0x71) << 8);
    CHECK_INT(ext, 63 * 1024);
    outb(vm, 0x70, 0x5f);
    CHECK_INT(inb(vm, 0x71), 1); /* two vCPUs */
    /* NVRAM keeps what the guest writes */
    outb(vm, 0x70, 0x40);
    outb(vm, 0x71, 0x5a);
    outb(vm, 0x70, 0x40);
    CHECK_INT(inb(vm, 0x71), 0x5a);
}

/* The SCI's level as the PM device reports it in its counters ("sci high"). */
static bool
pm_sci(struct vm *vm, const char *level)
{
    char stats[1024], want[32];
    vm_devices_stats(vm, stats, sizeof(stats));
    snprintf(want, sizeof(want), "sci %s", level);
    return strstr(stats, want) != NULL;
}

static void
test_pm(struct vm *vm)
{
    /* SCI_EN reads as set: ACPI is always enabled */
    CHECK_INT(inw(vm, BOOT_PM1_CNT) & 1, 1);
    uint32_t t0 = inl(vm, BOOT_PM_TMR);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    uint32_t t1 = inl(vm, BOOT_PM_TMR);
    CHECK(((t1 - t0) & 0xffffff) >= 7000); /* 2 ms at 3.58 MHz */
    CHECK(((t1 - t0) & 0xffffff) < 3579545);
    /* power button: status latched, enable bit read back, write 1 to clear;
     * the SCI is high exactly while the status is set and enabled */
    outw(vm, BOOT_PM1_EVT + 2, 0x0100);
    CHECK_INT(inw(vm, BOOT_PM1_EVT + 2), 0x0100);
    CHECK(pm_sci(vm, "low"));
    vm->power_button(vm->power_button_opaque);
    CHECK_INT(inw(vm, BOOT_PM1_EVT) & 0x0100, 0x0100);
    CHECK(pm_sci(vm, "high"));
    outw(vm, BOOT_PM1_EVT, 0x0001); /* clearing another bit leaves it */
    CHECK(pm_sci(vm, "high"));
    outb(vm, BOOT_PM1_EVT + 1, 0x01); /* a byte write clears it, as ACPICA's does */
    CHECK_INT(inw(vm, BOOT_PM1_EVT) & 0x0100, 0);
    CHECK(pm_sci(vm, "low"));
    /* a press while the guest has not enabled the button: status only; enabling
     * it afterwards raises the SCI, clearing the status lowers it */
    outw(vm, BOOT_PM1_EVT + 2, 0);
    vm->power_button(vm->power_button_opaque);
    CHECK_INT(inw(vm, BOOT_PM1_EVT) & 0x0100, 0x0100);
    CHECK(pm_sci(vm, "low"));
    outw(vm, BOOT_PM1_EVT + 2, 0x0100);
    CHECK(pm_sci(vm, "high"));
    outw(vm, BOOT_PM1_EVT, 0x0100);
    CHECK_INT(inw(vm, BOOT_PM1_EVT) & 0x0100, 0);
    CHECK(pm_sci(vm, "low"));
    /* a sleep state other than S5 is not offered: no exit */
    outw(vm, BOOT_PM1_CNT, (3 << 10) | (1 << 13));
    CHECK_INT(vm_exit_requested(vm), VM_EXIT_NONE);
}

int
main(void)
{
    struct vm *a = bare_vm(64 << 20);
    create_all(a, -1);
    test_serial(a);
    test_i8042(a);
    test_rtc(a);
    test_pm(a);
    outb(a, DEBUGPORT_PORT, 0x07);
    CHECK_INT(a->nmilestones, 1);
    CHECK_INT(a->milestones[0].value, 0x07);
    CHECK_INT(inb(a, DEBUGPORT_PORT), 0xe9);

    /* leave some state behind, snapshot it into a fresh set of devices */
    while (inb(a, 0x3fd) & 0x01) /* drain the receiver */
        inb(a, 0x3f8);
    outb(a, 0x3fb, 0x83);
    outb(a, 0x3f8, 0x0c);
    outb(a, 0x3fb, 0x03);
    outb(a, 0x3ff, 0x77);
    outb(a, 0x3fc, 0x1b); /* loopback: one byte waiting in the receiver */
    outb(a, 0x3f8, 'z');
    outb(a, 0x64, 0xaa); /* 0x55 waiting in the i8042 */
    outw(a, BOOT_PM1_EVT + 2, 0x0100);
    outb(a, 0x70, 0x41);
    outb(a, 0x71, 0x99);

    struct vm *b = bare_vm(64 << 20);
    create_all(b, -1);
    snapshot(a, b);
    CHECK_INT(inb(b, 0x3ff), 0x77);
    CHECK_INT(inb(b, 0x3fd) & 0x01, 0x01);
    CHECK_INT(inb(b, 0x3f8), 'z');
    CHECK_INT(inb(b, 0x3fb), 0x03);
    outb(b, 0x3fb, 0x83);
    CHECK_INT(inb(b, 0x3f8), 0x0c);
    outb(b, 0x3fb, 0x03);
    CHECK_INT(inb(b, 0x64) & 0x01, 0x01);
    CHECK_INT(inb(b, 0x60), 0x55);
    CHECK_INT(inw(b, BOOT_PM1_EVT + 2), 0x0100);
    outb(b, 0x70, 0x41);
    CHECK_INT(inb(b, 0x71), 0x99);

    /* reset puts registers back to power-on values */
    for (int i = 0; i < b->ndevices; i++)
        b->devices[i].ops->reset(b->devices[i].dev);
    CHECK_INT(inb(b, 0x3ff), 0);
    CHECK_INT(inb(b, 0x64) & 0x01, 0);
    CHECK_INT(inw(b, BOOT_PM1_EVT + 2), 0);

    /* lifecycle requests: S5 powers off; the first request wins */
    outw(b, BOOT_PM1_CNT, (BOOT_S5_SLP_TYP << 10) | (1 << 13));
    CHECK_INT(vm_exit_requested(b), VM_EXIT_POWEROFF);
    outb(b, 0x64, 0xfe);
    CHECK_INT(vm_exit_requested(b), VM_EXIT_POWEROFF);
    outb(a, BOOT_PM_RESET, BOOT_PM_RESET_VALUE);
    CHECK_INT(vm_exit_requested(a), VM_EXIT_REBOOT);

    char stats[1024];
    vm_devices_stats(a, stats, sizeof(stats));
    CHECK(strstr(stats, "serial: tx") != NULL);
    CHECK(strstr(stats, "debugport: writes 1") != NULL);
    bare_vm_free(a);
    bare_vm_free(b);
    return check_done();
}
