/* Domain XML parse/validate/format with libxml2: see domain_xml.h. */
#include "domain_xml.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "mem.h"

#define XML_ERR(e, ...) rpc_error_set((e), VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, __VA_ARGS__)
#define XML_UNSUP(e, ...)                                                                          \
    rpc_error_set((e), VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, __VA_ARGS__)

static const char *const virt_names[DOMAIN_VIRT__LAST] = {"kvm", "qemu"};

const char *
domain_virt_name(enum domain_virt virt)
{
    return virt < DOMAIN_VIRT__LAST ? virt_names[virt] : "unknown";
}

void
domain_uuid_format(const uint8_t uuid[RPC_UUID_LEN], char out[37])
{
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8],
             uuid[9], uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* libvirt accepts 32 hex digits, optionally separated by dashes, with surrounding blanks. */
int
domain_uuid_parse(const char *s, uint8_t uuid[RPC_UUID_LEN])
{
    size_t n = 0;
    while (isspace((unsigned char)*s))
        s++;
    while (*s && n < RPC_UUID_LEN * 2) {
        if (*s == '-') {
            s++;
            continue;
        }
        int v = hexval((unsigned char)*s);
        if (v < 0)
            return -1;
        if (n % 2 == 0)
            uuid[n / 2] = (uint8_t)(v << 4);
        else
            uuid[n / 2] |= (uint8_t)v;
        n++;
        s++;
    }
    while (isspace((unsigned char)*s))
        s++;
    return (n == RPC_UUID_LEN * 2 && *s == '\0') ? 0 : -1;
}

bool
domain_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || name[0] == '.')
        return false;
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr("_.+:-", *p))
            return false;
    }
    return true;
}

static bool
ifname_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    for (const char *p = s; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
            return false;
    }
    return true;
}

static bool
path_valid(const char *s)
{
    if (s[0] != '/' || strlen(s) > 4096)
        return false;
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20)
            return false;
    }
    return true;
}

static bool
mac_valid(const char *s)
{
    if (strlen(s) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? s[i] != ':' : hexval((unsigned char)s[i]) < 0)
            return false;
    }
    return (hexval((unsigned char)s[1]) & 1) == 0; /* not multicast */
}

static bool
machine_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = s; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr(".-_", *p))
            return false;
    }
    return true;
}

static bool
is_el(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static char *
prop(const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    char *s = xstrdup((const char *)v);
    xmlFree(v);
    return s;
}

static char *
text(const xmlNode *n)
{
    xmlChar *v = xmlNodeGetContent(n);
    char *s = xstrdup(v ? (const char *)v : "");
    xmlFree(v);
    return s;
}

/* Trimmed text content, for numbers and keywords. */
static char *
text_trim(const xmlNode *n)
{
    char *s = text(n);
    char *b = s;
    while (isspace((unsigned char)*b))
        b++;
    size_t len = strlen(b);
    while (len && isspace((unsigned char)b[len - 1]))
        len--;
    char *r = xstrndup(b, len);
    free(s);
    return r;
}

static const xmlNode *
child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (is_el(c, name))
            return c;
    }
    return NULL;
}

/* libvirt's scaled integers: <memory unit='MiB'>256</memory>; the result is KiB. */
static int
parse_memory(const xmlNode *n, uint64_t *kib, struct rpc_error *e)
{
    _cleanup_free_ char *v = text_trim(n);
    _cleanup_free_ char *unit = prop(n, "unit");
    char *end;
    errno = 0;
    if (!*v || !isdigit((unsigned char)*v))
        return XML_ERR(e, "invalid value '%s' for element <%s>", v, (const char *)n->name);
    unsigned long long val = strtoull(v, &end, 10);
    if (errno || *end)
        return XML_ERR(e, "invalid value '%s' for element <%s>", v, (const char *)n->name);
    static const struct {
        const char *name;
        uint64_t bytes;
    } units[] = {
        {"b", 1},          {"bytes", 1},        {"KB", 1000ull},
        {"k", 1024ull},    {"KiB", 1024ull},    {"MB", 1000000ull},
        {"M", 1ull << 20}, {"MiB", 1ull << 20}, {"GB", 1000000000ull},
        {"G", 1ull << 30}, {"GiB", 1ull << 30}, {"TB", 1000000000000ull},
        {"T", 1ull << 40}, {"TiB", 1ull << 40},
    };
    uint64_t scale = 1024;
    if (unit) {
        size_t i;
        for (i = 0; i < ARRAY_SIZE(units); i++) {
            if (!strcmp(unit, units[i].name))
                break;
        }
        if (i == ARRAY_SIZE(units))
            return XML_ERR(e, "unknown unit '%s' for element <%s>", unit, (const char *)n->name);
        scale = units[i].bytes;
    }
    const uint64_t max_bytes = 1ull << 40; /* 1 TiB */
    if (val == 0 || val > max_bytes / scale)
        return XML_ERR(e, "memory size '%s %s' out of range (1 KiB .. 1 TiB)", v,
                       unit ? unit : "KiB");
    *kib = (val * scale + 1023) / 1024;
    return 0;
}

