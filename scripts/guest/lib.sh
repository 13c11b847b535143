# Shared helpers for the guest image builder and the nested test host harness.
# Sourced (bash), never executed. Everything comes from Debian packages fetched
# with `apt-get download` into a cache and unpacked with dpkg-deb -x: nothing is
# installed on the build machine.

# nube_cache_root: where debs, unpacked packages and built images live.
nube_cache_root() {
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    printf '%s\n' "${NUBE_CACHE_DIR:-$root/.cache}"
}

nube_die() {
    printf '%s: error: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

# nube_need_tools TOOL:PACKAGE...: fail early, naming the Debian package to add.
nube_need_tools() {
    local t missing=()
    for t in "$@"; do
        command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
    done
    ((${#missing[@]} == 0)) || nube_die "missing tools; apt-get install ${missing[*]}"
}

# nube_pkg_version PKG: the candidate version apt would download (empty if apt
# knows nothing about PKG, e.g. `apt-get update` never ran).
nube_pkg_version() {
    apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1
}

# nube_kernel_package: the versioned image package linux-image-cloud-amd64
# depends on (linux-image-6.1.0-NN-cloud-amd64).
nube_kernel_package() {
    apt-cache show --no-all-versions linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^Depends: .*\(linux-image-[0-9][^ ,]*-cloud-amd64\).*/\1/p' | head -n1
}

# nube_deb_fetch CACHE PKG VERSION: print the path of PKG_VERSION's .deb in
# CACHE/debs, downloading it with apt-get if it is not there yet. With an empty
# VERSION (apt lists unavailable) the newest cached .deb of PKG is used.
nube_deb_fetch() {
    local cache=$1 pkg=$2 ver=$3 dir file
    dir="$cache/debs"
    mkdir -p "$dir"
    if [[ -n $ver ]]; then
        file="$(ls -1 "$dir/${pkg}_${ver/:/%3a}"_{amd64,all}.deb 2>/dev/null | head -n1)"
        if [[ ! -s $file ]]; then
            (cd "$dir" && apt-get download -q=2 "$pkg=$ver" >/dev/null 2>&1) ||
                nube_die "apt-get download $pkg=$ver failed (run apt-get update?)"
            file="$(ls -1 "$dir/${pkg}_${ver/:/%3a}"_{amd64,all}.deb 2>/dev/null | head -n1)"
        fi
    else
        file="$(ls -1 "$dir/${pkg}"_*_{amd64,all}.deb 2>/dev/null | sort -V | tail -n1)"
    fi
    [[ -s $file ]] || nube_die "no .deb for $pkg (apt-get update, and network to Debian?)"
    printf '%s\n' "$file"
}

# nube_deb_unpack CACHE DEB: unpack DEB once into CACHE/pkgs/<deb name>/ and
# print that folder.
nube_deb_unpack() {
    local cache=$1 deb=$2 dest
    dest="$cache/pkgs/$(basename "$deb" .deb)"
    if [[ ! -f $dest/.unpacked ]]; then
        rm -rf "$dest" "$dest.tmp"
        mkdir -p "$dest.tmp"
        dpkg-deb -x "$deb" "$dest.tmp"
        touch "$dest.tmp/.unpacked"
        mv "$dest.tmp" "$dest"
    fi
    printf '%s\n' "$dest"
}

# nube_pkg_fetch CACHE PKG: fetch and unpack PKG's candidate version (apt's
# answer remembered until its lists change); print the unpacked folder.
nube_pkg_fetch() {
    local cache=$1 pkg=$2 sig memo msig ver="" deb
    sig="$(stat -c %Y /var/lib/apt/lists /var/lib/apt/lists/partial 2>/dev/null | tr '\n' .)"
    memo="$cache/apt-versions.d/$pkg"
    if [[ -n $sig && -f $memo ]] && read -r msig ver <"$memo" && [[ $msig == "$sig" ]]; then
        :
    else
        ver="$(nube_pkg_version "$pkg")"
        if [[ -n $sig && -n $ver ]]; then
            mkdir -p "$cache/apt-versions.d"
            echo "$sig $ver" >"$memo"
        fi
    fi
    deb="$(nube_deb_fetch "$cache" "$pkg" "$ver")" || exit 1
    nube_deb_unpack "$cache" "$deb"
}

# nube_fetch_inputs CACHE: fetch and unpack the cloud kernel and busybox-static.
# Sets NUBE_KERNEL_DIR, NUBE_KERNEL_RELEASE, NUBE_BUSYBOX_DIR and
# NUBE_INPUT_VERSIONS (the versions, for cache keys).
nube_fetch_inputs() {
    local cache=$1 kpkg kver bver kdeb bdeb sig memo msig
    # apt-cache is slow (a second a call here): remember its answers until
    # the package lists change.
    sig="$(stat -c %Y /var/lib/apt/lists /var/lib/apt/lists/partial 2>/dev/null | tr '\n' .)"
    memo="$cache/apt-versions"
    if [[ -n $sig && -f $memo ]] && read -r msig kpkg kver bver <"$memo" && [[ $msig == "$sig" ]]; then
        :
    else
        kpkg="$(nube_kernel_package)"
        kver="" bver=""
        [[ -n $kpkg ]] && kver="$(nube_pkg_version "$kpkg")"
        bver="$(nube_pkg_version busybox-static)"
        if [[ -n $sig && -n $kver && -n $bver ]]; then
            mkdir -p "$cache"
            echo "$sig $kpkg $kver $bver" >"$memo"
        fi
    fi
    if [[ -z $kpkg || -z $kver ]]; then
        kpkg="$(ls -1 "$cache/debs" 2>/dev/null | sed -n 's/^\(linux-image-[0-9][^_]*-cloud-amd64\)_.*/\1/p' |
            sort -V | tail -n1)"
        [[ -n $kpkg ]] || nube_die "apt knows no linux-image-cloud-amd64 (run apt-get update)"
        kver=""
    fi
    kdeb="$(nube_deb_fetch "$cache" "$kpkg" "$kver")" || exit 1
    bdeb="$(nube_deb_fetch "$cache" busybox-static "$bver")" || exit 1
    NUBE_KERNEL_DIR="$(nube_deb_unpack "$cache" "$kdeb")" || exit 1
    NUBE_BUSYBOX_DIR="$(nube_deb_unpack "$cache" "$bdeb")" || exit 1
    NUBE_KERNEL_RELEASE="$(ls -1 "$NUBE_KERNEL_DIR/lib/modules" | head -n1)"
    [[ -n $NUBE_KERNEL_RELEASE ]] || nube_die "no modules in $kdeb"
    NUBE_INPUT_VERSIONS="$(basename "$kdeb") $(basename "$bdeb")"
}

# nube_module_path NAME: the .ko of module NAME ('-' and '_' are the same).
nube_module_path() {
    local base="$NUBE_KERNEL_DIR/lib/modules/$NUBE_KERNEL_RELEASE/kernel" n=$1 f
    for f in "$n" "${n//_/-}" "${n//-/_}"; do
        f="$(find "$base" -name "$f.ko" -print -quit)"
        [[ -n $f ]] && { printf '%s\n' "$f"; return 0; }
    done
    return 1
}

# nube_module_deps FILE: the module names FILE's .modinfo says it depends on.
nube_module_deps() {
    objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null | tr '\0' '\n' |
        sed -n 's/^depends=//p' | tr ',' ' '
}

# nube_modules_resolve NAME...: print the .ko paths of NAME... and everything
# they depend on, dependencies first, each once. Required names that do not
# exist fail; names prefixed with '?' are optional.
nube_modules_resolve() {
    local -A seen=()
    local out=()
    _nube_mod_visit() {
        local name=${1//-/_} optional=$2 file dep
        [[ -n ${seen[$name]:-} ]] && return 0
        seen[$name]=1
        if ! file="$(nube_module_path "$name")"; then
            [[ $optional == 1 ]] && return 0
            nube_die "kernel module $name not found in $NUBE_KERNEL_RELEASE"
        fi
        for dep in $(nube_module_deps "$file"); do
            _nube_mod_visit "$dep" 0
        done
        out+=("$file")
    }
    local n
    for n in "$@"; do
        if [[ $n == \?* ]]; then _nube_mod_visit "${n#?}" 1; else _nube_mod_visit "$n" 0; fi
    done
    printf '%s\n' "${out[@]}"
}

# nube_extract_vmlinux BZIMAGE OUT: decompress the bzImage payload into the
# ELF vmlinux. The payload's place comes from the boot protocol header
# (setup_sects at 0x1f1, payload_offset/length at 0x248/0x24c, protocol >= 2.08);
# its format from its magic.
nube_extract_vmlinux() {
    local bz=$1 out=$2 setup off len start magic
    setup=$(od -An -tu1 -j $((0x1f1)) -N1 "$bz" | tr -d ' ')
    ((setup == 0)) && setup=4
    off=$(od -An -tu4 -j $((0x248)) -N4 "$bz" | tr -d ' ')
    len=$(od -An -tu4 -j $((0x24c)) -N4 "$bz" | tr -d ' ')
    start=$(((setup + 1) * 512 + off))
    magic=$(od -An -tx1 -j "$start" -N4 "$bz" | tr -d ' ')
    local dec
    case $magic in
    02214c18) dec="lz4 -dc" ;;
    1f8b*) dec="gzip -dc" ;;
    fd377a58) dec="xz -dc" ;;
    28b52ffd) dec="zstd -dc" ;;
    5d00*) dec="xz --format=lzma -dc" ;;
    *) nube_die "unknown bzImage payload magic $magic" ;;
    esac
    # The kernel build appends the uncompressed size after the stream; the
    # decompressors may complain about it, so judge by the result.
    tail -c +$((start + 1)) "$bz" | head -c "$len" | $dec >"$out.tmp" 2>/dev/null || true
    [[ "$(head -c4 "$out.tmp" | od -An -tx1 | tr -d ' ')" == 7f454c46 ]] ||
        nube_die "decompressed payload of $bz is not an ELF file"
    mv "$out.tmp" "$out"
}

# nube_cpio_newc DIR OUT: pack DIR into a cpio newc archive (owned by root,
# deterministic order and times).
nube_cpio_newc() {
    local dir=$1 out=$2
    (cd "$dir" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
        cpio --null -o -H newc -R 0:0 --reproducible --quiet) >"$out"
}

# nube_module_copy_unsigned SRC DEST: copy a module without its appended
# signature (magic, struct module_signature with the big-endian signature
# length in its last 4 bytes, signature). Verifying it costs a SHA-256 of the
# whole module, slow under TCG; the kernel (MODULE_SIG_FORCE unset) loads an
# unsigned module and marks itself tainted.
nube_module_copy_unsigned() {
    local src=$1 dest=$2 size siglen
    if [[ "$(tail -c 28 "$src")" != "~Module signature appended~" ]]; then
        cp "$src" "$dest"
        return
    fi
    size=$(stat -c %s "$src")
    siglen=$(tail -c 32 "$src" | head -c 4 | od -An -tu1 | awk '{print ($1*16777216)+($2*65536)+($3*256)+$4}')
    head -c $((size - 28 - 12 - siglen)) "$src" >"$dest"
}
