#!/bin/bash
# Build Nube's small guest image from Debian packages (see scripts/README.md).
#
#   scripts/build-guest-image.sh [OUTDIR]
#
# OUTDIR (default $NUBE_CACHE_DIR/guest, NUBE_CACHE_DIR defaulting to
# <repo>/.cache) receives:
#   vmlinuz     the cloud kernel's bzImage
#   vmlinux     the ELF kernel from its payload (has the PVH entry note)
#   initrd.img  uncompressed cpio newc: busybox-static, virtio, ACPI button and
#               evdev modules, /init, acpid's power button handler
#   disk.img    HVM: a raw disk a BIOS boots (MBR, syslinux, the same kernel and
#               initramfs); skipped with NUBE_GUEST_NO_DISK=1
#   release     the kernel release; key: the cache key of this build
# The packages come with `apt-get download` into $NUBE_CACHE_DIR/debs and are
# unpacked there, never installed. A rebuild happens only when the package
# versions or the builder's files change.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=guest/lib.sh
. "$here/guest/lib.sh"
# shellcheck source=guest/hvm-disk.sh
. "$here/guest/hvm-disk.sh"

cache="$(nube_cache_root)"
out="${1:-$cache/guest}"

nube_need_tools apt-get:apt dpkg-deb:dpkg objcopy:binutils readelf:binutils cpio:cpio \
    lz4:lz4 gcc:gcc sha256sum:coreutils
mkdir -p "$cache" "$out"
cache="$(cd "$cache" && pwd)"
out="$(cd "$out" && pwd)"

# One build at a time per output folder.
exec 9>"$out/.lock"
flock 9

nube_fetch_inputs "$cache"

# Virtio drivers in dependency order (resolved from each module's .modinfo);
# then the ACPI power button and evdev (its /dev/input/event* nodes, which
# busybox acpid reads), so /init can power off when the button is pressed.
guest_modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
    virtio_blk failover net_failover virtio_net '?virtio_rng' button evdev)

key="$({
    echo "$NUBE_INPUT_VERSIONS"
    echo "${guest_modules[*]} disk=${NUBE_GUEST_NO_DISK:-0}"
    # The builder and every file of guest/ (in the C locale's order), names
    # included so a rename also rebuilds.
    LC_ALL=C
    for f in "$here/build-guest-image.sh" "$here"/guest/*; do
        echo "== ${f##*/}"
        cat "$f"
    done
} | sha256sum | cut -d' ' -f1)"

if [[ -f $out/key && "$(cat "$out/key")" == "$key" && -s $out/vmlinuz && -s $out/vmlinux &&
    -s $out/initrd.img && (${NUBE_GUEST_NO_DISK:-} == 1 || -s $out/disk.img) ]]; then
    echo "guest image up to date in $out ($NUBE_KERNEL_RELEASE)"
    exit 0
fi

t0=$(date +%s%N)
work="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Kernel, and the ELF inside it.
cp "$NUBE_KERNEL_DIR/boot/vmlinuz-$NUBE_KERNEL_RELEASE" "$work/vmlinuz"
nube_extract_vmlinux "$work/vmlinuz" "$work/vmlinux"
# XEN_ELFNOTE_PHYS32_ENTRY is Xen note type 18.
readelf -n "$work/vmlinux" | grep -A1 -E '^ +Xen ' | grep -q -E '0x00000012|PHYS32_ENTRY' ||
    nube_die "vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)"

# The initramfs tree.
root="$work/root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,run,tmp,root,lib/modules}
cp "$NUBE_BUSYBOX_DIR/bin/busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"
done
gcc -Os -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie -s \
    -o "$root/bin/nube-outb" "$here/guest/nube-outb.c"
install -m 0755 "$here/guest/init" "$root/init"
install -m 0755 "$here/guest/udhcpc.script" "$root/etc/udhcpc.script"
# busybox acpid (default map and action table): a power button press runs
# /etc/acpi/PWRF/00000080.
install -D -m 0755 "$here/guest/acpi-power" "$root/etc/acpi/PWRF/00000080"
echo nube-guest >"$root/etc/hostname"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
: >"$root/lib/modules/order"
while read -r ko; do
    cp "$ko" "$root/lib/modules/"
    basename "$ko" >>"$root/lib/modules/order"
done < <(nube_modules_resolve "${guest_modules[@]}")
nube_cpio_newc "$root" "$work/initrd.img"

echo "$NUBE_KERNEL_RELEASE" >"$work/release"
files=(vmlinuz vmlinux initrd.img release)
if [[ ${NUBE_GUEST_NO_DISK:-} != 1 ]]; then
    nube_hvm_disk "$cache" "$work" "$work/vmlinuz" "$work/initrd.img" "$work/disk.img"
    files+=(disk.img)
fi
for f in "${files[@]}"; do
    mv -f "$work/$f" "$out/$f"
done
echo "$key" >"$out/key"
t1=$(date +%s%N)
mods="$(sed 's/\.ko$//' "$root/lib/modules/order" | tr '\n' ' ')"
echo "guest image built in $out ($NUBE_KERNEL_RELEASE; modules: $mods) in $(((t1 - t0) / 1000000)) ms"
