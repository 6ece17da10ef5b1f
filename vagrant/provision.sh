#!/usr/bin/env bash
# Provisioning steps of the memphys Vagrant box (vagrant/Vagrantfile), run as root:
#   provision.sh STEP...     steps: packages build reserve install verify
# Environment: MEMPHYS_SRC (the checkout; default /memphys), MEMPHYS_SIZE (RAM to
# reserve, default 1G), MEMPHYS_REGIONS (regions= to install; default: what
# `reserve` proposed), MEMPHYS_VERIFY_LENGTH (default 16M), MEMPHYS_GRUB_DROPIN.
# tests/guest/install-tests.sh runs reserve, install and verify in the QEMU test guest.
set -euo pipefail

SRC=${MEMPHYS_SRC:-/memphys}
SIZE=${MEMPHYS_SIZE:-1G}
STATE=/var/lib/memphys/regions
DROPIN=${MEMPHYS_GRUB_DROPIN:-/etc/default/grub.d/memphys.cfg}
DOTNET_DIR=/usr/local/share/dotnet
CLI=/usr/local/bin/memphys

say() { printf '\n=== memphys provision: %s\n' "$*"; }
die() { printf 'memphys provision: error: %s\n' "$*" >&2; exit 1; }

# Headers of the running kernel (DKMS builds against them), build tools, DKMS, udev.
step_packages() {
    say "packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -qq update
    apt-get install -y -qq --no-install-recommends "linux-headers-$(uname -r)" linux-headers-amd64 \
        build-essential dkms udev kmod curl ca-certificates libicu72 file >/dev/null
    step_dotnet
}

# The .NET 10 SDK (not packaged by Debian 12) from Microsoft's install script.
step_dotnet() {
    if [[ -x $DOTNET_DIR/dotnet ]] && "$DOTNET_DIR/dotnet" --list-sdks | grep -q '^10\.'; then
        return 0
    fi
    curl -fsSL https://dot.net/v1/dotnet-install.sh -o /tmp/dotnet-install.sh
    bash /tmp/dotnet-install.sh --channel 10.0 --install-dir "$DOTNET_DIR"
    ln -sfn "$DOTNET_DIR/dotnet" /usr/local/bin/dotnet
}

# The CLI as one self-contained file (managed/publish/memphys).
step_build() {
    say "build the CLI"
    make -C "$SRC" publish
}

# Propose memmap= for SIZE and write it to the GRUB drop-in (reboot to apply).
step_reserve() {
    local json regions
    say "reserve $SIZE of RAM (memmap=)"
    "$SRC/managed/publish/memphys" memmap --size "$SIZE" --apply --grub-dropin "$DROPIN"
    json=$("$SRC/managed/publish/memphys" memmap --size "$SIZE" --json)
    regions=$(sed -n 's/.*"regions": "\([^"]*\)".*/\1/p' <<<"$json")
    [[ -n $regions ]] || die "no regions in: $json"
    mkdir -p "${STATE%/*}"
    echo "$regions" >"$STATE"
    if command -v update-grub >/dev/null; then
        update-grub
    else
        echo "update-grub not found: add the parameter to your boot loader yourself"
    fi
}

# Module through DKMS, udev rule, modprobe.d options (loaded at boot), CLI.
step_install() {
    local regions=${MEMPHYS_REGIONS:-}
    [[ -n $regions ]] || regions=$(cat "$STATE" 2>/dev/null) || die "no regions: run the reserve step first"
    say "install (regions=$regions)"
    make -C "$SRC" install REGIONS="$regions"
}

# After the reboot: the reservation is active, the module loaded, the node
# carries the udev rule's group and mode, and the installed CLI verifies.
step_verify() {
    local mode
    say "verify"
    grep -o 'memmap=[^ ]*' /proc/cmdline || die "no memmap= on the kernel command line: did the box reboot?"
    [[ -e /sys/module/memphys ]] || modprobe memphys
    command -v udevadm >/dev/null && udevadm settle
    mode=$(stat -c '%U:%G %a' /dev/memphys0)
    [[ $mode == "root:memphys 660" ]] || die "/dev/memphys0 is $mode, want root:memphys 660 (udev rule)"
    "$CLI" info
    "$CLI" verify --length "${MEMPHYS_VERIFY_LENGTH:-16M}"
}

main() {
    local step
    [[ $(id -u) -eq 0 ]] || die "run as root"
    [[ $# -gt 0 ]] || die "usage: provision.sh STEP... (packages build reserve install verify)"
    for step in "$@"; do
        case $step in
            packages|build|reserve|install|verify) "step_$step" ;;
            *) die "unknown step '$step'" ;;
        esac
    done
}

main "$@"
