/* Connection-level procedures: open/close, auth, features, host facts,
 * capabilities, domain listing, and event callback registration. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "log.h"
#include "mem.h"
#include "proc.h"
#include "server.h"

/* Procedure numbers from libvirt's src/remote/remote_protocol.x. */
enum {
    REMOTE_PROC_CONNECT_OPEN = 1,
    REMOTE_PROC_CONNECT_CLOSE = 2,
    REMOTE_PROC_CONNECT_GET_TYPE = 3,
    REMOTE_PROC_CONNECT_GET_VERSION = 4,
    REMOTE_PROC_CONNECT_GET_MAX_VCPUS = 5,
    REMOTE_PROC_NODE_GET_INFO = 6,
    REMOTE_PROC_CONNECT_GET_CAPABILITIES = 7,
    REMOTE_PROC_CONNECT_LIST_DEFINED_DOMAINS = 21,
    REMOTE_PROC_CONNECT_NUM_OF_DEFINED_DOMAINS = 25,
    REMOTE_PROC_CONNECT_LIST_DOMAINS = 37,
    REMOTE_PROC_CONNECT_NUM_OF_DOMAINS = 51,
    REMOTE_PROC_CONNECT_GET_HOSTNAME = 59,
    REMOTE_PROC_CONNECT_SUPPORTS_FEATURE = 60,
    REMOTE_PROC_AUTH_LIST = 66,
    REMOTE_PROC_NODE_GET_FREE_MEMORY = 102,
    REMOTE_PROC_CONNECT_GET_URI = 110,
    REMOTE_PROC_NODE_GET_SECURITY_MODEL = 122,
    REMOTE_PROC_CONNECT_IS_SECURE = 149,
    REMOTE_PROC_CONNECT_GET_LIB_VERSION = 157,
    REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS = 273,
    REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY = 316,
    REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY = 317,
    REMOTE_PROC_CONNECT_GET_DOMAIN_CAPABILITIES = 342,
};

/* virDrvFeature (libvirt's src/libvirt_internal.h). */
enum {
    FEATURE_TYPED_PARAM_STRING = 9,
    FEATURE_PROGRAM_KEEPALIVE = 10,
    FEATURE_REMOTE_EVENT_CALLBACK = 14,
};

#define REMOTE_AUTH_NONE 0
#define REMOTE_DOMAIN_LIST_MAX 16384
/* The libvirt release whose protocol this daemon speaks. */
#define HVD_LIBVIRT_COMPAT_VERSION 9000000ull

static int
finish(struct xdr_dec *args, struct rpc_error *e, const char *name)
{
    return xdr_dec_finish(args) < 0 ? proc_bad_args(e, name) : 0;
}

static int
p_auth_list(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ctx;
    if (finish(args, e, "auth_list") < 0)
        return -1;
    xdr_put_u32(ret, 1);
    xdr_put_i32(ret, REMOTE_AUTH_NONE);
    return 0;
}

static int
p_open(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ret;
    _cleanup_free_ char *name = NULL;
    uint32_t flags;
    xdr_get_string_opt(args, RPC_STRING_MAX, &name);
    xdr_get_u32(args, &flags);
    if (finish(args, e, "connect_open") < 0)
        return -1;
    ctx->client->open = true;
    ctx->client->readonly = (flags & VIR_CONNECT_RO) != 0;
    log_debug("client %d: open %s flags 0x%x", ctx->client->fd, name ? name : "(null)", flags);
    return 0;
}

static int
p_close(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ret;
    if (finish(args, e, "connect_close") < 0)
        return -1;
    ctx->client->open = false;
    ctx->client->ncbs = 0;
    return 0;
}

static int
p_get_type(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ctx;
    if (finish(args, e, "connect_get_type") < 0)
        return -1;
    xdr_put_string(ret, "Nube");
    return 0;
}

static int
p_get_version(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ctx;
    if (finish(args, e, "connect_get_version") < 0)
        return -1;
    xdr_put_u64(ret, HVD_VERSION_NUMBER);
    return 0;
}

