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
# Reports of the kernel's detectors: WARN/BUG ("BUG: KASAN:", "BUG: sleeping
# function", "BUG: Bad page state"), lockdep ("WARNING: possible circular
# locking", "WARNING: suspicious RCU usage"), BUG_ON (page-table check,
# VM_BUG_ON: "kernel BUG at"), DEBUG_VM's dump_page, DEBUG_OBJECTS, oopses,
# and the IOMMU's fault reports ("DMAR: [DMA Write NO_PASID] Request device
# [00:01.0] fault addr 0x... [fault reason ...]").
KLOG_BAD='BUG:|WARNING:|kernel BUG at|VM_BUG_ON|page dumped because|ODEBUG:|Oops|general protection|Call Trace|Tainted:|taint|DMAR: \['
KLOG_BENIGN='loading out-of-tree module taints kernel|module verification failed'

# Prints the kernel log F's first report in full and every matching line;
# returns 1 if there is any.  EXPECTED (optional) lists the IOMMU faults a
# test provoked on purpose, one "fault addr 0x..." a line: a DMAR report of
# one of those addresses is no failure.
klog_scan() {
    local f=$1 expected=${2:-} klog first count
    klog=$(grep -vE "$KLOG_BENIGN" "$f" || true)
    if [[ -s $expected ]]; then
        klog=$(awk -v list="$expected" 'BEGIN { while ((getline l < list) > 0) if (l != "") want[++n] = l " " }
            /DMAR: \[/ { for (i = 1; i <= n; i++) if (index($0, want[i])) next } { print }' <<<"$klog")
    fi
    first=$(grep -nE -m1 "$KLOG_BAD" <<<"$klog" | cut -d: -f1)
    [[ -z $first ]] && return 0
    count=$(grep -cE "$KLOG_BAD" <<<"$klog")
    log "guest kernel log has $(grep -oE -m1 "$KLOG_BAD" <<<"$klog" | head -n1) ($count matching lines, $f); the first report:"
    # From one line before (WARN() prints its message there) to its stacks.
    tail -n "+$((first > 1 ? first - 1 : 1))" <<<"$klog" | head -n 100 | sed 's/^/    /' >&2
    log "matching lines:"
    grep -E "$KLOG_BAD" <<<"$klog" | head -n 40 | sed 's/^/    /' >&2
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
             else ACCEL_ARGS=(-accel tcg,thread=single -cpu max,-smap); fi
             # VM_ICOUNT (e.g. shift=0,sleep=off; make bench): the guest clock
             # counts executed instructions, so host load does not show in timings.
             if [[ -n ${VM_ICOUNT:-} ]]; then ACCEL_ARGS+=(-icount "$VM_ICOUNT"); fi ;;
        *)   die "VM_ACCEL must be kvm or tcg, got '$accel'" ;;
    esac
    ACCEL=$accel
}
