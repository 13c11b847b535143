/* The virtio devices of cloud-vmm, each behind the modern virtio-pci
 * transport (virtio/pci.c). main.c creates them after pci_bus_new(); each
 * registers itself with the core (vm_device_add) and is freed by it. */
#ifndef NUBE_VMM_VIRTIO_VIRTIO_H
#define NUBE_VMM_VIRTIO_VIRTIO_H

#include <stdbool.h>

#include "../hw/pci.h"
#include "../vmm.h"

/* A raw image at @path; @read_only offers VIRTIO_BLK_F_RO and rejects writes. */
int virtio_blk_create(struct vm *vm, struct pci_bus *bus, const char *path, bool read_only,
                      struct err *err);
/* Attach to the existing tap interface @tap_ifname; @mac "52:54:00:12:34:56",
 * or NULL to generate a locally administered one. */
int virtio_net_create(struct vm *vm, struct pci_bus *bus, const char *tap_ifname, const char *mac,
                      struct err *err);
/* Entropy from getrandom(). */
int virtio_rng_create(struct vm *vm, struct pci_bus *bus, struct err *err);

#endif
