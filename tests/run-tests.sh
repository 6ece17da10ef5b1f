#!/usr/bin/env bash
# The whole memphys test suite (`make test`): host unit tests, the VM harness's
# own tests, and per kernel of the matrix (tests/vm/kernels.conf; or the
# KERNELs given as arguments): the driver W=1/sparse check, the device tests
# (with the edu DMA cases) in a one-vCPU guest, the concurrency cases plus
# `memphys stress` in a two-vCPU guest, lockdown and VFIO in guests of their
# own, the whole-region cases over 8 GiB (one kernel), data across kexec and a
# warm reset; then the install and 32-bit stages (with 6.1) and the arm64 stages
# (tests/arm64/stages.sh).  docs/testing.md describes every stage.
#   [STAGES=REGEX] tests/run-tests.sh [KERNEL...]
# Ends with one "N passed, N failed" line; exits non-zero on any failure.
# A stage is one function (stage_*) that tallies its cases with the helpers of
# tests/vm/lib.sh (verdict, check, tally, tally_result), and one run_stage
# call in main().
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=vm/kernel.sh
source tests/vm/kernel.sh
# shellcheck source=arm64/stages.sh
source tests/arm64/stages.sh
# Kernels to run (default: the whole matrix of tests/vm/kernels.conf), the
# arm64 ones (ARM64_KERNELS) in stages of their own.
if [[ $# -gt 0 ]]; then KERNELS=("$@"); else mapfile -t KERNELS < <(kernel_matrix); fi
ARM64_KERNELS=()
for kernel in "${KERNELS[@]}"; do
    [[ $(kernel_pin "$kernel" build) != arm64 ]] || ARM64_KERNELS+=("$kernel")
done
mapfile -t KERNELS < <(for kernel in "${KERNELS[@]}"; do
    [[ $(kernel_pin "$kernel" build) == arm64 ]] || echo "$kernel"; done)
CONFIGURATION=${CONFIGURATION:-Release}
TEST_DLL=tests/Memphys.Tests/bin/$CONFIGURATION/net10.0/Memphys.Tests.dll
CLI_DLL=managed/Memphys.Cli/bin/$CONFIGURATION/net10.0/memphys.dll
# QEMU's DMA-capable edu device for the DMA tests (EduDmaTests, VfioDmaTests):
# its default 28-bit DMA mask would silently clamp the region's addresses.
EDU=(--device 'edu,dma_mask=0xffffffffffffffff')
# The device suite's reserved RAM: run-in-vm.sh's GiB at 4 GiB (memphys0) and
# 64 MiB below 4 GiB (memphys1) for DMA masked to 32 bits (DmaBufTests: vivid's
# dma-contig device); under 1 GiB so that no region-policy case picks it.
# shellcheck disable=SC2016 # a literal $, as memmap= wants it
DEVICE_MEMMAP='1G$0x100000000,64M$0x30000000'
RESULTS=${RESULTS:-$ROOT/.cache/test-results/$(date +%Y%m%d-%H%M%S)}
# shellcheck disable=SC2034 # the logs of check (tests/vm/lib.sh)
CHECK_LOGS=$RESULTS
FAILED_STAGES=()

say() { printf '\n=== %s\n' "$*"; }

# run_stage NAME FUNCTION [ARGS...]: one stage; prints the cases it tallied
# as "stage NAME: N passed, N failed".  A stage must tally at least one case
# (a stage that could not report counts as a failure).  STAGES=REGEX runs only
# the stages whose name matches (e.g. STAGES='^persist 6\.1$'), and the
# driver-check of each kernel whose module is not in RESULTS yet (the guests
# load it; RESULTS=an earlier run's folder reuses its modules).
run_stage() {
    local name=$1 passed=$PASSED failed=$FAILED
    shift
    [[ -z ${STAGES:-} || $name =~ $STAGES ]] \
        || [[ $name == driver-check* && ! -f $(module_of "${name#driver-check }") ]] || return 0
    "$@"
    ((PASSED + FAILED > passed + failed)) || { echo "$name: no result"; tally 0 1; }
    ((FAILED == failed)) || FAILED_STAGES+=("$name")
    printf 'stage %s: %d passed, %d failed\n' "$name" $((PASSED - passed)) $((FAILED - failed))
}

# The case lines of LOG (PASS/FAIL, the indented details of failures) and
# the harness's notes (retried boots, kernel log reports).
show_cases() { grep -E '^(PASS|FAIL) |^    |^memphys-vm: ' "$1" 2>/dev/null || true; }

# Tally the summary line of LOG; without one, show LOG's tail and count one
# failure.
tally_log() {
    tally_result "$1" && return 0
    tail -n 30 "$1"
    tally 0 1
}

# A kernel built from source with the detectors (6.1-debug: KASAN, lockdep...)
# runs the guests several times slower: a longer guest time limit (VM_TIMEOUT)
# and a minute of stress instead of 30 s, unless the caller set them.
debug_kernel() { [[ $(kernel_pin "$1" build) == source ]]; }
vm_timeout_of() { if debug_kernel "$1"; then echo "${VM_TIMEOUT:-3600}"; else echo "${VM_TIMEOUT:-900}"; fi; }
stress_seconds_of() { if debug_kernel "$1"; then echo "${SMP_STRESS_SECONDS:-60}"; else echo "${SMP_STRESS_SECONDS:-30}"; fi; }
# The fuzzer's run: ten minutes on a debug kernel (KASAN, lockdep), one elsewhere.
fuzz_seconds_of() { if debug_kernel "$1"; then echo "${FUZZ_SECONDS:-600}"; else echo "${FUZZ_SECONDS:-60}"; fi; }

# The module built for each kernel, kept apart so that every guest stage
# loads the one that matches it.
module_of() { echo "$RESULTS/$1/memphys.ko"; }
# The test module that holds a page with another memory type (x86 only:
# MemoryTypeTests, through MEMPHYS_HOLDER_KO).
holder_of() { echo "$RESULTS/$1/memphys_memtype_holder.ko"; }

# The driver's W=1 + sparse check, then the modules the guests load.
driver_build() {
    tests/vm/deps.sh "$1" && tests/vm/kbuild.sh "$1" driver -s check && tests/vm/kbuild.sh "$1" driver -s modules \
        && cp driver/memphys.ko "$(module_of "$1")" || return 1
    [[ $(kernel_arch "$1") != amd64 ]] || { tests/vm/kbuild.sh "$1" tests/vm/memtype-holder -s modules \
        && cp tests/vm/memtype-holder/memphys_memtype_holder.ko "$(holder_of "$1")"; }
}

stage_driver_check() {
    local kernel=$1
    say "driver $kernel: W=1 and sparse (C=1) must be clean"
    mkdir -p "$RESULTS/$kernel"
    check "$kernel/driver-check" driver_build "$kernel"
}

stage_host_tests() {
    say "host unit tests"
    dotnet "$TEST_DLL" -noColor -trait- Category=Device -trait- Category=Package -xml "$RESULTS/host-tests.xml" || true
    tally_result "$RESULTS/host-tests.xml" || true
}

# The NuGet packages (`make pack`: Memphys.Core and the memphys .NET tool), the
# sample built against the packed library as a user's project is, then the
# tests that open the .nupkg files (Category=Package), none of which may skip.
# The install stage installs the tool from these packages in its guest.
stage_package() {
    local xml=$RESULTS/package-tests.xml total passed failed skipped
    say "packages: make pack, samples/ against the package, the .nupkg contents"
    check pack make -s pack
    check sample tests/vm/build-sample.sh managed/nupkg
    dotnet "$TEST_DLL" -noColor -trait Category=Package -xml "$xml" >"$RESULTS/package-tests.log" 2>&1 || true
    if ! read -r total passed failed skipped < <(xunit_counts "$xml"); then
        echo "package: no test report"; tail -n 20 "$RESULTS/package-tests.log"; tally 0 1; return
    fi
    xunit_failures "$xml"
    xunit_skips "$xml"
    echo "package: $total tests ($passed passed, $failed failed, $skipped skipped)"
    tally "$passed" $((failed + skipped))
}

stage_harness_selftest() {
    local kernel=$1 log=$RESULTS/harness-selftest.log
    say "VM harness self-tests ($kernel guest)"
    KERNEL=$kernel tests/vm/selftest.sh >"$log" 2>&1 || true
    show_cases "$log"
    tally_log "$log"
}

# Device test cases the assembly declares for an xunit filter (theory rows
# included): on the host every one of them skips, so the report's total is the
# count the guest owes.
declared_device_tests() {
    local xml=$RESULTS/declared-${1//[^A-Za-z0-9]/_}.xml total
    dotnet "$TEST_DLL" -trait "$1" -xml "$xml" >/dev/null 2>&1 || true
    read -r total _ <<<"$(xunit_counts "$xml" || echo 0)"
    echo "${total:-0}"
}

# Tally a guest's xunit report REPORT against the FILTER's declared cases.
#   tally_guest_report REPORT FILTER RUN-IN-VM-STATUS
tally_guest_report() {
    local report=$1 filter=$2 status=$3 declared counts total passed failed skipped
    declared=$(declared_device_tests "$filter")
    if ! counts=$(xunit_counts "$report"); then
        echo "guest: no device test report (run-in-vm exit $status)"
        tally 0 1
        return
    fi
    read -r total passed failed skipped <<<"$counts"
    xunit_failures "$report"
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
    tally "$passed" "$failed"
}

# Whether the guest of OUT needed more than one boot (TCG's two-vCPU early-boot
# crashes); says so, as a retried boot is worth knowing about.
report_retries() {
    local attempts
    attempts=$(sed -n 's/.*; attempts \([0-9]*\)\/.*/\1/p' "$1" | tail -n 1)
    [[ -z $attempts || $attempts == 1 ]] || echo "guest: booted at attempt $attempts (earlier boots died before the command started)"
}

# Whether KERNEL's module was built; counts one failure when not.
require_module() {
    [[ -f $(module_of "$1") ]] && return 0
    echo "guest: no module was built for $1"
    tally 0 1
    return 1
}

# Runs a guest of KERNEL with its module (more run-in-vm.sh options, then
# `-- COMMAND...`, in ARGS), with OUT as its folder, and tallies the device
# tests of trait FILTER that COMMAND reported.  Returns 1 when KERNEL has no
# module to load.
#   run_guest_suite KERNEL OUT FILTER ARGS...
run_guest_suite() {
    local kernel=$1 out=$2 filter=$3 status=0
    shift 3
    require_module "$kernel" || return 1
    tests/vm/run-in-vm.sh --kernel "$kernel" --module "$(module_of "$kernel")" --out "$out" \
        --timeout "$(vm_timeout_of "$kernel")" --env "MEMPHYS_HOLDER_KO=$(holder_of "$kernel")" "$@" 2>&1 | tee "$out.log" || status=${PIPESTATUS[0]}
    report_retries "$out.log"
    tally_guest_report "$out/device-tests.xml" "$filter" "$status"
}

# The device tests of trait FILTER in a one-vCPU guest of KERNEL of their own
# (results in RESULTS/KERNEL/NAME).  Lockdown (Category=DeviceLockdown)
# cannot be lowered again once raised, so its test gets a guest of its own.
# More run-in-vm.sh options (QEMU devices) may follow.
#   stage_guest_tests KERNEL NAME FILTER [RUN-IN-VM-OPTION...]
stage_guest_tests() {
    local kernel=$1 name=$2 filter=$3
    shift 3
    say "device tests ($filter) in a $kernel guest${*:+ (run-in-vm.sh $*)}"
    run_guest_suite "$kernel" "$RESULTS/$kernel/$name" "$filter" "$@" -- \
        tests/guest/device-tests.sh "$TEST_DLL" "$filter" || true
    # What the dma-buf cases streamed and compared (DmaBufTests).
    sed 's/^/guest: /' "$RESULTS/$kernel/$name/dmabuf-results.txt" 2>/dev/null || true
}

# The concurrency and fault-race cases, then `memphys stress`, on two vCPUs:
# under -smp 1 threads and processes never really run at the same time.
stage_guest_smp() {
    local kernel=$1
    say "concurrency cases, memphys stress and the driver fuzzer in a two-vCPU $kernel guest"
    run_guest_suite "$kernel" "$RESULTS/$kernel/guest-smp2" Stage=Concurrency --smp 2 \
        --env "SMP_STRESS_SECONDS=$(stress_seconds_of "$kernel")" --env "FUZZ_SECONDS=$(fuzz_seconds_of "$kernel")" \
        ${FUZZ_SEED:+--env "FUZZ_SEED=$FUZZ_SEED"} -- \
        tests/guest/smp-tests.sh "$TEST_DLL" "$CLI_DLL" || true
}

# The outcome of the driver fuzzer of stage_guest_smp (tests/native/fuzz.c):
# its result line, with the seed that reproduces a failure.
stage_smp_fuzz() {
    local out=$RESULTS/$1/guest-smp2 fuzz
    if fuzz=$(grep -E '^fuzz: exit ' "$out/fuzz.txt" 2>/dev/null) && [[ $fuzz == 'fuzz: exit 0' ]]; then
        echo "guest: $(grep -E '^result: ' "$out/fuzz.txt" | tail -n 1)"
        tally 1 0
    else
        echo "guest: the fuzzer failed (${fuzz:-no result}): $(grep -E '^result: ' "$out/fuzz.txt" 2>/dev/null | tail -n 1); see $out/fuzz.txt"
        tally 0 1
    fi
}

# The outcome of the `memphys stress` run of stage_guest_smp.
stage_smp_stress() {
    local out=$RESULTS/$1/guest-smp2 stress
    if stress=$(grep -E '^stress: ' "$out/stress.txt" 2>/dev/null) && [[ $stress == 'stress: exit 0'* ]]; then
        echo "guest: $(grep -iE 'corrupt|operations' "$out/stress.txt" | tail -n 2 | xargs)"
        tally 1 0
    else
        echo "guest: memphys stress failed (${stress:-no result}); see $out/stress.txt"
        tally 0 1
    fi
}

# Whether each script parses, then shellcheck of them all.
shellcheck_scripts() {
    local f
    for f; do bash -n "$f" || return 1; done
    shellcheck -x -P SCRIPTDIR "$@"
}

# Install on a "real machine": vagrant validate and shellcheck of the
# provisioning and install scripts on the host, then `make install` through
# DKMS, the udev rule, modprobe.d and the single-file CLI in a guest (no module
# preloaded) by tests/guest/install-tests.sh, which prints "N passed, N failed".
# DKMS builds against /lib/modules/KVER/build of the host's root, so the guest
# kernel is one whose headers the system has: INSTALL_KERNEL, default 6.1.
stage_install() {
    say "install: vagrant validate, shellcheck, make install (DKMS, udev) in a ${INSTALL_KERNEL:-6.1} guest"
    local kernel=${INSTALL_KERNEL:-6.1} status=0 log=$RESULTS/install/command.log
    check vagrant-validate env -C vagrant VAGRANT_CHECKPOINT_DISABLE=1 vagrant validate
    check shellcheck shellcheck_scripts packaging/install.sh vagrant/provision.sh tests/guest/install-tests.sh
    make -s publish >"$RESULTS/publish.log" 2>&1 || { tail -n 20 "$RESULTS/publish.log"; tally 0 1; }
    # The guest installs the .NET tool from managed/nupkg (the package stage packs it).
    [[ -f managed/nupkg/memphys.$(tr -d '[:space:]' <VERSION).nupkg ]] || make -s pack >"$RESULTS/pack.log" 2>&1 \
        || { tail -n 20 "$RESULTS/pack.log"; tally 0 1; }
    # DKMS builds the module inside the guest and the .NET tool is installed there: more than the default 900 s
    # on a busy machine.
    tests/vm/run-in-vm.sh --kernel "$kernel" --no-module --timeout "${VM_TIMEOUT:-1500}" --out "$RESULTS/install" -- tests/guest/install-tests.sh \
        >"$RESULTS/install.log" 2>&1 || status=$?
    show_cases "$log"
    if ! tally_result "$log" || { ((status != 0)) && [[ $(result_counts "$log") == *" 0" ]]; }; then
        echo "install: run-in-vm exit $status without a clean report: see $RESULTS/install.log"
        tail -n 30 "$RESULTS/install.log"
        tally 0 1
    fi
}

# 32-bit x86 (tests/vm/run-i386.sh): a LAYOUT guest (686: 1 GiB of highmem;
# 686-pae: 1 GiB above 4 GiB) maps 1 GiB of reserved RAM by both methods
# into a 32-bit process.
stage_i386() {
    local layout=$1 log=$RESULTS/i386-$1.log
    say "32-bit x86 guest: $layout"
    tests/vm/run-i386.sh --out "$RESULTS/i386" "$layout" >"$log" 2>&1 || true
    show_cases "$log"
    tally_log "$log"
}

# VFIO (tests/Memphys.Tests/Device/VfioDmaTests.cs): edu behind an emulated
# intel-iommu, bound to vfio-pci, DMA through IOVAs given to memphys mappings.
# A guest of its own: its tests reload the module, and the DMAR faults they
# provoke on purpose (MEMPHYS_OUT/dmar-expected.txt) are the only ones allowed.
stage_guest_vfio() {
    local kernel=$1
    stage_guest_tests "$kernel" guest-vfio Category=DeviceVfio \
        --device intel-iommu "${EDU[@]}" --append intel_iommu=on
    sed 's/^/guest: /' "$RESULTS/$kernel/guest-vfio/vfio-results.txt" 2>/dev/null || true
}

# The whole-region cases (trait Stage=WholeRegion: page faults over every
# page, whole-region patterns across reloads, RSS and cgroup charges, huge
# faults) over one 8 GiB region (LARGE_MEMMAP) in a guest of LARGE_MEM.  Runs
# for LARGE_KERNEL (6.12 when in the run: it has huge faults; else the first).
# shellcheck disable=SC2016 # '$' is memmap='s own
LARGE_MEMMAP=${LARGE_MEMMAP:-'8G$0x100000000'}
LARGE_MEM=${LARGE_MEM:-11G}
large_kernel() {
    if [[ " ${KERNELS[*]} " == *" ${LARGE_KERNEL:-6.12} "* ]]; then echo "${LARGE_KERNEL:-6.12}"; else echo "${KERNELS[0]}"; fi
}
stage_guest_large() {
    VM_MEMMAP=$LARGE_MEMMAP stage_guest_tests "$1" guest-large Stage=WholeRegion --mem "$LARGE_MEM" --memmap "$LARGE_MEMMAP"
}

# Lines of FILE matching PATTERN (0 without FILE).
count_lines() {
    local n
    n=$(grep -c "$1" "$2" 2>/dev/null) || true
    echo "${n:-0}"
}

# Data that outlives the kernel (tests/guest/persist-tests.sh): four 64 MiB
# regions (wb, wc, uc, wb with struct pages; KASLR avoids at most four memmap=
# ranges) written by the PersistenceTests, then kexec -s -l, kexec -l
# --mem-max and a warm reset, each boot verifying every byte and the
# PersistentRecord.  The first kernel runs all four boots, its kexec -s -l
# into another kernel of the run (persist_other_kernel: 6.12 under 6.1) and
# its kexec -l --mem-max back, no boot more; the others the short run
# (PERSIST_LAST_PHASE=2: one kexec -s -l into the same kernel), about 3 min
# each.
# shellcheck disable=SC2016 # '$' is memmap='s own
PERSIST_MEMMAP='64M$0x100000000,64M$0x110000000,64M$0x120000000,64M$0x130000000'
# The kernel the full persist run kexecs into: the first other x86-64
# kernel of the run (not a debug build) whose module was built.
persist_other_kernel() {
    local kernel
    for kernel in "${KERNELS[@]}"; do
        [[ $kernel != "$1" && $(kernel_arch "$kernel") == amd64 && -f $(module_of "$kernel") ]] || continue
        debug_kernel "$kernel" || { echo "$kernel"; return 0; }
    done
}

# run-in-vm.sh --env words for persist-tests.sh: KERNEL's image, initramfs
# (the harness's, with its 9p modules; a snapshot, as run-in-vm.sh keeps of
# its own: the shared cache's may be rebuilt meanwhile) and module, paths the
# guest sees through its 9p root.
persist_other_env() {
    local kver root initrd=$RESULTS/$1/kexec-initrd.cpio.gz
    kver=$(kernel_resolve "$1") && root=$(kernel_fetch "$kver" "$1") || return 1
    cp "$(tests/vm/initramfs.sh "$kver" "$root")" "$initrd" || return 1
    printf '%s\n' "PERSIST_OTHER_IMAGE=$root/boot/vmlinuz-$kver" "PERSIST_OTHER_INITRD=$initrd" \
        "PERSIST_OTHER_KO=$(module_of "$1")"
}

stage_persist() {
    local kernel=$1 last=$2 out=$RESULTS/$1/persist status=0 phase dmesg how="kexec -s -l" other="" words word
    local -a args=()
    ((last < 4)) || other=$(persist_other_kernel "$kernel")
    if [[ -n $other ]]; then
        how="kexec -s -l into $other, kexec -l --mem-max back into $kernel, warm reset"
        words=$(persist_other_env "$other") || { echo "guest: cannot prepare the kexec into $other"; tally 0 1; return 0; }
        while read -r word; do args+=(--env "$word"); done <<<"$words"
    elif ((last == 4)); then how+=", kexec -l --mem-max, warm reset"; fi
    say "persistence in a $kernel guest: $((last - 1)) reboot(s): $how"
    require_module "$kernel" || return 0
    # --no-module: each boot loads the module of the kernel it runs (persist-tests.sh).
    tests/vm/run-in-vm.sh --kernel "$kernel" --module "$(module_of "$kernel")" --no-module --out "$out" --allow-reset \
        --memmap "$PERSIST_MEMMAP" --timeout "$(vm_timeout_of "$kernel")" --env "PERSIST_LAST_PHASE=$last" \
        ${args[@]+"${args[@]}"} -- tests/guest/persist-tests.sh "$TEST_DLL" "$CLI_DLL" >"$out.log" 2>&1 || status=$?
    report_retries "$out.log"
    grep -h '^memphys-vm: ' "$out.log" || true
    show_cases "$out/persist-cases.log"
    tally "$(count_lines '^PASS ' "$out/persist-cases.log")" "$(count_lines '^FAIL ' "$out/persist-cases.log")"
    for ((phase = 1; phase <= last; phase++)); do
        tally_guest_report "$out/persist-phase$phase.xml" Category=DevicePersist "$status"
    done
    # run-in-vm.sh scans the last boot's kernel log; the earlier boots saved theirs.
    for dmesg in "$out"/dmesg-phase*.txt; do
        [[ -f $dmesg ]] || continue
        if klog_scan "$dmesg"; then tally 1 0; else tally 0 1; fi
    done
    grep -E 'booted|checked|record: generation [0-9]+,' "$out/persist-results.txt" 2>/dev/null | sed 's/^/guest: /' || true
}

main() {
    local kernel layout
    mkdir -p "$RESULTS"
    echo "kernels: ${KERNELS[*]}${ARM64_KERNELS[*]:+; arm64: ${ARM64_KERNELS[*]}}"
    # Every build first: a module that does not build fails the run at once.
    for kernel in "${KERNELS[@]}" ${ARM64_KERNELS[@]+"${ARM64_KERNELS[@]}"}; do
        run_stage "driver-check $kernel" stage_driver_check "$kernel"
    done
    run_stage host-tests stage_host_tests
    run_stage package stage_package
    [[ ${#KERNELS[@]} -eq 0 ]] || run_stage harness-selftest stage_harness_selftest "${KERNELS[0]}"
    for kernel in "${KERNELS[@]}"; do
        run_stage "guest-tests $kernel" stage_guest_tests "$kernel" guest Category=Device "${EDU[@]}" \
            --memmap "$DEVICE_MEMMAP"
        run_stage "guest-smp2 $kernel" stage_guest_smp "$kernel"
        run_stage "memphys-stress-smp2 $kernel" stage_smp_stress "$kernel"
        run_stage "memphys-fuzz-smp2 $kernel" stage_smp_fuzz "$kernel"
        run_stage "guest-lockdown $kernel" stage_guest_tests "$kernel" guest-lockdown Category=DeviceLockdown
        run_stage "guest-forced-unload $kernel" stage_guest_tests "$kernel" guest-forced-unload \
            Category=DeviceForcedUnload --memmap "$DEVICE_MEMMAP" --allow-forced-unload
        run_stage "guest-vfio $kernel" stage_guest_vfio "$kernel"
        [[ $kernel != "$(large_kernel)" ]] || run_stage "guest-large $kernel" stage_guest_large "$kernel"
        if [[ $kernel == "${KERNELS[0]}" ]]; then run_stage "persist $kernel" stage_persist "$kernel" 4
        else run_stage "persist $kernel" stage_persist "$kernel" 2; fi
    done
    # The 6.1-only stages: DKMS needs the guest kernel's headers installed on
    # the host; Debian's last 32-bit x86 kernels are 6.1.
    if [[ " ${KERNELS[*]} " == *" 6.1 "* ]]; then
        run_stage install stage_install
        for layout in 686 686-pae; do run_stage "i386-$layout" stage_i386 "$layout"; done
    fi
    [[ ${#ARM64_KERNELS[@]} -eq 0 ]] || stage_arm64 "${ARM64_KERNELS[@]}"
    say "summary (logs in $RESULTS)"
    ((${#FAILED_STAGES[@]} == 0)) || echo "failed stages: ${FAILED_STAGES[*]}"
    summary
}

main "$@"
