#!/usr/bin/env bash
# Runs inside the guest (via tests/vm/run-in-vm.sh): the device tests against
# the loaded memphys module, with the report written to the output share.
set -euo pipefail
dll=$1
test -e /dev/memphys0 || { echo "guest-tests: /dev/memphys0 missing: memphys did not load" >&2; exit 1; }
exec dotnet "$dll" -trait Category=Device -xml "$MEMPHYS_OUT/device-tests.xml"
