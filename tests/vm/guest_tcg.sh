#!/bin/bash
# The Nube guest image boots under QEMU TCG on this machine to its ready line,
# with a virtio-blk disk and virtio-net on QEMU user networking; the init finds
# the disk's marker, gets a DHCP lease, reads the metadata service (served by
# busybox httpd through a guestfwd) and runs the user data. Then the ACPI power
# button (QMP system_powerdown, what libvirt's shutdown does) powers it off:
# QEMU exits after the guest's acpid handler and the kernel's power-off.
#
#   tests/vm/guest_tcg.sh [GUEST_DIR]   # default: build the image in the cache
. "$(dirname "$0")/lib.sh"
if [[ -n ${1:-} ]]; then
    vm_need_qemu
    VM_GUEST=$1
else
    vm_build_guest
fi
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

# QMP on a pipe chardev (QEMU opens qmp.in and qmp.out read-write, so no
# open blocks): no socket client needed.
mkfifo "$tmp/qmp.in" "$tmp/qmp.out"
t0=$(date +%s%N)
timeout 120 qemu-system-x86_64 -nodefaults -no-user-config -M pc -accel tcg -m 256 -smp 2 \
    -display none -no-reboot -kernel "$VM_GUEST/vmlinuz" -initrd "$VM_GUEST/initrd.img" \
    -append "console=ttyS0 quiet" -serial "file:$tmp/console" \
    -chardev "pipe,id=qmp,path=$tmp/qmp" -mon chardev=qmp,mode=control \
    -drive "file=$tmp/disk.img,format=raw,if=none,id=d0" -device virtio-blk-pci,drive=d0 \
    -netdev "user,id=n0,net=169.254.0.0/16,host=169.254.169.1,dhcpstart=169.254.169.10,guestfwd=tcp:169.254.169.254:80-cmd:$bb httpd -i -h $tmp/md" \
    -device virtio-net-pci,netdev=n0,romfile= &
qpid=$!
exec 3<>"$tmp/qmp.in" 4<>"$tmp/qmp.out"

# qmp_read PATTERN [SECONDS]: read QMP lines into qmp.log until one matches
# (within SECONDS, default 10, for each line).
qmp_read() {
    local line
    while IFS= read -r -t "${2:-10}" line <&4; do
        printf '%s\n' "${line%$'\r'}" >>"$tmp/qmp.log"
        [[ $line == *$1* ]] && return 0
    done
    return 1
}
qmp_read '"QMP"' || vm_fail "no QMP greeting"
echo '{"execute": "qmp_capabilities"}' >&3
qmp_read '"return"' || vm_fail "qmp_capabilities unanswered"

# The ready line (the guest's acpid listens by then).
while ! grep -qaF "nube-guest ready" "$tmp/console" 2>/dev/null; do
    kill -0 $qpid 2>/dev/null || break
    sleep 0.05
done
t1=$(date +%s%N)
if grep -qaF "nube-guest ready" "$tmp/console"; then
    echo '{"execute": "system_powerdown"}' >&3
    qmp_read '"return"' || vm_fail "system_powerdown unanswered"
    # The guest powers off: QEMU exits by itself (the time is checked below).
    for _ in $(seq 300); do
        kill -0 $qpid 2>/dev/null || break
        sleep 0.1
    done
    kill $qpid 2>/dev/null && killed=1
fi
wait $qpid && rc=0 || rc=$?
qpid=""
t2=$(date +%s%N)
tr -d "\r" <"$tmp/console" 2>/dev/null | grep -a -v '^\[' || true
[[ -z ${killed:-} ]] || vm_fail "QEMU still running 30 s after system_powerdown (killed)"
[[ $rc == 0 ]] || vm_fail "qemu exited $rc"
c="$(tr -d '\r' <"$tmp/console")"
for want in "nube-guest: init" "nube-guest: cpus 2 mem" \
    "nube-guest: disk vda sectors 32768 head 4e5542454449534b4d41524b45523031" \
    "nube-guest: eth0 169.254.169.10/16 via 169.254.169.1" "nube-guest: metadata hostname tcg-guest keys 1" \
    "user-data ran as 0 on tcg-guest" "nube-guest: user_data exit 0" "nube-guest ready" \
    "nube-guest: power button: powering off" "reboot: Power down"; do
    grep -qF "$want" <<<"$c" || vm_fail "console lacks: $want"
done
# QEMU's own account: the guest shut down (not a reset, not a QEMU quit); the
# event is in the pipe already.
if ! qmp_read '"SHUTDOWN"' 1 || ! grep -q '"SHUTDOWN".*"guest-shutdown"' "$tmp/qmp.log"; then
    vm_fail "no guest-shutdown SHUTDOWN event: $(tr '\n' ' ' <"$tmp/qmp.log")"
fi
((t2 - t1 < 10000000000)) || vm_fail "power-off took $(((t2 - t1) / 1000000)) ms after system_powerdown"
echo "PASS: TCG boot to ready in $(((t1 - t0) / 1000000)) ms; system_powerdown to QEMU exit $(((t2 - t1) / 1000000)) ms (test $(vm_elapsed))"
