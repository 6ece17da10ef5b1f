#!/usr/bin/env bash
# Runs inside the guest of the persist stage (tests/vm/run-in-vm.sh
# --allow-reset, four memmap= ranges), once per boot: tests/vm/init.sh passes
# the boot's phase (MEMPHYS_VM_PHASE).  Each phase loads memphys with the four
# regions as wb, wc, uc and wb with struct pages, runs the PersistenceTests
# (trait Category=DevicePersist; MEMPHYS_PERSIST_STEPS says whether they
# verify what the previous boot wrote, write anew, or only survey), then boots
# the next phase:
#   1 (cold boot)  write                 kexec -s -l (kexec_file_load)
#   2              verify, write         kexec -l --mem-max below the regions
#   3              verify, write         warm reset (QEMU system_reset, SeaBIOS)
#   4              verify, write         plain kexec -l (PERSIST_PLAIN_KEXEC=1 only)
#   5              survey (no assertion: what plain kexec -l left)
# PERSIST_LAST_PHASE (default 4, or 5 with PERSIST_PLAIN_KEXEC=1) ends the run
# earlier: its phase verifies (or surveys) and writes nothing; 2 is the short
# run (one kexec -s).
# Across kernels: with PERSIST_OTHER_IMAGE, PERSIST_OTHER_INITRD and
# PERSIST_OTHER_KO (another kernel of the matrix, its initramfs and its module
# build) phase 1 kexecs into that kernel and phase 2 back into the first one,
# so phase 2 verifies in the other kernel what the first wrote and phase 3 the
# reverse.  Each boot loads the module whose vermagic is the running kernel's
# (run-in-vm.sh --no-module: the harness's init would load the first kernel's).
# The kexec command lines are the ones `memphys kexec-args --json` prints.
# Results: persist-phaseN.xml, persist-cases.log (PASS/FAIL of the boots),
# persist-results.txt (bytes verified per region), dmesg-phaseN.txt.
#   tests/guest/persist-tests.sh TEST_DLL CLI_DLL
set -euo pipefail
dll=$1 cli=$2
phase=${MEMPHYS_VM_PHASE:-1}
out=${MEMPHYS_OUT:?run through tests/vm/run-in-vm.sh}
cases=$out/persist-cases.log
types=(wb wc uc pages)

say() { echo "persist: phase $phase: $*"; }
case_line() { echo "$1 phase $phase: $2" | tee -a "$cases"; }

