#!/usr/bin/env bash
# The guest side of `make bench` (tests/vm/bench.sh boots the guest and runs
# this in it, with memphys.ko loaded on the region of --memmap):
#   1. every kind but devmem, with memphys reloaded so that its regions also
#      have struct pages for the pages kinds (regions=...:pages; rounds
#      interleaved);
#      Where that region's pages mappings take no 4 KiB entries (6.15+ with
#      folios of 2 MiB or 1 GiB), the 4 KiB pages kinds again on the region
#      reloaded with :pages:folio=4K (step 1b);
#   2. rmmod memphys, then /dev/mem over the same physical range (it works only
#      while no driver has claimed the range), with step 1's kinds included so
#      that the ratios come out of one file;
#   3. the table and the SVG chart of the result.
# With the guest kernel's module tree (MEMPHYS_KERNEL_MODULES, from run-in-vm.sh) and
# two legacy-pmem ranges (memmap=SIZE!BASE), step 1 also measures device-dax:
# the first range as a 2 MiB-aligned and the second as a 1 GiB-aligned devdax
# namespace (ndctl create-namespace --mode=devdax).
# Writes bench.json, bench.txt and bench.svg to $BENCH_OUT (default $MEMPHYS_OUT).
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cli=$repo/managed/Memphys.Cli/bin/${CONFIGURATION:-Release}/net10.0/memphys.dll
out=${BENCH_OUT:-${MEMPHYS_OUT:?run me in the guest: make bench}}
length=${BENCH_LENGTH:-1G}
window=${BENCH_WINDOW:-64M}
rounds=${BENCH_ROUNDS:-5}
hugepages_kb=2048

# Tiered compilation off: the JIT compiles each method once, fully optimised,
# so every round runs the same machine code (with tiering, loops were
# recompiled in the middle of the rounds and changed the figures).
memphys() { DOTNET_TieredCompilation=0 dotnet "$cli" "$@"; }
say() { printf 'bench: %s\n' "$*" >&2; }

# Enough 2 MiB pages in the hugetlb pool for the hugetlb-2m kind (it reports
# itself unsupported if the kernel cannot find them).
reserve_hugepages() {
    local bytes pages
    bytes=$(numfmt --from=iec "$length")
    pages=$(((bytes + hugepages_kb * 1024 - 1) / (hugepages_kb * 1024)))
    echo "$pages" >"/sys/kernel/mm/hugepages/hugepages-${hugepages_kb}kB/nr_hugepages"
    say "hugetlb pool: $(cat "/sys/kernel/mm/hugepages/hugepages-${hugepages_kb}kB/nr_hugepages") of $pages 2 MiB pages"
}

