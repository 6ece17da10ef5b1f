# shellcheck shell=bash
# Common helpers for the memphys QEMU test harness. Source, do not execute.

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
