/* Start-up that every daemon shares: the config file, logging from its [log]
 * section, and the stop signals. Each daemon keeps its own options and its
 * own sections; only what is the same everywhere lives here. */
#ifndef NUBE_COMMON_DAEMON_H
#define NUBE_COMMON_DAEMON_H

#include <signal.h>
#include <stdbool.h>

#include "config.h"

/* Load the config file @path, or an empty config when @path is NULL. On
 * failure prints "@ident: <why>" on stderr and returns NULL. */
struct config *daemon_config_load(const char *ident, const char *path);

/* Start logging as @ident from [log] level (debug, info, warn, error;
 * default info) and [log] file (appended; default stderr). @level, when not
 * NULL, wins over [log] level (a --log-level option); @use_file false keeps
 * messages on stderr whatever [log] file says (one-shot commands). On failure
 * prints why on stderr and returns -1. */
int daemon_log_init(const char *ident, const struct config *cfg, const char *level, bool use_file);

/* For daemons with a main loop: SIGTERM and SIGINT store their number in
 * *@stop (interrupting blocking calls: no SA_RESTART), SIGPIPE is ignored. */
void daemon_signals_catch(volatile sig_atomic_t *stop);

/* For threaded daemons: SIGTERM and SIGINT are blocked in the calling thread,
 * and so in every thread it starts afterwards, until daemon_signals_wait()
 * takes one; SIGPIPE is ignored. */
void daemon_signals_block(void);
/* Wait for SIGTERM or SIGINT (after daemon_signals_block()); returns it. */
int daemon_signals_wait(void);

#endif
