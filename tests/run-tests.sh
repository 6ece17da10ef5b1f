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

# Install on a "real machine" (issue 12): vagrant validate and shellcheck of the
# provisioning and install scripts on the host, then `make install` through
# DKMS, the udev rule, modprobe.d and the single-file CLI in a guest (no module
# preloaded) by tests/install-tests.sh, which prints "N passed, N failed".
# DKMS builds against /lib/modules/KVER/build of the host's root, so the guest
# kernel is one whose headers the system has: INSTALL_KERNEL, default 6.1.
stage_install() {
    say "install: vagrant validate, shellcheck, make install (DKMS, udev) in a ${INSTALL_KERNEL:-6.1} guest"
    local kernel=${INSTALL_KERNEL:-6.1} passed=0 failed=0 status=0 line f scripts=(packaging/install.sh vagrant/provision.sh tests/install-tests.sh)
    if (cd vagrant && VAGRANT_CHECKPOINT_DISABLE=1 vagrant validate) >"$RESULTS/vagrant-validate.log" 2>&1; then
        passed=$((passed + 1))
    else
        cat "$RESULTS/vagrant-validate.log"; failed=$((failed + 1))
    fi
    for f in "${scripts[@]}"; do bash -n "$f" || failed=$((failed + 1)); done
    if shellcheck "${scripts[@]}"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
    make -s publish >"$RESULTS/publish.log" 2>&1 || { tail -n 20 "$RESULTS/publish.log"; failed=$((failed + 1)); }
    tests/vm/run-in-vm.sh --kernel "$kernel" --no-module --out "$RESULTS/install" -- tests/install-tests.sh \
        >"$RESULTS/install.log" 2>&1 || status=$?
    grep -E '^(PASS|FAIL) |^    ' "$RESULTS/install/command.log" 2>/dev/null || true
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$RESULTS/install/command.log" 2>/dev/null | tail -n 1 || true)
    if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
    fi
    if [[ -z $line ]] || { ((status != 0)) && [[ $line == *" 0 failed" ]]; }; then
        echo "install: run-in-vm exit $status without a clean report: see $RESULTS/install.log"
        tail -n 30 "$RESULTS/install.log"; failed=$((failed + 1))
    fi
    tally install "$passed" "$failed"
}

main() {
    mkdir -p "$RESULTS"
    stage_driver_check
    stage_host_tests
    stage_harness_selftest
    stage_guest_tests
    stage_install
    say "summary (logs in $RESULTS)"
    ((${#FAILED_STAGES[@]} == 0)) || echo "failed stages: ${FAILED_STAGES[*]}"
    echo "$PASSED passed, $FAILED failed"
    ((FAILED == 0))
}

main "$@"
