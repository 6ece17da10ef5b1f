#!/usr/bin/env bash
# Record Memphys.Core's public API (`make api-baseline`): the public-API
# analyzers' code fix (dotnet format, RS0016) rewrites the whole surface into
# PublicAPI.Unshipped.txt; the lines that were shipped go back to
# PublicAPI.Shipped.txt, so Unshipped holds exactly what is new, and what was
# removed disappears from both.  (The code fix only runs reliably from empty
# files, hence the round trip.)
set -euo pipefail
DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/Memphys.Core" && pwd)
SHIPPED=$DIR/PublicAPI.Shipped.txt UNSHIPPED=$DIR/PublicAPI.Unshipped.txt
old=$(mktemp)
trap 'rm -f "$old"' EXIT
tail -n +2 "$SHIPPED" >"$old"
echo '#nullable enable' >"$SHIPPED"
echo '#nullable enable' >"$UNSHIPPED"
dotnet format analyzers "$DIR/Memphys.Core.csproj" --diagnostics RS0016 --severity warn -v q
now=$(tail -n +2 "$UNSHIPPED" | LC_ALL=C sort -u)
{ echo '#nullable enable'; LC_ALL=C comm -12 <(echo "$now") <(LC_ALL=C sort -u "$old"); } >"$SHIPPED"
{ echo '#nullable enable'; LC_ALL=C comm -23 <(echo "$now") <(LC_ALL=C sort -u "$old"); } >"$UNSHIPPED"
echo "public API: $(($(wc -l <"$SHIPPED") - 1)) shipped, $(($(wc -l <"$UNSHIPPED") - 1)) new (PublicAPI.Unshipped.txt)"
