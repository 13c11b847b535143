/* The libvirt driver: libvirt's client library only. One connection for the
 * agent's life (test:///default keeps its state per connection), reopened
 * when a remote daemon went away. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

#include "compute.h"
#include "driver.h"
#include "log.h"
#include "mem.h"

struct libvirt_driver {
    struct compute_driver base;
    char *uri;
    virConnectPtr conn;
};

static void
silent(void *opaque, virErrorPtr e)
{
    (void)opaque;
    (void)e;
}

/* Fill @err from libvirt's last error, with @what as context. */
static int
lv_error(struct err *err, const char *what, const char *name)
{
    virErrorPtr e = virGetLastError();
    enum err_code code = ERR_INTERNAL;
    if (e) {
        switch (e->code) {
        case VIR_ERR_NO_DOMAIN:
            code = ERR_NOT_FOUND;
            break;
        case VIR_ERR_NO_SUPPORT:
        case VIR_ERR_ARGUMENT_UNSUPPORTED:
            code = ERR_UNSUPPORTED;
            break;
        case VIR_ERR_OPERATION_INVALID:
            code = ERR_CONFLICT;
            break;
        case VIR_ERR_NO_CONNECT:
        case VIR_ERR_RPC:
        case VIR_ERR_SYSTEM_ERROR:
            code = e->domain == VIR_FROM_RPC || e->domain == VIR_FROM_REMOTE ? ERR_UNAVAILABLE
                                                                             : ERR_IO;
            break;
        default:
            break;
        }
    }
    return err_set(err, code, "%s %s: %s", what, name ? name : "",
                   e && e->message ? e->message : "unknown libvirt error");
}

static struct libvirt_driver *
lv(struct compute_driver *drv)
{
    return (struct libvirt_driver *)drv;
}

static int
lv_connect(struct libvirt_driver *d, struct err *err)
{
    if (d->conn && virConnectIsAlive(d->conn) == 1)
        return 0;
    if (d->conn) {
        log_warn("libvirt connection to %s lost: reconnecting", d->uri);
        virConnectClose(d->conn);
    }
    d->conn = virConnectOpen(d->uri);
    if (!d->conn)
        return lv_error(err, "connecting to", d->uri);
    return 0;
}

static struct compute_driver *
lv_open(const char *uri, struct err *err)
{
    virSetErrorFunc(NULL, silent);
    struct libvirt_driver *d = xzalloc(sizeof(*d));
    d->base.ops = &compute_driver_libvirt;
    d->uri = xstrdup(uri);
    if (lv_connect(d, err) < 0) {
        free(d->uri);
        free(d);
        return NULL;
    }
    return &d->base;
}

static void
lv_close(struct compute_driver *drv)
{
    if (!drv)
        return;
    struct libvirt_driver *d = lv(drv);
    if (d->conn)
        virConnectClose(d->conn);
    free(d->uri);
    free(d);
}

/* Guest domain types from the capabilities XML: every <domain type='X'/>
 * inside a <guest>, and vmx/svm among the host CPU's features. A small scan
 * of libvirt's own, well-formed output. */
