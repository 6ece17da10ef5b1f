#!/usr/bin/env bash
# Turns xunit v3 XML reports (the in-process runner's `-xml FILE`) into one plain line:
#   N passed, N failed, N skipped
# Usage: tests/summarize-results.sh [--require-ran] REPORT.xml [REPORT.xml ...]
#   --require-ran   also fail (exit 1) when no test executed, i.e. every test was skipped or none exists
#                   (use it for the guest's device run: all-skipped means the device was not there).
# Exit status: 0 when no test failed (and, with --require-ran, at least one passed); 1 otherwise; 2 on usage.
# Failed test names are listed before the summary line.
set -euo pipefail
# shellcheck source=vm/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/vm/lib.sh"

require_ran=0
if [[ ${1:-} == --require-ran ]]; then require_ran=1; shift; fi
(($# > 0)) || { echo "usage: $0 [--require-ran] REPORT.xml..." >&2; exit 2; }

skipped=0
for f in "$@"; do
    [[ -r $f ]] || { echo "summarize-results: $f: not readable" >&2; exit 2; }
    read -r _ passed failed skips <<<"$(xunit_counts "$f" || echo 0 0 0 0)"
    tally "$passed" "$failed"
    skipped=$((skipped + skips))
    xunit_failures "$f"
done
echo "$PASSED passed, $FAILED failed, $skipped skipped"
((FAILED == 0)) || exit 1
if ((require_ran)) && ((PASSED == 0)); then
    echo "summarize-results: no test passed (all $skipped skipped?)" >&2
    exit 1
fi
