# shellcheck shell=bash
# Common helpers for the memphys test harness, on the host and in the guests
# (tests/guest/ scripts source it too). Source, do not execute.

VM_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(git -C "$VM_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$VM_DIR/../.." && pwd))
CACHE_DIR=${MEMPHYS_CACHE_DIR:-$REPO_ROOT/.cache}

log()  { printf 'memphys-vm: %s\n' "$*" >&2; }
die()  { log "error: $*"; exit "${DIE_STATUS:-1}"; }
vlog() { [[ -n ${VM_VERBOSE:-} ]] && log "$@"; return 0; }

# Run a command as root (sudo only when we are not root already).
as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "'$c' not found (run tests/vm/deps.sh)"
    done
}

# Guest kernel log lines that fail a run, and the taint notes of our own
# out-of-tree, unsigned module that do not.
# Reports of the kernel's detectors: WARN/BUG ("BUG: KASAN:", "BUG: sleeping
# function", "BUG: Bad page state"), lockdep ("WARNING: possible circular
# locking", "WARNING: suspicious RCU usage"), BUG_ON (page-table check,
# VM_BUG_ON: "kernel BUG at"), DEBUG_VM's dump_page, DEBUG_OBJECTS, oopses,
# and the IOMMU's fault reports ("DMAR: [DMA Write NO_PASID] Request device
# [00:01.0] fault addr 0x... [fault reason ...]").
KLOG_BAD='BUG:|WARNING:|kernel BUG at|VM_BUG_ON|page dumped because|ODEBUG:|Oops|general protection|Call Trace|Tainted:|taint|DMAR: \['
KLOG_BENIGN='loading out-of-tree module taints kernel|module verification failed'

# Prints the kernel log F's first report in full and every matching line;
# returns 1 if there is any.  EXPECTED (optional) lists the IOMMU faults a
# test provoked on purpose, one "fault addr 0x..." a line: a DMAR report of
# one of those addresses is no failure.
klog_scan() {
    local f=$1 expected=${2:-} klog first count
    klog=$(grep -vE "$KLOG_BENIGN" "$f" || true)
    if [[ -s $expected ]]; then
        klog=$(awk -v list="$expected" 'BEGIN { while ((getline l < list) > 0) if (l != "") want[++n] = l " " }
            /DMAR: \[/ { for (i = 1; i <= n; i++) if (index($0, want[i])) next } { print }' <<<"$klog")
    fi
    first=$(grep -nE -m1 "$KLOG_BAD" <<<"$klog" | cut -d: -f1)
    [[ -z $first ]] && return 0
    count=$(grep -cE "$KLOG_BAD" <<<"$klog")
    log "guest kernel log has $(grep -oE -m1 "$KLOG_BAD" <<<"$klog" | head -n1) ($count matching lines, $f); the first report:"
    # From one line before (WARN() prints its message there) to its stacks.
    tail -n "+$((first > 1 ? first - 1 : 1))" <<<"$klog" | head -n 100 | sed 's/^/    /' >&2
    log "matching lines:"
    grep -E "$KLOG_BAD" <<<"$klog" | head -n 40 | sed 's/^/    /' >&2
    return 1
}

# QEMU accelerator arguments (ACCEL_ARGS, ACCEL) for VM_SMP guest CPUs.
choose_accel() {
    local accel=${VM_ACCEL:-}
    if [[ -z $accel ]]; then
        accel=tcg
        grep -qE '^kvm_(intel|amd) ' /proc/modules 2>/dev/null && accel=kvm
    fi
    case $accel in
        kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
        # -smap: bookworm's QEMU (7.2) TCG pops IRETQ's frame with supervisor
        # accesses, so under SMAP a user-mode iretq faults (seen in a 7.2 guest:
        # "#PF: supervisor read access in user mode" and an Oops in .NET's
        # context restore). SMAP is no part of what memphys tests.
        tcg) if [[ $VM_SMP -gt 1 ]]; then ACCEL_ARGS=(-accel tcg,thread=multi -cpu max,-smap)
             else ACCEL_ARGS=(-accel tcg,thread=single -cpu max,-smap); fi
             # VM_ICOUNT (e.g. shift=0,sleep=off; make bench): the guest clock
             # counts executed instructions, so host load does not show in timings.
             if [[ -n ${VM_ICOUNT:-} ]]; then ACCEL_ARGS+=(-icount "$VM_ICOUNT"); fi ;;
        *)   die "VM_ACCEL must be kvm or tcg, got '$accel'" ;;
    esac
    ACCEL=$accel
}

# Re-boots of a guest that died before it ran what it was booted for
# (run-in-vm.sh --retries; TCG's two-vCPU guests crash in early boot now and then).
VM_RETRIES=${VM_RETRIES:-2}

