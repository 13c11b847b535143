/* libFuzzer harness for cloud-hvd's parsers of untrusted bytes. The first
 * input byte picks the target:
 *   0: an RPC frame (length word, header, body) through the framing checks
 *      and the dispatch table, on a connection that is open, with an empty
 *      registry whose monitors cannot be started (nothing is spawned);
 *   1: domain XML through the parser, and formatting what it accepts. */
#include "fuzz.h"
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain_xml.h"
#include "log.h"
#include "mem.h"
#include "proc.h"
#include "rpc.h"
#include "server.h"

static struct hvd_config cfg;
static struct hvd_server srv;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 ? 0 : 0;
}

static void
fuzz_cleanup(void)
{
    if (cfg.state_dir && !strncmp(cfg.state_dir, "/tmp/hvd-fuzz.", 14))
        nftw(cfg.state_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
fuzz_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    log_init("hvd-fuzz", LOG_LEVEL_ERROR, NULL);
    char tmpl[] = "/tmp/hvd-fuzz.XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir)
        abort();
    cfg.state_dir = xstrdup(dir);
    atexit(fuzz_cleanup);
    cfg.qemu_path = xstrdup("/nonexistent/qemu-system-x86_64");
    cfg.vmm_path = xstrdup("/nonexistent/cloud-vmm");
    cfg.start_timeout_ms = 100;
    struct err err = ERR_INIT;
    srv.cfg = &cfg;
    srv.next_cb_id = 1;
    hvd_registry_open(&srv.reg, &cfg, NULL, NULL, &err);
}

static void
fuzz_frame(const uint8_t *data, size_t size)
{
    if (size < RPC_LEN_SIZE)
        return;
    long len = rpc_frame_length(data);
    if (len < 0 || (size_t)len > size)
        return;
    struct rpc_header h;
    const uint8_t *body;
    size_t body_len;
    struct err err = ERR_INIT;
    if (rpc_header_decode(data + RPC_LEN_SIZE, (size_t)len - RPC_LEN_SIZE, &h, &body, &body_len,
                          &err) < 0)
        return;
    struct hvd_client client;
    memset(&client, 0, sizeof(client));
    client.open = true;
    struct proc_ctx ctx = {&srv, &client};
    struct xdr_enc out;
    xdr_enc_init(&out);
    proc_dispatch(&ctx, &h, body, body_len, &out);
    if (rpc_frame_length(out.buf) != (long)out.len && out.len <= RPC_FRAME_MAX)
        abort(); /* every reply is a well-formed frame */
    xdr_enc_free(&out);
    /* Forget what a fuzzed define created, so inputs stay independent. */
    while (srv.reg.n) {
        struct hvd_domain *d = srv.reg.doms[0];
        struct rpc_error e;
        if (hvd_domain_undefine(&srv.reg, d, true, &e) < 0)
            break;
    }
}

static void
fuzz_xml(const uint8_t *data, size_t size)
{
    struct rpc_error e;
    struct domain_def *def = domain_xml_parse((const char *)data, size, &e);
    if (def) {
        char *xml = domain_xml_format(def, 1);
        struct domain_def *again = domain_xml_parse(xml, strlen(xml), &e);
        if (!again)
            abort(); /* what we format, we parse */
        domain_def_free(again);
        free(xml);
        domain_def_free(def);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_xml(data + 1, size - 1);
    else
        fuzz_frame(data + 1, size - 1);
    return 0;
}
