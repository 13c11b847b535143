#!/bin/bash
# Run commands inside a nested test host: a QEMU TCG VM with an emulated AMD-V
# CPU whose /dev/kvm is real KVM (see scripts/README.md).
#
#   scripts/testhost/run.sh [options] -- COMMAND...
#
# COMMAND runs with busybox sh in the test host; its output (stdout and stderr)
# is printed here and its exit status is this script's. Exit 124 on timeout,
# 125 if the test host failed before the command finished.
#
# Options:
#   --files DIR        DIR's contents go to /files (the command's working folder); repeatable
#   --file SRC[:DEST]  one file (or folder) at DEST (absolute; default: SRC's own path)
#   --bin PATH         an executable and the shared libraries ldd lists, at their own paths
#   --qemu             qemu-system-x86_64, its libraries and its x86 firmware
#   --guest            the Nube guest image (built if needed) at /guest
#   --guest-disk       also its HVM disk, /guest/disk.img (47 MiB)
#   --module NAME      load kernel module NAME (and what it depends on) too; repeatable
#   --net              QEMU user networking: eth0 is 10.0.2.15/24, the host is 10.0.2.2
#   --port HOST:GUEST  forward TCP port HOST on 127.0.0.1 to the test host's GUEST (implies --net)
#   --memory MIB       test host RAM (default 4096)
#   --cpus N           test host vCPUs (default 2, multi-threaded TCG)
#   --timeout S        kill the test host after S seconds (default 600)
#   --console FILE     keep the test host's console (kernel log, init) in FILE
#   --script FILE      run FILE instead of COMMAND
#   --quiet            do not print the test host's boot times on stderr
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
scripts="$(dirname "$here")"
# shellcheck source=../guest/lib.sh
. "$scripts/guest/lib.sh"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

files=() adds=() bins=() modules=() ports=()
qemu=0 guest=0 net=0 memory=4096 cpus=2 timeout=600 console="" script="" quiet=0
while (($#)); do
    case $1 in
    --files) files+=("$2"); shift 2 ;;
    --file) adds+=("$2"); shift 2 ;;
    --bin) bins+=("$2"); shift 2 ;;
    --qemu) qemu=1; shift ;;
    --guest) guest=1; shift ;;
    --guest-disk) guest=2; shift ;;
    --module) modules+=("$2"); shift 2 ;;
    --net) net=1; shift ;;
    --port) ports+=("$2"); net=1; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --console) console=$2; shift 2 ;;
    --script) script=$2; shift 2 ;;
    --quiet) quiet=1; shift ;;
    --) shift; break ;;
    -h | --help) usage ;;
    *) usage ;;
    esac
done
[[ -n $script || $# -gt 0 ]] || usage

nube_need_tools qemu-system-x86_64:qemu-system-x86 apt-get:apt dpkg-deb:dpkg \
    objcopy:binutils cpio:cpio ldd:libc-bin
cache="$(nube_cache_root)"
mkdir -p "$cache/testhost"
cache="$(cd "$cache" && pwd)"

log() { ((quiet)) || printf 'testhost: %s\n' "$*" >&2; }
ms() { echo $(($(date +%s%N) / 1000000)); }
t_start=$(ms)

nube_fetch_inputs "$cache"
kmod_base="usr/lib/modules/$NUBE_KERNEL_RELEASE/kernel"

# KVM on the emulated AMD-V CPU, and what compute hosts build networks with.
# Two chains, loaded in parallel by /init; more with --module (e.g. vxlan, 8021q).
kvm_modules=(irqbypass kvm kvm_amd)
host_modules=(tun tap bridge veth vhost_net virtio_ring virtio virtio_pci_legacy_dev
    virtio_pci_modern_dev virtio_pci virtio_net virtio_blk failover net_failover)

# ---- the base initramfs (busybox, modules, /init), cached by its inputs ----
base_key="$({
    echo "$NUBE_INPUT_VERSIONS ${kvm_modules[*]} ${host_modules[*]}"
    cat "$here/run.sh" "$here/init" "$scripts/guest/lib.sh"
} | sha256sum | cut -c1-16)"
base="$cache/testhost/base-$base_key.cpio"
if [[ ! -s $base ]]; then
    exec 9>"$cache/testhost/.lock"
    flock 9
    if [[ ! -s $base ]]; then
        broot="$(mktemp -d "$cache/testhost/.base.XXXXXX")"
        mkdir -p "$broot"/usr/{bin,sbin,lib,lib64} "$broot"/{etc/testhost,proc,sys,dev,tmp,run,root,var,files}
        ln -s usr/bin "$broot/bin"
        ln -s usr/sbin "$broot/sbin"
        ln -s usr/lib "$broot/lib"
        ln -s usr/lib64 "$broot/lib64"
        cp "$NUBE_BUSYBOX_DIR/bin/busybox" "$broot/usr/bin/busybox"
        for applet in $("$broot/usr/bin/busybox" --list); do
            [[ $applet == busybox ]] || ln -s busybox "$broot/usr/bin/$applet"
        done
        install -m 0755 "$here/init" "$broot/init"
        echo 'root:x:0:0:root:/root:/bin/sh' >"$broot/etc/passwd"
        echo 'root:x:0:' >"$broot/etc/group"
        for list in kvm host; do
            if [[ $list == kvm ]]; then mods=("${kvm_modules[@]}"); else mods=("${host_modules[@]}"); fi
            while read -r ko; do
                rel="${ko#"$NUBE_KERNEL_DIR/lib/modules/$NUBE_KERNEL_RELEASE/kernel/"}"
                mkdir -p "$broot/$kmod_base/$(dirname "$rel")"
                nube_module_copy_unsigned "$ko" "$broot/$kmod_base/$rel"
                echo "/$kmod_base/$rel" >>"$broot/etc/testhost/modules.$list"
            done < <(nube_modules_resolve "${mods[@]}")
        done
        nube_cpio_newc "$broot" "$base.tmp"
        mv "$base.tmp" "$base"
        ls -1t "$cache/testhost"/base-*.cpio | tail -n +3 | xargs -r rm -f
        rm -rf "$broot"
        log "built base initramfs $base"
    fi
    exec 9>&-
