# shellcheck shell=bash
# The arm64 stages of tests/run-tests.sh, which sources this file after its
# own helpers (tally, tally_line, run_guest_suite, module_of, ...):
#   the binding document and overlay (dt-schema, dtc), the linux-arm64
#   publish of the suite and CLI with the probe cross-built (`make arm64`),
#   and per arm64 kernel (BUILD arm64 in tests/vm/kernels.conf; its driver
#   check runs with the others): the whole device suite in a
#   qemu-system-aarch64 -M virt guest (tests/vm/arm64.sh) and the region of
#   its device tree through `memphys info` and the probe.

ARM64_TESTS=build/arm64/tests/Memphys.Tests
ARM64_CLI=build/arm64/cli/memphys
ARM64_PROBE=tests/native/bin/memphys-probe-arm64

stage_arm64_binding() {
    local log=$RESULTS/arm64-binding.log line
    say "arm64: device-tree binding (dt-doc-validate, dt-validate of its example) and example overlay (dtc)"
    line=$(tests/arm64/binding-check.sh 2>&1 | tee "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1 || true)
    grep -E '^(ok|FAIL) - |^    ' "$log" || true
    tally_line arm64-binding "$line" "$log"
}

stage_arm64_programs() {
    local log=$RESULTS/arm64-programs.log
    say "arm64: the suite and the CLI published for linux-arm64, the probe cross-built (make arm64)"
    if make -s arm64 >"$log" 2>&1; then
        tally arm64-programs 1 0
    else
        tail -n 30 "$log"
        tally arm64-programs 0 1
    fi
}

stage_arm64_guest() {
    local kernel=$1
    say "device tests in an arm64 $kernel guest (-M virt; regions=1G@0x100000000 above mem=3G, a device-tree region)"
    run_guest_suite "guest-tests $kernel" "$kernel" "$RESULTS/$kernel/guest" Category=Device --arch arm64 -- \
        tests/guest-tests.sh "$ARM64_TESTS" Category=Device
}

stage_arm64_devicetree() {
    local kernel=$1 out=$RESULTS/$1/devicetree status=0 line
    say "the device-tree region of an arm64 $kernel guest: memphys info and the probe"
    if [[ ! -f $(module_of "$kernel") ]]; then
        echo "guest: no module was built for $kernel"
        tally "devicetree $kernel" 0 1
        return
    fi
    tests/vm/run-in-vm.sh --arch arm64 --kernel "$kernel" --module "$(module_of "$kernel")" --out "$out" \
        --timeout "$(vm_timeout_of "$kernel")" -- tests/arm64/guest-devicetree.sh "$ARM64_CLI" "$ARM64_PROBE" \
        >"$out.log" 2>&1 || status=$?
    grep -E '^(ok|FAIL) - |^    ' "$out/command.log" 2>/dev/null || true
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out/command.log" 2>/dev/null | tail -n 1 || true)
    if [[ -n $line && $status -ne 0 && $line == *" 0 failed" ]]; then
        echo "guest: run-in-vm exit $status although every check passed: see $out.log"
        line=""
    fi
    tally_line "devicetree $kernel" "$line" "$out.log"
}

# The arm64 stages for the arm64 KERNELs given (their driver checks ran
# with the others').
stage_arm64() {
    local kernel
    stage_arm64_binding
    stage_arm64_programs
    for kernel in "$@"; do
        stage_arm64_guest "$kernel"
        stage_arm64_devicetree "$kernel"
    done
}
