/* A resource's field schema, and the one validator that checks every request
 * body against it (replacing the per-family keystone_str/compute_str checks).
 * A schema is static data: the resource engine (resource.h) reads the same
 * table to validate, filter, sort, render and pick columns.
 *
 * Messages name the field and say what is wrong, in the family's words
 * (api_error_style): Keystone "Invalid input for field 'name': ...", Nova
 * "Invalid input for field/attribute name. ...", Neutron "Invalid input for
 * name. Reason: ...", Glance (API_ERRORS_GLANCE: the Keystone body, Glance's
 * words) "Provided object does not match schema ...". Values are quoted
 * clipped, with control characters replaced, so that a message is always
 * valid UTF-8 and shorter than ERR_MSG_MAX. */
#ifndef NUBE_API_SCHEMA_H
#define NUBE_API_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api.h"
#include "error.h"

enum api_field_type {
    API_FIELD_STRING,
    API_FIELD_INTEGER, /* a JSON integer (or a decimal string with API_FIELD_INT_STRING) */
    API_FIELD_NUMBER,  /* integer or real */
    API_FIELD_BOOLEAN, /* with INT_STRING also "true"/"False"/"1"/"off"/"yes"... (Nova) */
    API_FIELD_UUID,    /* a string: 32 hex digits, dashed or not (normalised by the db layer) */
    API_FIELD_OBJECT,  /* any JSON object (e.g. metadata); @max bounds its member count */
    API_FIELD_ARRAY, /* a JSON array; @items (when set) checks each element; @max bounds its length
                      */
    API_FIELD_STRING_MAP, /* an object of strings: keys 1 to 255 characters (matching @pattern
                             when set), each value checked by @items when set (a STRING field),
                             else a string up to 255 characters; @max bounds its member count */
    API_FIELD__LAST
};

enum api_field_flags {
    API_FIELD_REQUIRED = 1 << 0,       /* create must give it */
    API_FIELD_NULLABLE = 1 << 1,       /* null is accepted (and stored as NULL) */
    API_FIELD_READ_ONLY = 1 << 2,      /* never accepted in a body: 400 (Glance: 403) */
    API_FIELD_ADMIN_ONLY = 1 << 3,     /* a non-admin giving it gets 403; rendered to admins only */
    API_FIELD_CREATE_ONLY = 1 << 4,    /* accepted on create, refused on update (400) */
    API_FIELD_FILTER = 1 << 5,         /* ?name=value filters lists (several values: any of them) */
    API_FIELD_SORT = 1 << 6,           /* may be a sort_key */
    API_FIELD_INT_STRING = 1 << 7,     /* an integer may come as a decimal string (Nova) */
    API_FIELD_NONEMPTY = 1 << 8,       /* a string must not be empty (or all blanks) */
    API_FIELD_NO_EDGE_BLANKS = 1 << 9, /* no leading or trailing spaces (Nova names) */
    API_FIELD_HIDDEN = 1 << 10,        /* stored and accepted, never rendered (passwords) */
    API_FIELD_MULTILINE = 1 << 11,     /* a string may hold line breaks (a key file's text) */
};

struct api_field {
    const char *name; /* the JSON member */
    enum api_field_type type;
    unsigned flags; /* enum api_field_flags */
    /* STRING/UUID: length bounds in characters (each applies when > 0);
     * INTEGER/NUMBER: value bounds (both apply unless both are 0);
     * BOOLEAN: none, but with INT_STRING Nova's "true"/"False"/"1"/"off"/"yes"... too;
     * OBJECT/ARRAY/STRING_MAP: max members (min ignored). 0,0: no bound. */
    long long min, max;
    const char *const *enum_values; /* NULL-terminated: the only accepted strings */
    const char *pattern;            /* POSIX extended regex the whole string must match */
    const struct api_field *items;  /* ARRAY: the schema of one element (name unused) */
    const char *column;             /* the db column, when it is not @name */
    /* OBJECT (and ARRAY items of type OBJECT): the members' schema, checked
     * recursively with the same op and admin bit; NULL: any object. Added
     * with the validator for nested bodies (Nova's networks, block device
     * mappings, security_groups). */
    const struct api_schema *object;
};

/* One field of a schema table: API_FIELD_DEF("ram", API_FIELD_INTEGER,
 * API_FIELD_REQUIRED, .min = 1, .max = 1 << 30, .column = "memory_mb"). */
#define API_FIELD_DEF(name_, type_, flags_, ...)                                                   \
    {                                                                                              \
        .name = name_, .type = type_, .flags = flags_, __VA_ARGS__                                 \
    }

struct api_schema {
    const char *name; /* "flavor": the body's wrapping key and the messages' noun */
    const struct api_field *fields;
    size_t nfields;
    bool additional; /* unknown members are accepted (and ignored); else 400 */
};

enum api_schema_op {
    API_SCHEMA_CREATE, /* required fields must be present; CREATE_ONLY ones accepted */
    API_SCHEMA_UPDATE, /* nothing is required; CREATE_ONLY ones refused */
};

/* Check @obj (the object inside the body's wrapping key) against @s for @op,
 * with the caller's admin bit for ADMIN_ONLY fields. 0, or -1 with @err:
 * ERR_INVALID naming the field (wrong type, missing required, unknown member,
 * too long or short, out of bounds, not one of the enum, pattern mismatch,
 * bad UUID, read-only), ERR_FORBIDDEN for an admin-only field (and for a
 * read-only one in the Glance style), in @style's words. */
int api_schema_validate(const struct api_schema *s, const json_t *obj, enum api_schema_op op,
                        bool is_admin, enum api_error_style style, struct err *err);

/* The field called @name, or NULL. */
const struct api_field *api_schema_field(const struct api_schema *s, const char *name);

/* Check one query-string value for a FILTER field (?status=ACTIVE): the same
 * type, enum and pattern rules as a body member, the value given as text
 * (booleans as true/false/1/0/yes/no in any case). 0, or -1 with ERR_INVALID. */
int api_schema_check_text(const struct api_field *f, const char *value, enum api_error_style style,
                          struct err *err);

/* The body's wrapping object: @body[@s->name] must be an object, else 400 in
 * @style's words. Glance bodies are not wrapped: in API_ERRORS_GLANCE the
 * body itself must be the object. */
json_t *api_schema_unwrap(const struct api_schema *s, json_t *body, enum api_error_style style,
                          struct err *err);

#endif
