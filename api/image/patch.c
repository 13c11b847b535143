/* JSON patch on images (RFC 6902's add/replace/remove on one-level paths), and
 * the checks of the attributes a client may set, as Glance v2 does them. */
#include <string.h>

#include "image_api.h"
#include "mem.h"

#define IMAGE_NAME_MAX 255
#define IMAGE_PROP_KEY_MAX 255
#define IMAGE_PROP_VALUE_MAX 65535
#define IMAGE_TAGS_MAX 128
#define IMAGE_INT_MAX 2147483647

static const char *const read_only[] = {
    "id",   "status",       "checksum",   "os_hash_algo", "os_hash_value",
    "size", "virtual_size", "created_at", "updated_at",   "self",
    "file", "schema",       "direct_url", "stores",
};
static const char *const reserved[] = {"deleted", "deleted_at", "location", "locations"};
static const char *const disk_formats[] = {"ami", "ari",   "aki", "vhd", "vhdx", "vmdk",
                                           "raw", "qcow2", "vdi", "iso", "ploop"};
static const char *const container_formats[] = {"ami", "ari", "aki",    "bare",
                                                "ovf", "ova", "docker", "compressed"};
static const char *const visibilities[] = {"public", "private", "shared", "community"};

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
    if (json_array_size(v) > IMAGE_TAGS_MAX)
        return err_set(err, ERR_TOO_LARGE, "An image may have at most %d tags.", IMAGE_TAGS_MAX);
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
    return 0;
}

int
image_attr_check(const char *key, const json_t *v, bool is_admin, struct err *err)
{
    if (IN(key, read_only))
        return err_set(err, ERR_FORBIDDEN, "Attribute '%s' is read-only.", key);
    if (IN(key, reserved))
        return err_set(err, ERR_FORBIDDEN, "Attribute '%s' is reserved.", key);
    if (strcmp(key, "name") == 0) {
        if (!json_is_null(v) && (!json_is_string(v) || json_string_length(v) > IMAGE_NAME_MAX))
            return err_set(err, ERR_INVALID, "'name' is a string of at most %d characters.",
                           IMAGE_NAME_MAX);
        return 0;
    }
    if (strcmp(key, "visibility") == 0) {
        if (check_enum(key, v, visibilities, ARRAY_SIZE(visibilities), false, err) < 0)
            return -1;
        if (strcmp(json_string_value(v), "public") == 0 && !is_admin)
            return err_set(err, ERR_FORBIDDEN, "You are not authorized to publicize images.");
        return 0;
    }
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
        if (!is_admin)
            return err_set(err, ERR_FORBIDDEN, "Only an admin may change the owner of an image.");
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
    if (!json_is_string(v) || json_string_length(v) > IMAGE_PROP_VALUE_MAX)
        return err_set(err, ERR_INVALID, "The value of property '%s' must be a string.", key);
    return 0;
}

/* "/name" -> "name" (RFC 6901 unescaping); one level only. */
static int
parse_path(const char *path, char *out, size_t cap, struct err *err)
{
    if (!path || path[0] != '/' || path[1] == '\0')
        return err_set(err, ERR_INVALID, "Invalid JSON pointer for this resource: '%s'.",
                       path ? path : "");
    size_t n = 0;
    for (const char *p = path + 1; *p; p++) {
        char c = *p;
        if (c == '/')
            return err_set(err, ERR_INVALID, "Nested paths are not allowed: '%s'.", path);
        if (c == '~') {
            if (p[1] == '0')
                c = '~';
            else if (p[1] == '1')
                c = '/';
            else
                return err_set(err, ERR_INVALID, "Invalid JSON pointer: '%s'.", path);
            p++;
        }
        if (n + 1 >= cap)
            return err_set(err, ERR_INVALID, "The path is too long: '%s'.", path);
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

static int
patch_one(json_t *image, const json_t *op, bool is_admin, struct err *err)
{
    if (!json_is_object(op))
        return err_set(err, ERR_INVALID, "Each operation must be a JSON object.");
    const char *name = json_string_value(json_object_get(op, "op"));
    const char *path = json_string_value(json_object_get(op, "path"));
    json_t *value = json_object_get(op, "value");
    if (!name)
        return err_set(err, ERR_INVALID, "An operation needs an 'op'.");
    if (!path)
        return err_set(err, ERR_INVALID, "An operation needs a 'path'.");
    char key[IMAGE_PROP_KEY_MAX + 2];
    if (parse_path(path, key, sizeof(key), err) < 0)
        return -1;
    bool add = strcmp(name, "add") == 0, replace = strcmp(name, "replace") == 0,
         remove = strcmp(name, "remove") == 0;
    if (!add && !replace && !remove)
        return err_set(err, ERR_INVALID,
                       "Operation '%s' is not supported: use add, replace or remove.", name);
    bool core = db_image_is_core(key);
    if (IN(key, read_only))
        return err_set(err, ERR_FORBIDDEN, "Attribute '%s' is read-only.", key);
    if (IN(key, reserved))
        return err_set(err, ERR_FORBIDDEN, "Attribute '%s' is reserved.", key);
    if (remove) {
        if (core)
            return err_set(err, ERR_FORBIDDEN, "Attribute '%s' cannot be removed.", key);
        if (!json_object_get(image, key))
            return err_set(err, ERR_CONFLICT, "Property %s does not exist.", key);
        json_object_del(image, key);
        return 0;
    }
    if (!value)
        return err_set(err, ERR_INVALID, "Operation '%s' needs a 'value'.", name);
    if (replace && !core && !json_object_get(image, key))
        return err_set(err, ERR_CONFLICT, "Property %s does not exist.", key);
    if (image_attr_check(key, value, is_admin, err) < 0)
        return -1;
    if (strcmp(key, "disk_format") == 0 || strcmp(key, "container_format") == 0) {
        const char *status = json_string_value(json_object_get(image, "status"));
        if (status && strcmp(status, "queued") != 0 &&
            !json_equal(value, json_object_get(image, key)))
            return err_set(err, ERR_FORBIDDEN,
                           "Attribute %s can be only replaced for a queued image.", key);
    }
    json_object_set(image, key, value);
    return 0;
}

int
image_patch_apply(json_t *image, const json_t *ops, bool is_admin, struct err *err)
{
    if (!json_is_array(ops))
        return err_set(err, ERR_INVALID, "The request body must be a JSON-patch array.");
    size_t i;
    json_t *op;
    json_array_foreach (ops, i, op) {
        if (patch_one(image, op, is_admin, err) < 0)
            return -1;
    }
    return 0;
}
