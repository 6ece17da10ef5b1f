#!/usr/bin/env bash
# Install what the VM harness needs (idempotent, quiet when all is present),
# fetch the guest kernel images into .cache/kernels/ and make their headers
# available for module builds (tests/vm/kernels.conf says how).
#   tests/vm/deps.sh [KERNEL...]     (default: $KERNEL or the first kernel)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# dwarves: pahole, for the BTF of modules built against unpacked headers;
# debootstrap: the build chroot of kernels whose headers need a newer gcc.
PACKAGES=(qemu-system-x86 busybox-static cpio kmod sparse xz-utils zstd gzip make gcc
          dwarves debootstrap)
# The install stage (tests/guest/install-tests.sh): DKMS and udev run inside the
# guest from the host's root; vagrant (+ the libvirt provider, so that its
# settings are validated too) checks vagrant/, shellcheck the scripts.
PACKAGES+=(dkms udev vagrant vagrant-libvirt shellcheck)
# The static 32-bit probe of the i386 stage (gcc -m32 -static).
PACKAGES+=(gcc-multilib libc6-dev-i386)
# make bench (tests/vm/bench.sh): device-dax namespaces on the guest's legacy pmem.
PACKAGES+=(ndctl daxctl)
# The persist stage (tests/guest/persist-tests.sh): kexec in the guest, jq to
# read `memphys kexec-args --json`.
PACKAGES+=(kexec-tools jq)
# The arm64 stages (tests/vm/arm64.sh): the virt board and the device tree
# edited with dtc.  The cross compiler is not installed but unpacked into
# the cache (tests/vm/kernel.sh: arm64_cross_bin): Debian's
# gcc-12-aarch64-linux-gnu conflicts with gcc-multilib (the i386 probe).
PACKAGES+=(qemu-system-arm device-tree-compiler)
# The binding document (dt-doc-validate, dt-validate of its example).
PACKAGES+=(dt-schema)
# make fuzz-trinity: the system-call fuzzer aimed at /dev/memphys0 in a guest
# (the guest runs the host's binaries).
PACKAGES+=(trinity)
# What building a kernel from source needs (only for `source` kernels: 6.1-debug).
SOURCE_BUILD_PACKAGES=(bc bison flex libelf-dev libssl-dev perl)

missing_packages() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || echo "$p"
    done
}

install_packages() {
    local -a missing
    mapfile -t missing < <(missing_packages "$@")
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -qq update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# kexec-tools would otherwise answer its debconf question with "kexec on every
# reboot" (LOAD_KEXEC=true): the host's own reboots must stay firmware reboots.
preseed() {
    dpkg-query -W -f='${db:Status-Abbrev}' kexec-tools 2>/dev/null | grep -q '^ii' && return 0
    echo 'kexec-tools kexec-tools/load_kexec boolean false' | as_root debconf-set-selections
}

main() {
    local kernel kver
    preseed
    install_packages "${PACKAGES[@]}"
    # shellcheck source=kernel.sh
    source "$VM_DIR/kernel.sh"
    for kernel in "${@:-$(kernel_default)}"; do
        kver=$(kernel_resolve "$kernel")
        case $(kernel_pin "$kernel" build) in
            host)   install_packages "linux-headers-$kver" \
                        || die_pin_gone "$kernel" "linux-headers-$kver" ;;
            source) install_packages "${SOURCE_BUILD_PACKAGES[@]}" ;;
        esac
        kernel_headers "$kernel"
        kernel_fetch "$kver" "$kernel" >/dev/null
    done
}

main "$@"; exit
