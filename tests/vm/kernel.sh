#!/usr/bin/env bash
# Resolve and fetch a Debian kernel image for the test VM, without touching /boot
# or the system's apt sources.
#
#   tests/vm/kernel.sh [KERNEL]      prints "KVER ROOT" (ROOT has boot/ and lib/modules/)
#   source tests/vm/kernel.sh        provides kernel_resolve / kernel_fetch
#
# KERNEL (default 6.1) selects where the image comes from:
#   6.1   the system apt (bookworm), same version as the installed linux-headers
#   6.12  bookworm-backports via a private apt config under .cache/apt/
#   7.*   sid via a private apt config
#   6.1-686, 6.1-686-pae
#         the 32-bit x86 kernels of bookworm via a private apt config that adds
#         the i386 architecture (kernel_headers_fetch unpacks their headers)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_KEYRING=${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

# Suite to fetch KERNEL from; empty = the system's apt configuration.
kernel_suite() {
    case $1 in
        6.1)  echo "" ;;
        6.12) echo bookworm-backports ;;
        7.*)  echo sid ;;
        6.1-686|6.1-686-pae) echo bookworm-i386 ;;
        *)    die "unsupported KERNEL '$1' (known: 6.1, 6.12, 7.x, 6.1-686, 6.1-686-pae)" ;;
    esac
}

# Debian kernel flavour of KERNEL: amd64, or 686 / 686-pae for "6.1-686[-pae]".
kernel_flavour() {
    case $1 in
        *-686|*-686-pae) echo "${1#*-}" ;;
        *)               echo amd64 ;;
    esac
}

# A private suite NAME-i386 is Debian's NAME for i386 and amd64 (the host's
# kbuild tools build the i386 modules).
suite_dist()  { echo "${1%-i386}"; }
suite_archs() { [[ $1 == *-i386 ]] && echo amd64,i386 || echo amd64; }

# apt-get/apt-cache options for a private, cache-local apt state for SUITE.
apt_private_opts() {
    local suite=$1 d=$CACHE_DIR/apt/$1
    printf '%s\n' \
        -o "Dir::Etc::SourceList=$d/sources.list" \
        -o "Dir::Etc::SourceParts=/dev/null" \
        -o "Dir::Etc::PreferencesParts=/dev/null" \
        -o "Dir::State::Lists=$d/lists" \
        -o "Dir::Cache=$d/cache" \
        -o "Debug::NoLocking=1" \
        -o "APT::Architecture=amd64"
    local arch archs
    IFS=, read -ra archs <<<"$(suite_archs "$suite")"
    for arch in "${archs[@]}"; do printf '%s\n' -o "APT::Architectures::=$arch"; done
}

apt_sandbox_opts() {
    [[ $(id -u) -eq 0 ]] && printf '%s\n' -o APT::Sandbox::User=root
    return 0
}

# Run apt-get/apt-cache ($1) against SUITE ($2; empty = system apt).
apt_for() {
    local tool=$1 suite=$2; shift 2
    local -a opts
    mapfile -t opts < <(apt_sandbox_opts; [[ -z $suite ]] || apt_private_opts "$suite")
    "$tool" "${opts[@]}" "$@"
}

# Refresh the private lists for SUITE at most once a day.
apt_private_update() {
    local suite=$1 d=$CACHE_DIR/apt/$1
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
    printf 'deb [arch=%s signed-by=%s] %s %s main\n' "$(suite_archs "$suite")" "$DEBIAN_KEYRING" \
        "$DEBIAN_MIRROR" "$(suite_dist "$suite")" >"$d/sources.list"
    if [[ -z $(find "$d/updated" -mtime -1 2>/dev/null) ]]; then
        log "updating private apt lists for $suite"
        apt_for apt-get "$suite" -qq update >&2 || die "apt-get update for $suite failed"
        touch "$d/updated"
    fi
}

