/* Fuzz harness for the parsers of untrusted bytes in cloud-api: the token
 * opener (X-Auth-Token, X-Subject-Token), the router (request paths), and the
 * body path (UTF-8 check, JSON parse; fuzz_schema.c fuzzes the validator that
 * checks the parsed bodies). The first
 * byte picks the target. Built for libFuzzer with -DNUBE_FUZZ=ON (clang), and
 * always as a replay driver that ctest runs over corpus/. */
#include "fuzz.h"
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "keystone.h"
#include "mem.h"
#include "server.h"
#include "token.h"

static struct api_router *router;
static struct token_keys keys;

static void
setup(void)
{
    if (router)
        return;
    router = api_router_new();
    for (int i = 0; api_tables[i]; i++)
        api_router_add(router, api_tables[i]);
    keys.n = 2;
    memset(keys.keys[0], 0x11, CRYPTO_KEY_LEN);
    memset(keys.keys[1], 0x22, CRYPTO_KEY_LEN);
}

static void
fuzz_token(const char *s)
{
    struct token_payload p, q;
    struct err err = ERR_INIT;
    if (token_open(&keys, s, 0, &p, &err) < 0) {
        if (err.code != ERR_UNAUTHORIZED)
            abort();
        return;
    }
    /* whatever opens must re-seal and re-open to the same payload */
    char *t = token_seal(&keys, &p, &err);
    if (!t || token_open(&keys, t, 0, &q, &err) < 0 || strcmp(p.user_id, q.user_id) != 0 ||
        strcmp(p.project_id, q.project_id) != 0 || p.expires_us != q.expires_us)
        abort();
    free(t);
}

static void
fuzz_route(const char *path)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
    struct err err = ERR_INIT;
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        struct api_match m;
        err_clear(&err);
        if (api_router_match(router, methods[i], path, &m, &err) == 0) {
            if (!m.route || !m.table)
                abort();
            for (int k = 0; k < m.nparams; k++)
                if (!m.params[k] || strchr(m.params[k], '/') || strcmp(m.params[k], "..") == 0)
                    abort();
        } else if (err.code != ERR_NOT_FOUND && err.code != ERR_NOT_ALLOWED) {
            abort();
        }
    }
}

static void
fuzz_body(const uint8_t *data, size_t size)
{
    struct api_req *req = xzalloc(sizeof(*req));
    req->body = xmalloc(size + 1);
    memcpy(req->body, data, size);
    req->body[size] = '\0';
    req->body_len = size;
    struct err err = ERR_INIT;
    json_t *body = api_req_json(req, &err);
    if (!body) {
        if (err.code != ERR_INVALID)
            abort();
    }
    /* what the handlers do with a parsed body is fuzzed by fuzz_schema.c */
    json_decref(req->json);
    free(req->body);
    free(req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    char *s = xstrndup((const char *)data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        fuzz_token(s);
        break;
    case 1:
        fuzz_route(s);
        break;
    default:
        fuzz_body(data + 1, size - 1);
        break;
    }
    free(s);
    return 0;
}

void
fuzz_replay_fini(void)
{
    api_router_free(router);
    router = NULL;
}
