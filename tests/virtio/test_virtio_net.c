/* virtio-net through the PCI transport and the fake core, against a real tap
 * in a private network namespace (needs CAP_NET_ADMIN; skips otherwise):
 * transmit, receive with and without mergeable buffers, receive pausing while
 * the driver has no buffers, MAC handling, a hostile receive buffer. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "fake_vm.h"
#include "test_driver.h"
#include "virtio/pci.h"
#include "virtio/virtio.h"

#define RAM (4u << 20)
#define TAP "nubetap1"
#define ETHERTYPE_NUBE 0x88b5
#define RXQ 0
#define TXQ 1
#define RXBUF 0x100000
#define TXBUF 0x200000
#define F_MAC (1ULL << 5)
#define F_MRG_RXBUF (1ULL << 15)
#define F_STATUS (1ULL << 16)

static struct vm *vm;
static uint8_t *ram;
static int ps;
static int ifindex;
static uint8_t guest_mac[6];

static int
tap_create(void)
{
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
    int r = ioctl(fd, TUNSETIFF, &ifr);
    if (r == 0)
        r = ioctl(fd, TUNSETPERSIST, 1);
    close(fd);
    if (r < 0)
        return -1;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, TAP);
    ifr.ifr_mtu = 9000;
    r = ioctl(s, SIOCSIFMTU, &ifr);
    close(s);
    return r;
}

/* Up only once the device is attached: then the carrier is already on when
 * the interface opens and its queue works at once (brought up without a
 * carrier, the kernel activates the queue only at the next link-watch run, up
 * to a second later, and drops frames until then). */
static int
tap_up(void)
{
    struct ifreq ifr;
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

static void
host_send(size_t len, uint8_t fill)
{
    uint8_t f[4000];
    memset(f, fill, sizeof(f));
    memcpy(f, guest_mac, 6);
    memcpy(f + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 0x01}, 6);
    f[12] = ETHERTYPE_NUBE >> 8;
    f[13] = ETHERTYPE_NUBE & 0xff;
    struct sockaddr_ll to = {.sll_family = AF_PACKET,
                             .sll_protocol = htons(ETHERTYPE_NUBE),
                             .sll_ifindex = ifindex,
                             .sll_halen = 6};
    memcpy(to.sll_addr, guest_mac, 6);
    ssize_t n = sendto(ps, f, len, 0, (struct sockaddr *)&to, sizeof(to));
    CHECK_INT(n, (ssize_t)len);
}

static uint16_t
used_idx(struct tdrv *d, int q)
{
    uint16_t v;
    memcpy(&v, ram + d->q[q].used + 2, 2);
    return v;
}

/* Post @n receive buffers of @len bytes each. */
static void
post_rx(struct tdrv *d, int n, uint32_t len)
{
    for (int i = 0; i < n; i++) {
        struct tdrv_seg s = {RXBUF + 0x2000u * (uint32_t)(d->q[RXQ].avail_idx % TDRV_QSIZE), len,
                             true};
        tdrv_submit(d, RXQ, &s, 1);
    }
}

static void
test_tx(struct tdrv *d)
{
    uint8_t *hdr = ram + TXBUF, *frame = ram + TXBUF + 0x100;
    memset(hdr, 0, 12);
    memset(frame, 0xee, 100);
    memset(frame, 0xff, 6);
    memcpy(frame + 6, guest_mac, 6);
    frame[12] = ETHERTYPE_NUBE >> 8;
    frame[13] = ETHERTYPE_NUBE & 0xff;
    memcpy(frame + 14, "GUEST-TX", 8);
    struct tdrv_seg segs[2] = {{TXBUF, 12, false}, {TXBUF + 0x100, 100, false}};
    uint16_t head = tdrv_submit(d, TXQ, segs, 2);
    uint32_t id, len;
    CHECK(tdrv_wait_used(d, TXQ, &id, &len, 5000));
    CHECK_INT(id, head);
    struct pollfd pfd = {.fd = ps, .events = POLLIN};
    uint8_t got[2048];
    ssize_t n = -1;
    if (poll(&pfd, 1, 5000) == 1)
        n = recv(ps, got, sizeof(got), 0);
    CHECK_INT(n, 100);
    CHECK(n == 100 && memcmp(got, frame, 100) == 0);
}

static void
test_rx_mergeable(struct tdrv *d)
{
    post_rx(d, 3, 1000);
    host_send(2500, 0x5c);
    uint32_t id, len[3] = {0, 0, 0};
    uint16_t heads[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        CHECK(tdrv_wait_used(d, RXQ, &id, &len[i], 5000));
        heads[i] = (uint16_t)id;
    }
    CHECK_INT(len[0], 1000);
    CHECK_INT(len[1], 1000);
    CHECK_INT(len[2], 512); /* 12 + 2500 bytes in all */
    uint8_t *first = ram + RXBUF + 0x2000u * heads[0];
    uint16_t num_buffers;
    memcpy(&num_buffers, first + 10, 2);
    CHECK_INT(num_buffers, 3);
    CHECK(memcmp(first + 12, guest_mac, 6) == 0);
    uint8_t *third = ram + RXBUF + 0x2000u * heads[2];
    CHECK_INT(third[511], 0x5c);
}

