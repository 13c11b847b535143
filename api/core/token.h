/* Tokens in the Fernet spirit: a compact binary payload sealed with
 * AES-256-GCM (common/crypto.h) and encoded base64url. Validation needs no
 * database read; revocation is checked separately (revoke.h).
 *
 * Payload v1: version(1) methods(1) flags(1) issued_us(8) expires_us(8)
 * audit(16) [parent audit(16)] user-id [project-id], each id either 0x80 + 16
 * bytes (a 32-hex id) or a length byte + that many bytes. */
#ifndef NUBE_API_TOKEN_H
#define NUBE_API_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"

#define TOKEN_METHOD_PASSWORD (1u << 0)
#define TOKEN_METHOD_TOKEN (1u << 1)
#define TOKEN_ID_MAX 64
#define TOKEN_AUDIT_LEN 16
/* base64url of TOKEN_AUDIT_LEN bytes, unpadded, plus NUL */
#define TOKEN_AUDIT_STR 23
/* The longest token string accepted (a sealed payload is under 200 bytes). */
#define TOKEN_STR_MAX 512
#define TOKEN_MAX_KEYS 8

struct token_payload {
    unsigned methods; /* TOKEN_METHOD_* */
    int64_t issued_us;
    int64_t expires_us;
    uint8_t audit[TOKEN_AUDIT_LEN];
    bool has_parent; /* a rescoped token carries its chain's first audit id */
    uint8_t parent_audit[TOKEN_AUDIT_LEN];
    char user_id[TOKEN_ID_MAX + 1];
    char project_id[TOKEN_ID_MAX + 1]; /* "" when unscoped */
};

/* keys[0] is the primary (seals); all keys open, so a rotated-out key keeps
 * its tokens valid until they expire. */
struct token_keys {
    uint8_t keys[TOKEN_MAX_KEYS][CRYPTO_KEY_LEN];
    int n;
};

/* Load @dir/token.key (created, mode 0600, when missing) as primary and any
 * @dir/token.key.<N> as secondaries (highest N first). Creates @dir (0700). */
int token_keys_load(const char *dir, struct token_keys *keys, struct err *err);
/* Rotate: the primary becomes token.key.<N+1>, a new primary is created, and
 * only the @keep newest secondaries are kept. */
int token_keys_rotate(const char *dir, int keep, struct err *err);

/* The sealed token string (caller frees); NULL with ERR_INVALID when an id is
 * too long to encode. */
char *token_seal(const struct token_keys *keys, const struct token_payload *p, struct err *err);
/* Open and check expiry against @now_us. ERR_UNAUTHORIZED when the token is
 * malformed, was not sealed by any of @keys, was altered, or has expired. */
int token_open(const struct token_keys *keys, const char *token, int64_t now_us,
               struct token_payload *p, struct err *err);

/* The audit id as Keystone prints it (base64url, 22 characters). */
void token_audit_str(const uint8_t audit[TOKEN_AUDIT_LEN], char out[TOKEN_AUDIT_STR]);

#endif