# KVER of an installed linux-headers-<KERNEL>...-amd64 package, if any (newest wins).
installed_headers_kver() {
    local kernel_re=${1//./\\.}
    dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'linux-headers-*-amd64' 2>/dev/null \
        | awk '$1 == "ii" { print $2 }' \
        | sed -nE "s/^linux-headers-(${kernel_re}[.-].*-amd64)\$/\\1/p" \
        | { grep -v '^.*-common$' || true; } | sort -V | tail -n1
}

# KVER that the apt meta package (linux-headers-FLAVOUR / linux-image-FLAVOUR)
# points to; FLAVOUR defaults to amd64.
apt_meta_kver() {
    local suite=$1 flavour=${2:-amd64} meta pkg
    for meta in "linux-headers-$flavour" "linux-image-$flavour"; do
        pkg=$(apt_for apt-cache "$suite" depends "$meta" 2>/dev/null \
            | sed -nE "s/^ *Depends: (linux-(headers|image)-[0-9][^ :]*-$flavour)(:i386)?\$/\1/p" | head -n1)
        if [[ -n $pkg ]]; then
            pkg=${pkg#linux-headers-}
            echo "${pkg#linux-image-}"
            return 0
        fi
    done
    return 1
}

# Print the Debian kernel version (e.g. 6.1.0-56-amd64) for KERNEL.
kernel_resolve() {
    local kernel=${1:-${KERNEL:-6.1}} suite kver
    suite=$(kernel_suite "$kernel")
    kver=$(installed_headers_kver "$kernel")
    if [[ -z $kver ]]; then
        [[ -z $suite ]] || apt_private_update "$suite"
        kver=$(apt_meta_kver "$suite" "$(kernel_flavour "$kernel")") \
            || die "cannot resolve a kernel version for KERNEL=$kernel"
        [[ $kver == "${kernel%%-*}".* || $kver == "${kernel%%-*}"-* ]] \
            || die "KERNEL=$kernel resolved to $kver (apt meta package points elsewhere)"
        # (The i386 flavours' headers are unpacked into the cache instead.)
        [[ $(kernel_flavour "$kernel") != amd64 ]] \
            || log "warning: no linux-headers-$kver installed; modules cannot be built for this kernel"
    fi
    echo "$kver"
}

kernel_root() { echo "$CACHE_DIR/kernels/$1/root"; }

# Package sets that may hold vmlinuz + modules for KVER, tried in order: the
# classic (unsigned) image package, and the split binary/modules packages of
# newer Debian kernels (where linux-image-KVER is only a meta package).
kernel_package_sets() {
    printf '%s\n' "linux-image-$1-unsigned" "linux-image-$1" "linux-binary-$1 linux-modules-$1 linux-base-$1"
}

# Download the packages ($3...) for SUITE ($2) into DIR ($1); unpack into DIR/root.
download_and_unpack() {
    local dir=$1 suite=$2 deb; shift 2
    rm -rf "$dir"/*.deb "$dir/root"
    (cd "$dir" && apt_for apt-get "$suite" -qq download "$@" >/dev/null 2>&1) || return 1
    for deb in "$dir"/*.deb; do dpkg -x "$deb" "$dir/root"; done
    rm -f "$dir"/*.deb
}

# Give ROOT the classic layout (boot/vmlinuz-KVER, lib/modules/KVER) also for
# merged-/usr packages that ship usr/lib/modules/KVER/vmlinuz.
normalize_layout() {
    local root=$1 kver=$2
    if [[ ! -d $root/lib/modules/$kver && -d $root/usr/lib/modules/$kver ]]; then
        mkdir -p "$root/lib"
        mv "$root/usr/lib/modules" "$root/lib/modules"
    fi
    if [[ ! -e $root/boot/vmlinuz-$kver && -f $root/lib/modules/$kver/vmlinuz ]]; then
        mkdir -p "$root/boot"
        ln -s "../lib/modules/$kver/vmlinuz" "$root/boot/vmlinuz-$kver"
    fi
    [[ -f $root/boot/vmlinuz-$kver && -d $root/lib/modules/$kver ]]
}

# Download and unpack the image of KVER for KERNEL into the cache (idempotent).
# Prints the unpacked root.
kernel_fetch() {
    local kver=$1 kernel=${2:-${KERNEL:-6.1}} suite dir root set
    local -a pkgs
    dir=$CACHE_DIR/kernels/$kver
    root=$dir/root
    if [[ -f $root/.unpacked && -f $root/boot/vmlinuz-$kver ]]; then
        echo "$root"; return 0
    fi
    suite=$(kernel_suite "$kernel")
    [[ -z $suite ]] || apt_private_update "$suite"
    mkdir -p "$dir"
    while read -r set; do
        read -ra pkgs <<<"$set"
        log "downloading ${pkgs[*]}${suite:+ from $suite}"
        download_and_unpack "$dir" "$suite" "${pkgs[@]}" && normalize_layout "$root" "$kver" && break
    done < <(kernel_package_sets "$kver")
    normalize_layout "$root" "$kver" || die "no package set provided vmlinuz and modules of $kver"
    depmod -b "$root" "$kver"
    touch "$root/.unpacked"
    log "kernel $kver unpacked in $root"
    echo "$root"
}

# Decompress the ELF vmlinux out of bzImage IMG into OUT (like the kernel's
# scripts/extract-vmlinux); tries every embedded xz/zstd/gzip stream.
extract_vmlinux() {
    local img=$1 out=$2 spec magic tool off
    for spec in '\xfd7zXZ\x00:xz -dcq' '\x28\xb5\x2f\xfd:zstd -dcq' '\x1f\x8b\x08:gzip -dcq'; do
        magic=${spec%%:*}
        tool=${spec#*:}
        for off in $(LC_ALL=C grep -aboP "$magic" "$img" | cut -d: -f1); do
            tail -c "+$((off + 1))" "$img" | $tool >"$out" 2>/dev/null || true
            [[ $(head -c4 "$out" | od -An -tx1 | tr -d ' ') == 7f454c46 ]] && return 0
        done
    done
    rm -f "$out"
    return 1
}

kernel_config() {
    local root=$1 kver=$2 f
    for f in "$root/boot/config-$kver" "$root/lib/modules/$kver/config"; do
        [[ -f $f ]] && { echo "$f"; return 0; }
    done
    return 1
}

# Print the image QEMU should boot: an uncompressed vmlinux (entered through
# PVH, which skips the in-guest decompression: ~4 s less per boot under TCG)
# when the kernel has CONFIG_PVH=y, else the bzImage. VM_PVH=0 forces bzImage.
kernel_boot_image() {
    local kver=$1 root=$2 vmlinux=$CACHE_DIR/kernels/$1/vmlinux config tmp
    local bzimage=$root/boot/vmlinuz-$kver
    if [[ ${VM_PVH:-1} != 0 ]] && config=$(kernel_config "$root" "$kver") \
        && grep -q '^CONFIG_PVH=y' "$config"; then
        if [[ ! -f $vmlinux ]]; then
            tmp=$(mktemp "$vmlinux.XXXXXX")
            if extract_vmlinux "$bzimage" "$tmp"; then
                chmod 0644 "$tmp"
                mv "$tmp" "$vmlinux"
            else
                rm -f "$tmp"
                log "warning: cannot extract vmlinux from $bzimage; booting the bzImage"
            fi
        fi
        [[ -f $vmlinux ]] && { echo "$vmlinux"; return 0; }
    fi
    echo "$bzimage"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    kver=$(kernel_resolve "${1:-${KERNEL:-6.1}}")
    root=$(kernel_fetch "$kver" "${1:-${KERNEL:-6.1}}")
    echo "$kver $root"
fi
