/* Allocation that aborts on failure (Redis's zmalloc, crun's xmalloc): callers
 * need not check. Sizes from clients or guests are bounded before they get here. */
#ifndef NUBE_COMMON_MEM_H
#define NUBE_COMMON_MEM_H

#include <stddef.h>
#include <stdlib.h>

void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xzalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *p, size_t size) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));
char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), malloc, returns_nonnull));

/* Copy at most size-1 bytes and always terminate; returns strlen(src). */
size_t strlcpy_n(char *dst, const char *src, size_t size);

static inline void
freep(void *p)
{
    free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
