#!/usr/bin/env bash
# Resolve and fetch the Debian kernels of the test matrix (tests/vm/kernels.conf)
# and their headers, without touching /boot or the system's apt sources.
#
#   tests/vm/kernel.sh [KERNEL]      prints "KVER ROOT" (ROOT has boot/ and lib/modules/)
#   tests/vm/kernel.sh matrix        prints the default matrix, one KERNEL a line
#   tests/vm/kernel.sh default       prints the default KERNEL ($KERNEL, else the matrix's first)
#   source tests/vm/kernel.sh        provides kernel_resolve / kernel_fetch / kernel_kdir ...
#
# KERNEL is one of the names of kernels.conf: 6.1 comes
# from the system's apt (bookworm), the others through a private apt
# configuration under .cache/apt/SUITE (SUITE-i386: SUITE with the i386
# architecture added, for the 32-bit kernels).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_KEYRING=${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
KERNELS_CONF=$VM_DIR/kernels.conf

# The KERNEL names of the default x86-64 matrix, in order: kernels.conf
# without the 32-bit kernels (BUILD i386: their own stage, run-i386.sh) and
# the locally built ones (BUILD source).  The arm64 kernels (BUILD arm64)
# come last: `make test` runs them in stages of their own (tests/arm64/).
kernel_matrix() {
    awk '!/^#/ && NF && $5 != "source" && $5 != "i386" { print $1 }' "$KERNELS_CONF"
}

# Every KERNEL name of kernels.conf.
kernel_names() {
    awk '!/^#/ && NF { print $1 }' "$KERNELS_CONF"
}

# The KERNEL of every command that takes one: $KERNEL, else the matrix's first.
kernel_default() {
    if [[ -n ${KERNEL:-} ]]; then echo "$KERNEL"; else kernel_matrix | head -n 1; fi
}

# One column of KERNEL's line in kernels.conf: suite, kver, version, build.
kernel_pin() {
    local kernel=$1 field=$2 col
    case $field in
        suite) col=2 ;; kver) col=3 ;; version) col=4 ;; build) col=5 ;;
        *) die "kernel_pin: unknown field $field" ;;
    esac
    awk -v k="$kernel" -v c="$col" '!/^#/ && $1 == k { print $c; found = 1 } END { exit !found }' \
        "$KERNELS_CONF" || die "unsupported KERNEL '$kernel' (known: $(kernel_names | xargs | sed 's/ /, /g'))"
}

# Suite to fetch KERNEL from; empty = the system's apt configuration (which
# also has bookworm-security, where linux-source-6.1 is updated).
kernel_suite() {
    case $(kernel_pin "$1" build) in
        host | source) ;;
        *) kernel_pin "$1" suite ;;
    esac
}

# Debian kernel flavour of KERNEL: amd64, or 686 / 686-pae for "6.1-686[-pae]".
kernel_flavour() {
    case $1 in
        *-686|*-686-pae|*-arm64) echo "${1#*-}" ;;
        *)               echo amd64 ;;
    esac
}

# Debian architecture of KERNEL's packages: i386 for the 686 flavours,
# arm64 for the arm64 kernels.
kernel_arch() {
    case $(kernel_flavour "$1") in
        686*)  echo i386 ;;
        arm64) echo arm64 ;;
        *)     echo amd64 ;;
    esac
}

# A private suite NAME-i386 (NAME-arm64) is Debian's NAME for i386 (arm64)
# and amd64: the host's kbuild tools build the foreign modules.
suite_dist()  { local d=${1%-i386}; echo "${d%-arm64}"; }
suite_archs() {
    case $1 in
        *-i386)  echo amd64,i386 ;;
        *-arm64) echo amd64,arm64 ;;
        *)       echo amd64 ;;
    esac
}

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

# Modules that the guest suites load from the guest kernel's own tree (with
# their dependencies): loop (the pages method's O_DIRECT case), vfio-pci and
# vfio_iommu_type1 (the VFIO stage), vivid (videobuf2: the dma-buf cases).
# The debug kernel keeps them through localmodconfig (debug-kernel.sh) and
# run-in-vm.sh names any that KERNEL lacks before the guest boots.
SUITE_MODULES=(loop vfio-pci vfio_iommu_type1 vivid)

# The SUITE_MODULES that the unpacked kernel KVER in ROOT cannot load.
kernel_missing_modules() {
    local kver=$1 root=$2 mod
    for mod in "${SUITE_MODULES[@]}"; do
        modprobe -d "$root" -S "$kver" --show-depends "$mod" >/dev/null 2>&1 || echo "$mod"
    done
}

