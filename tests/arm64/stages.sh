# shellcheck shell=bash
# The arm64 stages of tests/run-tests.sh, which sources this file (its
# run_stage, run_guest_suite, module_of... and tests/vm/lib.sh's counting):
#   the binding document and overlay (dt-schema, dtc), the linux-arm64
#   publish of the suite and CLI with the probe cross-built (`make arm64`),
#   and per arm64 kernel (BUILD arm64 in tests/vm/kernels.conf; its driver
#   check runs with the others): the whole device suite in a
#   qemu-system-aarch64 -M virt guest (tests/vm/arm64.sh), and the region of
#   its device tree through `memphys info` and the probe.

ARM64_TESTS=build/arm64/tests/Memphys.Tests
ARM64_CLI=build/arm64/cli/memphys
ARM64_PROBE=tests/native/bin/memphys-probe-arm64

stage_arm64_binding() {
    local log=$RESULTS/arm64-binding.log
    say "arm64: device-tree binding (dt-doc-validate, dt-validate of its example) and example overlay (dtc)"
    tests/arm64/binding-check.sh >"$log" 2>&1 || true
    show_cases "$log"
    tally_log "$log"
}

stage_arm64_programs() {
    say "arm64: the suite and the CLI published for linux-arm64, the probe cross-built (make arm64)"
    check arm64-programs make -s arm64
}

stage_arm64_guest() {
    local kernel=$1
    say "device tests in an arm64 $kernel guest (-M virt; regions=1G@0x100000000 above mem=3G, a device-tree region)"
    run_guest_suite "$kernel" "$RESULTS/$kernel/guest" Category=Device --arch arm64 "${EDU[@]}" -- \
        tests/guest/device-tests.sh "$ARM64_TESTS" Category=Device || true
}

stage_arm64_devicetree() {
    local kernel=$1 out=$RESULTS/$1/devicetree status=0
    say "the device-tree regions of an arm64 $kernel guest: memphys info, the probe, the optional properties, the refusals"
    require_module "$kernel" || return 0
    ARM64_DT_CASES=1 tests/vm/run-in-vm.sh --arch arm64 --kernel "$kernel" --module "$(module_of "$kernel")" --out "$out" \
        --timeout "$(vm_timeout_of "$kernel")" -- tests/guest/arm64-devicetree.sh "$ARM64_CLI" "$ARM64_PROBE" \
        >"$out.log" 2>&1 || status=$?
    show_cases "$out/command.log"
    tally_log "$out/command.log"
    if ((status != 0)); then
        echo "guest: run-in-vm exit $status (see $out.log)"
        tally 0 1
    fi
}

# The arm64 stages for the arm64 KERNELs given.
stage_arm64() {
    local kernel
    run_stage arm64-binding stage_arm64_binding
    run_stage arm64-programs stage_arm64_programs
    for kernel in "$@"; do
        run_stage "guest-tests $kernel" stage_arm64_guest "$kernel"
        run_stage "devicetree $kernel" stage_arm64_devicetree "$kernel"
    done
}
