/* The one request-body validator (schema.h): walks a body against a static
 * field table and answers the first problem in the family's words.
 *
 * A message is built from a kind of failure (enum fail), the field's path,
 * the offending value and a detail, then worded per style: jsonschema's
 * sentences for Keystone, Nova and Glance (each with its own frame), neutron-
 * lib's for Neutron. Values are quoted clipped and sanitised (control
 * characters and invalid bytes become '?'), so every message is valid UTF-8
 * and well under ERR_MSG_MAX.
 * The words are schema_message.c's, the bytes and patterns schema_text.c's. */
#include "schema.h"

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "schema_int.h"

/* Push a path component; returns what pop_path restores. */
static size_t
push_path(struct vctx *c, const char *name, size_t n)
{
    size_t old = strlen(c->path);
    if (old)
        schema_clip_append(c->path, sizeof(c->path), "/", 1, 1);
    schema_clip_append(c->path, sizeof(c->path), name, n, NAME_BYTES);
    return old;
}

static size_t
push_index(struct vctx *c, size_t i)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%zu", i);
    return push_path(c, b, (size_t)n);
}

static void
pop_path(struct vctx *c, size_t old)
{
    c->path[old] = '\0';
}

/* ---- values ---- */

static const char *const type_names[] = {
    [API_FIELD_STRING] = "string", [API_FIELD_INTEGER] = "integer",
    [API_FIELD_NUMBER] = "number", [API_FIELD_BOOLEAN] = "boolean",
    [API_FIELD_UUID] = "string",   [API_FIELD_OBJECT] = "object",
    [API_FIELD_ARRAY] = "array",   [API_FIELD_STRING_MAP] = "object",
};

static const char *
type_name(const struct api_field *f)
{
    return f->type < API_FIELD__LAST ? type_names[f->type] : "unknown";
}

static int validate_object(struct vctx *c, const struct api_schema *s, const json_t *obj);

