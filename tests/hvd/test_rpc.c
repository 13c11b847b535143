/* XDR encoding/decoding with strict bounds, libvirt's frame header, the error
 * body, and the dispatch table: replies, "unsupported" for unknown
 * procedures, size checks, calls before open. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "mem.h"
#include "proc.h"
#include "rpc.h"
#include "server.h"
#include "xdr.h"

static void
check_encode(void)
{
    struct xdr_enc x;
    xdr_enc_init(&x);
    xdr_put_u32(&x, 0x01020304);
    xdr_put_i32(&x, -2);
    xdr_put_u64(&x, 0x1122334455667788ull);
    xdr_put_string(&x, "abcde");
    xdr_put_string_opt(&x, NULL);
    xdr_put_opaque(&x, "", 0);
    static const uint8_t want[] = {1,    2,    3,    4,    0xff, 0xff, 0xff, 0xfe, 0x11,
                                   0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0,    0,
                                   0,    5,    'a',  'b',  'c',  'd',  'e',  0,    0,
                                   0,    0,    0,    0,    0,    0,    0,    0,    0};
    CHECK_INT(x.len, sizeof(want));
    CHECK(x.len == sizeof(want) && memcmp(x.buf, want, sizeof(want)) == 0);

    struct xdr_dec d;
    xdr_dec_init(&d, x.buf, x.len);
    uint32_t u;
    int32_t i;
    uint64_t q;
    char *s = NULL, *o = NULL, *empty = NULL;
    CHECK_INT(xdr_get_u32(&d, &u), 0);
    CHECK_INT(u, 0x01020304);
    CHECK_INT(xdr_get_i32(&d, &i), 0);
    CHECK_INT(i, -2);
    CHECK_INT(xdr_get_u64(&d, &q), 0);
    CHECK(q == 0x1122334455667788ull);
    CHECK_INT(xdr_get_string(&d, 5, &s), 0);
    CHECK_STR(s, "abcde");
    CHECK_INT(xdr_get_string_opt(&d, 100, &o), 0);
    CHECK(o == NULL);
    CHECK_INT(xdr_get_string(&d, 100, &empty), 0);
    CHECK_STR(empty, "");
    CHECK_INT(xdr_dec_finish(&d), 0);
    free(s);
    free(empty);

    /* A string longer than the caller's maximum is refused before allocation. */
    xdr_dec_init(&d, x.buf, x.len);
    xdr_get_u32(&d, &u);
    xdr_get_i32(&d, &i);
    xdr_get_u64(&d, &q);
    CHECK_INT(xdr_get_string(&d, 4, &s), -1);
    CHECK(s == NULL);
    CHECK(d.failed);
    CHECK_INT(xdr_get_u32(&d, &u), -1); /* sticky failure */
    xdr_enc_free(&x);
}

