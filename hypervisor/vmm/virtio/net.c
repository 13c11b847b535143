/* virtio-net (virtio 1.x, 5.1) over a tap interface opened with IFF_VNET_HDR,
 * so the 12-byte virtio_net_hdr passes straight through in both directions
 * (checksum and segmentation offloads included). Queue 0 receives: the tap fd
 * sits in the loop while the driver has buffers, and a packet is spread over
 * several buffers when VIRTIO_NET_F_MRG_RXBUF is on. Queue 1 transmits on
 * notification. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../state.h"
#include "log.h"
#include "mem.h"
#include "pci.h"
#include "virtio.h"

#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1

#define NET_HDR_LEN 12 /* virtio_net_hdr with num_buffers: always, with VERSION_1 */
#define NET_HDR_NUM_BUFFERS 10
#define NET_MAX_FRAME (NET_HDR_LEN + 65536 + 14 + 4) /* header, GSO payload, ethernet, vlan */
#define NET_QUEUE_SIZE 256
#define NET_MAX_SEGS 64 /* per chain; Linux uses at most MAX_SKB_FRAGS + 2 */
#define NET_RX_BUDGET 64
#define NET_RXQ 0
#define NET_TXQ 1
#define NET_CONFIG_LEN 10 /* mac, status, max_virtqueue_pairs */
#define NET_STATE_VERSION 1

struct virtio_net {
    struct vm *vm;
    struct virtio_pci *vp;
    int tap;
    bool listening; /* the tap fd is in the loop */
    bool offloads;  /* the tap takes TUNSETOFFLOAD */
    uint8_t mac[6];
    char ifname[IFNAMSIZ];
    uint8_t *rxbuf;
    size_t rx_len; /* a packet read from the tap, waiting for buffers; 0 if none */
    uint64_t rx_packets, tx_packets, rx_dropped, tx_dropped;
};

static void net_tap_event(void *opaque, uint32_t events);

static void
net_listen(struct virtio_net *net, bool on)
{
    if (on == net->listening)
        return;
    if (on) {
        struct err err = ERR_INIT;
        if (vm_loop_add_fd(net->vm, net->tap, EPOLLIN, net_tap_event, net, &err) < 0) {
            log_warn("virtio-net %s: %s", net->ifname, err.msg);
            return;
        }
    } else {
        vm_loop_del_fd(net->vm, net->tap);
    }
    net->listening = on;
}

static void
net_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t size)
{
    struct virtio_net *net = dev;
    uint8_t cfg[NET_CONFIG_LEN] = {0};
    memcpy(cfg, net->mac, 6);
    cfg[6] = VIRTIO_NET_S_LINK_UP;
    cfg[8] = 1; /* one queue pair */
    memcpy(data, cfg + off, size);
}

/* Move the pending packet into the driver's receive buffers. Returns false
 * when it has to wait for more buffers. */
static bool
net_rx_deliver(struct virtio_net *net, struct virtq *q)
{
    bool merge = virtio_pci_has_feature(net->vp, VIRTIO_NET_F_MRG_RXBUF);
    struct iovec first[NET_MAX_SEGS], iov[NET_MAX_SEGS];
    unsigned first_n = 0;
    uint16_t heads[NET_QUEUE_SIZE];
    uint32_t lens[NET_QUEUE_SIZE];
    uint16_t nbufs = 0;
    size_t off = 0;
    while (off < net->rx_len) {
        struct virtq_elem e;
        if (nbufs == q->size) {
            virtq_unpop(q, nbufs); /* cannot fill even the whole ring */
            net->rx_dropped++;
            return true;
        }
        int r = virtq_pop(q, &e, nbufs ? iov : first, NET_MAX_SEGS);
        if (r < 0) {
            virtio_pci_error(net->vp, q->error ? q->error : "virtio-net: receive queue violation");
            net->rx_len = 0;
            return true;
        }
        if (r == 0) {
            virtq_unpop(q, nbufs);
            return false;
        }
        struct iovec *w = e.iov + e.out_num;
        size_t room = e.in_len;
        if (nbufs == 0) {
            memmove(first, w, e.in_num * sizeof(*w));
            first_n = e.in_num;
            w = first;
            if (room < NET_HDR_LEN) { /* not even a header fits: unusable buffer */
                virtq_unpop(q, 1);
                net->rx_dropped++;
                net->rx_len = 0;
                virtio_pci_error(net->vp, "virtio-net: receive buffer smaller than a header");
                return true;
            }
        }
        size_t n = iov_from_buf(w, e.in_num, 0, net->rxbuf + off, net->rx_len - off);
        heads[nbufs] = e.head;
        lens[nbufs] = (uint32_t)n;
        nbufs++;
        off += n;
        if (!merge)
            break;
    }
    if (off < net->rx_len) { /* too big for a single buffer without MRG_RXBUF */
        virtq_unpop(q, nbufs);
        net->rx_dropped++;
        net->rx_len = 0;
        return true;
    }
    uint8_t nb[2] = {(uint8_t)nbufs, (uint8_t)(nbufs >> 8)};
    iov_from_buf(first, first_n, NET_HDR_NUM_BUFFERS, nb, 2);
    for (uint16_t i = 0; i < nbufs; i++)
        virtq_push(q, heads[i], lens[i]);
    net->rx_packets++;
    net->rx_len = 0;
    return true;
}

