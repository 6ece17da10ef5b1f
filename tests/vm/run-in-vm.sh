#!/usr/bin/env bash
# Run a command inside a throw-away QEMU guest that sees the host's / through a
# RAM overlay, with memphys.ko loaded.  See usage() or tests/vm/README.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=kernel.sh
source "$VM_DIR/kernel.sh"
# shellcheck source=initramfs.sh
source "$VM_DIR/initramfs.sh"

GUEST_OUT=/mnt/memphys-out        # must match OUT_MNT in init.sh
EXIT_TIMEOUT=124
EXIT_VM_FAILURE=125
DIE_STATUS=$EXIT_VM_FAILURE    # setup errors of this script exit 125 too

usage() {
    cat <<USAGE
usage: tests/vm/run-in-vm.sh [options] -- COMMAND [ARGS...]

Boots a Debian kernel in QEMU, mounts the host / read-only with a tmpfs overlay,
loads memphys.ko with regions= derived from --memmap and runs COMMAND in the
current directory.  Exit status: COMMAND's (1 if it succeeded but the guest
kernel log has a BUG/WARNING/Oops/taint), 124 on timeout, 125 if the VM failed.

options (environment variable in brackets):
  --kernel VER      guest kernel of tests/vm/kernels.conf: 6.1, 6.12, 7.2, 6.1-debug [KERNEL=6.1]
  --arch ARCH       x86_64, or arm64 (-M virt, a region in the device tree:
                    tests/vm/arm64.sh; implied by an arm64 kernel)   [VM_ARCH=x86_64]
  --mem SIZE        guest RAM                                       [VM_MEM=4G]
  --memmap SPEC     reserved RAM, SIZE\$BASE[,SIZE\$BASE...]          [VM_MEMMAP='1G\$0x100000000']
                    (SIZE!BASE: legacy pmem for device-dax, no memphys region)
  --smp N           guest CPUs (N>1 uses multi-threaded TCG)        [VM_SMP=1]
  --timeout SEC     hard limit for the whole guest run              [VM_TIMEOUT=900]
  --out DIR         output folder (default .cache/vm-runs/<stamp>)  [VM_OUT]
  --module PATH     module to load (default driver/memphys.ko)      [MEMPHYS_MODULE]
  --no-module       do not load any module                          [VM_NO_MODULE=1]
  --retries N       re-boots when the guest dies before COMMAND     [VM_RETRIES=2]
  --env NAME=VALUE  extra environment for COMMAND (repeatable)
  --machine TYPE    QEMU -machine value                             [VM_MACHINE=q35]
  --device SPEC     an extra QEMU -device SPEC (repeatable), e.g.
                    edu,dma_mask=0xffffffffffffffff   [VM_DEVICES='SPEC SPEC...']
  --append WORDS    extra guest kernel command-line words, e.g.
                    intel_iommu=on (repeatable)                     [VM_APPEND]
  --allow-reset     a guest reset (reboot -f) boots again instead of
                    ending QEMU; the command's next phase runs
                    (tests/vm/init.sh)                              [VM_ALLOW_RESET=1]
  --allow-forced-unload  the command forces a module unload (rmmod -f):
                    its taint note ("Disabling lock debugging due to
                    kernel taint") does not fail the run    [VM_ALLOW_FORCED_UNLOAD=1]
  -h, --help        this text
accelerator: KVM only when kvm_intel/kvm_amd is loaded, else TCG   [VM_ACCEL=kvm|tcg]
USAGE
}

