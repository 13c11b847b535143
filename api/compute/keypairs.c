/* /compute/v2.1/os-keypairs: a user's SSH keys. Create without a public key
 * generates an RSA 2048 key pair and returns the private key once (it is never
 * stored); import checks the OpenSSH public key. Fingerprints are Nova's: MD5
 * of the key blob, colon-separated hex. Key pairs belong to the user. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "mem.h"

#define KEYPAIR_PUBLIC_MAX 16384

/* The blob of an OpenSSH public key line "<type> <base64> [comment]", checked
 * (its first field names the same type); NULL when it is not one. */
static unsigned char *
ssh_blob(const char *line, size_t *len)
{
    const char *sp = strchr(line, ' ');
    if (!sp || sp == line || (size_t)(sp - line) > 64)
        return NULL;
    size_t tlen = (size_t)(sp - line);
    const char *b64 = sp + 1;
    while (*b64 == ' ')
        b64++;
    size_t blen = strcspn(b64, " \r\n");
    if (blen < 16 || blen % 4 != 0 || blen > KEYPAIR_PUBLIC_MAX)
        return NULL;
    unsigned char *blob = xmalloc(blen);
    int n = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)blen);
    if (n < 0)
        goto bad;
    /* EVP_DecodeBlock counts padding bytes as data */
    if (b64[blen - 1] == '=')
        n--;
    if (b64[blen - 2] == '=')
        n--;
    if (n < 4)
        goto bad;
    size_t inner =
        ((size_t)blob[0] << 24) | ((size_t)blob[1] << 16) | ((size_t)blob[2] << 8) | blob[3];
    if (inner != tlen || 4 + inner > (size_t)n || memcmp(blob + 4, line, tlen) != 0)
        goto bad;
    *len = (size_t)n;
    return blob;
bad:
    free(blob);
    return NULL;
}

static void
fingerprint_of(const unsigned char *blob, size_t len, char out[48])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(blob, len, md, &mdlen, EVP_md5(), NULL);
    for (unsigned i = 0; i < mdlen && i < 16; i++)
        snprintf(out + i * 3, 4, i + 1 < mdlen ? "%02x:" : "%02x", md[i]);
}

static void
put_u32(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An mpint: big-endian, with a leading zero when the top bit is set. */
static size_t
put_mpint(unsigned char *p, const BIGNUM *bn)
{
    int n = BN_num_bytes(bn);
    unsigned char *buf = xmalloc((size_t)n + 1);
    BN_bn2bin(bn, buf + 1);
    size_t len = (size_t)n;
    unsigned char *start = buf + 1;
    if (n > 0 && (start[0] & 0x80)) {
        start = buf;
        start[0] = 0;
        len++;
    }
    put_u32(p, len);
    memcpy(p + 4, start, len);
    free(buf);
    return 4 + len;
}

/* Generate an RSA key: the OpenSSH public line and the PEM private key. */
static int
keypair_generate(char **public_key, char **private_key, struct err *err)
{
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    if (!pkey)
        return err_set(err, ERR_INTERNAL, "RSA key generation failed");
    BIGNUM *n = NULL, *e = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = -1;
    if (!bio || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
        PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        err_set(err, ERR_INTERNAL, "RSA key serialisation failed");
        goto cleanup;
    }
    unsigned char blob[1024];
    size_t off = 0;
    put_u32(blob, 7);
    memcpy(blob + 4, "ssh-rsa", 7);
    off = 11;
    off += put_mpint(blob + off, e);
    off += put_mpint(blob + off, n);
    char b64[1500];
    EVP_EncodeBlock((unsigned char *)b64, blob, (int)off);
    *public_key = xasprintf("ssh-rsa %s Generated-by-Nova", b64);
    char *pem = NULL;
    long plen = BIO_get_mem_data(bio, &pem);
    *private_key = xstrndup(pem, (size_t)plen);
    rc = 0;
cleanup:
    BN_free(n);
    BN_free(e);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return rc;
}

static bool
keypair_name_valid(const char *s)
{
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == ' '))
            return false;
    return true;
}

/* The user whose key pairs a request acts on: the caller, or from 2.10 the
 * `user_id` query argument (@given, for create the body's member), which only
 * an admin may point at another user. */
