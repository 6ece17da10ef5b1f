#!/usr/bin/env bash
# Checks of the device-tree binding document and its overlay:
#   dt-doc-validate of driver/Documentation/devicetree/bindings/memphys.yaml,
#   its example compiled and checked against it by dt-validate, and the
#   example overlay compiled by dtc without a warning.
# Prints one PASS/FAIL line per check and "N passed, N failed"; exits 1 on a
# failure.
set -euo pipefail
# shellcheck source=../vm/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../vm/lib.sh"

BINDINGS=$REPO_ROOT/driver/Documentation/devicetree/bindings

# silent COMMAND...: COMMAND succeeds and prints nothing (dtc and dt-validate
# report findings as warnings, with exit status 0).
silent() {
    local out
    out=$("$@" 2>&1) || { echo "$out"; return 1; }
    [[ -z $out ]] || { echo "$out"; return 1; }
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

# dt-validate's findings on the memphys node of the examples (the wrapper
# root is no real board): none.
validate_example() {
    local dir=$1
    example_dts >"$dir/example.dts"
    dtc -q -I dts -O dtb -o "$dir/example.dtb" "$dir/example.dts"
    mkdir -p "$dir/schemas"
    cp "$BINDINGS/memphys.yaml" "$dir/schemas/"
    dt-mk-schema -j -o "$dir/processed.json" "$dir/schemas"
    ! dt-validate -s "$dir/processed.json" "$dir/example.dtb" 2>&1 | grep -A3 -i memphys
}

main() {
    need_cmd dtc dt-doc-validate dt-mk-schema dt-validate python3
    CHECK_LOGS=$(mktemp -d)
    trap 'rm -rf "$CHECK_LOGS"' EXIT
    check dt-doc-validate silent dt-doc-validate -u "$BINDINGS" "$BINDINGS/memphys.yaml"
    check dt-validate-example validate_example "$CHECK_LOGS"
    check dtc-overlay silent dtc -@ -I dts -O dtb -o "$CHECK_LOGS/memphys.dtbo" "$BINDINGS/memphys-example.dtso"
    summary
}

main "$@"
