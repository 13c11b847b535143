/* cloud-vmm: one KVM virtual machine per process.
 *
 *   cloud-vmm --kernel PATH [--initrd PATH] [--cmdline STR] [--memory MIB]
 *             [--vcpus N] [--disk PATH[,ro]]... [--net tap=IFNAME[,mac=MAC]]...
 *             [--rng] [--console FILE|stdio|none] [--control SOCKET]
 *             [--debug-port-log]
 *   cloud-vmm --payload FILE [--payload-mode real|prot32|long] ...   (tests)
 *
 * Exit status: 0 guest power-off, 3 guest reboot request (unless
 * --on-reboot restart, which reboots in place), 4 stopped from the control
 * socket or by SIGTERM/SIGINT, 1 crash or error, 2 usage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "hw/legacy.h"
#include "log.h"
#include "mem.h"
#include "vm.h"

#if __has_include("hw/pci.h") && __has_include("virtio/virtio.h")
#include "hw/pci.h"
#include "virtio/virtio.h"
#define VMM_HAVE_VIRTIO 1
#else
#define VMM_HAVE_VIRTIO 0
#endif

#define MAX_DISKS 8
#define MAX_NICS 8

struct opts {
    const char *kernel, *initrd, *cmdline, *payload, *console, *control;
    enum boot_cpu_mode payload_mode;
    uint64_t memory_mib;
    int vcpus;
    const char *disk[MAX_DISKS];
    bool disk_ro[MAX_DISKS];
    int ndisks;
    const char *tap[MAX_NICS], *mac[MAX_NICS];
    int nnics;
    bool rng, debug_port_log, restart_on_reboot;
    enum log_level log_level;
};

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: cloud-vmm --kernel PATH [--initrd PATH] [--cmdline STR] [--memory MIB]\n"
            "                 [--vcpus N] [--disk PATH[,ro]]... [--net tap=IFNAME[,mac=MAC]]...\n"
            "                 [--rng] [--console FILE|stdio|none] [--control SOCKET]\n"
            "                 [--debug-port-log] [--on-reboot exit|restart]\n"
            "                 [--log-level debug|info|warn|error]\n"
            "       cloud-vmm --payload FILE [--payload-mode real|prot32|long] ...\n"
            "exit status: 0 power-off, 1 error or crash, 2 usage, 3 reboot, 4 stopped\n");
}

static int
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static char *
split_opt(char *s)
{
    char *comma = strchr(s, ',');
    if (comma)
        *comma++ = 0;
    return comma;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
    enum {
        O_KERNEL = 256,
        O_INITRD,
        O_CMDLINE,
        O_MEMORY,
        O_VCPUS,
        O_DISK,
        O_NET,
        O_RNG,
        O_CONSOLE,
        O_CONTROL,
        O_DEBUGLOG,
        O_PAYLOAD,
        O_PAYLOAD_MODE,
        O_LOGLEVEL,
        O_ONREBOOT,
        O_HELP
    };
    static const struct option longopts[] = {
        {"kernel", required_argument, NULL, O_KERNEL},
        {"initrd", required_argument, NULL, O_INITRD},
        {"cmdline", required_argument, NULL, O_CMDLINE},
        {"memory", required_argument, NULL, O_MEMORY},
        {"vcpus", required_argument, NULL, O_VCPUS},
        {"disk", required_argument, NULL, O_DISK},
        {"net", required_argument, NULL, O_NET},
        {"rng", no_argument, NULL, O_RNG},
        {"console", required_argument, NULL, O_CONSOLE},
        {"control", required_argument, NULL, O_CONTROL},
        {"debug-port-log", no_argument, NULL, O_DEBUGLOG},
        {"payload", required_argument, NULL, O_PAYLOAD},
        {"payload-mode", required_argument, NULL, O_PAYLOAD_MODE},
        {"log-level", required_argument, NULL, O_LOGLEVEL},
        {"on-reboot", required_argument, NULL, O_ONREBOOT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    *o = (struct opts){.memory_mib = 128,
                       .vcpus = 1,
                       .console = "stdio",
                       .payload_mode = BOOT_MODE_REAL,
                       .log_level = LOG_LEVEL_INFO};
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_KERNEL:
            o->kernel = optarg;
            break;
        case O_INITRD:
            o->initrd = optarg;
            break;
        case O_CMDLINE:
            o->cmdline = optarg;
            break;
        case O_MEMORY:
            if (parse_uint(optarg, 2, 1ULL << 20, &v) < 0) {
                fprintf(stderr, "cloud-vmm: --memory %s: 2 to 1048576 MiB\n", optarg);
                return -1;
            }
            o->memory_mib = v;
            break;
        case O_VCPUS:
            if (parse_uint(optarg, 1, 254, &v) < 0) {
                fprintf(stderr, "cloud-vmm: --vcpus %s: 1 to 254\n", optarg);
                return -1;
            }
            o->vcpus = (int)v;
            break;
        case O_DISK: {
            if (o->ndisks == MAX_DISKS) {
                fprintf(stderr, "cloud-vmm: at most %d disks\n", MAX_DISKS);
                return -1;
            }
            char *flag = split_opt(optarg);
            if (flag && strcmp(flag, "ro") != 0) {
                fprintf(stderr, "cloud-vmm: --disk %s: unknown flag %s\n", optarg, flag);
                return -1;
            }
            o->disk_ro[o->ndisks] = flag != NULL;
            o->disk[o->ndisks++] = optarg;
            break;
        }
        case O_NET: {
            if (o->nnics == MAX_NICS) {
                fprintf(stderr, "cloud-vmm: at most %d NICs\n", MAX_NICS);
                return -1;
            }
            const char *tap = NULL, *mac = NULL;
            for (char *p = optarg, *next; p; p = next) {
                next = split_opt(p);
                if (strncmp(p, "tap=", 4) == 0)
                    tap = p + 4;
                else if (strncmp(p, "mac=", 4) == 0)
                    mac = p + 4;
                else {
                    fprintf(stderr, "cloud-vmm: --net: unknown key in %s\n", p);
                    return -1;
                }
            }
            if (!tap || !*tap) {
                fprintf(stderr, "cloud-vmm: --net needs tap=IFNAME\n");
                return -1;
            }
            o->tap[o->nnics] = tap;
            o->mac[o->nnics++] = mac;
            break;
        }
        case O_RNG:
            o->rng = true;
            break;
        case O_CONSOLE:
            o->console = optarg;
            break;
        case O_CONTROL:
            o->control = optarg;
            break;
        case O_DEBUGLOG:
            o->debug_port_log = true;
            break;
        case O_PAYLOAD:
            o->payload = optarg;
            break;
        case O_PAYLOAD_MODE:
            if (strcmp(optarg, "real") == 0)
                o->payload_mode = BOOT_MODE_REAL;
            else if (strcmp(optarg, "prot32") == 0)
                o->payload_mode = BOOT_MODE_PROT32;
            else if (strcmp(optarg, "long") == 0)
                o->payload_mode = BOOT_MODE_LONG;
            else {
                fprintf(stderr, "cloud-vmm: --payload-mode real|prot32|long\n");
                return -1;
            }
            break;
        case O_LOGLEVEL:
            if (log_level_parse(optarg, &o->log_level) < 0) {
                fprintf(stderr, "cloud-vmm: unknown log level %s\n", optarg);
                return -1;
            }
            break;
        case O_ONREBOOT:
            if (strcmp(optarg, "restart") == 0)
                o->restart_on_reboot = true;
            else if (strcmp(optarg, "exit") == 0)
                o->restart_on_reboot = false;
            else {
                fprintf(stderr, "cloud-vmm: --on-reboot exit|restart\n");
                return -1;
            }
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cloud-vmm: unexpected argument %s\n", argv[optind]);
        return -1;
    }
    if (!o->kernel == !o->payload) {
        fprintf(stderr, "cloud-vmm: give one of --kernel or --payload\n");
        return -1;
    }
    return 0;
}

/* ---- console ---- */

