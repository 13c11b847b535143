/* What goes on the wire besides routing: times as OpenStack writes them,
 * UTF-8 checks, and the error bodies of each family (OPENSTACK_API.md 1.8). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "json.h"
#include "log.h"
#include "mem.h"
#include "server.h"

/* ---- time ---- */

int64_t
api_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
api_time_iso(int64_t us, char out[32])
{
    time_t s = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[80];
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % 1000000));
    strlcpy_n(out, buf, 32);
}

/* ---- UTF-8 ---- */

bool
api_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* ---- error bodies ---- */

static const char *
http_title(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 413:
        return "Request Entity Too Large";
    case 415:
        return "Unsupported Media Type";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Internal Server Error";
    }
}

static const char *
nova_key(int status)
{
    switch (status) {
    case 400:
        return "badRequest";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "itemNotFound";
    case 405:
        return "badMethod";
    case 406:
        return "notAcceptable";
    case 409:
        return "conflictingRequest";
    case 413:
        return "overLimit";
    case 415:
        return "mediaTypeNotSupported";
    case 501:
        return "notImplemented";
    case 503:
        return "serviceUnavailable";
    default:
        return "computeFault";
    }
}

json_t *
api_error_body(enum api_error_style style, int status, const char *message)
{
    switch (style) {
    case API_ERRORS_NOVA:
        return json_pack("{s:{s:i,s:s}}", nova_key(status), "code", status, "message", message);
    case API_ERRORS_NEUTRON: {
        char type[64];
        snprintf(type, sizeof(type), "HTTP%s", http_title(status));
        /* "HTTPNot Found" -> "HTTPNotFound" */
        char *w = type;
        for (char *r = type; *r; r++)
            if (*r != ' ')
                *w++ = *r;
        *w = '\0';
        return json_pack("{s:{s:s,s:s,s:s}}", "NeutronError", "type", type, "message", message,
                         "detail", "");
    }
    case API_ERRORS_KEYSTONE:
    case API_ERRORS_GLANCE:
    case API_ERRORS__LAST:
        break;
    }
    return json_pack("{s:{s:i,s:s,s:s}}", "error", "code", status, "title", http_title(status),
                     "message", message);
}

void
api_reply_error(struct api_req *req, const struct err *err)
{
    int status = err_http_status(err->code);
    const char *msg = err->msg[0] ? err->msg : http_title(status);
    /* internal detail is logged, never sent */
    if (status >= 500) {
        log_error("%s %s: %s", req->method, req->path, msg);
        msg = status == 503   ? "The service is temporarily unavailable; try again later."
              : status == 501 ? "This operation is not implemented."
                              : "An unexpected error prevented the server from fulfilling "
                                "your request.";
    } else if (strncmp(msg, "database:", 9) == 0) {
        log_info("%s %s: %s", req->method, req->path, msg);
        msg = status == 409 ? "Conflict occurred attempting to store the resource."
                            : "The request could not be processed: a value is invalid.";
    }
    enum api_error_style style = req->match.table ? req->match.table->errors : API_ERRORS_KEYSTONE;
    api_reply_json(req, status, api_error_body(style, status, msg));
    if (status == 401) {
        char *uri = xasprintf("Keystone uri=\"%s/v3\"", req->srv->cfg.public_url);
        api_reply_header(req, "WWW-Authenticate", uri);
        free(uri);
    }
}
