/* Monitor processes: see monitor.h. */
#include "monitor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "mem.h"

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Runs in the waiter: never returns. */
static void __attribute__((noreturn))
waiter_main(const struct hvd_vm *vm, char *const *argv, int report_fd)
{
    setsid();
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    int logfd = open(vm->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    /* Lay out what the monitor inherits, then drop everything else (the
     * daemon's sockets above all: the waiter outlives the daemon). Slots:
     * 3.. the tap descriptors (the monitor's fd=3, fd=4, ...), then the log,
     * then the report pipe. Everything moves above the slots first. */
    size_t ntaps = vm->ntap_fds;
    int moved[DOMAIN_MAX_IFACES + 3];
    for (size_t i = 0; i < ntaps; i++)
        moved[i] = fcntl(vm->tap_fds[i], F_DUPFD_CLOEXEC, 64);
    moved[ntaps] = logfd >= 0 ? fcntl(logfd, F_DUPFD_CLOEXEC, 64) : -1;
    moved[ntaps + 1] = fcntl(report_fd, F_DUPFD_CLOEXEC, 64);
    for (size_t i = 0; i < ntaps + 2; i++) {
        if (moved[i] >= 0 && dup2(moved[i], 3 + (int)i) < 0)
            _exit(1);
    }
    int first_free = 3 + (int)ntaps + 2;
    syscall(SYS_close_range, first_free, ~0u, 0);
    logfd = moved[ntaps] >= 0 ? 3 + (int)ntaps : -1;
    report_fd = 3 + (int)ntaps + 1;
    fcntl(logfd, F_SETFD, FD_CLOEXEC);
    fcntl(report_fd, F_SETFD, FD_CLOEXEC);
    /* Nor the daemon's stdin/stdout/stderr (a terminal, a pipe): the waiter
     * has nothing to say there, and must not keep them open. */
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (devnull > 2)
            close(devnull);
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* The monitor: stdin from /dev/null, output to its log, its taps, nothing else. */
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        int nullfd = open("/dev/null", O_RDONLY);
        if (nullfd < 0 || logfd < 0 || dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 ||
            dup2(logfd, 2) < 0)
            _exit(126);
        syscall(SYS_close_range, 3 + (unsigned)ntaps, ~0u, 0);
        umask(0077);
        const struct hvd_config *cfg = vm->cfg;
        if (cfg->monitor_user &&
            (setgroups((size_t)cfg->monitor_ngroups, cfg->monitor_groups) < 0 ||
             setgid(cfg->monitor_gid) < 0 || setuid(cfg->monitor_uid) < 0)) {
            dprintf(2, "cloud-hvd: cannot become user %s: %s\n", cfg->monitor_user,
                    strerror(errno));
            _exit(126);
        }
        /* The monitor never gains privileges through exec (setuid files, file caps). */
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        execv(argv[0], argv);
        dprintf(2, "cloud-hvd: cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int32_t v = pid;
    if (write(report_fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
        _exit(1);
    close(report_fd);
    if (pid < 0)
        _exit(1);
    for (size_t i = 0; i < ntaps; i++)
        close(3 + (int)i);
    /* Keep only what the status file needs. */
    char *status_path = xasprintf("%s/exit-status", vm->run_dir);
    char *tmp_path = xasprintf("%s/exit-status.tmp", vm->run_dir);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    FILE *f = fopen(tmp_path, "we");
    if (f) {
        fprintf(f, "%d\n", st);
        if (fclose(f) == 0)
            rename(tmp_path, status_path);
    }
    _exit(0);
}

int
monitor_spawn(struct hvd_vm *vm, char *const *argv, struct rpc_error *e)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE, "pipe: %s", strerror(errno));
    char status_path[4096];
    snprintf(status_path, sizeof(status_path), "%s/exit-status", vm->run_dir);
    unlink(status_path);
    pid_t w = fork();
    if (w < 0) {
        close(p[0]);
        close(p[1]);
        return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE, "fork: %s", strerror(errno));
    }
    if (w == 0) {
        close(p[0]);
        waiter_main(vm, argv, p[1]);
    }
    close(p[1]);
    int32_t v = -1;
    ssize_t n;
    do {
        n = read(p[0], &v, sizeof(v));
    } while (n < 0 && errno == EINTR);
    close(p[0]);
    if (n != (ssize_t)sizeof(v) || v <= 0) {
        waitpid(w, NULL, 0);
        return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_NONE,
                             "cannot start the monitor for domain '%s'", vm->def->name);
    }
    vm->pid = v;
    vm->waiter = w;
    return 0;
}

