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

    /* a failing op leaves earlier ops applied to the copy only; the caller
     * stores nothing on error (checked in the service test) */
    return check_done();
}
