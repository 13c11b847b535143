/* cloud-hvd: Nube's hypervisor daemon. Speaks libvirt's remote protocol on a
 * unix socket so libvirt's own client library and virsh drive Nube's
 * monitors: cloud-vmm for type='kvm', QEMU/TCG for type='qemu'.
 *
 *   cloud-hvd [--config FILE] [--socket PATH] [--state-dir DIR]
 *             [--log-level LEVEL] [--vmm PATH] [--qemu PATH] */
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "hvd.h"
#include "log.h"
#include "mem.h"
#include "server.h"

static struct hvd_server server;

static void
usage(FILE *f)
{
    fprintf(f, "usage: cloud-hvd [--config FILE] [--socket PATH] [--state-dir DIR]\n"
               "                 [--log-level debug|info|warn|error] [--vmm PATH] [--qemu PATH]\n"
               "Config file section [hvd]: socket, state_dir, vmm, qemu, socket_mode,\n"
               "qemu_sandbox, start_timeout_ms, monitor_user; section [log]: level, file.\n");
}

/* cloud-vmm next to this binary's build tree (../vmm/cloud-vmm), else on PATH. */
static char *
default_vmm_path(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            char *p = xasprintf("%s/../vmm/cloud-vmm", self);
            if (access(p, X_OK) == 0)
                return p;
            free(p);
            p = xasprintf("%s/cloud-vmm", self);
            if (access(p, X_OK) == 0)
                return p;
            free(p);
        }
    }
    return xstrdup("/usr/libexec/nube/cloud-vmm");
}

/* The monitor user's uid, primary group and supplementary groups. */
static int
monitor_user_resolve(struct hvd_config *cfg, const char *name)
{
    struct passwd *pw = getpwnam(name);
    if (!pw) {
        fprintf(stderr, "cloud-hvd: monitor_user '%s' does not exist\n", name);
        return -1;
    }
    int n = 64;
    gid_t *groups = xcalloc((size_t)n, sizeof(gid_t));
    if (getgrouplist(name, pw->pw_gid, groups, &n) < 0) {
        groups = xrealloc(groups, (size_t)n * sizeof(gid_t));
        if (getgrouplist(name, pw->pw_gid, groups, &n) < 0)
            n = 0;
    }
    cfg->monitor_user = xstrdup(name);
    cfg->monitor_uid = pw->pw_uid;
    cfg->monitor_gid = pw->pw_gid;
    cfg->monitor_groups = groups;
    cfg->monitor_ngroups = n;
    return 0;
}

/* [hvd] log_level and log_file were cloud-hvd's own before every daemon read
 * [log] level and file; configs that still say them keep working. Copies
 * [hvd] @old to [log] @key unless that is set; true when @old is there. */
static bool
log_alias(struct config *cfg, const char *old, const char *key)
{
    const char *v = config_get(cfg, "hvd", old, NULL);
    if (!v)
        return false;
    if (!config_get(cfg, "log", key, NULL))
        config_set(cfg, "log", key, v);
    return true;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"socket", required_argument, NULL, 's'},
        {"state-dir", required_argument, NULL, 'd'},
        {"log-level", required_argument, NULL, 'l'},
        {"vmm", required_argument, NULL, 'v'},
        {"qemu", required_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *level_arg = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:s:d:l:v:q:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'l':
            level_arg = optarg;
            break;
        case 's':
        case 'd':
        case 'v':
        case 'q':
            break; /* applied after the file, so the command line wins */
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    struct config *cfgfile = daemon_config_load("cloud-hvd", config_path);
    if (!cfgfile)
        return 1;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:s:d:l:v:q:h", opts, NULL)) != -1) {
        const char *key = opt == 's'   ? "socket"
                          : opt == 'd' ? "state_dir"
                          : opt == 'v' ? "vmm"
                          : opt == 'q' ? "qemu"
                                       : NULL;
        if (key)
            config_set(cfgfile, "hvd", key, optarg);
    }
    bool deprecated_level = log_alias(cfgfile, "log_level", "level");
    bool deprecated_file = log_alias(cfgfile, "log_file", "file");
    if (daemon_log_init("cloud-hvd", cfgfile, level_arg, true) < 0)
        return 1;
    if (deprecated_level)
        log_warn("[hvd] log_level is deprecated: use [log] level (which wins when both are set)");
    if (deprecated_file)
        log_warn("[hvd] log_file is deprecated: use [log] file (which wins when both are set)");

    struct err err = ERR_INIT;
    struct hvd_config cfg = {0};
    cfg.socket_path = xstrdup(config_get(cfgfile, "hvd", "socket", "/run/nube/hvd.sock"));
    cfg.state_dir = xstrdup(config_get(cfgfile, "hvd", "state_dir", "/var/lib/nube/hvd"));
    const char *vmm = config_get(cfgfile, "hvd", "vmm", NULL);
    cfg.vmm_path = vmm ? xstrdup(vmm) : default_vmm_path();
    cfg.qemu_path = xstrdup(config_get(cfgfile, "hvd", "qemu", "/usr/bin/qemu-system-x86_64"));
    const char *mode = config_get(cfgfile, "hvd", "socket_mode", "0660");
    char *end;
    unsigned long m = strtoul(mode, &end, 8);
    if (*end || m > 0777) {
        fprintf(stderr, "cloud-hvd: socket_mode '%s' is not an octal mode\n", mode);
        return 1;
    }
    cfg.socket_mode = (unsigned)m;
    long timeout;
    if (config_get_bool(cfgfile, "hvd", "qemu_sandbox", true, &cfg.qemu_sandbox, &err) < 0 ||
        config_get_long(cfgfile, "hvd", "start_timeout_ms", 15000, &timeout, &err) < 0) {
        fprintf(stderr, "cloud-hvd: %s\n", err.msg);
        return 1;
    }
    cfg.start_timeout_ms = timeout > 0 ? (unsigned)timeout : 15000;
    const char *muser = config_get(cfgfile, "hvd", "monitor_user", NULL);
    if (muser && *muser && monitor_user_resolve(&cfg, muser) < 0)
        return 1;
    if (cfg.state_dir[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd))) {
            char *abs = xasprintf("%s/%s", cwd, cfg.state_dir);
            free(cfg.state_dir);
            cfg.state_dir = abs;
        }
    }

    daemon_signals_catch(&server.stop);
    signal(SIGHUP, SIG_IGN);

    if (server_init(&server, &cfg, &err) < 0) {
        log_error("cannot start: %s", err.msg);
        return 1;
    }
    log_info("cloud-hvd ready: socket %s, state %s, qemu %s, vmm %s", cfg.socket_path,
             cfg.state_dir, cfg.qemu_path, cfg.vmm_path);
    server_run(&server);
    log_info("stopping; running guests keep running");
    server_fini(&server);
    config_free(cfgfile);
    free(cfg.socket_path);
    free(cfg.state_dir);
    free(cfg.vmm_path);
    free(cfg.qemu_path);
    free(cfg.monitor_user);
    free(cfg.monitor_groups);
    return 0;
}