static struct termios saved_tio;
static bool tio_saved;

static void
console_restore(void)
{
    if (tio_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

static int
console_open(const char *spec, int *out_fd, int *in_fd, struct err *err)
{
    *out_fd = *in_fd = -1;
    if (strcmp(spec, "none") == 0)
        return 0;
    if (strcmp(spec, "stdio") == 0) {
        *out_fd = STDOUT_FILENO;
        *in_fd = STDIN_FILENO;
        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
            struct termios raw = saved_tio;
            cfmakeraw(&raw);
            raw.c_oflag |= OPOST | ONLCR; /* keep our own log lines readable */
            tcsetattr(STDIN_FILENO, TCSANOW, &raw);
            tio_saved = true;
            atexit(console_restore);
        }
        int fl = fcntl(STDIN_FILENO, F_GETFL);
        if (fl >= 0)
            fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
        return 0;
    }
    *out_fd = open(spec, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (*out_fd < 0)
        return err_set_errno(err, ERR_IO, errno, "opening console file %s", spec);
    return 0;
}

/* ---- signals: SIGTERM and SIGINT stop the VM, through a signalfd ---- */

static int signal_fd = -1;

static void
signal_readable(void *opaque, uint32_t events)
{
    struct vm *vm = opaque;
    struct signalfd_siginfo si;
    (void)events;
    if (read(signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        log_info("signal %u: stopping the VM", si.ssi_signo);
        vm_request_exit(vm, VM_EXIT_STOPPED);
    }
}

static int
signals_setup(struct vm *vm, struct err *err)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* blocked before any thread starts, so every thread inherits it */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd < 0)
        return err_set_errno(err, ERR_IO, errno, "signalfd");
    return vm_loop_add_fd(vm, signal_fd, EPOLLIN, signal_readable, vm, err);
}

/* ---- devices ---- */

static int
devices_create(struct vm *vm, const struct opts *o, int con_out, int con_in, struct err *err)
{
    if (!serial_create(vm, con_out, con_in, err) || !i8042_create(vm, err) ||
        !debugport_create(vm, err) || !rtc_create(vm, err) || !pm_create(vm, err))
        return -1;
#if VMM_HAVE_VIRTIO
    if (o->ndisks || o->nnics || o->rng) {
        struct pci_bus *bus = pci_bus_new(vm, err);
        if (!bus)
            return -1;
        for (int i = 0; i < o->ndisks; i++)
            if (virtio_blk_create(vm, bus, o->disk[i], o->disk_ro[i], err) < 0)
                return err_prefix(err, "disk %s", o->disk[i]);
        for (int i = 0; i < o->nnics; i++)
            if (virtio_net_create(vm, bus, o->tap[i], o->mac[i], err) < 0)
                return err_prefix(err, "tap %s", o->tap[i]);
        if (o->rng && virtio_rng_create(vm, bus, err) < 0)
            return -1;
    }
#else
    if (o->ndisks || o->nnics || o->rng)
        return err_set(err, ERR_UNSUPPORTED, "this build has no virtio devices");
#endif
    return 0;
}

static int
exit_code(enum vm_exit_reason reason)
{
    switch (reason) {
    case VM_EXIT_POWEROFF:
        return VMM_EXIT_POWEROFF;
    case VM_EXIT_REBOOT:
        return VMM_EXIT_REBOOT;
    case VM_EXIT_STOPPED:
        return VMM_EXIT_STOPPED;
    default:
        return VMM_EXIT_ERROR;
    }
}

int
main(int argc, char **argv)
{
    uint64_t t0 = vm_now_ns();
    struct opts o;
    struct err err = ERR_INIT;
    struct vm *vm = NULL;
    struct control *ctl = NULL;
    int rc = VMM_EXIT_ERROR;
    int con_out = -1, con_in = -1;

    if (parse_opts(argc, argv, &o) < 0) {
        usage(stderr);
        return VMM_EXIT_USAGE;
    }
    log_init("cloud-vmm", o.log_level, NULL);
    signal(SIGPIPE, SIG_IGN);
    vcpu_signal_init();

    if (o.control) {
        ctl = control_listen(o.control, &err);
        if (!ctl)
            goto fail;
        log_debug("control socket %s listening %.3f ms after start", o.control,
                  (double)(vm_now_ns() - t0) / 1e6);
    }
    struct vm_config cfg = {.ram_size = o.memory_mib << 20, .ncpus = o.vcpus};
    vm = vm_create(&cfg, &err);
    if (!vm)
        goto fail;
    vm->process_start_ns = t0;
    vm->milestone_log = o.debug_port_log;
    if (signals_setup(vm, &err) < 0 || (ctl && control_attach(ctl, vm, &err) < 0))
        goto fail;
    if (console_open(o.console, &con_out, &con_in, &err) < 0 ||
        devices_create(vm, &o, con_out, con_in, &err) < 0)
        goto fail;

    struct boot_config bc = {
        .kind = o.payload ? BOOT_KIND_RAW : BOOT_KIND_LINUX,
        .kernel = o.payload ? o.payload : o.kernel,
        .initrd = o.initrd,
        .cmdline = o.cmdline ? o.cmdline : "console=ttyS0 reboot=k panic=1",
        .ncpus = o.vcpus,
        .raw_mode = o.payload_mode,
    };
    struct boot_pci_irq pci_irqs[BOOT_PCI_IRQ_MAX];
    bc.pci_irqs = pci_irqs;
    bc.npci_irqs = vm_pci_irqs(vm, pci_irqs, BOOT_PCI_IRQ_MAX);
    struct boot_entry entry;
    if (boot_load(&vm->mem, &bc, &entry, &err) < 0 || vm_vcpus_setup(vm, &entry, &err) < 0)
        goto fail;
    log_debug("VM ready to run %.3f ms after start", (double)(vm_now_ns() - t0) / 1e6);

    enum vm_exit_reason reason;
    for (;;) {
        reason = vm_run(vm);
        if (reason != VM_EXIT_REBOOT || !o.restart_on_reboot)
            break;
        /* --on-reboot restart: the same process, devices, taps and control
         * socket; a fresh machine for the guest */
        log_info("guest reset: rebooting in place (reboot %d)", vm->reboots + 1);
        if (vm_reset(vm, &err) < 0 || boot_load(&vm->mem, &bc, &entry, &err) < 0 ||
            vm_vcpus_setup(vm, &entry, &err) < 0) {
            log_error("reboot: %s", err.msg);
            reason = VM_EXIT_CRASH;
            break;
        }
    }
    rc = exit_code(reason);
    log_info("VM exit: %s (status %d)",
             reason == VM_EXIT_POWEROFF  ? "power-off"
             : reason == VM_EXIT_REBOOT  ? "reboot"
             : reason == VM_EXIT_STOPPED ? "stopped"
                                         : "crash",
             rc);
    goto cleanup;
fail:
    log_error("%s", err.msg);
cleanup:
    control_free(ctl);
    vm_free(vm);
    if (con_out > STDERR_FILENO)
        close(con_out);
    if (signal_fd >= 0)
        close(signal_fd);
    return rc;
}
