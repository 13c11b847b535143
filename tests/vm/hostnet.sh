#!/bin/sh
# Inside the nested test host (busybox sh): what a compute host gives a guest.
# A bridge br0 (10.10.0.1/24) with a persistent tap0 on it, a DHCP server on
# the bridge (guests get 10.10.0.10 and up) and a metadata service on
# 169.254.169.254:80 serving /tmp/md (hostname vm-test, one key, user data).
set -e
tunctl -t tap0 >/dev/null
brctl addbr br0
brctl addif br0 tap0
ip link set tap0 up
ip addr add 10.10.0.1/24 dev br0
ip addr add 169.254.169.254/32 dev br0
ip link set br0 up

mkdir -p /tmp/md/openstack/latest
printf '{"uuid": "9d2e", "hostname": "vm-test", "public_keys": {"k1": "ssh-ed25519 AAAAC3test nube@test"}}\n' \
    >/tmp/md/openstack/latest/meta_data.json
printf '#!/bin/sh\necho "user-data ran as $(id -u) on $(hostname)"\n' >/tmp/md/openstack/latest/user_data
httpd -p 169.254.169.254:80 -h /tmp/md

cat >/tmp/udhcpd.conf <<CONF
start 10.10.0.10
end 10.10.0.20
interface br0
lease_file /tmp/udhcpd.leases
option subnet 255.255.255.0
option router 10.10.0.1
option dns 10.10.0.1
CONF
touch /tmp/udhcpd.leases
udhcpd /tmp/udhcpd.conf

printf 'NUBEDISKMARKER01' >/tmp/disk.img
truncate -s 64M /tmp/disk.img
