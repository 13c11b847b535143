/* Payload tests: cloud-vmm itself runs small guest programs (tests/vmm/payloads,
 * assembled by nasm at build time) on /dev/kvm and we check what the guest
 * could observe and what the monitor reports: console output, debug-port
 * milestones, exit status for power-off, reset and stop, interrupts, two
 * vCPUs, and the control socket.
 *
 * usage: test_payloads CLOUD_VMM PAYLOAD_DIR TEST */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static const char *vmm;
static const char *payloads;
static char dir[] = "/tmp/nube-test-payload-XXXXXX";
static char console[4200], errlog[4200], sock[4200];

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start cloud-vmm with a payload and extra arguments (NULL-terminated). */
static pid_t
start(const char *payload, const char *mode, ...)
{
    const char *argv[32];
    int n = 0;
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s.bin", payloads, payload);
    argv[n++] = vmm;
    argv[n++] = "--payload";
    argv[n++] = path;
    argv[n++] = "--payload-mode";
    argv[n++] = mode;
    argv[n++] = "--console";
    argv[n++] = console;
    argv[n++] = "--debug-port-log";
    va_list ap;
    va_start(ap, mode);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 31)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    unlink(console);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0)
            dup2(fd, STDERR_FILENO);
        execv(vmm, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* The exit status, or -1 after @timeout seconds (the process is killed). */
static int
wait_exit(pid_t pid, double timeout)
{
    double end = now_s() + timeout;
    int status;
    while (now_s() < end) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fprintf(stderr, "cloud-vmm did not exit within %.0f s\n", timeout);
    return -1;
}

static char *
slurp(const char *path)
{
    static char buf[65536];
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return buf;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static long
file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void
show_log_on_failure(int before)
{
    if (check_failures > before) {
        /* one at a time: slurp() returns the same buffer */
        fprintf(stderr, "--- console:\n%s", slurp(console));
        fprintf(stderr, "--- cloud-vmm stderr:\n%s", slurp(errlog));
    }
}

/* ---- control socket client ---- */

static int
ctl_connect(void)
{
    double end = now_s() + 5;
    while (now_s() < end) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (strlen(sock) >= sizeof(a.sun_path))
            return -1;
        memcpy(a.sun_path, sock, strlen(sock) + 1);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        close(fd);
        usleep(5000);
    }
    return -1;
}

/* Send one line, read one JSON line back. */
static json_t *
ctl_call_raw(int fd, const char *line)
{
    char buf[8192];
    size_t len = strlen(line);
    if (write(fd, line, len) != (ssize_t)len)
        return NULL;
    size_t got = 0;
    while (got < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + got, 1);
        if (n <= 0)
            return NULL;
        if (buf[got] == '\n')
            break;
        got++;
    }
    buf[got] = 0;
    return json_loads(buf, 0, NULL);
}

static json_t *
ctl_call(int fd, const char *cmd)
{
    char line[256];
    snprintf(line, sizeof(line), "{\"cmd\":\"%s\"}\n", cmd);
    return ctl_call_raw(fd, line);
}

static bool
is_ok(json_t *r)
{
    return r && json_is_true(json_object_get(r, "ok"));
}

static bool
has_milestone(json_t *info, int value)
{
    json_t *ms = json_object_get(info, "milestones"), *m;
    size_t i;
    json_array_foreach (ms, i, m) {
        if (json_integer_value(json_object_get(m, "value")) == value)
            return true;
    }
    return false;
}

/* Poll info until the guest marked @value. */
static bool
wait_milestone(int fd, int value, double timeout)
{
    double end = now_s() + timeout;
    while (now_s() < end) {
        json_t *info = ctl_call(fd, "info");
        bool seen = info && has_milestone(info, value);
        json_decref(info);
        if (seen)
            return true;
        usleep(20000);
    }
    return false;
}

/* ---- tests ---- */

