#!/usr/bin/env bash
# Checks of the device-tree binding document and its overlay:
#   dt-doc-validate of driver/Documentation/devicetree/bindings/memphys.yaml,
#   its example compiled and checked against it by dt-validate, and the
#   example overlay compiled by dtc without a warning.
# Prints one line per check and "N passed, N failed"; exits 1 on a failure.
set -euo pipefail
# shellcheck source=../vm/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../vm/lib.sh"

BINDINGS=$REPO_ROOT/driver/Documentation/devicetree/bindings
PASSED=0 FAILED=0

# check NAME COMMAND...: runs COMMAND; its output fails the check too.
check() {
    local name=$1 out status=0
    shift
    out=$("$@" 2>&1) || status=$?
    if [[ $status -eq 0 && -z $out ]]; then
        echo "ok - $name"; PASSED=$((PASSED + 1))
    else
        echo "FAIL - $name"; sed 's/^/    /' <<<"$out"; FAILED=$((FAILED + 1))
    fi
}

# The binding's examples, each wrapped in a root node as the kernel's
# dt_binding_check does.
example_dts() {
    python3 - "$BINDINGS/memphys.yaml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
print('/dts-v1/;\n/ {\n    #address-cells = <2>;\n    #size-cells = <2>;\n    model = "example";\n    compatible = "example";')
for example in doc['examples']:
    print(example)
print('};')
PY
}

validate_example() {
    local dir=$1
    example_dts >"$dir/example.dts"
    dtc -q -I dts -O dtb -o "$dir/example.dtb" "$dir/example.dts"
    mkdir -p "$dir/schemas"
    cp "$BINDINGS/memphys.yaml" "$dir/schemas/"
    dt-mk-schema -j -o "$dir/processed.json" "$dir/schemas"
    # Only the memphys node's findings: the wrapper root is no real board.
    dt-validate -s "$dir/processed.json" "$dir/example.dtb" 2>&1 | grep -A3 -i memphys || true
}

main() {
    need_cmd dtc dt-doc-validate dt-mk-schema dt-validate python3
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
    check "dt-doc-validate memphys.yaml" dt-doc-validate -u "$BINDINGS" "$BINDINGS/memphys.yaml"
    check "dt-validate: the binding's example matches it" validate_example "$WORK"
    check "dtc: memphys-example.dtso compiles without warnings" \
        dtc -@ -I dts -O dtb -o "$WORK/memphys.dtbo" "$BINDINGS/memphys-example.dtso"
    echo "$PASSED passed, $FAILED failed"
    [[ $FAILED -eq 0 ]]
}

main "$@"
