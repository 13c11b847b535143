/* The words of a validation failure (schema_int.h): a kind of failure, the
 * field's path, the offending value and a detail, worded per style:
 * jsonschema's sentences for Keystone, Nova and Glance (each with its own
 * frame), neutron-lib's for Neutron. Values are quoted clipped and sanitised,
 * so every message is valid UTF-8 and well under ERR_MSG_MAX. */
#include <stdint.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "schema_int.h"

/* jsonschema's keyword for a failure (Glance's "Failed validating"). */
static const char *const fail_keyword[] = {
    [F_TYPE] = "type",          [F_REQUIRED] = "required",   [F_UNKNOWN] = "additionalProperties",
    [F_TOO_LONG] = "maxLength", [F_TOO_SHORT] = "minLength", [F_TOO_MANY] = "maxItems",
    [F_BLANK] = "minLength",    [F_EDGES] = "pattern",       [F_MIN] = "minimum",
    [F_MAX] = "maximum",        [F_ENUM] = "enum",           [F_PATTERN] = "pattern",
    [F_UUID] = "format",        [F_TEXT] = "pattern",        [F_KEY] = "propertyNames",
    [F_READ_ONLY] = "readOnly", [F_ADMIN] = "admin",         [F_CREATE_ONLY] = "readOnly",
};

/* Python's str() (@quoted false) or repr() (@quoted true) of @v, clipped. */
static void
value_text(const json_t *v, bool quoted, char *out, size_t size)
{
    out[0] = '\0';
    if (!v || json_is_null(v)) {
        snprintf(out, size, "None");
    } else if (json_is_true(v)) {
        snprintf(out, size, "True");
    } else if (json_is_false(v)) {
        snprintf(out, size, "False");
    } else if (json_is_integer(v)) {
        snprintf(out, size, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(out, size, "%g", json_real_value(v));
    } else if (json_is_string(v)) {
        if (quoted)
            snprintf(out, size, "'");
        schema_clip_append(out, size, json_string_value(v), json_string_length(v), VALUE_BYTES);
        if (quoted)
            schema_clip_append(out, size, "'", 1, 1);
    } else {
        char *d = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
        if (d)
            schema_clip_append(out, size, d, strlen(d), VALUE_BYTES);
        free(d);
    }
}

/* "'a', 'b', 'c'" clipped. */
static void
enum_text(const char *const *values, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; values && values[i]; i++) {
        if (strlen(out) > 120) {
            schema_clip_append(out, size, ", ...", 5, 5);
            break;
        }
        if (i)
            schema_clip_append(out, size, ", ", 2, 2);
        schema_clip_append(out, size, "'", 1, 1);
        schema_clip_append(out, size, values[i], strlen(values[i]), NAME_BYTES);
        schema_clip_append(out, size, "'", 1, 1);
    }
}

/* A pattern as messages show it: clipped to 64 bytes on a character. */
void
schema_pattern_text(const char *pattern, char *out, size_t size)
{
    out[0] = '\0';
    schema_clip_append(out, size, pattern, strlen(pattern), 64);
}

/* The reason in jsonschema's words (Keystone, Nova, Glance). */
static void
reason_jsonschema(enum fail kind, const struct api_field *f, const char *repr, const char *detail,
                  const json_t *v, char *out, size_t size)
{
    char list[200];
    switch (kind) {
    case F_TYPE:
        snprintf(out, size, "%s is not of type '%s'", repr, detail);
        break;
    case F_REQUIRED:
        snprintf(out, size, "'%s' is a required property", detail);
        break;
    case F_UNKNOWN:
        snprintf(out, size, "Additional properties are not allowed ('%s' was unexpected)", detail);
        break;
    case F_TOO_LONG:
        snprintf(out, size, "%s is too long (at most %lld characters)", repr, f->max);
        break;
    case F_TOO_SHORT:
        snprintf(out, size, "%s is too short (at least %lld characters)", repr, f->min);
        break;
    case F_TOO_MANY:
        snprintf(out, size,
                 json_is_array(v) ? "%s is too long (at most %lld items)"
                                  : "%s has too many properties (at most %lld)",
                 repr, f->max);
        break;
    case F_BLANK:
        snprintf(out, size, "%s is empty or blank", repr);
        break;
    case F_EDGES:
        snprintf(out, size, "%s has leading or trailing whitespace", repr);
        break;
    case F_MIN:
        snprintf(out, size, "%s is less than the minimum of %lld", repr, f->min);
        break;
    case F_MAX:
        snprintf(out, size, "%s is greater than the maximum of %lld", repr, f->max);
        break;
    case F_ENUM:
        enum_text(f->enum_values, list, sizeof(list));
        snprintf(out, size, "%s is not one of [%s]", repr, list);
        break;
    case F_PATTERN:
        schema_pattern_text(f->pattern, list, sizeof(list));
        snprintf(out, size, "%s does not match '%s'", repr, list);
        break;
    case F_UUID:
        snprintf(out, size, "%s is not a 'uuid'", repr);
        break;
    case F_TEXT:
        snprintf(out, size, "%s %s", repr, detail);
        break;
    case F_KEY:
        snprintf(out, size, "%s", detail);
        break;
    case F_READ_ONLY:
        snprintf(out, size, "'%s' is read-only", detail);
        break;
    case F_CREATE_ONLY:
    case F_ADMIN:
        snprintf(out, size, "'%s' cannot be updated", detail);
        break;
    }
}

