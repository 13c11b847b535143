#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"

void
crypto_random(void *buf, size_t n)
{
    if (RAND_bytes(buf, (int)n) != 1) {
        fprintf(stderr, "RAND_bytes failed\n");
        abort();
    }
}

bool
crypto_memeq(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* ---- base64 ---- */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *
b64_encode(const char *alpha, bool pad, const uint8_t *d, size_t len)
{
    char *out = xmalloc((len + 2) / 3 * 4 + 1);
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        out[o++] = alpha[v >> 18 & 63];
        out[o++] = alpha[v >> 12 & 63];
        out[o++] = alpha[v >> 6 & 63];
        out[o++] = alpha[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < len ? (uint32_t)d[i + 1] << 8 : 0);
        out[o++] = alpha[v >> 18 & 63];
        out[o++] = alpha[v >> 12 & 63];
        if (i + 1 < len)
            out[o++] = alpha[v >> 6 & 63];
        else if (pad)
            out[o++] = '=';
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

static long
b64_decode(const char *alpha, const char *s, size_t slen, uint8_t *out, size_t cap)
{
    int8_t map[256];
    memset(map, -1, sizeof(map));
    for (int i = 0; i < 64; i++)
        map[(uint8_t)alpha[i]] = (int8_t)i;
    while (slen && s[slen - 1] == '=')
        slen--;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < slen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\r')
            continue;
        if (map[c] < 0)
            return -1;
        acc = acc << 6 | (uint32_t)map[c];
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 6)
        return -1; /* a single dangling character is not base64 */
    return (long)o;
}

char *
crypto_b64_encode(const void *data, size_t len)
{
    return b64_encode(b64_std, true, data, len);
}

long
crypto_b64_decode(const char *s, size_t slen, uint8_t *out, size_t cap)
{
    return b64_decode(b64_std, s, slen, out, cap);
}

char *
crypto_b64url_encode(const void *data, size_t len)
{
    return b64_encode(b64_url, false, data, len);
}

long
crypto_b64url_decode(const char *s, size_t slen, uint8_t *out, size_t cap)
{
    return b64_decode(b64_url, s, slen, out, cap);
}

/* ---- passwords ---- */

#define PW_SALT_LEN 16
#define PW_HASH_LEN 32

char *
crypto_password_hash(const char *password, int iterations)
{
    uint8_t salt[PW_SALT_LEN], hash[PW_HASH_LEN];
    crypto_random(salt, sizeof(salt));
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof(salt), iterations,
                          EVP_sha256(), sizeof(hash), hash) != 1)
        abort();
    _cleanup_free_ char *s64 = crypto_b64_encode(salt, sizeof(salt));
    _cleanup_free_ char *h64 = crypto_b64_encode(hash, sizeof(hash));
    return xasprintf("pbkdf2-sha256$%d$%s$%s", iterations, s64, h64);
}

bool
crypto_password_verify(const char *password, const char *stored)
{
    char s64[64], h64[64];
    int iterations;
    if (!stored || sscanf(stored, "pbkdf2-sha256$%d$%63[^$]$%63s", &iterations, s64, h64) != 3 ||
        iterations < 1 || iterations > 10000000)
        return false;
    uint8_t salt[64], want[64], got[PW_HASH_LEN];
    long slen = crypto_b64_decode(s64, strlen(s64), salt, sizeof(salt));
    long hlen = crypto_b64_decode(h64, strlen(h64), want, sizeof(want));
    if (slen <= 0 || hlen != PW_HASH_LEN)
        return false;
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)slen, iterations,
                          EVP_sha256(), sizeof(got), got) != 1)
        return false;
    return crypto_memeq(got, want, PW_HASH_LEN);
}

/* ---- AEAD ---- */

void
crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *pt, size_t ptlen, const void *aad,
            size_t aadlen, uint8_t *out)
{
    uint8_t *nonce = out, *ct = out + CRYPTO_NONCE_LEN, *tag = ct + ptlen;
    crypto_random(nonce, CRYPTO_NONCE_LEN);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len;
    if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
        (aadlen && EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1) ||
        EVP_EncryptUpdate(ctx, ct, &len, pt, (int)ptlen) != 1 ||
        EVP_EncryptFinal_ex(ctx, ct + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN, tag) != 1)
        abort();
    EVP_CIPHER_CTX_free(ctx);
}

int
crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *in, size_t inlen, const void *aad,
            size_t aadlen, uint8_t *out)
{
    if (inlen < CRYPTO_SEAL_OVERHEAD)
        return -1;
    size_t ctlen = inlen - CRYPTO_SEAL_OVERHEAD;
    const uint8_t *nonce = in, *ct = in + CRYPTO_NONCE_LEN, *tag = ct + ctlen;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len, ok = 0;
    if (!ctx)
        abort();
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
        (!aadlen || EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aadlen) == 1) &&
        EVP_DecryptUpdate(ctx, out, &len, ct, (int)ctlen) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN, (void *)tag) == 1 &&
        EVP_DecryptFinal_ex(ctx, out + len, &len) == 1)
        ok = 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

void
crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[32])
{
    unsigned int outlen = 32;
    if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen))
        abort();
}

void
crypto_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t md[32];
    unsigned int mdlen = sizeof(md);
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
        abort();
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- key files ---- */

int
crypto_key_load_or_create(const char *path, uint8_t key[CRYPTO_KEY_LEN], struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        ssize_t n = -1;
        if (fstat(fd, &st) == 0 && (st.st_mode & 077))
            fchmod(fd, 0600);
        n = read(fd, key, CRYPTO_KEY_LEN);
        close(fd);
        if (n != CRYPTO_KEY_LEN)
            return err_set(err, ERR_INVALID, "key file %s is not %d bytes", path, CRYPTO_KEY_LEN);
        return 0;
    }
    if (errno != ENOENT)
        return err_set_errno(err, ERR_IO, errno, "opening key file %s", path);
    crypto_random(key, CRYPTO_KEY_LEN);
    _cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set_errno(err, ERR_IO, errno, "creating key file %s", tmp);
    if (write(fd, key, CRYPTO_KEY_LEN) != CRYPTO_KEY_LEN || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return err_set_errno(err, ERR_IO, e, "writing key file %s", tmp);
    }
    close(fd);
    /* link() fails if another process created the key first: then use theirs */
    if (link(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        if (e == EEXIST)
            return crypto_key_load_or_create(path, key, err);
        return err_set_errno(err, ERR_IO, e, "installing key file %s", path);
    }
    unlink(tmp);
    return 0;
}
