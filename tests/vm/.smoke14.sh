#!/bin/bash
set -x
P=tests/native/bin/memphys-probe
M=managed/Memphys.Cli/bin/Release/net10.0/memphys
$P delete-module memphys
$P finit-module "$MEMPHYS_KO" "regions=${MEMPHYS_REGIONS}:pages"
dmesg | tail -5
$M info /dev/memphys0 || $M info
$M map --method pages --length 16M /dev/memphys0 2>&1 | tail -20 || true
cat /sys/class/misc/memphys0/pte_faults
$P delete-module memphys
$P finit-module "$MEMPHYS_KO" "regions=${MEMPHYS_REGIONS}"
$M map --method pages --length 16M /dev/memphys0 2>&1 | tail -3
dmesg | tail -8
