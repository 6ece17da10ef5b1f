#!/usr/bin/env bash
# Print the bin directory of the arm64 cross compiler (aarch64-linux-gnu-*),
# unpacked into the cache on first use (tests/vm/kernel.sh: arm64_cross_bin).
set -euo pipefail
# shellcheck source=kernel.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/kernel.sh"
arm64_cross_bin
