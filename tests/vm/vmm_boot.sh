#!/bin/bash
# vmm_boot.sh bzimage|pvh VCPUS CLOUD_VMM: inside the nested test host,
# cloud-vmm boots the Nube guest (the bzImage, or the ELF vmlinux through its
# PVH entry) with a virtio-blk disk and virtio-net on the test host's bridge,
# and the guest reaches its ready line (DHCP lease, metadata, user data), then
# powers off.
. "$(dirname "$0")/lib.sh"
kind=${1:?bzimage|pvh} cpus=${2:?vcpus} vmm=${3:?path to cloud-vmm}
case $kind in
bzimage) kernel=/guest/vmlinuz ;;
pvh) kernel=/guest/vmlinux ;;
*) vm_fail "unknown kernel kind $kind" ;;
esac
[[ -x $vmm ]] || vm_skip "cloud-vmm not built ($vmm)"
vmm="$(readlink -f "$vmm")" # the test host has it at its absolute path
vm_build_guest
here="$(cd "$(dirname "$0")" && pwd)"
out="$("$vm_root/scripts/testhost/run.sh" --bin "$vmm" --guest --timeout 400 \
    --file "$here/hostnet.sh:/files/hostnet.sh" --file "$here/check_console.sh:/files/check_console.sh" -- "
set -e
[ -c /dev/kvm ] || { echo 'no /dev/kvm in the test host'; exit 1; }
sh /files/hostnet.sh
t0=\$(date +%s)
set +e
timeout 300 $vmm --kernel $kernel --initrd /guest/initrd.img \
    --cmdline 'console=ttyS0 reboot=k panic=1 quiet nube.poweroff=1' --memory 256 --vcpus $cpus \
    --disk /tmp/disk.img --net tap=tap0,mac=52:54:00:4e:75:01 --console /tmp/console --debug-port-log
rc=\$?
set -e
echo \"cloud-vmm exited \$rc after \$((\$(date +%s) - t0)) s\"
tr -d '\r' </tmp/console
sh /files/check_console.sh /tmp/console $cpus
[ \$rc = 0 ] || { echo 'cloud-vmm did not exit 0 (power-off)'; exit 1; }
" 2>&1)" && rc=0 || rc=$?
echo "$out"
[[ $rc == 0 ]] || vm_fail "cloud-vmm, $kind, $cpus vCPU(s): test host command exited $rc"
echo "PASS: cloud-vmm boots the $kind kernel with $cpus vCPU(s) to ready (test $(vm_elapsed))"
