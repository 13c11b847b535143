/* Guest payloads (tests/virtio/payloads/, nasm) run by the real cloud-vmm on
 * /dev/kvm: PCI enumeration, virtio-blk read/write/flush/GET_ID against a
 * real image, virtio-rng, and virtio-net frames both ways through a tap in a
 * private network namespace. The payloads report on COM1; the test checks the
 * console and what reached the image and the tap.
 *
 *   test_payloads CLOUD_VMM PAYLOAD_DIR pci|blk|rng|net */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define ETHERTYPE_NUBE 0x88b5
#define TAP "nubetap0"
#define GUEST_MAC "52:54:00:12:34:56"
#define TIMEOUT_S 60

static const char *vmm, *payload_dir;
static char dir[] = "/tmp/nube-payload-XXXXXX";
static char console[512];

static pid_t
vmm_start(const char *payload, const char *const *extra)
{
    char bin[512], log[512];
    snprintf(bin, sizeof(bin), "%s/%s.bin", payload_dir, payload);
    snprintf(console, sizeof(console), "%s/%s.console", dir, payload);
    snprintf(log, sizeof(log), "%s/%s.log", dir, payload);
    unlink(console); /* cloud-vmm appends to a console file */
    const char *argv[32] = {vmm,      "--payload", bin,    "--payload-mode",
                            "prot32", "--console", console};
    int n = 7;
    for (int i = 0; extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (nul < 0 || out < 0)
            _exit(127);
        dup2(nul, 0);
        dup2(out, 1);
        dup2(out, 2);
        execv(vmm, (char **)argv);
        _exit(127);
    }
    return pid;
}

