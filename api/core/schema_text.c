/* The schema validator's bytes: UTF-8, sanitised clipping for messages, UUIDs,
 * and the pattern cache. Patterns are compiled once per distinct pattern text
 * into a process-wide list under a mutex; glibc's regexec locks the compiled
 * pattern itself, so cloud-api's workers share them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "schema_int.h"

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
void
schema_clip_append(char *out, size_t size, const char *s, size_t n, size_t max_bytes)
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
const char *
schema_text_problem(const char *s, size_t n, size_t *chars)
{
    return schema_text_problem_lines(s, n, chars, false);
}

/* schema_text_problem(), with line breaks allowed when @lines (API_FIELD_MULTILINE). */
const char *
schema_text_problem_lines(const char *s, size_t n, size_t *chars, bool lines)
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

bool
schema_uuid_ok(const char *s, size_t n)
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
const regex_t *
schema_re_get(const char *pattern)
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
