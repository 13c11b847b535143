/* vmm_boot: boot the Nube guest with a monitor many times and print the
 * median time from process start to the guest's milestones, and the monitor's
 * own memory.
 *
 *   vmm_boot [--runs N] [--memory MIB] [--timeout S] [--name NAME] -- MONITOR ARGS...
 *
 * MONITOR must put the guest's serial console on its stdout. Milestones:
 *   init   the console line "nube-guest: init" (first thing /init prints)
 *   ready  the console line "nube-guest ready"
 *   port   the guest's debug-port write 0x10 (/init started), if the monitor
 *          reports it: bytes on fd 3 (QEMU: -chardev file,path=/dev/fd/3 with
 *          -device isa-debugcon,iobase=0xe9) or cloud-vmm's --debug-port-log
 *          lines on stderr
 * At the ready line the monitor's memory is read from /proc/PID/smaps: its own
 * memory is the RSS minus the Rss of the guest RAM mapping(s) (mappings at
 * least 90% of --memory in size); then the monitor is killed.
 *
 * Output: one line per run, then a summary line in key=value form that
 * vmm_boot.sh compares across monitors. Exit 1 if any run failed to reach
 * the ready line. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 1000

struct run {
    double init_ms, ready_ms, port_ms; /* < 0: not seen */
    double rss_kib, guest_kib;
};

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* RSS and the guest RAM mappings' Rss of @pid, in KiB. */
static int
smaps_read(pid_t pid, double guest_mib, double *rss, double *guest)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    double size = 0;
    *rss = *guest = 0;
    while (fgets(line, sizeof line, f)) {
        double v;
        if (sscanf(line, "Size: %lf kB", &v) == 1) {
            size = v;
        } else if (sscanf(line, "Rss: %lf kB", &v) == 1) {
            *rss += v;
            if (size >= guest_mib * 1024 * 0.9)
                *guest += v;
        }
    }
    fclose(f);
    return 0;
}

static char last_err[512];

/* Scan complete lines in @buf (length *@len) for milestones; keep the tail. */
static void
lines_scan(char *buf, size_t *len, struct run *r, double t, int is_stderr)
{
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', *len - (size_t)(start - buf)))) {
        *nl = 0;
        if (!is_stderr) {
            if (r->init_ms < 0 && strstr(start, "nube-guest: init"))
                r->init_ms = t;
            if (r->ready_ms < 0 && strstr(start, "nube-guest ready"))
                r->ready_ms = t;
        } else if (is_stderr) {
            /* keep the last stderr line for the failure report */
            snprintf(last_err, sizeof last_err, "%.500s", start);
        }
        if (is_stderr && r->port_ms < 0 && strstr(start, "debug port 0x10")) {
            /* cloud-vmm stamps the write itself: "... at X ms since start" */
            const char *at = strstr(start, " at ");
            double v;
            r->port_ms = at && sscanf(at, " at %lf ms", &v) == 1 ? v : t;
        }
        start = nl + 1;
    }
    size_t rest = *len - (size_t)(start - buf);
    if (rest == *len && rest > 2048)
        rest = 0; /* an endless line: drop it */
    memmove(buf, start, rest);
    *len = rest;
}

