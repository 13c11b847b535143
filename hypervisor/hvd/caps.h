/* What this host is and can run: node info, and the capabilities XML whose
 * guest types come from probes (QEMU binary present; /dev/kvm answering the
 * KVM API and cloud-vmm present), never from guesses. */
#ifndef NUBE_HVD_CAPS_H
#define NUBE_HVD_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "hvd.h"

struct caps_node {
    char model[32];
    uint64_t memory_kib;
    int cpus, mhz, nodes, sockets, cores, threads;
};

void caps_node_info(struct caps_node *n);
uint64_t caps_free_memory_bytes(void);
/* KVM_GET_API_VERSION on /dev/kvm answers 12. */
bool caps_kvm_usable(void);
/* The CPU advertises hardware virtualisation (vmx or svm); PVM-backed
 * /dev/kvm (these CI machines) does not. NULL when neither. */
const char *caps_hw_virt_flag(void);
char *caps_xml(const struct hvd_config *cfg);
/* virConnectGetDomainCapabilities for @virttype ("kvm" or "qemu"; NULL: the
 * best this host runs); NULL when the host cannot run that type. */
char *caps_domain_xml(const struct hvd_config *cfg, const char *virttype);

#endif
