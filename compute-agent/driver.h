/* The hypervisor driver behind the agent: one const ops table per backend
 * (STYLE.md), the core calls through it. driver_libvirt.c is the one backend:
 * libvirt's client library, so the same code drives cloud-hvd
 * (nube+unix:///...), qemu:///system or test:///default. Domains are named. */
#ifndef NUBE_COMPUTE_DRIVER_H
#define NUBE_COMPUTE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct compute_domain {
    char name[64];
    int power_state;   /* enum compute_power */
    bool managed_save; /* shut off with a saved memory image (suspended) */
};

struct compute_driver_caps {
    char types[8][16]; /* guest domain types the hypervisor lists (kvm, qemu, test...) */
    size_t ntypes;
    bool hw_virt; /* the host CPU has vmx or svm: kvm can run stock kernels */
    char hypervisor_type[32];
    unsigned long hypervisor_version;
};

struct compute_driver;

struct compute_driver_ops {
    const char *name;
    struct compute_driver *(*open)(const char *uri, struct err *err);
    void (*close)(struct compute_driver *drv);
    /* The capabilities probe (which guest domain types exist). */
    int (*caps)(struct compute_driver *drv, struct compute_driver_caps *caps, struct err *err);
    /* Define (or redefine) a persistent domain from XML. */
    int (*define)(struct compute_driver *drv, const char *xml, struct err *err);
    /* Each of these fails with ERR_NOT_FOUND when the domain does not exist. */
    int (*start)(struct compute_driver *drv, const char *name, struct err *err);
    int (*destroy)(struct compute_driver *drv, const char *name, struct err *err); /* off: 0 */
    int (*undefine)(struct compute_driver *drv, const char *name, struct err *err);
    int (*shutdown)(struct compute_driver *drv, const char *name, struct err *err);
    int (*reboot)(struct compute_driver *drv, const char *name, struct err *err);
    int (*suspend)(struct compute_driver *drv, const char *name, struct err *err); /* pause */
    int (*resume)(struct compute_driver *drv, const char *name, struct err *err);
    /* Save memory to disk and stop (libvirt's managed save); ERR_UNSUPPORTED
     * when the hypervisor cannot. start() restores it. */
    int (*save)(struct compute_driver *drv, const char *name, struct err *err);
    /* The domain's state; ERR_NOT_FOUND when it does not exist. */
    int (*state)(struct compute_driver *drv, const char *name, struct compute_domain *out,
                 struct err *err);
    /* Every domain, running or defined (caller frees *out). */
    int (*list)(struct compute_driver *drv, struct compute_domain **out, size_t *n,
                struct err *err);
};

struct compute_driver {
    const struct compute_driver_ops *ops;
};

extern const struct compute_driver_ops compute_driver_libvirt;

#endif
