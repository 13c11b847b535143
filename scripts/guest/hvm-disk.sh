# Sourced by build-guest-image.sh: the HVM disk image. The same kernel and
# initramfs on a raw disk that a BIOS boots: an MBR (syslinux's mbr.bin) with
# one bootable FAT partition at 1 MiB holding syslinux (ldlinux.sys), its
# config, vmlinuz and initrd.img. Built from Debian's syslinux, syslinux-common,
# mtools and dosfstools, unpacked (not installed) like the kernel; no loop
# devices or mounts, so no privileges beyond writing files.

# nube_le32 N: N as 4 little-endian bytes.
nube_le32() {
    local v=$1
    # shellcheck disable=SC2059
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((v & 255)) $((v >> 8 & 255)) \
        $((v >> 16 & 255)) $((v >> 24 & 255)))"
}

# nube_hvm_disk CACHE WORKDIR VMLINUZ INITRD OUT
nube_hvm_disk() {
    local cache=$1 work=$2 vmlinuz=$3 initrd=$4 out=$5
    local sl slc mt dfs part_mib=46 start=2048 sectors cfg
    sl="$(nube_pkg_fetch "$cache" syslinux)" || exit 1
    slc="$(nube_pkg_fetch "$cache" syslinux-common)" || exit 1
    mt="$(nube_pkg_fetch "$cache" mtools)" || exit 1
    dfs="$(nube_pkg_fetch "$cache" dosfstools)" || exit 1
    sectors=$((part_mib * 2048))

    # The FAT partition, as its own file first.
    rm -f "$work/part.img"
    "$dfs/sbin/mkfs.fat" -C -n NUBEGUEST "$work/part.img" $((part_mib * 1024)) >/dev/null
    cfg="$work/syslinux.cfg"
    cat >"$cfg" <<CFG
SERIAL 0 115200
DEFAULT nube
PROMPT 0
TIMEOUT 0
LABEL nube
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND console=ttyS0 reboot=k panic=1
CFG
    # syslinux runs mcopy/mattrib to put ldlinux.sys and ldlinux.c32 in place.
    PATH="$mt/usr/bin:$PATH" "$sl/usr/bin/syslinux" --install "$work/part.img"
    MTOOLS_SKIP_CHECK=1 "$mt/usr/bin/mcopy" -i "$work/part.img" "$cfg" "$vmlinuz" "$initrd" ::/

    # The disk: MBR boot code, one partition entry (bootable, FAT16 LBA 0x0e),
    # the partition at sector 2048.
    rm -f "$out"
    truncate -s $(((start + sectors) * 512)) "$out"
    dd if="$slc/usr/lib/syslinux/mbr/mbr.bin" of="$out" bs=440 count=1 conv=notrunc status=none
    # status, CHS first (unused with LBA: fe ff ff), type, CHS last, LBA start, count
    {
        printf '\x80\xfe\xff\xff\x0e\xfe\xff\xff'
        nube_le32 "$start"
        nube_le32 "$sectors"
    } | dd of="$out" bs=1 seek=446 conv=notrunc status=none
    printf '\x55\xaa' | dd of="$out" bs=1 seek=510 conv=notrunc status=none
    dd if="$work/part.img" of="$out" bs=1M seek=1 conv=notrunc status=none
    rm -f "$work/part.img"
}
