/* Image tables (image.h). Rows are rendered to Glance's JSON by PostgreSQL
 * itself (IMAGE_JSON below): the custom properties merged with the core
 * attributes, which win on a clash. */
#include "image.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "json.h"
#include "mem.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* One image row (alias i) as Glance v2 JSON text. */
#define IMAGE_JSON                                                                                   \
    "(i.properties || jsonb_build_object("                                                           \
    "'id', i.id, 'name', i.name, 'status', i.status, 'visibility', i.visibility,"                    \
    " 'protected', i.protected, 'os_hidden', i.os_hidden, 'owner', i.owner,"                         \
    " 'disk_format', i.disk_format, 'container_format', i.container_format, 'size', i.size,"         \
    " 'virtual_size', i.virtual_size, 'checksum', i.checksum, 'os_hash_algo', i.os_hash_algo,"       \
    " 'os_hash_value', i.os_hash_value, 'min_disk', i.min_disk, 'min_ram', i.min_ram,"               \
    " 'created_at', " TS("i.created_at") ", 'updated_at', " TS(                                      \
        "i.updated_at") ","                                                                          \
                        " 'tags', COALESCE((SELECT jsonb_agg(t.tag ORDER BY t.tag) FROM image_tag t" \
                        " WHERE t.image_id = i.id), '[]'::jsonb),"                                   \
                        " 'self', '/v2/images/' || i.id, 'file', '/v2/images/' || i.id || '/file',"  \
                        " 'schema', '/v2/schemas/image'))::text"

/* Who may see an image by id: $2 project, $3 is_admin; a member in any
 * status (image.h). */
#define IMAGE_VISIBLE DB_IMAGE_VISIBLE_SQL("i", "$2", "$3::boolean", "NULL::text")

static const char *const core_keys[] = {
    "id",           "name",          "status",
    "visibility",   "protected",     "os_hidden",
    "owner",        "disk_format",   "container_format",
    "size",         "virtual_size",  "checksum",
    "os_hash_algo", "os_hash_value", "min_disk",
    "min_ram",      "created_at",    "updated_at",
    "tags",         "self",          "file",
    "schema",       "direct_url",    "locations",
    "stores",       "deleted",       "deleted_at",
};

bool
db_image_is_core(const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(core_keys); i++)
        if (strcmp(core_keys[i], key) == 0)
            return true;
    return false;
}

static json_t *
rows_to_images(PGresult *res, struct err *err)
{
    json_t *out = json_array();
    for (int r = 0; r < PQntuples(res); r++) {
        const char *txt = PQgetvalue(res, r, 0);
        json_t *img = json_parse_buf(txt, strlen(txt), err);
        if (!img) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, img);
    }
    return out;
}

/* 32 hex digits, optionally dashed as 8-4-4-4-12: anything else is not an id
 * (a name, for the client's name-or-id lookup) and is not sent to the server. */
static bool
is_uuid(const char *s)
{
    size_t n = strlen(s), digits = 0;
    if (n != 32 && n != 36)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (c != '-')
                return false;
        } else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
            digits++;
        } else {
            return false;
        }
    }
    return digits == 32;
}

bool
db_image_id_valid(const char *id)
{
    return id && is_uuid(id);
}

json_t *
db_image_get(PGconn *conn, const char *id, const struct db_image_viewer *who, struct err *err)
{
    if (!is_uuid(id)) {
        err_set(err, ERR_NOT_FOUND, "No image found with ID %s", id);
        return NULL;
    }
    const char *p[] = {id, who->project_id ? who->project_id : "", who->is_admin ? "t" : "f"};
    PGresult *res = db_exec(conn,
                            "SELECT " IMAGE_JSON " FROM image i WHERE i.id = $1::uuid AND"
                            " i.deleted_at IS NULL AND " IMAGE_VISIBLE,
                            3, p, err);
    if (!res)
        return NULL;
    json_t *rows = rows_to_images(res, err);
    PQclear(res);
    return db_first_row(rows, err, "No image found with ID %s", id);
}

/* Sort keys and the expression each sorts by (never NULL, so that the marker
 * comparison is total); the image id breaks ties. */
