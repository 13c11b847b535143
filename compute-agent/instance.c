/* The `instance` object of build_instance (docs/compute-flow.md): validated
 * and bounded before anything uses it. */
#include <stdio.h>
#include <string.h>

#include "compute.h"
#include "id.h"
#include "json.h"
#include "mem.h"

#define NAME_MAX_LEN 255
#define LOCATION_MAX 4096
#define TOKEN_MAX 8192
#define CMDLINE_MAX 2048

static bool
is_hex(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

/* Printable ASCII only: these strings reach XML, command lines and logs. */
static bool
is_printable(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

static int
image_parse(const json_t *obj, const char *what, struct compute_image *img, bool need_location,
            const char *const *formats, struct err *err)
{
    memset(img, 0, sizeof(*img));
    if (!obj || json_is_null(obj)) {
        if (need_location)
            return err_set(err, ERR_INVALID, "instance.%s is missing", what);
        return 0;
    }
    if (!json_is_object(obj))
        return err_set(err, ERR_INVALID, "instance.%s is not an object", what);
    const char *id = json_get_str(obj, "id");
    const char *checksum = json_get_str(obj, "checksum");
    const char *format = json_get_str(obj, "disk_format");
    const char *location = json_get_str(obj, "location");
    const char *token = json_get_str(obj, "token");
    if (!id || !id_is_safe(id))
        return err_set(err, ERR_INVALID, "instance.%s.id is missing or not a safe id", what);
    if (checksum && !is_hex(checksum, 128))
        return err_set(err, ERR_INVALID, "instance.%s.checksum is not hexadecimal", what);
    if (!format)
        return err_set(err, ERR_INVALID, "instance.%s.disk_format is missing", what);
    bool known = false;
    for (size_t i = 0; formats[i]; i++)
        known |= strcmp(format, formats[i]) == 0;
    if (!known)
        return err_set(err, ERR_INVALID, "instance.%s.disk_format '%.32s' is not supported here",
                       what, format);
    if (!location || !is_printable(location, LOCATION_MAX) ||
        (strncmp(location, "file:///", 8) != 0 && strncmp(location, "http://", 7) != 0 &&
         strncmp(location, "https://", 8) != 0))
        return err_set(err, ERR_INVALID,
                       "instance.%s.location must be a file:///, http:// or https:// URL", what);
    if (token && !is_printable(token, TOKEN_MAX))
        return err_set(err, ERR_INVALID, "instance.%s.token is malformed", what);
    img->id = xstrdup(id);
    img->checksum = checksum ? xstrdup(checksum) : NULL;
    img->disk_format = xstrdup(format);
    img->location = xstrdup(location);
    img->token = token ? xstrdup(token) : NULL;
    return 0;
}

static void
image_clear(struct compute_image *img)
{
    free(img->id);
    free(img->checksum);
    free(img->disk_format);
    free(img->location);
    free(img->token);
    memset(img, 0, sizeof(*img));
}

static int
get_bounded(const json_t *obj, const char *key, long min, long max, long *out, struct err *err)
{
    json_int_t v;
    if (!json_get_int(obj, key, &v))
        return err_set(err, ERR_INVALID, "instance.%s is missing or not an integer", key);
    if (v < min || v > max)
        return err_set(err, ERR_INVALID, "instance.%s = %lld is out of range %ld..%ld", key,
                       (long long)v, min, max);
    *out = (long)v;
    return 0;
}

int
compute_instance_parse(const json_t *obj, struct compute_instance *inst, struct err *err)
{
    static const char *const disk_formats[] = {"raw", "qcow2", "aki", NULL};
    static const char *const kernel_formats[] = {"aki", NULL};
    static const char *const ramdisk_formats[] = {"ari", NULL};
    memset(inst, 0, sizeof(*inst));
    if (!json_is_object(obj))
        return err_set(err, ERR_INVALID, "instance is missing or not an object");
    const char *id = json_get_str(obj, "id");
    if (!id || !id_is_uuid(id))
        return err_set(err, ERR_INVALID, "instance.id is missing or not a UUID");
    snprintf(inst->id, sizeof(inst->id), "%s", id);
    const char *name = json_get_str(obj, "name");
    const char *hostname = json_get_str(obj, "hostname");
    const char *vm_mode = json_get_str(obj, "vm_mode");
    if (!name || !*name || !is_printable(name, NAME_MAX_LEN))
        return err_set(err, ERR_INVALID, "instance.name is missing or malformed");
    if (hostname && !is_printable(hostname, NAME_MAX_LEN))
        return err_set(err, ERR_INVALID, "instance.hostname is malformed");
    if (!vm_mode)
        vm_mode = "xen";
    if (strcmp(vm_mode, "xen") != 0 && strcmp(vm_mode, "hvm") != 0)
        return err_set(err, ERR_INVALID, "instance.vm_mode '%.16s' is not supported by this agent",
                       vm_mode);
    if (get_bounded(obj, "vcpus", 1, 256, &inst->vcpus, err) < 0 ||
        get_bounded(obj, "memory_mb", 16, 4L << 20, &inst->memory_mb, err) < 0 ||
        get_bounded(obj, "root_gb", 0, 1L << 16, &inst->root_gb, err) < 0)
        return -1;
    inst->name = xstrdup(name);
    inst->hostname = xstrdup(hostname ? hostname : name);
    inst->vm_mode = xstrdup(vm_mode);

    json_t *image = json_get_obj(obj, "image");
    if (image_parse(image, "image", &inst->image, true, disk_formats, err) < 0 ||
        image_parse(json_object_get(obj, "kernel"), "kernel", &inst->kernel, false, kernel_formats,
                    err) < 0 ||
        image_parse(json_object_get(obj, "ramdisk"), "ramdisk", &inst->ramdisk, false,
                    ramdisk_formats, err) < 0)
        goto fail;
    json_t *props = json_get_obj(image, "properties");
    const char *cmdline = props ? json_get_str(props, "os_command_line") : NULL;
    if (cmdline) {
        if (!is_printable(cmdline, CMDLINE_MAX)) {
            err_set(err, ERR_INVALID, "image property os_command_line is malformed");
            goto fail;
        }
        inst->cmdline = xstrdup(cmdline);
    }
    /* An aki image is the kernel itself (booted with a blank root disk). */
    bool image_is_kernel = strcmp(inst->image.disk_format, "aki") == 0;
    if (image_is_kernel && inst->kernel.location) {
        err_set(err, ERR_INVALID, "instance.image is a kernel (aki) and instance.kernel is set");
        goto fail;
    }
    if (strcmp(inst->vm_mode, "xen") == 0 && !image_is_kernel && !inst->kernel.location) {
        err_set(err, ERR_INVALID,
                "vm_mode xen needs a kernel: an aki image, or an image with property kernel_id");
        goto fail;
    }
    if (strcmp(inst->vm_mode, "hvm") == 0 && image_is_kernel) {
        err_set(err, ERR_INVALID, "vm_mode hvm boots a disk image, not a kernel (aki)");
        goto fail;
    }
    if (inst->ramdisk.location && strcmp(inst->vm_mode, "xen") != 0) {
        err_set(err, ERR_INVALID, "instance.ramdisk is only used with vm_mode xen");
        goto fail;
    }
    return 0;
fail:
    compute_instance_clear(inst);
    return -1;
}

static json_t *
image_to_json(const struct compute_image *img)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(img->id));
    if (img->checksum)
        json_object_set_new(o, "checksum", json_string(img->checksum));
    json_object_set_new(o, "disk_format", json_string(img->disk_format));
    json_object_set_new(o, "location", json_string(img->location));
    return o;
}

