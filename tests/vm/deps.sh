#!/usr/bin/env bash
# Install what the VM harness needs (idempotent, quiet when all is present) and
# fetch the guest kernel image into .cache/kernels/.
#   tests/vm/deps.sh [KERNEL...]     (default: $KERNEL or 6.1)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(qemu-system-x86 busybox-static cpio kmod sparse linux-headers-amd64
          xz-utils zstd gzip make gcc)
# The static 32-bit probe of the i386 stage (gcc -m32 -static).
PACKAGES+=(gcc-multilib libc6-dev-i386)

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

main() {
    local kernel kver
    install_packages "${PACKAGES[@]}"
    # shellcheck source=kernel.sh
    source "$VM_DIR/kernel.sh"
    for kernel in "${@:-${KERNEL:-6.1}}"; do
        kver=$(kernel_resolve "$kernel")
        # The module is built against these headers; they must match the image.
        # (Headers of non-system suites are not installed: that would need the
        # private apt config for the install too.)
        if [[ -z $(kernel_suite "$kernel") ]]; then
            install_packages "linux-headers-$kver"
        fi
        kernel_fetch "$kver" "$kernel" >/dev/null
    done
}

main "$@"; exit
