/* POST /compute/v2.1/servers: the body checked by the schema validator
 * (server_schema.c), then in stages: the flavor, the image (and its kernel
 * and ramdisk, resolved into the boot objects of docs/compute-flow.md), the
 * key pair and the zone; the quotas and the inserts in one transaction under
 * the project's lock; then build_instance cast to the scheduler for each
 * instance, a failed cast putting that instance in ERROR with a fault. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "compute.h"
#include "compute_db.h"
#include "db.h"
#include "id.h"
#include "image.h"
#include "log.h"
#include "mem.h"
#include "schema.h"

/* What a create works with, stage by stage. */
struct create {
    /* the body */
    const char *name, *image_ref, *flavor_ref, *key_name, *user_data, *az, *group, *description;
    long long min_count, max_count;
    json_t *metadata;
    bool return_reservation_id;
    /* resolved */
    const char *project, *fid, *iid, *vm_mode, *kernel_id, *ramdisk_id;
    json_t *flavor, *image, *build, *key;
    long long count; /* how many fit the quotas, from max_count down to min_count */
    char reservation[ID_HEX_LEN + 3];
    json_t *ids;
};

static const char *
row_str(const json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

static long long
row_int(const json_t *row, const char *key)
{
    return json_integer_value(json_object_get(row, key));
}

/* An INT_STRING member: a JSON integer or a decimal string (checked by the
 * validator), or @dflt when absent. */
static long long
count_member(const json_t *s, const char *key, long long dflt)
{
    json_t *v = json_object_get(s, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    return json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : dflt;
}

/* The id at the end of a reference ("<id>" or ".../images/<id>"). */
static const char *
ref_id(const char *ref)
{
    const char *slash = strrchr(ref, '/');
    return slash ? slash + 1 : ref;
}

/* ---- the body ---- */

static bool
base64_ok(const char *s)
{
    size_t n = strlen(s);
    if (n % 4 != 0)
        return false;
    unsigned char *tmp = xmalloc(n + 4);
    int dn = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
    free(tmp);
    return dn >= 0;
}

static int
parse_hints(const json_t *body, struct create *c, struct err *err)
{
    json_t *hints = json_object_get(body, "os:scheduler_hints");
    if (!hints)
        hints = json_object_get(body, "OS-SCH-HNT:scheduler_hints");
    if (!hints)
        return 0;
    if (!json_is_object(hints))
        return err_set(err, ERR_INVALID, "Invalid input for field/attribute scheduler_hints.");
    json_t *g = json_object_get(hints, "group");
    if (g && (!json_is_string(g) || !id_is_uuid(json_string_value(g))))
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute group: it is not a UUID.");
    c->group = json_string_value(g);
    return 0;
}

static int
parse_create(struct api_req *req, struct create *c, struct err *err)
{
    json_t *body = api_req_json(req, err);
    json_t *s = body ? compute_body(req, "server", err) : NULL;
    if (!s ||
        api_schema_validate(&compute_server_create_schema, s, API_SCHEMA_CREATE,
                            compute_is_admin(req), API_ERRORS_NOVA, err) < 0 ||
        compute_server_description(req, s, &c->description, err) < 0)
        return -1;
    c->name = row_str(s, "name");
    c->image_ref = row_str(s, "imageRef");
    c->flavor_ref = row_str(s, "flavorRef");
    c->key_name = row_str(s, "key_name");
    c->user_data = row_str(s, "user_data");
    c->az = row_str(s, "availability_zone");
    c->metadata = json_object_get(s, "metadata");
    c->min_count = count_member(s, "min_count", 1);
    c->max_count = count_member(s, "max_count", c->min_count);
    json_t *rr = json_object_get(s, "return_reservation_id");
    c->return_reservation_id =
        json_is_true(rr) || (json_is_string(rr) && strcasecmp(json_string_value(rr), "true") == 0);
    if (c->max_count < c->min_count)
        return err_set(err, ERR_INVALID, "min_count must be <= max_count");
    if (json_object_get(s, "block_device_mapping_v2") || json_object_get(s, "block_device_mapping"))
        return err_set(err, ERR_INVALID,
                       "Block device mapping is not supported; boot from an image.");
    if (!c->image_ref || !*c->image_ref)
        return err_set(err, ERR_INVALID, "Missing imageRef attribute");
    if (c->user_data && !base64_ok(c->user_data))
        return err_set(err, ERR_INVALID,
                       "Invalid input for field/attribute user_data: it is not valid base64.");
    return parse_hints(body, c, err);
}

/* ---- the flavor, the image, the key, the zone ---- */

static int
resolve_flavor(struct api_req *req, PGconn *conn, struct create *c, struct err *err)
{
    c->fid = ref_id(c->flavor_ref);
    const char *p[] = {req->ctx.project_id, compute_is_admin(req) ? "t" : "f", c->fid};
    c->flavor = db_compute_one(
        conn, "Flavor", c->fid,
        "SELECT f.id, f.memory_mb, f.vcpus, f.root_gb, f.ephemeral_gb, f.swap_mb, f.disabled FROM "
        "flavor f WHERE f.id = $3 AND ($2 = 't' OR f.is_public OR EXISTS (SELECT 1 FROM "
        "flavor_project fp WHERE fp.flavor_id = f.id AND fp.project_id = $1))",
        3, p, err);
    if (!c->flavor)
        return err->code == ERR_NOT_FOUND
                   ? err_set(err, ERR_INVALID, "Flavor %.64s could not be found.", c->fid)
                   : -1;
    if (json_is_true(json_object_get(c->flavor, "disabled")))
        return err_set(err, ERR_INVALID, "Flavor %s is disabled.", c->fid);
    return 0;
}

#define IMAGE_COLS                                                                                 \
    "id::text AS id, name, status, disk_format, checksum, min_disk, min_ram, "                     \
    "properties::text AS properties"
/* The image API's visibility rule (db/image.h), members once accepted. */
#define IMAGE_VISIBLE                                                                              \
    "deleted_at IS NULL AND " DB_IMAGE_VISIBLE_SQL("image", "$3", "$2::boolean", "'accepted'")

static json_t *
image_get(struct api_req *req, PGconn *conn, const char *id, struct err *err)
{
    if (!id_is_uuid(id)) {
        err_set(err, ERR_INVALID, "Image %.64s could not be found.", id);
        return NULL;
    }
    const char *p[] = {id, compute_is_admin(req) ? "t" : "f", req->ctx.project_id};
    json_t *row = db_compute_one(
        conn, "Image", id,
        "SELECT " IMAGE_COLS " FROM image WHERE id = $1::uuid AND " IMAGE_VISIBLE, 3, p, err);
    if (!row && err->code == ERR_NOT_FOUND)
        err->code = ERR_INVALID;
    return row;
}

/* The boot object of an image (the contract's `image`/`kernel`/`ramdisk`).
 * Its location is the image store's file (all-in-one), or with [image]
 * compute_url Glance's download URL and the caller's token, as Nova hands
 * Glance the user's context. */
static json_t *
boot_object(struct api_req *req, const json_t *img)
{
    const char *id = row_str(img, "id");
    const char *curl = req->srv->cfg.image_compute_url;
    json_t *props =
        json_loads(row_str(img, "properties") ? row_str(img, "properties") : "{}", 0, NULL);
    char *loc = curl[0] ? xasprintf("%s/v2/images/%s/file", curl, id)
                        : xasprintf("file://%s/%s", req->srv->cfg.image_store_dir, id);
    json_t *o = json_pack("{s:s,s:s,s:o,s:s}", "id", id, "disk_format",
                          row_str(img, "disk_format") ? row_str(img, "disk_format") : "raw",
                          "properties", props ? props : json_object(), "location", loc);
    free(loc);
    const char *token = api_req_header(req, "X-Auth-Token");
    if (curl[0] && token)
        json_object_set_new(o, "token", json_string(token));
    if (row_str(img, "checksum"))
        json_object_set(o, "checksum", json_object_get(img, "checksum"));
    return o;
}

/* Resolve a kernel_id / ramdisk_id property into its boot object: it must be
 * visible, active and of @format. */
static int
resolve_part(struct api_req *req, PGconn *conn, json_t *props, const char *key, const char *format,
             json_t *build, const char *member, struct err *err)
{
    const char *pid = json_string_value(json_object_get(props, key));
    if (!pid || !*pid)
        return 0;
    json_t *row = image_get(req, conn, pid, err);
    if (!row)
        return err_set(err, ERR_INVALID, "Image %s (the %s of the image) could not be found.", pid,
                       key);
    int rc = 0;
    if (strcmp(row_str(row, "status"), "active") != 0)
        rc = err_set(err, ERR_INVALID, "Image %s (the %s of the image) is not active.", pid, key);
    else if (!row_str(row, "disk_format") || strcmp(row_str(row, "disk_format"), format) != 0)
        rc = err_set(err, ERR_INVALID, "Image %s (the %s of the image) is not of disk_format %s.",
                     pid, key, format);
    else
        json_object_set_new(build, member, boot_object(req, row));
    json_decref(row);
    return rc;
}

/* The image: active, bootable, fitting the flavor; the build's boot objects,
 * its vm_mode (given, or xen for a kernel and hvm otherwise). */
static int
resolve_image(struct api_req *req, PGconn *conn, struct create *c, struct err *err)
{
    c->iid = ref_id(c->image_ref);
    if (!(c->image = image_get(req, conn, c->iid, err)))
        return -1;
    if (strcmp(row_str(c->image, "status"), "active") != 0)
        return err_set(err, ERR_INVALID, "Image %s is not active.", c->iid);
    const char *dfmt = row_str(c->image, "disk_format");
    if (dfmt && strcmp(dfmt, "ari") == 0)
        return err_set(err, ERR_INVALID, "Image %s is a ramdisk (ari) and cannot be booted.",
                       c->iid);
    if (row_int(c->flavor, "memory_mb") < row_int(c->image, "min_ram"))
        return err_set(err, ERR_INVALID, "Flavor's memory is too small for requested image.");
    long long fdisk = row_int(c->flavor, "root_gb");
    if (fdisk && fdisk < row_int(c->image, "min_disk"))
        return err_set(err, ERR_INVALID, "Flavor's disk is too small for requested image.");
    c->build = json_object();
    json_object_set_new(c->build, "image", boot_object(req, c->image));
    json_t *props = json_object_get(json_object_get(c->build, "image"), "properties");
    if (resolve_part(req, conn, props, "kernel_id", "aki", c->build, "kernel", err) < 0 ||
        resolve_part(req, conn, props, "ramdisk_id", "ari", c->build, "ramdisk", err) < 0)
        return -1;
    c->vm_mode = json_string_value(json_object_get(props, "vm_mode"));
    if (c->vm_mode && strcmp(c->vm_mode, "xen") != 0 && strcmp(c->vm_mode, "hvm") != 0 &&
        strcmp(c->vm_mode, "exe") != 0)
        return err_set(err, ERR_INVALID, "Image %s has an unknown vm_mode %.32s.", c->iid,
                       c->vm_mode);
    json_t *kernel = json_object_get(c->build, "kernel");
    if (!c->vm_mode)
        c->vm_mode = (dfmt && strcmp(dfmt, "aki") == 0) || kernel ? "xen" : "hvm";
    /* OS-EXT-SRV-ATTR:kernel_id / ramdisk_id (2.3) */
    c->kernel_id = row_str(kernel, "id") ? row_str(kernel, "id") : "";
    json_t *ramdisk = json_object_get(c->build, "ramdisk");
    c->ramdisk_id = row_str(ramdisk, "id") ? row_str(ramdisk, "id") : "";
    return 0;
}

static int
resolve_key_and_zone(struct api_req *req, PGconn *conn, struct create *c, struct err *err)
{
    if (c->key_name) {
        const char *kp[] = {req->ctx.user_id, c->key_name};
        c->key = db_compute_one(conn, "Keypair", c->key_name,
                                "SELECT public_key FROM keypair WHERE user_id = $1 AND name = $2",
                                2, kp, err);
        if (!c->key)
            return err->code == ERR_NOT_FOUND
                       ? err_set(err, ERR_INVALID, "Invalid key_name provided.")
                       : -1;
    }
    if (!c->az)
        return 0;
    const char *zp[] = {c->az};
    json_t *z = db_query_json(
        conn, "SELECT 1 FROM compute_node WHERE availability_zone = $1 LIMIT 1", 1, zp, err);
    if (!z)
        return -1;
    bool known = json_array_size(z) > 0;
    json_decref(z);
    return known ? 0
                 : err_set(err, ERR_INVALID, "The requested availability zone is not available");
}

/* ---- quotas (in the create's transaction, under the project's lock) ---- */

/* The server group must be the caller's; its members quota may lower
 * max_count (403 when not even min_count fits). */
static int
quota_group(struct api_req *req, PGconn *conn, struct create *c, struct err *err)
{
    const char *gp[] = {c->group, c->project, compute_is_admin(req) ? "t" : "f"};
    json_t *g = db_compute_one(conn, "Server group", c->group,
                               "SELECT id FROM server_group WHERE id = $1::uuid AND ($3 = 't' "
                               "OR project_id = $2) FOR UPDATE",
                               3, gp, err);
    if (!g) {
        if (err->code == ERR_NOT_FOUND)
            err->code = ERR_INVALID;
        return -1;
    }
    json_decref(g);
    long long lim;
    if (compute_quota_limit(req, conn, c->project, COMPUTE_QUOTA_SERVER_GROUP_MEMBERS, &lim, err) <
        0)
        return -1;
    const char *mp[] = {c->group};
    json_t *members = db_compute_one(conn, "Server group", c->group,
                                     "SELECT count(*) AS n FROM instance WHERE "
                                     "server_group_id = $1::uuid AND deleted_at IS NULL",
                                     1, mp, err);
    if (!members)
        return -1;
    long long n = row_int(members, "n");
    json_decref(members);
    if (lim >= 0 && n + c->min_count > lim)
        return err_set(err, ERR_FORBIDDEN, "Quota exceeded, too many servers in group");
    if (lim >= 0 && n + c->max_count > lim)
        c->max_count = lim - n;
    return 0;
}

/* Instances, cores and RAM: the most instances from max_count down to
 * min_count that fit, or 403 naming the first resource that does not. */
static int
quota_count(struct api_req *req, PGconn *conn, struct create *c, struct err *err)
{
    static const enum compute_quota qs[] = {COMPUTE_QUOTA_INSTANCES, COMPUTE_QUOTA_CORES,
                                            COMPUTE_QUOTA_RAM};
    long long lim[3];
    for (size_t i = 0; i < 3; i++)
        if (compute_quota_limit(req, conn, c->project, qs[i], &lim[i], err) < 0)
            return -1;
    const char *up[] = {c->project};
    json_t *used = db_compute_one(
        conn, "Project", c->project,
        "SELECT count(*) AS n, coalesce(sum(vcpus), 0)::bigint AS c, coalesce(sum(memory_mb), "
        "0)::bigint AS r FROM instance WHERE project_id = $1 AND deleted_at IS NULL",
        1, up, err);
    if (!used)
        return -1;
    long long have[3] = {row_int(used, "n"), row_int(used, "c"), row_int(used, "r")};
    long long each[3] = {1, row_int(c->flavor, "vcpus"), row_int(c->flavor, "memory_mb")};
    json_decref(used);
    int over = -1;
    for (c->count = c->max_count; c->count >= c->min_count; c->count--) {
        over = -1;
        for (int i = 0; i < 3 && over < 0; i++)
            if (lim[i] >= 0 && have[i] + c->count * each[i] > lim[i])
                over = i;
        if (over < 0)
            return 0;
    }
    const char *what = compute_quota_name(qs[over]);
    return err_set(err, ERR_FORBIDDEN,
                   "Quota exceeded for %s: Requested %lld, but already used %lld of %lld %s", what,
                   c->min_count * each[over], have[over], lim[over], what);
}

/* ---- the rows ---- */

static int
insert_instances(struct api_req *req, PGconn *conn, struct create *c, struct err *err)
{
    char hex[ID_HEX_LEN + 1];
    id_hex(hex);
    snprintf(c->reservation, sizeof(c->reservation), "r-%.8s", hex);
    char *meta = c->metadata ? json_dumps(c->metadata, JSON_COMPACT) : xstrdup("{}");
    int rc = 0;
    for (long long n = 0; n < c->count && rc == 0; n++) {
        char id[ID_UUID_LEN + 1], idx[24];
        id_uuid(id);
        snprintf(idx, sizeof(idx), "%lld", n);
        char *name = c->count > 1 ? xasprintf("%s-%lld", c->name, n + 1) : xstrdup(c->name);
        const char *ip[] = {id,
                            name,
                            c->project,
                            req->ctx.user_id,
                            c->iid,
                            c->fid,
                            c->key_name,
                            c->key ? row_str(c->key, "public_key") : NULL,
                            c->user_data,
                            meta,
                            c->az,
                            c->vm_mode,
                            c->group,
                            c->reservation,
                            idx,
                            c->kernel_id,
                            c->ramdisk_id,
                            c->description};
        rc = db_cmd(
            conn,
            "INSERT INTO instance (id, name, project_id, user_id, image_id, flavor_id, vcpus, "
            "memory_mb, root_gb, ephemeral_gb, swap_mb, key_name, key_data, user_data, metadata, "
            "availability_zone, vm_mode, vm_state, task_state, server_group_id, reservation_id, "
            "launch_index, kernel_id, ramdisk_id, description, hostname) SELECT $1::uuid, $2, $3, "
            "$4, $5, f.id, f.vcpus, f.memory_mb, f.root_gb, f.ephemeral_gb, f.swap_mb, $7, $8, "
            "$9, $10::jsonb, $11, $12, 'building', 'scheduling', $13::uuid, $14, $15::int, $16, "
            "$17, $18, nova_hostname($2) FROM flavor f WHERE f.id = $6",
            18, ip, err);
        free(name);
        if (rc == 0)
            json_array_append_new(c->ids, json_string(id));
    }
    free(meta);
    return rc;
}

/* The quotas and the inserts, one transaction under the project's lock. */
static int
store_instances(struct api_req *req, PGconn *conn, struct create *c, struct err *err)
{
    if (db_begin(conn, err) < 0)
        return -1;
    if (db_compute_lock_project(conn, c->project, err) < 0 ||
        (c->metadata && compute_metadata_quota(req, conn, c->project, c->metadata, err) < 0) ||
        (c->group && quota_group(req, conn, c, err) < 0) || quota_count(req, conn, c, err) < 0 ||
        insert_instances(req, conn, c, err) < 0) {
        db_rollback(conn);
        return -1;
    }
    return db_commit(conn, err);
}

/* Mark an instance ERROR with @msg (a build that could not be handed on). */
static void
server_fail(PGconn *conn, const char *id, const char *msg)
{
    struct err e = ERR_INIT;
    json_t *fault = json_pack("{s:i,s:s}", "code", 500, "message", msg);
    char *ftxt = json_dumps(fault, JSON_COMPACT);
    json_decref(fault);
    const char *p[] = {id, ftxt};
    if (db_cmd(conn,
               "UPDATE instance SET vm_state = 'error', task_state = NULL, fault = $2::jsonb || "
               "jsonb_build_object('created', nova_ts(now())), updated_at = now() "
               "WHERE id = $1::uuid AND vm_state = 'building' AND host IS NULL",
               2, p, &e) < 0)
        log_error("instance %s: could not record its failure: %s", id, e.msg);
    free(ftxt);
}

/* Hand each instance to the scheduler; a failed cast puts that one in ERROR. */
static void
cast_builds(struct api_req *req, PGconn *conn, const struct create *c)
{
    size_t i;
    json_t *jid;
    json_array_foreach (c->ids, i, jid) {
        const char *id = json_string_value(jid);
        json_t *args = json_deep_copy(c->build);
        json_object_set_new(args, "instance_id", json_string(id));
        struct err cerr = ERR_INIT;
        if (compute_cast(req, BUS_TOPIC_SCHEDULER, "build_instance", args, &cerr) < 0) {
            log_error("instance %s: %s", id, cerr.msg);
            server_fail(conn, id, "The scheduler could not be reached; the build was not started.");
        }
        json_decref(args);
    }
}

/* 202 with the first server (and a generated adminPass, which Nova returns
 * and Nube's guests do not use), or the reservation id when asked. */
static void
reply_created(struct api_req *req, const struct create *c)
{
    const char *first = json_string_value(json_array_get(c->ids, 0));
    char *loc = api_req_url(req, COMPUTE_V21 "/servers/%s", first);
    api_reply_header(req, "Location", loc);
    free(loc);
    if (c->return_reservation_id) {
        api_reply_json(req, 202, json_pack("{s:s}", "reservation_id", c->reservation));
        return;
    }
    unsigned char raw[9];
    char pass[13];
    RAND_bytes(raw, sizeof(raw));
    EVP_EncodeBlock((unsigned char *)pass, raw, sizeof(raw));
    for (char *p = pass; *p; p++)
        if (*p == '+' || *p == '/')
            *p = 'x';
    api_reply_json(req, 202,
                   json_pack("{s:{s:s,s:o,s:s,s:[{s:s}],s:s}}", "server", "id", first, "links",
                             compute_links(req, "servers/%s", first), "OS-DCF:diskConfig", "MANUAL",
                             "security_groups", "name", "default", "adminPass", pass));
}

int
compute_server_create(struct api_req *req, struct err *err)
{
    if (compute_begin(req, err) < 0 ||
        compute_authorize(req, "os_compute_api:servers:create", err) < 0)
        return -1;
    struct create c = {.ids = json_array()};
    PGconn *conn = NULL;
    int rc = -1;
    if (!(c.project = compute_project(req, err)) || parse_create(req, &c, err) < 0 ||
        !(conn = api_req_db(req, err)) || resolve_flavor(req, conn, &c, err) < 0 ||
        resolve_image(req, conn, &c, err) < 0 || resolve_key_and_zone(req, conn, &c, err) < 0 ||
        store_instances(req, conn, &c, err) < 0)
        goto cleanup;
    cast_builds(req, conn, &c);
    reply_created(req, &c);
    rc = 0;
cleanup:
    json_decref(c.ids);
    json_decref(c.key);
    json_decref(c.build);
    json_decref(c.image);
    json_decref(c.flavor);
    return rc;
}