static const char *
keypair_user(struct api_req *req, const char *given, const char *action, struct err *err)
{
    if (req->microversion < COMPUTE_MV(2, 10) || !given || !*given ||
        strcmp(given, req->ctx.user_id) == 0)
        return req->ctx.user_id;
    if (compute_require_admin(req, action, err) < 0)
        return NULL;
    return given;
}

static int
list_keypairs(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    const char *user =
        keypair_user(req, api_req_query(req, "user_id"), "os_compute_api:os-keypairs:index", err);
    if (!user)
        return -1;
    /* 2.2: the key type */
    const char *p[] = {user, req->microversion >= COMPUTE_MV(2, 2) ? "t" : "f"};
    json_t *rows = db_query_json(conn,
                                 "SELECT name, public_key, fingerprint, CASE WHEN $2 = 't' THEN "
                                 "'ssh' END AS type FROM keypair WHERE user_id = $1 ORDER BY name",
                                 2, p, err);
    if (!rows)
        return -1;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        if (json_is_null(json_object_get(row, "type")))
            json_object_del(row, "type");
        json_array_append_new(list, json_pack("{s:O}", "keypair", row));
    }
    json_decref(rows);
    api_reply_json(req, 200, json_pack("{s:o}", "keypairs", list));
    return 0;
}

static int
show_keypair(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    const char *name = api_req_param(req, "name");
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    const char *user =
        keypair_user(req, api_req_query(req, "user_id"), "os_compute_api:os-keypairs:show", err);
    if (!user)
        return -1;
    const char *p[] = {user, name};
    json_t *row = db_compute_one(conn, "Keypair", name,
                                 "SELECT id, name, public_key, fingerprint, user_id, "
                                 "nova_ts(created_at) AS created_at, false AS deleted, "
                                 "NULL::text AS deleted_at, NULL::text AS updated_at "
                                 "FROM keypair WHERE user_id = $1 AND name = $2",
                                 2, p, err);
    if (!row) {
        if (err->code == ERR_NOT_FOUND)
            err_set(err, ERR_NOT_FOUND, "Keypair %s not found for user %s", name, user);
        return -1;
    }
    if (req->microversion >= COMPUTE_MV(2, 2))
        json_object_set_new(row, "type", json_string("ssh"));
    api_reply_json(req, 200, json_pack("{s:o}", "keypair", row));
    return 0;
}