static const struct {
    const char *key;
    const char *expr;
} sort_keys[] = {
    {"name", "COALESCE(name, '')"},
    {"status", "status"},
    {"visibility", "visibility"},
    {"owner", "COALESCE(owner, '')"},
    {"disk_format", "COALESCE(disk_format, '')"},
    {"container_format", "COALESCE(container_format, '')"},
    {"size", "COALESCE(size, -1)"},
    {"virtual_size", "COALESCE(virtual_size, -1)"},
    {"min_disk", "min_disk"},
    {"min_ram", "min_ram"},
    {"id", "id::text"},
    {"created_at", "created_at"},
    {"updated_at", "updated_at"},
};

bool
db_image_sort_key_valid(const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(sort_keys); i++)
        if (strcmp(sort_keys[i].key, key) == 0)
            return true;
    return false;
}

json_t *
db_image_list(PGconn *conn, const struct db_image_filter *f, const struct db_image_viewer *who,
              struct err *err)
{
    const char *expr = "created_at";
    for (size_t i = 0; i < ARRAY_SIZE(sort_keys); i++)
        if (f->sort_key && strcmp(sort_keys[i].key, f->sort_key) == 0)
            expr = sort_keys[i].expr;
    const char *dir = f->sort_desc ? "DESC" : "ASC";
    const char *cmp = f->sort_desc ? "<" : ">";
    /* The only text spliced in comes from the constant tables above. */
    char *sql = xasprintf(
        "SELECT " IMAGE_JSON " FROM image i WHERE i.deleted_at IS NULL"
        " AND ($1::text IS NULL OR i.name = $1)"
        " AND ($2::text IS NULL OR i.status = $2)"
        " AND ($3::text IS NULL OR $3 = 'all' OR i.visibility = $3)"
        " AND ($4::text IS NULL OR i.owner = $4)"
        " AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM image_tag t WHERE t.image_id = i.id"
        " AND t.tag = $5))"
        " AND ($6::text IS NULL OR i.disk_format = $6)"
        " AND ($7::text IS NULL OR i.container_format = $7)"
        " AND ($8::bigint IS NULL OR i.size >= $8)"
        " AND ($9::bigint IS NULL OR i.size <= $9)"
        " AND ($10::boolean IS NULL OR i.os_hidden = $10)"
        " AND ($11::boolean IS NULL OR i.protected = $11)"
        " AND " DB_IMAGE_VISIBLE_SQL("i", "$13", "$12::boolean", "$14::text")
        /* community images are listed to others only when asked for */
        " AND (i.visibility <> 'community' OR $12::boolean OR i.owner = $13"
        "  OR $3 IN ('community', 'all'))"
        " AND ($15::uuid IS NULL OR (%s, i.id) %s (SELECT %s, id FROM image WHERE id = $15))"
        " ORDER BY %s %s, i.id %s LIMIT $16",
        expr, cmp, expr, expr, dir, dir);
    char limit[32];
    snprintf(limit, sizeof(limit), "%ld", f->limit);
    const char *p[16] = {
        f->name,
        f->status,
        f->visibility,
        f->owner,
        f->tag,
        f->disk_format,
        f->container_format,
        f->size_min,
        f->size_max,
        f->os_hidden < 0 ? NULL
        : f->os_hidden   ? "t"
                         : "f",
        f->protected_ < 0 ? NULL
        : f->protected_   ? "t"
                          : "f",
        who->is_admin ? "t" : "f",
        who->project_id ? who->project_id : "",
        f->member_status ? f->member_status : "accepted",
        f->marker,
        limit,
    };
    PGresult *res = db_exec(conn, sql, 16, p, err);
    free(sql);
    if (!res)
        return NULL;
    json_t *rows = rows_to_images(res, err);
    PQclear(res);
    return rows;
}

int
db_image_create(PGconn *conn, const char *id, const char *owner, const json_t *image,
                struct err *err)
{
    const char *p[] = {id, owner};
    if (db_cmd(conn, "INSERT INTO image (id, owner) VALUES ($1::uuid, $2)", 2, p, err) < 0)
        return -1;
    return db_image_store(conn, id, image, err);
}

