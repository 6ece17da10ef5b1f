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

LAYOUTS=(686 686-pae)
I386_SUITE=$(kernel_pin 6.1-686 suite)
I386_BUILD_DIR=${I386_BUILD_DIR:-$REPO_ROOT/build/i386}

usage() {
    cat <<USAGE
usage: tests/vm/run-i386.sh [--out DIR] [LAYOUT...]

Layouts (default: all):
  686      non-PAE 686 kernel, 2 GiB (+128 MiB) guest, mem=1G memmap=1G\$0x40000000:
           the reserved GiB at 0x40000000 is entirely highmem
  686-pae  686-pae kernel, 6 GiB guest, memmap=1G\$0x100000000: the reserved
           GiB lies above 4 GiB
Prints the checks of each layout and "N passed, N failed" over all of them;
exits 1 if any check failed.  VM_TIMEOUT (default 600 s) bounds each boot
(VM_RETRIES more boots when the guest dies before the probe, as run-in-vm.sh),
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

# Build memphys.ko for KERNEL with W=1 and sparse (driver/Makefile's check,
# through kbuild.sh) from a copy of driver/: the 64-bit driver/memphys.ko
# stays untouched.  Prints the module's path.
build_module() {
    local kernel=$1 log=$2 dir=$I386_BUILD_DIR/$1
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -r "$REPO_ROOT/driver/." "$REPO_ROOT/VERSION" "$dir/"
    make -s -C "$dir" clean
    "$VM_DIR/kbuild.sh" "$kernel" "$dir" check >"$log" 2>&1 \
        || { grep -E 'warning:|error:' "$log" | head -n 20 >&2 || tail -n 20 "$log" >&2; return 1; }
    grep -q ' CHECK ' "$log" || { log "sparse did not run (see $log)"; return 1; }
    echo "$dir/memphys.ko"
}

# Debian's i386 busybox-static (downloaded once).
i386_busybox() {
    local dir=$CACHE_DIR/i386/busybox-static
    unpack_once "$dir" "$I386_SUITE" busybox-static:i386 || die "cannot download busybox-static:i386"
    echo "$dir/root/bin/busybox"
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

# One boot (of boot_with_retries) of L_IMAGE with L_INITRD; the console
# (all the guest reports) goes to L_OUT/console.log.
boot_once() {
    local attempt=$1
    timeout --foreground -k 10 "${VM_TIMEOUT:-600}" "$L_QEMU" -nodefaults \
        -no-user-config -display none -no-reboot -machine q35 "${ACCEL_ARGS[@]}" \
        -m "$L_MEM" -smp 1 -kernel "$L_IMAGE" -initrd "$L_INITRD" \
        -append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init $L_CMDLINE" \
        -chardev "file,id=con,path=$L_OUT/console.log" -serial chardev:con </dev/null \
        || log "qemu exited $? (attempt $attempt)"
    OUTCOME="done"
    grep -q '^@@memphys-begin' "$L_OUT/console.log" && return 0
    OUTCOME=retry
    log "the guest died before the probe ran (attempt $attempt):"
    tail -n 20 "$L_OUT/console.log" | sed 's/^/    /' >&2
}

# Lines of OUT/console.log between marker lines $2 and $3 (exclusive).
console_section() {
    tr -d '\r' <"$1/console.log" | sed -n "/^$2/,/^$3/p" | sed '1d;$d'
}

# The probe's report in L_OUT: its rows, and one check each that it ran to
# its summary and that the kernel log stayed clean.
tally_probe() {
    local out=$L_OUT rc ran=1 clean=0
    console_section "$out" @@memphys-begin @@memphys-rc | tee "$out/probe.log"
    console_section "$out" @@dmesg-begin @@dmesg-end >"$out/dmesg.txt"
    rc=$(tr -d '\r' <"$out/console.log" | sed -n 's/^@@memphys-rc //p')
    [[ -n $rc ]] && result_counts "$out/probe.log" >/dev/null && ran=0
    verdict "$ran" "guest: the probe ran to its summary (exit ${rc:-none})"
    # Every row: the probe's summary leaves out those of its forked child.
    tally "$(grep -c '^ok - ' "$out/probe.log" || true)" "$(grep -c '^FAIL - ' "$out/probe.log" || true)"
    klog_scan "$out/dmesg.txt" || clean=1
    verdict "$clean" "guest kernel log: no WARNING/BUG/Oops/taint"
}

run_layout() {
    local name=$1 kver root ko
    layout "$name"
    L_OUT=$2/$1
    mkdir -p "$L_OUT"
    rm -f "$L_OUT"/{console*.log,dmesg.txt,probe.log}
    kver=$(kernel_resolve "$L_KERNEL")
    root=$(kernel_fetch "$kver" "$L_KERNEL")
    echo "=== layout $name: $kver on $L_QEMU, $L_MEM guest, $L_CMDLINE, region 1G@$L_BASE"
    if ! ko=$(build_module "$L_KERNEL" "$L_OUT/build.log"); then
        verdict 1 "build: memphys.ko for $kver with W=1 and sparse (log: $L_OUT/build.log)"
    else
        verdict 0 "build: memphys.ko for $kver, W=1 and sparse clean"
        L_INITRD=$(make_initramfs "$L_OUT" "$ko")
        L_IMAGE=$(kernel_boot_image "$kver" "$root")
        boot_with_retries "$L_OUT/console.log" boot_once
        if [[ $OUTCOME == retry ]]; then
            verdict 1 "guest: boot of $kver (console: $L_OUT/console.log)"
        else
            tally_probe
        fi
    fi
}

main() {
    local out="" name
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
    for name in "${names[@]}"; do run_layout "$name" "$out"; done
    log "outputs in $out"
    summary
}

main "$@"; exit
