# shellcheck shell=bash
# The 32-bit x86 parts of the harness: Debian's 686 / 686-pae kernels and
# their headers, the module built for them, and an i386 user space (busybox
# and the static probe) in an initramfs.  Source after kernel.sh.

I386_SUITE=bookworm-i386
I386_BUILD_DIR=${I386_BUILD_DIR:-$REPO_ROOT/build/i386}

# Download PKG... from the i386 suite and unpack them into DIR/root (once).
i386_unpack() { suite_unpack "$I386_SUITE" "$@"; }

# Unpack the headers of i386 KERNEL (+ their -common tree and the amd64
# kbuild tools of the same version), pinned in kernels.conf, and print the
# KDIR to build against.  Their Makefile includes the -common one by an
# absolute /usr/src path.
i386_headers() {
    local kver version dir kdir
    kver=$(kernel_pin "$1" kver)
    version=$(kernel_pin "$1" version)
    dir=$CACHE_DIR/kernels/$kver/headers
    kdir=$dir/root/usr/src/linux-headers-$kver
    if [[ ! -f $dir/root/.unpacked ]]; then
        i386_unpack "$dir" "linux-headers-$kver:i386=$version" \
            "linux-headers-${kver%-686*}-common=$version" "linux-kbuild-${kver%%.0-*}:amd64=$version"
        sed -i "s,^include /usr/src/,include $dir/root/usr/src/," "$kdir/Makefile"
    fi
    [[ -f $kdir/Makefile && -x $kdir/scripts/basic/fixdep ]] || die "incomplete headers in $kdir"
    echo "$kdir"
}

# Print the path of Debian's i386 busybox-static (downloaded once).
i386_busybox() {
    local dir=$CACHE_DIR/i386/busybox-static
    i386_unpack "$dir" busybox-static:i386
    echo "$dir/root/bin/busybox"
}
