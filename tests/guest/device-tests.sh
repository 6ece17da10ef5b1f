#!/usr/bin/env bash
# Runs inside the guest (via tests/vm/run-in-vm.sh): the device tests of one
# xunit trait filter (default Category=Device) against the loaded memphys
# module, with the report written to the output share.
#   tests/guest/device-tests.sh TEST_DLL|TEST_EXECUTABLE [TRAIT=VALUE]
set -euo pipefail
dll=$1 filter=${2:-Category=Device}
test -e /dev/memphys0 || { echo "device-tests: /dev/memphys0 missing: memphys did not load" >&2; exit 1; }
# A .dll runs on the host's dotnet; anything else is a self-contained test
# executable (the linux-arm64 publish of the arm64 guests).
case $dll in
    *.dll) exec dotnet "$dll" -trait "$filter" -xml "$MEMPHYS_OUT/device-tests.xml" ;;
    *)     exec "$dll" -trait "$filter" -xml "$MEMPHYS_OUT/device-tests.xml" ;;
esac
