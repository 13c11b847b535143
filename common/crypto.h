/* Crypto helpers over OpenSSL: randomness, password hashing (PBKDF2-HMAC-SHA256,
 * constant-time comparison), authenticated encryption (AES-256-GCM), HMAC and
 * base64. */
#ifndef NUBE_COMMON_CRYPTO_H
#define NUBE_COMMON_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CRYPTO_KEY_LEN 32
#define CRYPTO_NONCE_LEN 12
#define CRYPTO_TAG_LEN 16
/* Bytes crypto_seal adds to the plaintext: nonce + tag. */
#define CRYPTO_SEAL_OVERHEAD (CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)
#define CRYPTO_PBKDF2_ITERATIONS 100000

/* Cryptographically strong random bytes; aborts if the CSPRNG fails. */
void crypto_random(void *buf, size_t n);

/* "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>" (caller frees). */
char *crypto_password_hash(const char *password, int iterations);
/* Compares in constant time; false for a malformed @stored. */
bool crypto_password_verify(const char *password, const char *stored);

/* AES-256-GCM with a random nonce. @out has room for ptlen + CRYPTO_SEAL_OVERHEAD
 * bytes and receives nonce || ciphertext || tag. */
void crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *pt, size_t ptlen, const void *aad,
                 size_t aadlen, uint8_t *out);
/* Reverses crypto_seal; -1 when the input was not sealed by @key (or was changed).
 * @out has room for inlen - CRYPTO_SEAL_OVERHEAD bytes. */
int crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *in, size_t inlen, const void *aad,
                size_t aadlen, uint8_t *out);

void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                        uint8_t out[32]);
void crypto_sha256_hex(const void *data, size_t len, char out[65]);
bool crypto_memeq(const void *a, const void *b, size_t n);

/* Base64 (RFC 4648 section 4) and base64url without padding (section 5).
 * Encoders return a new string; decoders return the byte count or -1, writing
 * at most @cap bytes. */
char *crypto_b64_encode(const void *data, size_t len);
long crypto_b64_decode(const char *s, size_t slen, uint8_t *out, size_t cap);
char *crypto_b64url_encode(const void *data, size_t len);
long crypto_b64url_decode(const char *s, size_t slen, uint8_t *out, size_t cap);

/* Read or create a key file of CRYPTO_KEY_LEN random bytes with mode 0600. */
int crypto_key_load_or_create(const char *path, uint8_t key[CRYPTO_KEY_LEN], struct err *err);

#endif