static void
test_hello16(void)
{
    int before = check_failures;
    CHECK_INT(wait_exit(start("hello16", "real", "--memory", "16", NULL), 20), 0);
    CHECK_STR(slurp(console), "hello from real mode\n");
    CHECK(strstr(slurp(errlog), "debug port 0x16 at") != NULL);
    show_log_on_failure(before);
}

static void
test_hello32_reset_register(void)
{
    int before = check_failures;
    /* the ACPI reset register asks for a reboot: exit status 3 */
    CHECK_INT(wait_exit(start("hello32", "prot32", "--memory", "16", NULL), 20), 3);
    CHECK_STR(slurp(console), "hello from protected mode\n");
    CHECK(strstr(slurp(errlog), "debug port 0x32 at") != NULL);
    show_log_on_failure(before);
}

static void
test_hello64(void)
{
    int before = check_failures;
    CHECK_INT(wait_exit(start("hello64", "long", "--memory", "128", NULL), 20), 0);
    CHECK_STR(slurp(console), "hello from long mode\n");
    CHECK(strstr(slurp(errlog), "debug port 0x64 at") != NULL);
    CHECK(strstr(slurp(errlog), "debug port 0xee") == NULL);
    show_log_on_failure(before);
}

static void
test_i8042_reset(void)
{
    int before = check_failures;
    CHECK_INT(wait_exit(start("reset", "real", "--memory", "16", NULL), 20), 3);
    CHECK_STR(slurp(console), "resetting\n");
    show_log_on_failure(before);
}

static void
test_reboot_exit(void)
{
    /* by default a reset ends the process with status 3 */
    int before = check_failures;
    CHECK_INT(wait_exit(start("reboot", "real", "--memory", "16", NULL), 20), 3);
    CHECK_STR(slurp(console), "first boot\n");
    show_log_on_failure(before);
}

static void
test_reboot_restart(void)
{
    int before = check_failures;
    pid_t pid = start("reboot", "real", "--memory", "16", "--vcpus", "2", "--on-reboot", "restart",
                      "--control", sock, NULL);
    CHECK_INT(wait_exit(pid, 30), 0);
    CHECK_STR(slurp(console), "first boot\nsecond boot, RAM clear\n");
    CHECK(strstr(slurp(errlog), "rebooting in place (reboot 1)") != NULL);
    show_log_on_failure(before);
}

static void
test_smp(void)
{
    int before = check_failures;
    CHECK_INT(wait_exit(start("smp", "prot32", "--memory", "32", "--vcpus", "2", NULL), 30), 0);
    const char *out = slurp(console);
    CHECK(strstr(out, "AP up\n") != NULL);
    CHECK(strstr(out, "BSP saw AP\n") != NULL);
    show_log_on_failure(before);
}

static void
test_irq_power_button(void)
{
    int before = check_failures;
    pid_t pid = start("irq", "real", "--memory", "16", "--control", sock, NULL);
    int fd = ctl_connect();
    CHECK(fd >= 0);
    /* the guest marks 0x49 once its interrupt-driven output is done */
    CHECK(wait_milestone(fd, 0x49, 20));
    CHECK_STR(slurp(console), "irq ok\n");
    json_t *r = ctl_call(fd, "shutdown");
    CHECK(is_ok(r));
    json_decref(r);
    CHECK_INT(wait_exit(pid, 20), 0);
    CHECK_STR(slurp(console), "irq ok\nS\n");
    close(fd);
    show_log_on_failure(before);
}

static void
test_ctrl_alt_del(void)
{
    int before = check_failures;
    pid_t pid = start("kbd", "real", "--memory", "16", "--control", sock, NULL);
    int fd = ctl_connect();
    CHECK(fd >= 0);
    CHECK(wait_milestone(fd, 0x42, 20));
    json_t *r = ctl_call(fd, "ctrl_alt_del");
    CHECK(is_ok(r));
    json_decref(r);
    CHECK_INT(wait_exit(pid, 20), 0);
    CHECK_STR(slurp(console), "1d 38 e0 53 e0 d3 b8 9d\n");
    close(fd);
    show_log_on_failure(before);
}

