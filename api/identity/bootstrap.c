/* `cloud-api bootstrap`: bring a fresh database to a usable cloud, idempotently:
 * the schema, domain "default", roles admin/member/reader, project "admin",
 * user "admin" (password set to the one given) with the admin role there, the
 * identity service and its endpoints, every [catalog] entry of the config
 * (the image service defaults to {public_url}/image), and the token keys.
 * Running it again changes nothing but the admin password and endpoint URLs. */
#include "bootstrap.h"

#include <string.h>

#include "crypto.h"
#include "db.h"
#include "identity.h"
#include "log.h"
#include "mem.h"
#include "token.h"

/* The service types a [catalog] section may name, with their usual names.
 * Each value is the public URL; it is also used for internal and admin. */
static const struct {
    const char *type;
    const char *name;
} catalog_types[] = {
    {"compute", "nova"},      {"image", "glance"},         {"network", "neutron"},
    {"volumev3", "cinderv3"}, {"block-storage", "cinder"}, {"placement", "placement"},
};

static int
ensure_role(PGconn *conn, const char *name, char id[65], struct err *err)
{
    json_t *row = db_role_find(conn, name, err);
    if (!row) {
        if (err->code != ERR_NOT_FOUND)
            return -1;
        char nid[ID_HEX_LEN + 1];
        id_hex(nid);
        if (db_role_create(conn, nid, name, "", err) < 0)
            return -1;
        strlcpy_n(id, nid, 65);
        log_info("bootstrap: created role %s", name);
        return 0;
    }
    strlcpy_n(id, json_string_value(json_object_get(row, "id")), 65);
    json_decref(row);
    return 0;
}

static int
ensure_endpoints(PGconn *conn, const char *type, const char *name, const char *region,
                 const char *url, struct err *err)
{
    static const char *const ifaces[] = {"public", "internal", "admin"};
    for (size_t i = 0; i < ARRAY_SIZE(ifaces); i++)
        if (db_catalog_ensure(conn, type, name, ifaces[i], region, url, err) < 0)
            return err_prefix(err, "registering %s endpoint of %s", ifaces[i], type);
    return 0;
}

/* Nova's classic flavors plus m1.nano for Nube's initramfs guest; an
 * existing flavor of the same id or name is left as it is. */