# Loads the guest kernel's nvdimm/dax modules and turns pmem region N into a
# devdax namespace aligned to ALIGNS[N] (/dev/daxN.0). Failures are reported,
# not fatal: the devdax kinds then say they have no node.
setup_dax() {
    local aligns=(2M 1G) i kroot=${MEMPHYS_KERNEL_MODULES%/lib/modules/*}
    [[ -n ${MEMPHYS_KERNEL_MODULES:-} ]] || { say "no MEMPHYS_KERNEL_MODULES: no device-dax"; return 0; }
    # An empty config (-C): ndctl's modprobe.d hook for libnvdimm would load it
    # from the host's module tree, not the guest kernel's.
    mkdir -p /run/bench-modprobe.d
    modprobe -d "$kroot" -C /run/bench-modprobe.d -a nd_e820 nd_pmem dax_pmem device_dax >&2 \
        || { say "cannot load the nvdimm/dax modules"; return 0; }
    for i in "${!aligns[@]}"; do
        [[ -e /sys/bus/nd/devices/region$i ]] || { say "no pmem region$i (memmap=SIZE!BASE)"; continue; }
        ndctl create-namespace --force --reconfig="namespace$i.0" --mode=devdax --map=mem --align="${aligns[i]}" >&2 \
            || say "ndctl create-namespace --align=${aligns[i]} on region$i failed"
    done
}

# rmmod memphys. After a pages mapping the module stays held until its
# reclaim work has seen every page idle again (within 100 ms): retry.
unload_memphys() {
    local _
    for _ in {1..50}; do
        rmmod memphys 2>/dev/null && return 0
        sleep 0.1
    done
    rmmod memphys
}

# Reload memphys with the pages option (OPTS, default "pages") on each of its
# regions.
reload_with_pages() {
    local regions=${MEMPHYS_REGIONS:?} ko=${MEMPHYS_KO:?} opts=${1:-pages}
    unload_memphys
    insmod "$ko" "regions=${regions//,/:$opts,}:$opts"
    say "memphys reloaded: regions=${regions//,/:$opts,}:$opts (pages method: $(cat /sys/class/misc/memphys0/pages))"
}

# Step 1b, where the region's pages mappings take no 4 KiB entries (6.15+: a
# mapping takes entries of its folio size only): the 4 KiB pages kinds on the
# region reloaded with 4 KiB folios, with step 1's kinds included.
pages_4k_step() {
    local args=("$@")
    grep -qw 4K /sys/class/misc/memphys0/pages && return 0
    reload_with_pages pages:folio=4K
    say "step 1b: pages-4k, pages-4k-around on 4 KiB folios"
    memphys bench "${args[@]}" --kinds pages-4k,pages-4k-around --include "$out/bench-memphys.json" --json >"$out/bench-memphys-4k.json"
    mv "$out/bench-memphys-4k.json" "$out/bench-memphys.json"
}

# The physical base of the memphys region (before it is unloaded).
region_base() { memphys info --json | sed -nE 's/^ *"physicalBase": ([0-9]+),?$/\1/p'; }

# Free memory in KiB after the page cache is dropped: MemFree of
# /proc/meminfo plus the pages on the per-CPU free lists (the "count:" lines
# of /proc/zoneinfo's pagesets), which MemFree leaves out.  Since 5.13 those
# lists also hold freed 2 MiB blocks, such as the struct pages (vmemmap) of an
# unloaded :pages region: the next load takes them back from the list without
# MemFree falling, which once halved the 2 GiB row.
mem_free_kib() {
    sync
    echo 3 >/proc/sys/vm/drop_caches
    awk '/^MemFree:/ { free = $2 } /^ +count: / { pcp += $2 } END { print free + pcp * 4 }' /proc/meminfo /proc/zoneinfo
}

# The module's own memory at each size of BENCH_SCALING: free memory
# (mem_free_kib) before and after loading memphys on a region of that size, without and with struct
# pages (regions=SIZE@BASE:pages: ZONE_DEVICE memmap, 64 bytes per 4 KiB page),
# in KiB per GiB.  The mapping's page tables are the bench's "PT KiB/GiB".
module_memory() {
    local base=${MEMPHYS_REGIONS#*@} item gib plain pages free
    echo "module memory: free memory (MemFree and the per-CPU free lists) taken by loading memphys on one region, KiB per GiB (one sample each)"
    printf '  %-6s %-16s %-16s %s\n' size "without pages" "with :pages" "struct pages per 4 KiB page"
    for item in ${BENCH_SCALING//,/ }; do
        gib=$(($(numfmt --from=iec "$item") >> 30))
        unload_memphys
        free=$(mem_free_kib)
        insmod "${MEMPHYS_KO:?}" "regions=$item@$base"
        plain=$((free - $(mem_free_kib)))
        unload_memphys
        free=$(mem_free_kib)
        insmod "$MEMPHYS_KO" "regions=$item@$base:pages"
        pages=$((free - $(mem_free_kib)))
        printf '  %-6s %-16s %-16s %s bytes\n' "$item" "$((plain / gib))" "$((pages / gib))" \
            "$(((pages - plain) * 1024 / (gib * 262144)))"
    done
    unload_memphys
    insmod "$MEMPHYS_KO" "regions=$MEMPHYS_REGIONS"
}

# BENCH_SCALING=SIZE[,SIZE...]: mmap and first-touch cost (and page tables)
# per GiB at each size (the region is the largest) as scaling.json, then the
# module's own memory as module-memory.txt, instead of the comparison.
# tests/vm/bench.sh boots one guest per size and joins them (scaling.txt).
scaling() {
    say "scaling: $BENCH_SCALING, $rounds rounds"
    memphys bench --scaling "$BENCH_SCALING" --iterations "$rounds" --json \
        --kinds "${BENCH_SCALING_KINDS:-remap,fault-4k,fault-4k-around,fault-2m,fault-1g,anon-thp-off}" >"$out/scaling.json"
    module_memory | tee "$out/module-memory.txt"
}

main() {
    if [[ -n ${BENCH_SCALING:-} ]]; then scaling; return; fi
    local base node args=(--length "$length" --window "$window" --iterations "$rounds")
    reserve_hugepages
    reload_with_pages
    base=$(region_base)
    setup_dax
    for node in /dev/dax*; do [[ -e $node ]] && args+=(--dax "$node"); done
    say "step 1: every kind but devmem over $length (bandwidth window $window, $rounds rounds) ${args[*]}"
    memphys bench "${args[@]}" --skip devmem --json >"$out/bench-memphys.json"
    pages_4k_step "${args[@]}"
    say "step 2: rmmod memphys; devmem at $(printf '0x%x' "$base")"
    unload_memphys
    memphys bench "${args[@]}" --kinds devmem --devmem-base "$base" --include "$out/bench-memphys.json" --json >"$out/bench.json"
    say "step 3: table and chart"
    {
        echo "clock: ${BENCH_CLOCK:-wall clock}"
        memphys bench --kinds none --include "$out/bench.json" --chart "$out/bench.svg"
    } | tee "$out/bench.txt"
}

main "$@"
