/* The one request-body validator (schema.h): walks a body against a static
 * field table and answers the first problem in the family's words.
 *
 * A message is built from a kind of failure (enum fail), the field's path,
 * the offending value and a detail, then worded per style: jsonschema's
 * sentences for Keystone, Nova and Glance (each with its own frame), neutron-
 * lib's for Neutron. Values are quoted clipped and sanitised (control
 * characters and invalid bytes become '?'), so every message is valid UTF-8
 * and well under ERR_MSG_MAX.
 *
 * Patterns are compiled once per distinct pattern text into a process-wide
 * list under a mutex; glibc's regexec locks the compiled pattern itself, so
 * cloud-api's workers share them. */
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

/* ---- text ---- */

/* The code point at @s (at most @n bytes), its length in *@adv; -1 for an
 * invalid sequence (overlong, surrogate, beyond U+10FFFF, truncated). */
static long
utf8_next(const unsigned char *s, size_t n, size_t *adv)
{
    unsigned char c = s[0];
    long cp;
    size_t len;
    if (c < 0x80) {
        *adv = 1;
        return c;
    }
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return -1;
    if (len > n)
        return -1;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *adv = len;
    return cp;
}

/* Append @s (@n bytes) to @out (@size bytes, NUL-terminated) with at most
 * @max_bytes of it: whole UTF-8 characters, control characters and invalid
 * bytes as '?', "..." when cut. */
static void
clip_append(char *out, size_t size, const char *s, size_t n, size_t max_bytes)
{
    size_t o = strlen(out);
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, taken = 0;
    while (i < n) {
        size_t adv = 1;
        long cp = utf8_next(p + i, n - i, &adv);
        bool plain = cp >= 0x20 && cp != 0x7f;
        size_t w = plain ? adv : 1;
        if (taken + w > max_bytes || o + w + 4 >= size) {
            if (o + 4 <= size - 1) {
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        if (plain)
            memcpy(out + o, p + i, adv);
        else
            out[o] = '?';
        o += w;
        taken += w;
        i += cp < 0 ? 1 : adv;
    }
    out[o] = '\0';
}

/* What is wrong with a string's bytes: NULL when it is valid UTF-8 without
 * NUL or control characters (tab allowed); *@chars is its length in
 * characters. */
static const char *text_problem_lines(const char *s, size_t n, size_t *chars, bool lines);

static const char *
text_problem(const char *s, size_t n, size_t *chars)
{
    return text_problem_lines(s, n, chars, false);
}

/* text_problem(), with line breaks allowed when @lines (API_FIELD_MULTILINE). */
static const char *
text_problem_lines(const char *s, size_t n, size_t *chars, bool lines)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        size_t adv;
        long cp = utf8_next(p + i, n - i, &adv);
        if (cp < 0)
            return "is not valid UTF-8";
        if (cp == 0)
            return "contains a NUL character";
        if (cp < 0x20 && cp != '\t' && !(lines && (cp == '\n' || cp == '\r')))
            return "holds control characters";
        i += adv;
        count++;
    }
    *chars = count;
    return NULL;
}