int
monitor_exit_status(const struct hvd_vm *vm, int *wstatus)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/exit-status", vm->run_dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    int rc = fscanf(f, "%d", wstatus) == 1 ? 0 : -1;
    fclose(f);
    return rc;
}

bool
monitor_wait_exit(pid_t pid, unsigned timeout_ms)
{
    int fd = pidfd_open_(pid);
    if (fd < 0)
        return errno == ESRCH;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int rc;
    do {
        rc = poll(&pfd, 1, (int)timeout_ms);
    } while (rc < 0 && errno == EINTR);
    close(fd);
    return rc > 0;
}

int
monitor_kill(struct hvd_vm *vm, unsigned grace_ms)
{
    if (vm->pid > 0) {
        kill(vm->pid, SIGTERM);
        if (!monitor_wait_exit(vm->pid, grace_ms)) {
            log_warn("domain %s: monitor %d ignored SIGTERM, sending SIGKILL", vm->def->name,
                     (int)vm->pid);
            kill(vm->pid, SIGKILL);
            monitor_wait_exit(vm->pid, 5000);
        }
    }
    /* The waiter writes the exit status and leaves right after. */
    if (vm->waiter > 0 && !monitor_wait_exit(vm->waiter, 2000))
        log_warn("domain %s: waiter %d did not exit", vm->def->name, (int)vm->waiter);
    if (vm->waiter > 0)
        waitpid(vm->waiter, NULL, WNOHANG); /* reap it if it is our child */
    return 0;
}

/* /proc/<pid>/stat: fields after the ")" that ends the command name. */
static int
proc_stat_fields(pid_t pid, unsigned long long out[], const int idx[], int n)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (len <= 0)
        return -1;
    buf[len] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p += 2; /* field 3 (state) starts here */
    int field = 3;
    for (int k = 0; k < n; k++)
        out[k] = 0;
    while (*p) {
        for (int k = 0; k < n; k++) {
            if (field == idx[k])
                out[k] = strtoull(p, NULL, 10);
        }
        p = strchr(p, ' ');
        if (!p)
            break;
        p++;
        field++;
    }
    return 0;
}

uint64_t
monitor_starttime(pid_t pid)
{
    unsigned long long v[1];
    const int idx[1] = {22};
    if (pid <= 0 || proc_stat_fields(pid, v, idx, 1) < 0)
        return 0;
    return v[0];
}

uint64_t
monitor_cpu_time_ns(pid_t pid)
{
    unsigned long long v[2];
    const int idx[2] = {14, 15};
    if (pid <= 0 || proc_stat_fields(pid, v, idx, 2) < 0)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    return (uint64_t)(v[0] + v[1]) * (1000000000ull / (uint64_t)hz);
}

size_t
monitor_vcpus(pid_t pid, struct monitor_vcpu *out, size_t n)
{
    memset(out, 0, n * sizeof(*out));
    char path[320];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *dh = opendir(path);
    if (!dh)
        return 0;
    size_t found = 0;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    struct dirent *ent;
    while ((ent = readdir(dh))) {
        if (ent->d_name[0] == '.')
            continue;
        char comm[64] = "";
        snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, ent->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        if (!fgets(comm, sizeof(comm), f))
            comm[0] = '\0';
        fclose(f);
        unsigned idx;
        char kind[16];
        if (sscanf(comm, "CPU %u/%15s", &idx, kind) != 2 && sscanf(comm, "vcpu%u", &idx) != 1)
            continue;
        if (idx >= n || out[idx].found)
            continue;
        /* /proc/<pid>/task/<tid>/stat: utime 14, stime 15, processor 39 */
        snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, ent->d_name);
        char buf[2048];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = '\0';
        char *p = strrchr(buf, ')');
        if (!p)
            continue;
        unsigned long long utime = 0, stime = 0, cpu = 0;
        int field = 3;
        for (p += 2; *p; field++) {
            if (field == 14)
                utime = strtoull(p, NULL, 10);
            else if (field == 15)
                stime = strtoull(p, NULL, 10);
            else if (field == 39)
                cpu = strtoull(p, NULL, 10);
            p = strchr(p, ' ');
            if (!p)
                break;
            p++;
        }
        out[idx].found = true;
        out[idx].cpu_time_ns = (uint64_t)(utime + stime) * (1000000000ull / (uint64_t)hz);
        out[idx].cpu = (int)cpu;
        found++;
    }
    closedir(dh);
    return found;
}

