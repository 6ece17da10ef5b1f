#!/usr/bin/env bash
# A guided tour of the memphys CLI for newcomers.  Runs INSIDE the guest:
#     make demo        (= tests/vm/run-in-vm.sh -- tests/guest/demo.sh)
# The guest boots with memmap=1G$0x100000000, so /dev/memphys0 is 1 GiB of RAM
# the kernel never uses.  Every step prints what it shows before it runs.
# Whole tour: about 4 minutes under TCG (the test guest's emulated CPU is
# roughly 50x slower than the host; the timings shown are the guest's).
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cli=$repo/managed/Memphys.Cli/bin/${CONFIGURATION:-Release}/net10.0/memphys.dll
device=${MEMPHYS_DEVICE:-/dev/memphys0}
# verify of the full 1 GiB region takes about 50 s under TCG; set
# DEMO_VERIFY_LENGTH=16M (or anything else) for a quicker tour.
verify_length=${DEMO_VERIFY_LENGTH:-1G}

[[ -e $device ]] || { echo "demo: $device missing: run me in the guest (make demo)" >&2; exit 1; }
[[ -f $cli ]] || { echo "demo: $cli missing: build first (make all)" >&2; exit 1; }

memphys() { dotnet "$cli" "$@"; }

step=0
heading() {
    step=$((step + 1))
    printf '\n=== %d. %s\n' "$step" "$1"
    shift
    for line in "$@"; do printf '    %s\n' "$line"; done
    printf '\n'
}

timed() {
    local start=$SECONDS
    "$@"
    printf '    (%ds in the guest)\n' $((SECONDS - start))
}

heading "memphys info: the reserved region" \
    "Physical range, base PFN, the two mapping methods, the fault sizes this kernel" \
    "can install (4 KiB only on 6.1) and the region's counters."
timed memphys info --device "$device"

heading "memphys map --method remap: the whole 1 GiB, mapped eagerly" \
    "remap_pfn_range() fills every page table entry inside mmap(): all pages are" \
    "present right after mmap, at PFN = base PFN + index, with zero faults.  Present" \
    "pages come from the driver's page-table query (MEMPHYS_IOC_QUERY_PAGE): device" \
    "mappings are VM_PFNMAP, which mincore(2) and /proc/self/pagemap cannot see."
timed memphys map --device "$device" --method remap

heading "memphys map --method fault --touch: the whole 1 GiB, mapped lazily" \
    "mmap() only sets up the area: no page is present.  Touching a page makes the" \
    "driver's fault handler insert its PFN and, with fault-around (16 by default)," \
    "its aligned neighbours': one pte fault per 16 pages, the rest counted as" \
    "prefaulted, and then all pages are present at base + index."
timed memphys map --device "$device" --method fault --touch

heading "memphys verify --length $verify_length: both methods, cross-checked" \
    "Writes a seeded pattern through one method and reads it back through the other" \
    "and from second processes; checks fault counts and, page by page, presence and" \
    "PFN through the driver's page-table query.  Exit code 0 only if all checks pass."
timed memphys verify --device "$device" --length "$verify_length"

heading "memphys stress --seconds 10: random concurrent reads and writes" \
    "Two threads write seeded patterns at random offsets of 64 MiB through the remap" \
    "mapping, the fault mapping or pwrite(), and read each back through another of" \
    "those (or pread()); any corrupted byte fails the run."
timed memphys stress --device "$device" --seconds 10

heading "memphys bench: memphys against the kernel's own ways to map memory" \
    "mmap, first touch and bandwidth over 64 MiB of each method next to anonymous" \
    "memory, hugetlbfs, /dev/mem and device-dax (those that cannot run here say why)," \
    "3 rounds interleaved across kinds; ratios come from the same run ('make bench'" \
    "does the full 1 GiB comparison).  Absolute numbers are TCG's."
timed memphys bench --device "$device" --iterations 3

printf '\ndemo: done\n'
