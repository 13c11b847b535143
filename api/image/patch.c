/* JSON patch on images (RFC 6902's add/replace/remove on one-level paths), and
 * the checks of the attributes a client may set, as Glance v2 does them.
 *
 * Like Glance, a patch is checked in two passes: first every operation's
 * form (op, path, value present), its path (read-only 403, reserved 403, bad
 * pointer 400) and its value against the image schema (400 naming the
 * property); only then are the operations applied in order, where the image's
 * state decides (a missing property 409, a core attribute removed 403, the
 * owner or a public visibility without admin 403, formats of an image that
 * is no longer queued 403, too many properties or tags 413). */
#include <stdlib.h>
#include <string.h>

#include "image_api.h"
#include "mem.h"

#define IMAGE_NAME_MAX 255
#define IMAGE_PROP_KEY_MAX 255
#define IMAGE_PROP_VALUE_MAX 65535
#define IMAGE_TAGS_MAX 128  /* Glance's image_tag_quota default */
#define IMAGE_PROPS_MAX 128 /* Glance's image_property_quota default */
#define IMAGE_INT_MAX 2147483647
#define IMAGE_RESERVED_NS "os_glance" /* Glance's reserved namespace */

static const char *const read_only[] = {
    "id",   "status",       "checksum",   "os_hash_algo", "os_hash_value",
    "size", "virtual_size", "created_at", "updated_at",   "self",
    "file", "schema",       "direct_url", "stores",
};
static const char *const reserved[] = {"deleted", "deleted_at", "location"};
static const char *const disk_formats[] = {"ami", "ari",   "aki", "vhd", "vhdx", "vmdk",
                                           "raw", "qcow2", "vdi", "iso", "ploop"};
static const char *const container_formats[] = {"ami", "ari", "aki",    "bare",
                                                "ovf", "ova", "docker", "compressed"};
static const char *const visibilities[] = {"public", "private", "shared", "community"};
/* Custom properties Glance's image schema names: nullable strings. */
static const char *const nullable_props[] = {"kernel_id",    "ramdisk_id",        "instance_uuid",
                                             "architecture", "os_distro",         "os_version",
                                             "description",  "cim_pasd_processor"};

static bool
in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}
#define IN(s, list) in_list(s, list, ARRAY_SIZE(list))

static int
check_enum(const char *key, const json_t *v, const char *const *list, size_t n, bool nullable,
           struct err *err)
{
    if (json_is_null(v) && nullable)
        return 0;
    if (!json_is_string(v) || !in_list(json_string_value(v), list, n))
        return err_set(err, ERR_INVALID, "Invalid value for '%s'.", key);
    return 0;
}

static int
check_tags(const json_t *v, struct err *err)
{
    if (!json_is_array(v))
        return err_set(err, ERR_INVALID, "'tags' must be an array of strings.");
    size_t i, j;
    json_t *t, *u;
    json_array_foreach (v, i, t) {
        if (!json_is_string(t) || json_string_length(t) == 0 ||
            json_string_length(t) > IMAGE_NAME_MAX)
            return err_set(err, ERR_INVALID, "Each tag is a string of 1 to %d characters.",
                           IMAGE_NAME_MAX);
        json_array_foreach (v, j, u) {
            if (j < i && json_equal(t, u))
                return err_set(err, ERR_INVALID, "Tags must be unique: '%s' is repeated.",
                               json_string_value(t));
        }
    }
    if (json_array_size(v) > IMAGE_TAGS_MAX)
        return err_set(err, ERR_TOO_LARGE,
                       "The limit has been exceeded on the number of allowed image tags. "
                       "Attempted: %zu, Maximum: %d",
                       json_array_size(v), IMAGE_TAGS_MAX);
    return 0;
}

/* A UUID as Glance's schema pattern for kernel_id/ramdisk_id has it. */
static bool
is_dashed_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

static bool
is_read_only(const char *key)
{
    return IN(key, read_only);
}

static bool
is_reserved(const char *key)
{
    return IN(key, reserved) || strncmp(key, IMAGE_RESERVED_NS, strlen(IMAGE_RESERVED_NS)) == 0;
}

/* 403 for an attribute no client may set. */
static int
check_settable(const char *key, struct err *err)
{
    if (is_read_only(key))
        return err_set(err, ERR_FORBIDDEN, "Attribute '%s' is read-only.", key);
    if (is_reserved(key))
        return err_set(err, ERR_FORBIDDEN, "Attribute '%s' is reserved.", key);
    return 0;
}