static int
parse_os(struct domain_def *def, const xmlNode *os, struct rpc_error *e)
{
    for (const xmlNode *c = os->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        char **slot = NULL;
        if (is_el(c, "type")) {
            free(def->os_type);
            def->os_type = text_trim(c);
            free(def->arch);
            def->arch = prop(c, "arch");
            free(def->machine);
            def->machine = prop(c, "machine");
            continue;
        } else if (is_el(c, "kernel")) {
            slot = &def->kernel;
        } else if (is_el(c, "initrd")) {
            slot = &def->initrd;
        } else if (is_el(c, "loader")) {
            _cleanup_free_ char *type = prop(c, "type");
            if (type && strcmp(type, "rom"))
                return XML_UNSUP(e, "loader type '%s' is not supported (only 'rom')", type);
            slot = &def->loader;
        } else if (is_el(c, "cmdline")) {
            free(def->cmdline);
            def->cmdline = text(c);
            continue;
        } else if (is_el(c, "boot") || is_el(c, "bootmenu") || is_el(c, "smbios") ||
                   is_el(c, "bios")) {
            continue; /* boot order and BIOS options: the only boot device is the first disk */
        } else {
            return XML_UNSUP(e, "<os> element <%s> is not supported", (const char *)c->name);
        }
        free(*slot);
        *slot = text_trim(c);
        if (!path_valid(*slot))
            return XML_ERR(e, "<os><%s> must be an absolute path, got '%s'", (const char *)c->name,
                           *slot);
    }
    if (!def->os_type)
        return XML_ERR(e, "missing <os><type> element");
    if (strcmp(def->os_type, "hvm") && strcmp(def->os_type, "linux") && strcmp(def->os_type, "xen"))
        return XML_UNSUP(e, "unknown OS type '%s' (expected hvm, linux or xen)", def->os_type);
    if (def->arch && strcmp(def->arch, "x86_64"))
        return XML_UNSUP(e, "architecture '%s' is not supported (only x86_64)", def->arch);
    if (def->machine && !machine_valid(def->machine))
        return XML_ERR(e, "invalid machine type '%s'", def->machine);
    if (def->cmdline && (strlen(def->cmdline) > 4096 || strchr(def->cmdline, '\n')))
        return XML_ERR(e, "<os><cmdline> must be one line of at most 4096 bytes");
    return 0;
}

