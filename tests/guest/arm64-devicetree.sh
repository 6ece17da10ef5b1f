#!/bin/sh
# Runs in an arm64 guest (tests/arm64/stages.sh), under busybox sh (no
# tests/vm/lib.sh there: its verdict lines, written out): the region that the
# device tree describes, as `memphys info` and the probe see it.  Prints one
# PASS/FAIL line per check and "N passed, N failed".
#   tests/guest/arm64-devicetree.sh CLI PROBE
set -u
cli=$1 probe=$2
passed=0 failed=0

# What memphys-probe reports after "result: " (an errno name, or OK).
probe_result() { "$probe" "$@" 2>&1 | sed -n 's/^result: //p'; }

verdict() {
    if [ "$1" = 0 ]; then echo "PASS $2"; passed=$((passed + 1))
    else echo "FAIL $2"; failed=$((failed + 1)); fi
}

# The device whose sysfs source names a device-tree node.
dev="" source=""
for d in /sys/class/misc/*; do
    [ -f "$d/source" ] || continue
    case $(cat "$d/source") in
        devicetree*) dev=/dev/${d##*/} source=$(cat "$d/source") ;;
    esac
done
[ -n "$dev" ]
verdict $? "a region found through the device tree: ${dev:-none} ($source)"

if [ -n "$dev" ]; then
    sys=/sys/class/misc/${dev#/dev/}
    base=$(cat "$sys/phys_base")
    size=$(cat "$sys/size")
    # reg of the /reserved-memory node memory-region points at: 2 + 2 cells.
    buffer=${source##*memory-region=}
    reg=$(hexdump -ve '1/1 "%02x"' "/sys/firmware/devicetree/base$buffer/reg")
    [ "$reg" = "$(printf '%016x%016x' "$base" "$size")" ]
    verdict $? "its range is the reg of $buffer ($reg): base $base, $size bytes"
    [ -e "/sys/firmware/devicetree/base$buffer/no-map" ]
    verdict $? "$buffer is no-map"

    "$cli" info --device "$dev" >/tmp/info.txt 2>&1
    verdict $? "memphys info --device $dev"
    sed 's/^/    /' /tmp/info.txt
    grep -q "source.*devicetree .* memory-region=$buffer" /tmp/info.txt
    verdict $? "memphys info shows the region's device-tree source"

    "$probe" region-check "$dev" "$base" "$size" >/tmp/probe.txt 2>&1
    verdict $? "memphys-probe region-check $dev $base $size"
    grep -E '^(ok|FAIL) - ' /tmp/probe.txt | sed 's/^/    /'
    ! grep -q '^FAIL - ' /tmp/probe.txt
    verdict $? "the probe maps the whole region by both methods"
fi
# The optional properties and the refusals, when the tree has those cases
# (ARM64_DT_CASES in tests/vm/arm64.sh).
if [ -e /sys/firmware/devicetree/base/memphys-wc ]; then
    [ -c /dev/fpga-wc ] && [ "$(cat /sys/class/misc/fpga-wc/caching)" = wc ]
    verdict $? "memphys,device-name and memphys,memory-type: /dev/fpga-wc, caching $(cat /sys/class/misc/fpga-wc/caching 2>&1)"
    "$cli" info --device /dev/fpga-wc >/tmp/info-wc.txt 2>&1 && grep -q "caching (region) *wc" /tmp/info-wc.txt
    verdict $? "memphys info --device /dev/fpga-wc: a wc region"
    dmesg >/tmp/dmesg.txt
    grep -q "memory-region /reserved-memory/cma@d1000000 is reusable" /tmp/dmesg.txt
    verdict $? "a reusable (CMA) buffer is refused with the reason"
    grep -q "memory-region /reserved-memory/mapped@d2000000 has no no-map property" /tmp/dmesg.txt
    verdict $? "a buffer without no-map is refused with the reason"
    grep -q 'memphys,memory-type "xx": expected wb, wc or uc' /tmp/dmesg.txt
    verdict $? "an unknown memory type is refused with the reason"
    # A no-map buffer is memblock memory with struct pages of its own:
    # memremap_pages() cannot add any, and trying would clear its NOMAP flag
    # for good.  The region loads; the pages method says why it is absent
    # (EOPNOTSUPP where the kernel has no ZONE_DEVICE).
    pages=$(cat /sys/class/misc/fpga-pages/pages 2>&1)
    case $pages in
        "none (EEXIST"* | "none (EOPNOTSUPP"*) pages_ok=0 ;;
        *) pages_ok=1 ;;
    esac
    verdict $pages_ok "memphys,pages on a no-map buffer: no struct pages added ($pages)"
    dd if=/dev/fpga-pages of=/dev/null bs=4096 count=16 2>/dev/null
    verdict $? "the region of that node reads through read()"
    nodes=$(echo /dev/memphys* /dev/fpga*)
    case " $nodes " in
        *" /dev/memphys2 "* | *" /dev/memphys3 "*) refused_node=1 ;;
        *) refused_node=0 ;;
    esac
    verdict $refused_node "no device for a refused node ($nodes)"

    # memphys,device-name: one name per region, and never a default name.
    grep -Eq "/dev/fpga-dup is taken by the region of devicetree /memphys-dup-[ab] " /tmp/dmesg.txt &&
        grep -Eq "memphys-dup-[ab].*failed with error -17" /tmp/dmesg.txt && [ -c /dev/fpga-dup ]
    verdict $? "a second node named fpga-dup is refused (EEXIST) with the reason; /dev/fpga-dup is the first's"
    grep -q 'memphys,device-name "memphys7": names of the form memphysN are the default names' /tmp/dmesg.txt &&
        grep -q "memphys-default-name.*failed with error -22" /tmp/dmesg.txt && [ ! -e /dev/memphys7 ]
    verdict $? "a device name of the default form memphys7 is refused (EINVAL) with the reason"

    # MEMPHYS_IOC_SYNC by node: QEMU models no caches, so only the answers.
    "$cli" sync --device "$dev" --json >/tmp/sync.txt 2>&1 && grep -q '"result": *"Performed"' /tmp/sync.txt
    verdict $? "memphys sync on $dev (wb, no dma-coherent): performed ($(tr -d '\n' </tmp/sync.txt))"
    "$cli" sync --device /dev/fpga-coherent --json >/tmp/sync.txt 2>&1 &&
        grep -q '"result": *"NotNeededCoherentDevice"' /tmp/sync.txt
    verdict $? "memphys sync on the dma-coherent node: not needed ($(tr -d '\n' </tmp/sync.txt))"
    "$cli" sync --device /dev/fpga-wc --length 4096 --json >/tmp/sync.txt 2>&1 &&
        grep -q '"result": *"NotNeededUncached"' /tmp/sync.txt
    verdict $? "memphys sync on the wc node: not needed ($(tr -d '\n' </tmp/sync.txt))"
