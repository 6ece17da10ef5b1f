# shellcheck shell=bash
# Common helpers for the memphys QEMU test harness. Source, do not execute.

VM_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(git -C "$VM_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$VM_DIR/../.." && pwd))
CACHE_DIR=${MEMPHYS_CACHE_DIR:-$REPO_ROOT/.cache}

log()  { printf 'memphys-vm: %s\n' "$*" >&2; }
die()  { log "error: $*"; exit "${DIE_STATUS:-1}"; }
vlog() { [[ -n ${VM_VERBOSE:-} ]] && log "$@"; return 0; }

# Run a command as root (sudo only when we are not root already).
as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "'$c' not found (run tests/vm/deps.sh)"
    done
}

# Guest kernel log lines that fail a run, and the taint notes of our own
# out-of-tree, unsigned module that do not.
KLOG_BAD='BUG:|WARNING:|Oops|general protection|Call Trace|Tainted:|taint'
KLOG_BENIGN='loading out-of-tree module taints kernel|module verification failed'

# Prints the offending lines of guest kernel log FILE; returns 1 if there are any.
klog_scan() {
    local f=$1 hits marker
    hits=$(grep -vE "$KLOG_BENIGN" "$f" | grep -E "$KLOG_BAD" || true)
    [[ -z $hits ]] && return 0
    marker=$(grep -oE -m1 "$KLOG_BAD" <<<"$hits")
    log "guest kernel log has $marker ($f):"
    # One line of context before each hit: WARN() prints its message there.
    grep -vE "$KLOG_BENIGN" "$f" | grep -E -B1 "$KLOG_BAD" | head -n 40 | sed 's/^/    /' >&2
    return 1
}

# QEMU accelerator arguments (ACCEL_ARGS, ACCEL) for VM_SMP guest CPUs.
choose_accel() {
    local accel=${VM_ACCEL:-}
    if [[ -z $accel ]]; then
        accel=tcg
        grep -qE '^kvm_(intel|amd) ' /proc/modules 2>/dev/null && accel=kvm
    fi
    case $accel in
        kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
        # -smap: bookworm's QEMU (7.2) TCG pops IRETQ's frame with supervisor
        # accesses, so under SMAP a user-mode iretq faults (seen in a 7.2 guest:
        # "#PF: supervisor read access in user mode" and an Oops in .NET's
        # context restore). SMAP is no part of what memphys tests.
        tcg) if [[ $VM_SMP -gt 1 ]]; then ACCEL_ARGS=(-accel tcg,thread=multi -cpu max,-smap)
             else ACCEL_ARGS=(-accel tcg,thread=single -cpu max,-smap); fi ;;
        *)   die "VM_ACCEL must be kvm or tcg, got '$accel'" ;;
    esac
    ACCEL=$accel
}
