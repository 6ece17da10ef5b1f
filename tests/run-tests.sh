#!/usr/bin/env bash
# The whole memphys test suite (`make test`): host unit tests, the VM harness's
# own tests, and per kernel of the matrix (tests/vm/kernels.conf; or the
# KERNELs given as arguments): the driver W=1/sparse check, the device tests in
# a one-vCPU guest, and the concurrency cases plus `memphys stress` in a
# two-vCPU guest.
#   tests/run-tests.sh [KERNEL...]
# Ends with one "N passed, N failed" line; exits non-zero on any failure.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=vm/kernel.sh
source tests/vm/kernel.sh
# Kernels to run (default: the whole matrix of tests/vm/kernels.conf).
if [[ $# -gt 0 ]]; then KERNELS=("$@"); else mapfile -t KERNELS < <(kernel_names); fi
CONFIGURATION=${CONFIGURATION:-Release}
TEST_DLL=tests/Memphys.Tests/bin/$CONFIGURATION/net10.0/Memphys.Tests.dll
CLI_DLL=managed/Memphys.Cli/bin/$CONFIGURATION/net10.0/memphys.dll
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

# A kernel built from source with the detectors (6.1-debug: KASAN, lockdep...)
# runs the guests several times slower: a longer guest time limit (VM_TIMEOUT)
# and a minute of stress instead of 30 s, unless the caller set them.
debug_kernel() { [[ $(kernel_pin "$1" build) == source ]]; }
vm_timeout_of() { if debug_kernel "$1"; then echo "${VM_TIMEOUT:-3600}"; else echo "${VM_TIMEOUT:-900}"; fi; }
stress_seconds_of() { if debug_kernel "$1"; then echo "${SMP_STRESS_SECONDS:-60}"; else echo "${SMP_STRESS_SECONDS:-30}"; fi; }

# The module built for each kernel, kept apart so that every guest stage
# loads the one that matches it.
module_of() { echo "$RESULTS/$1/memphys.ko"; }

stage_driver_check() {
    local kernel=$1 log=$RESULTS/$1/driver-check.log
    say "driver $kernel: W=1 and sparse (C=1) must be clean"
    mkdir -p "$RESULTS/$kernel"
    if tests/vm/deps.sh "$kernel" >"$log" 2>&1 \
        && tests/vm/kbuild.sh "$kernel" driver -s check >>"$log" 2>&1 \
        && tests/vm/kbuild.sh "$kernel" driver -s modules >>"$log" 2>&1; then
        cp driver/memphys.ko "$(module_of "$kernel")"
        tally "driver-check $kernel" 1 0
    else
        tail -n 30 "$log"
        tally "driver-check $kernel" 0 1
    fi
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

# Tally STAGE from a LINE ending "N passed, N failed"; without one the stage
# could not report: print the tail of LOG and count one failure.
tally_line() {
    local stage=$1 line=$2 log=$3
    if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        tally "$stage" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    else
        tail -n 30 "$log"
        tally "$stage" 0 1
    fi
}

stage_harness_selftest() {
    local kernel=$1 line log=$RESULTS/harness-selftest.log
    say "VM harness self-tests ($kernel guest)"
    line=$(KERNEL=$kernel tests/vm/selftest.sh 2>&1 | tee "$log" |
        grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1 || true)
    tally_line harness-selftest "$line" "$log"
}

# Device test cases the assembly declares for an xunit filter (theory rows
# included): on the host every one of them skips, so the report's total is the
# count the guest owes.
declared_device_tests() {
    local xml=$RESULTS/declared-${1//[^A-Za-z0-9]/_}.xml total
    dotnet "$TEST_DLL" -trait "$1" -xml "$xml" >/dev/null 2>&1 || true
    read -r total _ <<<"$(xunit_counts "$xml" 2>/dev/null || echo 0)"
    echo "${total:-0}"
}

# Tally a guest's xunit report REPORT against the FILTER's declared cases.
#   tally_guest_report STAGE REPORT FILTER RUN-IN-VM-STATUS
tally_guest_report() {
    local stage=$1 report=$2 filter=$3 status=$4 declared counts total passed failed skipped
    declared=$(declared_device_tests "$filter")
    counts=$(xunit_counts "$report" 2>/dev/null || true)
    if [[ -z $counts ]]; then
        echo "guest: no device test report (run-in-vm exit $status)"
        tally "$stage" 0 1
        return
    fi
    read -r total passed failed skipped <<<"$counts"
    xunit_skips "$report"
    echo "guest: $total device tests ran ($passed passed, $failed failed, $skipped skipped); $declared declared"
    if ((passed == 0)) || ((total != declared)); then
        echo "guest: expected all $declared declared device tests to run and some to pass"
        failed=$((failed + 1))
    fi
    if ((status != 0)) && ((failed == 0)); then
        echo "guest: run-in-vm failed (exit $status) although every test passed: see $(dirname "$report")"
        failed=1
    fi
    tally "$stage" "$passed" "$failed"
}

# Whether the guest of OUT needed more than one boot (TCG's two-vCPU early-boot
# crashes); says so, as a retried boot is worth knowing about.
report_retries() {
    local attempts
    attempts=$(sed -n 's/.*; attempts \([0-9]*\)\/.*/\1/p' "$1" | tail -n 1)
    [[ -z $attempts || $attempts == 1 ]] || echo "guest: booted at attempt $attempts (earlier boots died before the command started)"
}

# Runs a guest of KERNEL with its module (more run-in-vm.sh options, then
# `-- COMMAND...`, in ARGS), with OUT as its folder, and tallies the device
# tests of trait FILTER that COMMAND reported as STAGE.  Returns 1 when
# KERNEL has no module to load.
#   run_guest_suite STAGE KERNEL OUT FILTER ARGS...
run_guest_suite() {
    local stage=$1 kernel=$2 out=$3 filter=$4 status=0
    shift 4
    if [[ ! -f $(module_of "$kernel") ]]; then
        echo "guest: no module was built for $kernel"
        tally "$stage" 0 1
        return 1
    fi
    tests/vm/run-in-vm.sh --kernel "$kernel" --module "$(module_of "$kernel")" --out "$out" \
        --timeout "$(vm_timeout_of "$kernel")" "$@" 2>&1 | tee "$out.log" || status=${PIPESTATUS[0]}
    report_retries "$out.log"
    tally_guest_report "$stage" "$out/device-tests.xml" "$filter" "$status"
}

stage_guest_tests() {
    local kernel=$1
    say "device tests in a $kernel guest (memmap=${VM_MEMMAP:-1G\$0x100000000})"
    # edu: the DMA tests' device (EduDmaTests); its default 28-bit DMA mask would clamp the region's addresses.
    run_guest_suite "guest-tests $kernel" "$kernel" "$RESULTS/$kernel/guest" Category=Device \
        --device edu,dma_mask=0xffffffffffffffff -- \
        tests/guest-tests.sh "$TEST_DLL" Category=Device
}

# The concurrency and fault-race cases, then `memphys stress`, on two vCPUs:
# under -smp 1 threads and processes never really run at the same time.
stage_guest_smp() {
    local kernel=$1 out=$RESULTS/$1/guest-smp2 stress
    say "concurrency cases and memphys stress in a two-vCPU $kernel guest"
    run_guest_suite "guest-smp2 $kernel" "$kernel" "$out" Stage=Concurrency --smp 2 \
        --env "SMP_STRESS_SECONDS=$(stress_seconds_of "$kernel")" -- \
        tests/guest-smp-tests.sh "$TEST_DLL" "$CLI_DLL" || return 0
    if stress=$(grep -E '^stress: ' "$out/stress.txt" 2>/dev/null) && [[ $stress == 'stress: exit 0'* ]]; then
        echo "guest: $(grep -iE 'corrupt|operations' "$out/stress.txt" | tail -n 2 | xargs)"
        tally "memphys-stress-smp2 $kernel" 1 0
    else
        echo "guest: memphys stress failed (${stress:-no result}); see $out/stress.txt"
        tally "memphys-stress-smp2 $kernel" 0 1
    fi
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

# 32-bit x86 (tests/vm/run-i386.sh): a 686 and a 686-pae guest each map
# 1 GiB of reserved RAM by both methods into a 32-bit process.
stage_i386() {
    say "32-bit x86 guests: 686 (1 GiB of highmem) and 686-pae (1 GiB above 4 GiB)"
    local log=$RESULTS/i386.log name line
    tests/vm/run-i386.sh --out "$RESULTS/i386" >"$log" 2>&1 || true
    grep -E '^(FAIL - |memphys-vm: )' "$log" || true
    for name in 686 686-pae; do
        line=$(grep -E "^layout $name: [0-9]+ passed, [0-9]+ failed$" "$log" | tail -n 1 || true)
        [[ -z $line ]] || echo "$line"
        tally_line "i386-$name" "$line" "$log"
    done
}

# Kernel lockdown cannot be lowered again once raised, so its test gets a
# guest of its own (tests/Memphys.Tests/Device/LockdownTests.cs).
stage_guest_lockdown() {
    local kernel=$1
    say "lockdown test in a $kernel guest of its own"
    run_guest_suite "guest-lockdown $kernel" "$kernel" "$RESULTS/$kernel/guest-lockdown" Category=DeviceLockdown -- \
        tests/guest-tests.sh "$TEST_DLL" Category=DeviceLockdown
}

# VFIO (tests/Memphys.Tests/Device/VfioDmaTests.cs): edu behind an emulated
# intel-iommu, bound to vfio-pci, DMA through IOVAs given to memphys mappings.
# A guest of its own: its tests reload the module, and the DMAR faults they
# provoke on purpose (MEMPHYS_OUT/dmar-expected.txt) are the only ones allowed.
stage_guest_vfio() {
    local kernel=$1 out=$RESULTS/$1/guest-vfio
    say "VFIO tests in a $kernel guest with intel-iommu and edu"
    run_guest_suite "guest-vfio $kernel" "$kernel" "$out" Category=DeviceVfio \
        --device intel-iommu --device edu,dma_mask=0xffffffffffffffff --append intel_iommu=on -- \
        tests/guest-tests.sh "$TEST_DLL" Category=DeviceVfio || return 0
    sed 's/^/guest: /' "$out/vfio-results.txt" 2>/dev/null || true
}

main() {
    local kernel
    mkdir -p "$RESULTS"
    echo "kernels: ${KERNELS[*]}"
    # Every build first: a module that does not build fails the run at once.
    for kernel in "${KERNELS[@]}"; do stage_driver_check "$kernel"; done
    stage_host_tests
    stage_harness_selftest "${KERNELS[0]}"
    for kernel in "${KERNELS[@]}"; do
        stage_guest_tests "$kernel"
        stage_guest_smp "$kernel"
        stage_guest_lockdown "$kernel"
        stage_guest_vfio "$kernel"
    done
    # The 6.1-only stages: DKMS needs the guest kernel's headers installed on
    # the host; Debian's last 32-bit x86 kernels are 6.1.
    if [[ " ${KERNELS[*]} " == *" 6.1 "* ]]; then
        stage_install
        stage_i386
    fi
    say "summary (logs in $RESULTS)"
    ((${#FAILED_STAGES[@]} == 0)) || echo "failed stages: ${FAILED_STAGES[*]}"
    echo "$PASSED passed, $FAILED failed"
    ((FAILED == 0))
}

main "$@"