static const char *
str_or_null(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int
db_image_store(PGconn *conn, const char *id, const json_t *image, struct err *err)
{
    json_t *props = json_object();
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)image, key, v) {
        if (!db_image_is_core(key))
            json_object_set(props, key, v);
    }
    char *props_txt = json_dump_compact(props);
    json_decref(props);
    json_t *tags = json_object_get(image, "tags");
    char *tags_txt = json_dump_compact(json_is_array(tags) ? tags : json_array());
    char min_disk[32], min_ram[32];
    json_int_t n = 0;
    snprintf(min_disk, sizeof(min_disk), "%" JSON_INTEGER_FORMAT,
             json_get_int(image, "min_disk", &n) ? n : 0);
    n = 0;
    snprintf(min_ram, sizeof(min_ram), "%" JSON_INTEGER_FORMAT,
             json_get_int(image, "min_ram", &n) ? n : 0);
    const char *p[] = {
        id,
        str_or_null(json_object_get(image, "name")),
        str_or_null(json_object_get(image, "visibility")),
        json_is_true(json_object_get(image, "protected")) ? "t" : "f",
        json_is_true(json_object_get(image, "os_hidden")) ? "t" : "f",
        str_or_null(json_object_get(image, "disk_format")),
        str_or_null(json_object_get(image, "container_format")),
        min_disk,
        min_ram,
        str_or_null(json_object_get(image, "owner")),
        props_txt,
        tags_txt,
    };
    int rc = db_cmd(conn,
                    "WITH u AS (UPDATE image SET name = $2, visibility = COALESCE($3, visibility),"
                    " protected = $4::boolean, os_hidden = $5::boolean, disk_format = $6,"
                    " container_format = $7, min_disk = $8::int, min_ram = $9::int,"
                    " owner = COALESCE($10, owner), properties = $11::jsonb, updated_at = now()"
                    " WHERE id = $1::uuid RETURNING id),"
                    " d AS (DELETE FROM image_tag WHERE image_id = $1::uuid"
                    " AND NOT tag IN (SELECT jsonb_array_elements_text($12::jsonb)))"
                    " INSERT INTO image_tag (image_id, tag)"
                    " SELECT DISTINCT $1::uuid, x FROM jsonb_array_elements_text($12::jsonb) x"
                    " WHERE EXISTS (SELECT 1 FROM u) ON CONFLICT DO NOTHING",
                    12, p, err);
    free(props_txt);
    free(tags_txt);
    return rc;
}

static int
affected(PGresult *res)
{
    int n = atoi(PQcmdTuples(res));
    PQclear(res);
    return n;
}

int
db_image_lock(PGconn *conn, const char *id, struct err *err)
{
    if (!is_uuid(id))
        return err_set(err, ERR_NOT_FOUND, "No image found with ID %s", id);
    const char *p[] = {id};
    return db_cmd(conn, "SELECT 1 FROM image WHERE id = $1::uuid FOR UPDATE", 1, p, err);
}

int
db_image_transition(PGconn *conn, const char *id, const char *from, const char *to, struct err *err)
{
    const char *p[] = {id, from, to};
    PGresult *res = db_exec(conn,
                            "UPDATE image SET status = $3, updated_at = now() WHERE id = $1::uuid"
                            " AND status = $2 AND deleted_at IS NULL",
                            3, p, err);
    return res ? affected(res) : -1;
}

int
db_image_reclaim_saving(PGconn *conn, const char *id, int stale_s, struct err *err)
{
    char s[16];
    snprintf(s, sizeof(s), "%d", stale_s);
    const char *p[] = {id, s};
    PGresult *res = db_exec(conn,
                            "UPDATE image SET updated_at = now() WHERE id = $1::uuid"
                            " AND status = 'saving' AND deleted_at IS NULL"
                            " AND updated_at < now() - make_interval(secs => $2::int)",
                            2, p, err);
    return res ? affected(res) : -1;
}

int
db_image_set_data(PGconn *conn, const char *id, uint64_t size, const char *md5, const char *sha512,
                  struct err *err)
{
    char sz[32];
    snprintf(sz, sizeof(sz), "%" PRIu64, size);
    const char *p[] = {id, sz, md5, sha512};
    PGresult *res = db_exec(conn,
                            "UPDATE image SET status = 'active', size = $2::bigint, checksum = $3,"
                            " os_hash_algo = 'sha512', os_hash_value = $4, updated_at = now()"
                            " WHERE id = $1::uuid AND status = 'saving' AND deleted_at IS NULL",
                            4, p, err);
    return res ? affected(res) : -1;
}