static void
test_reset_command(void)
{
    int before = check_failures;
    pid_t pid = start("loop", "real", "--memory", "16", "--control", sock, NULL);
    int fd = ctl_connect();
    CHECK(fd >= 0);
    CHECK(wait_milestone(fd, 0x10, 20));
    json_t *r = ctl_call(fd, "reset");
    CHECK(is_ok(r));
    json_decref(r);
    CHECK_INT(wait_exit(pid, 20), 3);
    close(fd);
    show_log_on_failure(before);
}

static void
test_control(void)
{
    int before = check_failures;
    pid_t pid = start("loop", "real", "--memory", "16", "--vcpus", "1", "--control", sock, NULL);
    int fd = ctl_connect();
    CHECK(fd >= 0);
    CHECK(wait_milestone(fd, 0x10, 20));

    json_t *info = ctl_call(fd, "info");
    CHECK(is_ok(info));
    CHECK_STR(json_string_value(json_object_get(info, "state")), "running");
    CHECK_INT(json_integer_value(json_object_get(info, "vcpus")), 1);
    CHECK_INT(json_integer_value(json_object_get(info, "memory_mib")), 16);
    CHECK(json_real_value(json_object_get(info, "uptime_ms")) > 0);
    CHECK(json_integer_value(json_object_get(json_object_get(info, "exits"), "io")) > 0);
    CHECK(json_integer_value(json_object_get(info, "pid")) == pid);
    json_decref(info);

    /* output grows while running */
    long s0 = file_size(console);
    double end = now_s() + 10;
    while (file_size(console) <= s0 + 4 && now_s() < end)
        usleep(10000);
    CHECK(file_size(console) > s0 + 4);

    json_t *r = ctl_call(fd, "pause");
    CHECK(is_ok(r));
    json_decref(r);
    info = ctl_call(fd, "info");
    CHECK_STR(json_string_value(json_object_get(info, "state")), "paused");
    json_decref(info);
    long p0 = file_size(console);
    usleep(300000);
    CHECK_INT(file_size(console), p0); /* nothing while paused */

    r = ctl_call(fd, "resume");
    CHECK(is_ok(r));
    json_decref(r);
    end = now_s() + 10;
    while (file_size(console) <= p0 + 4 && now_s() < end)
        usleep(10000);
    CHECK(file_size(console) > p0 + 4);

    /* errors are answers, not disconnects */
    r = ctl_call(fd, "explode");
    CHECK(r && !is_ok(r));
    CHECK(strstr(json_string_value(json_object_get(r, "error")), "unknown command") != NULL);
    json_decref(r);
    r = ctl_call_raw(fd, "{not json\n");
    CHECK(r && !is_ok(r));
    json_decref(r);
    r = ctl_call_raw(fd, "{\"nocmd\":1}\n");
    CHECK(r && !is_ok(r));
    json_decref(r);
    /* a second client at the same time */
    int fd2 = ctl_connect();
    r = ctl_call(fd2, "info");
    CHECK(is_ok(r));
    json_decref(r);
    close(fd2);

    r = ctl_call(fd, "stop");
    CHECK(is_ok(r));
    json_decref(r);
    CHECK_INT(wait_exit(pid, 20), 4);
    close(fd);
    CHECK(access(sock, F_OK) != 0); /* the socket is removed on exit */
    show_log_on_failure(before);
}

static void
test_pause_smp(void)
{
    /* pause/resume with an AP still in wait-for-SIPI: both vCPU threads park */
    int before = check_failures;
    pid_t pid = start("loop", "real", "--memory", "16", "--vcpus", "2", "--control", sock, NULL);
    int fd = ctl_connect();
    CHECK(fd >= 0);
    CHECK(wait_milestone(fd, 0x10, 20));
    json_t *r = ctl_call(fd, "pause");
    CHECK(is_ok(r));
    json_decref(r);
    r = ctl_call(fd, "resume");
    CHECK(is_ok(r));
    json_decref(r);
    r = ctl_call(fd, "stop");
    CHECK(is_ok(r));
    json_decref(r);
    CHECK_INT(wait_exit(pid, 20), 4);
    close(fd);
    show_log_on_failure(before);
}

