/* Fuzz harness for the request-body validator (api/core/schema.c): arbitrary
 * bytes parsed as JSON go through api_schema_unwrap and api_schema_validate
 * against Nova's create-server schema and two others shaped like Keystone's
 * project and Glance's image (enums, patterns, maps, nested objects, admin-
 * and read-only fields), in every error style, for create and update, as an
 * admin or not; the same bytes as query text go through
 * api_schema_check_text. The first byte picks schema, style, op and admin
 * bit. Whatever the input: 0 or -1 with a 400/403, never a 500; a message
 * that names something, is valid UTF-8, fits ERR_MSG_MAX untruncated and
 * renders as an error body; the same answer twice. Built for libFuzzer with
 * -DNUBE_FUZZ=ON (clang), and always as a replay driver that ctest runs over
 * corpus_schema/. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "compute.h"
#include "mem.h"
#include "schema.h"

static const char *const yes_no[] = {"yes", "no", NULL};
static const struct api_field option_fields[] = {
    {.name = "ignore_password_expiry", .type = API_FIELD_BOOLEAN},
    {.name = "lock_password", .type = API_FIELD_BOOLEAN, .flags = API_FIELD_ADMIN_ONLY},
    {.name = "mode", .type = API_FIELD_STRING, .enum_values = yes_no},
};
static const struct api_schema option_schema = {"options", option_fields, 3, false};
static const struct api_field project_tag = {
    .type = API_FIELD_STRING, .flags = API_FIELD_NONEMPTY, .max = 60, .pattern = "[^,/]*"};
static const struct api_field project_fields[] = {
    {.name = "name",
     .type = API_FIELD_STRING,
     .flags = API_FIELD_REQUIRED | API_FIELD_NONEMPTY | API_FIELD_FILTER,
     .max = 64},
    {.name = "description", .type = API_FIELD_STRING, .flags = API_FIELD_NULLABLE, .max = 255},
    {.name = "enabled", .type = API_FIELD_BOOLEAN, .flags = API_FIELD_FILTER},
    {.name = "domain_id",
     .type = API_FIELD_UUID,
     .flags = API_FIELD_CREATE_ONLY | API_FIELD_FILTER},
    {.name = "is_domain", .type = API_FIELD_BOOLEAN, .flags = API_FIELD_ADMIN_ONLY},
    {.name = "tags", .type = API_FIELD_ARRAY, .max = 80, .items = &project_tag},
    {.name = "options", .type = API_FIELD_OBJECT, .max = 5, .object = &option_schema},
    {.name = "id", .type = API_FIELD_STRING, .flags = API_FIELD_READ_ONLY},
    {.name = "quota",
     .type = API_FIELD_INTEGER,
     .flags = API_FIELD_INT_STRING,
     .min = -1,
     .max = 1000000},
    {.name = "ratio", .type = API_FIELD_NUMBER, .flags = API_FIELD_FILTER, .min = 0, .max = 16},
};
static const struct api_schema project_schema = {
    "project", project_fields, sizeof(project_fields) / sizeof(project_fields[0]), false};

static const char *const visibilities[] = {"public", "private", "shared", "community", NULL};
static const char *const disk_formats[] = {"raw", "qcow2", "iso", "aki", "ari", "ami", NULL};
static const struct api_field image_tag = {.type = API_FIELD_STRING, .max = 255};
static const struct api_field image_prop = {
    .type = API_FIELD_STRING, .max = 255, .pattern = "[[:print:]]*"};
static const struct api_field image_fields[] = {
    {.name = "name", .type = API_FIELD_STRING, .flags = API_FIELD_NULLABLE, .max = 255},
    {.name = "visibility",
     .type = API_FIELD_STRING,
     .flags = API_FIELD_FILTER,
     .enum_values = visibilities},
    {.name = "disk_format",
     .type = API_FIELD_STRING,
     .flags = API_FIELD_NULLABLE | API_FIELD_CREATE_ONLY | API_FIELD_FILTER,
     .enum_values = disk_formats},
    {.name = "min_disk", .type = API_FIELD_INTEGER, .min = 0, .max = 2147483647},
    {.name = "protected", .type = API_FIELD_BOOLEAN, .flags = API_FIELD_FILTER},
    {.name = "tags", .type = API_FIELD_ARRAY, .max = 128, .items = &image_tag},
    {.name = "owner", .type = API_FIELD_STRING, .flags = API_FIELD_ADMIN_ONLY, .max = 255},
    {.name = "id", .type = API_FIELD_UUID, .flags = API_FIELD_CREATE_ONLY},
    {.name = "status", .type = API_FIELD_STRING, .flags = API_FIELD_READ_ONLY},
    {.name = "properties",
     .type = API_FIELD_STRING_MAP,
     .max = 128,
     .pattern = "[a-z_:]{1,64}",
     .items = &image_prop},
};
static const struct api_schema image_schema = {
    "image", image_fields, sizeof(image_fields) / sizeof(image_fields[0]), true};

static const struct api_schema *const schemas[] = {&compute_server_create_schema, &project_schema,
                                                   &image_schema};

static void
check_error(enum api_error_style style, const struct err *e)
{
    if (e->code != ERR_INVALID && e->code != ERR_FORBIDDEN)
        abort();
    size_t n = strlen(e->msg);
    if (n == 0 || n >= ERR_MSG_MAX - 1 || !api_utf8_valid(e->msg, n))
        abort();
    json_t *b = api_error_body(style, err_http_status(e->code), e->msg);
    if (!b)
        abort();
    json_decref(b);
}

static void
fuzz_body(const struct api_schema *s, enum api_error_style style, enum api_schema_op op, bool admin,
          const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!body)
        return;
    struct err e1 = ERR_INIT, e2 = ERR_INIT;
    /* the body as the wrapped object, then as the object itself */
    json_t *o = api_schema_unwrap(s, body, style, &e1);
    if (!o)
        check_error(style, &e1);
    const json_t *targets[] = {o, body};
    for (size_t t = 0; t < 2; t++) {
        if (!targets[t])
            continue;
        err_clear(&e1);
        err_clear(&e2);
        int rc = api_schema_validate(s, targets[t], op, admin, style, &e1);
        int rc2 = api_schema_validate(s, targets[t], op, admin, style, &e2);
        if (rc != rc2 || (rc != 0 && rc != -1))
            abort();
        if (rc < 0) {
            check_error(style, &e1);
            if (e1.code != e2.code || strcmp(e1.msg, e2.msg) != 0)
                abort();
            continue;
        }
        /* accepted: what the schema promised holds */
        if (!json_is_object(targets[t]))
            abort();
        for (size_t i = 0; i < s->nfields; i++) {
            const struct api_field *f = &s->fields[i];
            json_t *v = json_object_get(targets[t], f->name);
            if (op == API_SCHEMA_CREATE && (f->flags & API_FIELD_REQUIRED) && !v)
                abort();
            if (v && (f->flags & API_FIELD_READ_ONLY))
                abort();
            if (v && (f->flags & API_FIELD_ADMIN_ONLY) && !admin)
                abort();
            if (v && (f->flags & API_FIELD_CREATE_ONLY) && op == API_SCHEMA_UPDATE)
                abort();
            if (v && json_is_string(v) && f->type == API_FIELD_STRING) {
                const char *sv = json_string_value(v);
                size_t n = json_string_length(v);
                if (strlen(sv) != n || !api_utf8_valid(sv, n))
                    abort();
                if ((f->flags & API_FIELD_NONEMPTY) && n == 0)
                    abort();
                if (f->max > 0 && n > (size_t)f->max * 4)
                    abort();
            }
        }
    }
    json_decref(body);
}

static void
fuzz_text(const struct api_schema *s, enum api_error_style style, const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    for (size_t i = 0; i < s->nfields; i++) {
        struct err e = ERR_INIT;
        if (api_schema_check_text(&s->fields[i], text, style, &e) < 0)
            check_error(style, &e);
    }
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    const struct api_schema *s = schemas[(sel & 3) % 3];
    enum api_error_style style = (enum api_error_style)((sel >> 2) & 3);
    enum api_schema_op op = sel & 0x10 ? API_SCHEMA_UPDATE : API_SCHEMA_CREATE;
    bool admin = sel & 0x20;
    if (sel & 0x40)
        fuzz_text(s, style, data + 1, size - 1);
    else
        fuzz_body(s, style, op, admin, data + 1, size - 1);
    return 0;
}
