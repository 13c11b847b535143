#!/bin/bash
# linux_guest.sh CLOUD_VMM: Debian's kernel drives cloud-vmm's virtio devices.
# Inside the nested test host (real KVM, scripts/testhost/run.sh), cloud-vmm
# boots the Nube guest with a virtio-blk disk, virtio-net on the test host's
# bridge and virtio-rng. The guest's user data (from the metadata service, so
# virtio-net works first) writes a marker to the disk with fsync (a FLUSH
# request), reads it back with O_DIRECT, and reads /dev/hwrng. Afterwards the
# test host checks that the marker reached the image file. A second boot with
# the image read-only must see a read-only disk and leave the image alone; a
# third with pci=nomsi runs the devices on INTx. Each boot gets 120 s (about
# 10 s is usual here): a boot that fails or hangs prints its whole console.
. "$(dirname "$0")/../vm/lib.sh"
vmm=${1:?path to cloud-vmm}
[[ -x $vmm ]] || vm_skip "cloud-vmm not built ($vmm)"
vm_build_guest
vmdir="$vm_root/tests/vm"
out="$("$vm_root/scripts/testhost/run.sh" --bin "$vmm" --guest --timeout 450 \
    --file "$vmdir/hostnet.sh:/files/hostnet.sh" -- "
set -e
[ -c /dev/kvm ] || { echo 'no /dev/kvm in the test host'; exit 1; }
sh /files/hostnet.sh
cat >/tmp/md/openstack/latest/user_data <<'UD'
#!/bin/sh
echo NUBE-LINUX-WROTE-SECTOR-100 | dd of=/dev/vda bs=512 seek=100 count=1 conv=sync,fsync 2>/dev/null
echo \"vtest: write rc \$?\"
echo \"vtest: readback \$(dd if=/dev/vda bs=512 skip=100 count=1 iflag=direct 2>/dev/null | head -c 27)\"
echo \"vtest: ro \$(cat /sys/block/vda/ro) cache \$(cat /sys/block/vda/queue/write_cache)\"
echo \"vtest: rng \$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)\"
echo \"vtest: random \$(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n')\"
echo \"vtest: virtio \$(ls /sys/bus/virtio/devices | wc -l) devices, msix \$(grep -c virtio /proc/interrupts)\"
UD
set +e
timeout 120 $vmm --kernel /guest/vmlinux --initrd /guest/initrd.img \
    --cmdline 'console=ttyS0 reboot=k panic=1 quiet nube.poweroff=1' --memory 256 \
    --disk /tmp/disk.img --net tap=tap0 --rng --console /tmp/console
rc=\$?
set -e
tr -d '\r' </tmp/console
echo \"cloud-vmm exited \$rc\"
echo \"image sector 100: \$(dd if=/tmp/disk.img bs=512 skip=100 count=1 2>/dev/null | head -c 27)\"
# the same guest again on the image read-only: Linux sees VIRTIO_BLK_F_RO
dd if=/dev/zero of=/tmp/disk.img bs=512 seek=100 count=1 conv=notrunc 2>/dev/null
set +e
timeout 120 $vmm --kernel /guest/vmlinux --initrd /guest/initrd.img \
    --cmdline 'console=ttyS0 reboot=k panic=1 quiet nube.poweroff=1' --memory 256 \
    --disk /tmp/disk.img,ro --net tap=tap0 --console /tmp/console-ro
rc=\$?
set -e
tr -d '\r' </tmp/console-ro | sed -n 's/^vtest: /vtest-ro: /p'
[ \$rc = 0 ] || tr -d '\r' </tmp/console-ro | sed 's/^/ro console: /'
echo \"read-only run exited \$rc\"
echo \"image sector 100 after the read-only run: \$(dd if=/tmp/disk.img bs=512 skip=100 count=1 2>/dev/null | tr -d '\\\\0' | head -c 27)\"
# and once more without MSI: the devices interrupt through INTx (ACPI _PRT)
set +e
timeout 120 $vmm --kernel /guest/vmlinux --initrd /guest/initrd.img \
    --cmdline 'console=ttyS0 reboot=k panic=1 quiet nube.poweroff=1 pci=nomsi' --memory 256 \
    --disk /tmp/disk.img --net tap=tap0 --rng --console /tmp/console-intx
rc=\$?
set -e
tr -d '\r' </tmp/console-intx | sed -n 's/^vtest: /vtest-intx: /p; s/^nube-guest ready/intx: nube-guest ready/p'
[ \$rc = 0 ] || tr -d '\r' </tmp/console-intx | sed 's/^/intx console: /'
echo \"INTx run exited \$rc\"
" 2>&1)" && rc=0 || rc=$?
echo "$out"
[[ $rc == 0 ]] || vm_fail "test host command exited $rc"
fail=0
for want in "cloud-vmm exited 0" "vtest: write rc 0" "vtest: readback NUBE-LINUX-WROTE-SECTOR-100" \
    "vtest: ro 0 cache write back" "vtest: rng virtio_rng.0" "vtest: virtio 3 devices" \
    "image sector 100: NUBE-LINUX-WROTE-SECTOR-100" "nube-guest ready" \
    "read-only run exited 0" "vtest-ro: ro 1" "vtest-ro: write rc 1" \
    "INTx run exited 0" "vtest-intx: readback NUBE-LINUX-WROTE-SECTOR-100" \
    "vtest-intx: rng virtio_rng.0" "intx: nube-guest ready"; do
    grep -qF "$want" <<<"$out" || {
        echo "missing: $want"
        fail=1
    }
done
grep -qx "image sector 100 after the read-only run: " <<<"$out" || {
    echo "the read-only run changed the image"
    fail=1
}
random=$(sed -n 's/^vtest: random \([0-9a-f]*\).*/\1/p' <<<"$out" | head -1)
[[ ${#random} == 32 && $random != 00000000000000000000000000000000 ]] || {
    echo "no 16 random bytes from /dev/hwrng: '$random'"
    fail=1
}
msix=$(sed -n 's/^vtest: .*msix \([0-9]*\).*/\1/p' <<<"$out" | head -1)
# one MSI-X vector per queue plus one for configuration: blk 2, net 3, rng 2
[[ ${msix:-0} -ge 7 ]] || {
    echo "expected 7 MSI-X vectors of the virtio devices in /proc/interrupts, got '${msix:-}'"
    fail=1
}
[[ $fail == 0 ]] || vm_fail "Linux and cloud-vmm's virtio devices"
echo "PASS: Linux writes, flushes and reads virtio-blk, uses virtio-net and virtio-rng, on MSI-X and on INTx (test $(vm_elapsed))"
