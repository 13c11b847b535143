#!/bin/bash
# The HVM guest disk (disk.img: MBR, syslinux, the same kernel and initramfs)
# boots through SeaBIOS under QEMU TCG on this machine to the ready line.
. "$(dirname "$0")/lib.sh"
vm_build_guest
[[ -s $VM_GUEST/disk.img ]] || vm_fail "no disk.img in $VM_GUEST"

tmp="$(mktemp -d)"
qpid=""
trap '[[ -n $qpid ]] && kill $qpid 2>/dev/null; rm -rf "$tmp"' EXIT
t0=$(date +%s%N)
qemu-system-x86_64 -nodefaults -no-user-config -M pc -accel tcg -m 256 -display none -no-reboot \
    -drive "file=$VM_GUEST/disk.img,format=raw,if=virtio,snapshot=on" -serial "file:$tmp/console" \
    2>"$tmp/qemu.log" &
qpid=$!
ok=0
for _ in $(seq 1200); do
    grep -aq 'nube-guest ready' "$tmp/console" 2>/dev/null && { ok=1; break; }
    kill -0 $qpid 2>/dev/null || break
    sleep 0.1
done
t1=$(date +%s%N)
tr -d '\r' <"$tmp/console" | grep -a -v '^\[' || true
((ok)) || vm_fail "no ready line within 120 s"
for want in "SYSLINUX" "nube-guest: init" "nube-guest: disk vda" "nube-guest ready"; do
    grep -aqF "$want" "$tmp/console" || vm_fail "console lacks: $want"
done
echo "PASS: HVM disk boots through SeaBIOS and syslinux to ready in $(((t1 - t0) / 1000000)) ms (test $(vm_elapsed))"
