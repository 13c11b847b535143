/* A backend runs one kind of monitor (STYLE.md: one const ops table per
 * backend; the core calls through it and never switches on the type).
 * backend_qemu.c: type='qemu' on Debian's QEMU (TCG); backend_vmm.c:
 * type='kvm' on cloud-vmm. Spawning, exit tracking and signals are common
 * (monitor.c); a backend builds the command line and speaks the monitor's
 * control protocol. */
#ifndef NUBE_HVD_BACKEND_H
#define NUBE_HVD_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "domain_xml.h"
#include "hvd.h"
#include "rpc.h"

/* One running monitor. */
struct hvd_vm {
    const struct domain_def *def; /* the live definition */
    const struct hvd_config *cfg;
    char *run_dir;  /* <state_dir>/run/<name>: control socket, log, exit status */
    char *control;  /* the monitor's control socket */
    char *log_path; /* the monitor's stdout/stderr */
    pid_t pid;      /* the monitor process */
    pid_t waiter;   /* its waiter (monitor.c), which records the exit status */
    /* Tap descriptors opened by cloud-hvd and inherited as fd 3, 4, ... by a
     * monitor whose backend takes taps by descriptor (tap_by_fd). */
    int tap_fds[DOMAIN_MAX_IFACES + 1];
    size_t ntap_fds;
    /* A managed-save image to restore from (-1: boot). Inherited after the taps. */
    int restore_fd;
};

struct hvd_block_stats {
    int64_t rd_req, rd_bytes, wr_req, wr_bytes, errs;
};

#define HVD_EXIT_REBOOT (-1)

struct hvd_backend_ops {
    const char *name;
    /* The monitor gets its taps as inherited descriptors (libvirt's way: it
     * needs no access to /dev/net/tun), else it opens them by name. */
    bool tap_by_fd;
    /* Can this host run @def? (binaries present, files readable). */
    int (*prepare)(const struct hvd_config *cfg, const struct domain_def *def, struct rpc_error *e);
    /* The monitor's argv (NULL-terminated, caller frees with monitor_argv_free). */
    char **(*argv)(const struct hvd_vm *vm, bool paused);
    /* Wait until the freshly spawned monitor answers on its control socket. */
    int (*wait_ready)(struct hvd_vm *vm, unsigned timeout_ms, struct rpc_error *e);
    int (*suspend)(struct hvd_vm *vm, struct rpc_error *e);
    int (*resume)(struct hvd_vm *vm, struct rpc_error *e);
    int (*shutdown)(struct hvd_vm *vm, struct rpc_error *e); /* ask the guest to power off */
    /* Reset the guest; NULL: cloud-hvd restarts the monitor instead. */
    int (*reboot)(struct hvd_vm *vm, struct rpc_error *e);
    /* Is the monitor answering, is the guest paused, and is it still reading
     * an incoming (restore) stream? */
    int (*query)(struct hvd_vm *vm, bool *paused, bool *incoming, struct rpc_error *e);
    int (*block_stats)(struct hvd_vm *vm, const char *target, struct hvd_block_stats *st,
                       struct rpc_error *e);
    /* Write the stopped guest's state to @fd (managed save); NULL: unsupported.
     * A monitor started with vm->restore_fd set resumes from such a stream. */
    int (*save)(struct hvd_vm *vm, int fd, struct rpc_error *e);
    /* Tell apart a guest power-off from a crash by the monitor's exit status
     * (wait(2) status). Returns a VIR_DOMAIN_SHUTOFF_* reason, or
     * HVD_EXIT_REBOOT when the guest asked for a reset the monitor leaves to us. */
    int (*exit_reason)(int wstatus);
};

extern const struct hvd_backend_ops hvd_backend_qemu;
extern const struct hvd_backend_ops hvd_backend_vmm;

/* The backend for a domain type. */
const struct hvd_backend_ops *hvd_backend_for(enum domain_virt virt);

#endif