json_t *
compute_instance_to_json(const struct compute_instance *inst)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id", inst->id, "name", inst->name,
                          "hostname", inst->hostname, "vm_mode", inst->vm_mode, "vcpus",
                          (json_int_t)inst->vcpus, "memory_mb", (json_int_t)inst->memory_mb,
                          "root_gb", (json_int_t)inst->root_gb);
    json_t *image = image_to_json(&inst->image);
    json_t *props = json_object();
    if (inst->cmdline)
        json_object_set_new(props, "os_command_line", json_string(inst->cmdline));
    json_object_set_new(image, "properties", props);
    json_object_set_new(o, "image", image);
    if (inst->kernel.location)
        json_object_set_new(o, "kernel", image_to_json(&inst->kernel));
    if (inst->ramdisk.location)
        json_object_set_new(o, "ramdisk", image_to_json(&inst->ramdisk));
    return o;
}

void
compute_instance_clear(struct compute_instance *inst)
{
    if (!inst)
        return;
    free(inst->name);
    free(inst->hostname);
    free(inst->vm_mode);
    free(inst->cmdline);
    image_clear(&inst->image);
    image_clear(&inst->kernel);
    image_clear(&inst->ramdisk);
    memset(inst, 0, sizeof(*inst));
}

void
compute_domain_name(const char *instance_id, char out[64])
{
    snprintf(out, 64, COMPUTE_DOMAIN_PREFIX "%s", instance_id);
}

bool
compute_domain_instance_id(const char *domain_name, char out[37])
{
    size_t n = strlen(COMPUTE_DOMAIN_PREFIX);
    if (!domain_name || strncmp(domain_name, COMPUTE_DOMAIN_PREFIX, n) != 0 ||
        !id_is_uuid(domain_name + n))
        return false;
    snprintf(out, 37, "%s", domain_name + n);
    return true;
}