fi

# regions= on arm64: RAM that mem= trimmed off works (the harness loaded
# MEMPHYS_REGIONS above mem=), RAM in the kernel's memory map (a no-map
# carve-out no memphys node points at) is refused with EBUSY.  Last: it
# reloads the module.
if [ -n "${MEMPHYS_REGIONS:-}" ] && [ -n "${MEMPHYS_KO:-}" ]; then
    trimmed=""
    for d in /sys/class/misc/memphys*; do
        [ "$(cat "$d/source" 2>/dev/null)" = "regions=$MEMPHYS_REGIONS" ] && trimmed=/dev/${d##*/}
    done
    base=$((${MEMPHYS_REGIONS#*@}))
    ram=""
    while read -r range _ name; do      # "40000000-bfffffff : System RAM"
        [ "$name" = "System RAM" ] || continue
        [ "$base" -ge $((0x${range%-*})) ] && [ "$base" -le $((0x${range#*-})) ] && ram=$range
    done </proc/iomem
    [ -n "$trimmed" ] && grep -q "mem=" /proc/cmdline && [ -z "$ram" ] &&
        dd if="$trimmed" of=/dev/null bs=1M count=4 2>/dev/null
    verdict $? "regions=$MEMPHYS_REGIONS above $(grep -o 'mem=[^ ]*' /proc/cmdline): ${trimmed:-no device}, not System RAM, reads"
    if [ -e /sys/firmware/devicetree/base/reserved-memory/buffer@d5300000/no-map ]; then
        unloaded=$(probe_result delete-module memphys)
        got=$(probe_result finit-module "$MEMPHYS_KO" "regions=1M@0xd5300000")
        dmesg | grep -q "region 1M@0xd5300000 is RAM in the kernel's memory map"
        logged=$?
        [ "$unloaded" = OK ] && [ "$got" = EBUSY ] && [ $logged = 0 ]
        verdict $? "regions=1M@0xd5300000 over a no-map carve-out in the memory map: $got with the reason (unload: $unloaded)"
        got=$(probe_result finit-module "$MEMPHYS_KO" "regions=$MEMPHYS_REGIONS")
        [ "$got" = OK ]
        verdict $? "memphys loads again with regions=$MEMPHYS_REGIONS: $got"
    fi
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
