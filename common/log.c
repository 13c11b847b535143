#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char log_ident[64] = "nube";
static enum log_level log_level = LOG_LEVEL_INFO;
static FILE *log_file;
static _Thread_local char log_req_id[64];

static const char *const level_names[LOG_LEVEL__LAST] = {"DEBUG", "INFO", "WARN", "ERROR"};

int
log_init(const char *ident, enum log_level level, const char *path)
{
    snprintf(log_ident, sizeof(log_ident), "%s", ident);
    log_level = level;
    if (path && *path) {
        FILE *f = fopen(path, "ae");
        if (!f)
            return -1;
        setvbuf(f, NULL, _IOLBF, 0);
        log_file = f;
    }
    return 0;
}

void
log_set_level(enum log_level level)
{
    log_level = level;
}

enum log_level
log_get_level(void)
{
    return log_level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < LOG_LEVEL__LAST; i++) {
        if (strcasecmp(s, level_names[i]) == 0 ||
            (i == LOG_LEVEL_WARN && strcasecmp(s, "warning") == 0)) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void
log_set_request_id(const char *req_id)
{
    snprintf(log_req_id, sizeof(log_req_id), "%s", req_id ? req_id : "");
}

const char *
log_get_request_id(void)
{
    return log_req_id[0] ? log_req_id : NULL;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < log_level || level >= LOG_LEVEL__LAST)
        return;
    char line[4096];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s[%d]: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)(tv.tv_usec / 1000), level_names[level], log_ident, (int)getpid());
    if (log_req_id[0] && n < (int)sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, "[%s] ", log_req_id);
    if (n < (int)sizeof(line)) {
        va_list ap;
        va_start(ap, fmt);
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    if (n >= (int)sizeof(line))
        n = (int)sizeof(line) - 1;
    /* one message, one line: fold embedded newlines */
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n] = '\n';
    /* a single write keeps lines from concurrent threads whole */
    FILE *f = log_file ? log_file : stderr;
    fwrite(line, 1, (size_t)n + 1, f);
    fflush(f);
}
