#!/usr/bin/env bash
# `make bench`: boots a guest with RAM reserved for memphys and runs
# tests/guest/bench.sh in it (memphys kinds, anonymous memory, hugetlbfs; then
# /dev/mem over the same range with the module unloaded).  Writes bench.json,
# bench.txt (the table), bench.svg (the chart) and the guest's logs to
# results/bench/<kernel>/ (git-ignored).
#   tests/vm/bench.sh [KERNEL]      (default: $KERNEL or the first kernel)
# Environment: BENCH_LENGTH (1G; 2G works), BENCH_WINDOW (bandwidth window,
# 64M), BENCH_ROUNDS (5), BENCH_OUT (results/bench/<kernel>), BENCH_DAX
# (1: legacy-pmem ranges for the device-dax kinds; 0: none, less RAM), VM_ICOUNT
# (shift=0,sleep=off: under TCG the guest clock counts instructions, 1 ns
# each, so the load of a shared host does not show in the figures; set it
# empty for wall-clock time), BENCH_SCALING (e.g. 1G,2G,4G,8G,12G: the
# scaling run instead, to results/bench/<kernel>-scaling/; BENCH_ANON_MAX_GIB
# caps its anonymous-memory room, BENCH_SCALING_KINDS its kinds).
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

# Physical layout from 4 GiB up, for L = BENCH_LENGTH in GiB: the memphys
# region (L), legacy pmem for the 2 MiB-aligned devdax (L + 128 MiB: the
# namespace's info block takes one 2 MiB alignment unit, ranges are in 128 MiB
# sections), and from the next GiB legacy pmem for the 1 GiB-aligned devdax
# (2L: the info block takes one 1 GiB unit).  Guest RAM: all that, as much
# again as L for the hugetlb pool and for one anonymous mapping at a time, and
# 3 GiB for the system and .NET (q35 puts 2 GiB below 4 GiB).
layout() {
    local gib=$(($(numfmt --from=iec "$BENCH_LENGTH") >> 30)) pmem1g
    [[ $gib -ge 1 ]] || die "BENCH_LENGTH=$BENCH_LENGTH: want whole GiB (1G, 2G, ...)"
    pmem1g=$((4 + 2 * gib + 1))
    if [[ ${BENCH_DAX:-1} == 1 ]]; then
        MEMMAP="${gib}G\$${REGION_BASE},$((gib * 1024 + 128))M!$(printf '0x%x' $(((4 + gib) << 30))),$((2 * gib))G!$(printf '0x%x' $((pmem1g << 30)))"
        MEM="$(((4 * gib * 1024 + 128 + 2 * gib * 1024 + 3072 + 1023) / 1024))G"
    else
        MEMMAP="${gib}G\$${REGION_BASE}"
        MEM="$((3 * gib + 3))G"
    fi
}

# BENCH_SCALING=1G,2G,4G,8G,12G: one region of the largest size; the guest
# RAM leaves room for anonymous mappings of half of it, at most
# BENCH_ANON_MAX_GIB (2; larger ones report themselves unsupported): the host
# has to hold the guest's RAM too, the whole region once it is touched.
scaling_layout() {
    local largest=0 item gib anon
    for item in ${BENCH_SCALING//,/ }; do
        gib=$(($(numfmt --from=iec "$item") >> 30))
        [[ $gib -gt $largest ]] && largest=$gib
    done
    [[ $largest -ge 1 ]] || die "BENCH_SCALING=$BENCH_SCALING: want sizes of whole GiB (1G,2G,4G,8G)"
    MEMMAP="${largest}G\$${REGION_BASE}"
    anon=$((largest / 2))
    ((anon <= ${BENCH_ANON_MAX_GIB:-2})) || anon=${BENCH_ANON_MAX_GIB:-2}
    MEM="$((largest + anon + 3))G"
}

main() {
    local kernel=${1:-$(kernel_default)} out
    out=${BENCH_OUT:-$REPO_ROOT/results/bench/$kernel${BENCH_SCALING:+-scaling}}
    if [[ -n ${BENCH_SCALING:-} ]]; then scaling_layout; else layout; fi
    mkdir -p "$out"
    log "bench on $kernel: ${BENCH_SCALING:-$BENCH_LENGTH, window $BENCH_WINDOW}, $BENCH_ROUNDS rounds -> $out"
    log "guest: --mem $MEM --memmap '$MEMMAP'"
    "$VM_DIR/run-in-vm.sh" --kernel "$kernel" --mem "$MEM" --memmap "$MEMMAP" \
        --timeout 3600 --out "$out" \
        --env "BENCH_SCALING=${BENCH_SCALING:-}" --env "BENCH_SCALING_KINDS=${BENCH_SCALING_KINDS:-}" --env "BENCH_LENGTH=$BENCH_LENGTH" --env "BENCH_WINDOW=$BENCH_WINDOW" --env "BENCH_ROUNDS=$BENCH_ROUNDS" \
        --env "BENCH_CLOCK=${VM_ICOUNT:+TCG -icount $VM_ICOUNT (guest time = executed instructions)}" \
        -- "$REPO_ROOT/tests/guest/bench.sh"
    if [[ -n ${BENCH_SCALING:-} ]]; then log "table: $out/scaling.txt"
    else log "table: $out/bench.txt, JSON: $out/bench.json, chart: $out/bench.svg"; fi
}

main "$@"