/* Wait for the monitor to exit; returns its exit status, or -1 after a kill. */
static int
vmm_wait(pid_t pid)
{
    for (int i = 0; i < TIMEOUT_S * 10; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        usleep(100 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fprintf(stderr, "cloud-vmm did not finish in %d s\n", TIMEOUT_S);
    return -1;
}

static char *
slurp(const char *path)
{
    static char buf[65536];
    buf[0] = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return buf;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

static void
show(const char *payload)
{
    char log[512];
    snprintf(log, sizeof(log), "%s/%s.log", dir, payload);
    fprintf(stderr, "--- console:\n%s\n--- monitor:\n", slurp(console));
    fprintf(stderr, "%s---\n", slurp(log));
}

static int
run(const char *payload, const char *const *extra)
{
    int rc = vmm_wait(vmm_start(payload, extra));
    CHECK_INT(rc, 0);
    if (rc != 0)
        show(payload);
    return rc;
}

static void
test_pci(void)
{
    char disk[600];
    snprintf(disk, sizeof(disk), "%s/pci.img", dir);
    int fd = open(disk, O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
    close(fd);
    const char *extra[] = {"--disk", disk, "--rng", NULL};
    run("pci_enum", extra);
    const char *out = slurp(console);
    CHECK(strstr(out, "pci 00 8086:1237 060000\n") != NULL);
    CHECK(strstr(out, "pci 01 1af4:1042 018000 cfg 1 2 3 4 5\n") != NULL);
    CHECK(strstr(out, "pci 02 1af4:1044 00ff00 cfg 1 2 3 5\n") != NULL);
    CHECK(strstr(out, "enumeration done") != NULL);
    CHECK(strstr(out, "FAIL") == NULL);
}

static void
test_blk(void)
{
    char disk[600];
    snprintf(disk, sizeof(disk), "%s/nube-disk.img", dir);
    int fd = open(disk, O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0 && ftruncate(fd, 4 << 20) == 0);
    CHECK_INT(pwrite(fd, "NUBE-SECTOR-ONE", 15, 512), 15);
    const char *extra[] = {"--disk", disk, NULL};
    run("blk", extra);
    const char *out = slurp(console);
    CHECK(strstr(out, "capacity 00002000\n") != NULL); /* 4 MiB in sectors */
    CHECK(strstr(out, "blk read ok\n") != NULL);
    CHECK(strstr(out, "blk write ok\n") != NULL);
    CHECK(strstr(out, "blk flush ok\n") != NULL);
    CHECK(strstr(out, "blk id nube-disk.img\n") != NULL);
    CHECK(strstr(out, "blk done") != NULL);
    CHECK(strstr(out, "FAIL") == NULL);
    char sector[512];
    CHECK_INT(pread(fd, sector, 512, 1024), 512);
    CHECK(memcmp(sector, "WRITTEN-BY-THE-GUEST", 20) == 0);
    CHECK_INT((unsigned char)sector[511], 0x5a);
    close(fd);

    /* read-only: the same payload's write must fail with IOERR */
    char ro[700];
    snprintf(ro, sizeof(ro), "%s,ro", disk);
    const char *extra_ro[] = {"--disk", ro, NULL};
    int rc = vmm_wait(vmm_start("blk", extra_ro));
    CHECK_INT(rc, 0);
    out = slurp(console);
    CHECK(strstr(out, "blk read ok\n") != NULL);
    CHECK(strstr(out, "blk write ok") == NULL);
    CHECK(strstr(out, "FAIL request status not OK") != NULL);
}

static void
test_rng(void)
{
    const char *extra[] = {"--rng", NULL};
    char first[80] = "";
    for (int round = 0; round < 2; round++) {
        run("rng", extra);
        const char *out = slurp(console);
        const char *p = strstr(out, "rng ");
        CHECK(p != NULL);
        CHECK(strstr(out, "rng done") != NULL);
        if (!p)
            return;
        if (round == 0)
            snprintf(first, sizeof(first), "%.68s", p);
        else
            CHECK(strncmp(first, p, 68) != 0); /* two runs, two different answers */
    }
}

static int
tap_create(void)
{
    /* no IPv6 chatter on the tap: the guest has one receive buffer at a time */
    int fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
    if (fd >= 0) {
        if (write(fd, "1", 1) != 1)
            fprintf(stderr, "disable_ipv6: %s\n", strerror(errno));
        close(fd);
    }
    fd = open("/dev/net/tun", O_RDWR);
    if (fd < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    strcpy(ifr.ifr_name, TAP);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, TAP);
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    if (r == 0)
        r = ioctl(s, SIOCSIFFLAGS, &ifr);
    close(s);
    return r;
}

static bool
console_has(const char *what, int timeout_s)
{
    for (int i = 0; i < timeout_s * 20; i++) {
        if (strstr(slurp(console), what))
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static void
test_net(void)
{
    if (unshare(CLONE_NEWNET) < 0)
        SKIP("cannot make a network namespace (unshare: %s)", strerror(errno));
    if (tap_create() < 0)
        SKIP("cannot create a tap in the namespace: %s", strerror(errno));
    int ifindex = (int)if_nametoindex(TAP);
    int ps = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE_NUBE));
    CHECK(ps >= 0);
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE_NUBE), .sll_ifindex = ifindex};
    CHECK_INT(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);

    const char *extra[] = {"--net", "tap=" TAP ",mac=" GUEST_MAC, NULL};
    pid_t pid = vmm_start("net", extra);

    /* the guest's frame comes out of the tap */
    struct pollfd pfd = {.fd = ps, .events = POLLIN};
    uint8_t frame[2048];
    ssize_t n = -1;
    if (poll(&pfd, 1, TIMEOUT_S * 1000) == 1)
        n = recv(ps, frame, sizeof(frame), 0);
    CHECK(n >= 60);
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    if (n >= 60) {
        CHECK(memcmp(frame, bcast, 6) == 0);
        CHECK(memcmp(frame + 6, mac, 6) == 0);
        CHECK(memcmp(frame + 14, "NUBE-VIRTIO-NET-TX", 18) == 0);
    }

    /* and one frame goes the other way once the guest waits for it. The tap
     * was brought up before the monitor attached, so the kernel may drop what
     * it sends in the first second (its queue waits for the next link-watch
     * run after the carrier came): send again until the guest has it. */
    CHECK(console_has("net rx ready", TIMEOUT_S));
    uint8_t out[60] = {0};
    memcpy(out, mac, 6);
    memcpy(out + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 0x01}, 6);
    out[12] = ETHERTYPE_NUBE >> 8;
    out[13] = ETHERTYPE_NUBE & 0xff;
    memcpy(out + 14, "NUBE-HOST-TO-GUEST", 18);
    struct sockaddr_ll to = sll;
    to.sll_halen = 6;
    memcpy(to.sll_addr, mac, 6);
    bool sent = false;
    int rc = -1;
    for (int i = 0; i < TIMEOUT_S * 5 && !strstr(slurp(console), "net rx NUBE"); i++) {
        sent |= sendto(ps, out, sizeof(out), 0, (struct sockaddr *)&to, sizeof(to)) == 60;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            pid = -1;
            rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            break;
        }
        usleep(200 * 1000);
    }
    CHECK(sent);

    if (pid > 0)
        rc = vmm_wait(pid);
    CHECK_INT(rc, 0);
    const char *con = slurp(console);
    CHECK(strstr(con, "mac 525400123456\n") != NULL);
    CHECK(strstr(con, "net tx ok\n") != NULL);
    CHECK(strstr(con, "net rx NUBE-HOST-TO-GUEST\n") != NULL);
    CHECK(strstr(con, "net done") != NULL);
    if (rc != 0 || !strstr(con, "net done"))
        show("net");
    close(ps);
}

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s CLOUD_VMM PAYLOAD_DIR pci|blk|rng|net\n", argv[0]);
        return 2;
    }
    vmm = argv[1];
    payload_dir = argv[2];
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        SKIP("no /dev/kvm");
    close(kvm);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (!strcmp(argv[3], "pci"))
        test_pci();
    else if (!strcmp(argv[3], "blk"))
        test_blk();
    else if (!strcmp(argv[3], "rng"))
        test_rng();
    else if (!strcmp(argv[3], "net"))
        test_net();
    else
        return 2;
    int rc = check_done();
    if (rc == 0) { /* keep the evidence of a failure */
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    } else {
        fprintf(stderr, "files kept in %s\n", dir);
    }
    return rc;
}