static int
p_get_lib_version(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                  struct rpc_error *e)
{
    (void)ctx;
    if (finish(args, e, "connect_get_lib_version") < 0)
        return -1;
    xdr_put_u64(ret, HVD_LIBVIRT_COMPAT_VERSION);
    return 0;
}

static int
p_get_max_vcpus(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                struct rpc_error *e)
{
    (void)ctx;
    _cleanup_free_ char *type = NULL;
    xdr_get_string_opt(args, 256, &type);
    if (finish(args, e, "connect_get_max_vcpus") < 0)
        return -1;
    xdr_put_i32(ret, DOMAIN_MAX_VCPUS);
    return 0;
}

static int
p_get_hostname(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ctx;
    if (finish(args, e, "connect_get_hostname") < 0)
        return -1;
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    xdr_put_string(ret, host);
    return 0;
}

static int
p_get_uri(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ctx;
    if (finish(args, e, "connect_get_uri") < 0)
        return -1;
    xdr_put_string(ret, "nube:///system");
    return 0;
}

static int
p_is_secure(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    (void)ctx;
    if (finish(args, e, "connect_is_secure") < 0)
        return -1;
    xdr_put_i32(ret, 1); /* a local unix socket */
    return 0;
}

static int
p_supports_feature(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                   struct rpc_error *e)
{
    (void)ctx;
    int32_t feature;
    xdr_get_i32(args, &feature);
    if (finish(args, e, "connect_supports_feature") < 0)
        return -1;
    int supported = feature == FEATURE_PROGRAM_KEEPALIVE ||
                    feature == FEATURE_REMOTE_EVENT_CALLBACK ||
                    feature == FEATURE_TYPED_PARAM_STRING;
    xdr_put_i32(ret, supported);
    return 0;
}

static int
p_node_get_info(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                struct rpc_error *e)
{
    (void)ctx;
    if (finish(args, e, "node_get_info") < 0)
        return -1;
    struct caps_node n;
    caps_node_info(&n);
    /* char model[32]: a fixed XDR array of chars, one 4-byte word each */
    for (int i = 0; i < 32; i++)
        xdr_put_i32(ret, (unsigned char)n.model[i]);
    xdr_put_u64(ret, n.memory_kib);
    xdr_put_i32(ret, n.cpus);
    xdr_put_i32(ret, n.mhz);
    xdr_put_i32(ret, n.nodes);
    xdr_put_i32(ret, n.sockets);
    xdr_put_i32(ret, n.cores);
    xdr_put_i32(ret, n.threads);
    return 0;
}

static int
p_node_get_free_memory(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                       struct rpc_error *e)
{
    (void)ctx;
    if (finish(args, e, "node_get_free_memory") < 0)
        return -1;
    xdr_put_u64(ret, caps_free_memory_bytes());
    return 0;
}

static int
p_node_get_security_model(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                          struct rpc_error *e)
{
    (void)ctx;
    if (finish(args, e, "node_get_security_model") < 0)
        return -1;
    /* No security driver: empty model and DOI, as libvirt reports with "none". */
    xdr_put_u32(ret, 0);
    xdr_put_u32(ret, 0);
    return 0;
}

static int
p_get_capabilities(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                   struct rpc_error *e)
{
    if (finish(args, e, "connect_get_capabilities") < 0)
        return -1;
    _cleanup_free_ char *xml = caps_xml(ctx->srv->cfg);
    xdr_put_string(ret, xml);
    return 0;
}

static int
p_get_domain_capabilities(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                          struct rpc_error *e)
{
    _cleanup_free_ char *emulator = NULL, *arch = NULL, *machine = NULL, *virttype = NULL;
    uint32_t flags;
    xdr_get_string_opt(args, 4096, &emulator);
    xdr_get_string_opt(args, 256, &arch);
    xdr_get_string_opt(args, 256, &machine);
    xdr_get_string_opt(args, 256, &virttype);
    xdr_get_u32(args, &flags);
    if (finish(args, e, "connect_get_domain_capabilities") < 0)
        return -1;
    if (flags)
        return rpc_error_set(e, VIR_ERR_INVALID_ARG, VIR_FROM_RPC,
                             "unsupported flags (0x%x) in function %s", flags,
                             "virConnectGetDomainCapabilities");
    if (arch && strcmp(arch, "x86_64"))
        return rpc_error_set(e, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_RPC,
                             "architecture '%s' is not supported (only x86_64)", arch);
    _cleanup_free_ char *xml = caps_domain_xml(ctx->srv->cfg, virttype);
    if (!xml)
        return rpc_error_set(e, VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_RPC,
                             "virttype '%s' is not supported on this host",
                             virttype ? virttype : "(any)");
    xdr_put_string(ret, xml);
    return 0;
}

