#!/bin/bash
# Boot benchmark: cloud-vmm and QEMU side by side, on real KVM inside the
# nested test host (scripts/testhost/run.sh), same kernel, initramfs, memory
# and vCPUs; prints the median time from process start to the guest's /init
# milestone and ready line, the ratio, and each monitor's own memory.
# No CMake needed: the runner (bench/vmm_boot.c) is compiled here with gcc.
#
#   bench/vmm_boot.sh [--runs N] [--vcpus N] [--memory MIB] [--machine microvm|pc]
#                     [--kernel bzimage|pvh] [--vmm PATH] [--no-vmm] [--no-qemu]
#
# --vmm defaults to <repo>/build/hypervisor/vmm/cloud-vmm; if it is missing,
# only QEMU runs (and the script says so). Times are in the nested host, where
# KVM itself runs on an emulated CPU: compare the ratio, not the absolutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=10 vcpus=1 memory=256 machine=microvm kind=bzimage vmm="$root/build/hypervisor/vmm/cloud-vmm"
do_vmm=1 do_qemu=1
while (($#)); do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --vcpus) vcpus=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --machine) machine=$2; shift 2 ;;
    --kernel) kind=$2; shift 2 ;;
    --vmm) vmm=$2; shift 2 ;;
    --no-vmm) do_vmm=0; shift ;;
    --no-qemu) do_qemu=0; shift ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done
case $kind in bzimage) kernel=/guest/vmlinuz ;; pvh) kernel=/guest/vmlinux ;; *) exit 2 ;; esac
if ((do_vmm)) && [[ ! -x $vmm ]]; then
    echo "vmm_boot: $vmm not built: QEMU only" >&2
    do_vmm=0
fi
((do_vmm)) && vmm="$(readlink -f "$vmm")" # the test host has it at its absolute path

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gcc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$tmp/vmm_boot" "$root/bench/vmm_boot.c"
"$root/scripts/build-guest-image.sh" >&2

cmdline="console=ttyS0 reboot=k panic=1 quiet nube.dhcp=0"
bins=(--bin "$tmp/vmm_boot")
# The monitors take turns, one run each, so that the (shared, noisy) machine's
# load falls on both alike.
cmds="cd /tmp
i=0
while [ \$i -lt $runs ]; do
    i=\$((i + 1))"
if ((do_vmm)); then
    bins+=(--bin "$vmm")
    cmds+="
    $tmp/vmm_boot --runs 1 --memory $memory --name cloud-vmm -- $vmm --kernel $kernel \\
        --initrd /guest/initrd.img --cmdline '$cmdline' --memory $memory --vcpus $vcpus \\
        --console stdio --debug-port-log | grep -v '^summary'"
fi
if ((do_qemu)); then
    # QEMU boots the ELF vmlinux through its PVH entry too (x86 -kernel loader).
    cmds+="
    $tmp/vmm_boot --runs 1 --memory $memory --name qemu-$machine -- qemu-system-x86_64 -M $machine \\
        -accel kvm -cpu host -m $memory -smp $vcpus -nodefaults -no-user-config -display none \\
        -no-reboot -kernel $kernel -initrd /guest/initrd.img -append '$cmdline' \\
        -serial stdio -chardev file,id=dbg,path=/dev/fd/3 -device isa-debugcon,iobase=0xe9,chardev=dbg \\
        | grep -v '^summary'"
fi
cmds+="
done"
echo "vmm_boot: $runs runs each, $vcpus vCPU(s), $memory MiB, kernel $kind, QEMU -M $machine" >&2
"$root/scripts/testhost/run.sh" --qemu --guest "${bins[@]}" --timeout $((300 + runs * 60)) \
    -- "$cmds" | tee "$tmp/out" || echo "vmm_boot: the test host run failed" >&2

# The comparison: medians of the run lines
#   NAME run K: init X ms, ready X ms, debug port X ms, rss X MiB, guest RAM X MiB, own X MiB
awk '
function median(list,    a, n, i, j, t) {
    n = split(list, a, " ")
    if (n == 0) return -1
    for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/ run [0-9]+: / {
    n = $1
    if (!(n in seen)) { seen[n] = 1; names[++count] = n; failed[n] = 0 }
    if ($0 ~ /failed/) { failed[n]++; next }
    split($0, f, /[:,] */)
    for (k in f) {
        m = split(f[k], w, " ")
        if (m < 2) continue
        val = w[m - 1]
        if (f[k] ~ /^init /) L_init[n] = L_init[n] " " val
        else if (f[k] ~ /^ready /) L_ready[n] = L_ready[n] " " val
        else if (f[k] ~ /^debug port /) { if (val >= 0) L_port[n] = L_port[n] " " val }
        else if (f[k] ~ /^rss /) L_rss[n] = L_rss[n] " " val
        else if (f[k] ~ /^own /) L_own[n] = L_own[n] " " val
    }
}
END {
    for (i = 1; i <= count; i++) {
        n = names[i]
        init[n] = median(L_init[n]); ready[n] = median(L_ready[n]); port[n] = median(L_port[n])
        rss[n] = median(L_rss[n]); own[n] = median(L_own[n])
    }
    if (!count) { print "vmm_boot: no results"; exit 1 }
    printf "\n%-14s %12s %12s %14s %10s %10s %7s\n", "monitor", "init ms", "ready ms",
        "debug port ms", "RSS MiB", "own MiB", "failed"
    for (i = 1; i <= count; i++) {
        n = names[i]
        printf "%-14s %12.1f %12.1f %14s %10.1f %10.1f %7d\n", n, init[n], ready[n],
            (port[n] < 0 ? "-" : sprintf("%.1f", port[n])), rss[n], own[n], failed[n]
    }
    if (count == 2 && init[names[1]] > 0 && ready[names[1]] > 0) {
        a = names[1]; b = names[2]
        printf "ratio %s/%s: init %.2f, ready %.2f, own memory %.2f\n", b, a,
            init[b] / init[a], ready[b] / ready[a], (own[a] > 0 ? own[b] / own[a] : 0)
    }
}' "$tmp/out"
