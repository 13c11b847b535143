/* What the schema validator's files share (schema.c: the walk, schema_text.c:
 * bytes and patterns, schema_message.c: the words of a failure). Not for
 * resources, which use schema.h. */
#ifndef NUBE_API_SCHEMA_INT_H
#define NUBE_API_SCHEMA_INT_H

#include <regex.h>

#include "schema.h"

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

/* Append @n bytes of @s to the string @out (of @size), at most @max_bytes of
 * it: whole UTF-8 characters, control characters and invalid bytes as '?'. */
void schema_clip_append(char *out, size_t size, const char *s, size_t n, size_t max_bytes);
/* What is wrong with a string's bytes: NULL when it is valid UTF-8 without
 * NUL or control characters (tab allowed, and line breaks when @lines);
 * *@chars is its length in characters. */
const char *schema_text_problem_lines(const char *s, size_t n, size_t *chars, bool lines);
const char *schema_text_problem(const char *s, size_t n, size_t *chars);
bool schema_uuid_ok(const char *s, size_t n);
/* The compiled "^(pattern)$", or NULL when the pattern does not compile. */
const regex_t *schema_re_get(const char *pattern);
/* A pattern for a message: clipped and sanitised. */
void schema_pattern_text(const char *pattern, char *out, size_t size);
/* Fill c->err with the failure @kind of field @f (value @v, @detail) in the
 * style's words; returns -1. */
int schema_fail(struct vctx *c, enum fail kind, const struct api_field *f, const json_t *v,
                const char *detail);

#endif