/* @v against the image schema's type for @key (400 naming it). */
static int
check_schema(const char *key, const json_t *v, struct err *err)
{
    if (strcmp(key, "name") == 0) {
        if (!json_is_null(v) && (!json_is_string(v) || json_string_length(v) > IMAGE_NAME_MAX))
            return err_set(err, ERR_INVALID, "'name' is a string of at most %d characters.",
                           IMAGE_NAME_MAX);
        return 0;
    }
    if (strcmp(key, "visibility") == 0)
        return check_enum(key, v, visibilities, ARRAY_SIZE(visibilities), false, err);
    if (strcmp(key, "protected") == 0 || strcmp(key, "os_hidden") == 0) {
        if (!json_is_boolean(v))
            return err_set(err, ERR_INVALID, "'%s' must be a boolean.", key);
        return 0;
    }
    if (strcmp(key, "disk_format") == 0)
        return check_enum(key, v, disk_formats, ARRAY_SIZE(disk_formats), true, err);
    if (strcmp(key, "container_format") == 0)
        return check_enum(key, v, container_formats, ARRAY_SIZE(container_formats), true, err);
    if (strcmp(key, "min_disk") == 0 || strcmp(key, "min_ram") == 0) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > IMAGE_INT_MAX)
            return err_set(err, ERR_INVALID, "'%s' must be an integer from 0 to %d.", key,
                           IMAGE_INT_MAX);
        return 0;
    }
    if (strcmp(key, "owner") == 0) {
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 64)
            return err_set(err, ERR_INVALID, "'owner' must be a project id.");
        return 0;
    }
    if (strcmp(key, "tags") == 0)
        return check_tags(v, err);
    /* a custom property: a string, as Glance stores them */
    size_t klen = strlen(key);
    if (klen == 0 || klen > IMAGE_PROP_KEY_MAX)
        return err_set(err, ERR_INVALID, "A property name is 1 to %d characters.",
                       IMAGE_PROP_KEY_MAX);
    if (json_is_null(v) && IN(key, nullable_props))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > IMAGE_PROP_VALUE_MAX)
        return err_set(err, ERR_INVALID, "The value of property '%s' must be a string.", key);
    if ((strcmp(key, "kernel_id") == 0 || strcmp(key, "ramdisk_id") == 0) &&
        !is_dashed_uuid(json_string_value(v)))
        return err_set(err, ERR_INVALID, "The value of property '%s' must be an image id (a UUID).",
                       key);
    return 0;
}

/* What the caller's role allows: only admins publicize or give an image away. */
static int
check_policy(const char *key, const json_t *v, bool is_admin, struct err *err)
{
    if (strcmp(key, "visibility") == 0 && json_is_string(v) &&
        strcmp(json_string_value(v), "public") == 0 && !is_admin)
        return err_set(err, ERR_FORBIDDEN, "You are not authorized to publicize images.");
    if (strcmp(key, "owner") == 0 && !is_admin)
        return err_set(err, ERR_FORBIDDEN, "Only an admin may change the owner of an image.");
    return 0;
}

int
image_attr_check(const char *key, const json_t *v, bool is_admin, struct err *err)
{
    if (check_settable(key, err) < 0)
        return -1;
    if (strcmp(key, "locations") == 0)
        return err_set(err, ERR_FORBIDDEN, "Attribute '%s' is reserved.", key);
    if (strcmp(key, "owner") == 0 && check_policy(key, v, is_admin, err) < 0)
        return -1;
    if (check_schema(key, v, err) < 0)
        return -1;
    return check_policy(key, v, is_admin, err);
}

enum patch_op { PATCH_ADD, PATCH_REPLACE, PATCH_REMOVE };

/* One checked operation: its op, the decoded first path segment, whether the
 * path had a second segment (only /locations/N), and its value. */
struct patch_change {
    enum patch_op op;
    char key[IMAGE_PROP_KEY_MAX + 2];
    int depth;
    const json_t *value;
};

static const char *const op_names[] = {"add", "replace", "remove"};

/* A JSON pointer as Glance accepts one: "/a" or "/a/b", '~0' and '~1'
 * escapes; the first segment decoded into @out, the number of segments in
 * @depth. */