static int
run_once(char **argv, double memory_mib, double timeout_s, struct run *r)
{
    /* stdin is a pipe nobody writes to (a monitor may poll its console
     * input, and /dev/null cannot be polled with epoll). */
    int in[2], out[2], err[2], dbg[2];
    if (pipe(in) || pipe(out) || pipe(err) || pipe(dbg)) {
        perror("vmm_boot: pipe");
        return -1;
    }
    *r = (struct run){.init_ms = -1, .ready_ms = -1, .port_ms = -1};
    last_err[0] = 0;
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        perror("vmm_boot: fork");
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        dup2(in[0], 0); /* first: in[0] may be fd 3 */
        dup2(out[1], 1);
        dup2(err[1], 2);
        dup2(dbg[1], 3);
        for (int fd = 4; fd < 64; fd++)
            close(fd);
        execvp(argv[0], argv);
        fprintf(stderr, "vmm_boot: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    close(dbg[1]);
    char obuf[4096], ebuf[4096];
    size_t olen = 0, elen = 0;
    struct pollfd p[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {dbg[0], POLLIN, 0}};
    int open_fds = 3, rc = 0;
    while (r->ready_ms < 0 && open_fds > 0) {
        double left = timeout_s * 1e3 - (now_ms() - t0);
        if (left <= 0) {
            fprintf(stderr, "vmm_boot: timed out\n");
            rc = -1;
            break;
        }
        if (poll(p, 3, (int)left + 1) < 0 && errno != EINTR)
            break;
        double t = now_ms() - t0;
        for (int i = 0; i < 3; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char tmp[4096];
            ssize_t n = read(p[i].fd, tmp, sizeof tmp);
            if (n <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 2) {
                if (r->port_ms < 0 && memchr(tmp, 0x10, (size_t)n))
                    r->port_ms = t;
                continue;
            }
            char *buf = i == 0 ? obuf : ebuf;
            size_t *len = i == 0 ? &olen : &elen;
            size_t take = (size_t)n < sizeof obuf - *len ? (size_t)n : sizeof obuf - *len;
            memcpy(buf + *len, tmp, take);
            *len += take;
            lines_scan(buf, len, r, t, i == 1);
        }
    }
    if (r->ready_ms >= 0 && smaps_read(pid, memory_mib, &r->rss_kib, &r->guest_kib) < 0)
        rc = -1;
    if (r->ready_ms < 0) {
        rc = -1;
        fprintf(stderr, "vmm_boot: no ready line; last console bytes: %.*s\n", (int)olen, obuf);
        if (last_err[0] || elen)
            fprintf(stderr, "vmm_boot: monitor stderr: %s%.*s\n", last_err, (int)elen, ebuf);
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    for (int i = 0; i < 3; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
    close(in[1]);
    return rc;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the non-negative values in @v (n of them); -1 if none. */
static double
median(double *v, int n)
{
    double s[MAX_RUNS];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (v[i] >= 0)
            s[k++] = v[i];
    if (k == 0)
        return -1;
    qsort(s, (size_t)k, sizeof s[0], cmp_double);
    return k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
}

int
main(int argc, char **argv)
{
    int runs = 10;
    double memory = 256, timeout = 120;
    const char *name = "monitor";
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--") && i + 1 < argc) {
            i++;
            break;
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--memory") && i + 1 < argc) {
            memory = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            timeout = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
            name = argv[++i];
        } else {
            fprintf(stderr, "usage: vmm_boot [--runs N] [--memory MIB] [--timeout S] "
                            "[--name NAME] -- MONITOR ARGS...\n");
            return 2;
        }
    }
    if (i >= argc || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "vmm_boot: need a monitor command and 1..%d runs\n", MAX_RUNS);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    static double init[MAX_RUNS], ready[MAX_RUNS], port[MAX_RUNS], own[MAX_RUNS], rss[MAX_RUNS];
    int failed = 0;
    for (int k = 0; k < runs; k++) {
        struct run r;
        if (run_once(argv + i, memory, timeout, &r) < 0) {
            failed++;
            init[k] = ready[k] = port[k] = own[k] = rss[k] = -1;
            printf("%s run %d: failed\n", name, k + 1);
            continue;
        }
        init[k] = r.init_ms;
        ready[k] = r.ready_ms;
        port[k] = r.port_ms;
        rss[k] = r.rss_kib / 1024;
        own[k] = (r.rss_kib - r.guest_kib) / 1024;
        printf("%s run %d: init %.1f ms, ready %.1f ms, debug port %.1f ms, rss %.1f MiB, "
               "guest RAM %.1f MiB, own %.1f MiB\n",
               name, k + 1, r.init_ms, r.ready_ms, r.port_ms, r.rss_kib / 1024, r.guest_kib / 1024,
               own[k]);
        fflush(stdout);
    }
    printf("summary name=%s runs=%d failed=%d init_ms=%.1f ready_ms=%.1f port_ms=%.1f "
           "rss_mib=%.1f own_mib=%.1f\n",
           name, runs, failed, median(init, runs), median(ready, runs), median(port, runs),
           median(rss, runs), median(own, runs));
    return failed ? 1 : 0;
}
