/* libFuzzer harness for the image API's untrusted JSON: a PATCH body
 * (image_patch_apply over a fixed image) and a create body (image_attr_check
 * of every member), as admin and not. Replayed over corpus/ by ctest. */
#include <stddef.h>
#include <stdint.h>

#include "image_api.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err err = ERR_INIT;
    json_t *doc = json_parse_buf((const char *)data, size, &err);
    if (!doc)
        return 0;
    for (int admin = 0; admin < 2; admin++) {
        json_t *img =
            json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:n,s:i,s:[s],s:s}", "id",
                      "0b7c1a8e-3f2d-4c5b-9a6e-1d2c3b4a5f60", "name", "n", "status", "queued",
                      "visibility", "shared", "protected", 0, "disk_format", "raw",
                      "container_format", "min_ram", 0, "tags", "a", "vm_mode", "hvm");
        err_clear(&err);
        (void)image_patch_apply(img, doc, admin, &err);
        json_decref(img);
        if (json_is_object(doc)) {
            const char *key;
            json_t *v;
            json_object_foreach (doc, key, v) {
                err_clear(&err);
                (void)image_attr_check(key, v, admin, &err);
            }
        }
    }
    json_decref(doc);
    return 0;
}
