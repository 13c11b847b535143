/* Glance's JSON patch on an image document (api/image/patch.c): add,
 * replace, remove on core attributes and custom properties, and the errors
 * Glance gives (400 malformed, 403 read-only/reserved/publicize, 409 missing
 * property). */
#include "check.h"
#include "image_api.h"

static json_t *
image(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:i,s:[s],s:s}", "id",
                     "0b7c1a8e-3f2d-4c5b-9a6e-1d2c3b4a5f60", "name", "n", "status", "active",
                     "visibility", "shared", "protected", 0, "disk_format", "raw",
                     "container_format", "bare", "min_ram", 0, "tags", "a", "vm_mode", "hvm");
}

/* Apply @ops_text to a fresh image; the error code (ERR_OK on success). */
static enum err_code
apply(json_t *img, const char *ops_text, bool admin)
{
    struct err err = ERR_INIT;
    json_t *ops = json_loads(ops_text, 0, NULL);
    if (!ops) {
        fprintf(stderr, "bad test JSON: %s\n", ops_text);
        return ERR__LAST;
    }
    int rc = image_patch_apply(img, ops, admin, &err);
    json_decref(ops);
    return rc == 0 ? ERR_OK : err.code;
}

static enum err_code
apply1(const char *ops_text, bool admin)
{
    json_t *img = image();
    enum err_code c = apply(img, ops_text, admin);
    json_decref(img);
    return c;
}

/* apply1, and the error's message (for the exact wording Glance gives). */
static char last_msg[ERR_MSG_MAX];

static enum err_code
apply_msg(json_t *img, const char *ops_text, bool admin)
{
    struct err err = ERR_INIT;
    json_t *ops = json_loads(ops_text, 0, NULL);
    if (!ops) {
        fprintf(stderr, "bad test JSON: %s\n", ops_text);
        return ERR__LAST;
    }
    int rc = image_patch_apply(img, ops, admin, &err);
    json_decref(ops);
    snprintf(last_msg, sizeof(last_msg), "%s", rc == 0 ? "" : err.msg);
    return rc == 0 ? ERR_OK : err.code;
}

static enum err_code
apply1_msg(const char *ops_text, bool admin)
{
    json_t *img = image();
    enum err_code c = apply_msg(img, ops_text, admin);
    json_decref(img);
    return c;
}

