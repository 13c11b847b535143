/* Identifiers: RFC 4122 version-4 UUIDs from the OpenSSL CSPRNG. */
#ifndef NUBE_COMMON_ID_H
#define NUBE_COMMON_ID_H

#include <stdbool.h>

#define ID_UUID_LEN 36 /* 8-4-4-4-12 */
#define ID_HEX_LEN 32  /* Keystone-style: the same 128 bits, no dashes */

void id_uuid(char out[ID_UUID_LEN + 1]);
void id_hex(char out[ID_HEX_LEN + 1]);
/* "req-<uuid>", as OpenStack request ids read. */
void id_request(char out[ID_UUID_LEN + 5]);
bool id_is_uuid(const char *s);
bool id_is_hex(const char *s);
/* A safe id for a path component: 1..64 of [A-Za-z0-9_.-], not "." or "..". */
bool id_is_safe(const char *s);

#endif
