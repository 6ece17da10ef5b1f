#!/usr/bin/env bash
# The 32-bit x86 stage: for each layout, build memphys.ko for Debian's i386
# kernel (W=1 + sparse), boot it with qemu-system-i386 on an initramfs of
# i386 busybox + the static probe, and map the whole reserved GiB by both
# methods (memphys-probe region-check).  See usage().
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=kernel.sh
source "$VM_DIR/kernel.sh"
# shellcheck source=i386.sh
source "$VM_DIR/i386.sh"

LAYOUTS=(686 686-pae)

usage() {
    cat <<USAGE
usage: tests/vm/run-i386.sh [--out DIR] [LAYOUT...]

Layouts (default: all):
  686      non-PAE 686 kernel, 2 GiB (+128 MiB) guest, mem=1G memmap=1G\$0x40000000:
           the reserved GiB at 0x40000000 is entirely highmem
  686-pae  686-pae kernel, 6 GiB guest, memmap=1G\$0x100000000: the reserved
           GiB lies above 4 GiB
Prints the checks of each layout and "layout NAME: N passed, N failed";
exits 1 if any check failed.  VM_TIMEOUT (default 600 s) bounds each guest,
VM_ACCEL picks kvm or tcg like run-in-vm.sh; outputs in DIR/LAYOUT/.
USAGE
}

# Sets L_KERNEL, L_MEM, L_CMDLINE, L_BASE, L_SIZE, L_QEMU of layout $1.
# The "2 GiB" guest has 128 MiB more: QEMU's firmware keeps its ACPI tables
# in the last 128 KiB of low RAM, which with exactly 2 GiB would lie inside
# the region (both are "Reserved" in /proc/iomem: the driver cannot tell).
# qemu-system-i386 (7.2, TCG) stalls the PAE guest's user space as soon as
# its RAM reaches past 4 GiB; that layout runs on qemu-system-x86_64's CPU
# (a 64-bit capable CPU running the 32-bit kernel, like most PAE machines).
layout() {
    L_SIZE=0x40000000
    case $1 in
        686)     L_KERNEL=6.1-686 L_MEM=2176M L_BASE=0x40000000 L_QEMU=qemu-system-i386
                 L_CMDLINE="mem=1G memmap=1G\$$L_BASE" ;;
        686-pae) L_KERNEL=6.1-686-pae L_MEM=6G L_BASE=0x100000000 L_QEMU=qemu-system-x86_64
                 L_CMDLINE="memmap=1G\$$L_BASE" ;;
        *)       die "unknown layout '$1' (known: ${LAYOUTS[*]})" ;;
    esac
}

# One check row of this script, counted like the probe's.
row() {
    local ok=$1; shift
    if [[ $ok == 0 ]]; then echo "ok - $*"; PASSED=$((PASSED + 1))
    else echo "FAIL - $*"; FAILED=$((FAILED + 1)); fi
}

# Build memphys.ko for KVER against KDIR with W=1 and sparse, from a copy
# of the sources (the 64-bit driver/memphys.ko stays untouched).
build_module() {
    local kver=$1 kdir=$2 log=$3 dir=$I386_BUILD_DIR/$1 status=0
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$REPO_ROOT"/driver/{Kbuild,*.c,*.h} "$dir/"
    cp -r "$REPO_ROOT/driver/include" "$dir/"
    make -C "$kdir" M="$dir" W=1 C=1 modules >"$log" 2>&1 || status=$?
    if [[ $status -ne 0 ]] || grep -qE 'warning:|error:' "$log"; then
        grep -E 'warning:|error:' "$log" | head -n 20 >&2 || tail -n 20 "$log" >&2
        return 1
    fi
    grep -q ' CHECK ' "$log" || { log "sparse did not run (see $log)"; return 1; }
    echo "$dir/memphys.ko"
}