int
main(void)
{
    json_t *img = image();
    CHECK_INT(apply(img,
                    "[{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"m\"},"
                    "{\"op\":\"add\",\"path\":\"/hw_disk_bus\",\"value\":\"virtio\"},"
                    "{\"op\":\"replace\",\"path\":\"/vm_mode\",\"value\":\"xen\"},"
                    "{\"op\":\"add\",\"path\":\"/a~1b~0c\",\"value\":\"esc\"},"
                    "{\"op\":\"replace\",\"path\":\"/min_ram\",\"value\":512},"
                    "{\"op\":\"replace\",\"path\":\"/protected\",\"value\":true},"
                    "{\"op\":\"replace\",\"path\":\"/tags\",\"value\":[\"x\",\"y\"]},"
                    "{\"op\":\"replace\",\"path\":\"/visibility\",\"value\":\"community\"}]",
                    false),
              ERR_OK);
    CHECK_STR(json_string_value(json_object_get(img, "name")), "m");
    CHECK_STR(json_string_value(json_object_get(img, "hw_disk_bus")), "virtio");
    CHECK_STR(json_string_value(json_object_get(img, "vm_mode")), "xen");
    CHECK_STR(json_string_value(json_object_get(img, "a/b~c")), "esc");
    CHECK_INT(json_integer_value(json_object_get(img, "min_ram")), 512);
    CHECK(json_is_true(json_object_get(img, "protected")));
    CHECK_INT(json_array_size(json_object_get(img, "tags")), 2);
    CHECK_STR(json_string_value(json_object_get(img, "visibility")), "community");
    CHECK_INT(apply(img, "[{\"op\":\"remove\",\"path\":\"/hw_disk_bus\"}]", false), ERR_OK);
    CHECK(json_object_get(img, "hw_disk_bus") == NULL);
    /* add on an existing property replaces it */
    CHECK_INT(apply(img, "[{\"op\":\"add\",\"path\":\"/vm_mode\",\"value\":\"exe\"}]", false),
              ERR_OK);
    CHECK_STR(json_string_value(json_object_get(img, "vm_mode")), "exe");
    /* name may be null */
    CHECK_INT(apply(img, "[{\"op\":\"replace\",\"path\":\"/name\",\"value\":null}]", false),
              ERR_OK);
    json_decref(img);

    /* 400: malformed documents, paths, ops, values */
    CHECK_INT(apply1("{}", false), ERR_INVALID);
    CHECK_INT(apply1("[1]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"path\":\"/name\",\"value\":\"x\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"add\",\"value\":\"x\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"name\",\"value\":\"x\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"/\",\"value\":\"x\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":\"x\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"/a~2\",\"value\":\"x\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"/x\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"copy\",\"path\":\"/x\",\"from\":\"/name\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"test\",\"path\":\"/name\",\"value\":\"n\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"/x\",\"value\":1}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/min_ram\",\"value\":-1}]", false),
              ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/min_disk\",\"value\":\"1\"}]", false),
              ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/protected\",\"value\":\"yes\"}]", false),
              ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/visibility\",\"value\":\"all\"}]", false),
              ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/tags\",\"value\":[\"a\",\"a\"]}]", false),
              ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/tags\",\"value\":\"a\"}]", false),
              ERR_INVALID);

    /* 403: read-only, reserved, core removal, publicize, formats once active */
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"active\"}]", false),
              ERR_FORBIDDEN);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/checksum\",\"value\":\"x\"}]", true),
              ERR_FORBIDDEN);
    CHECK_INT(apply1("[{\"op\":\"remove\",\"path\":\"/size\"}]", false), ERR_FORBIDDEN);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"/deleted\",\"value\":\"x\"}]", false),
              ERR_FORBIDDEN);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"/locations\",\"value\":[]}]", false),
              ERR_FORBIDDEN);
    CHECK_INT(apply1("[{\"op\":\"remove\",\"path\":\"/name\"}]", false), ERR_FORBIDDEN);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/visibility\",\"value\":\"public\"}]", false),
              ERR_FORBIDDEN);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/visibility\",\"value\":\"public\"}]", true),
              ERR_OK);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/owner\",\"value\":\"p\"}]", false),
              ERR_FORBIDDEN);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/disk_format\",\"value\":\"qcow2\"}]", false),
              ERR_FORBIDDEN);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/disk_format\",\"value\":\"raw\"}]", false),
              ERR_OK); /* unchanged is fine */

    /* 409: replace or remove a property that is not there */
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/nope\",\"value\":\"x\"}]", false),
              ERR_CONFLICT);
    CHECK_INT(apply1("[{\"op\":\"remove\",\"path\":\"/nope\"}]", false), ERR_CONFLICT);

    /* Glance's messages: read-only, reserved (names and the os_glance
     * namespace), core removal, missing property, owner, missing value */
    CHECK_INT(apply1_msg("[{\"op\":\"replace\",\"path\":\"/id\",\"value\":\"x\"}]", true),
              ERR_FORBIDDEN);
    CHECK_STR(last_msg, "Attribute 'id' is read-only.");
    CHECK_INT(apply1_msg("[{\"op\":\"add\",\"path\":\"/created_at\",\"value\":\"x\"}]", true),
              ERR_FORBIDDEN);
    CHECK_STR(last_msg, "Attribute 'created_at' is read-only.");
    CHECK_INT(apply1_msg("[{\"op\":\"remove\",\"path\":\"/os_hash_value\"}]", true), ERR_FORBIDDEN);
    CHECK_STR(last_msg, "Attribute 'os_hash_value' is read-only.");
    CHECK_INT(apply1_msg("[{\"op\":\"replace\",\"path\":\"/deleted_at\",\"value\":\"x\"}]", true),
              ERR_FORBIDDEN);
    CHECK_STR(last_msg, "Attribute 'deleted_at' is reserved.");
    CHECK_INT(apply1_msg("[{\"op\":\"add\",\"path\":\"/location\",\"value\":\"x\"}]", false),
              ERR_FORBIDDEN);
    CHECK_STR(last_msg, "Attribute 'location' is reserved.");
    CHECK_INT(
        apply1_msg("[{\"op\":\"add\",\"path\":\"/os_glance_import_task\",\"value\":\"x\"}]", true),
        ERR_FORBIDDEN);
    CHECK_STR(last_msg, "Attribute 'os_glance_import_task' is reserved.");
    CHECK_INT(apply1_msg("[{\"op\":\"remove\",\"path\":\"/os_glance\"}]", true), ERR_FORBIDDEN);
    CHECK_STR(last_msg, "Attribute 'os_glance' is reserved.");
    CHECK_INT(apply1_msg("[{\"op\":\"remove\",\"path\":\"/tags\"}]", false), ERR_FORBIDDEN);
    CHECK_STR(last_msg, "Property tags may not be removed.");
    CHECK_INT(apply1_msg("[{\"op\":\"remove\",\"path\":\"/os_distro\"}]", false), ERR_CONFLICT);
    CHECK_STR(last_msg, "Property os_distro does not exist.");
    CHECK_INT(apply1_msg("[{\"op\":\"replace\",\"path\":\"/owner\",\"value\":\"p\"}]", false),
              ERR_FORBIDDEN);
    CHECK_STR(last_msg, "Owner can't be updated by non admin.");
    CHECK_INT(apply1_msg("[{\"op\":\"add\",\"path\":\"/os_distro\"}]", false), ERR_INVALID);
    CHECK_STR(last_msg, "Operation \"add\" requires a member named \"value\".");
    CHECK_INT(apply1_msg("[{\"op\":\"replace\",\"path\":\"/name\"}]", false), ERR_INVALID);
    CHECK_STR(last_msg, "Operation \"replace\" requires a member named \"value\".");
    CHECK_INT(apply1_msg("[{\"op\":\"move\",\"path\":\"/name\",\"from\":\"/x\"}]", false),
              ERR_INVALID);
    CHECK_STR(last_msg,
              "Invalid operation: `move`. It must be one of the following: add, remove, replace.");
    CHECK_INT(apply1_msg("[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":\"x\"}]", false),
              ERR_INVALID);
    CHECK_STR(last_msg, "Invalid JSON pointer for this resource: '/a/b'.");
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"//a\",\"value\":\"x\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"/a/\",\"value\":\"x\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"/a~\",\"value\":\"x\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":3,\"value\":\"x\"}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":3,\"path\":\"/a\",\"value\":\"x\"}]", false), ERR_INVALID);

    /* a bad value's message names the property */
    CHECK_INT(apply1_msg("[{\"op\":\"replace\",\"path\":\"/min_ram\",\"value\":\"512\"}]", false),
              ERR_INVALID);
    CHECK(strstr(last_msg, "min_ram") != NULL);
    CHECK_INT(apply1_msg("[{\"op\":\"add\",\"path\":\"/os_distro\",\"value\":7}]", false),
              ERR_INVALID);
    CHECK(strstr(last_msg, "os_distro") != NULL);
    CHECK_INT(apply1_msg("[{\"op\":\"replace\",\"path\":\"/os_hidden\",\"value\":1}]", false),
              ERR_INVALID);
    CHECK(strstr(last_msg, "os_hidden") != NULL);
    CHECK_INT(
        apply1_msg("[{\"op\":\"replace\",\"path\":\"/container_format\",\"value\":\"x\"}]", false),
        ERR_INVALID);
    CHECK(strstr(last_msg, "container_format") != NULL);
    CHECK_INT(apply1_msg("[{\"op\":\"add\",\"path\":\"/kernel_id\",\"value\":\"vmlinuz\"}]", false),
              ERR_INVALID);
    CHECK(strstr(last_msg, "kernel_id") != NULL);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"/hw_x\",\"value\":null}]", false), ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/min_disk\",\"value\":2147483648}]", false),
              ERR_INVALID);
    {
        char big[400];
        snprintf(big, sizeof(big), "[{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"%0256d\"}]",
                 0);
        CHECK_INT(apply1(big, false), ERR_INVALID);
    }

    /* every operation is checked before any is applied, as Glance's
     * deserializer does: a read-only path after a missing property is 403,
     * a bad value after a core removal is 400 */
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/nope\",\"value\":\"x\"},"
                     "{\"op\":\"replace\",\"path\":\"/id\",\"value\":\"x\"}]",
                     false),
              ERR_FORBIDDEN);
    CHECK_INT(apply1("[{\"op\":\"remove\",\"path\":\"/name\"},"
                     "{\"op\":\"add\",\"path\":\"/hw_x\",\"value\":1}]",
                     false),
              ERR_INVALID);
    /* ...but applied in order: a property added earlier can be replaced and
     * removed later in the same patch, and removed twice is 409 */
    img = image();
    CHECK_INT(apply(img,
                    "[{\"op\":\"add\",\"path\":\"/os_distro\",\"value\":\"debian\"},"
                    "{\"op\":\"replace\",\"path\":\"/os_distro\",\"value\":\"ubuntu\"},"
                    "{\"op\":\"add\",\"path\":\"/os_version\",\"value\":\"12\"},"
                    "{\"op\":\"remove\",\"path\":\"/os_version\"}]",
                    false),
              ERR_OK);
    CHECK_STR(json_string_value(json_object_get(img, "os_distro")), "ubuntu");
    CHECK(json_object_get(img, "os_version") == NULL);
    CHECK_INT(apply(img,
                    "[{\"op\":\"remove\",\"path\":\"/os_distro\"},"
                    "{\"op\":\"remove\",\"path\":\"/os_distro\"}]",
                    false),
              ERR_CONFLICT);
    /* the empty patch changes nothing */
    CHECK_INT(apply(img, "[]", false), ERR_OK);
    CHECK_STR(json_string_value(json_object_get(img, "name")), "n");
    /* add on core attributes sets them; schema-named properties take null;
     * kernel_id/ramdisk_id take an image id */
    CHECK_INT(apply(img,
                    "[{\"op\":\"add\",\"path\":\"/name\",\"value\":\"added\"},"
                    "{\"op\":\"add\",\"path\":\"/os_hidden\",\"value\":true},"
                    "{\"op\":\"add\",\"path\":\"/min_disk\",\"value\":3},"
                    "{\"op\":\"replace\",\"path\":\"/visibility\",\"value\":\"private\"},"
                    "{\"op\":\"add\",\"path\":\"/description\",\"value\":null},"
                    "{\"op\":\"add\",\"path\":\"/kernel_id\","
                    "\"value\":\"0b7c1a8e-3f2d-4c5b-9a6e-1d2c3b4a5f61\"},"
                    "{\"op\":\"add\",\"path\":\"/ramdisk_id\",\"value\":null}]",
                    false),
              ERR_OK);
    CHECK_STR(json_string_value(json_object_get(img, "name")), "added");
    CHECK(json_is_true(json_object_get(img, "os_hidden")));
    CHECK_INT(json_integer_value(json_object_get(img, "min_disk")), 3);
    CHECK_STR(json_string_value(json_object_get(img, "visibility")), "private");
    CHECK(json_is_null(json_object_get(img, "description")));
    CHECK_STR(json_string_value(json_object_get(img, "kernel_id")),
              "0b7c1a8e-3f2d-4c5b-9a6e-1d2c3b4a5f61");
    /* an admin gives the image to another project */
    CHECK_INT(apply(img, "[{\"op\":\"replace\",\"path\":\"/owner\",\"value\":\"p2\"}]", true),
              ERR_OK);
    CHECK_STR(json_string_value(json_object_get(img, "owner")), "p2");
    json_decref(img);

    /* disk and container formats change while the image is queued */
    img = image();
    json_object_set_new(img, "status", json_string("queued"));
    CHECK_INT(apply(img,
                    "[{\"op\":\"replace\",\"path\":\"/disk_format\",\"value\":\"qcow2\"},"
                    "{\"op\":\"replace\",\"path\":\"/container_format\",\"value\":null}]",
                    false),
              ERR_OK);
    CHECK_STR(json_string_value(json_object_get(img, "disk_format")), "qcow2");
    CHECK(json_is_null(json_object_get(img, "container_format")));
    json_decref(img);
    CHECK_INT(apply1_msg("[{\"op\":\"replace\",\"path\":\"/container_format\",\"value\":\"ovf\"}]",
                         false),
              ERR_FORBIDDEN);
    CHECK_STR(last_msg, "Attribute container_format can be only replaced for a queued image.");

    /* locations: hidden, as Glance's default show_multiple_locations=False */
    CHECK_INT(
        apply1_msg("[{\"op\":\"add\",\"path\":\"/locations/-\",\"value\":{\"url\":\"x\"}}]", true),
        ERR_FORBIDDEN);
    CHECK_STR(last_msg, "It's not allowed to add locations if locations are invisible.");
    CHECK_INT(apply1_msg("[{\"op\":\"remove\",\"path\":\"/locations/0\"}]", true), ERR_FORBIDDEN);
    CHECK_STR(last_msg, "It's not allowed to remove locations if locations are invisible.");
    CHECK_INT(apply1_msg("[{\"op\":\"replace\",\"path\":\"/locations\",\"value\":[]}]", true),
              ERR_FORBIDDEN);
    CHECK_STR(last_msg, "Cannot set locations to empty list.");
    CHECK_INT(apply1("[{\"op\":\"replace\",\"path\":\"/locations/0\",\"value\":[]}]", true),
              ERR_INVALID);
    CHECK_INT(apply1("[{\"op\":\"add\",\"path\":\"/tags/-\",\"value\":\"x\"}]", true), ERR_INVALID);

    /* Glance's quotas: 128 custom properties, 128 tags (413) */
    img = image();
    {
        char op[128];
        for (int i = 0; i < 127; i++) { /* vm_mode is the first */
            snprintf(op, sizeof(op), "[{\"op\":\"add\",\"path\":\"/p%d\",\"value\":\"v\"}]", i);
            CHECK_INT(apply(img, op, false), ERR_OK);
        }
        CHECK_INT(
            apply_msg(img, "[{\"op\":\"add\",\"path\":\"/one_more\",\"value\":\"v\"}]", false),
            ERR_TOO_LARGE);
        CHECK(strstr(last_msg, "Maximum: 128") != NULL);
        /* replacing one at the limit is fine */
        CHECK_INT(apply(img, "[{\"op\":\"add\",\"path\":\"/p0\",\"value\":\"w\"}]", false), ERR_OK);
        char tags[129 * 8 + 64];
        size_t n = (size_t)snprintf(tags, sizeof(tags),
                                    "[{\"op\":\"replace\",\"path\":\"/tags\",\"value\":[");
        for (int i = 0; i < 129; i++)
            n += (size_t)snprintf(tags + n, sizeof(tags) - n, "%s\"t%d\"", i ? "," : "", i);
        snprintf(tags + n, sizeof(tags) - n, "]}]");
        CHECK_INT(apply(img, tags, false), ERR_TOO_LARGE);
    }
    json_decref(img);

    /* a failing op leaves earlier ops applied to the copy only; the caller
     * stores nothing on error (checked in the service test) */
    return check_done();
}
