/* Image tables (db/migrations/0003_image.sql, 0004_image_hidden.sql): images,
 * tags and members. Every statement is parameterised. Images come back in
 * Glance v2's JSON shape (core attributes, custom properties at the top level,
 * tags, and the self/file/schema links relative to the service root). */
#ifndef NUBE_DB_IMAGE_H
#define NUBE_DB_IMAGE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* The image-visibility rule, Glance's, as the one SQL fragment every
 * statement that reads images for a caller uses: here, the compute API's
 * image proxy and the server create's image check. True for an admin, the
 * owner, public and community images, and a shared image the project is a
 * member of with @status ('accepted', 'pending', 'rejected'; NULL or 'all':
 * any status, as Glance's show by id). A private image is its owner's alone,
 * whatever members it had while shared. Deletion is not part of it: add
 * `deleted_at IS NULL`. The arguments are SQL text: @i the image row's alias
 * (or table name), @project a text expression ("$2"), @admin a boolean one
 * ("$3::boolean"), @status a text one ("$4", "'accepted'", "NULL::text").
 * An expression rather than a SQL function because PostgreSQL does not
 * inline a function whose body has a subquery, and lists evaluate it per row. */
#define DB_IMAGE_VISIBLE_SQL(i, project, admin, status)                                            \
    "(" admin " OR " i ".owner = " project " OR " i ".visibility IN ('public', 'community')"       \
    " OR (" i ".visibility = 'shared' AND EXISTS (SELECT 1 FROM image_member m"                    \
    " WHERE m.image_id = " i ".id AND m.member = " project " AND (" status " IS NULL"              \
    " OR " status " = 'all' OR m.status = " status "))))"

/* Who asks: visibility rules depend on the project and the admin role. */
struct db_image_viewer {
    const char *project_id; /* "" or NULL for an unscoped caller */
    bool is_admin;
};

/* Is @id a UUID (32 hex digits, dashed or not)? */
bool db_image_id_valid(const char *id);

/* Is @key a core attribute (not a custom property)? */
bool db_image_is_core(const char *key);

/* The image @id if @who may see it (DB_IMAGE_VISIBLE_SQL, a member in any status);
 * else NULL with ERR_NOT_FOUND. Deleted images are never found. */
json_t *db_image_get(PGconn *conn, const char *id, const struct db_image_viewer *who,
                     struct err *err);

struct db_image_filter {
    const char *name, *status, *visibility, *owner, *tag, *disk_format, *container_format;
    const char *size_min, *size_max; /* decimal */
    const char *member_status;       /* accepted (default), pending, rejected, all */
    int os_hidden;                   /* -1 any, 0 or 1 */
    int protected_;                  /* -1 any, 0 or 1 */
    const char *marker;              /* an image id the caller can see */
    const char *sort_key;            /* one of db_image_sort_key_valid() */
    bool sort_desc;
    long limit;
};
/* Is @key a sort key the list accepts? */
bool db_image_sort_key_valid(const char *key);
/* The images @who may list under @f, as an array: DB_IMAGE_VISIBLE_SQL with
 * @f->member_status (default accepted), and others' community images only
 * when @f->visibility is community or all. */
json_t *db_image_list(PGconn *conn, const struct db_image_filter *f,
                      const struct db_image_viewer *who, struct err *err);

/* Insert a queued image @id owned by @owner, then store @image's mutable
 * attributes as db_image_store() does. */
int db_image_create(PGconn *conn, const char *id, const char *owner, const json_t *image,
                    struct err *err);
/* Write @image's mutable attributes (name, visibility, protected, os_hidden,
 * disk_format, container_format, min_disk, min_ram, owner, tags, and every
 * custom property) to image @id. */
int db_image_store(PGconn *conn, const char *id, const json_t *image, struct err *err);

/* Lock image @id's row for the rest of the transaction (read-modify-write
 * of a PATCH). */
int db_image_lock(PGconn *conn, const char *id, struct err *err);

/* Move image @id from status @from to @to. 1 when it moved, 0 when it was not
 * in @from (or does not exist). */
int db_image_transition(PGconn *conn, const char *id, const char *from, const char *to,
                        struct err *err);
/* An upload that died with its process left image @id in saving: take it
 * over (1) when it has not changed for @stale_s seconds, else 0. */
int db_image_reclaim_saving(PGconn *conn, const char *id, int stale_s, struct err *err);
/* A finished upload: saving -> active with its size and hashes. 1 when it
 * moved, 0 when the image is no longer saving (deleted meanwhile). */
int db_image_set_data(PGconn *conn, const char *id, uint64_t size, const char *md5,
                      const char *sha512, struct err *err);
/* Mark image @id deleted. */
int db_image_delete(PGconn *conn, const char *id, struct err *err);

/* Tags: add (idempotent) and remove (0 when it was not there). */
int db_image_tag_add(PGconn *conn, const char *id, const char *tag, struct err *err);
int db_image_tag_remove(PGconn *conn, const char *id, const char *tag, struct err *err);
int db_image_tag_count(PGconn *conn, const char *id, struct err *err);

/* Members of a shared image, in Glance's member JSON shape. @member NULL: all
 * of them. */
json_t *db_image_members(PGconn *conn, const char *id, const char *member, struct err *err);
/* Add @member (pending); ERR_CONFLICT when it is one already. */
json_t *db_image_member_add(PGconn *conn, const char *id, const char *member, struct err *err);
/* Set @member's status; NULL with ERR_NOT_FOUND when it is not a member. */
json_t *db_image_member_set(PGconn *conn, const char *id, const char *member, const char *status,
                            struct err *err);
/* 1 removed, 0 not a member. */
int db_image_member_remove(PGconn *conn, const char *id, const char *member, struct err *err);

#endif