# Print the pinned Debian kernel release (e.g. 6.1.0-56-amd64) of KERNEL.
kernel_resolve() {
    kernel_pin "${1:-$(kernel_default)}" kver
}

# Die because PKG=VERSION of KERNEL is not on the mirror, naming what is.
die_pin_gone() {
    local kernel=$1 pkg=$2 suite newest
    suite=$(kernel_suite "$kernel")
    [[ -z $suite ]] || apt_private_update "$suite"
    newest=$(apt_meta_kver "$suite" "$(kernel_flavour "$kernel")" || echo unknown)
    newest+=" $(apt_for apt-cache "$suite" show linux-headers-amd64 2>/dev/null | sed -n 's/^Version: //p' | head -n1)"
    die "$pkg=$(kernel_pin "$kernel" version) (KERNEL=$kernel) is not on the mirror any more;" \
        "the newest there is $newest: update tests/vm/kernels.conf"
}

# Package sets that may hold vmlinuz + modules for KVER, tried in order: the
# classic (unsigned) image package, and the split binary/modules packages of
# newer Debian kernels (where linux-image-KVER is only a meta package).
kernel_package_sets() {
    local v=$2
    printf '%s\n' "linux-image-$1-unsigned=$v" "linux-image-$1=$v" \
        "linux-binary-$1=$v linux-modules-$1=$v linux-base-$1=$v"
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
    local kver=$1 kernel=${2:-$(kernel_default)} suite version dir root set
    local -a pkgs
    dir=$CACHE_DIR/kernels/$kver
    root=$dir/root
    if [[ $(kernel_pin "$kernel" build) == source ]]; then
        echo "$("$VM_DIR/debug-kernel.sh" "$kernel")/root"; return 0
    fi
    if [[ -f $root/.unpacked && -f $root/boot/vmlinuz-$kver ]]; then
        echo "$root"; return 0
    fi
    suite=$(kernel_suite "$kernel")
    version=$(kernel_pin "$kernel" version)
    [[ -z $suite ]] || apt_private_update "$suite"
    mkdir -p "$dir"
    while read -r set; do
        read -ra pkgs <<<"$set"
        log "downloading ${pkgs[*]}${suite:+ from $suite}"
        download_and_unpack "$dir" "$suite" "${pkgs[@]}" && normalize_layout "$root" "$kver" && break
    done < <(kernel_package_sets "$kver" "$version")
    normalize_layout "$root" "$kver" || die_pin_gone "$kernel" "linux-image-$kver"
    depmod -b "$root" "$kver"
    touch "$root/.unpacked"
    log "kernel $kver unpacked in $root"
    echo "$root"
}

# The headers packages of KERNEL, pinned: linux-headers-KVER of its
# architecture, the (arch-independent) -common package it includes, and the
# amd64 linux-kbuild of the same version (the host runs its tools, also for
# the i386 kernels).
headers_packages() {
    local kernel=$1 suite headers version
    suite=$(kernel_suite "$kernel")
    headers=linux-headers-$(kernel_pin "$kernel" kver):$(kernel_arch "$kernel")
    version=$(kernel_pin "$kernel" version)
    echo "$headers=$version"
    apt_for apt-cache "$suite" depends "$headers=$version" 2>/dev/null \
        | sed -nE 's/^ *Depends: <?(linux-headers-[^ :>]*-common)(:[a-z0-9]+)?>?$/\1/p
                   s/^ *Depends: <?(linux-kbuild-[^ :>]*)(:[a-z0-9]+)?>?$/\1:amd64/p' \
        | sort -u | sed "s/\$/=$version/"
}

# Download PKG... from SUITE (empty: the system's apt) and unpack them into
# DIR/root, once.
#   unpack_once DIR SUITE PKG...
unpack_once() {
    local dir=$1 suite=$2
    shift 2
    [[ -f $dir/root/.unpacked ]] && return 0
    [[ -z $suite ]] || apt_private_update "$suite"
    mkdir -p "$dir"
    log "downloading $*"
    download_and_unpack "$dir" "$suite" "$@" || return 1
    touch "$dir/root/.unpacked"
}

