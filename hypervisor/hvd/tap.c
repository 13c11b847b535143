/* Tap devices: see tap.h. */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

bool
tap_exists(const char *name)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof(path), "/sys/class/net/%s", name);
    return stat(path, &st) == 0;
}

void
tap_pick_name(char out[16])
{
    for (int i = 0; i < 10000; i++) {
        snprintf(out, 16, "vnet%d", i);
        if (!tap_exists(out))
            return;
    }
}

static int
tap_open(const char *name, struct ifreq *ifr)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    memset(ifr, 0, sizeof(*ifr));
    ifr->ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, ifr) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int
tap_create(const char *name, long owner, struct rpc_error *e)
{
    struct ifreq ifr;
    int fd = tap_open(name, &ifr);
    if (fd < 0 || (owner >= 0 && ioctl(fd, TUNSETOWNER, (unsigned long)owner) < 0) ||
        ioctl(fd, TUNSETPERSIST, 1) < 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE,
                             "Unable to create tap device %s: %s", name, strerror(saved));
    }
    close(fd);
    return 0;
}

int
tap_attach(const char *name, struct rpc_error *e)
{
    struct ifreq ifr;
    int fd = tap_open(name, &ifr);
    if (fd < 0)
        rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE, "Unable to open tap device %s: %s",
                      name, strerror(errno));
    return fd;
}

int
tap_delete(const char *name)
{
    struct ifreq ifr;
    int fd = tap_open(name, &ifr);
    if (fd < 0)
        return -1;
    int rc = ioctl(fd, TUNSETPERSIST, 0);
    close(fd);
    return rc;
}

int
tap_plug(const char *name, const char *bridge, struct rpc_error *e)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE, "socket: %s", strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    int rc = 0;
    if (bridge) {
        struct ifreq br;
        memset(&br, 0, sizeof(br));
        snprintf(br.ifr_name, IFNAMSIZ, "%s", bridge);
        struct ifreq idx;
        memset(&idx, 0, sizeof(idx));
        snprintf(idx.ifr_name, IFNAMSIZ, "%s", name);
        if (ioctl(s, SIOCGIFINDEX, &idx) == 0)
            br.ifr_ifindex = idx.ifr_ifindex;
        if (br.ifr_ifindex == 0 || ioctl(s, SIOCBRADDIF, &br) < 0) {
            rc =
                rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE,
                              "Unable to add bridge %s port %s: %s", bridge, name, strerror(errno));
            goto cleanup;
        }
    }
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
        rc = rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE,
                           "Cannot get interface flags on '%s': %s", name, strerror(errno));
        goto cleanup;
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        rc = rpc_error_set(e, VIR_ERR_SYSTEM_ERROR, VIR_FROM_NONE,
                           "Cannot set interface flags on '%s': %s", name, strerror(errno));
cleanup:
    close(s);
    return rc;
}

long long
tap_counter(const char *name, const char *counter)
{
    char path[128];
    snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", name, counter);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long long v = -1;
    if (fscanf(f, "%lld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}
