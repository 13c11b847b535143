/* Token sealing and opening; see token.h for the payload layout. */
#include "token.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"

#define TOKEN_VERSION 1
#define TOKEN_FLAG_PARENT 0x01
#define TOKEN_FLAG_PROJECT 0x02
#define TOKEN_ID_HEX_TAG 0x80
#define TOKEN_PAYLOAD_MAX (3 + 8 + 8 + 2 * TOKEN_AUDIT_LEN + 2 * (1 + TOKEN_ID_MAX))

static const char token_aad[] = "nube-token-v1";

static void
put64(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(u & 0xff);
        u >>= 8;
    }
}

static int64_t
get64(const uint8_t *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | p[i];
    return (int64_t)u;
}

static bool
is_lower_hex32(const char *s)
{
    if (strlen(s) != 32)
        return false;
    for (int i = 0; i < 32; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return false;
    return true;
}

static int
hexval(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : c - 'a' + 10;
}

/* Append an id; returns the new length or -1 when it cannot be encoded. */
static int
put_id(uint8_t *buf, int n, const char *id)
{
    if (is_lower_hex32(id)) {
        buf[n++] = TOKEN_ID_HEX_TAG;
        for (int i = 0; i < 16; i++)
            buf[n++] = (uint8_t)(hexval(id[2 * i]) << 4 | hexval(id[2 * i + 1]));
        return n;
    }
    size_t len = strlen(id);
    if (len == 0 || len > TOKEN_ID_MAX)
        return -1;
    buf[n++] = (uint8_t)len;
    memcpy(buf + n, id, len);
    return n + (int)len;
}

/* Read an id at @*pos; -1 when the bytes are not a well-formed id. */
static int
get_id(const uint8_t *buf, size_t len, size_t *pos, char out[TOKEN_ID_MAX + 1])
{
    if (*pos >= len)
        return -1;
    uint8_t tag = buf[(*pos)++];
    if (tag == TOKEN_ID_HEX_TAG) {
        if (len - *pos < 16)
            return -1;
        for (int i = 0; i < 16; i++)
            snprintf(out + 2 * i, 3, "%02x", buf[*pos + (size_t)i]);
        *pos += 16;
        return 0;
    }
    if (tag == 0 || tag > TOKEN_ID_MAX || len - *pos < tag)
        return -1;
    memcpy(out, buf + *pos, tag);
    out[tag] = '\0';
    if (strlen(out) != tag)
        return -1;
    *pos += tag;
    return 0;
}

char *
token_seal(const struct token_keys *keys, const struct token_payload *p, struct err *err)
{
    uint8_t pt[TOKEN_PAYLOAD_MAX];
    int n = 0;
    pt[n++] = TOKEN_VERSION;
    pt[n++] = (uint8_t)p->methods;
    pt[n++] = (uint8_t)((p->has_parent ? TOKEN_FLAG_PARENT : 0) |
                        (p->project_id[0] ? TOKEN_FLAG_PROJECT : 0));
    put64(pt + n, p->issued_us);
    n += 8;
    put64(pt + n, p->expires_us);
    n += 8;
    memcpy(pt + n, p->audit, TOKEN_AUDIT_LEN);
    n += TOKEN_AUDIT_LEN;
    if (p->has_parent) {
        memcpy(pt + n, p->parent_audit, TOKEN_AUDIT_LEN);
        n += TOKEN_AUDIT_LEN;
    }
    n = put_id(pt, n, p->user_id);
    if (n >= 0 && p->project_id[0])
        n = put_id(pt, n, p->project_id);
    if (n < 0) {
        err_set(err, ERR_INVALID, "an id is too long for a token");
        return NULL;
    }
    uint8_t sealed[1 + TOKEN_PAYLOAD_MAX + CRYPTO_SEAL_OVERHEAD];
    sealed[0] = TOKEN_VERSION;
    crypto_seal(keys->keys[0], pt, (size_t)n, token_aad, sizeof(token_aad) - 1, sealed + 1);
    return crypto_b64url_encode(sealed, 1 + (size_t)n + CRYPTO_SEAL_OVERHEAD);
}

int
token_open(const struct token_keys *keys, const char *token, int64_t now_us,
           struct token_payload *p, struct err *err)
{
    static const char bad[] = "The request you have made requires authentication: invalid token.";
    memset(p, 0, sizeof(*p));
    size_t slen = token ? strlen(token) : 0;
    if (slen == 0 || slen > TOKEN_STR_MAX)
        return err_set(err, ERR_UNAUTHORIZED, bad);
    uint8_t raw[TOKEN_STR_MAX];
    long rlen = crypto_b64url_decode(token, slen, raw, sizeof(raw));
    if (rlen < 1 + CRYPTO_SEAL_OVERHEAD + 3 || raw[0] != TOKEN_VERSION)
        return err_set(err, ERR_UNAUTHORIZED, bad);
    /* one spelling per token: the unused low bits of the last character must be
     * zero, or "...A" and "...B" would both open */
    char *canon = crypto_b64url_encode(raw, (size_t)rlen);
    bool canonical = strcmp(canon, token) == 0;
    free(canon);
    if (!canonical)
        return err_set(err, ERR_UNAUTHORIZED, bad);
    size_t ctlen = (size_t)rlen - 1;
    size_t ptlen = ctlen - CRYPTO_SEAL_OVERHEAD;
    if (ptlen > TOKEN_PAYLOAD_MAX)
        return err_set(err, ERR_UNAUTHORIZED, bad);
    uint8_t pt[TOKEN_PAYLOAD_MAX];
    int k;
    for (k = 0; k < keys->n; k++)
        if (crypto_open(keys->keys[k], raw + 1, ctlen, token_aad, sizeof(token_aad) - 1, pt) == 0)
            break;
    if (k == keys->n)
        return err_set(err, ERR_UNAUTHORIZED, bad);

    /* authenticated from here on, but parse defensively all the same */
    size_t pos = 0;
    if (ptlen < 3 + 16 + TOKEN_AUDIT_LEN || pt[0] != TOKEN_VERSION)
        return err_set(err, ERR_UNAUTHORIZED, bad);
    p->methods = pt[1];
    uint8_t flags = pt[2];
    pos = 3;
    p->issued_us = get64(pt + pos);
    p->expires_us = get64(pt + pos + 8);
    pos += 16;
    memcpy(p->audit, pt + pos, TOKEN_AUDIT_LEN);
    pos += TOKEN_AUDIT_LEN;
    if (flags & TOKEN_FLAG_PARENT) {
        if (ptlen - pos < TOKEN_AUDIT_LEN)
            return err_set(err, ERR_UNAUTHORIZED, bad);
        p->has_parent = true;
        memcpy(p->parent_audit, pt + pos, TOKEN_AUDIT_LEN);
        pos += TOKEN_AUDIT_LEN;
    }
    if (get_id(pt, ptlen, &pos, p->user_id) < 0)
        return err_set(err, ERR_UNAUTHORIZED, bad);
    if ((flags & TOKEN_FLAG_PROJECT) && get_id(pt, ptlen, &pos, p->project_id) < 0)
        return err_set(err, ERR_UNAUTHORIZED, bad);
    if (pos != ptlen || p->methods == 0)
        return err_set(err, ERR_UNAUTHORIZED, bad);
    if (now_us >= p->expires_us)
        return err_set(err, ERR_UNAUTHORIZED,
                       "The request you have made requires authentication: the token has "
                       "expired.");
    return 0;
}

void
token_audit_str(const uint8_t audit[TOKEN_AUDIT_LEN], char out[TOKEN_AUDIT_STR])
{
    char *s = crypto_b64url_encode(audit, TOKEN_AUDIT_LEN);
    strlcpy_n(out, s, TOKEN_AUDIT_STR);
    free(s);
}

/* ---- key files ---- */

static int
cmp_desc(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The numbers N of @dir/token.key.N, highest first, at most @cap; returns the count. */
static int
token_key_numbers(const char *dir, long *nums, int cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    long all[256];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < (int)ARRAY_SIZE(all)) {
        if (strncmp(de->d_name, "token.key.", 10) != 0)
            continue;
        const char *s = de->d_name + 10;
        char *end;
        long v = strtol(s, &end, 10);
        if (*s == '\0' || *end != '\0' || v < 0)
            continue;
        all[n++] = v;
    }
    closedir(d);
    qsort(all, (size_t)n, sizeof(long), cmp_desc);
    if (n > cap)
        n = cap;
    memcpy(nums, all, (size_t)n * sizeof(long));
    return n;
}

int
token_keys_load(const char *dir, struct token_keys *keys, struct err *err)
{
    memset(keys, 0, sizeof(*keys));
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return err_set_errno(err, ERR_IO, errno, "creating key dir %s", dir);
    _cleanup_free_ char *primary = xasprintf("%s/token.key", dir);
    if (crypto_key_load_or_create(primary, keys->keys[0], err) < 0)
        return -1;
    keys->n = 1;
    long nums[TOKEN_MAX_KEYS - 1];
    int n = token_key_numbers(dir, nums, TOKEN_MAX_KEYS - 1);
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *path = xasprintf("%s/token.key.%ld", dir, nums[i]);
        FILE *f = fopen(path, "rbe");
        if (!f)
            return err_set_errno(err, ERR_IO, errno, "opening key file %s", path);
        size_t got = fread(keys->keys[keys->n], 1, CRYPTO_KEY_LEN, f);
        fclose(f);
        if (got != CRYPTO_KEY_LEN)
            return err_set(err, ERR_INVALID, "key file %s is not %d bytes", path, CRYPTO_KEY_LEN);
        keys->n++;
    }
    return 0;
}

int
token_keys_rotate(const char *dir, int keep, struct err *err)
{
    struct token_keys keys;
    if (token_keys_load(dir, &keys, err) < 0) /* makes sure a primary exists */
        return -1;
    long nums[64];
    int n = token_key_numbers(dir, nums, 64);
    long next = n > 0 ? nums[0] + 1 : 1;
    _cleanup_free_ char *primary = xasprintf("%s/token.key", dir);
    _cleanup_free_ char *old = xasprintf("%s/token.key.%ld", dir, next);
    if (rename(primary, old) < 0)
        return err_set_errno(err, ERR_IO, errno, "renaming %s", primary);
    uint8_t key[CRYPTO_KEY_LEN];
    if (crypto_key_load_or_create(primary, key, err) < 0)
        return -1;
    /* the new secondary is nums' new head; drop the oldest beyond @keep */
    n = token_key_numbers(dir, nums, 64);
    for (int i = keep; i < n; i++) {
        _cleanup_free_ char *path = xasprintf("%s/token.key.%ld", dir, nums[i]);
        unlink(path);
    }
    return 0;
}