static int
p_num_of_domains(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                 struct rpc_error *e)
{
    if (finish(args, e, "connect_num_of_domains") < 0)
        return -1;
    int n = 0;
    for (size_t i = 0; i < ctx->srv->reg.n; i++)
        n += hvd_domain_active(ctx->srv->reg.doms[i]);
    xdr_put_i32(ret, n);
    return 0;
}

static int
p_num_of_defined_domains(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                         struct rpc_error *e)
{
    if (finish(args, e, "connect_num_of_defined_domains") < 0)
        return -1;
    int n = 0;
    for (size_t i = 0; i < ctx->srv->reg.n; i++)
        n += !hvd_domain_active(ctx->srv->reg.doms[i]);
    xdr_put_i32(ret, n);
    return 0;
}

static int
p_list_domains(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret, struct rpc_error *e)
{
    int32_t max;
    xdr_get_i32(args, &max);
    if (finish(args, e, "connect_list_domains") < 0)
        return -1;
    if (max < 0 || max > REMOTE_DOMAIN_LIST_MAX)
        return rpc_error_set(e, VIR_ERR_RPC, VIR_FROM_RPC, "maxids > REMOTE_DOMAIN_ID_LIST_MAX");
    size_t at = ret->len;
    uint32_t n = 0;
    xdr_put_u32(ret, 0);
    for (size_t i = 0; i < ctx->srv->reg.n && (int32_t)n < max; i++) {
        if (hvd_domain_active(ctx->srv->reg.doms[i])) {
            xdr_put_i32(ret, ctx->srv->reg.doms[i]->id);
            n++;
        }
    }
    xdr_patch_u32(ret, at, n);
    return 0;
}

static int
p_list_defined_domains(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                       struct rpc_error *e)
{
    int32_t max;
    xdr_get_i32(args, &max);
    if (finish(args, e, "connect_list_defined_domains") < 0)
        return -1;
    if (max < 0 || max > REMOTE_DOMAIN_LIST_MAX)
        return rpc_error_set(e, VIR_ERR_RPC, VIR_FROM_RPC,
                             "maxnames > REMOTE_DOMAIN_NAME_LIST_MAX");
    size_t at = ret->len;
    uint32_t n = 0;
    xdr_put_u32(ret, 0);
    for (size_t i = 0; i < ctx->srv->reg.n && (int32_t)n < max; i++) {
        const struct hvd_domain *d = ctx->srv->reg.doms[i];
        if (!hvd_domain_active(d)) {
            xdr_put_string(ret, hvd_domain_current(d)->name);
            n++;
        }
    }
    xdr_patch_u32(ret, at, n);
    return 0;
}

/* virConnectListAllDomains filter groups: a domain passes a group when the
 * group is not asked for, or when it has one of the asked-for properties. */