parse_args() {
    KERNEL=$(kernel_default)
    VM_MEM=${VM_MEM:-4G}
    VM_MEMMAP=${VM_MEMMAP:-'1G$0x100000000'}
    VM_SMP=${VM_SMP:-1}
    VM_TIMEOUT=${VM_TIMEOUT:-900}
    VM_OUT=${VM_OUT:-}
    MEMPHYS_MODULE=${MEMPHYS_MODULE:-$REPO_ROOT/driver/memphys.ko}
    VM_NO_MODULE=${VM_NO_MODULE:-0}
    VM_MACHINE=${VM_MACHINE:-q35}
    VM_APPEND=${VM_APPEND:-}
    VM_ARCH=${VM_ARCH:-x86_64}
    VM_ALLOW_RESET=${VM_ALLOW_RESET:-0}
    VM_ALLOW_FORCED_UNLOAD=${VM_ALLOW_FORCED_UNLOAD:-0}
    EXTRA_ENV=()
    read -ra EXTRA_DEVICES <<<"${VM_DEVICES:-}"
    while [[ $# -gt 0 ]]; do
        case $1 in
            --kernel|--arch|--mem|--memmap|--smp|--timeout|--out|--module|--retries|--env|--machine|--device|--append)
                [[ $# -ge 2 ]] || die "$1 needs a value" ;;
        esac
        case $1 in
            --kernel)    KERNEL=$2; shift 2 ;;
            --arch)      VM_ARCH=$2; shift 2 ;;
            --mem)       VM_MEM=$2; shift 2 ;;
            --memmap)    VM_MEMMAP=$2; shift 2 ;;
            --smp)       VM_SMP=$2; shift 2 ;;
            --timeout)   VM_TIMEOUT=$2; shift 2 ;;
            --out)       VM_OUT=$2; shift 2 ;;
            --module)    MEMPHYS_MODULE=$2; shift 2 ;;
            --no-module) VM_NO_MODULE=1; shift ;;
            --retries)   VM_RETRIES=$2; shift 2 ;;
            --env)       [[ $2 == [A-Za-z_]*=* ]] || die "--env wants NAME=VALUE, got '$2'"
                         EXTRA_ENV+=("$2"); shift 2 ;;
            --machine)   VM_MACHINE=$2; shift 2 ;;
            --device)    EXTRA_DEVICES+=("$2"); shift 2 ;;
            --append)    VM_APPEND+=" $2"; shift 2 ;;
            --allow-reset) VM_ALLOW_RESET=1; shift ;;
            --allow-forced-unload) VM_ALLOW_FORCED_UNLOAD=1; shift ;;
            -h|--help)   usage; exit 0 ;;
            --)          shift; break ;;
            *)           usage >&2; die "unknown option '$1' (put the command after --)" ;;
        esac
    done
    [[ $# -gt 0 ]] || { usage >&2; die "no command given"; }
    COMMAND=("$@")
    [[ $VM_SMP =~ ^[1-9][0-9]*$ ]] || die "--smp wants a positive number"
    [[ $VM_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "--timeout wants seconds"
    [[ $VM_RETRIES =~ ^[0-9]+$ ]] || die "--retries wants a number"
    # The guest architecture's QEMU, console, kernel words, arguments and
    # shares (arm64.sh sets its own when sourced).
    [[ $(kernel_pin "$KERNEL" build) != arm64 ]] || VM_ARCH=arm64   # an arm64 kernel boots only there
    QEMU_BIN=qemu-system-x86_64
    VM_CONSOLE=ttyS0
    VM_ARCH_APPEND=""
    VM_ARCH_ARGS=()
    case $VM_ARCH in
        x86_64) ;;
        arm64)  # shellcheck source=arm64.sh
                source "$VM_DIR/arm64.sh" ;;
        *)      die "--arch wants x86_64 or arm64, got '$VM_ARCH'" ;;
    esac
}

# memmap SIZE$BASE[,SIZE$BASE] -> regions SIZE@BASE[,SIZE@BASE]; SIZE!BASE
# entries (legacy persistent memory, for device-dax) are no memphys region.
memmap_to_regions() {
    local item out=() items
    IFS=, read -ra items <<<"$1"
    for item in "${items[@]}"; do
        [[ $item =~ ^[0-9]+[KMGkmg]?[\$!](0x[0-9a-fA-F]+|[0-9]+[KMGkmg]?)$ ]] \
            || die "bad --memmap entry '$item' (want SIZE\$BASE or SIZE!BASE, e.g. 1G\$0x100000000)"
        if [[ $item == *\$* ]]; then out+=("${item/\$/@}"); fi
    done
    (IFS=,; echo "${out[*]}")
}