static int
parse_path(const char *path, char *out, size_t cap, int *depth, struct err *err)
{
    if (path[0] != '/')
        return err_set(err, ERR_INVALID, "Pointer `%s` does not start with \"/\".", path);
    if (path[1] == '\0')
        return err_set(err, ERR_INVALID, "Invalid JSON pointer for this resource: '%s'.", path);
    size_t n = 0;
    *depth = 1;
    for (const char *p = path + 1; *p; p++) {
        char c = *p;
        if (c == '/') {
            if (p[-1] == '/')
                return err_set(err, ERR_INVALID, "Pointer `%s` contains adjacent \"/\".", path);
            if (p[1] == '\0')
                return err_set(err, ERR_INVALID, "Pointer `%s` end with \"/\".", path);
            (*depth)++;
            continue;
        }
        if (c == '~') {
            if (p[1] == '0')
                c = '~';
            else if (p[1] == '1')
                c = '/';
            else
                return err_set(err, ERR_INVALID,
                               "Pointer `%s` contains \"~\" not part of a recognized escape "
                               "sequence.",
                               path);
            p++;
        }
        if (*depth > 1)
            continue; /* only the first segment is kept */
        if (n + 1 >= cap)
            return err_set(err, ERR_INVALID, "The path is too long: '%s'.", path);
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

/* Pass one: the operation's form, path and value, before any is applied. */
static int
change_parse(const json_t *raw, struct patch_change *ch, struct err *err)
{
    if (!json_is_object(raw))
        return err_set(err, ERR_INVALID, "Operations must be JSON objects.");
    const json_t *opv = json_object_get(raw, "op");
    if (!opv)
        return err_set(err, ERR_INVALID,
                       "Unable to find `op` in JSON Schema change. It must be one of the "
                       "following: add, remove, replace.");
    const char *name = json_string_value(opv);
    size_t i;
    for (i = 0; name && i < ARRAY_SIZE(op_names); i++)
        if (strcmp(name, op_names[i]) == 0)
            break;
    if (!name || i == ARRAY_SIZE(op_names))
        return err_set(err, ERR_INVALID,
                       "Invalid operation: `%s`. It must be one of the following: add, remove, "
                       "replace.",
                       name ? name : "(not a string)");
    ch->op = (enum patch_op)i;
    const json_t *pathv = json_object_get(raw, "path");
    if (!pathv)
        return err_set(err, ERR_INVALID, "Unable to find 'path' in JSON Schema change");
    if (!json_is_string(pathv))
        return err_set(err, ERR_INVALID, "The 'path' of an operation must be a string.");
    const char *path = json_string_value(pathv);
    if (parse_path(path, ch->key, sizeof(ch->key), &ch->depth, err) < 0)
        return -1;
    bool locations = strcmp(ch->key, "locations") == 0;
    /* /locations/N for add and remove; every other path has one segment */
    if (ch->depth != 1 && !(locations && ch->depth == 2 && ch->op != PATCH_REPLACE))
        return err_set(err, ERR_INVALID, "Invalid JSON pointer for this resource: '%s'.", path);
    ch->value = json_object_get(raw, "value");
    if (ch->op != PATCH_REMOVE && !ch->value)
        return err_set(err, ERR_INVALID, "Operation \"%s\" requires a member named \"value\".",
                       name);
    if (check_settable(ch->key, err) < 0)
        return -1;
    if (ch->op == PATCH_REMOVE || locations)
        return 0;
    return check_schema(ch->key, ch->value, err);
}

static size_t
custom_count(const json_t *image)
{
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)image, key, v) {
        if (!db_image_is_core(key))
            n++;
    }
    return n;
}

/* Pass two: one checked operation on the image as the earlier ones left it. */
static int
change_apply(json_t *image, const struct patch_change *ch, bool is_admin, struct err *err)
{
    const char *key = ch->key;
    if (strcmp(key, "locations") == 0) {
        /* Glance with show_multiple_locations off, its default */
        if (ch->op == PATCH_REPLACE && json_is_array(ch->value) && json_array_size(ch->value) == 0)
            return err_set(err, ERR_FORBIDDEN, "Cannot set locations to empty list.");
        return err_set(err, ERR_FORBIDDEN,
                       "It's not allowed to %s locations if locations are invisible.",
                       ch->op == PATCH_REPLACE ? "update" : op_names[ch->op]);
    }
    bool core = db_image_is_core(key);
    if (ch->op == PATCH_REMOVE) {
        if (core)
            return err_set(err, ERR_FORBIDDEN, "Property %s may not be removed.", key);
        if (!json_object_get(image, key))
            return err_set(err, ERR_CONFLICT, "Property %s does not exist.", key);
        json_object_del(image, key);
        return 0;
    }
    if (strcmp(key, "owner") == 0 && !is_admin)
        return err_set(err, ERR_FORBIDDEN, "Owner can't be updated by non admin.");
    if (ch->op == PATCH_REPLACE && !core && !json_object_get(image, key))
        return err_set(err, ERR_CONFLICT, "Property %s does not exist.", key);
    if (check_policy(key, ch->value, is_admin, err) < 0)
        return -1;
    if (strcmp(key, "disk_format") == 0 || strcmp(key, "container_format") == 0) {
        const char *status = json_string_value(json_object_get(image, "status"));
        if (status && strcmp(status, "queued") != 0 &&
            !json_equal(ch->value, json_object_get(image, key)))
            return err_set(err, ERR_FORBIDDEN,
                           "Attribute %s can be only replaced for a queued image.", key);
    }
    if (!core && !json_object_get(image, key) && custom_count(image) >= IMAGE_PROPS_MAX)
        return err_set(err, ERR_TOO_LARGE,
                       "The limit has been exceeded on the number of allowed image properties. "
                       "Attempted: %zu, Maximum: %d",
                       custom_count(image) + 1, IMAGE_PROPS_MAX);
    json_object_set(image, key, (json_t *)ch->value);
    return 0;
}

int
image_patch_apply(json_t *image, const json_t *ops, bool is_admin, struct err *err)
{
    if (!json_is_array(ops))
        return err_set(err, ERR_INVALID, "Request body must be a JSON array of operation objects.");
    size_t n = json_array_size(ops), i;
    struct patch_change *changes = xcalloc(n ? n : 1, sizeof(*changes));
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++)
        rc = change_parse(json_array_get(ops, i), &changes[i], err);
    for (i = 0; i < n && rc == 0; i++)
        rc = change_apply(image, &changes[i], is_admin, err);
    free(changes);
    return rc;
}
