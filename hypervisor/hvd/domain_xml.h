/* Domain XML in libvirt's format (https://libvirt.org/formatdomain.html), the
 * subset cloud-hvd runs: parsed with libxml2 into struct domain_def, validated
 * with errors that name the element, and formatted back. */
#ifndef NUBE_HVD_DOMAIN_XML_H
#define NUBE_HVD_DOMAIN_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

#define DOMAIN_MAX_DISKS 16
#define DOMAIN_MAX_IFACES 8
#define DOMAIN_MAX_VCPUS 255
#define DOMAIN_XML_MAX RPC_STRING_MAX

enum domain_virt { DOMAIN_VIRT_KVM, DOMAIN_VIRT_QEMU, DOMAIN_VIRT__LAST };

enum domain_iface_type { DOMAIN_IFACE_ETHERNET, DOMAIN_IFACE_BRIDGE };

struct domain_disk {
    char *source; /* <source file> */
    char *target; /* <target dev>, vd[a-z] */
    char *format; /* <driver type>: raw or qcow2 */
    bool readonly;
};

struct domain_iface {
    enum domain_iface_type type;
    char *tap;    /* <target dev>; NULL: chosen at start (vnetN) */
    char *bridge; /* <source bridge> for type='bridge' */
    char mac[18]; /* aa:bb:cc:dd:ee:ff */
};

struct domain_def {
    enum domain_virt virt;
    char *name;
    uint8_t uuid[RPC_UUID_LEN];
    uint64_t memory_kib;
    unsigned vcpus;
    char *os_type; /* hvm, linux or xen */
    char *arch;    /* x86_64 */
    char *machine; /* qemu only: pc or q35 */
    char *kernel;
    char *initrd;
    char *cmdline;
    char *loader;        /* <loader type='rom'>: kvm: a raw real-mode payload; qemu: -bios */
    char *serial_file;   /* <serial type='file'><source path> */
    char *emulator;      /* <emulator>, informative */
    bool reboot_destroy; /* <on_reboot>destroy</on_reboot> */
    size_t ndisks;
    struct domain_disk disks[DOMAIN_MAX_DISKS];
    size_t nifaces;
    struct domain_iface ifaces[DOMAIN_MAX_IFACES];
};

/* Parse and validate @xml (at most DOMAIN_XML_MAX bytes). A missing <uuid>
 * gets a random one, a missing <mac> a random 52:54:00 address. On failure
 * @e holds VIR_ERR_XML_ERROR (not well-formed, bad value),
 * VIR_ERR_CONFIG_UNSUPPORTED (valid libvirt, not something we run) or
 * VIR_ERR_XML_DETAIL, with a message naming the element. */
struct domain_def *domain_xml_parse(const char *xml, size_t len, struct rpc_error *e);
/* Format @def; @id >= 0 adds id='N' as libvirt does for running domains. */
char *domain_xml_format(const struct domain_def *def, int id);
void domain_def_free(struct domain_def *def);
struct domain_def *domain_def_copy(const struct domain_def *def);

const char *domain_virt_name(enum domain_virt virt);
/* "xxxxxxxx-xxxx-..." (37 bytes with NUL) and back. */
void domain_uuid_format(const uint8_t uuid[RPC_UUID_LEN], char out[37]);
int domain_uuid_parse(const char *s, uint8_t uuid[RPC_UUID_LEN]);
/* A domain name safe for a file name: 1..64 of [A-Za-z0-9_.+:-], not starting with '.'. */
bool domain_name_valid(const char *name);

#endif
