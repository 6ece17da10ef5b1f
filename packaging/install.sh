#!/usr/bin/env bash
# Install or remove memphys on this machine (`make install` / `make uninstall`, as root):
#   - the module: through DKMS when `dkms` is present (rebuilt for every kernel),
#     else a plain modules_install for KVER; depmod afterwards,
#   - the udev rule (group memphys, mode 0660) and the modprobe.d file,
#   - the single-file CLI as $PREFIX/bin/memphys.
#
#   packaging/install.sh install|uninstall
# Environment: KVER (default: the running kernel), PREFIX (/usr/local),
# REGIONS (e.g. 1G@0x100000000: writes an active `options memphys regions=`
# line and loads the module at boot), CLI (the published CLI file),
# MEMPHYS_NO_DKMS=1 (plain modules_install even when dkms is present).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
KVER=${KVER:-$(uname -r)}
PREFIX=${PREFIX:-/usr/local}
REGIONS=${REGIONS:-}
CLI=${CLI:-$ROOT/managed/publish/memphys}
NAME=memphys
GROUP=memphys
UDEV_RULE=/etc/udev/rules.d/60-memphys.rules
MODPROBE_CONF=/etc/modprobe.d/memphys.conf
MODULES_LOAD_CONF=/etc/modules-load.d/memphys.conf

say() { printf 'memphys-install: %s\n' "$*"; }
die() { say "error: $*" >&2; exit 1; }

# The one version of memphys (VERSION): the module's MODULE_VERSION, the DKMS
# package's and the NuGet packages'.
driver_version() {
    local version
    version=$(tr -d '[:space:]' <"$ROOT/VERSION")
    [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || die "VERSION holds '$version', not a version"
    echo "$version"
}

use_dkms() { [[ ${MEMPHYS_NO_DKMS:-0} != 1 ]] && command -v dkms >/dev/null; }

# Copy the driver sources (no build outputs) to DEST.
copy_sources() {
    local dest=$1
    rm -rf "$dest"
    mkdir -p "$dest"
    cp -r "$ROOT"/driver/{Kbuild,Makefile,LICENSE,include} "$ROOT"/driver/*.[ch] "$ROOT/VERSION" "$dest/"
    sed "s/@VERSION@/$(driver_version)/" "$ROOT/driver/dkms.conf" >"$dest/dkms.conf"
}

# Forget every kernel's build of VERSION (idempotent).
dkms_forget() {
    local version=$1
    if dkms status -m "$NAME" -v "$version" 2>/dev/null | grep -q .; then
        dkms remove -m "$NAME" -v "$version" --all
    fi
}

install_module_dkms() {
    local version=$1 src=/usr/src/$NAME-$1
    dkms_forget "$version"
    copy_sources "$src"
    dkms add -m "$NAME" -v "$version"
    dkms build -m "$NAME" -v "$version" -k "$KVER"
    dkms install -m "$NAME" -v "$version" -k "$KVER"
}

install_module_plain() {
    local kdir=/lib/modules/$KVER/build
    [[ -d $kdir ]] || die "no kernel headers at $kdir (install linux-headers-$KVER)"
    make -C "$ROOT/driver" KDIR="$kdir" modules
    make -C "$kdir" M="$ROOT/driver" modules_install
}

install_module() {
    local version
    version=$(driver_version)
    if use_dkms; then
        say "module $version through DKMS for $KVER"
        install_module_dkms "$version"
    else
        say "module $version for $KVER (no dkms: plain modules_install, rebuild after kernel updates)"
        install_module_plain
    fi
    depmod -a "$KVER"
}

udevd_running() { command -v udevadm >/dev/null && udevadm control --ping >/dev/null 2>&1; }

install_udev_rule() {
    getent group "$GROUP" >/dev/null || groupadd --system "$GROUP"
    install -D -m 0644 "$ROOT/packaging/60-memphys.rules" "$UDEV_RULE"
    say "udev rule $UDEV_RULE (root:$GROUP 0660)"
    if udevd_running; then
        udevadm control --reload
        udevadm trigger --action=change --subsystem-match=misc --sysname-match="$NAME*"
        # Device-tree regions with a name of their own: every memphys node has sysfs "source".
        udevadm trigger --action=change --subsystem-match=misc --attr-match=source
        udevadm settle
    fi
}

install_modprobe_conf() {
    if [[ -n $REGIONS ]]; then
        [[ $REGIONS =~ ^[0-9A-Za-z@,]+$ ]] || die "REGIONS='$REGIONS' is not SIZE@BASE[,SIZE@BASE...]"
        { cat "$ROOT/packaging/memphys.conf"; echo "options $NAME regions=$REGIONS"; } >"$MODPROBE_CONF"
        echo "$NAME" >"$MODULES_LOAD_CONF"
        say "$MODPROBE_CONF: options $NAME regions=$REGIONS; loaded at boot ($MODULES_LOAD_CONF)"
    elif [[ ! -e $MODPROBE_CONF ]]; then
        install -m 0644 "$ROOT/packaging/memphys.conf" "$MODPROBE_CONF"
        say "$MODPROBE_CONF: example only (set regions= there, or make install REGIONS=SIZE@BASE)"
    else
        say "$MODPROBE_CONF exists: left as it is"
    fi
}

install_cli() {
    [[ -x $CLI ]] || die "$CLI missing: run 'make publish' (as the building user) first"
    install -D -m 0755 "$CLI" "$PREFIX/bin/memphys"
    say "CLI $PREFIX/bin/memphys"
}

uninstall_module() {
    local version
    version=$(driver_version)
    if use_dkms; then
        dkms_forget "$version"
        rm -rf "/usr/src/$NAME-$version"
    fi
    find "/lib/modules/$KVER" -name "$NAME.ko*" -delete 2>/dev/null || true
    depmod -a "$KVER"
}

main() {
    [[ $(id -u) -eq 0 ]] || die "run as root (sudo make ${1:-install})"
    case ${1:-} in
        install)
            install_module
            install_udev_rule
            install_modprobe_conf
            install_cli ;;
        uninstall)
            uninstall_module
            rm -f "$UDEV_RULE" "$MODPROBE_CONF" "$MODULES_LOAD_CONF" "$PREFIX/bin/memphys"
            say "removed (group $GROUP kept; rmmod $NAME if it is loaded)" ;;
        *)
            die "usage: packaging/install.sh install|uninstall" ;;
    esac
}

main "$@"
