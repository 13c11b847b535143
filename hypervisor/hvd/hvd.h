/* cloud-hvd: settings shared by the daemon's parts. */
#ifndef NUBE_HVD_H
#define NUBE_HVD_H

#include <stdbool.h>
#include <sys/types.h>

#define HVD_VERSION_NUMBER 1000 /* 0.1.0 as libvirt encodes versions: major*1e6+minor*1e3+micro */

struct hvd_config {
    char *socket_path;         /* [hvd] socket */
    char *state_dir;           /* [hvd] state_dir */
    char *vmm_path;            /* [hvd] vmm: the cloud-vmm binary */
    char *qemu_path;           /* [hvd] qemu: qemu-system-x86_64 */
    unsigned socket_mode;      /* [hvd] socket_mode, octal */
    bool qemu_sandbox;         /* [hvd] qemu_sandbox: -sandbox on,... */
    unsigned start_timeout_ms; /* [hvd] start_timeout_ms: monitor must answer within */
    /* [hvd] monitor_user: monitors run as this user (its groups too, e.g. kvm
     * for /dev/kvm); NULL runs them as the daemon's user. */
    char *monitor_user;
    uid_t monitor_uid;
    gid_t monitor_gid;
    gid_t *monitor_groups;
    int monitor_ngroups;
};

#endif