/* The reason in neutron-lib's words (str() of the value in quotes). */
static void
reason_neutron(enum fail kind, const struct api_field *f, const char *str, const char *detail,
               const json_t *v, char *out, size_t size)
{
    char list[200];
    switch (kind) {
    case F_TYPE:
        if (strcmp(detail, "string") == 0)
            snprintf(out, size, "'%s' is not a valid string", str);
        else if (strcmp(detail, "integer") == 0)
            snprintf(out, size, "'%s' is not an integer", str);
        else if (strcmp(detail, "number") == 0)
            snprintf(out, size, "'%s' is not a number", str);
        else if (strcmp(detail, "boolean") == 0)
            snprintf(out, size, "'%s' cannot be converted to boolean", str);
        else if (strcmp(detail, "object") == 0)
            snprintf(out, size, "'%s' is not a dictionary", str);
        else if (strcmp(detail, "array") == 0)
            snprintf(out, size, "'%s' is not a list", str);
        else
            snprintf(out, size, "'%s' is not of type %s", str, detail);
        break;
    case F_TOO_LONG:
        snprintf(out, size, "'%s' exceeds maximum length of %lld", str, f->max);
        break;
    case F_TOO_SHORT:
        snprintf(out, size, "'%s' is too short - must be at least %lld characters", str, f->min);
        break;
    case F_TOO_MANY:
        snprintf(out, size, "'%s' exceeds maximum number of %s of %lld", str,
                 json_is_array(v) ? "items" : "members", f->max);
        break;
    case F_BLANK:
        snprintf(out, size, "'%s' Blank strings are not permitted", str);
        break;
    case F_EDGES:
        snprintf(out, size, "'%s' has leading or trailing whitespace", str);
        break;
    case F_MIN:
        snprintf(out, size, "'%s' is too small - must be at least '%lld'", str, f->min);
        break;
    case F_MAX:
        snprintf(out, size, "'%s' is too large - must be no larger than '%lld'", str, f->max);
        break;
    case F_ENUM:
        enum_text(f->enum_values, list, sizeof(list));
        snprintf(out, size, "'%s' is not in [%s]", str, list);
        break;
    case F_PATTERN:
        snprintf(out, size, "'%s' is not a valid input", str);
        break;
    case F_UUID:
        snprintf(out, size, "'%s' is not a valid UUID", str);
        break;
    case F_TEXT:
        snprintf(out, size, "'%s' %s", str, detail);
        break;
    case F_KEY:
        snprintf(out, size, "%s", detail);
        break;
    case F_REQUIRED:
    case F_UNKNOWN:
    case F_READ_ONLY:
    case F_ADMIN:
    case F_CREATE_ONLY:
        /* framed whole by fail() */
        out[0] = '\0';
        break;
    }
}

/* Set the error for @kind at the current path and return -1. */
/* The names a message uses for the failing field. */
struct fail_names {
    char repr[VALUE_BYTES * 2 + 16], str[VALUE_BYTES * 2 + 16]; /* the value */
    char name[200];                           /* the detail: a member, a type, a sentence */
    char full[PATH_MAX_LEN + NAME_BYTES + 8]; /* the field's whole path */
    char last[NAME_BYTES * 2 + 32];           /* its last component ("networks[0]") */
    char reason[400];
};

static void
fail_names(const struct vctx *c, enum fail kind, const json_t *v, const char *detail,
           struct fail_names *n)
{
    value_text(v, true, n->repr, sizeof(n->repr));
    value_text(v, false, n->str, sizeof(n->str));
    n->name[0] = '\0';
    if (detail)
        schema_clip_append(n->name, sizeof(n->name), detail, strlen(detail),
                           kind == F_KEY ? sizeof(n->name) - 8 : NAME_BYTES);
    /* a member missing or unexpected: the path is its container's */
    snprintf(n->full, sizeof(n->full), "%s", c->path);
    if (kind == F_REQUIRED || kind == F_UNKNOWN) {
        if (n->full[0])
            schema_clip_append(n->full, sizeof(n->full), "/", 1, 1);
        schema_clip_append(n->full, sizeof(n->full), n->name, strlen(n->name), NAME_BYTES * 2);
    }
    if (!n->full[0])
        snprintf(n->full, sizeof(n->full), "%.48s", c->schema);
    /* Nova names the last component, as nova's validator does; an array
     * index with its array ("networks[0]") */
    const char *slash = strrchr(c->path, '/');
    snprintf(n->last, sizeof(n->last), "%.60s",
             c->path[0] ? (slash ? slash + 1 : c->path) : c->schema);
    if (slash && strspn(slash + 1, "0123456789") == strlen(slash + 1)) {
        const char *start = slash;
        while (start > c->path && start[-1] != '/')
            start--;
        int len = slash - start > 60 ? 60 : (int)(slash - start);
        snprintf(n->last, sizeof(n->last), "%.*s[%.20s]", len, start, slash + 1);
    }
}