uint64_t
monitor_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = pid > 0 ? fopen(path, "re") : NULL;
    uint64_t kib = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "VmRSS:", 6)) {
            kib = strtoull(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

char *
monitor_log_tail(const char *path, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xstrdup("");
    struct stat st;
    off_t from = 0;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size > max)
        from = st.st_size - (off_t)max;
    char *buf = xzalloc(max + 1);
    ssize_t n = pread(fd, buf, max, from);
    close(fd);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    /* One line for an error message: strip trailing blanks, join lines. */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n')
            buf[i] = ' ';
        else if ((unsigned char)buf[i] < 0x20)
            buf[i] = '?';
    }
    return buf;
}

void
monitor_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

int
monitor_connect(struct monitor_conn *c, const char *path, unsigned timeout_ms, struct rpc_error *e)
{
    c->fd = -1;
    c->len = 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return rpc_error_set(e, VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE,
                             "control socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    uint64_t deadline = now_ms() + timeout_ms;
    int last = 0;
    for (;;) {
        /* Non-blocking connect: a monitor whose listen queue is full (it is
         * busy with another client) gives EAGAIN instead of blocking us. */
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE, "socket: %s",
                                 strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            c->fd = fd;
            return 0;
        }
        last = errno;
        close(fd);
        if (now_ms() >= deadline)
            break;
        usleep(2000);
    }
    return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_NONE,
                         "cannot connect to monitor socket %s: %s", path, strerror(last));
}

int
monitor_send(struct monitor_conn *c, json_t *msg, struct rpc_error *e)
{
    char *s = json_dump_compact(msg);
    char *line = xasprintf("%s\n", s);
    free(s);
    size_t len = strlen(line), off = 0;
    while (off < len) {
        ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(line);
            return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_NONE,
                                 "cannot write to monitor: %s", strerror(errno));
        }
        off += (size_t)n;
    }
    free(line);
    return 0;
}

int
monitor_send_fd(struct monitor_conn *c, json_t *msg, int fd, struct rpc_error *e)
{
    char *s = json_dump_compact(msg);
    char *line = xasprintf("%s\n", s);
    free(s);
    struct iovec iov = {.iov_base = line, .iov_len = strlen(line)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    ssize_t n;
    do {
        n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    size_t len = iov.iov_len;
    free(line);
    if (n != (ssize_t)len)
        return rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_NONE,
                             "cannot pass a descriptor to the monitor: %s",
                             n < 0 ? strerror(errno) : "short write");
    return 0;
}

json_t *
monitor_recv(struct monitor_conn *c, unsigned timeout_ms, struct rpc_error *e)
{
    uint64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t line_len = (size_t)(nl - c->buf);
            struct err perr = ERR_INIT;
            json_t *v = json_parse_buf(c->buf, line_len, &perr);
            memmove(c->buf, nl + 1, c->len - line_len - 1);
            c->len -= line_len + 1;
            if (!v) {
                rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_NONE,
                              "malformed reply from monitor: %s", perr.msg);
                return NULL;
            }
            return v;
        }
        if (c->len == sizeof(c->buf)) {
            rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_NONE,
                          "monitor reply line too long");
            return NULL;
        }
        uint64_t now = now_ms();
        if (now >= deadline) {
            rpc_error_set(e, VIR_ERR_OPERATION_TIMEOUT, VIR_FROM_NONE,
                          "monitor did not answer within %u ms", timeout_ms);
            return NULL;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int rc = poll(&pfd, 1, (int)(deadline - now));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            continue;
        ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rpc_error_set(e, VIR_ERR_OPERATION_FAILED, VIR_FROM_NONE,
                          "monitor closed its control socket");
            return NULL;
        }
        c->len += (size_t)n;
    }
}

void
monitor_close(struct monitor_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}
