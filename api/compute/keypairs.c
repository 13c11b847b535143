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
#include "resource.h"

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

/* The user whose key pairs a request acts on: the caller, or from 2.10 the
 * `user_id` query argument (@given; for create the body's member), which only
 * an admin may point at another user. */
static const char *
keypair_user(struct api_req *req, const char *given, struct err *err)
{
    if (req->microversion < COMPUTE_MV(2, 10) || !given || !*given ||
        strcmp(given, req->ctx.user_id) == 0)
        return req->ctx.user_id;
    if (!compute_is_admin(req)) {
        err_set(err, ERR_FORBIDDEN,
                "Policy doesn't allow os_compute_api:os-keypairs to be performed for another "
                "user.");
        return NULL;
    }
    return given;
}

/* The public key to store: the body's (trailing newlines stripped), or a
 * generated pair's, then *@private holds the private key to return once. */
static char *
keypair_public_key(const json_t *kp, char **private, struct err *err)
{
    *private = NULL;
    const char *given = json_string_value(json_object_get(kp, "public_key"));
    char *pk = NULL;
    if (!given) {
        if (keypair_generate(&pk, private, err) < 0)
            return NULL;
    } else {
        pk = xstrdup(given);
        size_t n = strlen(pk);
        while (n > 0 && (pk[n - 1] == '\n' || pk[n - 1] == '\r' || pk[n - 1] == ' '))
            pk[--n] = '\0';
    }
    size_t blen = 0;
    unsigned char *blob = ssh_blob(pk, &blen);
    if (!blob) {
        free(pk);
        err_set(err, ERR_INVALID, "Keypair data is invalid: failed to generate fingerprint");
        return NULL;
    }
    free(blob);
    return pk;
}

/* The key_pairs quota (counted per user, as Nova does) and the insert, in one
 * transaction under the user's lock. */
static int
keypair_insert(struct api_req *req, PGconn *conn, const char *user, const char *name,
               const char *public_key, const char *fp, struct err *err)
{
    if (db_begin(conn, err) < 0)
        return -1;
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
    return db_commit(conn, err);
rollback:
    db_rollback(conn);
    return -1;
}

static const char *const keypair_types[] = {"ssh", NULL};

static const struct api_field keypair_fields[] = {
    API_FIELD_DEF("name", API_FIELD_STRING, API_FIELD_REQUIRED | API_FIELD_SORT, .min = 1,
                  .max = 255, .pattern = "^[a-zA-Z0-9_ -]+$"),
    API_FIELD_DEF("type", API_FIELD_STRING, API_FIELD_NULLABLE, .enum_values = keypair_types),
    API_FIELD_DEF("public_key", API_FIELD_STRING, API_FIELD_NULLABLE | API_FIELD_MULTILINE,
                  .max = KEYPAIR_PUBLIC_MAX),
    API_FIELD_DEF("user_id", API_FIELD_STRING, API_FIELD_NULLABLE, .min = 1, .max = 255),
};

static const struct api_schema keypair_schema = {
    .name = "keypair",
    .fields = keypair_fields,
    .nfields = ARRAY_SIZE(keypair_fields),
};

/* Create: import the public key given, or generate a pair and return its
 * private key once (never stored). */
static int
create_keypair(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:os-keypairs:create", err) < 0)
        return -1;
    json_t *body = api_req_json(req, err);
    json_t *kp = body ? api_schema_unwrap(&keypair_schema, body, API_ERRORS_NOVA, err) : NULL;
    if (!kp || api_schema_validate(&keypair_schema, kp, API_SCHEMA_CREATE, req->ctx.is_admin,
                                   API_ERRORS_NOVA, err) < 0)
        return -1;
    /* members of later microversions */
    static const struct {
        const char *name;
        int mv;
    } later[] = {{"type", COMPUTE_MV(2, 2)}, {"user_id", COMPUTE_MV(2, 10)}};
    for (size_t i = 0; i < ARRAY_SIZE(later); i++)
        if (json_object_get(kp, later[i].name) && req->microversion < later[i].mv)
            return err_set(err, ERR_INVALID,
                           "Invalid input for field/attribute keypair. Additional properties are "
                           "not allowed ('%s' was unexpected)",
                           later[i].name);
    const char *name = json_string_value(json_object_get(kp, "name"));
    const char *user = keypair_user(req, json_string_value(json_object_get(kp, "user_id")), err);
    if (!user)
        return -1;
    char *private = NULL, *public_key = keypair_public_key(kp, &private, err);
    if (!public_key)
        return -1;
    size_t blen = 0;
    unsigned char *blob = ssh_blob(public_key, &blen);
    char fp[48] = "";
    fingerprint_of(blob, blen, fp);
    free(blob);
    PGconn *conn = api_req_db(req, err);
    int rc = conn ? keypair_insert(req, conn, user, name, public_key, fp, err) : -1;
    if (rc == 0) {
        json_t *resp = json_pack("{s:s,s:s,s:s,s:s}", "name", name, "public_key", public_key,
                                 "fingerprint", fp, "user_id", user);
        if (private)
            json_object_set_new(resp, "private_key", json_string(private));
        bool v22 = req->microversion >= COMPUTE_MV(2, 2); /* the key type, and 201 */
        if (v22)
            json_object_set_new(resp, "type", json_string("ssh"));
        api_reply_json(req, v22 ? 201 : 200, json_pack("{s:o}", "keypair", resp));
    }
    if (private)
        OPENSSL_cleanse(private, strlen(private));
    free(private);
    free(public_key);
    return rc;
}

