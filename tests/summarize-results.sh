#!/usr/bin/env bash
# Turns xunit v3 XML reports (the in-process runner's `-xml FILE`) into one plain line:
#   N passed, N failed, N skipped
# Usage: tests/summarize-results.sh [--require-ran] REPORT.xml [REPORT.xml ...]
#   --require-ran   also fail (exit 1) when no test executed, i.e. every test was skipped or none exists
#                   (use it for the guest's device run: all-skipped means the device was not there).
# Exit status: 0 when no test failed (and, with --require-ran, at least one passed); 1 otherwise; 2 on usage.
# Failed test names are listed before the summary line.
set -euo pipefail
require_ran=0
if [[ ${1:-} == --require-ran ]]; then require_ran=1; shift; fi
(($# > 0)) || { echo "usage: $0 [--require-ran] REPORT.xml..." >&2; exit 2; }

passed=0 failed=0 skipped=0 errors=0
attr() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$2"; }
for f in "$@"; do
    [[ -r $f ]] || { echo "summarize-results: $f: not readable" >&2; exit 2; }
    while IFS= read -r tag; do
        passed=$((passed + $(attr passed "$tag")))
        failed=$((failed + $(attr failed "$tag")))
        skipped=$((skipped + $(attr skipped "$tag")))
        errors=$((errors + $(attr errors "$tag")))
    done < <(grep -o '<assembly [^>]*>' "$f")
    # Names of failed tests.
    grep -o '<test [^>]*result="Fail"[^>]*>' "$f" | sed -n 's/.* name="\([^"]*\)".*/FAILED: \1/p' || true
done
failed=$((failed + errors))
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0)) || exit 1
if ((require_ran)) && ((passed == 0)); then
    echo "summarize-results: no test passed (all $skipped skipped?)" >&2
    exit 1
fi
