#!/usr/bin/env bash
# Runs inside a two-vCPU guest: the concurrency and fault-race device cases
# (trait Stage=Concurrency), then `memphys stress` over the whole region with
# threads and processes on both vCPUs, then the driver fuzzer (memphys-probe
# fuzz: FUZZ_SECONDS, default 60, four threads, seed FUZZ_SEED or a new one).
# The outcomes go to $MEMPHYS_OUT/stress.txt and fuzz.txt ("...: exit N"
# first).
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
fuzz_status=0
seed=${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
devices=$(printf '%s\n' /dev/memphys[0-9]* | paste -sd,)
tests/native/bin/memphys-probe fuzz "$devices" "${FUZZ_SECONDS:-60}" "$seed" 4 \
    >"$MEMPHYS_OUT/fuzz.out" 2>&1 || fuzz_status=$?
{ echo "fuzz: exit $fuzz_status"; cat "$MEMPHYS_OUT/fuzz.out"; } >"$MEMPHYS_OUT/fuzz.txt"
cat "$MEMPHYS_OUT/fuzz.txt"
exit "$status"