static bool
domain_matches(const struct hvd_registry *reg, const struct hvd_domain *d, uint32_t flags)
{
    const struct {
        uint32_t yes, no;
        bool has;
    } groups[] = {
        {VIR_CONNECT_LIST_DOMAINS_ACTIVE, VIR_CONNECT_LIST_DOMAINS_INACTIVE, hvd_domain_active(d)},
        {VIR_CONNECT_LIST_DOMAINS_PERSISTENT, VIR_CONNECT_LIST_DOMAINS_TRANSIENT, d->def != NULL},
        {VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE, VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE,
         hvd_domain_has_managed_save(reg, d)},
        {VIR_CONNECT_LIST_DOMAINS_AUTOSTART, VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART, d->autostart},
        {VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT, VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT, false},
        {VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT, VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT, false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
        if (!(flags & (groups[i].yes | groups[i].no)))
            continue;
        if (!((flags & groups[i].yes) && groups[i].has) &&
            !((flags & groups[i].no) && !groups[i].has))
            return false;
    }
    const uint32_t states = VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_PAUSED |
                            VIR_CONNECT_LIST_DOMAINS_SHUTOFF | VIR_CONNECT_LIST_DOMAINS_OTHER;
    if (flags & states) {
        uint32_t mine = d->state == VIR_DOMAIN_RUNNING   ? VIR_CONNECT_LIST_DOMAINS_RUNNING
                        : d->state == VIR_DOMAIN_PAUSED  ? VIR_CONNECT_LIST_DOMAINS_PAUSED
                        : d->state == VIR_DOMAIN_SHUTOFF ? VIR_CONNECT_LIST_DOMAINS_SHUTOFF
                                                         : VIR_CONNECT_LIST_DOMAINS_OTHER;
        if (!(flags & mine))
            return false;
    }
    return true;
}

static int
p_list_all_domains(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                   struct rpc_error *e)
{
    int32_t need_results;
    uint32_t flags;
    xdr_get_i32(args, &need_results);
    xdr_get_u32(args, &flags);
    if (finish(args, e, "connect_list_all_domains") < 0)
        return -1;
    size_t at = ret->len;
    uint32_t n = 0;
    xdr_put_u32(ret, 0);
    for (size_t i = 0; i < ctx->srv->reg.n && n < REMOTE_DOMAIN_LIST_MAX; i++) {
        const struct hvd_domain *d = ctx->srv->reg.doms[i];
        if (!domain_matches(&ctx->srv->reg, d, flags))
            continue;
        if (need_results) {
            const struct domain_def *def = hvd_domain_current(d);
            rpc_domain_ref_encode(ret, def->name, def->uuid, d->id);
        }
        n++;
    }
    if (need_results)
        xdr_patch_u32(ret, at, n);
    xdr_put_u32(ret, n);
    return 0;
}

static int
p_event_register(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                 struct rpc_error *e)
{
    int32_t event_id;
    uint32_t has_dom;
    struct rpc_domain_ref ref = {0};
    xdr_get_i32(args, &event_id);
    xdr_get_u32(args, &has_dom);
    if (has_dom == 1)
        rpc_domain_ref_decode(args, &ref);
    int rc = has_dom > 1 ? proc_bad_args(e, "event_register") : finish(args, e, "event_register");
    if (rc < 0)
        goto cleanup;
    struct hvd_client *c = ctx->client;
    if (event_id < 0 || event_id >= 64) {
        rc = rpc_error_set(e, VIR_ERR_INVALID_ARG, VIR_FROM_RPC, "unsupported event ID %d",
                           event_id);
        goto cleanup;
    }
    if (c->ncbs == SERVER_MAX_CALLBACKS) {
        rc = rpc_error_set(e, VIR_ERR_RPC, VIR_FROM_RPC, "too many event callbacks (%d)",
                           SERVER_MAX_CALLBACKS);
        goto cleanup;
    }
    struct hvd_event_cb *cb = &c->cbs[c->ncbs++];
    cb->id = ctx->srv->next_cb_id++;
    cb->event_id = event_id;
    cb->has_dom = has_dom == 1;
    memcpy(cb->uuid, ref.uuid, RPC_UUID_LEN);
    xdr_put_i32(ret, cb->id);
cleanup:
    rpc_domain_ref_clear(&ref);
    return rc;
}

static int
p_event_deregister(struct proc_ctx *ctx, struct xdr_dec *args, struct xdr_enc *ret,
                   struct rpc_error *e)
{
    (void)ret;
    int32_t id;
    xdr_get_i32(args, &id);
    if (finish(args, e, "event_deregister") < 0)
        return -1;
    struct hvd_client *c = ctx->client;
    for (size_t i = 0; i < c->ncbs; i++) {
        if (c->cbs[i].id == id) {
            memmove(&c->cbs[i], &c->cbs[i + 1], (c->ncbs - i - 1) * sizeof(c->cbs[0]));
            c->ncbs--;
            return 0;
        }
    }
    return rpc_error_set(e, VIR_ERR_INVALID_ARG, VIR_FROM_RPC,
                         "domain event callback %d not registered", id);
}

const struct proc_entry proc_connect_table[] = {
    {REMOTE_PROC_CONNECT_OPEN, "connect_open", p_open, PROC_ARGS_SMALL + 4096, true, false},
    {REMOTE_PROC_CONNECT_CLOSE, "connect_close", p_close, PROC_ARGS_NONE, true, false},
    {REMOTE_PROC_AUTH_LIST, "auth_list", p_auth_list, PROC_ARGS_NONE, true, false},
    {REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, "connect_supports_feature", p_supports_feature,
     PROC_ARGS_SMALL, true, false},
    {REMOTE_PROC_CONNECT_GET_TYPE, "connect_get_type", p_get_type, PROC_ARGS_NONE, false, false},
    {REMOTE_PROC_CONNECT_GET_VERSION, "connect_get_version", p_get_version, PROC_ARGS_NONE, false,
     false},
    {REMOTE_PROC_CONNECT_GET_LIB_VERSION, "connect_get_lib_version", p_get_lib_version,
     PROC_ARGS_NONE, false, false},
    {REMOTE_PROC_CONNECT_GET_MAX_VCPUS, "connect_get_max_vcpus", p_get_max_vcpus, PROC_ARGS_SMALL,
     false, false},
    {REMOTE_PROC_CONNECT_GET_HOSTNAME, "connect_get_hostname", p_get_hostname, PROC_ARGS_NONE,
     false, false},
    {REMOTE_PROC_CONNECT_GET_URI, "connect_get_uri", p_get_uri, PROC_ARGS_NONE, false, false},
    {REMOTE_PROC_CONNECT_IS_SECURE, "connect_is_secure", p_is_secure, PROC_ARGS_NONE, false, false},
    {REMOTE_PROC_NODE_GET_INFO, "node_get_info", p_node_get_info, PROC_ARGS_NONE, false, false},
    {REMOTE_PROC_NODE_GET_FREE_MEMORY, "node_get_free_memory", p_node_get_free_memory,
     PROC_ARGS_NONE, false, false},
    {REMOTE_PROC_NODE_GET_SECURITY_MODEL, "node_get_security_model", p_node_get_security_model,
     PROC_ARGS_NONE, false, false},
    {REMOTE_PROC_CONNECT_GET_CAPABILITIES, "connect_get_capabilities", p_get_capabilities,
     PROC_ARGS_NONE, false, false},
    {REMOTE_PROC_CONNECT_GET_DOMAIN_CAPABILITIES, "connect_get_domain_capabilities",
     p_get_domain_capabilities, PROC_ARGS_SMALL + 8192, false, false},
    {REMOTE_PROC_CONNECT_NUM_OF_DOMAINS, "connect_num_of_domains", p_num_of_domains, PROC_ARGS_NONE,
     false, false},
    {REMOTE_PROC_CONNECT_NUM_OF_DEFINED_DOMAINS, "connect_num_of_defined_domains",
     p_num_of_defined_domains, PROC_ARGS_NONE, false, false},
    {REMOTE_PROC_CONNECT_LIST_DOMAINS, "connect_list_domains", p_list_domains, PROC_ARGS_SMALL,
     false, false},
    {REMOTE_PROC_CONNECT_LIST_DEFINED_DOMAINS, "connect_list_defined_domains",
     p_list_defined_domains, PROC_ARGS_SMALL, false, false},
    {REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, "connect_list_all_domains", p_list_all_domains,
     PROC_ARGS_SMALL, false, false},
    {REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
     "connect_domain_event_callback_register_any", p_event_register, PROC_ARGS_SMALL, false, false},
    {REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
     "connect_domain_event_callback_deregister_any", p_event_deregister, PROC_ARGS_SMALL, false,
     false},
};
const size_t proc_connect_count = ARRAY_SIZE(proc_connect_table);
