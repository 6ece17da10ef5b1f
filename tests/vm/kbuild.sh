#!/usr/bin/env bash
# Build an out-of-tree module against one kernel of the test matrix:
#   tests/vm/kbuild.sh KERNEL DIR [MAKE ARGS...]
# runs `make -C DIR KDIR=<that kernel's headers> MAKE ARGS...`, inside the
# kernel's build chroot when kernels.conf says so (7.x: gcc-16, newer glibc).
set -euo pipefail
# shellcheck source=kernel.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/kernel.sh"

[[ $# -ge 2 ]] || die "usage: tests/vm/kbuild.sh KERNEL DIR [MAKE ARGS...]"
kernel=$1 dir=$(realpath "$2")
shift 2
kbuild_make "$kernel" "$dir" "$@"
