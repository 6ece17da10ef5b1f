#!/usr/bin/env bash
# Runs inside a two-vCPU guest: the concurrency and fault-race device cases
# (trait Stage=Concurrency), then `memphys stress` over the whole region with
# threads and processes on both vCPUs.  The stress outcome goes to
# $MEMPHYS_OUT/stress.txt ("stress: exit N" first).
#   tests/guest/smp-tests.sh TEST_DLL CLI_DLL
set -euo pipefail
dll=$1 cli=$2
echo "smp-tests: $(nproc) CPUs online"
[[ $(nproc) -ge 2 ]] || { echo "smp-tests: expected two vCPUs" >&2; exit 1; }
status=0
tests/guest/device-tests.sh "$dll" Stage=Concurrency || status=$?
stress_status=0
dotnet "$cli" stress --seconds "${SMP_STRESS_SECONDS:-30}" --threads 2 --processes 2 \
    --length "$(cat /sys/class/misc/memphys0/size)" \
    >"$MEMPHYS_OUT/stress.out" 2>&1 || stress_status=$?
{ echo "stress: exit $stress_status"; cat "$MEMPHYS_OUT/stress.out"; } >"$MEMPHYS_OUT/stress.txt"
cat "$MEMPHYS_OUT/stress.txt"
exit "$status"