# Snapshot the module into the out share (a rebuild during the run cannot race
# with the guest's insmod) and check that it was built for the guest kernel.
snapshot_module() {
    local kver=$1 snap vermagic
    GUEST_MODULE=""
    [[ $VM_NO_MODULE == 1 ]] && return 0
    [[ -f $MEMPHYS_MODULE ]] || die "module $MEMPHYS_MODULE not found (build it, or pass --no-module)"
    snap=$VM_OUT/.vm/$(basename "$MEMPHYS_MODULE")
    cp "$MEMPHYS_MODULE" "$snap"
    vermagic=$(modinfo -F vermagic "$snap") || die "modinfo failed on $MEMPHYS_MODULE"
    [[ ${vermagic%% *} == "$kver" ]] \
        || die "$MEMPHYS_MODULE was built for '${vermagic%% *}' but the guest kernel is '$kver' (rebuild it: make driver KERNEL=$KERNEL)"
    GUEST_MODULE=$GUEST_OUT/.vm/$(basename "$MEMPHYS_MODULE")
}

prepare_out() {
    if [[ -z $VM_OUT ]]; then
        VM_OUT=$CACHE_DIR/vm-runs/$(date +%Y%m%d-%H%M%S)-$$
    fi
    mkdir -p "$VM_OUT"
    VM_OUT=$(realpath "$VM_OUT")
    [[ $VM_OUT != *,* ]] || die "--out path must not contain commas: $VM_OUT"
    rm -rf "$VM_OUT/.vm"
    mkdir -p "$VM_OUT/.vm"
}

