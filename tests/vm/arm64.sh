# shellcheck shell=bash
# shellcheck disable=SC2034,SC2054 # sets run-in-vm.sh's variables; QEMU options hold commas
# The arm64 parts of the harness, sourced by run-in-vm.sh for --arch arm64
# (after kernel.sh): the guest's user space, its device tree and its QEMU
# command line.
#
# The guest is qemu-system-aarch64 -M virt -cpu max (TCG).  Its root is the
# host's / (9p, read-only, as for x86) under ARM64_ROOT: a small arm64 user
# space (Debian's libc6, libgcc-s1, libstdc++6, libssl3, kmod and
# busybox-static, every program linked in the usual directories) that
# init.sh stacks above it, so that the arm64 programs shadow the host's and
# the repository keeps its path.  What runs there is self-contained (`make
# arm64`: the linux-arm64 publish of the test suite and CLI, the probe).
#
# Memory (-m 4G: RAM at 0x40000000-0x13fffffff):
#   mem=3G trims the top GiB off the kernel's RAM: regions=1G@0x100000000
#     (ARM64_REGIONS), what the suite reloads the module with, like x86's
#     memmap=1G$0x100000000;
#   a no-map /reserved-memory child of 256 MiB at 0xc0000000 and a
#     "memphys,region" node that points at it: the region found through the
#     device tree (ARM64_DT_BASE/SIZE), /dev/memphys1 next to regions=.

ARM64_SUITE=bookworm-arm64
ARM64_MEM=4G
ARM64_CMDLINE="mem=3G"
ARM64_REGIONS=1G@0x100000000
ARM64_DT_BASE=0xc0000000
ARM64_DT_SIZE=0x10000000
# libssl3: .NET's hashes (the xunit runner's) are OpenSSL's; kmod: an insmod
# that loads Debian's .ko.xz modules (busybox's cannot).
ARM64_PACKAGES=(libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64 libssl3:arm64 busybox-static:arm64
                kmod:arm64 liblzma5:arm64 libzstd1:arm64)
# Unpacked once per package list.
ARM64_ROOT=$CACHE_DIR/arm64/userland-$(echo "${ARM64_PACKAGES[*]}" | sha256sum | cut -c1-12)/root

# The arm64 user space, unpacked once into ARM64_ROOT.  Each program name is
# linked in every one of /bin, /sbin, /usr/bin and /usr/sbin, so that no x86
# program of the host with that name comes first on PATH: to the packages'
# own program where one has it (kmod's insmod, which reads .ko.xz), else to
# busybox (the host's applet list: the same Debian version and
# configuration).  bash, which busybox lacks, is its ash, enough for the
# harness's scripts.
arm64_root() {
    local name dir own
    local -a dirs=(bin sbin usr/bin usr/sbin)
    if [[ ! -f $ARM64_ROOT/.applets ]]; then
        unpack_once "$(dirname "$ARM64_ROOT")" "$ARM64_SUITE" "${ARM64_PACKAGES[@]}" \
            || die "cannot download ${ARM64_PACKAGES[*]} from $ARM64_SUITE"
        need_cmd busybox
        for dir in "${dirs[@]}"; do
            mkdir -p "$ARM64_ROOT/$dir"
            printf '#!/bin/sh\nexec /bin/sh "$@"\n' >"$ARM64_ROOT/$dir/bash"
            chmod 0755 "$ARM64_ROOT/$dir/bash"
        done
        while read -r name; do
            own=/bin/busybox
            for dir in "${dirs[@]}"; do
                [[ -e $ARM64_ROOT/$dir/$name || -L $ARM64_ROOT/$dir/$name ]] && own=/$dir/$name && break
            done
            for dir in "${dirs[@]}"; do
                [[ -e $ARM64_ROOT/$dir/$name || -L $ARM64_ROOT/$dir/$name ]] || ln -s "$own" "$ARM64_ROOT/$dir/$name"
            done
        done < <(busybox --list)
        mkdir -p "$ARM64_ROOT/root"
        touch "$ARM64_ROOT/.applets"
    fi
    echo "$ARM64_ROOT"
}

# The busybox of the arm64 initramfs.
arm64_busybox() { echo "$(arm64_root)/bin/busybox"; }

# The nodes added to QEMU's virt board tree (see the top).  ARM64_DT_CASES=1
# adds the device-tree cases of tests/guest/arm64-devicetree.sh: a wc buffer
# with a device name (/dev/fpga-wc), a no-map buffer asking for the pages
# method (/dev/fpga-pages, which memphys must give no struct pages: the
# buffer already has them), a dma-coherent node (/dev/fpga-coherent: no
# cache maintenance), a no-map buffer no node points at (a carve-out of
# "the firmware", which regions= must not take), and nodes memphys must
# refuse: a reusable (CMA) buffer, one without no-map, an unknown memory
# type, a device name of the default form (memphys7) and a second node
# named fpga-dup.
arm64_dt_nodes() {
    cat <<DTS

/ {
	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;

		memphys_buffer: buffer@${ARM64_DT_BASE#0x} {
			reg = <0x0 $ARM64_DT_BASE 0x0 $ARM64_DT_SIZE>;
			no-map;
		};
	};

	memphys {
		compatible = "memphys,region";
		memory-region = <&memphys_buffer>;
	};
};
DTS
    [[ ${ARM64_DT_CASES:-0} == 1 ]] || return 0
    cat <<'DTS'

