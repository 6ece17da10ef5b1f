#!/usr/bin/env bash
# Build the samples against the packed Memphys.Core (`make pack`), as a user's project does: the only package
# source is the folder of .nupkg files, and a packages folder of their own (removed first) so that a package
# re-packed under the same version is not taken from the user-wide cache.
#   tests/vm/build-sample.sh NUPKG_DIR
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
NUPKG=$(realpath "${1:?usage: tests/vm/build-sample.sh NUPKG_DIR}")
PACKAGES=$ROOT/samples/.packages
CONFIGURATION=${CONFIGURATION:-Release}

VERSION=$(tr -d '[:space:]' <"$ROOT/VERSION")
PACKAGE=$NUPKG/Memphys.Core.$VERSION.nupkg
[[ -f $PACKAGE ]] || { echo "sample: no $PACKAGE (run make pack)" >&2; exit 1; }
rm -rf "$PACKAGES" "$ROOT"/samples/MapFillVerify/{bin,obj}
dotnet build "$ROOT/samples/MapFillVerify/MapFillVerify.csproj" -c "$CONFIGURATION" -nologo -v q \
    --source "$NUPKG" --packages "$PACKAGES"
# It must have used the package, not a project of the tree.
grep -q "\"Memphys.Core/$VERSION\"" "$ROOT/samples/MapFillVerify/obj/project.assets.json"
echo "sample: samples/MapFillVerify built against ${PACKAGE#"$ROOT"/}"