# MEMPHYS_REGIONS with the type of each index appended (:wc, :uc, :pages).
typed_regions() {
    local regions i typed=()
    IFS=, read -ra regions <<<"${MEMPHYS_REGIONS:?}"
    [[ ${#regions[@]} -eq ${#types[@]} ]] || { echo "persist: want ${#types[@]} regions, got $MEMPHYS_REGIONS" >&2; return 1; }
    for i in "${!regions[@]}"; do
        if [[ ${types[i]} == wb ]]; then typed+=("${regions[i]}"); else typed+=("${regions[i]}:${types[i]}"); fi
    done
    (IFS=,; echo "${typed[*]}")
}

# The module built for the running kernel: MEMPHYS_KO or PERSIST_OTHER_KO.
running_module() {
    local ko
    for ko in "${MEMPHYS_KO:?}" ${PERSIST_OTHER_KO:+"$PERSIST_OTHER_KO"}; do
        [[ $(modinfo -F vermagic "$ko" | cut -d' ' -f1) != "$(uname -r)" ]] || { echo "$ko"; return 0; }
    done
    echo "persist: no module for $(uname -r): $MEMPHYS_KO ${PERSIST_OTHER_KO:-}" >&2
    return 1
}

reload_typed() {
    local _ regions ko
    regions=$(typed_regions)
    ko=$(running_module)
    if [[ -d /sys/module/memphys ]]; then
        for _ in {1..50}; do rmmod memphys 2>/dev/null && break; sleep 0.1; done
    fi
    insmod "$ko" "regions=$regions"
    say "memphys loaded with regions=$regions"
    echo "phase $phase: booted $(uname -r), memphys $ko" >>"$out/persist-results.txt"
}

run_tests() {
    local status=0
    say "PersistenceTests, steps $1"
    MEMPHYS_PERSIST_STEPS=$1 dotnet "$dll" -trait Category=DevicePersist -xml "$out/persist-phase$phase.xml" || status=$?
    return "$status"
}

# The running command line without this boot's phase word, for kexec-args.
handed_over_cmdline() {
    sed -E 's/ ?memphys_vm\.phase=[0-9]+//' /proc/cmdline >/run/persist-cmdline
    echo /run/persist-cmdline
}

# kexec into phase NEXT with the command `memphys kexec-args` prints for HOW:
# file (kexec -s -l), memmax (kexec -l --mem-max) or plain (kexec -l, its
# --mem-max dropped: what the warning is about).  Phase 1 boots the other
# kernel where there is one, every other phase the first kernel.
kexec_into() {
    local next=$1 how=$2 json cmd image=${MEMPHYS_VM_KERNEL_IMAGE:?} initrd=${MEMPHYS_VM_INITRD:?}
    if ((phase == 1)) && [[ -n ${PERSIST_OTHER_IMAGE:-} ]]; then
        image=$PERSIST_OTHER_IMAGE initrd=${PERSIST_OTHER_INITRD:?}
    fi
    json=$(dotnet "$cli" kexec-args --kernel "$image" --initrd "$initrd" \
        --cmdline "$(handed_over_cmdline)" --append "memphys_vm.phase=$next" --json)
    case $how in
        file)   cmd=$(jq -r .fileLoadCommand <<<"$json") ;;
        memmax) cmd=$(jq -r .loadCommand <<<"$json") ;;
        plain)  cmd=$(jq -r .loadCommand <<<"$json" | sed -E 's/ --mem-max=0x[0-9a-f]+//') ;;
    esac
    jq -r '.warnings[] | "persist: kexec-args warning: " + .' <<<"$json"
    say "$cmd"
    if ! eval "$cmd"; then
        case_line FAIL "$how kexec load"
        return 1
    fi
    case_line PASS "$how kexec load of $(basename "$image") ($(jq -r '.kept | length' <<<"$json") ranges kept, mem-max $(jq -r .memMax <<<"$json"))"
    dmesg >"$out/dmesg-phase$phase.txt"
    sync
    kexec -e
    case_line FAIL "kexec -e returned"
    return 1
}

# A warm reset into phase NEXT: QEMU resets the machine (SeaBIOS runs again,
# loads the first kernel and command line), RAM is not cleared.
reset_into() {
    echo "$1" >"$out/.vm/next-phase"
    case_line PASS "warm reset requested (sysrq b)"
    dmesg >"$out/dmesg-phase$phase.txt"
    sync
    echo b >/proc/sysrq-trigger
    sleep 30
    case_line FAIL "the reset did not happen"
    return 1
}

# What phase P does: write first, verify (survey after a plain kexec -l) last,
# both in between.
steps_of() {
    local p=$1 last=$2 check=verify
    [[ $p != 5 ]] || check=survey
    if ((p == 1)); then echo write
    elif ((p == last)); then echo "$check"
    else echo "$check,write"; fi
}

main() {
    local status=0 last=${PERSIST_LAST_PHASE:-4}
    [[ ${PERSIST_PLAIN_KEXEC:-0} != 1 ]] || last=${PERSIST_LAST_PHASE:-5}
    say "booted $(uname -r): $(cat /proc/cmdline)"
    [[ $phase != 1 ]] || rm -rf "$out/persist" "$out"/persist-*.xml "$cases" "$out/persist-results.txt" "$out"/dmesg-phase*.txt
    reload_typed
    ((phase >= 1 && phase <= last && last <= 5)) || { echo "persist: phase $phase of $last?" >&2; return 1; }
    run_tests "$(steps_of "$phase" "$last")" || status=$?
    # A failed phase ends the run here: the host tallies what ran.
    ((status == 0 && phase < last)) || return "$status"
    case $phase in
        1) kexec_into 2 file ;;
        2) kexec_into 3 memmax ;;
        3) reset_into 4 ;;
        4) kexec_into 5 plain ;;
    esac
}

main "$@"