static bool
uuid_ok(const char *s, size_t n)
{
    static const int dashes[] = {8, 13, 18, 23};
    if (n == 32) {
        for (size_t i = 0; i < n; i++)
            if (!((s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')))
                return false;
        return true;
    }
    if (n != 36)
        return false;
    for (size_t i = 0, d = 0; i < n; i++) {
        if (d < 4 && (int)i == dashes[d]) {
            if (s[i] != '-')
                return false;
            d++;
        } else if (!((s[i] >= '0' && s[i] <= '9') ||
                     ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f'))) {
            return false;
        }
    }
    return true;
}

/* ---- the pattern cache ---- */

struct re_entry {
    char *pattern;
    regex_t re;
    bool ok;
    struct re_entry *next;
};

static pthread_mutex_t re_lock = PTHREAD_MUTEX_INITIALIZER;
static struct re_entry *re_cache;

/* The compiled "^(pattern)$", or NULL when the pattern does not compile. */
static const regex_t *
re_get(const char *pattern)
{
    pthread_mutex_lock(&re_lock);
    struct re_entry *e;
    for (e = re_cache; e; e = e->next)
        if (strcmp(e->pattern, pattern) == 0)
            break;
    if (!e) {
        e = xzalloc(sizeof(*e));
        e->pattern = xstrdup(pattern);
        char *full = xasprintf("^(%s)$", pattern);
        e->ok = regcomp(&e->re, full, REG_EXTENDED | REG_NOSUB) == 0;
        free(full);
        e->next = re_cache;
        re_cache = e;
    }
    pthread_mutex_unlock(&re_lock);
    return e->ok ? &e->re : NULL;
}

/* ---- failures and their words ---- */

enum fail {
    F_TYPE,        /* detail: the JSON type expected */
    F_REQUIRED,    /* detail: the missing member; value: its container */
    F_UNKNOWN,     /* detail: the unexpected member; value: its container */
    F_TOO_LONG,    /* a string over @max characters */
    F_TOO_SHORT,   /* a string under @min characters */
    F_TOO_MANY,    /* an array or object over @max members */
    F_BLANK,       /* NONEMPTY: empty or all blanks */
    F_EDGES,       /* NO_EDGE_BLANKS */
    F_MIN,         /* below @min */
    F_MAX,         /* above @max */
    F_ENUM,        /* not one of @enum_values */
    F_PATTERN,     /* no match for @pattern */
    F_UUID,        /* not a UUID */
    F_TEXT,        /* detail: what is wrong with the bytes */
    F_KEY,         /* detail: what is wrong with a map key (a full sentence) */
    F_READ_ONLY,   /* detail: the member */
    F_ADMIN,       /* detail: the member (403) */
    F_CREATE_ONLY, /* detail: the member */
};

/* jsonschema's keyword for a failure (Glance's "Failed validating"). */
static const char *const fail_keyword[] = {
    [F_TYPE] = "type",          [F_REQUIRED] = "required",   [F_UNKNOWN] = "additionalProperties",
    [F_TOO_LONG] = "maxLength", [F_TOO_SHORT] = "minLength", [F_TOO_MANY] = "maxItems",
    [F_BLANK] = "minLength",    [F_EDGES] = "pattern",       [F_MIN] = "minimum",
    [F_MAX] = "maximum",        [F_ENUM] = "enum",           [F_PATTERN] = "pattern",
    [F_UUID] = "format",        [F_TEXT] = "pattern",        [F_KEY] = "propertyNames",
    [F_READ_ONLY] = "readOnly", [F_ADMIN] = "admin",         [F_CREATE_ONLY] = "readOnly",
};

#define PATH_MAX_LEN 160
#define VALUE_BYTES 48
#define NAME_BYTES 48

struct vctx {
    enum api_error_style style;
    enum api_schema_op op;
    bool is_admin;
    bool query; /* api_schema_check_text: Nova says "query parameters" */
    const char *schema;
    struct err *err;
    char path[PATH_MAX_LEN]; /* "networks/0/uuid" */
};

/* Push a path component; returns what pop_path restores. */
static size_t
push_path(struct vctx *c, const char *name, size_t n)
{
    size_t old = strlen(c->path);
    if (old)
        clip_append(c->path, sizeof(c->path), "/", 1, 1);
    clip_append(c->path, sizeof(c->path), name, n, NAME_BYTES);
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
        clip_append(out, size, json_string_value(v), json_string_length(v), VALUE_BYTES);
        if (quoted)
            clip_append(out, size, "'", 1, 1);
    } else {
        char *d = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
        if (d)
            clip_append(out, size, d, strlen(d), VALUE_BYTES);
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
            clip_append(out, size, ", ...", 5, 5);
            break;
        }
        if (i)
            clip_append(out, size, ", ", 2, 2);
        clip_append(out, size, "'", 1, 1);
        clip_append(out, size, values[i], strlen(values[i]), NAME_BYTES);
        clip_append(out, size, "'", 1, 1);
    }
}

/* A pattern as messages show it: clipped to 64 bytes on a character. */
static void
pattern_text(const char *pattern, char *out, size_t size)
{
    out[0] = '\0';
    clip_append(out, size, pattern, strlen(pattern), 64);
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
        pattern_text(f->pattern, list, sizeof(list));
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
static int
fail(struct vctx *c, enum fail kind, const struct api_field *f, const json_t *v, const char *detail)
{
    static const struct api_field none = {0};
    if (!f)
        f = &none;
    char repr[VALUE_BYTES * 2 + 16], str[VALUE_BYTES * 2 + 16], name[200];
    char reason[400];
    value_text(v, true, repr, sizeof(repr));
    value_text(v, false, str, sizeof(str));
    name[0] = '\0';
    if (detail)
        clip_append(name, sizeof(name), detail, strlen(detail),
                    kind == F_KEY ? sizeof(name) - 8 : NAME_BYTES);
    /* a member missing or unexpected: the path is its container's */
    bool member = kind == F_REQUIRED || kind == F_UNKNOWN;
    char full[PATH_MAX_LEN + NAME_BYTES + 8];
    snprintf(full, sizeof(full), "%s", c->path);
    if (member) {
        if (full[0])
            clip_append(full, sizeof(full), "/", 1, 1);
        clip_append(full, sizeof(full), name, strlen(name), NAME_BYTES * 2);
    }
    if (!full[0])
        snprintf(full, sizeof(full), "%.48s", c->schema);
    /* Nova names the last component, as nova's validator does; an array
     * index with its array ("networks[0]") */
    char last[NAME_BYTES * 2 + 32];
    const char *slash = strrchr(c->path, '/');
    snprintf(last, sizeof(last), "%.60s", c->path[0] ? (slash ? slash + 1 : c->path) : c->schema);
    if (slash && strspn(slash + 1, "0123456789") == strlen(slash + 1)) {
        const char *start = slash;
        while (start > c->path && start[-1] != '/')
            start--;
        int n = slash - start > 60 ? 60 : (int)(slash - start);
        snprintf(last, sizeof(last), "%.*s[%.20s]", n, start, slash + 1);
    }
    const char *op = c->op == API_SCHEMA_CREATE ? "create" : "update";
    enum err_code code = kind == F_ADMIN ? ERR_FORBIDDEN : ERR_INVALID;

    switch (c->style) {
    case API_ERRORS_NEUTRON:
        if (kind == F_REQUIRED)
            return err_set(c->err, code,
                           "Failed to parse request. Required attribute '%s' not specified", name);
        if (kind == F_UNKNOWN)
            return err_set(c->err, code, "Unrecognized attribute(s) '%s'", name);
        if (kind == F_READ_ONLY && c->op == API_SCHEMA_CREATE)
            return err_set(c->err, code, "Attribute '%s' not allowed in POST", name);
        if (kind == F_READ_ONLY || kind == F_CREATE_ONLY)
            return err_set(c->err, code, "Cannot update read-only attribute %s", name);
        if (kind == F_ADMIN)
            return err_set(c->err, code, "(rule:%s_%.48s:%s) is disallowed by policy", op,
                           c->schema, name);
        reason_neutron(kind, f, str, name, v, reason, sizeof(reason));
        return err_set(c->err, code, "Invalid input for %s. Reason: %s.", full, reason);
    case API_ERRORS_NOVA:
        if (kind == F_ADMIN)
            return err_set(c->err, code, "Policy doesn't allow %.48s:%s:%s to be performed.",
                           c->schema, op, name);
        /* for a member missing or unexpected, nova names (and shows) the
         * object holding it, as jsonschema's path does */
        reason_jsonschema(kind, f, repr, name, v, reason, sizeof(reason));
        return err_set(c->err, code, "Invalid input for %s %s. Value: %s. %s",
                       c->query ? "query parameters" : "field/attribute", last, str, reason);
    case API_ERRORS_GLANCE:
        if (kind == F_READ_ONLY)
            return err_set(c->err, ERR_FORBIDDEN, "Attribute '%s' is read-only.", name);
        if (kind == F_ADMIN)
            return err_set(c->err, code,
                           "You are not authorized to set the attribute '%s' of %.48s.", name,
                           c->schema);
        reason_jsonschema(kind, f, repr, name, v, reason, sizeof(reason));
        return err_set(
            c->err, code,
            "Provided object does not match schema '%.48s': %s. Failed validating '%s' "
            "in schema['properties']['%s']",
            c->schema, reason,
            kind == F_TOO_MANY && json_is_object(v) ? "maxProperties" : fail_keyword[kind], full);
    case API_ERRORS_KEYSTONE:
    case API_ERRORS__LAST:
        break;
    }
    if (kind == F_ADMIN)
        return err_set(c->err, code,
                       "You are not authorized to perform the requested action: setting '%s' "
                       "requires the admin role.",
                       name);
    reason_jsonschema(kind, f, repr, name, v, reason, sizeof(reason));
    return err_set(c->err, code, "Invalid input for field '%s': %s.", full, reason);
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
    const char *bad = text_problem_lines(s, n, &chars, f->flags & API_FIELD_MULTILINE);
    if (bad)
        return fail(c, F_TEXT, f, v, bad);
    if (f->max > 0 && (long long)chars > f->max)
        return fail(c, F_TOO_LONG, f, v, NULL);
    if (f->flags & API_FIELD_NONEMPTY) {
        size_t blanks = strspn(s, " \t");
        if (blanks == n)
            return fail(c, F_BLANK, f, v, NULL);
    }
    if (f->min > 0 && (long long)chars < f->min)
        return fail(c, F_TOO_SHORT, f, v, NULL);
    if ((f->flags & API_FIELD_NO_EDGE_BLANKS) && n &&
        (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        return fail(c, F_EDGES, f, v, NULL);
    if (f->enum_values) {
        size_t i;
        for (i = 0; f->enum_values[i]; i++)
            if (strcmp(f->enum_values[i], s) == 0)
                break;
        if (!f->enum_values[i])
            return fail(c, F_ENUM, f, v, NULL);
    }
    if (f->pattern) {
        const regex_t *re = re_get(f->pattern);
        if (!re)
            return err_set(c->err, ERR_INTERNAL, "schema %s: the pattern of %s does not compile",
                           c->schema, f->name ? f->name : "an item");
        if (regexec(re, s, 0, NULL, 0) != 0)
            return fail(c, F_PATTERN, f, v, NULL);
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
        const char *bad = text_problem(key, klen, &chars);
        char sentence[200];
        char kq[NAME_BYTES * 2 + 8] = "";
        clip_append(kq, sizeof(kq), key, klen, NAME_BYTES);
        if (bad) {
            snprintf(sentence, sizeof(sentence), "the key '%s' %s", kq, bad);
            return fail(c, F_KEY, f, v, sentence);
        }
        if (chars == 0 || chars > 255) {
            snprintf(sentence, sizeof(sentence), "the key '%s' is not 1 to 255 characters long",
                     kq);
            return fail(c, F_KEY, f, v, sentence);
        }
        if (f->pattern) {
            const regex_t *re = re_get(f->pattern);
            if (!re)
                return err_set(c->err, ERR_INTERNAL,
                               "schema %s: the key pattern of %s does not compile", c->schema,
                               f->name ? f->name : "an item");
            if (regexec(re, key, 0, NULL, 0) != 0) {
                char pat[100];
                pattern_text(f->pattern, pat, sizeof(pat));
                snprintf(sentence, sizeof(sentence), "the key '%s' does not match '%s'", kq, pat);
                return fail(c, F_KEY, f, v, sentence);
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
check_value(struct vctx *c, const struct api_field *f, const json_t *v)
{
    if (json_is_null(v)) {
        if (f->flags & API_FIELD_NULLABLE)
            return 0;
        return fail(c, F_TYPE, f, v, type_name(f));
    }
    switch (f->type) {
    case API_FIELD_STRING:
        if (!json_is_string(v))
            return fail(c, F_TYPE, f, v, "string");
        return check_string(c, f, v);
    case API_FIELD_UUID: {
        if (!json_is_string(v))
            return fail(c, F_TYPE, f, v, "string");
        size_t chars;
        const char *bad = text_problem(json_string_value(v), json_string_length(v), &chars);
        if (bad)
            return fail(c, F_TEXT, f, v, bad);
        if (!uuid_ok(json_string_value(v), json_string_length(v)))
            return fail(c, F_UUID, f, v, NULL);
        return 0;
    }
    case API_FIELD_INTEGER: {
        long long n;
        if (json_is_integer(v)) {
            n = json_integer_value(v);
        } else if (json_is_string(v) && (f->flags & API_FIELD_INT_STRING)) {
            int rc = parse_decimal(json_string_value(v), json_string_length(v), &n);
            if (rc < 0)
                return fail(c, F_TYPE, f, v, "integer");
            if (rc > 0 && bounded(f))
                return fail(c, n < 0 ? F_MIN : F_MAX, f, v, NULL);
            if (rc > 0)
                return fail(c, F_TYPE, f, v, "integer");
        } else {
            return fail(c, F_TYPE, f, v, "integer");
        }
        if (bounded(f) && n < f->min)
            return fail(c, F_MIN, f, v, NULL);
        if (bounded(f) && n > f->max)
            return fail(c, F_MAX, f, v, NULL);
        return 0;
    }
    case API_FIELD_NUMBER: {
        if (!json_is_number(v))
            return fail(c, F_TYPE, f, v, "number");
        double d = json_number_value(v);
        if (bounded(f) && d < (double)f->min)
            return fail(c, F_MIN, f, v, NULL);
        if (bounded(f) && d > (double)f->max)
            return fail(c, F_MAX, f, v, NULL);
        return 0;
    }
    case API_FIELD_BOOLEAN:
        if (json_is_boolean(v))
            return 0;
        if (json_is_string(v) && (f->flags & API_FIELD_INT_STRING) &&
            strlen(json_string_value(v)) == json_string_length(v) &&
            parse_bool_text(json_string_value(v)) >= 0)
            return 0;
        return fail(c, F_TYPE, f, v, "boolean");
    case API_FIELD_OBJECT:
        if (!json_is_object(v))
            return fail(c, F_TYPE, f, v, "object");
        if (f->max > 0 && (long long)json_object_size(v) > f->max)
            return fail(c, F_TOO_MANY, f, v, NULL);
        return f->object ? validate_object(c, f->object, v) : 0;
    case API_FIELD_ARRAY: {
        if (!json_is_array(v))
            return fail(c, F_TYPE, f, v, "array");
        if (f->max > 0 && (long long)json_array_size(v) > f->max)
            return fail(c, F_TOO_MANY, f, v, NULL);
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
    case API_FIELD_STRING_MAP:
        if (!json_is_object(v))
            return fail(c, F_TYPE, f, v, "object");
        if (f->max > 0 && (long long)json_object_size(v) > f->max)
            return fail(c, F_TOO_MANY, f, v, NULL);
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
            return fail(c, F_UNKNOWN, NULL, obj, key);
        }
        size_t old = push_path(c, key, strlen(key));
        int rc;
        if (f->flags & API_FIELD_READ_ONLY)
            rc = fail(c, F_READ_ONLY, f, v, key);
        else if ((f->flags & API_FIELD_ADMIN_ONLY) && !c->is_admin)
            rc = fail(c, F_ADMIN, f, v, key);
        else if ((f->flags & API_FIELD_CREATE_ONLY) && c->op == API_SCHEMA_UPDATE)
            rc = fail(c, F_CREATE_ONLY, f, v, key);
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
            return fail(c, F_REQUIRED, f, obj, f->name);
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
        fail(&c, F_TYPE, NULL, obj, "object");
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
        if (text_problem(value, len, &chars) || !len) {
            rc = fail(&c, F_TYPE, f, v, "number");
            break;
        }
        errno = 0;
        double d = strtod(value, &end);
        if (*end || errno == ERANGE || d != d) {
            rc = fail(&c, F_TYPE, f, v, "number");
            break;
        }
        json_t *num = json_real(d);
        rc = check_value(&c, &g, num);
        json_decref(num);
        break;
    }
    default:
        v = json_stringn_nocheck(value, len);
        rc = fail(&c, F_TYPE, f, v, "a filterable value");
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
        fail(&c, F_TYPE, NULL, body, "object");
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
        fail(&c, F_REQUIRED, NULL, body, s->name);
        return NULL;
    }
    push_path(&c, c.schema, strlen(c.schema));
    fail(&c, F_TYPE, NULL, o, "object");
    return NULL;
}
