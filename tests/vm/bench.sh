#!/usr/bin/env bash
# `make bench`: boots a guest with RAM reserved for memphys and runs
# tests/bench-guest.sh in it (memphys kinds, anonymous memory, hugetlbfs; then
# /dev/mem over the same range with the module unloaded).  Writes bench.json,
# bench.txt (the table), bench.svg (the chart) and the guest's logs to
# results/bench/<kernel>/ (git-ignored).
#   tests/vm/bench.sh [KERNEL]      (default: $KERNEL or the first kernel)
# Environment: BENCH_LENGTH (1G; 2G works), BENCH_WINDOW (bandwidth window,
# 64M), BENCH_ROUNDS (5), BENCH_OUT (results/bench/<kernel>), VM_ICOUNT
# (shift=0,sleep=off: under TCG the guest clock counts instructions, 1 ns
# each, so the load of a shared host does not show in the figures; set it
# empty for wall-clock time).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=kernel.sh
source "$VM_DIR/kernel.sh"

BENCH_LENGTH=${BENCH_LENGTH:-1G}
BENCH_WINDOW=${BENCH_WINDOW:-64M}
BENCH_ROUNDS=${BENCH_ROUNDS:-5}
export VM_ICOUNT=${VM_ICOUNT-shift=0,sleep=off}
REGION_BASE=0x100000000

# Guest RAM: the reserved region, as much again for the hugetlb pool and for
# one anonymous mapping at a time, and 3 GiB for the system and .NET.
guest_mem() {
    local gib=$(($(numfmt --from=iec "$BENCH_LENGTH") >> 30))
    [[ $gib -ge 1 ]] || die "BENCH_LENGTH=$BENCH_LENGTH: want whole GiB (1G, 2G, ...)"
    echo "$((3 * gib + 3))G"
}

main() {
    local kernel=${1:-${KERNEL:-$(kernel_names | head -n1)}} out
    out=${BENCH_OUT:-$REPO_ROOT/results/bench/$kernel}
    mkdir -p "$out"
    log "bench on $kernel: $BENCH_LENGTH, window $BENCH_WINDOW, $BENCH_ROUNDS rounds -> $out"
    "$VM_DIR/run-in-vm.sh" --kernel "$kernel" --mem "$(guest_mem)" --memmap "$BENCH_LENGTH\$$REGION_BASE" \
        --timeout 3600 --out "$out" \
        --env "BENCH_LENGTH=$BENCH_LENGTH" --env "BENCH_WINDOW=$BENCH_WINDOW" --env "BENCH_ROUNDS=$BENCH_ROUNDS" \
        --env "BENCH_CLOCK=${VM_ICOUNT:+TCG -icount $VM_ICOUNT (guest time = executed instructions)}" \
        -- "$REPO_ROOT/tests/bench-guest.sh"
    log "table: $out/bench.txt, JSON: $out/bench.json, chart: $out/bench.svg"
}

main "$@"
