#!/usr/bin/env bash
# trinity, the kernel's system-call fuzzer, aimed at memphys.  Runs INSIDE
# the guest:
#     make fuzz-trinity   (= tests/vm/run-in-vm.sh --kernel 6.1 -- tests/guest/trinity.sh)
# trinity opens its victim files (-V: copies of the device nodes only) and calls the
# system calls that reach a character device's file and mapping operations
# with random and boundary arguments from TRINITY_CHILDREN processes, for
# TRINITY_SECONDS, seeded with TRINITY_SEED (printed: a failure is rerun with
# it).  The guest is thrown away, so trinity runs as root (--dangerous), but
# only the listed calls: no reboot, kill or unlink of the host's files (the
# host's / is read-only in the guest anyway).  The verdict is the harness's:
# the guest kernel log must stay free of WARN/BUG/Oops (run-in-vm.sh scans it),
# and the module must still unload.
set -euo pipefail

seconds=${TRINITY_SECONDS:-180}
seed=${TRINITY_SEED:-$RANDOM}
children=${TRINITY_CHILDREN:-2}
devices=(/dev/memphys*)
syscalls=(open close read write pread64 pwrite64 readv writev lseek ioctl fcntl mmap munmap mremap mprotect
    madvise msync mincore mlock munlock fork splice vmsplice)

[[ -e ${devices[0]} ]] || { echo "trinity: no /dev/memphys*: run me in the guest (make fuzz-trinity)" >&2; exit 1; }
command -v trinity >/dev/null || { echo "trinity: not installed (tests/vm/deps.sh installs it)" >&2; exit 1; }

# trinity takes one victim path and walks it: a directory with copies of the
# device nodes (cp -a copies the node, not the memory behind it).
work=$(mktemp -d)
mkdir "$work/victims"
cp -a "${devices[@]}" "$work/victims/"
# No sockets: building their cache crashes trinity 2023.01 in the guest (no
# network); no perf, DRM or test files: only what reaches memphys matters.
args=(--dangerous -q -l off -s "$seed" -C "$children" -V "$work/victims"
    --disable-fds=sockets,perf,drm,testfile)
for c in "${syscalls[@]}"; do args+=(-c "$c"); done
echo "trinity: seed $seed, $seconds s, $children children, victims ${devices[*]}"
cd "$work"
status=0
timeout --signal=INT --kill-after=30 "$seconds" trinity "${args[@]}" || status=$?
# timeout's 124 is the planned end; anything else is trinity's own exit.
echo "trinity: exit $status (124: stopped after $seconds s as planned)"
[[ $status == 0 || $status == 124 ]] || exit 1
rmmod memphys
echo "trinity: memphys unloaded after the run"