/* A user's own key pairs; an admin may name another user with ?user_id. */
static int
keypair_scope(struct api_req *req, struct db_sql *where, struct err *err)
{
    const char *user = keypair_user(req, api_req_query(req, "user_id"), err);
    if (!user)
        return -1;
    db_sql_add1(where, " AND user_id = $?", user);
    return 0;
}

/* 2.2: delete answers 204 (202 before) */
static int
keypair_status(const struct api_req *req, int status)
{
    return status == 202 && req->microversion >= COMPUTE_MV(2, 2) ? 204 : status;
}

/* The list has Nova's 2.1 summary (name, public_key, fingerprint, each
 * wrapped in "keypair"); show has the whole record. */
static json_t *
keypair_render(struct api_req *req, const json_t *row, enum api_view view)
{
    json_t *kp = json_pack("{s:O,s:O,s:O}", "name", json_object_get(row, "name"), "public_key",
                           json_object_get(row, "public_key"), "fingerprint",
                           json_object_get(row, "fingerprint"));
    if (req->microversion >= COMPUTE_MV(2, 2)) /* the key type */
        json_object_set_new(kp, "type", json_string("ssh"));
    if (view == API_VIEW_SUMMARY)
        return json_pack("{s:o}", "keypair", kp);
    json_object_set(kp, "id", json_object_get(row, "id"));
    json_object_set(kp, "user_id", json_object_get(row, "user_id"));
    json_object_set(kp, "created_at", json_object_get(row, "created_at"));
    json_object_set_new(kp, "deleted", json_false());
    json_object_set_new(kp, "deleted_at", json_null());
    json_object_set_new(kp, "updated_at", json_null());
    return kp;
}

/* list, show and delete are the engine's; create (generate or import, quota)
 * is create_keypair above. */
static const struct api_resource keypair_resource = {
    .singular = "keypair",
    .plural = "keypairs",
    .noun = "Keypair",
    .id_param = "name",
    .path = COMPUTE_V21 "/os-keypairs",
    .schema = &keypair_schema,
    .table = "keypair",
    .select = "id, name, public_key, fingerprint, user_id, " COMPUTE_TS_SQL(
        "created_at") " AS created_at",
    .id_column = "name",
    .paging = API_PAGING_NOVA,
    .list_action = "os_compute_api:os-keypairs:index",
    .show_action = "os_compute_api:os-keypairs:show",
    .delete_action = "os_compute_api:os-keypairs:delete",
    .delete_status = 202,
    .begin = compute_begin,
    .scope = keypair_scope,
    .status = keypair_status,
    .render = keypair_render,
};

static const struct api_route routes[] = {
    API_RESOURCE_LIST(&keypair_resource, COMPUTE_V21 "/os-keypairs", API_VIEW_SUMMARY),
    {.method = "POST", .pattern = COMPUTE_V21 "/os-keypairs", .handler = create_keypair},
    API_RESOURCE_SHOW(&keypair_resource, COMPUTE_V21 "/os-keypairs/{name}"),
    API_RESOURCE_DELETE(&keypair_resource, COMPUTE_V21 "/os-keypairs/{name}"),
};

const struct api_route_table compute_keypairs_routes = {
    .name = "compute_keypairs",
    .prefix = COMPUTE_V21 "/os-keypairs",
    .errors = API_ERRORS_NOVA,
    .routes = routes,
    .nroutes = ARRAY_SIZE(routes),
    .request_id_header = "X-Compute-Request-Id",
};
