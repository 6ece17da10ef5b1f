#!/usr/bin/env bash
# Build a kernel of kernels.conf whose BUILD is `source` (6.1-debug): Debian's
# linux-source-X.Y at the pinned VERSION, configured with Debian's own config
# of the kernel named without "-debug" (6.1), trimmed by localmodconfig to the
# modules the guest loads, plus the detectors of tests/vm/debug-kernel.config.
#
#   tests/vm/debug-kernel.sh [KERNEL]    builds once, prints the cache directory
#
# The build lives in .cache/kernels/source/VERSION-HASH (HASH of Debian's
# config, the fragment and the module list): build/ is the kernel tree (the
# KDIR of module builds), root/ has boot/ and lib/modules/ like an unpacked
# Debian image; .cache/kernels/KVER links to the current one.
set -euo pipefail
# shellcheck source=kernel.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/kernel.sh"
# shellcheck source=initramfs.sh
source "$VM_DIR/initramfs.sh"

FRAGMENT=$VM_DIR/debug-kernel.config

# The Debian kernel whose config the debug kernel starts from.
base_kernel() { echo "${1%-debug}"; }

# `lsmod` lines of the modules (with their dependencies) that the guest's
# initramfs and the suites load (kernel.sh SUITE_MODULES), resolved in the
# base kernel's image: localmodconfig keeps these and drops every other one.
guest_lsmod() {
    local kver=$1 root=$2 mod
    echo "Module Size Used by"
    for mod in "${INITRAMFS_MODULES[@]}" "${SUITE_MODULES[@]}"; do
        modprobe -d "$root" -S "$kver" --show-depends "$mod"
    done | awk '$1 == "insmod" { n = $2; sub(/.*\//, "", n); sub(/\.ko.*/, "", n); print n " 0 0" }' | sort -u
}

# Download linux-source-X.Y=VERSION (once) and unpack its tree into DIR.
unpack_source() {
    local kernel=$1 dir=$2 kver version pkg deb
    kver=$(kernel_pin "$kernel" kver)
    version=$(kernel_pin "$kernel" version)
    pkg=linux-source-$(cut -d. -f1,2 <<<"$kver")
    deb=$CACHE_DIR/kernels/source/${pkg}_${version}_all.deb
    if [[ ! -f $deb ]]; then
        log "downloading $pkg=$version"
        (cd "$(dirname "$deb")" && apt_for apt-get "$(kernel_suite "$kernel")" -qq download "$pkg=$version" \
            >/dev/null 2>&1) || die_pin_gone "$kernel" "$pkg"
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './usr/src/linux-source-*.tar.xz' \
        | tar -xJ -C "$dir" --strip-components=1
}

# Lines of the fragment that CONFIG (a final .config) does not honour: a value
# that is not there, or an option "not set" that something selected.
fragment_lost() {
    local config=$1 line sym
    while read -r line; do
        case $line in
            CONFIG_*)  grep -qxF -- "$line" "$config" || echo "$line" ;;
            '# CONFIG_'*' is not set')
                sym=${line#\# }; sym=${sym% is not set}
                ! grep -qE "^$sym=" "$config" || echo "$line" ;;
        esac
    done <"$FRAGMENT"
}

# The config symbol that builds module MOD in the tree DIR: the one of the
# Makefile line `obj-$(CONFIG_X) += ... MOD.o` ("-" and "_" alike).
module_symbol() {
    local dir=$1 mod=$2
    grep -rhoE --include=Makefile \
        "obj-\\\$\((CONFIG_[A-Z0-9_]+)\)[[:space:]]*[+:]?=([^#]*[[:space:]])?${mod//[-_]/[-_]}\.o([[:space:]]|\$)" "$dir" \
        | head -n 1 | sed -E 's/^obj-.\((CONFIG_[A-Z0-9_]+)\).*/\1/'
}

# The modules of the guest (INITRAMFS_MODULES, SUITE_MODULES) that CONFIG (a
# final .config of the tree DIR) does not build, each with its symbol: a
# fragment line that turns off what one of them depends on (CONFIG_FB once
# took vivid away) is caught here, not when a test loads it in the guest.
modules_lost() {
    local dir=$1 config=$2 mod sym
    for mod in "${INITRAMFS_MODULES[@]}" "${SUITE_MODULES[@]}"; do
        sym=$(module_symbol "$dir" "$mod")
        [[ -n $sym ]] || { echo "$mod (no Makefile line builds it)"; continue; }
        grep -qE "^$sym=[ym]\$" "$config" || echo "$mod ($sym)"
    done
}

