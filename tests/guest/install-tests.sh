#!/usr/bin/env bash
# Runs inside the guest (tests/vm/run-in-vm.sh --no-module, as root, the host's
# root under a RAM overlay): installs memphys the way a user does on a real
# machine, through the Vagrant box's own provisioning steps (vagrant/provision.sh
# reserve, install, verify), and checks each piece.  Prints PASS/FAIL per check and ends with
# "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
# shellcheck source=../vm/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../vm/lib.sh"

REGIONS=${MEMPHYS_REGIONS:?run through tests/vm/run-in-vm.sh}
CHECK_LOGS=${MEMPHYS_OUT:-/tmp}/install-tests
CLI=/usr/local/bin/memphys
PROVISION=vagrant/provision.sh
DROPIN=/etc/default/grub.d/memphys.cfg

mkdir -p "$CHECK_LOGS"


# The harness starts COMMAND from a minimal init: give it what a booted Debian
# has and the installer relies on (/dev/fd for bash process substitution in
# dkms, a running udevd that applies rules to new device nodes).
prepare_guest() {
    local fd
    ln -sfn /proc/self/fd /dev/fd
    for fd in 0:stdin 1:stdout 2:stderr; do ln -sfn "/proc/self/fd/${fd%%:*}" "/dev/${fd#*:}"; done
    export SYSTEMD_IGNORE_CHROOT=1     # the harness runs COMMAND under chroot
    /lib/systemd/systemd-udevd --daemon
    udevadm settle
}

# Every kernel the guest could boot has memphys built and installed by DKMS.
dkms_installed_for_guest_kernel() {
    local status path
    status=$(dkms status -m memphys -k "$(uname -r)")
    path=$(modinfo -n memphys)
    printf '%s\n' "$status" "$path"
    [[ $status == *": installed"* && $path == "/lib/modules/$(uname -r)/updates/dkms/memphys.ko" ]]
}

modprobe_creates_device() {
    grep -x "options memphys regions=$REGIONS" /etc/modprobe.d/memphys.conf
    modprobe memphys
    udevadm settle
    test -c /dev/memphys0
    grep -x "$REGIONS" /sys/module/memphys/parameters/regions
}

node_has_rule_mode() {
    local want="root:memphys 660" got
    got=$(stat -c '%U:%G %a' /dev/memphys0)
    echo "/dev/memphys0: $got (want $want)"
    [[ $got == "$want" ]]
}

# As nobody with CAP_SYS_RAWIO (which the driver requires): the node's group
# decides. ARGS: extra setpriv options; the CLI's exit code is returned.
cli_as_nobody() {
    setpriv --reuid=nobody --regid=nogroup "$@" --inh-caps=+sys_rawio --ambient-caps=+sys_rawio \
        "$CLI" info
}

group_member_may_open() { cli_as_nobody --groups=memphys; }

non_member_is_refused() {
    local rc=0
    cli_as_nobody --clear-groups || rc=$?
    echo "exit $rc (want 3: permission denied)"
    ((rc == 3))
}

# `memphys memmap --apply` (the reserve step) proposes the guest's free high GiB
# and writes a drop-in that a shell (grub-mkconfig) reads back with '$' escaped.
reserve_writes_grub_dropin() {
    local want="quiet memmap=1G\\\$0x140000000" got
    MEMPHYS_SRC=$PWD "$PROVISION" reserve
    cat "$DROPIN"
    # shellcheck disable=SC2016 # expanded by the inner shell
    got=$(bash -c 'GRUB_CMDLINE_LINUX=quiet; . "$1"; printf %s "$GRUB_CMDLINE_LINUX"' bash "$DROPIN")
    echo "GRUB_CMDLINE_LINUX after the drop-in: $got (want $want)"
    [[ $got == "$want" ]]
}

installed_cli_verifies() {
    file -L "$CLI"
    MEMPHYS_SRC=$PWD "$PROVISION" verify
}

# The memphys .NET tool installed as a user does (`dotnet tool install` from
# the packages of `make pack`; that folder is the only package source: the
# guest has no network), then `memphys verify` on the installed module and
# `--version` against the one version of VERSION.
dotnet_tool_verifies() {
    local dir=/tmp/memphys-tool config=/tmp/memphys-tool.nuget.config version got
    version=$(tr -d '[:space:]' <VERSION)
    printf '<configuration><packageSources><clear /><add key="local" value="%s" /></packageSources></configuration>\n' \
        "$PWD/managed/nupkg" >"$config"
    rm -rf "$dir"
    export DOTNET_CLI_HOME=/tmp/dotnet-home NUGET_PACKAGES=/tmp/memphys-tool-packages DOTNET_NOLOGO=1 \
        DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_ROOT
    DOTNET_ROOT=$(dirname -- "$(readlink -f -- "$(command -v dotnet)")")
    dotnet tool install --tool-path "$dir" --configfile "$config" --version "$version" memphys
    got=$("$dir/memphys" --version)
    echo "memphys --version: $got (want $version)"
    [[ $got == "$version"* ]]
    "$dir/memphys" verify --length 16M
}

uninstall_removes_everything() {
    modprobe -r memphys
    make uninstall
    if modinfo memphys 2>/dev/null || [[ -n $(dkms status -m memphys) ]]; then
        echo "memphys is still known to modprobe or dkms"
        return 1
    fi
    test ! -e /etc/udev/rules.d/60-memphys.rules
    test ! -e "$CLI"
}

main() {
    prepare_guest
    check provision-reserve reserve_writes_grub_dropin
    check make-install env MEMPHYS_SRC="$PWD" "$PROVISION" install
    check dkms-installed dkms_installed_for_guest_kernel
    check modprobe-creates-device modprobe_creates_device
    check udev-rule-mode node_has_rule_mode
    check group-member-opens group_member_may_open
    check non-member-refused non_member_is_refused
    check provision-verify installed_cli_verifies
    check dotnet-tool-verifies dotnet_tool_verifies
    check make-uninstall uninstall_removes_everything
    summary
}

main "$@"
