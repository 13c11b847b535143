/* The domain registry: every domain cloud-hvd knows, persistent definitions
 * in <state_dir>/domains/<name>.xml, running monitors in
 * <state_dir>/run/<name>/ (live.xml, state.json, control socket, log,
 * exit-status), and the lifecycle: define, undefine, start, create (transient),
 * destroy, shutdown, reboot, suspend, resume, and monitor exit. Every state
 * change emits a lifecycle event through the registry's emit callback.
 * Errors are reported in libvirt's terms (struct rpc_error). */
#ifndef NUBE_HVD_DOMAIN_H
#define NUBE_HVD_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "domain_xml.h"
#include "hvd.h"
#include "rpc.h"

struct hvd_domain {
    struct domain_def *def;  /* persistent definition; NULL for a transient domain */
    struct domain_def *live; /* the running definition; NULL when shut off */
    bool autostart;
    int id;            /* -1 when shut off */
    int state, reason; /* virDomainState and its reason */
    const struct hvd_backend_ops *ops;
    struct hvd_vm vm;
    int watch_fd;          /* pidfd readable when the monitor is gone; -1 when off */
    uint64_t vm_starttime; /* /proc start time of vm.pid, against pid reuse */
    bool destroy_requested;
    bool shutdown_requested;
    bool save_requested; /* managed save: the monitor stops after writing the image */
    bool tap_created[DOMAIN_MAX_IFACES];
};

typedef void (*hvd_event_fn)(void *opaque, const struct hvd_domain *d, int event, int detail);

struct hvd_registry {
    const struct hvd_config *cfg;
    struct hvd_domain **doms;
    size_t n;
    int next_id;
    hvd_event_fn emit;
    void *emit_opaque;
    int lock_fd; /* flock on <state_dir>/lock */
};

/* Load definitions, re-attach to monitors still running, autostart. */
int hvd_registry_open(struct hvd_registry *reg, const struct hvd_config *cfg, hvd_event_fn emit,
                      void *emit_opaque, struct err *err);
/* Forget everything in memory; running monitors keep running. */
void hvd_registry_close(struct hvd_registry *reg);

/* The definition to show: live when running, else persistent. */
const struct domain_def *hvd_domain_current(const struct hvd_domain *d);
static inline bool
hvd_domain_active(const struct hvd_domain *d)
{
    return d->live != NULL;
}

struct hvd_domain *hvd_domain_by_name(struct hvd_registry *reg, const char *name);
struct hvd_domain *hvd_domain_by_uuid(struct hvd_registry *reg, const uint8_t uuid[RPC_UUID_LEN]);
struct hvd_domain *hvd_domain_by_id(struct hvd_registry *reg, int id);

struct hvd_domain *hvd_domain_define(struct hvd_registry *reg, const char *xml,
                                     struct rpc_error *e);
/* @drop_save: also remove a managed-save image (else its presence is an error). */
int hvd_domain_undefine(struct hvd_registry *reg, struct hvd_domain *d, bool drop_save,
                        struct rpc_error *e);
/* Start @d: from its managed-save image if it has one (unless @force_boot). */
int hvd_domain_start(struct hvd_registry *reg, struct hvd_domain *d, bool paused, bool force_boot,
                     struct rpc_error *e);
struct hvd_domain *hvd_domain_create_xml(struct hvd_registry *reg, const char *xml, bool paused,
                                         struct rpc_error *e);
int hvd_domain_destroy(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e);
int hvd_domain_shutdown(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e);
int hvd_domain_reboot(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e);
int hvd_domain_suspend(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e);
int hvd_domain_resume(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e);
/* Managed save (<state_dir>/save/<name>.save and .xml): the guest's state to
 * disk and the monitor stopped; the next start restores it. */
int hvd_domain_managed_save(struct hvd_registry *reg, struct hvd_domain *d, struct rpc_error *e);
bool hvd_domain_has_managed_save(const struct hvd_registry *reg, const struct hvd_domain *d);
int hvd_domain_managed_save_remove(struct hvd_registry *reg, struct hvd_domain *d,
                                   struct rpc_error *e);
int hvd_domain_set_autostart(struct hvd_registry *reg, struct hvd_domain *d, bool on,
                             struct rpc_error *e);
/* The monitor of @d exited (its watch_fd became readable): record why. @d may be freed. */
void hvd_domain_exited(struct hvd_registry *reg, struct hvd_domain *d);
/* CPU time of the monitor in ns (0 when off). */
uint64_t hvd_domain_cpu_time(const struct hvd_domain *d);

#endif
