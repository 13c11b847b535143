# shellcheck shell=bash
# Shared by the tests in tests/vm (bash, sourced). A test that cannot run here
# says why and exits 77 (ctest's SKIP_RETURN_CODE); it never passes silently.
set -euo pipefail

vm_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
vm_t0=$(date +%s%N)

vm_skip() {
    echo "SKIP: $*"
    exit 77
}

vm_fail() {
    echo "FAIL: $*"
    exit 1
}

vm_elapsed() {
    echo "$((($(date +%s%N) - vm_t0) / 1000000)) ms"
}

# The nested test host needs Debian's QEMU (TCG) and the Debian packages of the
# guest image (apt-get download); no /dev/kvm on this machine is needed.
vm_need_qemu() {
    command -v qemu-system-x86_64 >/dev/null || vm_skip "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
    local t
    for t in lz4 cpio objcopy gcc; do
        command -v "$t" >/dev/null || vm_skip "$t missing (apt-get install lz4 cpio binutils gcc)"
    done
}

vm_build_guest() {
    vm_need_qemu
    local out
    if ! out="$("$vm_root/scripts/build-guest-image.sh" 2>&1)"; then
        case $out in
        *"apt-get update"* | *"apt-get download"*) vm_skip "guest image: $out" ;;
        *) vm_fail "guest image: $out" ;;
        esac
    fi
    echo "$out"
    VM_GUEST="${NUBE_CACHE_DIR:-$vm_root/.cache}/guest"
}
