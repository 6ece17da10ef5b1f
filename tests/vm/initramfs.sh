#!/usr/bin/env bash
# Build the VM initramfs for an unpacked kernel: busybox-static, tests/vm/init.sh
# as /init and the modules needed to mount the root (9p over virtio + overlay).
#
#   tests/vm/initramfs.sh KVER ROOT     prints the initramfs path
# Rebuilt only when its inputs (busybox, init.sh, this script, modules) change.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

INITRAMFS_MODULES=(virtio_pci 9pnet_virtio 9p overlay)
BUSYBOX=${BUSYBOX:-/bin/busybox}

# Module files (in load order, deduplicated) needed for INITRAMFS_MODULES;
# modules built into the kernel ("builtin" lines) need no file.
initramfs_module_files() {
    local kver=$1 root=$2 mod deps kind path
    local -A seen=()
    for mod in "${INITRAMFS_MODULES[@]}"; do
        deps=$(modprobe -d "$root" -S "$kver" --show-depends "$mod") \
            || die "modprobe cannot resolve $mod for $kver in $root"
        while read -r kind path _; do
            case $kind in
                insmod)  [[ -n ${seen[$path]:-} ]] || { seen[$path]=1; echo "$path"; } ;;
                builtin) ;;
                *)       die "unexpected modprobe output for $mod: $kind $path" ;;
            esac
        done <<<"$deps"
    done
}

# Copy a (possibly compressed) module to DEST as a plain .ko.
install_module() {
    local src=$1 dest=$2
    case $src in
        *.ko)     cp "$src" "$dest" ;;
        *.ko.xz)  xz -dc "$src" >"$dest" ;;
        *.ko.zst) zstd -qdc "$src" >"$dest" ;;
        *.ko.gz)  gzip -dc "$src" >"$dest" ;;
        *)        die "unknown module format: $src" ;;
    esac
}

initramfs_hash() {
    local kver=$1; shift
    {
        echo "$kver"
        sha256sum "$BUSYBOX" "$VM_DIR/init.sh" "$VM_DIR/initramfs.sh" "$@"
    } | sha256sum | cut -d' ' -f1
}

# Build (if needed) and print the initramfs path for KVER unpacked in ROOT.
initramfs_build() {
    local kver=$1 root=$2 out hash stamp staging tmp f i=0 name
    local list
    local -a mods=()
    list=$(initramfs_module_files "$kver" "$root")
    [[ -z $list ]] || mapfile -t mods <<<"$list"
    out=$CACHE_DIR/kernels/$kver/initramfs.cpio.gz
    stamp=$out.hash
    hash=$(initramfs_hash "$kver" "${mods[@]}")
    if [[ -f $out && -f $stamp && $(<"$stamp") == "$hash" ]]; then
        echo "$out"; return 0
    fi
    need_cmd cpio gzip
    [[ -x $BUSYBOX ]] || die "$BUSYBOX missing (install busybox-static)"
    staging=$(mktemp -d)
    mkdir -p "$staging"/{bin,sbin,etc,lib/modules,proc,sys,dev,tmp,mnt}
    cp "$BUSYBOX" "$staging/bin/busybox"
    install -m 0755 "$VM_DIR/init.sh" "$staging/init"
    for f in "${mods[@]}"; do
        i=$((i + 1))
        name=$(printf '%02d-%s' "$i" "$(basename "${f%%.ko*}").ko")
        install_module "$f" "$staging/lib/modules/$name"
        echo "$name" >>"$staging/etc/modules.order"
    done
    tmp=$(mktemp "$out.XXXXXX")   # concurrent builds: each writes its own, mv is atomic
    (cd "$staging" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$tmp"
    rm -rf "$staging"
    chmod 0644 "$tmp"
    mv "$tmp" "$out"
    echo "$hash" >"$stamp"
    log "initramfs for $kver rebuilt (${#mods[@]} modules)"
    echo "$out"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    [[ $# -eq 2 ]] || die "usage: $0 KVER ROOT"
    initramfs_build "$1" "$2"
fi
