/* Small helpers over jansson. */
#ifndef NUBE_COMMON_JSON_H
#define NUBE_COMMON_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Parse @len bytes; a syntax error says where ("line 1, column 7, position 6"). */
json_t *json_parse_buf(const char *buf, size_t len, struct err *err);
/* Compact serialisation (caller frees). */
char *json_dump_compact(const json_t *v);

/* Typed member access: NULL / false when missing or of another type. */
const char *json_get_str(const json_t *obj, const char *key);
json_t *json_get_obj(const json_t *obj, const char *key);
json_t *json_get_array(const json_t *obj, const char *key);
bool json_get_int(const json_t *obj, const char *key, json_int_t *out);
bool json_get_bool(const json_t *obj, const char *key, bool *out);

/* jansson >= 2.9 provides json_auto_t (a json_t * released at scope exit). */

#endif
