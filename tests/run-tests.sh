#!/usr/bin/env bash
# The whole memphys test suite (`make test`): driver checks, host unit tests,
# the VM harness's own tests, and the device tests inside a QEMU guest.
# Ends with one "N passed, N failed" line; exits non-zero on any failure.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
KERNEL=${KERNEL:-6.1}
CONFIGURATION=${CONFIGURATION:-Release}
TEST_DLL=tests/Memphys.Tests/bin/$CONFIGURATION/net10.0/Memphys.Tests.dll
RESULTS=${RESULTS:-$ROOT/.cache/test-results/$(date +%Y%m%d-%H%M%S)}
PASSED=0
FAILED=0
FAILED_STAGES=()

say() { printf '\n=== %s\n' "$*"; }

# Add one stage's counts; a stage that could not report counts as one failure.
tally() {
    local stage=$1 passed=$2 failed=$3
    PASSED=$((PASSED + passed))
    FAILED=$((FAILED + failed))
    ((failed == 0)) || FAILED_STAGES+=("$stage")
    printf 'stage %s: %d passed, %d failed\n' "$stage" "$passed" "$failed"
}

# One numeric attribute of the <assembly> element of an xunit XML report.
xunit_attr() {
    grep -o '<assembly [^>]*>' "$2" | head -n 1 | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"
}

# Counts of an xunit XML report: "total passed failed skipped" (errors count as failed).
xunit_counts() {
    local total
    total=$(xunit_attr total "$1" 2>/dev/null)
    [[ -n $total ]] || return 1
    echo "$total $(xunit_attr passed "$1") $(($(xunit_attr failed "$1") + $(xunit_attr errors "$1"))) $(xunit_attr skipped "$1")"
}

# Skipped tests of an xunit XML report, with their reasons.
xunit_skips() {
    tr '\n' ' ' <"$1" | grep -o '<test [^>]*result="Skip"[^>]*>.\{0,600\}</reason>' |
        sed 's/^<test [^>]* name="\([^"]*\)".*<reason><!\[CDATA\[\(.*\)\]\]><\/reason>/  skipped \1: \2/' || true
}

stage_driver_check() {
    say "driver: W=1 and sparse (C=1) must be clean"
    if make -s -C driver check >"$RESULTS/driver-check.log" 2>&1; then
        tally driver-check 1 0
    else
        tail -n 30 "$RESULTS/driver-check.log"
        tally driver-check 0 1
    fi
    make -s -C driver >/dev/null
}

stage_host_tests() {
    say "host unit tests"
    local counts
    dotnet "$TEST_DLL" -trait- Category=Device -xml "$RESULTS/host-tests.xml" || true
    counts=$(xunit_counts "$RESULTS/host-tests.xml" 2>/dev/null || true)
    if [[ -z $counts ]]; then
        tally host-tests 0 1
        return
    fi
    read -r _ passed failed _ <<<"$counts"
    tally host-tests "$passed" "$failed"
}

stage_harness_selftest() {
    say "VM harness self-tests"
    local line
    line=$(KERNEL=$KERNEL tests/vm/selftest.sh 2>&1 | tee "$RESULTS/harness-selftest.log" |
        grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1 || true)
    if [[ -z $line ]]; then
        tail -n 30 "$RESULTS/harness-selftest.log"
        tally harness-selftest 0 1
        return
    fi
    tally harness-selftest "${line%% passed*}" "$(sed 's/.* \([0-9]*\) failed/\1/' <<<"$line")"
}

# Device test cases the assembly declares (theory rows included): on the host
# every one of them skips, so the report's total is the count the guest owes.
declared_device_tests() {
    dotnet "$TEST_DLL" -trait Category=Device -xml "$RESULTS/declared-device-tests.xml" >/dev/null 2>&1 || true
    read -r total _ <<<"$(xunit_counts "$RESULTS/declared-device-tests.xml" 2>/dev/null || echo 0)"
    echo "${total:-0}"
}

stage_guest_tests() {
    say "device tests in a $KERNEL guest (memmap=${VM_MEMMAP:-1G\$0x100000000})"
    local out=$RESULTS/guest declared counts total passed failed skipped status=0
    declared=$(declared_device_tests)
    tests/vm/run-in-vm.sh --kernel "$KERNEL" --out "$out" -- \
        tests/guest-tests.sh "$TEST_DLL" || status=$?
    counts=$(xunit_counts "$out/device-tests.xml" 2>/dev/null || true)
    if [[ -z $counts ]]; then
        echo "guest: no device test report (run-in-vm exit $status)"
        tally guest-tests 0 1
        return
    fi
    read -r total passed failed skipped <<<"$counts"
    xunit_skips "$out/device-tests.xml"
    echo "guest: $total device tests ran ($passed passed, $failed failed, $skipped skipped); $declared declared"
    if ((passed == 0)) || ((total != declared)); then
        echo "guest: expected all $declared declared device tests to run and some to pass"
        failed=$((failed + 1))
    fi
    if ((status != 0)) && ((failed == 0)); then
        echo "guest: run-in-vm failed (exit $status) although every test passed: see $out"
        failed=1
    fi
    tally guest-tests "$passed" "$failed"
}

# 32-bit x86 (tests/vm/run-i386.sh): a 686 and a 686-pae guest each map
# 1 GiB of reserved RAM by both methods into a 32-bit process.
stage_i386() {
    say "32-bit x86 guests: 686 (1 GiB of highmem) and 686-pae (1 GiB above 4 GiB)"
    local log=$RESULTS/i386.log name line passed failed
    tests/vm/run-i386.sh --out "$RESULTS/i386" >"$log" 2>&1 || true
    grep -E '^(FAIL - |memphys-vm: )' "$log" || true
    for name in 686 686-pae; do
        line=$(grep -E "^layout $name: [0-9]+ passed, [0-9]+ failed$" "$log" | tail -n 1 || true)
        if [[ -z $line ]]; then
            tail -n 30 "$log"
            tally "i386-$name" 0 1
            continue
        fi
        echo "$line"
        read -r _ _ passed _ failed _ <<<"$line"
        tally "i386-$name" "$passed" "$failed"
    done
}

main() {
    mkdir -p "$RESULTS"
    stage_driver_check
    stage_host_tests
    stage_harness_selftest
    stage_guest_tests
    stage_i386
    say "summary (logs in $RESULTS)"
    ((${#FAILED_STAGES[@]} == 0)) || echo "failed stages: ${FAILED_STAGES[*]}"
    echo "$PASSED passed, $FAILED failed"
    ((FAILED == 0))
}

main "$@"
