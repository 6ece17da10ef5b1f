#!/bin/busybox sh
# /init of the 32-bit test guests (tests/vm/run-i386.sh): i386 busybox, the
# module and the static probe are all in the initramfs.  Loads memphys.ko on
# the region of /etc/memphys.conf, runs the probe's region-check on it and
# prints everything on the console between markers that the host parses.

/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox --install -s
export PATH=/bin:/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
. /etc/memphys.conf

# Where the region sits in this kernel's view of memory.
describe() {
    echo "info: kernel $(uname -r) $(uname -m), cmdline: $(cat /proc/cmdline)"
    grep -E '^(MemTotal|LowTotal|HighTotal):' /proc/meminfo | sed 's/^/info: /'
    grep -iE 'reserved|memphys' /proc/iomem | sed 's/^/info: iomem /'
}

run() {
    describe
    insmod /memphys.ko "regions=$REGIONS" || return 125
    /memphys-probe region-check /dev/memphys0 "$REGION_BASE" "$REGION_SIZE"
}

echo "@@memphys-begin"
run 2>&1
rc=$?
echo "@@memphys-rc $rc"
echo "@@dmesg-begin"
dmesg
echo "@@dmesg-end"
sync
poweroff -f
echo o >/proc/sysrq-trigger
sleep 10