static int
create_keypair(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    json_t *kp = compute_body(req, "keypair", err);
    if (!kp)
        return -1;
    const char *name, *public_key, *type, *user_arg;
    if (compute_str(kp, "name", true, 255, &name, err) < 0 ||
        compute_str(kp, "type", false, 16, &type, err) < 0 ||
        compute_str(kp, "user_id", false, 255, &user_arg, err) < 0)
        return -1;
    if (type && req->microversion < COMPUTE_MV(2, 2))
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute keypair. Additional properties are not "
                       "allowed ('type' was unexpected)");
    if (user_arg && req->microversion < COMPUTE_MV(2, 10))
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute keypair. Additional properties are not "
                       "allowed ('user_id' was unexpected)");
    const char *user = keypair_user(req, user_arg, "os_compute_api:os-keypairs:create", err);
    if (!user)
        return -1;
    /* a key file's content: trailing newlines allowed, stripped */
    json_t *jpk = json_object_get(kp, "public_key");
    char *pk_copy = NULL;
    public_key = NULL;
    if (jpk && !json_is_null(jpk)) {
        if (!json_is_string(jpk) || json_string_length(jpk) > KEYPAIR_PUBLIC_MAX ||
            strlen(json_string_value(jpk)) != json_string_length(jpk))
            return err_set(err, ERR_INVALID,
                           "Keypair data is invalid: failed to generate fingerprint");
        pk_copy = xstrdup(json_string_value(jpk));
        size_t n = strlen(pk_copy);
        while (n > 0 && (pk_copy[n - 1] == '\n' || pk_copy[n - 1] == '\r' || pk_copy[n - 1] == ' '))
            pk_copy[--n] = '\0';
        public_key = pk_copy;
    }
    char *gen_public = NULL, *gen_private = NULL;
    int rc = -1;
    json_t *resp = NULL;
    if (!*name || !keypair_name_valid(name)) {
        err_set(err, ERR_INVALID,
                "Keypair data is invalid: Keypair name contains unsafe characters");
        goto cleanup;
    }
    if (type && strcmp(type, "ssh") != 0) {
        err_set(err, ERR_INVALID, "Keypair data is invalid: only ssh keys are supported");
        goto cleanup;
    }
    if (!public_key) {
        if (keypair_generate(&gen_public, &gen_private, err) < 0)
            goto cleanup;
        public_key = gen_public;
    }
    size_t blen = 0;
    unsigned char *blob = ssh_blob(public_key, &blen);
    if (!blob) {
        err_set(err, ERR_INVALID, "Keypair data is invalid: failed to generate fingerprint");
        goto cleanup;
    }
    char fp[48] = "";
    fingerprint_of(blob, blen, fp);
    free(blob);
    PGconn *conn = api_req_db(req, err);
    if (!conn || db_begin(conn, err) < 0)
        goto cleanup;
    long long limit;
    const char *p[] = {user, name, public_key, fp};
    if (db_compute_lock_project(conn, user, err) < 0 ||
        compute_quota_limit(req, conn, req->ctx.project_id, COMPUTE_QUOTA_KEY_PAIRS, &limit, err) <
            0)
        goto rollback;
    if (limit >= 0) {
        json_t *cnt =
            db_compute_one(conn, "Keypair", "count",
                           "SELECT count(*) AS n FROM keypair WHERE user_id = $1", 1, p, err);
        if (!cnt)
            goto rollback;
        json_int_t used = json_integer_value(json_object_get(cnt, "n"));
        json_decref(cnt);
        if (used + 1 > limit) {
            err_set(err, ERR_FORBIDDEN, "Quota exceeded, too many key pairs.");
            goto rollback;
        }
    }
    if (db_cmd(
            conn,
            "INSERT INTO keypair (user_id, name, public_key, fingerprint) VALUES ($1, $2, $3, $4)",
            4, p, err) < 0) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT, "Key pair '%s' already exists.", name);
        goto rollback;
    }
    if (db_commit(conn, err) < 0)
        goto cleanup;
    resp = json_pack("{s:s,s:s,s:s,s:s}", "name", name, "public_key", public_key, "fingerprint", fp,
                     "user_id", user);
    if (gen_private)
        json_object_set_new(resp, "private_key", json_string(gen_private));
    /* 2.2: the key type, and 201 */
    if (req->microversion >= COMPUTE_MV(2, 2))
        json_object_set_new(resp, "type", json_string("ssh"));
    api_reply_json(req, req->microversion >= COMPUTE_MV(2, 2) ? 201 : 200,
                   json_pack("{s:o}", "keypair", resp));
    rc = 0;
    goto cleanup;
rollback:
    db_rollback(conn);
cleanup:
    if (gen_private)
        OPENSSL_cleanse(gen_private, strlen(gen_private));
    free(gen_private);
    free(gen_public);
    free(pk_copy);
    return rc;
}

static int
delete_keypair(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0)
        return -1;
    const char *name = api_req_param(req, "name");
    PGconn *conn = api_req_db(req, err);
    if (!conn)
        return -1;
    const char *user =
        keypair_user(req, api_req_query(req, "user_id"), "os_compute_api:os-keypairs:delete", err);
    if (!user)
        return -1;
    const char *p[] = {user, name};
    int n = db_compute_cmd(conn, "DELETE FROM keypair WHERE user_id = $1 AND name = $2", 2, p, err);
    if (n < 0)
        return -1;
    if (n == 0)
        return err_set(err, ERR_NOT_FOUND, "Keypair %s not found for user %s", name, user);
    /* 2.2: 204 */
    api_reply_empty(req, req->microversion >= COMPUTE_MV(2, 2) ? 204 : 202);
    return 0;
}

static const struct api_route routes[] = {
    {.method = "GET", .pattern = COMPUTE_V21 "/os-keypairs", .handler = list_keypairs},
    {.method = "POST", .pattern = COMPUTE_V21 "/os-keypairs", .handler = create_keypair},
    {.method = "GET", .pattern = COMPUTE_V21 "/os-keypairs/{name}", .handler = show_keypair},
    {.method = "DELETE", .pattern = COMPUTE_V21 "/os-keypairs/{name}", .handler = delete_keypair},
};

const struct api_route_table compute_keypairs_routes = {
    .name = "compute_keypairs",
    .prefix = COMPUTE_V21 "/os-keypairs",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
