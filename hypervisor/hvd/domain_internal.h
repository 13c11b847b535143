/* Shared between domain.c (lifecycle) and domain_store.c (state folder);
 * not for the rest of the daemon. */
#ifndef NUBE_HVD_DOMAIN_INTERNAL_H
#define NUBE_HVD_DOMAIN_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#include "domain.h"

/* <state_dir>/domains/<name>.xml, autostart/<name>, save/<name>.<ext>, run/<name> */
char *domain_def_path(const struct hvd_registry *reg, const char *name);
char *domain_autostart_path(const struct hvd_registry *reg, const char *name);
char *domain_save_path(const struct hvd_registry *reg, const char *name, const char *ext);
char *domain_run_dir(const struct hvd_registry *reg, const char *name);

/* Write @data to @path atomically (temporary file, fsync, rename). */
int domain_write_file(const char *path, const char *data, struct err *err);
/* At most @max bytes of @path, NUL-terminated; NULL when unreadable. */
char *domain_read_file(const char *path, size_t max);
int domain_save_def(struct hvd_registry *reg, const struct domain_def *def, struct rpc_error *e);
void domain_save_run_state(struct hvd_registry *reg, struct hvd_domain *d);
void domain_remove_run_dir(const char *dir);

/* Start-up: persistent definitions, then monitors still running. */
void domain_load_definitions(struct hvd_registry *reg);
void domain_reattach_all(struct hvd_registry *reg);

struct hvd_domain *domain_new(struct hvd_registry *reg);
/* libvirt's duplicate checks: *found is the domain with the same uuid (and name). */
int domain_check_duplicate(struct hvd_registry *reg, const struct domain_def *def,
                           struct hvd_domain **found, struct rpc_error *e);
int domain_pidfd_open(pid_t pid);

#endif