# Unpack KERNEL's headers into the cache and point their Makefile's absolute
# "include /usr/src/..." at the unpacked -common tree (idempotent).
headers_unpack() {
    local kernel=$1 suite dir kdir
    local -a pkgs
    suite=$(kernel_suite "$kernel")
    dir=$CACHE_DIR/kernels/$(kernel_pin "$kernel" kver)/headers
    kdir=$(kernel_kdir "$kernel")
    if [[ ! -f $dir/root/.unpacked ]]; then
        apt_private_update "$suite"
        mapfile -t pkgs < <(headers_packages "$kernel")
        unpack_once "$dir" "$suite" "${pkgs[@]}" || die_pin_gone "$kernel" "${pkgs[0]%=*}"
    fi
    [[ -f $kdir/Makefile && -x $kdir/scripts/basic/fixdep ]] || die "incomplete headers in $kdir (remove $dir to fetch them again)"
    sed -i "s,^include /usr/src/,include $dir/root/usr/src/," "$kdir/Makefile"
    install_checker_valid "$kdir/scripts"
}

# Debian's kbuild packages of 7.x lack scripts/checker-valid.sh, without which
# C=1 skips sparse silently: put our stand-in there (headers under SCRIPTS).
install_checker_valid() {
    [[ -e $1/checker-valid.sh ]] || cp "$VM_DIR/checker-valid.sh" "$(realpath "$1")/checker-valid.sh"
}

chroot_dir() { echo "$CACHE_DIR/chroots/$(kernel_pin "$1" suite)"; }

# Run a command in chroot DIR, in a private mount namespace that has /proc,
# /dev and the host folders BIND... at the same paths (gone when it ends).
#   chroot_run DIR [BIND...] -- COMMAND...
chroot_run() {
    local dir=$1; shift
    local -a binds=()
    while [[ $1 != -- ]]; do binds+=("$1"); shift; done
    shift
    as_root unshare -m -- bash -euc '
        dir=$1; shift
        mount -t proc proc "$dir/proc"
        mount --rbind /dev "$dir/dev"
        while [[ $1 != -- ]]; do mkdir -p "$dir$1"; mount --bind "$1" "$dir$1"; shift; done
        shift
        exec chroot "$dir" "$@"' _ "$dir" ${binds[@]+"${binds[@]}"} -- "$@"
}

# A minimal chroot of KERNEL's suite with make, gcc, sparse and its headers
# installed (created once, ~450 MB; idempotent).
chroot_prepare() {
    local kernel=$1 dir suite stamp
    local -a pkgs
    dir=$(chroot_dir "$kernel")
    suite=$(kernel_pin "$kernel" suite)
    stamp=$dir/.memphys-headers-$(kernel_pin "$kernel" kver)-$(kernel_pin "$kernel" version)
    [[ -f $stamp ]] && return 0
    need_cmd debootstrap unshare
    if [[ ! -f $dir/.debootstrapped ]]; then
        log "creating a minimal $suite chroot for kernel builds in $dir (once)"
        as_root rm -rf "$dir"
        mkdir -p "$dir"
        as_root debootstrap --variant=minbase --keyring="$DEBIAN_KEYRING" "$suite" "$dir" "$DEBIAN_MIRROR" \
            >"$dir.log" 2>&1 || { tail -n 20 "$dir.log" >&2; die "debootstrap $suite failed (log: $dir.log)"; }
        echo 'Acquire::Check-Valid-Until "false";' >"$dir/etc/apt/apt.conf.d/99memphys"
        touch "$dir/.debootstrapped"
    fi
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    apt_private_update "$suite"
    mapfile -t pkgs < <(headers_packages "$kernel")
    log "installing make, sparse and ${pkgs[0]} in the $suite chroot"
    chroot_run "$dir" -- apt-get -qq update >&2 || die "apt-get update in $dir failed"
    chroot_run "$dir" -- env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends make sparse "${pkgs[@]}" >"$dir.log" 2>&1 \
        || { tail -n 20 "$dir.log" >&2; die_pin_gone "$kernel" "linux-headers-$(kernel_pin "$kernel" kver)"; }
    install_checker_valid "$dir/usr/src/linux-headers-$(kernel_pin "$kernel" kver)/scripts"
    touch "$stamp"
}

# Make KERNEL's headers available for module builds (idempotent; host
# headers are installed by deps.sh with the system's apt).
kernel_headers() {
    case $(kernel_pin "$1" build) in
        host)     [[ -d $(kernel_kdir "$1") ]] \
                      || die "no $(kernel_kdir "$1"): run 'make deps KERNEL=$1'" ;;
        unpacked | i386 | arm64) headers_unpack "$1" ;;
        chroot)   chroot_prepare "$1" ;;
        source)   "$VM_DIR/debug-kernel.sh" "$1" >/dev/null ;;
    esac
}

