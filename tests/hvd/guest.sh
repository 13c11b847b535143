#!/bin/bash
# Prints the folder holding Nube's guest image (vmlinuz, initrd.img), building
# it with scripts/build-guest-image.sh when it is missing. Exit 77 (skip) when
# it cannot be had. NUBE_GUEST_DIR overrides the folder.
set -u
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${NUBE_GUEST_DIR:-${NUBE_CACHE_DIR:-$repo/.cache}/guest}"
if [[ ! -s $dir/vmlinuz || ! -s $dir/initrd.img ]]; then
    if ! "$repo/scripts/build-guest-image.sh" "$dir" >&2; then
        echo "SKIP: no guest image in $dir and scripts/build-guest-image.sh failed" >&2
        exit 77
    fi
fi
echo "$dir"
