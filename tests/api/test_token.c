/* Tokens: seal/open round trip, expiry, tampering, other keys, rotation,
 * garbage input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "check.h"
#include "mem.h"
#include "token.h"

static void
make_payload(struct token_payload *p, bool scoped)
{
    memset(p, 0, sizeof(*p));
    p->methods = TOKEN_METHOD_PASSWORD;
    p->issued_us = 1700000000000000LL;
    p->expires_us = p->issued_us + 3600LL * 1000000;
    crypto_random(p->audit, sizeof(p->audit));
    strcpy(p->user_id, "0123456789abcdef0123456789abcdef");
    if (scoped)
        strcpy(p->project_id, "fedcba9876543210fedcba9876543210");
}

int
main(void)
{
    struct token_keys keys = {.n = 1};
    crypto_random(keys.keys[0], CRYPTO_KEY_LEN);
    struct err err = ERR_INIT;
    struct token_payload in, out;
    int64_t now = 1700000000000000LL + 1000000;

    /* round trip, scoped */
    make_payload(&in, true);
    char *t = token_seal(&keys, &in, &err);
    CHECK(t != NULL);
    CHECK(strlen(t) < 200);
    CHECK_INT(token_open(&keys, t, now, &out, &err), 0);
    CHECK_STR(out.user_id, in.user_id);
    CHECK_STR(out.project_id, in.project_id);
    CHECK_INT(out.issued_us, in.issued_us);
    CHECK_INT(out.expires_us, in.expires_us);
    CHECK_INT(out.methods, TOKEN_METHOD_PASSWORD);
    CHECK(memcmp(out.audit, in.audit, TOKEN_AUDIT_LEN) == 0);
    CHECK(!out.has_parent);
    /* two seals of the same payload differ (random nonce) */
    char *t2 = token_seal(&keys, &in, &err);
    CHECK(strcmp(t, t2) != 0);
    free(t2);

    /* expiry */
    err_clear(&err);
    CHECK_INT(token_open(&keys, t, in.expires_us, &out, &err), -1);
    CHECK_INT(err.code, ERR_UNAUTHORIZED);
    CHECK(strstr(err.msg, "expired") != NULL);

    /* tampering: flip each character position in turn */
    int accepted = 0;
    size_t len = strlen(t);
    for (size_t i = 0; i < len; i++) {
        char *c = xstrdup(t);
        c[i] = c[i] == 'A' ? 'B' : 'A';
        if (token_open(&keys, c, now, &out, &err) == 0 && strcmp(c, t) != 0)
            accepted++;
        free(c);
    }
    CHECK_INT(accepted, 0);
    /* truncated, extended, empty, garbage, over-long */
    char *trunc = xstrndup(t, len - 3);
    CHECK_INT(token_open(&keys, trunc, now, &out, &err), -1);
    free(trunc);
    char *ext = xasprintf("%sAAAA", t);
    CHECK_INT(token_open(&keys, ext, now, &out, &err), -1);
    free(ext);
    CHECK_INT(token_open(&keys, "", now, &out, &err), -1);
    CHECK_INT(token_open(&keys, NULL, now, &out, &err), -1);
    CHECK_INT(token_open(&keys, "not a token!", now, &out, &err), -1);
    CHECK_INT(token_open(&keys, "../../etc/passwd", now, &out, &err), -1);
    char big[2048];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    err_clear(&err);
    CHECK_INT(token_open(&keys, big, now, &out, &err), -1);
    CHECK_INT(err.code, ERR_UNAUTHORIZED);

    /* another key cannot open it; a secondary key can */
    struct token_keys other = {.n = 1};
    crypto_random(other.keys[0], CRYPTO_KEY_LEN);
    CHECK_INT(token_open(&other, t, now, &out, &err), -1);
    struct token_keys rotated = {.n = 2};
    memcpy(rotated.keys[0], other.keys[0], CRYPTO_KEY_LEN);
    memcpy(rotated.keys[1], keys.keys[0], CRYPTO_KEY_LEN);
    CHECK_INT(token_open(&rotated, t, now, &out, &err), 0);
    free(t);

    /* unscoped, rescoped (parent audit id), non-hex ids */
    make_payload(&in, false);
    in.methods = TOKEN_METHOD_TOKEN;
    in.has_parent = true;
    crypto_random(in.parent_audit, sizeof(in.parent_audit));
    strcpy(in.user_id, "admin-user");
    t = token_seal(&keys, &in, &err);
    CHECK(t != NULL);
    CHECK_INT(token_open(&keys, t, now, &out, &err), 0);
    CHECK_STR(out.user_id, "admin-user");
    CHECK_STR(out.project_id, "");
    CHECK(out.has_parent);
    CHECK(memcmp(out.parent_audit, in.parent_audit, TOKEN_AUDIT_LEN) == 0);
    CHECK_INT(out.methods, TOKEN_METHOD_TOKEN);
    free(t);

    /* the longest id round-trips */
    memset(in.user_id, 'x', TOKEN_ID_MAX);
    in.user_id[TOKEN_ID_MAX] = '\0';
    t = token_seal(&keys, &in, &err);
    CHECK(t != NULL);
    CHECK_INT(token_open(&keys, t, now, &out, &err), 0);
    CHECK_STR(out.user_id, in.user_id);
    free(t);

    /* audit ids print as 22 base64url characters */
    char audit[TOKEN_AUDIT_STR];
    token_audit_str(in.audit, audit);
    CHECK_INT(strlen(audit), 22);

    /* key files: created 0600, rotation keeps old tokens valid */
    char dir[] = "/tmp/nube-token-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *kdir = xasprintf("%s/keys", dir);
    struct token_keys k1, k2;
    CHECK_INT(token_keys_load(kdir, &k1, &err), 0);
    CHECK_INT(k1.n, 1);
    char *kpath = xasprintf("%s/token.key", kdir);
    struct stat st;
    CHECK_INT(stat(kpath, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    make_payload(&in, true);
    t = token_seal(&k1, &in, &err);
    CHECK_INT(token_keys_rotate(kdir, 2, &err), 0);
    CHECK_INT(token_keys_load(kdir, &k2, &err), 0);
    CHECK_INT(k2.n, 2);
    CHECK(memcmp(k2.keys[0], k1.keys[0], CRYPTO_KEY_LEN) != 0);
    CHECK_INT(token_open(&k2, t, now, &out, &err), 0);
    CHECK_INT(token_keys_rotate(kdir, 2, &err), 0);
    CHECK_INT(token_keys_rotate(kdir, 2, &err), 0);
    CHECK_INT(token_keys_load(kdir, &k2, &err), 0);
    CHECK_INT(k2.n, 3); /* primary + the 2 kept */
    /* after three rotations with keep=2 the first key is gone */
    CHECK_INT(token_open(&k2, t, now, &out, &err), -1);
    free(t);
    char *cmd = xasprintf("rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
    free(cmd);
    free(kpath);
    free(kdir);
    return check_done();
}