# initramfs with i386 busybox, init-i386.sh, the module, the probe and the
# layout's region; prints its path.
make_initramfs() {
    local out=$1 ko=$2 staging
    staging=$(mktemp -d)
    mkdir -p "$staging"/{bin,sbin,etc,proc,sys,dev,tmp}
    cp "$(i386_busybox)" "$staging/bin/busybox"
    install -m 0755 "$VM_DIR/init-i386.sh" "$staging/init"
    cp "$ko" "$staging/memphys.ko"
    cp "$REPO_ROOT/tests/native/bin/memphys-probe-i386" "$staging/memphys-probe"
    # wc: a 32-bit kernel cannot hold wb or uc (they need a kernel mapping of
    # the whole GiB); memphys refuses them at load.
    printf 'REGIONS=1G@%s:wc\nREGION_BASE=%s\nREGION_SIZE=%s\n' "$L_BASE" "$L_BASE" "$L_SIZE" \
        >"$staging/etc/memphys.conf"
    (cd "$staging" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"
    rm -rf "$staging"
    echo "$out/initramfs.cpio.gz"
}

# Boot IMAGE with INITRD; the console (all the guest reports) goes to
# OUT/console.log.  One more boot if the guest died before the probe ran.
boot() {
    local out=$1 image=$2 initrd=$3 attempt
    local append="console=ttyS0 panic=-1 loglevel=4 rdinit=/init $L_CMDLINE"
    for attempt in 1 2; do
        timeout --foreground -k 10 "${VM_TIMEOUT:-600}" "$L_QEMU" -nodefaults \
            -no-user-config -display none -no-reboot -machine q35 "${ACCEL_ARGS[@]}" \
            -m "$L_MEM" -smp 1 -kernel "$image" -initrd "$initrd" -append "$append" \
            -chardev "file,id=con,path=$out/console.log" -serial chardev:con </dev/null \
            || log "qemu exited $? (attempt $attempt)"
        grep -q '^@@memphys-begin' "$out/console.log" && return 0
        log "the guest died before the probe ran (attempt $attempt):"
        tail -n 20 "$out/console.log" | sed 's/^/    /' >&2
    done
    return 1
}

# Lines of OUT/console.log between marker lines $2 and $3 (exclusive).
console_section() {
    tr -d '\r' <"$1/console.log" | sed -n "/^$2/,/^$3/p" | sed '1d;$d'
}

run_layout() {
    local name=$1 out=$2/$1 kver root kdir ko initrd rc summary ran clean
    layout "$name"
    PASSED=0 FAILED=0
    mkdir -p "$out"
    rm -f "$out"/{console.log,dmesg.txt,probe.log}
    kver=$(kernel_resolve "$L_KERNEL")
    root=$(kernel_fetch "$kver" "$L_KERNEL")
    kdir=$(i386_headers "$L_KERNEL")
    echo "=== layout $name: $kver on $L_QEMU, $L_MEM guest, $L_CMDLINE, region 1G@$L_BASE"
    if ! ko=$(build_module "$kver" "$kdir" "$out/build.log"); then
        row 1 "build: memphys.ko for $kver with W=1 and sparse (log: $out/build.log)"
        echo "layout $name: $PASSED passed, $FAILED failed"
        return
    fi
    row 0 "build: memphys.ko for $kver, W=1 and sparse clean"
    initrd=$(make_initramfs "$out" "$ko")
    if boot "$out" "$(kernel_boot_image "$kver" "$root")" "$initrd"; then
        console_section "$out" @@memphys-begin @@memphys-rc | tee "$out/probe.log"
        console_section "$out" @@dmesg-begin @@dmesg-end >"$out/dmesg.txt"
        rc=$(tr -d '\r' <"$out/console.log" | sed -n 's/^@@memphys-rc //p')
        summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out/probe.log" | tail -n 1 || true)
        ran=1 clean=0
        [[ -n $summary && -n $rc ]] && ran=0
        klog_scan "$out/dmesg.txt" || clean=1
        row "$ran" "guest: the probe ran to its summary (exit ${rc:-none})"
        PASSED=$((PASSED + $(grep -c '^ok - ' "$out/probe.log" || true)))
        FAILED=$((FAILED + $(grep -c '^FAIL - ' "$out/probe.log" || true)))
        row "$clean" "guest kernel log: no WARNING/BUG/Oops/taint"
    else
        row 1 "guest: boot of $kver (console: $out/console.log)"
    fi
    echo "layout $name: $PASSED passed, $FAILED failed"
}

main() {
    local out="" name failed=0
    local -a names=()
    while [[ $# -gt 0 ]]; do
        case $1 in
            --out)     [[ $# -ge 2 ]] || die "--out needs a value"; out=$2; shift 2 ;;
            -h|--help) usage; exit 0 ;;
            *)         layout "$1"; names+=("$1"); shift ;;
        esac
    done
    [[ ${#names[@]} -gt 0 ]] || names=("${LAYOUTS[@]}")
    out=$(realpath -m "${out:-$CACHE_DIR/vm-runs/i386-$(date +%Y%m%d-%H%M%S)-$$}")
    need_cmd qemu-system-i386 qemu-system-x86_64 cpio gzip timeout
    make -s -C "$REPO_ROOT/tests/native" i386
    VM_SMP=1
    choose_accel
    for name in "${names[@]}"; do
        run_layout "$name" "$out"
        [[ $FAILED -eq 0 ]] || failed=1
    done
    log "outputs in $out"
    return "$failed"
}

main "$@"; exit