fi

# ---- this run's files: symlinks in a staging tree, dereferenced by cpio ----
tmp="$(mktemp -d "${TMPDIR:-/tmp}/nube-testhost.XXXXXX")"
qpid="" dog="" tailpid=""
cleanup() {
    set +e # a failing kill or wait must not cut the cleanup short
    [[ -n $dog ]] && kill "$dog" 2>/dev/null
    [[ -n $qpid ]] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
    [[ -n $tailpid ]] && kill "$tailpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
stage="$tmp/stage"
mkdir -p "$stage/testhost" "$stage/etc/testhost"

# stage_add SRC DEST: DEST (absolute) in the test host is SRC here. DEST's
# folder is made canonical (the test host has the same /lib -> usr/lib links
# as Debian), so libraries land where the loader looks.
stage_add() {
    local src=$1 dest=$2 dir
    [[ -e $src ]] || nube_die "no such file: $src"
    dir="$(dirname "$dest")"
    if [[ -d $dir ]]; then dir="$(readlink -f "$dir")"; fi
    mkdir -p "$stage$dir"
    ln -sfn "$(readlink -f "$src")" "$stage$dir/$(basename "$dest")"
}

stage_bin() {
    local bin lib
    bin="$(command -v "$1" || true)"
    [[ -n $bin ]] || nube_die "no such executable: $1"
    bin="$(readlink -f "$bin")"
    stage_add "$bin" "$bin"
    for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
        stage_add "$lib" "$lib"
    done
}

for d in "${files[@]}"; do
    [[ -d $d ]] || nube_die "--files $d: not a folder"
    mkdir -p "$stage/files"
    for f in "$d"/* "$d"/.[!.]*; do
        [[ -e $f ]] && ln -sfn "$(readlink -f "$f")" "$stage/files/$(basename "$f")"
    done
done
for a in "${adds[@]}"; do
    if [[ $a == *:* ]]; then stage_add "${a%%:*}" "${a#*:}"; else stage_add "$a" "$(readlink -f "$a")"; fi
done
for b in "${bins[@]}"; do stage_bin "$b"; done
if ((qemu)); then
    stage_bin qemu-system-x86_64
    for f in /usr/share/seabios/* /usr/lib/ipxe/qemu/* /usr/share/qemu/{qboot.rom,bios-microvm.bin,kvmvapic.bin,linuxboot.bin,linuxboot_dma.bin,multiboot.bin,multiboot_dma.bin,pvh.bin,sgabios.bin}; do
        [[ -e $f ]] && stage_add "$f" "$f"
    done
fi
if ((guest)); then
    "$scripts/build-guest-image.sh" "$cache/guest" >/dev/null
    for f in vmlinuz vmlinux initrd.img; do stage_add "$cache/guest/$f" "/guest/$f"; done
    ((guest == 2)) && stage_add "$cache/guest/disk.img" /guest/disk.img
fi
: >"$stage/etc/testhost/modules.extra"
if ((${#modules[@]})); then
    while read -r ko; do
        rel="${ko#"$NUBE_KERNEL_DIR/lib/modules/$NUBE_KERNEL_RELEASE/kernel/"}"
        stage_add "$ko" "/$kmod_base/$rel"
        echo "/$kmod_base/$rel" >>"$stage/etc/testhost/modules.extra"
    done < <(nube_modules_resolve "${modules[@]}")
fi
if [[ -n $script ]]; then
    cp "$script" "$stage/testhost/cmd.sh"
else
    printf '%s\n' "$*" >"$stage/testhost/cmd.sh"
fi

# The files (big: QEMU, the guest image) go in an archive cached by their
# names, sizes and times; the command and module list in a small one.
mkdir -p "$tmp/run/testhost" "$tmp/run/etc/testhost"
mv "$stage/testhost/cmd.sh" "$tmp/run/testhost/cmd.sh"
mv "$stage/etc/testhost/modules.extra" "$tmp/run/etc/testhost/modules.extra"
files_key="$( (cd "$stage" && find -L . -mindepth 1 \( -type d -printf '%p d\n' \) -o -printf '%p %y %s %T@\n' | LC_ALL=C sort) |
    sha256sum | cut -c1-16)"
files_cpio="$cache/testhost/files-$files_key.cpio"
if [[ ! -s $files_cpio ]]; then
    (cd "$stage" && find -L . -mindepth 1 | LC_ALL=C sort |
        cpio -o -H newc -L -R 0:0 --quiet) >"$tmp/files.cpio"
    mv "$tmp/files.cpio" "$files_cpio"
    # Keep the four most recent file archives.
    ls -1t "$cache/testhost"/files-*.cpio | tail -n +5 | xargs -r rm -f
fi
touch "$files_cpio"
(cd "$tmp/run" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp/run.cpio"
# Concurrent runs prune the caches: read from hard links that survive that.
ln -f "$base" "$tmp/base.cpio" 2>/dev/null || cp "$base" "$tmp/base.cpio"
ln -f "$files_cpio" "$tmp/files.cpio" 2>/dev/null || cp "$files_cpio" "$tmp/files.cpio"
cat "$tmp/base.cpio" "$tmp/files.cpio" "$tmp/run.cpio" >"$tmp/initrd"
rm -f "$tmp/base.cpio" "$tmp/files.cpio" "$tmp/run.cpio"
log "initramfs $(($(stat -c %s "$tmp/initrd") / 1048576)) MiB prepared in $(($(ms) - t_start)) ms"

# ---- boot it ----
netargs=()
if ((net)); then
    fwd=""
    for p in "${ports[@]}"; do fwd+=",hostfwd=tcp:127.0.0.1:${p%%:*}-:${p#*:}"; done
    netargs=(-netdev "user,id=n0$fwd" -device "virtio-net-pci,netdev=n0,romfile=")
fi
: >"$tmp/out"
t_boot=$(ms)
# The kernel: the ELF vmlinux through its PVH entry (no decompression under
# TCG, no real-mode setup), else the bzImage.
kernel="$NUBE_KERNEL_DIR/boot/vmlinuz-$NUBE_KERNEL_RELEASE"
if [[ ${NUBE_TESTHOST_KERNEL:-pvh} == pvh ]]; then
    "$scripts/build-guest-image.sh" "$cache/guest" >/dev/null
    kernel="$cache/guest/vmlinux"
fi
qemu-system-x86_64 -nodefaults -no-user-config -machine "${NUBE_TESTHOST_MACHINE:-q35}" \
    -accel tcg,thread=multi -cpu EPYC,+svm -smp "$cpus" -m "$memory" -display none -no-reboot \
    -kernel "$kernel" -initrd "$tmp/initrd" \
    -append "console=ttyS0 panic=-1 quiet cryptomgr.notests i8042.nokbd i8042.noaux i8042.nomux i8042.nopnp tsc=reliable ${NUBE_TESTHOST_APPEND:-}" \
    -serial "file:$tmp/console" -serial "file:$tmp/out" -serial "file:$tmp/rc" \
    "${netargs[@]}" >"$tmp/qemu.log" 2>&1 &
qpid=$!
watchdog() {
    local s
    trap 'kill $s 2>/dev/null; exit 0' TERM
    sleep "$timeout" &
    s=$!
    wait "$s" && touch "$tmp/timedout" && kill "$qpid"
}
watchdog </dev/null >/dev/null 2>&1 &
dog=$!
# (sed -u: unbuffered, so the output streams while the command runs.)
tail -s 0.1 -n +1 -f --pid="$qpid" "$tmp/out" 2>/dev/null | sed -u 's/\r$//' &
tailpid=$!
set +e
wait "$qpid"
qrc=$?
set -e
qpid=""
wait "$tailpid" 2>/dev/null || true
tailpid=""
kill "$dog" 2>/dev/null || true
wait "$dog" 2>/dev/null || true
dog=""
[[ -n $console ]] && tr -d '\r' <"$tmp/console" >"$console"

boot_s="$(tr -d '\r' <"$tmp/console" | sed -n 's/^testhost: ready \(.*\)s$/\1/p')"
log "test host ran $(($(ms) - t_boot)) ms (kernel to command start: ${boot_s:-?} s in the guest)"
if [[ -e $tmp/timedout ]]; then
    echo "testhost: timed out after ${timeout}s; console tail:" >&2
    tr -d '\r' <"$tmp/console" | tail -n 20 >&2
    exit 124
fi
rc="$(tr -dc '0-9' <"$tmp/rc")"
if [[ -z $rc ]]; then
    echo "testhost: the test host stopped before the command finished (qemu exit $qrc)" >&2
    tail -n 5 "$tmp/qemu.log" >&2
    tr -d '\r' <"$tmp/console" | tail -n 20 >&2
    exit 125
fi
exit "$rc"