static int
parse_disk(struct domain_def *def, const xmlNode *n, struct rpc_error *e)
{
    _cleanup_free_ char *type = prop(n, "type");
    _cleanup_free_ char *device = prop(n, "device");
    if (!type || strcmp(type, "file"))
        return XML_UNSUP(e, "disk type '%s' is not supported (only 'file')", type ? type : "");
    if (device && strcmp(device, "disk"))
        return XML_UNSUP(e, "disk device '%s' is not supported (only 'disk')", device);
    if (def->ndisks == DOMAIN_MAX_DISKS)
        return XML_UNSUP(e, "too many disks (at most %d)", DOMAIN_MAX_DISKS);
    struct domain_disk *d = &def->disks[def->ndisks++];
    const xmlNode *c;
    if ((c = child(n, "source")))
        d->source = prop(c, "file");
    if (!d->source || !path_valid(d->source))
        return XML_ERR(e, "disk needs <source file='/absolute/path'/>");
    if ((c = child(n, "target"))) {
        d->target = prop(c, "dev");
        _cleanup_free_ char *bus = prop(c, "bus");
        if (bus && strcmp(bus, "virtio"))
            return XML_UNSUP(e, "disk bus '%s' is not supported (only virtio)", bus);
    }
    if (!d->target)
        return XML_ERR(e, "disk '%s' needs <target dev='vdX'/>", d->source);
    if (strlen(d->target) != 3 || strncmp(d->target, "vd", 2) || d->target[2] < 'a' ||
        d->target[2] > 'z')
        return XML_UNSUP(e, "disk target '%s' is not supported (vda..vdz)", d->target);
    for (size_t i = 0; i + 1 < def->ndisks; i++) {
        if (!strcmp(def->disks[i].target, d->target))
            return XML_ERR(e, "target '%s' duplicated for disk sources '%s' and '%s'", d->target,
                           def->disks[i].source, d->source);
    }
    if ((c = child(n, "driver"))) {
        d->format = prop(c, "type");
        if (d->format && strcmp(d->format, "raw") && strcmp(d->format, "qcow2"))
            return XML_UNSUP(e, "disk format '%s' is not supported (raw or qcow2)", d->format);
    }
    if (!d->format)
        d->format = xstrdup("raw");
    d->readonly = child(n, "readonly") != NULL;
    return 0;
}

