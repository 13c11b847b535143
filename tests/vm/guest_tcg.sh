#!/bin/bash
# The Nube guest image boots under QEMU TCG on this machine to its ready line,
# with a virtio-blk disk and virtio-net on QEMU user networking; the init finds
# the disk's marker, gets a DHCP lease, reads the metadata service (served by
# busybox httpd through a guestfwd) and runs the user data.
. "$(dirname "$0")/lib.sh"
vm_build_guest
bb="$(ls -d "${NUBE_CACHE_DIR:-$vm_root/.cache}"/pkgs/busybox-static_*/bin/busybox | tail -n1)"

tmp="$(mktemp -d)"
qpid=""
trap '[[ -n $qpid ]] && kill $qpid 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/md/openstack/latest"
printf '{"uuid": "3f1c", "hostname": "tcg-guest", "public_keys": {"k1": "ssh-ed25519 AAAAC3test nube@test"}}\n' \
    >"$tmp/md/openstack/latest/meta_data.json"
printf '#!/bin/sh\necho "user-data ran as $(id -u) on $(hostname)"\n' >"$tmp/md/openstack/latest/user_data"
printf 'NUBEDISKMARKER01' >"$tmp/disk.img"
truncate -s 16M "$tmp/disk.img"

t0=$(date +%s%N)
timeout 120 qemu-system-x86_64 -nodefaults -no-user-config -M pc -accel tcg -m 256 -smp 2 \
    -display none -no-reboot -kernel "$VM_GUEST/vmlinuz" -initrd "$VM_GUEST/initrd.img" \
    -append "console=ttyS0 quiet nube.poweroff=1" -serial "file:$tmp/console" \
    -drive "file=$tmp/disk.img,format=raw,if=none,id=d0" -device virtio-blk-pci,drive=d0 \
    -netdev "user,id=n0,net=169.254.0.0/16,host=169.254.169.1,dhcpstart=169.254.169.10,guestfwd=tcp:169.254.169.254:80-cmd:$bb httpd -i -h $tmp/md" \
    -device virtio-net-pci,netdev=n0,romfile= &
qpid=$!
wait $qpid && rc=0 || rc=$?
qpid=""
t1=$(date +%s%N)
tr -d "\r" <"$tmp/console" 2>/dev/null | grep -a -v '^\[' || true
[[ $rc == 0 ]] || vm_fail "qemu exited $rc"
c="$(tr -d '\r' <"$tmp/console")"
for want in "nube-guest: init" "nube-guest: cpus 2 mem" \
    "nube-guest: disk vda sectors 32768 head 4e5542454449534b4d41524b45523031" \
    "nube-guest: eth0 169.254.169.10/16 via 169.254.169.1" "nube-guest: metadata hostname tcg-guest keys 1" \
    "user-data ran as 0 on tcg-guest" "nube-guest: user_data exit 0" "nube-guest ready"; do
    grep -qF "$want" <<<"$c" || vm_fail "console lacks: $want"
done
echo "PASS: TCG boot to ready and power-off in $(((t1 - t0) / 1000000)) ms (test $(vm_elapsed))"
