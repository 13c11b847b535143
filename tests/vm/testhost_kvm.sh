#!/bin/bash
# The nested test host works: /dev/kvm inside it is KVM on the emulated AMD-V
# CPU, and Debian's QEMU with -accel kvm there boots the Nube guest to its
# ready line with virtio-blk and virtio-net on the test host's bridge (DHCP,
# metadata, user data).
. "$(dirname "$0")/lib.sh"
vm_build_guest
here="$(cd "$(dirname "$0")" && pwd)"
out="$("$vm_root/scripts/testhost/run.sh" --qemu --guest --timeout 300 \
    --file "$here/hostnet.sh:/files/hostnet.sh" --file "$here/check_console.sh:/files/check_console.sh" -- '
set -e
[ -c /dev/kvm ] || { echo "no /dev/kvm in the test host"; exit 1; }
grep -q svm /proc/cpuinfo || { echo "no svm flag"; exit 1; }
sh /files/hostnet.sh
t0=$(date +%s)
timeout 240 qemu-system-x86_64 -nodefaults -no-user-config -M pc -accel kvm -cpu host -m 256 -smp 2 \
    -display none -no-reboot -kernel /guest/vmlinuz -initrd /guest/initrd.img \
    -append "console=ttyS0 quiet nube.poweroff=1" -serial file:/tmp/console \
    -drive file=/tmp/disk.img,format=raw,if=none,id=d0 -device virtio-blk-pci,drive=d0 \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=n0,romfile=
echo "qemu -accel kvm: guest powered off after $(($(date +%s) - t0)) s"
tr -d "\r" </tmp/console | grep -v "^\["
sh /files/check_console.sh /tmp/console 2
' 2>&1)" && rc=0 || rc=$?
echo "$out"
[[ $rc == 0 ]] || vm_fail "test host command exited $rc"
echo "PASS: nested KVM boot in the test host (test $(vm_elapsed))"