/ {
	reserved-memory {
		memphys_wc: buffer@d0000000 {
			reg = <0x0 0xd0000000 0x0 0x1000000>;
			no-map;
		};

		memphys_cma: cma@d1000000 {
			compatible = "shared-dma-pool";
			reg = <0x0 0xd1000000 0x0 0x1000000>;
			reusable;
		};

		memphys_mapped: mapped@d2000000 {
			reg = <0x0 0xd2000000 0x0 0x1000000>;
		};

		memphys_pages: buffer@d4000000 {
			reg = <0x0 0xd4000000 0x0 0x1000000>;
			no-map;
		};

		memphys_dup_a: buffer@d5000000 {
			reg = <0x0 0xd5000000 0x0 0x100000>;
			no-map;
		};

		memphys_dup_b: buffer@d5100000 {
			reg = <0x0 0xd5100000 0x0 0x100000>;
			no-map;
		};

		memphys_coherent: buffer@d5200000 {
			reg = <0x0 0xd5200000 0x0 0x100000>;
			no-map;
		};

		firmware_carveout: buffer@d5300000 {
			reg = <0x0 0xd5300000 0x0 0x100000>;
			no-map;
		};
	};

	memphys-wc {
		compatible = "memphys,region";
		memory-region = <&memphys_wc>;
		memphys,memory-type = "wc";
		memphys,device-name = "fpga-wc";
	};

	memphys-cma {
		compatible = "memphys,region";
		memory-region = <&memphys_cma>;
	};

	memphys-mapped {
		compatible = "memphys,region";
		memory-region = <&memphys_mapped>;
	};

	memphys-pages {
		compatible = "memphys,region";
		memory-region = <&memphys_pages>;
		memphys,pages;
		memphys,device-name = "fpga-pages";
	};

	memphys-bad-type {
		compatible = "memphys,region";
		memory-region = <&memphys_wc>;
		memphys,memory-type = "xx";
	};

	memphys-dup-a {
		compatible = "memphys,region";
		memory-region = <&memphys_dup_a>;
		memphys,device-name = "fpga-dup";
	};

	memphys-dup-b {
		compatible = "memphys,region";
		memory-region = <&memphys_dup_b>;
		memphys,device-name = "fpga-dup";
	};

	memphys-default-name {
		compatible = "memphys,region";
		memory-region = <&memphys_dup_b>;
		memphys,device-name = "memphys7";
	};

	memphys-coherent {
		compatible = "memphys,region";
		memory-region = <&memphys_coherent>;
		memphys,device-name = "fpga-coherent";
		dma-coherent;
	};
};
DTS
}

# Write DIR/guest.dtb: the tree QEMU makes for this machine, plus the nodes.
arm64_dtb() {
    local dir=$1
    need_cmd dtc
    qemu-system-aarch64 -machine "virt,dumpdtb=$dir/virt.dtb" "${ARM64_CPU[@]}" -m "$ARM64_MEM" \
        -smp "$VM_SMP" -nodefaults -display none >/dev/null 2>&1 \
        || die "qemu-system-aarch64 could not dump the virt board's device tree"
    { dtc -q -I dtb -O dts "$dir/virt.dtb"; arm64_dt_nodes; } >"$dir/guest.dts"
    dtc -q -I dts -O dtb -o "$dir/guest.dtb" "$dir/guest.dts"
    echo "$dir/guest.dtb"
}

# Finish the guest's command line once VM_OUT exists (DIR: its .vm): the
# device tree, TCG always (the host's KVM is x86) on the -cpu max of the
# board, the user space share that init.sh stacks above the host's root.
arm64_vm_setup() {
    VM_ARCH_ARGS=(-dtb "$(arm64_dtb "$1")"
        -virtfs "local,path=$ARM64_ROOT,mount_tag=archroot,security_model=none,readonly=on,multidevs=remap")
    ACCEL=tcg
    if [[ $VM_SMP -gt 1 ]]; then ACCEL_ARGS=(-accel tcg,thread=multi "${ARM64_CPU[@]}")
    else ACCEL_ARGS=(-accel tcg,thread=single "${ARM64_CPU[@]}"); fi
}

# pauth-impdef: QEMU's own pointer-authentication hash; the architected one
# costs much time under TCG.
ARM64_CPU=(-cpu max,pauth-impdef=on)

# Sourced by run-in-vm.sh's parse_args for --arch arm64: the guest's fixed
# memory layout (above) replaces --mem and --memmap.
QEMU_BIN=qemu-system-aarch64
VM_MACHINE=virt
VM_CONSOLE=ttyAMA0
VM_ARCH_APPEND=" $ARM64_CMDLINE memphys_vm.archroot"
VM_MEM=$ARM64_MEM
VM_MEMMAP=""
BUSYBOX=$(arm64_busybox)
# What `make arm64` builds: the probe, and the CLI that verify's second process runs.
EXTRA_ENV+=("MEMPHYS_PROBE=$REPO_ROOT/tests/native/bin/memphys-probe-arm64"
            "MEMPHYS_CLI=$REPO_ROOT/build/arm64/cli/memphys")
