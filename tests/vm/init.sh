#!/bin/busybox sh
# /init of the memphys test VM initramfs (busybox ash).
#
# Mounts the host's / (9p, read-only) under a tmpfs overlay, mounts the per-run
# output share at $OUT_MNT, optionally loads memphys.ko, runs the command that
# the host wrote to <out>/.vm/command.sh, records the results and powers off.
# A command may boot the guest again without powering off (kexec, or a warm
# reset where run-in-vm.sh --allow-reset lets QEMU reset): the next boot runs it
# again as phase N (MEMPHYS_VM_PHASE), N taken from memphys_vm.phase=N on the
# kernel command line (kexec) or from <out>/.vm/next-phase (written before a
# reset, which boots the first command line again); its output is appended.

OUT_MNT=/mnt/memphys-out
NEWROOT=/newroot
P9OPTS=trans=virtio,version=9p2000.L,msize=512000

/bin/busybox mkdir -p /proc /sys /dev /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

say() { echo "memphys-vm-init: $*"; }

shutdown_now() {
    sync
    poweroff -f
    echo o >/proc/sysrq-trigger
    sleep 5
}

# Fatal error before the command started: leave no "started" marker, so the
# host may retry the boot.
die() {
    say "FATAL: $*"
    shutdown_now
}

mount_base() {
    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs devtmpfs /dev
}

load_modules() {
    local m
    for m in $(cat /etc/modules.order); do
        insmod "/lib/modules/$m" || die "insmod $m failed"
    done
}

mount_root() {
    mkdir -p /lower /rw "$NEWROOT"
    mount -t 9p -o "$P9OPTS,ro,cache=loose" hostroot /lower || die "cannot mount 9p hostroot"
    lower=/lower
    # An arm64 guest's user space (tests/vm/arm64.sh) above the host's root.
    if grep -q memphys_vm.archroot /proc/cmdline; then
        mkdir -p /arch
        mount -t 9p -o "$P9OPTS,ro,cache=loose" archroot /arch || die "cannot mount 9p archroot"
        lower=/arch:/lower
    fi
    mount -t tmpfs -o mode=0755 rw /rw
    mkdir -p /rw/upper /rw/work
    mount -t overlay overlay -o "lowerdir=$lower,upperdir=/rw/upper,workdir=/rw/work" "$NEWROOT" \
        || die "cannot mount overlay root"
    mkdir -p "$NEWROOT$OUT_MNT"
    mount -t 9p -o "$P9OPTS" out "$NEWROOT$OUT_MNT" || die "cannot mount 9p out share"
    mount -t proc proc "$NEWROOT/proc"
    mount -t sysfs sysfs "$NEWROOT/sys"
    mount -o bind /dev "$NEWROOT/dev"
    mkdir -p "$NEWROOT/dev/pts" "$NEWROOT/dev/shm"
    mount -t devpts devpts "$NEWROOT/dev/pts"
    mount -t tmpfs -o mode=1777 shm "$NEWROOT/dev/shm"
    # /tmp stays the overlay's: a checkout under the host's /tmp must be visible here.
    mount -t tmpfs -o mode=0755 run "$NEWROOT/run"
    [ -d /sys/kernel/debug ] && mount -t debugfs debugfs "$NEWROOT/sys/kernel/debug" 2>/dev/null
    mkdir -p "$NEWROOT/root"
}

write_result() { # started exit_code [error]
    local err=""
    [ -n "$3" ] && err=",\"error\":\"$3\""
    printf '{"started":%s,"exit_code":%s,"kernel":"%s"%s}\n' "$1" "$2" "$(uname -r)" "$err" \
        >"$OUT/result.json"
}

collect_logs() {
    dmesg >"$OUT/dmesg.txt"
}

mount_base
grep -q memphys_vm.selftest_die_early /proc/cmdline && die "selftest: simulated early boot failure"
load_modules
mount_root
OUT=$NEWROOT$OUT_MNT
[ -f "$OUT/.vm/config.sh" ] || die "no .vm/config.sh in the out share"
. "$OUT/.vm/config.sh"

if [ "$VM_LOAD_MODULE" = 1 ]; then
    say "insmod $VM_MODULE regions=$VM_REGIONS"
    if ! insmod "$NEWROOT$VM_MODULE" "regions=$VM_REGIONS"; then
        collect_logs
        write_result false 1 "insmod $VM_MODULE failed"
        say "insmod of $VM_MODULE failed"
        shutdown_now
    fi
fi

# The boot's phase: 1, or what the command arranged before it booted again.
phase=$(sed -n 's/.*memphys_vm\.phase=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
if [ -z "$phase" ] && [ -f "$OUT/.vm/next-phase" ]; then
    phase=$(cat "$OUT/.vm/next-phase")
    rm -f "$OUT/.vm/next-phase"
fi
if [ -z "$phase" ] && [ "$VM_ALLOW_RESET" = 1 ] && [ -f "$OUT/started" ]; then
    # A reset nobody asked for (a panic with panic=-1): stop instead of looping.
    collect_logs
    write_result true 125 "guest reset without <out>/.vm/next-phase"
    say "unexpected reset; powering off"
    shutdown_now
fi
phase=${phase:-1}
tee_opt=""
[ "$phase" = 1 ] || tee_opt=-a

cut -d" " -f1 /proc/uptime >"$OUT/started"
say "running command (phase $phase)"
{
    chroot "$NEWROOT" /usr/bin/env -i "MEMPHYS_VM_PHASE=$phase" /bin/bash "$OUT_MNT/.vm/command.sh" </dev/null 2>&1
    echo $? >/rc
} | tee $tee_opt "$OUT/command.log"
rc=$(cat /rc)
say "command exited with $rc"
collect_logs
write_result true "$rc"
sync
umount "$NEWROOT$OUT_MNT"
shutdown_now
