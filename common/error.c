#include "error.h"

#include <stdio.h>
#include <string.h>

#include "mem.h"

static const struct {
    const char *name;
    int http;
} codes[ERR__LAST] = {
    [ERR_OK] = {"ok", 200},
    [ERR_INTERNAL] = {"internal", 500},
    [ERR_INVALID] = {"invalid", 400},
    [ERR_UNAUTHORIZED] = {"unauthorized", 401},
    [ERR_FORBIDDEN] = {"forbidden", 403},
    [ERR_NOT_FOUND] = {"not found", 404},
    [ERR_NOT_ALLOWED] = {"method not allowed", 405},
    [ERR_NOT_ACCEPTABLE] = {"not acceptable", 406},
    [ERR_CONFLICT] = {"conflict", 409},
    [ERR_TOO_LARGE] = {"too large", 413},
    [ERR_UNSUPPORTED_MEDIA] = {"unsupported media type", 415},
    [ERR_OVER_LIMIT] = {"over limit", 403},
    [ERR_UNAVAILABLE] = {"unavailable", 503},
    [ERR_TIMEOUT] = {"timeout", 504},
    [ERR_IO] = {"i/o error", 500},
    [ERR_UNSUPPORTED] = {"not implemented", 501},
};

static int __attribute__((format(printf, 4, 0)))
err_vset(struct err *e, enum err_code code, int errnum, const char *fmt, va_list ap)
{
    if (!e)
        return -1;
    e->code = code;
    e->errnum = errnum;
    int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    if (errnum && n >= 0 && (size_t)n < sizeof(e->msg))
        snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", strerror(errnum));
    return -1;
}

int
err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, code, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int
err_set_errno(struct err *e, enum err_code code, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, code, errnum, fmt, ap);
    va_end(ap);
    return -1;
}

int
err_prefix(struct err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char prefix[ERR_MSG_MAX], old[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof(old));
    /* truncation of an over-long chain of context is acceptable */
    size_t n = strlcpy_n(e->msg, prefix, sizeof(e->msg));
    if (n + 2 < sizeof(e->msg)) {
        memcpy(e->msg + n, ": ", 3);
        strlcpy_n(e->msg + n + 2, old, sizeof(e->msg) - n - 2);
    }
    if (e->code == ERR_OK)
        e->code = ERR_INTERNAL;
    return -1;
}

void
err_clear(struct err *e)
{
    if (!e)
        return;
    e->code = ERR_OK;
    e->errnum = 0;
    e->msg[0] = '\0';
}

const char *
err_code_name(enum err_code code)
{
    if ((int)code < 0 || code >= ERR__LAST)
        return "unknown";
    return codes[code].name;
}

int
err_http_status(enum err_code code)
{
    if ((int)code < 0 || code >= ERR__LAST)
        return 500;
    return codes[code].http;
}
