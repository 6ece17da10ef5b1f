# memphys: build, test and demo.  `make help` lists the targets.
#
# KERNEL= picks the guest/headers kernel of tests/vm/kernels.conf (6.1, 6.12,
# 7.2, or 6.1-debug that `make debug-kernel` builds).  `make test` and `make
# deps` cover every kernel of the matrix (not 6.1-debug) unless KERNEL= names
# one; the other targets default to the first (6.1).
SHELL := /bin/bash
# The default matrix and kernel come from tests/vm/kernel.sh (kernels.conf
# without the 32-bit and the locally built kernels; the first of them).
KERNELS := $(shell tests/vm/kernel.sh matrix)
MATRIX := $(or $(KERNEL),$(KERNELS))
ifndef KERNEL
KERNEL := $(shell tests/vm/kernel.sh default)
endif
CONFIGURATION ?= Release
export CONFIGURATION
CLI_FILE := managed/publish/memphys
# The CLI is published for this machine's architecture (an arm64 board: linux-arm64);
# `make publish PUBLISH_RID=linux-arm64` on a PC makes the board's.
PUBLISH_RID ?= linux-$(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x64)

.PHONY: all deps driver check managed pack api-baseline sample probe arm64 test demo fuzz-trinity bench bench-scaling debug-kernel clean help publish install uninstall

all: driver managed probe ## build the module ($(KERNEL)), the C# solution and the test probe

deps: ## install what is missing (apt packages, guest kernels, headers), idempotently
	tests/vm/deps.sh $(MATRIX)

driver: ## build driver/memphys.ko against the $(KERNEL) headers
	tests/vm/deps.sh $(KERNEL)
	tests/vm/kbuild.sh $(KERNEL) driver modules

check: ## build the module with W=1 and sparse against $(KERNEL); any diagnostic fails
	tests/vm/deps.sh $(KERNEL)
	tests/vm/kbuild.sh $(KERNEL) driver check

managed: ## build Managed.sln (warnings are errors)
	dotnet build Managed.sln -c $(CONFIGURATION) -warnaserror -nologo -v q

NUPKG_DIR := managed/nupkg
pack: ## Memphys.Core and the memphys .NET tool as NuGet packages (+ .snupkg symbols) in managed/nupkg/, version from VERSION
	rm -rf $(NUPKG_DIR)
	dotnet pack Managed.sln -c $(CONFIGURATION) -warnaserror -nologo -v q

api-baseline: ## after a change to Memphys.Core's public API: record it in managed/Memphys.Core/PublicAPI.Unshipped.txt
	managed/api-baseline.sh

sample: pack ## build samples/MapFillVerify against the package in managed/nupkg (not the project)
	tests/vm/build-sample.sh $(NUPKG_DIR)

probe: ## build the C helper of the guest tests
	$(MAKE) -C tests/native

test: managed probe ## the whole suite on every kernel (or KERNEL=): checks, host, harness, guests
	tests/run-tests.sh $(MATRIX)

demo: driver managed probe ## boot a $(KERNEL) guest with 1 GiB reserved and show the CLI at work
	tests/vm/run-in-vm.sh --kernel $(KERNEL) -- tests/guest/demo.sh

fuzz-trinity: driver ## trinity against /dev/memphys* in a $(KERNEL) guest for TRINITY_SECONDS (180) [TRINITY_SEED=N]
	tests/vm/deps.sh $(KERNEL)
	tests/vm/run-in-vm.sh --kernel $(KERNEL) --memmap '1G$$0x100000000,64M$$0x30000000' \
		--env TRINITY_SECONDS=$${TRINITY_SECONDS:-180} $${TRINITY_SEED:+--env TRINITY_SEED=$$TRINITY_SEED} \
		--timeout $$(( $${TRINITY_SECONDS:-180} + 600 )) -- tests/guest/trinity.sh

bench: driver managed probe ## memphys bench in a $(KERNEL) guest: its methods against anon, hugetlbfs, /dev/mem, device-dax -> results/bench/$(KERNEL)/ [BENCH_LENGTH=1G]
	tests/vm/bench.sh $(KERNEL)

bench-scaling: driver managed probe ## mmap/first-touch cost, page tables and module memory per GiB over 1, 2, 4, 8, 12 GiB regions, a guest per size -> results/bench/$(KERNEL)-scaling/
	BENCH_SCALING=$${BENCH_SCALING:-1G,2G,4G,8G,12G} BENCH_ROUNDS=$${BENCH_ROUNDS:-3} tests/vm/bench.sh $(KERNEL)

publish: $(CLI_FILE) ## the CLI as one self-contained file (managed/publish/memphys, no SDK needed to run)

CLI_SOURCES := $(shell find managed \( -name bin -o -name obj -o -name publish \) -prune -o \( -name '*.cs' -o -name '*.csproj' \) -print)
$(CLI_FILE): $(CLI_SOURCES) Directory.Build.props
	dotnet publish managed/Memphys.Cli/Memphys.Cli.csproj -c $(CONFIGURATION) -r $(PUBLISH_RID) --self-contained \
		-p:PublishSingleFile=true -p:DebugType=none -o $(dir $@) -nologo -v q

ARM64_DIR := build/arm64
arm64: ## the arm64 guests' programs: test suite and CLI published for linux-arm64 (build/arm64/), the probe cross-built
	dotnet publish tests/Memphys.Tests/Memphys.Tests.csproj -c $(CONFIGURATION) -r linux-arm64 --self-contained \
		-o $(ARM64_DIR)/tests -nologo -v q
	dotnet publish managed/Memphys.Cli/Memphys.Cli.csproj -c $(CONFIGURATION) -r linux-arm64 --self-contained \
		-p:PublishSingleFile=true -p:DebugType=none -o $(ARM64_DIR)/cli -nologo -v q
	PATH="$$(tests/vm/cross-arm64.sh):$$PATH" $(MAKE) -C tests/native arm64

# CLI=FILE installs a CLI published elsewhere (a board without the .NET SDK), building none here.
install: $(if $(CLI),,$(CLI_FILE)) ## as root: module via DKMS, udev rule, modprobe.d file, /usr/local/bin/memphys [REGIONS=1G@0x100000000] [CLI=FILE]
	packaging/install.sh install

uninstall: ## as root: remove what install put in place
	packaging/install.sh uninstall

debug-kernel: ## build the KASAN/lockdep/DEBUG_VM kernel 6.1-debug from Debian's source (make test KERNEL=6.1-debug)
	tests/vm/deps.sh 6.1-debug

clean: ## remove build outputs (the .cache of kernels stays)
	$(MAKE) -C driver clean
	$(MAKE) -C tests/native clean
	rm -rf managed/publish managed/nupkg samples/MapFillVerify/bin samples/MapFillVerify/obj samples/.packages
	dotnet clean Managed.sln -c $(CONFIGURATION) -nologo -v q

help:
	@grep -E "^[a-z-]+:.*## " $(MAKEFILE_LIST) | awk -F ":.*## " "{ printf \"%-13s %s\\n\", \$$1, \$$2 }"
