#include "daemon.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

struct config *
daemon_config_load(const char *ident, const char *path)
{
    if (!path)
        return config_new();
    struct err err = ERR_INIT;
    struct config *cfg = config_load(path, &err);
    if (!cfg)
        fprintf(stderr, "%s: %s\n", ident, err.msg);
    return cfg;
}

int
daemon_log_init(const char *ident, const struct config *cfg, const char *level, bool use_file)
{
    const char *name = level ? level : config_get(cfg, "log", "level", "info");
    enum log_level lvl;
    if (log_level_parse(name, &lvl) < 0) {
        fprintf(stderr, "%s: %s: unknown level '%s' (debug, info, warn or error)\n", ident,
                level ? "--log-level" : "[log] level", name);
        return -1;
    }
    const char *file = use_file ? config_get(cfg, "log", "file", NULL) : NULL;
    if (log_init(ident, lvl, file) < 0) {
        fprintf(stderr, "%s: [log] file: cannot open %s: %s\n", ident, file, strerror(errno));
        return -1;
    }
    return 0;
}

static volatile sig_atomic_t *stop_flag;

static void
on_stop_signal(int sig)
{
    *stop_flag = sig;
}

void
daemon_signals_catch(volatile sig_atomic_t *stop)
{
    stop_flag = stop;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void
stop_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

void
daemon_signals_block(void)
{
    sigset_t set;
    stop_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int
daemon_signals_wait(void)
{
    sigset_t set;
    stop_set(&set);
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
}