static int
lv_caps(struct compute_driver *drv, struct compute_driver_caps *caps, struct err *err)
{
    struct libvirt_driver *d = lv(drv);
    memset(caps, 0, sizeof(*caps));
    if (lv_connect(d, err) < 0)
        return -1;
    char *xml = virConnectGetCapabilities(d->conn);
    if (!xml)
        return lv_error(err, "reading capabilities of", d->uri);
    const char *guest = strstr(xml, "<guest>");
    const char *host_end = guest ? guest : xml + strlen(xml);
    for (const char *p = strstr(xml, "<feature name="); p && p < host_end;
         p = strstr(p + 1, "<feature name=")) {
        const char *v = p + strlen("<feature name=") + 1;
        if (!strncmp(v, "vmx'", 4) || !strncmp(v, "svm'", 4) || !strncmp(v, "vmx\"", 4) ||
            !strncmp(v, "svm\"", 4))
            caps->hw_virt = true;
    }
    for (const char *p = guest ? strstr(guest, "<domain type=") : NULL; p;
         p = strstr(p + 1, "<domain type=")) {
        const char *v = p + strlen("<domain type=");
        char quote = *v++;
        const char *end = strchr(v, quote);
        if (!end || end - v <= 0 || (size_t)(end - v) >= sizeof(caps->types[0]))
            continue;
        bool seen = false;
        for (size_t i = 0; i < caps->ntypes; i++)
            seen |= strncmp(caps->types[i], v, (size_t)(end - v)) == 0 &&
                    caps->types[i][end - v] == '\0';
        if (!seen && caps->ntypes < ARRAY_SIZE(caps->types)) {
            memcpy(caps->types[caps->ntypes], v, (size_t)(end - v));
            caps->types[caps->ntypes][end - v] = '\0';
            caps->ntypes++;
        }
    }
    free(xml);
    const char *type = virConnectGetType(d->conn);
    snprintf(caps->hypervisor_type, sizeof(caps->hypervisor_type), "%s", type ? type : "");
    if (virConnectGetVersion(d->conn, &caps->hypervisor_version) < 0)
        caps->hypervisor_version = 0;
    return 0;
}

/* The last call failed because the connection did (a restarted cloud-hvd):
 * drop it and connect again, so the caller can retry once. */
static bool
lv_reconnect_after_failure(struct libvirt_driver *d)
{
    virErrorPtr e = virGetLastError();
    if (!e || (e->domain != VIR_FROM_RPC && e->domain != VIR_FROM_REMOTE &&
               e->code != VIR_ERR_NO_CONNECT && e->code != VIR_ERR_RPC))
        return false;
    log_warn("libvirt connection to %s failed (%s): reconnecting", d->uri,
             e->message ? e->message : "?");
    virConnectClose(d->conn);
    d->conn = NULL;
    struct err ignored = ERR_INIT;
    return lv_connect(d, &ignored) == 0;
}

static virDomainPtr
lookup(struct libvirt_driver *d, const char *name, struct err *err)
{
    if (lv_connect(d, err) < 0)
        return NULL;
    virDomainPtr dom = virDomainLookupByName(d->conn, name);
    if (!dom && lv_reconnect_after_failure(d))
        dom = virDomainLookupByName(d->conn, name);
    if (!dom)
        lv_error(err, "looking up domain", name);
    return dom;
}

static int
lv_define(struct compute_driver *drv, const char *xml, struct err *err)
{
    struct libvirt_driver *d = lv(drv);
    if (lv_connect(d, err) < 0)
        return -1;
    virDomainPtr dom = virDomainDefineXML(d->conn, xml);
    if (!dom && lv_reconnect_after_failure(d))
        dom = virDomainDefineXML(d->conn, xml);
    if (!dom)
        return lv_error(err, "defining domain", NULL);
    virDomainFree(dom);
    return 0;
}

#define LV_DOMAIN_OP(fn, what, call)                                                               \
    static int fn(struct compute_driver *drv, const char *name, struct err *err)                   \
    {                                                                                              \
        virDomainPtr dom = lookup(lv(drv), name, err);                                             \
        if (!dom)                                                                                  \
            return -1;                                                                             \
        int rc = (call) < 0 ? lv_error(err, what, name) : 0;                                       \
        virDomainFree(dom);                                                                        \
        return rc;                                                                                 \
    }

LV_DOMAIN_OP(lv_start, "starting", virDomainCreate(dom))
LV_DOMAIN_OP(lv_shutdown, "shutting down", virDomainShutdown(dom))
LV_DOMAIN_OP(lv_reboot, "rebooting", virDomainReboot(dom, 0))
LV_DOMAIN_OP(lv_suspend, "pausing", virDomainSuspend(dom))
LV_DOMAIN_OP(lv_resume, "resuming", virDomainResume(dom))
LV_DOMAIN_OP(lv_save, "saving", virDomainManagedSave(dom, 0))

static int
lv_destroy(struct compute_driver *drv, const char *name, struct err *err)
{
    virDomainPtr dom = lookup(lv(drv), name, err);
    if (!dom)
        return -1;
    int rc = 0;
    if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0 && virDomainIsActive(dom) == 1)
        rc = lv_error(err, "destroying", name);
    virDomainFree(dom);
    return rc;
}