# Single-quote a word for sh.
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# The guest files: config.sh for init, command.sh with the command and its
# environment; among it the kernel image and a snapshot of the initrd, which a
# command that kexecs boots again (MEMPHYS_VM_KERNEL_IMAGE, MEMPHYS_VM_INITRD).
write_guest_files() {
    local regions=$1 modules=$2 image=$3 initrd=$4 e
    cp "$initrd" "$VM_OUT/.vm/initrd.cpio.gz"
    {
        echo "VM_LOAD_MODULE=$([[ $VM_NO_MODULE == 1 ]] && echo 0 || echo 1)"
        echo "VM_MODULE=$(sq "$GUEST_MODULE")"
        echo "VM_REGIONS=$(sq "$regions")"
        echo "VM_ALLOW_RESET=$VM_ALLOW_RESET"
    } >"$VM_OUT/.vm/config.sh"
    {
        echo "# generated by tests/vm/run-in-vm.sh; run by the guest init with bash"
        # DOTNET_EnableWriteXorExecute=0: .NET's W^X double mapping of JIT code
        # once died in a guest with "Fatal error. The RW block to unmap was not
        # found" while the bench test JIT-compiled; code pages are no part of
        # what memphys tests.
        for e in HOME=/root DOTNET_CLI_HOME=/root DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 \
                 DOTNET_EnableWriteXorExecute=0 \
                 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 TERM=dumb LANG=C.UTF-8 TMPDIR=/tmp \
                 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                 MEMPHYS_IN_VM=1 "MEMPHYS_OUT=$GUEST_OUT" "MEMPHYS_KO=$MEMPHYS_MODULE" \
                 "MEMPHYS_KERNEL_MODULES=$modules" "MEMPHYS_VM_KERNEL_IMAGE=$image" \
                 "MEMPHYS_VM_INITRD=$GUEST_OUT/.vm/initrd.cpio.gz" \
                 "MEMPHYS_REGIONS=$regions" ${EXTRA_ENV[@]+"${EXTRA_ENV[@]}"}; do
            echo "export ${e%%=*}=$(sq "${e#*=}")"
        done
        echo "cd -- $(sq "$PWD") || { echo 'memphys-vm: cannot cd to $PWD in the guest' >&2; exit 125; }"
        printf 'exec'
        for e in "${COMMAND[@]}"; do printf ' %s' "$(sq "$e")"; done
        echo
    } >"$VM_OUT/.vm/command.sh"
}

# Command-line switches of the detectors the guest kernel was built with but
# that are off by default (the debug kernel's DEBUG_PAGEALLOC).
debug_kernel_args() {
    local kver=$1 root=$2 config
    config=$(kernel_config "$root" "$kver") || return 0
    if grep -q '^CONFIG_DEBUG_PAGEALLOC=y' "$config" \
        && ! grep -q '^CONFIG_DEBUG_PAGEALLOC_ENABLE_DEFAULT=y' "$config"; then
        printf ' debug_pagealloc=on'
    fi
}

build_qemu_cmd() {
    local kernel=$1 initrd=$2 item append items
    append="console=$VM_CONSOLE panic=-1 loglevel=5 rdinit=/init$3$VM_ARCH_APPEND"
    IFS=, read -ra items <<<"$VM_MEMMAP"
    for item in "${items[@]}"; do append+=" memmap=$item"; done
    append+=${VM_APPEND:+ ${VM_APPEND# }}
    QEMU_CMD=("$QEMU_BIN" -nodefaults -no-user-config -display none)
    [[ $VM_ALLOW_RESET == 1 ]] || QEMU_CMD+=(-no-reboot)
    QEMU_CMD+=(-machine "$VM_MACHINE" "${ACCEL_ARGS[@]}" ${VM_ARCH_ARGS[@]+"${VM_ARCH_ARGS[@]}"} -m "$VM_MEM" -smp "$VM_SMP")
    for item in ${EXTRA_DEVICES[@]+"${EXTRA_DEVICES[@]}"}; do QEMU_CMD+=(-device "$item"); done
    QEMU_CMD+=(-kernel "$kernel" -initrd "$initrd" -append)
    APPEND_IDX=${#QEMU_CMD[@]}
    QEMU_CMD+=("$append"
        -chardev "stdio,id=con,logfile=$VM_OUT/console.log"
        -serial chardev:con
        -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
        -virtfs "local,path=$VM_OUT,mount_tag=out,security_model=none,multidevs=remap")
    printf '%q ' "${QEMU_CMD[@]}" >"$VM_OUT/.vm/qemu-cmdline.txt"
}

reset_attempt_files() {
    rm -f "$VM_OUT"/{started,result.json,command.log,dmesg.txt,console.log,dmar-expected.txt}
}

json_field() { sed -nE "s/.*\"$1\":(\"([^\"]*)\"|([^,}]*)).*/\2\3/p" "$2"; }

print_console_tail() {
    [[ -f $VM_OUT/console.log ]] || return 0
    log "last 40 lines of $VM_OUT/console.log:"
    tail -n 40 "$VM_OUT/console.log" | sed 's/^/    /' >&2
}

# Boot once (attempt $1 of boot_with_retries). Sets OUTCOME to done|retry|fail and RC.
boot_once() {
    local attempt=$1 qrc=0
    local -a cmd=("${QEMU_CMD[@]}")
    reset_attempt_files
    # Test hook for selftest.sh: make the first N boots die before the command.
    if [[ $attempt -le ${VM_SELFTEST_FAIL_BOOTS:-0} ]]; then
        cmd[APPEND_IDX]+=" memphys_vm.selftest_die_early"
    fi
    timeout --foreground -k 10 "$VM_TIMEOUT" "${cmd[@]}" </dev/null || qrc=$?
    if [[ -f $VM_OUT/result.json ]]; then
        if [[ $(json_field started "$VM_OUT/result.json") == true ]]; then
            OUTCOME=done; RC=$(json_field exit_code "$VM_OUT/result.json")
        else
            OUTCOME=fail; RC=$EXIT_VM_FAILURE
            log "guest could not start the command: $(json_field error "$VM_OUT/result.json")"
            print_console_tail
        fi
        return 0
    fi
    if [[ $qrc -eq 124 || $qrc -eq 137 ]]; then
        log "guest timed out after $VM_TIMEOUT s"
        print_console_tail
        OUTCOME=fail; RC=$EXIT_TIMEOUT
        [[ -f $VM_OUT/started ]] || OUTCOME=retry
    elif [[ -f $VM_OUT/started ]]; then
        log "guest died while running the command (qemu exit $qrc), no result reported"
        print_console_tail
        OUTCOME=fail; RC=$EXIT_VM_FAILURE
    else
        OUTCOME=retry; RC=$EXIT_VM_FAILURE
        log "guest died before the command started (qemu exit $qrc)"
    fi
}

# Prints the guest kernel log's first report in full and every offending
# line; returns 1 if there are any.
scan_kernel_log() {
    local f=$VM_OUT/dmesg.txt
    [[ -f $f ]] || f=$VM_OUT/console.log
    [[ -f $f ]] || return 0
    # delete_module(O_TRUNC) taints (TAINT_FORCED_RMMOD) and says so once.
    [[ $VM_ALLOW_FORCED_UNLOAD == 0 ]] || KLOG_BENIGN+='|Disabling lock debugging due to kernel taint'
    klog_scan "$f" "$VM_OUT/dmar-expected.txt"
}

# Name the modules of the suites (kernel.sh SUITE_MODULES) that the guest
# kernel lacks, before it boots: the cases that load them will fail.
warn_missing_modules() {
    local missing
    missing=$(kernel_missing_modules "$1" "$2" | paste -sd' ')
    [[ -z $missing ]] || log "kernel $1 has no module $missing in $2/lib/modules: the tests that load it will fail (a debug kernel: tests/vm/debug-kernel.config, kernel.sh SUITE_MODULES)"
}

main() {
    parse_args "$@"
    need_cmd "$QEMU_BIN" timeout modinfo modprobe depmod
    local kver root initrd regions start boot="?" status
    kver=$(kernel_resolve "$KERNEL")
    root=$(kernel_fetch "$kver" "$KERNEL")
    initrd=$(initramfs_build "$kver" "$root")
    warn_missing_modules "$kver" "$root"
    regions=$(memmap_to_regions "$VM_MEMMAP")
    MEMPHYS_MODULE=$(realpath -m "$MEMPHYS_MODULE")
    choose_accel
    prepare_out
    if [[ $VM_ARCH == arm64 ]]; then
        arm64_vm_setup "$VM_OUT/.vm"
        regions=$ARM64_REGIONS
    fi
    snapshot_module "$kver"
    write_guest_files "$regions" "$root/lib/modules/$kver" "$root/boot/vmlinuz-$kver" "$initrd"
    build_qemu_cmd "$(kernel_boot_image "$kver" "$root")" "$initrd" "$(debug_kernel_args "$kver" "$root")"

    # Ctrl-C / kill: stop, never take the dead guest for a boot failure to retry.
    trap 'log "interrupted; output in $VM_OUT"; exit 130' INT TERM
    start=$SECONDS
    vlog "qemu: ${QEMU_CMD[*]}"
    boot_with_retries "$VM_OUT/console.log" boot_once
    if [[ $OUTCOME == retry ]]; then
        print_console_tail
        OUTCOME=fail
    fi
    [[ -f $VM_OUT/started ]] && boot=$(<"$VM_OUT/started")s

    if [[ $OUTCOME == done ]]; then
        status="command exit $RC"
        if ! scan_kernel_log; then
            status+=", kernel log has errors"
            [[ $RC -ne 0 ]] || RC=1
        fi
    else
        status="VM failure"
        [[ $RC -eq $EXIT_TIMEOUT ]] && status="timeout"
        scan_kernel_log || true
    fi
    log "summary: $status; exit $RC; kernel $kver; $ACCEL smp=$VM_SMP mem=$VM_MEM; attempts $ATTEMPT/$ATTEMPTS; boot ${boot}; total $((SECONDS - start))s; out $VM_OUT"
    return "$RC"
}

main "$@"; exit  # on one line: editing this file cannot affect a running instance