# Boots a guest up to VM_RETRIES + 1 times: BOOT (a function, given the
# attempt number) boots once and sets OUTCOME to done, fail, or retry when
# the guest died before it started its work.  The console log CONSOLE of a
# retried boot is kept as CONSOLE-attemptN.log.  Sets ATTEMPT (the last one)
# and ATTEMPTS; OUTCOME stays retry when every boot died.
boot_with_retries() {
    local console=$1 boot=$2
    ATTEMPTS=$((VM_RETRIES + 1))
    for ((ATTEMPT = 1; ; ATTEMPT++)); do
        if ((ATTEMPT > 1)); then
            mv -f "$console" "${console%.log}-attempt$((ATTEMPT - 1)).log" 2>/dev/null || true
            log "retrying boot (attempt $ATTEMPT/$ATTEMPTS): guest died before the command started"
        fi
        "$boot" "$ATTEMPT"
        [[ $OUTCOME == retry && $ATTEMPT -lt $ATTEMPTS ]] || return 0
    done
}

# Pass/fail counting of every harness script that reports "N passed, N failed".
PASSED=0
FAILED=0

# tally PASSED FAILED: add a group of cases.
tally() {
    PASSED=$((PASSED + $1))
    FAILED=$((FAILED + $2))
}

# verdict STATUS NAME [NOTE...]: one case, passed when STATUS is 0; prints
# "PASS NAME NOTE" or "FAIL NAME NOTE".
verdict() {
    local status=$1 name=$2
    shift 2
    if [[ $status == 0 ]]; then
        echo "PASS $name${*:+ $*}"
        tally 1 0
    else
        echo "FAIL $name${*:+ $*}"
        tally 0 1
    fi
}

# check NAME COMMAND...: one case, passed when COMMAND succeeds; its output
# goes to CHECK_LOGS/NAME.log, whose tail is shown when it fails.
check() {
    local name=$1 log=${CHECK_LOGS:?}/$1.log start=$SECONDS status=0
    shift
    "$@" >"$log" 2>&1 || status=$?
    if [[ $status == 0 ]]; then
        verdict 0 "$name" "($((SECONDS - start)) s)"
    else
        verdict 1 "$name" "(exit $status, log: $log)"
        tail -n 30 "$log" | sed 's/^/    /'
    fi
}

# The closing line "N passed, N failed"; returns 1 if any case failed.
summary() {
    echo "$PASSED passed, $FAILED failed"
    ((FAILED == 0))
}

# The results of another run, as "PASSED FAILED": from the last summary line
# (above) of LOG, or of an xunit XML report (where errors count as failed).
# Returns 1 when there is no result in the file.
#   result_counts LOG | result_counts REPORT.xml
result_counts() {
    local file=$1 line counts
    if [[ $file == *.xml ]]; then
        counts=$(xunit_counts "$file") || return 1
        echo "${counts#* }" | cut -d' ' -f1,2
        return 0
    fi
    line=$(tr -d '\r' 2>/dev/null <"$file" | grep -E "^[0-9]+ passed, [0-9]+ failed$" | tail -n 1) || return 1
    [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]] && echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
}

# Tally the results that result_counts finds in FILE; returns 1,
# tallying nothing, when there are none.
tally_result() {
    local counts passed failed
    counts=$(result_counts "$1") || return 1
    read -r passed failed <<<"$counts"
    tally "$passed" "$failed"
}

# Counts of the xunit XML REPORT, summed over its <assembly> elements:
# "TOTAL PASSED FAILED SKIPPED" (errors count as failed); returns 1 when the
# report has none.
xunit_counts() {
    grep -o '<assembly [^>]*>' "$1" 2>/dev/null | awk '
        function attr(name) { return match($0, " " name "=\"[0-9]+\"") ? substr($0, RSTART + length(name) + 3, RLENGTH - length(name) - 4) : 0 }
        { n++; total += attr("total"); passed += attr("passed"); failed += attr("failed") + attr("errors"); skipped += attr("skipped") }
        END { if (!n) exit 1; print total, passed, failed, skipped }'
}

# The failed and the skipped tests (with their reasons) of an xunit XML report.
xunit_failures() {
    grep -o '<test [^>]*result="Fail"[^>]*>' "$1" | sed -n 's/.* name="\([^"]*\)".*/  failed \1/p' || true
}
xunit_skips() {
    tr '\n' ' ' <"$1" | grep -o '<test [^>]*result="Skip"[^>]*>.\{0,600\}</reason>' |
        sed 's/^<test [^>]* name="\([^"]*\)".*<reason><!\[CDATA\[\(.*\)\]\]><\/reason>/  skipped \1: \2/' || true
}
