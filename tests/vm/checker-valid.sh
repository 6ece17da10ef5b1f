#!/bin/sh
# Stand-in for the kernel's scripts/checker-valid.sh, which Debian's
# linux-kbuild-7.x does not ship (without it, C=1 silently skips sparse).
# Prints 1 when the checker ("$@", e.g. sparse -m64 ...) parses what 7.x
# headers use (__typeof_unqual__) without an error, else 0.
command -v "$1" >/dev/null 2>&1 || { echo 0; exit 0; }
src=$(mktemp --suffix=.c)
trap 'rm -f "$src"' EXIT
echo 'int f(const int *p) { __typeof_unqual__(*p) v = *p; return v; }' >"$src"
if "$@" "$src" 2>&1 | grep -q error; then echo 0; else echo 1; fi
