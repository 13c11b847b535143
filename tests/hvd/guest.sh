#!/bin/bash
# Prints the folder holding Nube's guest image (vmlinuz, initrd.img), built (or
# found up to date) by scripts/build-guest-image.sh. Exit 77 (skip) when
# it cannot be had. NUBE_GUEST_DIR overrides the folder.
set -u
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${NUBE_GUEST_DIR:-${NUBE_CACHE_DIR:-$repo/.cache}/guest}"
# The builder rebuilds only when its inputs changed (a quick check otherwise),
# so a stale image is never tested.
if [[ -z ${NUBE_GUEST_DIR:-} ]] && ! "$repo/scripts/build-guest-image.sh" "$dir" >&2; then
    echo "SKIP: scripts/build-guest-image.sh failed for $dir" >&2
    exit 77
fi
if [[ ! -s $dir/vmlinuz || ! -s $dir/initrd.img ]]; then
    echo "SKIP: no guest image in $dir" >&2
    exit 77
fi
echo "$dir"
