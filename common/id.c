#include "id.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"

static void
id_raw(uint8_t b[16])
{
    crypto_random(b, 16);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
}

void
id_uuid(char out[ID_UUID_LEN + 1])
{
    uint8_t b[16];
    id_raw(b);
    snprintf(out, ID_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

void
id_hex(char out[ID_HEX_LEN + 1])
{
    uint8_t b[16];
    id_raw(b);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

void
id_request(char out[ID_UUID_LEN + 5])
{
    memcpy(out, "req-", 4);
    id_uuid(out + 4);
}

bool
id_is_uuid(const char *s)
{
    if (!s || strlen(s) != ID_UUID_LEN)
        return false;
    for (int i = 0; i < ID_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

bool
id_is_hex(const char *s)
{
    if (!s || strlen(s) != ID_HEX_LEN)
        return false;
    for (int i = 0; i < ID_HEX_LEN; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

bool
id_is_safe(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}