static int
lv_undefine(struct compute_driver *drv, const char *name, struct err *err)
{
    virDomainPtr dom = lookup(lv(drv), name, err);
    if (!dom)
        return -1;
    int rc = 0;
    /* Drop a managed-save image with it; a hypervisor without managed save
     * may not take the flag. */
    if (virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE) < 0) {
        virErrorPtr e = virGetLastError();
        if (e && (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_INVALID_ARG ||
                  e->code == VIR_ERR_ARGUMENT_UNSUPPORTED)) {
            if (virDomainUndefine(dom) < 0)
                rc = lv_error(err, "undefining", name);
        } else {
            rc = lv_error(err, "undefining", name);
        }
    }
    virDomainFree(dom);
    return rc;
}

static int
power_from_libvirt(int state)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
        return COMPUTE_POWER_RUNNING;
    case VIR_DOMAIN_PAUSED:
        return COMPUTE_POWER_PAUSED;
    case VIR_DOMAIN_SHUTDOWN:
    case VIR_DOMAIN_SHUTOFF:
        return COMPUTE_POWER_SHUTDOWN;
    case VIR_DOMAIN_CRASHED:
        return COMPUTE_POWER_CRASHED;
    case VIR_DOMAIN_PMSUSPENDED:
        return COMPUTE_POWER_SUSPENDED;
    default:
        return COMPUTE_POWER_NOSTATE;
    }
}

static int
dom_state(virDomainPtr dom, struct compute_domain *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    const char *name = virDomainGetName(dom);
    snprintf(out->name, sizeof(out->name), "%s", name ? name : "");
    int state, reason;
    if (virDomainGetState(dom, &state, &reason, 0) < 0)
        return lv_error(err, "reading the state of", out->name);
    out->power_state = power_from_libvirt(state);
    if (state == VIR_DOMAIN_SHUTOFF) {
        int saved = virDomainHasManagedSaveImage(dom, 0);
        out->managed_save = saved == 1;
        if (saved < 0)
            virResetLastError(); /* a hypervisor without managed save */
    }
    return 0;
}

static int
lv_state(struct compute_driver *drv, const char *name, struct compute_domain *out, struct err *err)
{
    virDomainPtr dom = lookup(lv(drv), name, err);
    if (!dom)
        return -1;
    int rc = dom_state(dom, out, err);
    virDomainFree(dom);
    return rc;
}

static int
lv_list(struct compute_driver *drv, struct compute_domain **out, size_t *n, struct err *err)
{
    struct libvirt_driver *d = lv(drv);
    *out = NULL;
    *n = 0;
    if (lv_connect(d, err) < 0)
        return -1;
    virDomainPtr *doms = NULL;
    int count = virConnectListAllDomains(d->conn, &doms, 0);
    if (count < 0 && lv_reconnect_after_failure(d))
        count = virConnectListAllDomains(d->conn, &doms, 0);
    if (count < 0)
        return lv_error(err, "listing domains of", d->uri);
    struct compute_domain *list = xcalloc((size_t)count + 1, sizeof(*list));
    size_t k = 0;
    for (int i = 0; i < count; i++) {
        struct err e = ERR_INIT;
        if (dom_state(doms[i], &list[k], &e) == 0)
            k++;
        else
            log_warn("skipping a domain while listing: %s", e.msg); /* it went away meanwhile */
        virDomainFree(doms[i]);
    }
    free(doms);
    *out = list;
    *n = k;
    return 0;
}

const struct compute_driver_ops compute_driver_libvirt = {
    .name = "libvirt",
    .open = lv_open,
    .close = lv_close,
    .caps = lv_caps,
    .define = lv_define,
    .start = lv_start,
    .destroy = lv_destroy,
    .undefine = lv_undefine,
    .shutdown = lv_shutdown,
    .reboot = lv_reboot,
    .suspend = lv_suspend,
    .resume = lv_resume,
    .save = lv_save,
    .state = lv_state,
    .list = lv_list,
};