static void
test_rx_pause(struct tdrv *d)
{
    /* nothing posted: the frame waits in the device, then lands */
    uint16_t before = used_idx(d, RXQ);
    host_send(200, 0x11);
    for (int i = 0; i < 10; i++)
        fake_vm_loop_once(vm, 20);
    CHECK_INT(used_idx(d, RXQ), before);
    post_rx(d, 1, 1500);
    uint32_t id, len;
    CHECK(tdrv_wait_used(d, RXQ, &id, &len, 5000));
    CHECK_INT(len, 212);
    CHECK_INT(ram[RXBUF + 0x2000u * id + 12 + 199], 0x11);
}

static void
test_rx_single(struct tdrv *d)
{
    /* without MRG_RXBUF a frame must fit one buffer, or it is dropped */
    post_rx(d, 1, 1000);
    host_send(2500, 0x22);
    for (int i = 0; i < 10; i++)
        fake_vm_loop_once(vm, 20);
    uint32_t id, len;
    host_send(300, 0x33);
    CHECK(tdrv_wait_used(d, RXQ, &id, &len, 5000));
    CHECK_INT(len, 312);
    uint16_t num_buffers;
    memcpy(&num_buffers, ram + RXBUF + 0x2000u * id + 10, 2);
    CHECK_INT(num_buffers, 1);
    CHECK_INT(ram[RXBUF + 0x2000u * id + 12 + 299], 0x33);
}

int
main(void)
{
    if (unshare(CLONE_NEWNET) < 0)
        SKIP("cannot make a network namespace (unshare: %s)", strerror(errno));
    if (tap_create() < 0)
        SKIP("cannot create a tap in the namespace: %s", strerror(errno));
    struct err err = ERR_INIT;
    vm = fake_vm_new(RAM);
    ram = fake_vm_ram(vm);
    struct pci_bus *bus = pci_bus_new(vm, &err);
    CHECK(bus != NULL);
    CHECK_INT(virtio_net_create(vm, bus, "nosuchtap9", NULL, &err), -1);
    CHECK_INT(err.code, ERR_NOT_FOUND);
    CHECK_INT(virtio_net_create(vm, bus, TAP, "01:00:5e:00:00:01", &err), -1); /* multicast */
    CHECK_INT(virtio_net_create(vm, bus, TAP, "52:54:00:zz:00:01", &err), -1);
    int r = virtio_net_create(vm, bus, TAP, NULL, &err);
    CHECK_INT(r, 0);
    if (r < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return check_done();
    }
    CHECK_INT(fake_vm_cfg_read(vm, 1, 0x00, 4), 0x10411af4u);
    CHECK_INT(tap_up(), 0);
    /* the packet socket after that: bound to a down interface it would
     * report ENETDOWN once */
    ifindex = (int)if_nametoindex(TAP);
    ps = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE_NUBE));
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE_NUBE), .sll_ifindex = ifindex};
    CHECK(ps >= 0 && bind(ps, (struct sockaddr *)&sll, sizeof(sll)) == 0);

    struct tdrv d;
    CHECK(tdrv_init(&d, vm, 1, F_MAC | F_STATUS | F_MRG_RXBUF, 2, 0x10000) &
          VIRTIO_STATUS_DRIVER_OK);
    CHECK(d.features & F_MRG_RXBUF);
    for (int i = 0; i < 6; i++)
        guest_mac[i] = (uint8_t)tdrv_cfg(&d, (uint32_t)i, 1);
    CHECK(guest_mac[0] == 0x52 && guest_mac[1] == 0x54 && guest_mac[2] == 0x00);
    CHECK_INT(tdrv_cfg(&d, 6, 2), 1); /* link up */

    test_tx(&d);
    test_rx_mergeable(&d);
    test_rx_pause(&d);
    CHECK_INT(fake_vm_snapshot_roundtrip(vm, &err), 0);
    test_tx(&d);

    CHECK(tdrv_init(&d, vm, 1, F_MAC, 2, 0x10000) & VIRTIO_STATUS_DRIVER_OK);
    CHECK(!(d.features & F_MRG_RXBUF));
    test_rx_single(&d);

    /* a receive buffer too small for the header: the device needs a reset */
    struct tdrv_seg tiny = {RXBUF, 8, true};
    tdrv_submit(&d, RXQ, &tiny, 1);
    host_send(100, 0x44);
    for (int i = 0; i < 20 && !(tdrv_status(&d) & VIRTIO_STATUS_NEEDS_RESET); i++)
        fake_vm_loop_once(vm, 50);
    CHECK(tdrv_status(&d) & VIRTIO_STATUS_NEEDS_RESET);

    fake_vm_free(vm);
    close(ps);
    return check_done();
}