static const char *
op_name(const struct vctx *c)
{
    return c->op == API_SCHEMA_CREATE ? "create" : "update";
}

static int
fail_neutron(const struct vctx *c, enum fail kind, const struct api_field *f, const json_t *v,
             struct fail_names *n)
{
    enum err_code code = kind == F_ADMIN ? ERR_FORBIDDEN : ERR_INVALID;
    if (kind == F_REQUIRED)
        return err_set(c->err, code,
                       "Failed to parse request. Required attribute '%s' not specified", n->name);
    if (kind == F_UNKNOWN)
        return err_set(c->err, code, "Unrecognized attribute(s) '%s'", n->name);
    if (kind == F_READ_ONLY && c->op == API_SCHEMA_CREATE)
        return err_set(c->err, code, "Attribute '%s' not allowed in POST", n->name);
    if (kind == F_READ_ONLY || kind == F_CREATE_ONLY)
        return err_set(c->err, code, "Cannot update read-only attribute %s", n->name);
    if (kind == F_ADMIN)
        return err_set(c->err, code, "(rule:%s_%.48s:%s) is disallowed by policy", op_name(c),
                       c->schema, n->name);
    reason_neutron(kind, f, n->str, n->name, v, n->reason, sizeof(n->reason));
    return err_set(c->err, code, "Invalid input for %s. Reason: %s.", n->full, n->reason);
}

static int
fail_nova(const struct vctx *c, enum fail kind, const struct api_field *f, const json_t *v,
          struct fail_names *n)
{
    if (kind == F_ADMIN)
        return err_set(c->err, ERR_FORBIDDEN, "Policy doesn't allow %.48s:%s:%s to be performed.",
                       c->schema, op_name(c), n->name);
    /* for a member missing or unexpected, nova names (and shows) the object
     * holding it, as jsonschema's path does */
    reason_jsonschema(kind, f, n->repr, n->name, v, n->reason, sizeof(n->reason));
    return err_set(c->err, ERR_INVALID, "Invalid input for %s %s. Value: %s. %s",
                   c->query ? "query parameters" : "field/attribute", n->last, n->str, n->reason);
}

static int
fail_glance(const struct vctx *c, enum fail kind, const struct api_field *f, const json_t *v,
            struct fail_names *n)
{
    if (kind == F_READ_ONLY)
        return err_set(c->err, ERR_FORBIDDEN, "Attribute '%s' is read-only.", n->name);
    if (kind == F_ADMIN)
        return err_set(c->err, ERR_FORBIDDEN,
                       "You are not authorized to set the attribute '%s' of %.48s.", n->name,
                       c->schema);
    reason_jsonschema(kind, f, n->repr, n->name, v, n->reason, sizeof(n->reason));
    return err_set(c->err, ERR_INVALID,
                   "Provided object does not match schema '%.48s': %s. Failed validating '%s' "
                   "in schema['properties']['%s']",
                   c->schema, n->reason,
                   kind == F_TOO_MANY && json_is_object(v) ? "maxProperties" : fail_keyword[kind],
                   n->full);
}

static int
fail_keystone(const struct vctx *c, enum fail kind, const struct api_field *f, const json_t *v,
              struct fail_names *n)
{
    if (kind == F_ADMIN)
        return err_set(c->err, ERR_FORBIDDEN,
                       "You are not authorized to perform the requested action: setting '%s' "
                       "requires the admin role.",
                       n->name);
    reason_jsonschema(kind, f, n->repr, n->name, v, n->reason, sizeof(n->reason));
    return err_set(c->err, ERR_INVALID, "Invalid input for field '%s': %s.", n->full, n->reason);
}

int
schema_fail(struct vctx *c, enum fail kind, const struct api_field *f, const json_t *v,
            const char *detail)
{
    static const struct api_field none = {0};
    struct fail_names n;
    fail_names(c, kind, v, detail, &n);
    if (!f)
        f = &none;
    switch (c->style) {
    case API_ERRORS_NEUTRON:
        return fail_neutron(c, kind, f, v, &n);
    case API_ERRORS_NOVA:
        return fail_nova(c, kind, f, v, &n);
    case API_ERRORS_GLANCE:
        return fail_glance(c, kind, f, v, &n);
    case API_ERRORS_KEYSTONE:
    case API_ERRORS__LAST:
        break;
    }
    return fail_keystone(c, kind, f, v, &n);
}