# Debian's config + localmodconfig + the fragment, in the tree DIR; dies
# when a line of the fragment did not survive (a dependency is missing) or
# a module the guest loads is no longer built, before hours of compiling.
configure() {
    local dir=$1 config=$2 lsmod=$3 lost
    cp "$config" "$dir/.config"
    { yes '' || true; } | make -C "$dir" -s LSMOD="$lsmod" localmodconfig >"$dir/../config.log" 2>&1
    (cd "$dir" && scripts/kconfig/merge_config.sh -m .config "$FRAGMENT") >>"$dir/../config.log" 2>&1
    make -C "$dir" -s olddefconfig >>"$dir/../config.log" 2>&1
    lost=$(fragment_lost "$dir/.config")
    [[ -z $lost ]] || die "debug-kernel.config lines lost by olddefconfig:"$'\n'"$lost"
    lost=$(modules_lost "$dir" "$dir/.config")
    [[ -z $lost ]] || die "the configured tree does not build these modules the guest loads:"$'\n'"$lost"
}

# Compile and install the tree into ROOT (boot/vmlinuz-KVER, boot/config-KVER,
# lib/modules/KVER); the harness boots the bzImage (no PVH with KASAN).
build_install() {
    local dir=$1 out=$2 kver=$3 start=$SECONDS release
    log "building $kver with $(nproc) jobs (log: $out/build.log)"
    if ! make -C "$dir" -j"$(nproc)" bzImage modules >"$out/build.log" 2>&1; then
        tail -n 30 "$out/build.log" >&2
        die "kernel build failed (log: $out/build.log)"
    fi
    release=$(make -C "$dir" -s kernelrelease)
    [[ $release == "$kver" ]] || die "the tree built release $release, kernels.conf pins $kver"
    rm -rf "$out/root"
    mkdir -p "$out/root/boot"
    make -C "$dir" -s INSTALL_MOD_PATH="$out/root" INSTALL_MOD_STRIP=1 DEPMOD=true modules_install
    cp "$dir/arch/x86/boot/bzImage" "$out/root/boot/vmlinuz-$kver"
    cp "$dir/.config" "$out/root/boot/config-$kver"
    depmod -b "$out/root" "$kver"
    echo "$((SECONDS - start))" >"$out/build-seconds"
    log "built $kver in $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
}

# Build KERNEL (a `source` line of kernels.conf) unless the cache has it;
# print its cache directory.
debug_kernel_build() {
    local kernel=$1 kver base base_kver base_root config key out lsmod
    [[ $(kernel_pin "$kernel" build) == source ]] || die "KERNEL=$kernel is not built from source"
    kver=$(kernel_pin "$kernel" kver)
    base=$(base_kernel "$kernel")
    base_kver=$(kernel_resolve "$base")
    base_root=$(kernel_fetch "$base_kver" "$base")
    config=$(kernel_config "$base_root" "$base_kver") || die "no config in the $base image"
    lsmod=$(guest_lsmod "$base_kver" "$base_root")
    key=$( { cat "$config" "$FRAGMENT"; echo "$lsmod"; } | sha256sum | cut -c1-12)
    out=$CACHE_DIR/kernels/source/$(kernel_pin "$kernel" version)-$key
    if [[ ! -f $out/root/.unpacked ]]; then
        need_cmd make gcc bc bison flex perl
        mkdir -p "$out"
        echo "$lsmod" >"$out/lsmod"
        log "configuring $kver from linux-source $(kernel_pin "$kernel" version) (config $key)"
        unpack_source "$kernel" "$out/build"
        configure "$out/build" "$config" "$out/lsmod"
        build_install "$out/build" "$out" "$kver"
        touch "$out/root/.unpacked"
    fi
    ln -sfn "$out" "$CACHE_DIR/kernels/$kver"
    echo "$out"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    debug_kernel_build "${1:-6.1-debug}"
fi