int
db_image_delete(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    return db_cmd(conn,
                  "UPDATE image SET status = 'deleted', deleted_at = now(), updated_at = now()"
                  " WHERE id = $1::uuid AND deleted_at IS NULL",
                  1, p, err);
}

int
db_image_tag_add(PGconn *conn, const char *id, const char *tag, struct err *err)
{
    const char *p[] = {id, tag};
    if (db_cmd(conn,
               "INSERT INTO image_tag (image_id, tag) VALUES ($1::uuid, $2)"
               " ON CONFLICT DO NOTHING",
               2, p, err) < 0)
        return -1;
    return db_cmd(conn, "UPDATE image SET updated_at = now() WHERE id = $1::uuid", 1, p, err);
}

int
db_image_tag_remove(PGconn *conn, const char *id, const char *tag, struct err *err)
{
    const char *p[] = {id, tag};
    PGresult *res =
        db_exec(conn, "DELETE FROM image_tag WHERE image_id = $1::uuid AND tag = $2", 2, p, err);
    int n = res ? affected(res) : -1;
    if (n > 0 &&
        db_cmd(conn, "UPDATE image SET updated_at = now() WHERE id = $1::uuid", 1, p, err) < 0)
        return -1;
    return n;
}

int
db_image_tag_count(PGconn *conn, const char *id, struct err *err)
{
    const char *p[] = {id};
    PGresult *res =
        db_exec(conn, "SELECT count(*) FROM image_tag WHERE image_id = $1::uuid", 1, p, err);
    if (!res)
        return -1;
    int n = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

#define MEMBER_JSON                                                                                \
    "jsonb_build_object('image_id', m.image_id, 'member_id', m.member, 'status', m.status,"        \
    " 'created_at', " TS("m.created_at") ", 'updated_at', " TS(                                    \
        "m.updated_at") ","                                                                        \
                        " 'schema', '/v2/schemas/member')::text"

json_t *
db_image_members(PGconn *conn, const char *id, const char *member, struct err *err)
{
    const char *p[] = {id, member};
    PGresult *res = db_exec(conn,
                            "SELECT " MEMBER_JSON " FROM image_member m WHERE m.image_id = $1::uuid"
                            " AND ($2::text IS NULL OR m.member = $2) ORDER BY m.created_at",
                            2, p, err);
    if (!res)
        return NULL;
    json_t *rows = rows_to_images(res, err);
    PQclear(res);
    return rows;
}

static json_t *
one_member(PGresult *res, struct err *err)
{
    json_t *rows = rows_to_images(res, err);
    PQclear(res);
    return db_first_row(rows, err, "The member is not found.");
}

json_t *
db_image_member_add(PGconn *conn, const char *id, const char *member, struct err *err)
{
    const char *p[] = {id, member};
    PGresult *res = db_exec(conn,
                            "INSERT INTO image_member AS m (image_id, member) VALUES ($1::uuid, $2)"
                            " RETURNING " MEMBER_JSON,
                            2, p, err);
    if (!res) {
        if (err->code == ERR_CONFLICT)
            err_set(err, ERR_CONFLICT, "Member %s is already a member of image %s.", member, id);
        return NULL;
    }
    return one_member(res, err);
}

json_t *
db_image_member_set(PGconn *conn, const char *id, const char *member, const char *status,
                    struct err *err)
{
    const char *p[] = {id, member, status};
    PGresult *res = db_exec(conn,
                            "UPDATE image_member AS m SET status = $3, updated_at = now()"
                            " WHERE m.image_id = $1::uuid AND m.member = $2 RETURNING " MEMBER_JSON,
                            3, p, err);
    return res ? one_member(res, err) : NULL;
}

int
db_image_member_remove(PGconn *conn, const char *id, const char *member, struct err *err)
{
    const char *p[] = {id, member};
    PGresult *res = db_exec(
        conn, "DELETE FROM image_member WHERE image_id = $1::uuid AND member = $2", 2, p, err);
    return res ? affected(res) : -1;
}