static void
mac_random(char out[18])
{
    uint8_t b[3];
    crypto_random(b, sizeof(b));
    snprintf(out, 18, "52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]);
}

static int
parse_iface(struct domain_def *def, const xmlNode *n, struct rpc_error *e)
{
    _cleanup_free_ char *type = prop(n, "type");
    if (def->nifaces == DOMAIN_MAX_IFACES)
        return XML_UNSUP(e, "too many interfaces (at most %d)", DOMAIN_MAX_IFACES);
    struct domain_iface *f = &def->ifaces[def->nifaces++];
    if (type && !strcmp(type, "ethernet"))
        f->type = DOMAIN_IFACE_ETHERNET;
    else if (type && !strcmp(type, "bridge"))
        f->type = DOMAIN_IFACE_BRIDGE;
    else
        return XML_UNSUP(e, "interface type '%s' is not supported (ethernet or bridge)",
                         type ? type : "");
    const xmlNode *c;
    if ((c = child(n, "target"))) {
        f->tap = prop(c, "dev");
        if (f->tap && !ifname_valid(f->tap))
            return XML_ERR(e, "invalid interface target dev '%s'", f->tap);
    }
    if (f->type == DOMAIN_IFACE_BRIDGE) {
        if ((c = child(n, "source")))
            f->bridge = prop(c, "bridge");
        if (!f->bridge || !ifname_valid(f->bridge))
            return XML_ERR(e, "bridge interface needs <source bridge='name'/>");
    }
    if ((c = child(n, "model"))) {
        _cleanup_free_ char *model = prop(c, "type");
        if (model && strcmp(model, "virtio"))
            return XML_UNSUP(e, "interface model '%s' is not supported (only virtio)", model);
    }
    if ((c = child(n, "mac"))) {
        _cleanup_free_ char *mac = prop(c, "address");
        if (!mac || !mac_valid(mac))
            return XML_ERR(e, "invalid MAC address '%s'", mac ? mac : "");
        for (char *p = mac; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        strlcpy_n(f->mac, mac, sizeof(f->mac));
    } else {
        mac_random(f->mac);
    }
    return 0;
}

static int
parse_chardev(struct domain_def *def, const xmlNode *n, struct rpc_error *e)
{
    _cleanup_free_ char *type = prop(n, "type");
    bool console = is_el(n, "console");
    if (type && !strcmp(type, "file")) {
        const xmlNode *src = child(n, "source");
        _cleanup_free_ char *path = src ? prop(src, "path") : NULL;
        if (!path || !path_valid(path))
            return XML_ERR(e, "<%s type='file'> needs <source path='/absolute/path'/>",
                           (const char *)n->name);
        if (def->serial_file && strcmp(def->serial_file, path)) {
            if (console)
                return 0; /* a console aliasing another file: first serial wins */
            return XML_UNSUP(e, "only one serial port is supported");
        }
        if (!def->serial_file)
            def->serial_file = xstrdup(path);
        return 0;
    }
    if (type && (!strcmp(type, "null") || (console && !strcmp(type, "pty"))))
        return 0;
    return XML_UNSUP(e, "<%s type='%s'> is not supported (only type='file')", (const char *)n->name,
                     type ? type : "");
}

static int
parse_devices(struct domain_def *def, const xmlNode *devs, struct rpc_error *e)
{
    /* Devices with no effect on a headless guest; accepted and dropped. */
    static const char *const ignored[] = {"controller", "input", "memballoon", "video",
                                          "graphics",   "rng",   "channel"};
    for (const xmlNode *c = devs->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        int rc = 0;
        if (is_el(c, "disk"))
            rc = parse_disk(def, c, e);
        else if (is_el(c, "interface"))
            rc = parse_iface(def, c, e);
        else if (is_el(c, "serial") || is_el(c, "console"))
            rc = parse_chardev(def, c, e);
        else if (is_el(c, "emulator")) {
            free(def->emulator);
            def->emulator = text_trim(c);
        } else {
            size_t i;
            for (i = 0; i < ARRAY_SIZE(ignored); i++) {
                if (is_el(c, ignored[i]))
                    break;
            }
            if (i == ARRAY_SIZE(ignored))
                return XML_UNSUP(e, "device <%s> is not supported", (const char *)c->name);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
parse_root(struct domain_def *def, const xmlNode *root, struct rpc_error *e)
{
    if (!is_el(root, "domain"))
        return XML_ERR(e, "expected root element <domain>, got <%s>", (const char *)root->name);
    _cleanup_free_ char *type = prop(root, "type");
    if (!type)
        return XML_ERR(e, "missing domain type attribute");
    if (!strcmp(type, "kvm"))
        def->virt = DOMAIN_VIRT_KVM;
    else if (!strcmp(type, "qemu"))
        def->virt = DOMAIN_VIRT_QEMU;
    else
        return XML_UNSUP(e, "domain type '%s' is not supported (kvm or qemu)", type);

    bool have_uuid = false, have_os = false, have_mem = false;
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_el(c, "name")) {
            free(def->name);
            def->name = text_trim(c);
        } else if (is_el(c, "uuid")) {
            _cleanup_free_ char *v = text_trim(c);
            if (domain_uuid_parse(v, def->uuid) < 0)
                return XML_ERR(e, "malformed uuid element '%s'", v);
            have_uuid = true;
        } else if (is_el(c, "memory")) {
            if (parse_memory(c, &def->memory_kib, e) < 0)
                return -1;
            have_mem = true;
        } else if (is_el(c, "vcpu")) {
            _cleanup_free_ char *v = text_trim(c);
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (errno || !*v || *end || n < 1 || n > DOMAIN_MAX_VCPUS)
                return XML_ERR(e, "invalid vcpu count '%s' (1..%d)", v, DOMAIN_MAX_VCPUS);
            def->vcpus = (unsigned)n;
        } else if (is_el(c, "os")) {
            if (parse_os(def, c, e) < 0)
                return -1;
            have_os = true;
        } else if (is_el(c, "devices")) {
            if (parse_devices(def, c, e) < 0)
                return -1;
        } else if (is_el(c, "on_reboot")) {
            _cleanup_free_ char *v = text_trim(c);
            if (strcmp(v, "destroy") && strcmp(v, "restart"))
                return XML_UNSUP(e, "on_reboot action '%s' is not supported", v);
            def->reboot_destroy = !strcmp(v, "destroy");
        }
        /* Other elements (features, clock, cpu, on_poweroff, metadata, ...) do not
         * change how we run the guest; libvirt drops unknown ones as well. */
    }
    if (!def->name || !*def->name)
        return XML_ERR(e, "missing domain name information");
    if (!domain_name_valid(def->name))
        return XML_ERR(e, "domain name '%s' is not valid (1..64 of [A-Za-z0-9_.+:-])", def->name);
    if (!have_mem)
        return XML_ERR(e, "missing <memory> element");
    if (!have_os)
        return XML_ERR(e, "missing <os> element");
    if (!have_uuid)
        crypto_random(def->uuid, sizeof(def->uuid));
    if (!def->vcpus)
        def->vcpus = 1;
    if (!def->arch)
        def->arch = xstrdup("x86_64");
    if (def->virt == DOMAIN_VIRT_KVM) {
        if (!def->kernel == !def->loader)
            return XML_UNSUP(e, "kvm domains boot a kernel directly: <os><kernel> is required "
                                "(or, for test payloads, <loader type='rom'> alone)");
        for (size_t i = 0; i < def->ndisks; i++) {
            if (strcmp(def->disks[i].format, "raw"))
                return XML_UNSUP(e, "kvm domains support raw disks only, disk '%s' is %s",
                                 def->disks[i].target, def->disks[i].format);
        }
    } else {
        if (!def->machine)
            def->machine = xstrdup("pc");
        if (!def->kernel && !def->loader && def->ndisks == 0)
            return XML_UNSUP(e, "nothing to boot: add <os><kernel> or a disk");
    }
    if ((def->initrd || def->cmdline) && !def->kernel)
        return XML_ERR(e, "<initrd> and <cmdline> need <os><kernel>");
    return 0;
}

static void
xml_silent(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

struct domain_def *
domain_xml_parse(const char *xml, size_t len, struct rpc_error *e)
{
    struct domain_def *def = NULL;
    xmlDocPtr doc = NULL;
    xmlParserCtxtPtr ctxt = NULL;

    if (len > DOMAIN_XML_MAX || len > INT32_MAX) {
        XML_ERR(e, "domain XML too large (%zu bytes, at most %u)", len, DOMAIN_XML_MAX);
        goto cleanup;
    }
    xmlSetGenericErrorFunc(NULL, xml_silent);
    ctxt = xmlNewParserCtxt();
    if (!ctxt)
        abort();
    /* No network, no entity expansion, no DTD loading: untrusted input. */
    doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "domain.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    if (!doc) {
        const xmlError *xe = xmlCtxtGetLastError(ctxt);
        char msg[512] = "not well-formed";
        if (xe && xe->message) {
            snprintf(msg, sizeof(msg), "%s", xe->message);
            size_t n = strlen(msg);
            while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
                msg[--n] = '\0';
        }
        XML_ERR(e, "(domain_definition):%d: %s", xe ? xe->line : 0, msg);
        goto cleanup;
    }
    /* Domain XML never needs a DTD; refusing one keeps entity expansion
     * (billion laughs, external entities) out of reach. */
    if (doc->intSubset || doc->extSubset) {
        XML_ERR(e, "(domain_definition): a DTD or entity declaration is not allowed");
        goto cleanup;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root) {
        XML_ERR(e, "empty document");
        goto cleanup;
    }
    def = xzalloc(sizeof(*def));
    if (parse_root(def, root, e) < 0) {
        domain_def_free(def);
        def = NULL;
    }

cleanup:
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return def;
}

static xmlNodePtr
add(xmlNodePtr parent, const char *name, const char *content)
{
    return xmlNewTextChild(parent, NULL, (const xmlChar *)name, (const xmlChar *)content);
}

static void
attr(xmlNodePtr n, const char *name, const char *value)
{
    xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)value);
}

char *
domain_xml_format(const struct domain_def *def, int id)
{
    char buf[64];
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr root = xmlNewNode(NULL, (const xmlChar *)"domain");
    xmlDocSetRootElement(doc, root);
    attr(root, "type", domain_virt_name(def->virt));
    if (id >= 0) {
        snprintf(buf, sizeof(buf), "%d", id);
        attr(root, "id", buf);
    }
    add(root, "name", def->name);
    domain_uuid_format(def->uuid, buf);
    add(root, "uuid", buf);
    snprintf(buf, sizeof(buf), "%" PRIu64, def->memory_kib);
    attr(add(root, "memory", buf), "unit", "KiB");
    attr(add(root, "currentMemory", buf), "unit", "KiB");
    snprintf(buf, sizeof(buf), "%u", def->vcpus);
    attr(add(root, "vcpu", buf), "placement", "static");

    xmlNodePtr os = add(root, "os", NULL);
    xmlNodePtr type = add(os, "type", def->os_type);
    attr(type, "arch", def->arch);
    if (def->machine)
        attr(type, "machine", def->machine);
    if (def->kernel)
        add(os, "kernel", def->kernel);
    if (def->initrd)
        add(os, "initrd", def->initrd);
    if (def->cmdline)
        add(os, "cmdline", def->cmdline);
    if (def->loader)
        attr(add(os, "loader", def->loader), "type", "rom");
    add(root, "on_poweroff", "destroy");
    add(root, "on_reboot", def->reboot_destroy ? "destroy" : "restart");
    add(root, "on_crash", "destroy");

    xmlNodePtr devs = add(root, "devices", NULL);
    if (def->emulator)
        add(devs, "emulator", def->emulator);
    for (size_t i = 0; i < def->ndisks; i++) {
        const struct domain_disk *d = &def->disks[i];
        xmlNodePtr n = add(devs, "disk", NULL);
        attr(n, "type", "file");
        attr(n, "device", "disk");
        xmlNodePtr drv = add(n, "driver", NULL);
        attr(drv, "name", "qemu");
        attr(drv, "type", d->format);
        attr(add(n, "source", NULL), "file", d->source);
        xmlNodePtr t = add(n, "target", NULL);
        attr(t, "dev", d->target);
        attr(t, "bus", "virtio");
        if (d->readonly)
            add(n, "readonly", NULL);
    }
    for (size_t i = 0; i < def->nifaces; i++) {
        const struct domain_iface *f = &def->ifaces[i];
        xmlNodePtr n = add(devs, "interface", NULL);
        attr(n, "type", f->type == DOMAIN_IFACE_BRIDGE ? "bridge" : "ethernet");
        attr(add(n, "mac", NULL), "address", f->mac);
        if (f->bridge)
            attr(add(n, "source", NULL), "bridge", f->bridge);
        if (f->tap)
            attr(add(n, "target", NULL), "dev", f->tap);
        attr(add(n, "model", NULL), "type", "virtio");
    }
    if (def->serial_file) {
        const char *kinds[] = {"serial", "console"};
        for (size_t k = 0; k < 2; k++) {
            xmlNodePtr n = add(devs, kinds[k], NULL);
            attr(n, "type", "file");
            attr(add(n, "source", NULL), "path", def->serial_file);
            xmlNodePtr t = add(n, "target", NULL);
            if (k == 1)
                attr(t, "type", "serial");
            attr(t, "port", "0");
        }
    }

    xmlBufferPtr xb = xmlBufferCreate();
    xmlNodeDump(xb, doc, root, 0, 1);
    char *out = xasprintf("%s\n", (const char *)xmlBufferContent(xb));
    xmlBufferFree(xb);
    xmlFreeDoc(doc);
    return out;
}

static char *
dup_opt(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

struct domain_def *
domain_def_copy(const struct domain_def *src)
{
    struct domain_def *d = xzalloc(sizeof(*d));
    *d = *src;
    d->name = dup_opt(src->name);
    d->os_type = dup_opt(src->os_type);
    d->arch = dup_opt(src->arch);
    d->machine = dup_opt(src->machine);
    d->kernel = dup_opt(src->kernel);
    d->initrd = dup_opt(src->initrd);
    d->cmdline = dup_opt(src->cmdline);
    d->loader = dup_opt(src->loader);
    d->serial_file = dup_opt(src->serial_file);
    d->emulator = dup_opt(src->emulator);
    for (size_t i = 0; i < src->ndisks; i++) {
        d->disks[i].source = dup_opt(src->disks[i].source);
        d->disks[i].target = dup_opt(src->disks[i].target);
        d->disks[i].format = dup_opt(src->disks[i].format);
    }
    for (size_t i = 0; i < src->nifaces; i++) {
        d->ifaces[i].tap = dup_opt(src->ifaces[i].tap);
        d->ifaces[i].bridge = dup_opt(src->ifaces[i].bridge);
    }
    return d;
}

void
domain_def_free(struct domain_def *def)
{
    if (!def)
        return;
    free(def->name);
    free(def->os_type);
    free(def->arch);
    free(def->machine);
    free(def->kernel);
    free(def->initrd);
    free(def->cmdline);
    free(def->loader);
    free(def->serial_file);
    free(def->emulator);
    for (size_t i = 0; i < def->ndisks; i++) {
        free(def->disks[i].source);
        free(def->disks[i].target);
        free(def->disks[i].format);
    }
    for (size_t i = 0; i < def->nifaces; i++) {
        free(def->ifaces[i].tap);
        free(def->ifaces[i].bridge);
    }
    free(def);
}
