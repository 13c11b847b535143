/* Host facts and the capabilities XML: see caps.h. */
#include "caps.h"

#include <fcntl.h>
#include <stdarg.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mem.h"

static uint64_t
meminfo_kib(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return 0;
    char line[256];
    uint64_t v = 0;
    size_t klen = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, key, klen) && line[klen] == ':') {
            v = strtoull(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

void
caps_node_info(struct caps_node *n)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->model, sizeof(n->model), "x86_64");
    n->memory_kib = meminfo_kib("MemTotal");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    n->cpus = cpus > 0 ? (int)cpus : 1;
    n->nodes = 1;
    n->sockets = 1;
    n->cores = n->cpus;
    n->threads = 1;
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (f) {
        char line[512];
        while (fgets(line, sizeof(line), f)) {
            if (!strncmp(line, "cpu MHz", 7)) {
                char *colon = strchr(line, ':');
                if (colon)
                    n->mhz = atoi(colon + 1);
                break;
            }
        }
        fclose(f);
    }
}

uint64_t
caps_free_memory_bytes(void)
{
    return meminfo_kib("MemFree") * 1024;
}

bool
caps_kvm_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    int v = ioctl(fd, KVM_GET_API_VERSION, 0);
    close(fd);
    return v == KVM_API_VERSION;
}

const char *
caps_hw_virt_flag(void)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return NULL;
    const char *found = NULL;
    char *line = NULL;
    size_t cap = 0;
    while (!found && getline(&line, &cap, f) > 0) {
        if (strncmp(line, "flags", 5))
            continue;
        if (strstr(line, " vmx"))
            found = "vmx";
        else if (strstr(line, " svm"))
            found = "svm";
        break;
    }
    free(line);
    fclose(f);
    return found;
}

static void
host_uuid(char out[37])
{
    char id[64] = "";
    FILE *f = fopen("/etc/machine-id", "re");
    if (f) {
        if (!fgets(id, sizeof(id), f))
            id[0] = '\0';
        fclose(f);
    }
    if (strlen(id) < 32) {
        snprintf(out, 37, "00000000-0000-0000-0000-000000000000");
        return;
    }
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", id, id + 8, id + 12, id + 16, id + 20);
}

static void append(char **buf, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
append(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    *buf = xrealloc(*buf, *len + (size_t)n + 1);
    memcpy(*buf + *len, s, (size_t)n + 1);
    *len += (size_t)n;
    free(s);
}

char *
caps_xml(const struct hvd_config *cfg)
{
    char *x = NULL;
    size_t len = 0;
    char uuid[37];
    struct caps_node n;
    caps_node_info(&n);
    host_uuid(uuid);
    const char *hw = caps_hw_virt_flag();
    bool qemu = access(cfg->qemu_path, X_OK) == 0;
    bool kvm = caps_kvm_usable() && access(cfg->vmm_path, X_OK) == 0;

    append(&x, &len, "<capabilities>\n  <host>\n    <uuid>%s</uuid>\n    <cpu>\n", uuid);
    append(&x, &len, "      <arch>x86_64</arch>\n");
    append(&x, &len, "      <topology sockets='%d' dies='1' cores='%d' threads='%d'/>\n", n.sockets,
           n.cores, n.threads);
    if (hw)
        append(&x, &len, "      <feature name='%s'/>\n", hw);
    append(&x, &len, "    </cpu>\n");
    append(&x, &len, "    <power_management/>\n    <iommu support='no'/>\n");
    append(&x, &len, "    <migration_features/>\n");
    append(&x, &len,
           "    <secmodel>\n      <model>none</model>\n      <doi>0</doi>\n    </secmodel>\n");
    append(&x, &len, "  </host>\n");
    /* PV direct kernel boot ('xen' and 'linux' OS types) runs on cloud-vmm
     * (kvm) and on QEMU (qemu); full 'hvm' guests on QEMU only, for now. */
    static const char *const os_types[] = {"hvm", "xen", "linux"};
    for (size_t i = 0; i < sizeof(os_types) / sizeof(os_types[0]); i++) {
        bool pv = i > 0;
        if (!qemu && !(pv && kvm))
            continue;
        append(&x, &len, "  <guest>\n    <os_type>%s</os_type>\n    <arch name='x86_64'>\n",
               os_types[i]);
        append(&x, &len, "      <wordsize>64</wordsize>\n");
        if (qemu) {
            append(&x, &len, "      <emulator>%s</emulator>\n", cfg->qemu_path);
            append(&x, &len, "      <machine>pc</machine>\n      <machine>q35</machine>\n");
            append(&x, &len, "      <domain type='qemu'/>\n");
        }
        if (pv && kvm)
            append(&x, &len,
                   "      <domain type='kvm'>\n        <emulator>%s</emulator>\n      </domain>\n",
                   cfg->vmm_path);
        append(&x, &len, "    </arch>\n    <features>\n      <acpi default='on' toggle='no'/>\n");
        append(&x, &len, "    </features>\n  </guest>\n");
    }
    append(&x, &len, "</capabilities>\n");
    return x;
}

char *
caps_domain_xml(const struct hvd_config *cfg, const char *virttype)
{
    bool qemu = access(cfg->qemu_path, X_OK) == 0;
    bool kvm = caps_kvm_usable() && access(cfg->vmm_path, X_OK) == 0;
    if (!virttype)
        virttype = kvm ? "kvm" : "qemu";
    bool is_kvm = !strcmp(virttype, "kvm");
    if (is_kvm ? !kvm : (strcmp(virttype, "qemu") || !qemu))
        return NULL;
    char *x = NULL;
    size_t len = 0;
    append(&x, &len, "<domainCapabilities>\n  <path>%s</path>\n  <domain>%s</domain>\n",
           is_kvm ? cfg->vmm_path : cfg->qemu_path, virttype);
    if (!is_kvm)
        append(&x, &len, "  <machine>pc</machine>\n");
    append(&x, &len, "  <arch>x86_64</arch>\n  <vcpu max='255'/>\n");
    append(&x, &len,
           "  <os supported='yes'>\n    <loader supported='yes'>\n"
           "      <enum name='type'>\n        <value>rom</value>\n      </enum>\n"
           "    </loader>\n  </os>\n");
    append(&x, &len,
           "  <devices>\n    <disk supported='yes'>\n"
           "      <enum name='diskDevice'>\n        <value>disk</value>\n      </enum>\n"
           "      <enum name='bus'>\n        <value>virtio</value>\n      </enum>\n"
           "    </disk>\n    <graphics supported='no'/>\n    <video supported='no'/>\n"
           "    <hostdev supported='no'/>\n  </devices>\n");
    append(&x, &len, "</domainCapabilities>\n");
    return x;
}
