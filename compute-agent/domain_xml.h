/* Libvirt domain XML for an instance. */
#ifndef NUBE_COMPUTE_DOMAIN_XML_H
#define NUBE_COMPUTE_DOMAIN_XML_H

#include "compute.h"

struct domain_xml_input {
    const struct compute_instance *inst;
    const char *virt_type;    /* <domain type=...>: kvm, qemu (test for libvirt's test driver) */
    const char *disk_path;    /* the root disk, or NULL for none */
    const char *disk_format;  /* raw or qcow2 */
    const char *kernel_path;  /* vm_mode xen: direct kernel boot */
    const char *initrd_path;  /* may be NULL */
    const char *console_path; /* the serial console's log file */
};

/* The domain XML (caller frees): name nube-<uuid>, uuid = the instance's id,
 * Nube metadata, memory and vCPUs of the flavor; vm_mode xen boots the kernel
 * directly (<os><kernel>/<initrd>/<cmdline>), hvm boots the root disk through
 * the firmware. Devices: the root disk as virtio vda, the serial console to
 * a file. */
char *domain_xml_build(const struct domain_xml_input *in, struct err *err);
/* The kernel command line for a PV instance: the image's os_command_line, or
 * "console=ttyS0" plus "root=/dev/vda" when there is a root disk. */
char *domain_xml_cmdline(const struct compute_instance *inst, bool have_disk);

#endif