static void
test_sigterm(void)
{
    int before = check_failures;
    pid_t pid = start("loop", "real", "--memory", "16", "--control", sock, NULL);
    int fd = ctl_connect();
    CHECK(fd >= 0);
    CHECK(wait_milestone(fd, 0x10, 20));
    kill(pid, SIGTERM);
    CHECK_INT(wait_exit(pid, 20), 4);
    close(fd);
    show_log_on_failure(before);
}

static void
test_errors(void)
{
    int before = check_failures;
    /* a kernel that is not there: an error, status 1 */
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, STDERR_FILENO);
        execl(vmm, vmm, "--kernel", "/nonexistent/vmlinuz", "--console", "none", (char *)NULL);
        _exit(127);
    }
    CHECK_INT(wait_exit(pid, 20), 1);
    CHECK(strstr(slurp(errlog), "/nonexistent/vmlinuz") != NULL);
    show_log_on_failure(before);
}

static int
run_usage(const char *a, const char *b, const char *c)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, STDERR_FILENO);
        execl(vmm, vmm, a, b, c, (char *)NULL);
        _exit(127);
    }
    return wait_exit(pid, 10);
}

static void
test_usage(void)
{
    CHECK_INT(run_usage(NULL, NULL, NULL), 2);
    CHECK_INT(run_usage("--kernel", "x", "--vcpus=0"), 2);
    CHECK_INT(run_usage("--kernel", "x", "--memory=abc"), 2);
    CHECK_INT(run_usage("--payload", "x", "--kernel=y"), 2);
    CHECK_INT(run_usage("--kernel", "x", "--net=mac=52:54:00:00:00:01"), 2);
    CHECK_INT(run_usage("--kernel", "x", "--disk=a,rw"), 2);
    CHECK_INT(run_usage("--kernel", "x", "--on-reboot=maybe"), 2);
}

static const struct {
    const char *name;
    void (*fn)(void);
    bool needs_kvm;
} tests[] = {
    {"usage", test_usage, false},
    {"hello16", test_hello16, true},
    {"hello32", test_hello32_reset_register, true},
    {"hello64", test_hello64, true},
    {"i8042_reset", test_i8042_reset, true},
    {"smp", test_smp, true},
    {"reboot_exit", test_reboot_exit, true},
    {"reboot_restart", test_reboot_restart, true},
    {"irq", test_irq_power_button, true},
    {"control", test_control, true},
    {"ctrl_alt_del", test_ctrl_alt_del, true},
    {"reset_command", test_reset_command, true},
    {"pause_smp", test_pause_smp, true},
    {"sigterm", test_sigterm, true},
    {"errors", test_errors, true},
};

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_payloads CLOUD_VMM PAYLOAD_DIR TEST\n");
        return 2;
    }
    vmm = argv[1];
    payloads = argv[2];
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (strcmp(tests[i].name, argv[3]) != 0)
            continue;
        if (tests[i].needs_kvm) {
            int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
            if (fd < 0)
                SKIP("no /dev/kvm (%s)", strerror(errno));
            close(fd);
        }
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
        snprintf(console, sizeof(console), "%s/console", dir);
        snprintf(errlog, sizeof(errlog), "%s/stderr", dir);
        snprintf(sock, sizeof(sock), "%s/control.sock", dir);
        tests[i].fn();
        unlink(console);
        unlink(errlog);
        unlink(sock);
        rmdir(dir);
        return check_done();
    }
    fprintf(stderr, "unknown test %s\n", argv[3]);
    return 2;
}