# KDIR of KERNEL, as the build (kbuild_make) sees it.
kernel_kdir() {
    local kver
    kver=$(kernel_pin "$1" kver)
    case $(kernel_pin "$1" build) in
        unpacked | i386 | arm64) echo "$CACHE_DIR/kernels/$kver/headers/root/usr/src/linux-headers-$kver" ;;
        source)   echo "$CACHE_DIR/kernels/$kver/build" ;;
        *)        echo "/usr/src/linux-headers-$kver" ;;
    esac
}

# Debian's arm64 cross gcc 12 and binutils, unpacked into the cache (once;
# they run from any directory) rather than installed: gcc-12-aarch64-linux-gnu
# conflicts with gcc-multilib, which the i386 probe needs.  Prints their
# bin directory, to put first on PATH: Debian's arm64 headers name the
# compiler aarch64-linux-gnu-gcc-12 without a path (aarch64-linux-gnu-gcc is
# linked to it).
ARM64_CROSS_PACKAGES=(gcc-12-aarch64-linux-gnu cpp-12-aarch64-linux-gnu gcc-12-aarch64-linux-gnu-base
    binutils-aarch64-linux-gnu libgcc-12-dev-arm64-cross libgcc-s1-arm64-cross libc6-dev-arm64-cross
    libc6-arm64-cross linux-libc-dev-arm64-cross)
arm64_cross_bin() {
    local dir=$CACHE_DIR/cross-arm64 bin
    bin=$dir/root/usr/bin
    unpack_once "$dir" "" "${ARM64_CROSS_PACKAGES[@]}" \
        || die "cannot download the arm64 cross compiler (${ARM64_CROSS_PACKAGES[*]})"
    ln -sfn aarch64-linux-gnu-gcc-12 "$bin/aarch64-linux-gnu-gcc"
    arm64_cross_wrap "$dir/root"
    echo "$bin"
}

# The unpacked binutils load their private libraries (libbfd-2.40-arm64.so,
# libopcodes-...) from /usr/lib/x86_64-linux-gnu, where only an installed
# package puts them: each such binary becomes a script that runs the real
# one (NAME.real) with the unpacked library directory on LD_LIBRARY_PATH.
# Idempotent; gcc reaches as and ld through symlinks to these names.
arm64_cross_wrap() {
    local root=$1 lib f
    lib=$root/usr/lib/x86_64-linux-gnu
    for f in "$root"/usr/bin/aarch64-linux-gnu-*; do
        [[ -L $f || $f == *.real || -e $f.real ]] && continue
        readelf -d "$f" 2>/dev/null | grep -q 'arm64\.so' || continue
        cp -p "$f" "$f.real"
        # shellcheck disable=SC2016 # expanded by the wrapper, not here
        printf '#!/bin/sh\nLD_LIBRARY_PATH=%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec %s "$@"\n' \
            "$lib" "$f.real" >"$f.tmp"
        chmod 755 "$f.tmp"
        mv -f "$f.tmp" "$f"
    done
}

# make -C DIR KDIR=<KERNEL's headers> ARGS..., in KERNEL's chroot where it
# has one (DIR's parent is bound into it at the same path: the driver's Kbuild
# reads the top-level VERSION).
kbuild_make() {
    local kernel=$1 dir=$2; shift 2
    local -a cmd=(make -C "$dir" KDIR="$(kernel_kdir "$kernel")" "$@")
    if [[ $(kernel_pin "$kernel" build) == arm64 ]]; then
        cmd=(env "PATH=$(arm64_cross_bin):$PATH" "${cmd[@]}" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
    fi
    kernel_headers "$kernel"
    if [[ $(kernel_pin "$kernel" build) == chroot ]]; then
        chroot_run "$(chroot_dir "$kernel")" "$(dirname -- "$dir")" -- "${cmd[@]}"
    else
        "${cmd[@]}"
    fi
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
# A KASAN kernel (6.1-debug) never gets past the PVH entry: its C part,
# xen_prepare_pvh(), is instrumented and runs before the shadow exists.
kernel_boot_image() {
    local kver=$1 root=$2 vmlinux=$CACHE_DIR/kernels/$1/vmlinux config tmp
    local bzimage=$root/boot/vmlinuz-$kver
    if [[ ${VM_PVH:-1} != 0 ]] && config=$(kernel_config "$root" "$kver") \
        && grep -q '^CONFIG_PVH=y' "$config" && ! grep -q '^CONFIG_KASAN=y' "$config"; then
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
    case ${1:-} in
        matrix)  kernel_matrix ;;
        default) kernel_default ;;
        *)       kernel=${1:-$(kernel_default)}
                 kver=$(kernel_resolve "$kernel")
                 root=$(kernel_fetch "$kver" "$kernel")
                 echo "$kver $root" ;;
    esac
fi