static int
ensure_flavors(PGconn *conn, struct err *err)
{
    static const char *const flavors[][5] = {
        {"42", "m1.nano", "128", "1", "0"},   {"1", "m1.tiny", "512", "1", "1"},
        {"2", "m1.small", "2048", "1", "20"}, {"3", "m1.medium", "4096", "2", "40"},
        {"4", "m1.large", "8192", "4", "80"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(flavors); i++) {
        if (db_cmd(conn,
                   "INSERT INTO flavor (id, name, memory_mb, vcpus, root_gb) VALUES ($1, $2, "
                   "$3::int, $4::int, $5::int) ON CONFLICT DO NOTHING",
                   5, flavors[i], err) < 0)
            return -1;
    }
    return 0;
}

static int
bootstrap_tx(PGconn *conn, const struct api_config *cfg, const struct config *raw,
             const char *admin_password, struct err *err)
{
    if (db_domain_ensure(conn, "default", "Default", err) < 0)
        return err_prefix(err, "domain default");
    char admin_role[65], member_role[65], reader_role[65];
    if (ensure_role(conn, "admin", admin_role, err) < 0 ||
        ensure_role(conn, "member", member_role, err) < 0 ||
        ensure_role(conn, "reader", reader_role, err) < 0)
        return err_prefix(err, "roles");

    char project_id[65];
    json_t *row = db_project_find(conn, "admin", "default", err);
    if (row) {
        strlcpy_n(project_id, json_string_value(json_object_get(row, "id")), sizeof(project_id));
        json_decref(row);
        if (db_project_update(conn, project_id, NULL, NULL, 1, err) < 0)
            return -1;
    } else {
        if (err->code != ERR_NOT_FOUND)
            return -1;
        id_hex(project_id);
        if (db_project_create(conn, project_id, "admin", "default", NULL, "Bootstrap project", true,
                              NULL, err) < 0)
            return err_prefix(err, "project admin");
        log_info("bootstrap: created project admin");
    }

    char user_id[65];
    _cleanup_free_ char *hash = crypto_password_hash(admin_password, CRYPTO_PBKDF2_ITERATIONS);
    row = db_user_find(conn, "admin", "default", err);
    if (row) {
        strlcpy_n(user_id, json_string_value(json_object_get(row, "id")), sizeof(user_id));
        const char *old = json_string_value(json_object_get(row, "password_hash"));
        bool same = old && crypto_password_verify(admin_password, old);
        json_decref(row);
        if (db_user_update(conn, user_id, NULL, same ? NULL : hash, 1, NULL, NULL, NULL, err) < 0)
            return err_prefix(err, "user admin");
    } else {
        if (err->code != ERR_NOT_FOUND)
            return -1;
        id_hex(user_id);
        if (db_user_create(conn, user_id, "admin", "default", hash, true, NULL, "", NULL, err) < 0)
            return err_prefix(err, "user admin");
        log_info("bootstrap: created user admin");
    }
    if (db_assignment_grant(conn, user_id, project_id, admin_role, err) < 0)
        return err_prefix(err, "granting admin");

    _cleanup_free_ char *identity_url = xasprintf("%s/v3", cfg->public_url);
    if (ensure_endpoints(conn, "identity", "keystone", cfg->region, identity_url, err) < 0)
        return -1;
    /* compute is served by this process: {public_url}/compute/v2.1 unless
     * [catalog] compute says otherwise; and the default flavors */
    _cleanup_free_ char *compute_url = xasprintf("%s/compute/v2.1", cfg->public_url);
    if (!config_get(raw, "catalog", "compute", NULL) &&
        ensure_endpoints(conn, "compute", "nova", cfg->region, compute_url, err) < 0)
        return -1;
    if (ensure_flavors(conn, err) < 0)
        return err_prefix(err, "default flavors");
    /* this process serves the image API itself: its endpoint is registered
     * unless [catalog] names another one */
    _cleanup_free_ char *image_url = xasprintf("%s/image", cfg->public_url);
    for (size_t i = 0; i < ARRAY_SIZE(catalog_types); i++) {
        const char *dflt = strcmp(catalog_types[i].type, "image") == 0 ? image_url : NULL;
        const char *url = config_get(raw, "catalog", catalog_types[i].type, dflt);
        if (url && *url &&
            ensure_endpoints(conn, catalog_types[i].type, catalog_types[i].name, cfg->region, url,
                             err) < 0)
            return -1;
    }
    return 0;
}

int
api_bootstrap(const struct api_config *cfg, const struct config *raw, const char *admin_password,
              struct err *err)
{
    if (!admin_password || !*admin_password)
        return err_set(err, ERR_INVALID, "an admin password is required");
    struct token_keys keys;
    if (token_keys_load(cfg->key_dir, &keys, err) < 0)
        return err_prefix(err, "token keys");
    memset(&keys, 0, sizeof(keys));

    struct db_pool *pool = db_pool_new(cfg->connection, 1, err);
    if (!pool)
        return -1;
    int rc = -1;
    PGconn *conn = db_pool_acquire(pool, err);
    if (!conn)
        goto out;
    int applied = 0;
    if (db_migrate(conn, cfg->migrations_dir, &applied, err) < 0) {
        err_prefix(err, "migrating the database");
        goto out;
    }
    if (applied)
        log_info("bootstrap: applied %d migration(s)", applied);
    if (db_begin(conn, err) < 0)
        goto out;
    if (bootstrap_tx(conn, cfg, raw, admin_password, err) < 0) {
        db_rollback(conn);
        goto out;
    }
    if (db_commit(conn, err) < 0)
        goto out;
    log_info("bootstrap: done (identity endpoint %s/v3)", cfg->public_url);
    rc = 0;
out:
    if (conn)
        db_pool_release(pool, conn);
    db_pool_free(pool);
    return rc;
}