/* The checks of a string value: its bytes, lengths, blanks, enum, pattern. */
static int
check_string(struct vctx *c, const struct api_field *f, const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), chars = 0;
    const char *bad = schema_text_problem_lines(s, n, &chars, f->flags & API_FIELD_MULTILINE);
    if (bad)
        return schema_fail(c, F_TEXT, f, v, bad);
    if (f->max > 0 && (long long)chars > f->max)
        return schema_fail(c, F_TOO_LONG, f, v, NULL);
    if (f->flags & API_FIELD_NONEMPTY) {
        size_t blanks = strspn(s, " \t");
        if (blanks == n)
            return schema_fail(c, F_BLANK, f, v, NULL);
    }
    if (f->min > 0 && (long long)chars < f->min)
        return schema_fail(c, F_TOO_SHORT, f, v, NULL);
    if ((f->flags & API_FIELD_NO_EDGE_BLANKS) && n &&
        (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        return schema_fail(c, F_EDGES, f, v, NULL);
    if (f->enum_values) {
        size_t i;
        for (i = 0; f->enum_values[i]; i++)
            if (strcmp(f->enum_values[i], s) == 0)
                break;
        if (!f->enum_values[i])
            return schema_fail(c, F_ENUM, f, v, NULL);
    }
    if (f->pattern) {
        const regex_t *re = schema_re_get(f->pattern);
        if (!re)
            return err_set(c->err, ERR_INTERNAL, "schema %s: the pattern of %s does not compile",
                           c->schema, f->name ? f->name : "an item");
        if (regexec(re, s, 0, NULL, 0) != 0)
            return schema_fail(c, F_PATTERN, f, v, NULL);
    }
    return 0;
}

/* A decimal integer "-?[0-9]+" (no blanks): 0, 1 out of range (*@n saturated),
 * -1 not an integer. */
static int
parse_decimal(const char *s, size_t n, long long *out)
{
    size_t i = s[0] == '-' ? 1 : 0;
    if (i == n || n > 64)
        return -1;
    for (size_t j = i; j < n; j++)
        if (s[j] < '0' || s[j] > '9')
            return -1;
    errno = 0;
    *out = strtoll(s, NULL, 10);
    return errno == ERANGE ? 1 : 0;
}

/* Nova's parameter_types.boolean spellings: 1 true, 0 false, -1 neither. */
static int
parse_bool_text(const char *s)
{
    static const char *const yes[] = {"true", "1", "on", "yes"};
    static const char *const no[] = {"false", "0", "off", "no"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

static bool
bounded(const struct api_field *f)
{
    return f->min != 0 || f->max != 0;
}

static int check_value(struct vctx *c, const struct api_field *f, const json_t *v);

static int
check_map(struct vctx *c, const struct api_field *f, const json_t *v)
{
    static const struct api_field value_field = {.type = API_FIELD_STRING, .max = 255};
    const struct api_field *vf = f->items ? f->items : &value_field;
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *)v, key, val) {
        size_t klen = strlen(key), chars = 0;
        const char *bad = schema_text_problem(key, klen, &chars);
        char sentence[256];
        char kq[NAME_BYTES * 2 + 8] = "";
        schema_clip_append(kq, sizeof(kq), key, klen, NAME_BYTES);
        if (bad) {
            snprintf(sentence, sizeof(sentence), "the key '%s' %s", kq, bad);
            return schema_fail(c, F_KEY, f, v, sentence);
        }
        if (chars == 0 || chars > 255) {
            snprintf(sentence, sizeof(sentence), "the key '%s' is not 1 to 255 characters long",
                     kq);
            return schema_fail(c, F_KEY, f, v, sentence);
        }
        if (f->pattern) {
            const regex_t *re = schema_re_get(f->pattern);
            if (!re)
                return err_set(c->err, ERR_INTERNAL,
                               "schema %s: the key pattern of %s does not compile", c->schema,
                               f->name ? f->name : "an item");
            if (regexec(re, key, 0, NULL, 0) != 0) {
                char pat[100];
                schema_pattern_text(f->pattern, pat, sizeof(pat));
                snprintf(sentence, sizeof(sentence), "the key '%s' does not match '%s'", kq, pat);
                return schema_fail(c, F_KEY, f, v, sentence);
            }
        }
        size_t old = push_path(c, key, klen);
        int rc = check_value(c, vf, val);
        pop_path(c, old);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Check one value (the path already names it) against @f. */
static int
check_uuid(struct vctx *c, const struct api_field *f, const json_t *v)
{
    if (!json_is_string(v))
        return schema_fail(c, F_TYPE, f, v, "string");
    size_t chars;
    const char *bad = schema_text_problem(json_string_value(v), json_string_length(v), &chars);
    if (bad)
        return schema_fail(c, F_TEXT, f, v, bad);
    if (!schema_uuid_ok(json_string_value(v), json_string_length(v)))
        return schema_fail(c, F_UUID, f, v, NULL);
    return 0;
}

static int
check_integer(struct vctx *c, const struct api_field *f, const json_t *v)
{
    long long n;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v) && (f->flags & API_FIELD_INT_STRING)) {
        int rc = parse_decimal(json_string_value(v), json_string_length(v), &n);
        if (rc < 0)
            return schema_fail(c, F_TYPE, f, v, "integer");
        if (rc > 0 && bounded(f))
            return schema_fail(c, n < 0 ? F_MIN : F_MAX, f, v, NULL);
        if (rc > 0)
            return schema_fail(c, F_TYPE, f, v, "integer");
    } else {
        return schema_fail(c, F_TYPE, f, v, "integer");
    }
    if (bounded(f) && n < f->min)
        return schema_fail(c, F_MIN, f, v, NULL);
    if (bounded(f) && n > f->max)
        return schema_fail(c, F_MAX, f, v, NULL);
    return 0;
}

static int
check_number(struct vctx *c, const struct api_field *f, const json_t *v)
{
    if (!json_is_number(v))
        return schema_fail(c, F_TYPE, f, v, "number");
    double d = json_number_value(v);
    if (bounded(f) && d < (double)f->min)
        return schema_fail(c, F_MIN, f, v, NULL);
    if (bounded(f) && d > (double)f->max)
        return schema_fail(c, F_MAX, f, v, NULL);
    return 0;
}

static int
check_boolean(struct vctx *c, const struct api_field *f, const json_t *v)
{
    if (json_is_boolean(v))
        return 0;
    if (json_is_string(v) && (f->flags & API_FIELD_INT_STRING) &&
        strlen(json_string_value(v)) == json_string_length(v) &&
        parse_bool_text(json_string_value(v)) >= 0)
        return 0;
    return schema_fail(c, F_TYPE, f, v, "boolean");
}

/* An object, a string map or an array: its type and member count. */
static int
check_container(struct vctx *c, const struct api_field *f, const json_t *v, bool array)
{
    if (array ? !json_is_array(v) : !json_is_object(v))
        return schema_fail(c, F_TYPE, f, v, array ? "array" : "object");
    size_t n = array ? json_array_size(v) : json_object_size(v);
    if (f->max > 0 && (long long)n > f->max)
        return schema_fail(c, F_TOO_MANY, f, v, NULL);
    return 0;
}

static int
check_array(struct vctx *c, const struct api_field *f, const json_t *v)
{
    if (check_container(c, f, v, true) < 0)
        return -1;
    if (!f->items)
        return 0;
    size_t i;
    json_t *item;
    json_array_foreach (v, i, item) {
        size_t old = push_index(c, i);
        int rc = check_value(c, f->items, item);
        pop_path(c, old);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int
check_value(struct vctx *c, const struct api_field *f, const json_t *v)
{
    if (json_is_null(v)) {
        if (f->flags & API_FIELD_NULLABLE)
            return 0;
        return schema_fail(c, F_TYPE, f, v, type_name(f));
    }
    switch (f->type) {
    case API_FIELD_STRING:
        if (!json_is_string(v))
            return schema_fail(c, F_TYPE, f, v, "string");
        return check_string(c, f, v);
    case API_FIELD_UUID:
        return check_uuid(c, f, v);
    case API_FIELD_INTEGER:
        return check_integer(c, f, v);
    case API_FIELD_NUMBER:
        return check_number(c, f, v);
    case API_FIELD_BOOLEAN:
        return check_boolean(c, f, v);
    case API_FIELD_OBJECT:
        if (check_container(c, f, v, false) < 0)
            return -1;
        return f->object ? validate_object(c, f->object, v) : 0;
    case API_FIELD_ARRAY:
        return check_array(c, f, v);
    case API_FIELD_STRING_MAP:
        if (check_container(c, f, v, false) < 0)
            return -1;
        return check_map(c, f, v);
    case API_FIELD__LAST:
        break;
    }
    return err_set(c->err, ERR_INTERNAL, "schema %s: field %s has an unknown type", c->schema,
                   f->name ? f->name : "(item)");
}

static int
validate_object(struct vctx *c, const struct api_schema *s, const json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        const struct api_field *f = api_schema_field(s, key);
        if (!f) {
            if (s->additional)
                continue;
            return schema_fail(c, F_UNKNOWN, NULL, obj, key);
        }
        size_t old = push_path(c, key, strlen(key));
        int rc;
        if (f->flags & API_FIELD_READ_ONLY)
            rc = schema_fail(c, F_READ_ONLY, f, v, key);
        else if ((f->flags & API_FIELD_ADMIN_ONLY) && !c->is_admin)
            rc = schema_fail(c, F_ADMIN, f, v, key);
        else if ((f->flags & API_FIELD_CREATE_ONLY) && c->op == API_SCHEMA_UPDATE)
            rc = schema_fail(c, F_CREATE_ONLY, f, v, key);
        else
            rc = check_value(c, f, v);
        pop_path(c, old);
        if (rc < 0)
            return -1;
    }
    if (c->op != API_SCHEMA_CREATE)
        return 0;
    for (size_t i = 0; i < s->nfields; i++) {
        const struct api_field *f = &s->fields[i];
        if ((f->flags & API_FIELD_REQUIRED) && !json_object_get(obj, f->name))
            return schema_fail(c, F_REQUIRED, f, obj, f->name);
    }
    return 0;
}

/* ---- the interface ---- */

static void
vctx_init(struct vctx *c, const struct api_schema *s, enum api_schema_op op, bool is_admin,
          enum api_error_style style, struct err *err)
{
    memset(c, 0, sizeof(*c));
    c->style = style;
    c->op = op;
    c->is_admin = is_admin;
    c->schema = s && s->name ? s->name : "body";
    c->err = err;
}

int
api_schema_validate(const struct api_schema *s, const json_t *obj, enum api_schema_op op,
                    bool is_admin, enum api_error_style style, struct err *err)
{
    struct vctx c;
    vctx_init(&c, s, op, is_admin, style, err);
    if (!json_is_object(obj)) {
        size_t old = push_path(&c, c.schema, strlen(c.schema));
        schema_fail(&c, F_TYPE, NULL, obj, "object");
        pop_path(&c, old);
        return -1;
    }
    return validate_object(&c, s, obj);
}

const struct api_field *
api_schema_field(const struct api_schema *s, const char *name)
{
    if (!s || !name)
        return NULL;
    for (size_t i = 0; i < s->nfields; i++)
        if (s->fields[i].name && strcmp(s->fields[i].name, name) == 0)
            return &s->fields[i];
    return NULL;
}

int
api_schema_check_text(const struct api_field *f, const char *value, enum api_error_style style,
                      struct err *err)
{
    struct vctx c;
    vctx_init(&c, NULL, API_SCHEMA_CREATE, true, style, err);
    c.query = true;
    const char *name = f->name ? f->name : "value";
    push_path(&c, name, strlen(name));
    size_t len = strlen(value);
    json_t *v = NULL;
    struct api_field g = *f;
    g.flags |= API_FIELD_INT_STRING; /* text: numbers and booleans are spelled */
    g.flags &= ~(unsigned)API_FIELD_NULLABLE;
    int rc;
    switch (f->type) {
    case API_FIELD_STRING:
    case API_FIELD_UUID:
    case API_FIELD_INTEGER:
    case API_FIELD_BOOLEAN:
        v = json_stringn_nocheck(value, len);
        rc = check_value(&c, &g, v);
        break;
    case API_FIELD_NUMBER: {
        char *end;
        size_t chars;
        v = json_stringn_nocheck(value, len);
        if (schema_text_problem(value, len, &chars) || !len) {
            rc = schema_fail(&c, F_TYPE, f, v, "number");
            break;
        }
        errno = 0;
        double d = strtod(value, &end);
        if (*end || errno == ERANGE || d != d) {
            rc = schema_fail(&c, F_TYPE, f, v, "number");
            break;
        }
        json_t *num = json_real(d);
        rc = check_value(&c, &g, num);
        json_decref(num);
        break;
    }
    default:
        v = json_stringn_nocheck(value, len);
        rc = schema_fail(&c, F_TYPE, f, v, "a filterable value");
        break;
    }
    json_decref(v);
    return rc;
}

json_t *
api_schema_unwrap(const struct api_schema *s, json_t *body, enum api_error_style style,
                  struct err *err)
{
    struct vctx c;
    vctx_init(&c, s, API_SCHEMA_CREATE, true, style, err);
    if (style == API_ERRORS_GLANCE) {
        if (json_is_object(body))
            return body;
        schema_fail(&c, F_TYPE, NULL, body, "object");
        return NULL;
    }
    json_t *o = json_is_object(body) ? json_object_get(body, c.schema) : NULL;
    if (json_is_object(o))
        return o;
    if (style == API_ERRORS_NEUTRON) {
        err_set(err, ERR_INVALID, "Unable to find '%.48s' in request body", c.schema);
        return NULL;
    }
    if (!o) {
        /* the wrapping key missing: a required property of the whole body */
        c.schema = "body";
        schema_fail(&c, F_REQUIRED, NULL, body, s->name);
        return NULL;
    }
    push_path(&c, c.schema, strlen(c.schema));
    schema_fail(&c, F_TYPE, NULL, o, "object");
    return NULL;
}
