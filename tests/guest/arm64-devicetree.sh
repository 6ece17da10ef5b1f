#!/bin/sh
# Runs in an arm64 guest (tests/arm64/stages.sh), under busybox sh (no
# tests/vm/lib.sh there: its verdict lines, written out): the region that the
# device tree describes, as `memphys info` and the probe see it.  Prints one
# PASS/FAIL line per check and "N passed, N failed".
#   tests/guest/arm64-devicetree.sh CLI PROBE
set -u
cli=$1 probe=$2
passed=0 failed=0

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
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
