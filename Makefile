# memphys: build, test and demo.  `make help` lists the targets.
SHELL := /bin/bash
KERNEL ?= 6.1
CONFIGURATION ?= Release
export KERNEL CONFIGURATION
CLI_FILE := managed/publish/memphys

.PHONY: all deps driver check managed probe test demo clean help publish install uninstall

all: driver managed probe ## build the module, the C# solution and the test probe

deps: ## install what is missing (apt packages, guest kernel), idempotently
	tests/vm/deps.sh $(KERNEL)

driver: deps ## build driver/memphys.ko against the $(KERNEL) headers
	$(MAKE) -C driver

check: deps ## build the module with W=1 and sparse; any diagnostic fails
	$(MAKE) -C driver check

managed: ## build Managed.sln (warnings are errors)
	dotnet build Managed.sln -c $(CONFIGURATION) -warnaserror -nologo -v q

probe: ## build the C helper of the guest tests
	$(MAKE) -C tests/native

test: all ## the whole suite: driver checks, host tests, harness self-tests, guest tests
	tests/run-tests.sh

demo: all ## boot a guest with 1 GiB reserved and show the CLI at work
	tests/vm/run-in-vm.sh --kernel $(KERNEL) -- tests/demo.sh

publish: $(CLI_FILE) ## the CLI as one self-contained file (managed/publish/memphys, no SDK needed to run)

CLI_SOURCES := $(shell find managed \( -name bin -o -name obj -o -name publish \) -prune -o \( -name '*.cs' -o -name '*.csproj' \) -print)
$(CLI_FILE): $(CLI_SOURCES) Directory.Build.props
	dotnet publish managed/Memphys.Cli/Memphys.Cli.csproj -c $(CONFIGURATION) -r linux-x64 --self-contained \
		-p:PublishSingleFile=true -p:DebugType=none -o $(dir $@) -nologo -v q

install: $(CLI_FILE) ## as root: module via DKMS, udev rule, modprobe.d file, /usr/local/bin/memphys [REGIONS=1G@0x100000000]
	packaging/install.sh install

uninstall: ## as root: remove what install put in place
	packaging/install.sh uninstall

clean: ## remove build outputs (the .cache of kernels stays)
	$(MAKE) -C driver clean
	$(MAKE) -C tests/native clean
	rm -rf managed/publish
	dotnet clean Managed.sln -c $(CONFIGURATION) -nologo -v q

help:
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 10
