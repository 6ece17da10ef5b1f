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
# scaling run instead, a guest per size, to results/bench/<kernel>-scaling/;
# BENCH_ANON_MAX_GIB, BENCH_SYSTEM_GIB, BENCH_HOST_WAIT and BENCH_SCALING_KINDS
# below).
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

# BENCH_SCALING=1G,2G,4G,8G,12G: one guest per size, each only as large as
# that size needs: the region, BENCH_SYSTEM_GIB (2: q35 puts that much below
# 4 GiB) for the system and .NET, and room for the anonymous kind when the
# size is at most BENCH_ANON_MAX_GIB (2; larger ones report themselves
# unsupported).  The host holds the region once a kind touches it, and gives
# it back when the guest ends: a 17 GiB guest for every size was OOM-killed on
# the shared 24 GiB host.  Sets MEMMAP and MEM for GIB.
scaling_layout() {
    local gib=$1 anon=0
    ((gib > ${BENCH_ANON_MAX_GIB:-2})) || anon=$gib
    MEMMAP="${gib}G\$${REGION_BASE}"
    MEM="$((gib + anon + ${BENCH_SYSTEM_GIB:-2}))G"
}

host_available_gib() { awk '/^MemAvailable:/ { print int($2 / 1048576) }' /proc/meminfo; }

# GiB that the QEMU guests already running may still take from the host: for
# each, its -m less what it holds now (a guest's RAM becomes resident as it is
# touched, so a guest that started small grows later).
guests_growth_gib() {
    local pid mem unit rss kib=0 args
    for pid in $(pgrep -x 'qemu-system-.*' || true); do
        args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
        mem=$(sed -nE 's/.* -m ([0-9]+)([MG]?) .*/\1 \2/p' <<<"$args")
        [[ -n $mem ]] || continue
        read -r mem unit <<<"$mem"
        [[ $unit == G ]] && mem=$((mem * 1048576)) || mem=$((mem * 1024))
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
        ((mem <= ${rss:-0})) || kib=$((kib + mem - rss))
    done
    echo $((kib / 1048576))
}

# What the host can give a new guest: available memory less the running
# guests' growth.
host_room_gib() { echo $(($(host_available_gib) - $(guests_growth_gib))); }

# Waits (up to BENCH_HOST_WAIT seconds, 900) until the host has room
# (host_room_gib) for the guest's RAM (GIB) plus 1 GiB for QEMU; fails saying
# so otherwise, rather than letting the host's OOM killer end this guest or
# another engineer's.
wait_for_host_memory() {
    local need=$(($1 + 1)) waited=0
    while (($(host_room_gib) < need)); do
        if ((waited >= ${BENCH_HOST_WAIT:-900})); then
            log "the host has room for $(host_room_gib) GiB ($(host_available_gib) GiB available, running guests may take $(guests_growth_gib) GiB more), the guest needs $need GiB: not measured"
            return 1
        fi
        ((waited > 0)) || log "waiting for $need GiB of host memory ($(host_available_gib) GiB available, running guests may take $(guests_growth_gib) GiB more)"
        sleep 15
        waited=$((waited + 15))
    done
}

# scaling.txt from the guests' scaling.json and module-memory.txt (OUT/SIZE/):
# the table of memphys bench --scaling, the flatness over every size measured
# and the module's memory.
scaling_report() {
    local out=$1 sizes=$2 item files
    echo "clock: ${VM_ICOUNT:+TCG -icount $VM_ICOUNT (guest time = executed instructions)}"
    echo "scaling: cost per GiB, ms, median [min-max] of $BENCH_ROUNDS rounds interleaved across kinds, one guest per size ('!': spread above 10 %)"
    for item in ${sizes//,/ }; do
        [[ -f $out/$item/scaling.json ]] || echo "  $item: not measured (see the log)"
    done
    mapfile -t files < <(for item in ${sizes//,/ }; do [[ ! -f $out/$item/scaling.json ]] || echo "$out/$item/scaling.json"; done)
    ((${#files[@]} > 0)) || return 0
    jq -rs --arg part table -f "$VM_DIR/scaling-report.jq" "${files[@]}" | column -t -s $'\t' | sed 's/^/  /'
    jq -rs --arg part unsupported -f "$VM_DIR/scaling-report.jq" "${files[@]}" | sed 's/^/  /'
    echo "flatness: largest deviation of a size's per-GiB median from their median (goal: within 10 %)"
    jq -rs --arg part flatness -f "$VM_DIR/scaling-report.jq" "${files[@]}" | column -t -s $'\t' | sed 's/^/  /'
    echo "module memory: free memory (MemFree and the per-CPU free lists) taken by loading memphys on one region, KiB per GiB (one sample each)"
    sed -n 2p "${files[0]%/*}/module-memory.txt"
    for item in ${sizes//,/ }; do sed -n 3p "$out/$item/module-memory.txt" 2>/dev/null || true; done
}

# The scaling run: a guest per size of BENCH_SCALING, then scaling.txt.
scaling_run() {
    local kernel=$1 out=$2 item gib status=0
    # Every size loads the same module: a rebuild meanwhile cannot change it.
    cp "${MEMPHYS_MODULE:-$REPO_ROOT/driver/memphys.ko}" "$out/memphys.ko"
    export MEMPHYS_MODULE=$out/memphys.ko
    for item in ${BENCH_SCALING//,/ }; do
        gib=$(($(numfmt --from=iec "$item") >> 30))
        [[ $gib -ge 1 && $item == "${gib}G" ]] || die "BENCH_SCALING=$BENCH_SCALING: want sizes of whole GiB (1G,2G,4G,8G)"
        scaling_layout "$gib"
        rm -rf "${out:?}/$item"
        wait_for_host_memory "${MEM%G}" || { status=1; continue; }
        bench_guest "$kernel" "$out/$item" --env "BENCH_SCALING=$item" || status=1
    done
    scaling_report "$out" "$BENCH_SCALING" | tee "$out/scaling.txt"
    return "$status"
}

# One guest of MEM with MEMMAP running tests/guest/bench.sh into OUT.
bench_guest() {
    local kernel=$1 out=$2
    shift 2
    log "guest: --mem $MEM --memmap '$MEMMAP' -> $out"
    "$VM_DIR/run-in-vm.sh" --kernel "$kernel" --mem "$MEM" --memmap "$MEMMAP" --timeout 3600 --out "$out" \
        --env "BENCH_SCALING_KINDS=${BENCH_SCALING_KINDS:-}" --env "BENCH_LENGTH=$BENCH_LENGTH" --env "BENCH_WINDOW=$BENCH_WINDOW" --env "BENCH_ROUNDS=$BENCH_ROUNDS" \
        --env "BENCH_CLOCK=${VM_ICOUNT:+TCG -icount $VM_ICOUNT (guest time = executed instructions)}" \
        "$@" -- "$REPO_ROOT/tests/guest/bench.sh"
}

main() {
    local kernel=${1:-$(kernel_default)} out
    out=${BENCH_OUT:-$REPO_ROOT/results/bench/$kernel${BENCH_SCALING:+-scaling}}
    mkdir -p "$out"
    log "bench on $kernel: ${BENCH_SCALING:-$BENCH_LENGTH, window $BENCH_WINDOW}, $BENCH_ROUNDS rounds -> $out"
    if [[ -n ${BENCH_SCALING:-} ]]; then
        scaling_run "$kernel" "$out"
        log "table: $out/scaling.txt"
        return
    fi
    layout
    bench_guest "$kernel" "$out"
    log "table: $out/bench.txt, JSON: $out/bench.json, chart: $out/bench.svg"
}

main "$@"