/* Receive from the tap until it is empty, the driver runs out of buffers or
 * the budget is spent. Device lock held. */
static void
net_rx(struct virtio_net *net)
{
    struct virtq *q = virtio_pci_queue(net->vp, NET_RXQ);
    if (!virtio_pci_driver_ok(net->vp) || !q->enabled || q->broken) {
        net_listen(net, false);
        return;
    }
    uint16_t used = q->used_idx;
    bool waiting = false;
    for (int budget = NET_RX_BUDGET; budget > 0; budget--) {
        if (net->rx_len == 0) {
            ssize_t n = read(net->tap, net->rxbuf, NET_MAX_FRAME);
            if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                    log_warn("virtio-net %s: read: %m", net->ifname);
                break;
            }
            if (n <= NET_HDR_LEN) {
                net->rx_dropped++;
                continue;
            }
            net->rx_len = (size_t)n;
            /* the tap fills 10 header bytes; num_buffers is ours */
            net->rxbuf[NET_HDR_NUM_BUFFERS] = 1;
            net->rxbuf[NET_HDR_NUM_BUFFERS + 1] = 0;
        }
        if (!net_rx_deliver(net, q)) {
            waiting = true;
            break;
        }
        if (q->broken)
            break;
    }
    if (q->used_idx != used)
        virtio_pci_queue_interrupt(net->vp, NET_RXQ);
    /* with a packet held back, stop listening until the driver adds buffers */
    net_listen(net, !waiting && !q->broken);
}

static void
net_tap_event(void *opaque, uint32_t events)
{
    struct virtio_net *net = opaque;
    (void)events;
    virtio_pci_lock(net->vp);
    net_rx(net);
    virtio_pci_unlock(net->vp);
}

static void
net_tx(struct virtio_net *net, struct virtq *q)
{
    struct iovec iov[NET_MAX_SEGS];
    struct virtq_elem e;
    uint16_t used = q->used_idx;
    unsigned budget = q->size;
    int r = 0;
    while (budget-- && (r = virtq_pop(q, &e, iov, NET_MAX_SEGS)) == 1) {
        if (e.out_len <= NET_HDR_LEN || e.out_len > NET_MAX_FRAME) {
            net->tx_dropped++;
        } else {
            ssize_t n = writev(net->tap, e.iov, e.out_num);
            if (n < 0) {
                net->tx_dropped++;
                log_debug("virtio-net %s: write: %m", net->ifname);
            } else {
                net->tx_packets++;
            }
        }
        virtq_push(q, e.head, 0);
    }
    if (q->used_idx != used)
        virtio_pci_queue_interrupt(net->vp, NET_TXQ);
    if (r == 1 && virtq_has_avail(q))
        virtio_pci_queue_kick(net->vp, NET_TXQ);
}

static void
net_queue_notify(void *dev, uint16_t qi)
{
    struct virtio_net *net = dev;
    if (qi == NET_TXQ)
        net_tx(net, virtio_pci_queue(net->vp, qi));
    else
        net_rx(net); /* new receive buffers */
}

static void
net_driver_ok(void *dev)
{
    struct virtio_net *net = dev;
    if (net->offloads) {
        unsigned off = 0;
        if (virtio_pci_has_feature(net->vp, VIRTIO_NET_F_GUEST_CSUM)) {
            off |= TUN_F_CSUM;
            if (virtio_pci_has_feature(net->vp, VIRTIO_NET_F_GUEST_TSO4))
                off |= TUN_F_TSO4;
            if (virtio_pci_has_feature(net->vp, VIRTIO_NET_F_GUEST_TSO6))
                off |= TUN_F_TSO6;
        }
        if (ioctl(net->tap, TUNSETOFFLOAD, off) < 0)
            log_warn("virtio-net %s: TUNSETOFFLOAD: %m", net->ifname);
    }
    net_listen(net, true);
}

static void
net_virtio_reset(void *dev)
{
    struct virtio_net *net = dev;
    net_listen(net, false);
    net->rx_len = 0;
}

static const struct virtio_dev_ops net_virtio_ops = {
    .device_id = 1,
    .class_code = 0x020000,
    .num_queues = 2,
    .queue_size = NET_QUEUE_SIZE,
    .config_len = NET_CONFIG_LEN,
    .config_read = net_config_read,
    .queue_notify = net_queue_notify,
    .driver_ok = net_driver_ok,
    .reset = net_virtio_reset,
};

static void
net_reset(void *dev)
{
    struct virtio_net *net = dev;
    virtio_pci_reset(net->vp);
}

static int
net_save(void *dev, struct state_writer *w, struct err *err)
{
    struct virtio_net *net = dev;
    if (virtio_pci_save(net->vp, w, err) < 0)
        return -1;
    state_put_bytes(w, "net.mac", net->mac, sizeof(net->mac));
    return 0;
}

