#!/usr/bin/env bash
# Self-tests of the VM harness with real guest boots.
#   tests/vm/selftest.sh [--kernel 6.1]
# Prints PASS/FAIL per case and "N passed, N failed"; exits non-zero on failure.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=kernel.sh
source "$VM_DIR/kernel.sh"

[[ ${1:-} == --kernel ]] && KERNEL=$2
KERNEL=$(kernel_default)
export KERNEL
RUN=$VM_DIR/run-in-vm.sh
WORK=$CACHE_DIR/selftest/$(date +%Y%m%d-%H%M%S)-$$
CHECK_LOGS=$WORK

# Build the WARN-on-load module for KERNEL out of tree in the cache; print its path.
build_warn_module() {
    local dir
    dir=$CACHE_DIR/warn-module/$(kernel_resolve "$1")
    mkdir -p "$dir"
    cp "$VM_DIR"/warn-module/{Kbuild,Makefile,memphys_vm_warn.c} "$dir/"
    kbuild_make "$1" "$dir" -s modules >"$dir/build.log" 2>&1 \
        || { cat "$dir/build.log" >&2; die "building the warn module failed"; }
    echo "$dir/memphys_vm_warn.ko"
}

# run_case NAME EXPECTED_RC CHECK -- run-in-vm.sh ARGS...
# CHECK is a function called with the case's out dir and log (CHECK_LOGS/NAME.log);
# it must return 0, or print why not and fail.
run_case() { check "$1" guest_case "$@"; }

guest_case() {
    local name=$1 want=$2 check=$3 out=$WORK/$1 rc=0
    shift 4
    mkdir -p "$out"
    "$RUN" --out "$out" "$@" || rc=$?
    if [[ $rc -ne $want ]]; then
        echo "selftest: exit $rc, expected $want"
        return 1
    fi
    "$check" "$out" "$CHECK_LOGS/$name.log"
}

# Helpers for CHECK functions: print a reason and fail.
expect_file_has() { grep -qE -- "$2" "$1" 2>/dev/null || { echo "$1 lacks /$2/"; return 1; }; }
expect_no_file()  { [[ ! -e $1 ]] || { echo "$1 should not exist"; return 1; }; }

check_success() {
    expect_file_has "$1/command.log" "^selftest-hello $PWD$" || return 1
    expect_file_has "$1/from-guest.txt" '^written-in-guest$' || return 1
    expect_file_has "$1/result.json" '"started":true,"exit_code":0,"kernel":"[^"]+"' || return 1
    expect_file_has "$1/dmesg.txt" 'Linux version' || return 1
    expect_file_has "$2" 'summary: command exit 0; exit 0'
}

check_exit_code() {
    expect_file_has "$1/result.json" '"exit_code":3' || return 1
    expect_file_has "$2" 'summary: command exit 3; exit 3'
}

check_warning() {
    expect_file_has "$2" 'memphys-vm: guest kernel log has WARNING:' || return 1
    expect_file_has "$2" 'memphys-vm selftest warning'
}

# One line in the format of each detector's report (KASAN, lockdep, RCU,
# might_sleep, page-table check BUG_ON, DEBUG_VM dump_page, DEBUG_OBJECTS,
# bad page state): the harness must count every one and print the first.
KLOG_REPORTS=(
    'BUG: KASAN: use-after-free in memphys_selftest+0x10/0x20'
    'WARNING: possible circular locking dependency detected'
    'WARNING: suspicious RCU usage'
    'BUG: sleeping function called from invalid context at mm/memory.c:1'
    'kernel BUG at mm/page_table_check.c:87!'
    'page dumped because: VM_BUG_ON_PAGE(PageTail(page))'
    'ODEBUG: free active (active state 0) object type: timer_list hint: 0x0'
    'BUG: Bad page state in process memphys  pfn:104000'
)

check_reports() {
    expect_file_has "$2" "guest kernel log has BUG: \\(${#KLOG_REPORTS[@]} matching lines" || return 1
    expect_file_has "$2" '^    .*BUG: KASAN: use-after-free in memphys_selftest'
}

check_timeout() {
    expect_file_has "$2" 'memphys-vm: guest timed out after 60 s' || return 1
    expect_file_has "$2" 'last 40 lines of' || return 1
    expect_no_file "$1/result.json"
}

check_retry() {
    expect_file_has "$2" 'retrying boot \(attempt 2/3\)' || return 1
    expect_file_has "$1/console-attempt1.log" 'simulated early boot failure' || return 1
    expect_file_has "$2" 'attempts 2/3'
}

main() {
    local kver warn_ko
    need_cmd make
    kver=$(kernel_resolve "$KERNEL")
    mkdir -p "$WORK"
    log "self-testing kernel $kver; logs in $WORK"
    warn_ko=$(build_warn_module "$KERNEL") || warn_ko=""

    run_case success 0 check_success -- --no-module -- \
        sh -c 'echo "selftest-hello $PWD"; echo written-in-guest >"$MEMPHYS_OUT/from-guest.txt"'
    run_case exit-code 3 check_exit_code -- --no-module -- sh -c 'echo failing on purpose; exit 3'
    if [[ -n $warn_ko ]]; then
        run_case kernel-warning 1 check_warning -- --no-module -- \
            sh -c "insmod '$warn_ko' || true"
    else
        verdict 1 kernel-warning "(cannot build warn-module for $kver)"
    fi
    run_case kernel-reports 1 check_reports -- --no-module -- sh -c \
        'echo on >/proc/sys/kernel/printk_devkmsg; for l; do echo "$l" >/dev/kmsg; done' _ "${KLOG_REPORTS[@]}"
    run_case timeout 124 check_timeout -- --no-module --timeout 60 -- sleep 100000
    VM_SELFTEST_FAIL_BOOTS=1 run_case retry 0 check_retry -- --no-module -- true

    summary
}

main; exit
