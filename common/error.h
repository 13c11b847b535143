/* The one error convention of Nube (STYLE.md "Errors"): fallible functions
 * return 0 / -1 (or a pointer / NULL) and fill a caller-supplied struct err. */
#ifndef NUBE_COMMON_ERROR_H
#define NUBE_COMMON_ERROR_H

#include <stdarg.h>

enum err_code {
    ERR_OK = 0,
    ERR_INTERNAL,          /* a bug or an unexpected condition: HTTP 500 */
    ERR_INVALID,           /* bad input: 400 */
    ERR_UNAUTHORIZED,      /* no or bad credentials: 401 */
    ERR_FORBIDDEN,         /* authenticated but not allowed: 403 */
    ERR_NOT_FOUND,         /* 404 */
    ERR_NOT_ALLOWED,       /* method not allowed: 405 */
    ERR_NOT_ACCEPTABLE,    /* e.g. unsupported microversion: 406 */
    ERR_CONFLICT,          /* duplicate, or state does not allow it: 409 */
    ERR_TOO_LARGE,         /* 413 */
    ERR_UNSUPPORTED_MEDIA, /* 415 */
    ERR_OVER_LIMIT,        /* quota: 403 in nova terms, 413 for some */
    ERR_UNAVAILABLE,       /* a dependency is down: 503 */
    ERR_TIMEOUT,           /* a call did not answer in time: 504 */
    ERR_IO,                /* an operating-system call failed */
    ERR_UNSUPPORTED,       /* not implemented: 501 */
    ERR__LAST
};

#define ERR_MSG_MAX 512

struct err {
    enum err_code code;
    int errnum; /* errno where there is one, else 0 */
    char msg[ERR_MSG_MAX];
};

#define ERR_INIT                                                                                   \
    {                                                                                              \
        ERR_OK, 0,                                                                                 \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* Fill @e (which may be NULL) and return -1, so `return err_set(...)` reads well. */
int err_set(struct err *e, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like err_set, and appends ": strerror(errnum)". */
int err_set_errno(struct err *e, enum err_code code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prepend context on the way up: "attaching volume x: <old message>". Returns -1. */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);
const char *err_code_name(enum err_code code);
/* The HTTP status an error code maps to. */
int err_http_status(enum err_code code);

#endif