static int
net_load(void *dev, struct state_reader *r, uint32_t version, struct err *err)
{
    struct virtio_net *net = dev;
    uint8_t mac[6];
    if (version != NET_STATE_VERSION)
        return err_set(err, ERR_INVALID, "virtio-net: unknown state version %u", version);
    if (virtio_pci_load(net->vp, r, err) < 0)
        return -1;
    if (state_get_bytes(r, "net.mac", mac, sizeof(mac), err) < 0)
        return err_prefix(err, "virtio-net");
    virtio_pci_lock(net->vp);
    memcpy(net->mac, mac, sizeof(mac)); /* the guest keeps its address across migration */
    if (virtio_pci_driver_ok(net->vp))
        net_driver_ok(net);
    virtio_pci_unlock(net->vp);
    return 0;
}

static void
net_stats(void *dev, char *buf, size_t len)
{
    struct virtio_net *net = dev;
    char t[160];
    virtio_pci_stats(net->vp, t, sizeof(t));
    virtio_pci_lock(net->vp);
    snprintf(buf, len, "%s tap=%s rx=%llu tx=%llu rx_dropped=%llu tx_dropped=%llu", t, net->ifname,
             (unsigned long long)net->rx_packets, (unsigned long long)net->tx_packets,
             (unsigned long long)net->rx_dropped, (unsigned long long)net->tx_dropped);
    virtio_pci_unlock(net->vp);
}

static void
net_free(void *dev)
{
    struct virtio_net *net = dev;
    if (!net)
        return;
    if (net->listening)
        vm_loop_del_fd(net->vm, net->tap);
    virtio_pci_free(net->vp);
    if (net->tap >= 0)
        close(net->tap);
    free(net->rxbuf);
    free(net);
}

static const struct vm_device_ops net_device_ops = {
    .name = "virtio-net",
    .state_version = NET_STATE_VERSION,
    .reset = net_reset,
    .save = net_save,
    .load = net_load,
    .stats = net_stats,
    .free = net_free,
};

static int
net_parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) !=
        6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    if (mac[0] & 1) /* multicast */
        return -1;
    return 0;
}

static int
net_tap_open(struct virtio_net *net, const char *ifname, struct err *err)
{
    if (strlen(ifname) >= IFNAMSIZ)
        return err_set(err, ERR_INVALID, "tap name too long");
    if (if_nametoindex(ifname) == 0)
        return err_set_errno(err, ERR_NOT_FOUND, errno, "no interface %s", ifname);
    net->tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (net->tap < 0)
        return err_set_errno(err, ERR_IO, errno, "/dev/net/tun");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    if (ioctl(net->tap, TUNSETIFF, &ifr) < 0)
        return err_set_errno(err, ERR_IO, errno, "attaching to tap %s", ifname);
    int hdr = NET_HDR_LEN;
    if (ioctl(net->tap, TUNSETVNETHDRSZ, &hdr) < 0)
        return err_set_errno(err, ERR_IO, errno, "tap %s: TUNSETVNETHDRSZ", ifname);
    /* probe the offloads, then leave them off until the driver asks */
    net->offloads = ioctl(net->tap, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) == 0;
    if (ioctl(net->tap, TUNSETOFFLOAD, 0) < 0)
        net->offloads = false;
    strlcpy_n(net->ifname, ifname, sizeof(net->ifname));
    return 0;
}

int
virtio_net_create(struct vm *vm, struct pci_bus *bus, const char *tap_ifname, const char *mac,
                  struct err *err)
{
    struct virtio_net *net = xzalloc(sizeof(*net));
    net->vm = vm;
    net->tap = -1;
    net->rxbuf = xmalloc(NET_MAX_FRAME);
    if (mac) {
        if (net_parse_mac(mac, net->mac) < 0) {
            err_set(err, ERR_INVALID, "bad MAC address '%s'", mac);
            goto fail;
        }
    } else {
        /* QEMU's prefix, the rest random: locally administered in practice */
        net->mac[0] = 0x52;
        net->mac[1] = 0x54;
        net->mac[2] = 0x00;
        if (getrandom(net->mac + 3, 3, 0) != 3) {
            err_set_errno(err, ERR_IO, errno, "getrandom");
            goto fail;
        }
    }
    if (net_tap_open(net, tap_ifname, err) < 0)
        goto fail;
    uint64_t features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
                        (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_CSUM) |
                        (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6);
    if (net->offloads)
        features |= (1ULL << VIRTIO_NET_F_GUEST_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_TSO4) |
                    (1ULL << VIRTIO_NET_F_GUEST_TSO6);
    net->vp = virtio_pci_new(vm, bus, &net_virtio_ops, net, features, err);
    if (!net->vp)
        goto fail;
    vm_device_add(vm, &net_device_ops, net);
    log_info("virtio-net %02x.0: tap %s, mac %02x:%02x:%02x:%02x:%02x:%02x", net->vp->pci.slot,
             net->ifname, net->mac[0], net->mac[1], net->mac[2], net->mac[3], net->mac[4],
             net->mac[5]);
    return 0;
fail:
    net_free(net);
    return err_prefix(err, "virtio-net %s", tap_ifname);
}
