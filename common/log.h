/* One logging module for every daemon: printf-checked, four levels, one line
 * per message, carrying the current request id (thread-local) when set. */
#ifndef NUBE_COMMON_LOG_H
#define NUBE_COMMON_LOG_H

enum log_level {
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
    LOG_LEVEL__LAST
};

/* @ident names the daemon ("cloud-api"); messages go to stderr, or to @path
 * (appended) when it is not NULL. Returns -1 if @path cannot be opened. */
int log_init(const char *ident, enum log_level level, const char *path);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "debug", "info", "warn", "error"; returns -1 when unknown. */
int log_level_parse(const char *s, enum log_level *out);

/* The request id for this thread's messages ("req-<uuid>"), or NULL to clear. */
void log_set_request_id(const char *req_id);
const char *log_get_request_id(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