static void
check_decode_hostile(void)
{
    struct xdr_dec d;
    char *s;
    uint32_t u;
    /* truncated word */
    static const uint8_t three[] = {0, 0, 1};
    xdr_dec_init(&d, three, sizeof(three));
    CHECK_INT(xdr_get_u32(&d, &u), -1);
    /* length beyond the buffer */
    static const uint8_t longlen[] = {0x7f, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd'};
    xdr_dec_init(&d, longlen, sizeof(longlen));
    CHECK_INT(xdr_get_string(&d, (size_t)-1, &s), -1);
    /* length 0xffffffff: no overflow in length + padding */
    static const uint8_t maxlen[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    xdr_dec_init(&d, maxlen, sizeof(maxlen));
    CHECK_INT(xdr_get_string(&d, (size_t)-1, &s), -1);
    /* embedded NUL */
    static const uint8_t nul[] = {0, 0, 0, 3, 'a', 0, 'b', 0};
    xdr_dec_init(&d, nul, sizeof(nul));
    CHECK_INT(xdr_get_string(&d, 100, &s), -1);
    /* non-zero padding */
    static const uint8_t pad[] = {0, 0, 0, 1, 'a', 1, 0, 0};
    xdr_dec_init(&d, pad, sizeof(pad));
    CHECK_INT(xdr_get_string(&d, 100, &s), -1);
    /* an optional-pointer flag that is neither 0 nor 1 */
    static const uint8_t flag[] = {0, 0, 0, 2};
    xdr_dec_init(&d, flag, sizeof(flag));
    CHECK_INT(xdr_get_string_opt(&d, 100, &s), -1);
    /* trailing bytes make strict decoding fail */
    static const uint8_t extra[] = {0, 0, 0, 1, 0, 0, 0, 2};
    xdr_dec_init(&d, extra, sizeof(extra));
    CHECK_INT(xdr_get_u32(&d, &u), 0);
    CHECK_INT(xdr_dec_finish(&d), -1);
}

static void
check_frames(void)
{
    /* The bytes virsh sends first, measured with socat: REMOTE_PROC_AUTH_LIST. */
    static const uint8_t auth_list[] = {0x00, 0x00, 0x00, 0x1c, 0x20, 0x00, 0x80, 0x86, 0x00, 0x00,
                                        0x00, 0x01, 0x00, 0x00, 0x00, 0x42, 0x00, 0x00, 0x00, 0x00,
                                        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK_INT(rpc_frame_length(auth_list), 28);
    struct rpc_header h;
    const uint8_t *body;
    size_t body_len;
    struct err err = ERR_INIT;
    CHECK_INT(rpc_header_decode(auth_list + 4, 24, &h, &body, &body_len, &err), 0);
    CHECK_INT(h.prog, RPC_PROG_REMOTE);
    CHECK_INT(h.vers, 1);
    CHECK_INT(h.proc, 66);
    CHECK_INT(h.type, RPC_CALL);
    CHECK_INT(body_len, 0);

    static const uint8_t small[] = {0, 0, 0, 27};
    static const uint8_t huge[] = {0x7f, 0, 0, 0};
    CHECK_INT(rpc_frame_length(small), -1);
    CHECK_INT(rpc_frame_length(huge), -1);
    uint8_t bad_type[24];
    memcpy(bad_type, auth_list + 4, 24);
    bad_type[15] = 9;
    CHECK_INT(rpc_header_decode(bad_type, 24, &h, &body, &body_len, &err), -1);
    CHECK_INT(rpc_header_decode(auth_list + 4, 20, &h, &body, &body_len, &err), -1);

    /* An error reply: header, then remote_error. */
    struct rpc_error e;
    rpc_error_set(&e, VIR_ERR_NO_DOMAIN, VIR_FROM_DOMAIN, "no domain with matching name '%s'", "x");
    CHECK_STR(e.message, "Domain not found: no domain with matching name 'x'");
    struct xdr_enc x;
    xdr_enc_init(&x);
    struct rpc_header call = {RPC_PROG_REMOTE, 1, 23, RPC_CALL, 7, RPC_OK};
    rpc_frame_error(&x, &call, &e);
    CHECK_INT(rpc_frame_length(x.buf), (long)x.len);
    CHECK_INT(rpc_header_decode(x.buf + 4, x.len - 4, &h, &body, &body_len, &err), 0);
    CHECK_INT(h.type, RPC_REPLY);
    CHECK_INT(h.status, RPC_ERROR);
    CHECK_INT(h.serial, 7);
    struct xdr_dec d;
    xdr_dec_init(&d, body, body_len);
    int32_t code, domain, level, int1, int2;
    uint32_t dom, net;
    char *msg, *s1, *s2, *s3;
    xdr_get_i32(&d, &code);
    xdr_get_i32(&d, &domain);
    xdr_get_string_opt(&d, 4096, &msg);
    xdr_get_i32(&d, &level);
    xdr_get_u32(&d, &dom);
    xdr_get_string_opt(&d, 4096, &s1);
    xdr_get_string_opt(&d, 4096, &s2);
    xdr_get_string_opt(&d, 4096, &s3);
    xdr_get_i32(&d, &int1);
    xdr_get_i32(&d, &int2);
    xdr_get_u32(&d, &net);
    CHECK_INT(xdr_dec_finish(&d), 0);
    CHECK_INT(code, VIR_ERR_NO_DOMAIN);
    CHECK_INT(domain, VIR_FROM_DOMAIN);
    CHECK_STR(msg, e.message);
    CHECK_INT(level, VIR_ERR_ERROR);
    CHECK_INT(dom, 0);
    CHECK_INT(net, 0);
    free(msg);
    xdr_enc_free(&x);
}

/* Run one call through the dispatch table; returns the reply's status and
 * leaves the body in @body (an error's code in *code). */
static int
call(struct proc_ctx *ctx, int32_t proc, const struct xdr_enc *args, struct xdr_enc *out, int *code)
{
    struct rpc_header h = {RPC_PROG_REMOTE, 1, proc, RPC_CALL, 42, RPC_OK};
    out->len = 0;
    proc_dispatch(ctx, &h, args ? args->buf : NULL, args ? args->len : 0, out);
    struct rpc_header r;
    const uint8_t *body;
    size_t body_len;
    struct err err = ERR_INIT;
    if (rpc_frame_length(out->buf) != (long)out->len ||
        rpc_header_decode(out->buf + 4, out->len - 4, &r, &body, &body_len, &err) < 0)
        return -1;
    CHECK_INT(r.serial, 42);
    CHECK_INT(r.proc, proc);
    CHECK_INT(r.type, RPC_REPLY);
    *code = 0;
    if (r.status == RPC_ERROR) {
        struct xdr_dec d;
        xdr_dec_init(&d, body, body_len);
        int32_t c;
        xdr_get_i32(&d, &c);
        *code = c;
    }
    return (int)r.status;
}

static void
check_dispatch(void)
{
    char qemu[] = "/nonexistent/qemu", vmm[] = "/nonexistent/vmm", state[] = "/nonexistent";
    struct hvd_config cfg = {.qemu_path = qemu, .vmm_path = vmm, .state_dir = state};
    struct hvd_server srv;
    memset(&srv, 0, sizeof(srv));
    srv.cfg = &cfg;
    srv.reg.cfg = &cfg;
    srv.next_cb_id = 1;
    struct hvd_client client;
    memset(&client, 0, sizeof(client));
    struct proc_ctx ctx = {&srv, &client};
    struct xdr_enc out, args;
    xdr_enc_init(&out);
    xdr_enc_init(&args);
    int code;

    /* Before open: auth list and features only. */
    CHECK_INT(call(&ctx, 66, NULL, &out, &code), RPC_OK);
    CHECK_INT(out.len, 4 + 24 + 8); /* one auth type: REMOTE_AUTH_NONE */
    CHECK_INT(call(&ctx, 59, NULL, &out, &code), RPC_ERROR);
    CHECK_INT(code, VIR_ERR_RPC);

    /* open(name = "nube:///system", flags = 0) */
    xdr_put_string_opt(&args, "nube:///system");
    xdr_put_u32(&args, 0);
    CHECK_INT(call(&ctx, 1, &args, &out, &code), RPC_OK);
    CHECK(client.open);

    /* Unknown procedures answer libvirt's "unsupported" error. */
    CHECK_INT(call(&ctx, 283, NULL, &out, &code), RPC_ERROR);
    CHECK_INT(code, VIR_ERR_NO_SUPPORT);
    CHECK_INT(call(&ctx, -5, NULL, &out, &code), RPC_ERROR);
    CHECK_INT(code, VIR_ERR_NO_SUPPORT);

    /* Arguments to a procedure that takes none, or too many bytes. */
    CHECK_INT(call(&ctx, 59, &args, &out, &code), RPC_ERROR);
    CHECK_INT(code, VIR_ERR_RPC);
    /* Truncated arguments. */
    args.len = 0;
    xdr_put_u32(&args, 1);
    CHECK_INT(call(&ctx, 23, &args, &out, &code), RPC_ERROR);
    CHECK_INT(code, VIR_ERR_RPC);

    /* supports_feature(REMOTE_EVENT_CALLBACK = 14) -> 1; (999) -> 0 */
    args.len = 0;
    xdr_put_i32(&args, 14);
    CHECK_INT(call(&ctx, 60, &args, &out, &code), RPC_OK);
    CHECK_INT(out.buf[out.len - 1], 1);
    args.len = 0;
    xdr_put_i32(&args, 999);
    CHECK_INT(call(&ctx, 60, &args, &out, &code), RPC_OK);
    CHECK_INT(out.buf[out.len - 1], 0);

    /* lookup_by_name("nope") on an empty registry */
    args.len = 0;
    xdr_put_string(&args, "nope");
    CHECK_INT(call(&ctx, 23, &args, &out, &code), RPC_ERROR);
    CHECK_INT(code, VIR_ERR_NO_DOMAIN);

    /* list_all_domains(need_results = 1, flags = 0): empty list, count 0 */
    args.len = 0;
    xdr_put_i32(&args, 1);
    xdr_put_u32(&args, 0);
    CHECK_INT(call(&ctx, 273, &args, &out, &code), RPC_OK);
    CHECK_INT(out.len, 28 + 8);

    /* node_get_info: char model[32] is 32 XDR words, then 8 + 6 * 4 bytes. */
    CHECK_INT(call(&ctx, 6, NULL, &out, &code), RPC_OK);
    CHECK_INT(out.len, 28 + 32 * 4 + 8 + 6 * 4);

    /* get_all_domain_stats(doms = [], stats = 0, flags = 0): no records */
    args.len = 0;
    xdr_put_u32(&args, 0);
    xdr_put_u32(&args, 0);
    xdr_put_u32(&args, 0);
    CHECK_INT(call(&ctx, 344, &args, &out, &code), RPC_OK);
    CHECK_INT(out.len, 28 + 4);
    /* ... asking for a domain that does not exist */
    args.len = 0;
    xdr_put_u32(&args, 1);
    uint8_t uuid[RPC_UUID_LEN] = {1};
    rpc_domain_ref_encode(&args, "ghost", uuid, -1);
    xdr_put_u32(&args, 0);
    xdr_put_u32(&args, 0);
    CHECK_INT(call(&ctx, 344, &args, &out, &code), RPC_ERROR);
    CHECK_INT(code, VIR_ERR_NO_DOMAIN);

    /* event callback register (LIFECYCLE, no domain) and deregister */
    args.len = 0;
    xdr_put_i32(&args, 0);
    xdr_put_u32(&args, 0);
    CHECK_INT(call(&ctx, 316, &args, &out, &code), RPC_OK);
    CHECK_INT(client.ncbs, 1);
    args.len = 0;
    xdr_put_i32(&args, client.cbs[0].id);
    CHECK_INT(call(&ctx, 317, &args, &out, &code), RPC_OK);
    CHECK_INT(client.ncbs, 0);
    CHECK_INT(call(&ctx, 317, &args, &out, &code), RPC_ERROR);
    CHECK_INT(code, VIR_ERR_INVALID_ARG);

    /* define with bad XML: VIR_ERR_XML_ERROR, nothing registered */
    args.len = 0;
    xdr_put_string(&args, "<domain type='qemu'><name>x</name>");
    CHECK_INT(call(&ctx, 11, &args, &out, &code), RPC_ERROR);
    CHECK_INT(code, VIR_ERR_XML_ERROR);
    CHECK_INT(srv.reg.n, 0);

    /* A read-only connection may look but not touch, whatever its client library checks. */
    struct hvd_client ro;
    memset(&ro, 0, sizeof(ro));
    struct proc_ctx roctx = {&srv, &ro};
    args.len = 0;
    xdr_put_string_opt(&args, "nube:///system");
    xdr_put_u32(&args, VIR_CONNECT_RO);
    CHECK_INT(call(&roctx, 1, &args, &out, &code), RPC_OK);
    CHECK(ro.readonly);
    args.len = 0;
    xdr_put_string(&args, "<domain type='qemu'><name>x</name></domain>");
    CHECK_INT(call(&roctx, 11, &args, &out, &code), RPC_ERROR);
    CHECK_INT(code, VIR_ERR_OPERATION_DENIED);
    CHECK_INT(call(&roctx, 273, NULL, &out, &code), RPC_ERROR); /* reads still decode */
    CHECK_INT(code, VIR_ERR_RPC);

    xdr_enc_free(&out);
    xdr_enc_free(&args);
}

int
main(void)
{
    check_encode();
    check_decode_hostile();
    check_frames();
    check_dispatch();
    return check_done();
}
