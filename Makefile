# swiftrun — on a fresh machine: `make demo`, then `make test`. Everything else is installed here.
SHELL := /bin/bash
SWIFT ?= swift
CC ?= cc
DEBUG_BIN := .build/debug
RELEASE_BIN := .build/release
ROOTFS := Sysroot/out/rootfs-busybox
PREFIX ?= /usr/local
# Debian packages every target needs (build, tests, benchmarks).
APT_PKGS := libseccomp-dev libcap-dev libarchive-dev libcurl4-openssl-dev busybox-static hyperfine runc jq python3 file iproute2 crun util-linux zstd nftables curl wrk docker-registry skopeo musl-tools umoci debootstrap python3-pip containerd podman buildah
# The cgroup-v2 test VM (Sysroot/vm): QEMU without its recommends; kmod for depmod.
VM_PKGS := qemu-system-x86 kmod
VM_OUT := Sysroot/out/vm
INIT_SRC := Sources/CInit/init.c Sources/CShim/include/sr_protocol.h Sources/CShim/include/sr_fdpass.h
# swiftrun-init is built against musl: 67 KB instead of glibc's 790 KB, and it is copied into
# a sealed memfd for every container and every exec (the CVE-2019-5736 defence), so its size
# is paid each time. musl-gcc sees only musl's headers: the kernel's are added by symlinks.
INIT_CC := musl-gcc
INIT_CFLAGS := -Os -Wall -Wextra -static -ISources/CShim/include -isystem .build/musl-kernel-headers \
  -ffunction-sections -fdata-sections -Wl,--gc-sections -s
# swiftrun-supervise linked static-pie (Package.swift says why), which glibc only starts
# without a RUNPATH: every swift command here passes SPM_FLAGS.
export SWIFTRUN_STATIC_SUPERVISOR := 1
SPM_FLAGS := --disable-local-rpath
# SwiftPM leaves a TemporaryDirectory.* behind per run: keep them out of /tmp.
export TMPDIR := $(CURDIR)/.build/tmp
$(shell mkdir -p $(CURDIR)/.build/tmp)

.PHONY: all deps build debug test unit integration vm vmtest demo bench conformance install clean sysroot images

all: build

# Installs what is missing (apt only when something is).
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@missing=""; for p in $(VM_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "make deps: swift not found (expected the toolchain at /opt/swift)"; exit 1; }

# swiftrun-init is plain C linked static: it runs before and after pivot_root.
$(RELEASE_BIN)/swiftrun-init $(DEBUG_BIN)/swiftrun-init: $(INIT_SRC) .build/musl-kernel-headers/asm
	@mkdir -p $(dir $@)
	$(INIT_CC) $(INIT_CFLAGS) -o $@ Sources/CInit/init.c

# swiftrun-idle: where an idle supervisor waits (Engine/Supervisor.swift's handOver).
$(RELEASE_BIN)/swiftrun-idle $(DEBUG_BIN)/swiftrun-idle: Sources/CIdle/idle.c
	@mkdir -p $(dir $@)
	$(INIT_CC) $(INIT_CFLAGS) -o $@ Sources/CIdle/idle.c

.build/musl-kernel-headers/asm:
	@mkdir -p $(dir $@)
	ln -sfn /usr/include/linux .build/musl-kernel-headers/linux
	ln -sfn /usr/include/asm-generic .build/musl-kernel-headers/asm-generic
	ln -sfn /usr/include/$$(gcc -dumpmachine)/asm $@

build: deps
	$(SWIFT) build $(SPM_FLAGS) -c release --static-swift-stdlib
	$(MAKE) --no-print-directory $(RELEASE_BIN)/swiftrun-init $(RELEASE_BIN)/swiftrun-idle

debug: deps
	$(SWIFT) build $(SPM_FLAGS)
	$(MAKE) --no-print-directory $(DEBUG_BIN)/swiftrun-init $(DEBUG_BIN)/swiftrun-idle

sysroot: deps Sysroot/out/.rootfs-busybox.stamp

# A stamp, not the tree: the tree's mtimes are fixed for determinism.
Sysroot/out/.rootfs-busybox.stamp: Sysroot/busybox-rootfs.sh
	Sysroot/busybox-rootfs.sh $(ROOTFS)
	touch $@

# Unit tests need no root; integration tests run the real binaries as root on the Sysroot rootfs.
# Then the tests that need cgroup v2 controllers (this host's are in v1) run again in the VM.
test: debug sysroot images vm
	SWIFTRUN_BIN_DIR=$(CURDIR)/$(DEBUG_BIN) SWIFTRUN_TEST_ROOTFS=$(CURDIR)/$(ROOTFS) \
	  $(SWIFT) test $(SPM_FLAGS) --disable-swift-testing 2>&1 | tee .build/test.log; host=$${PIPESTATUS[0]}; \
	$(MAKE) --no-print-directory vmtest; vm=$$?; \
	echo "make test: host suite exit $$host, cgroup-v2 VM suite exit $$vm"; exit $$(( host ? host : vm ))

# The VM: Debian's generic kernel and a busybox initramfs (downloads ~70 MB once).
vm: deps $(VM_OUT)/initramfs.cpio

$(VM_OUT)/initramfs.cpio: Sysroot/vm/build.py Sysroot/vm/init
	@mkdir -p $(VM_OUT)
	python3 Sysroot/vm/build.py $(VM_OUT)

# The tests that need a pure cgroup v2 kernel, in the VM, on the debug build (`make test`
# builds it): limits, and swiftrun-runc under containerd and podman (beside runc).
VM_TESTS ?= IntegrationTests.CgroupV2LimitTests,IntegrationTests.ContainerdTests,IntegrationTests.PodmanTests
vmtest: vm
	@test -x $(DEBUG_BIN)/swiftrunPackageTests.xctest || $(SWIFT) build $(SPM_FLAGS) --build-tests
	SWIFTRUN_BIN_DIR=$(CURDIR)/$(DEBUG_BIN) SWIFTRUN_TEST_ROOTFS=$(CURDIR)/$(ROOTFS) \
	  Sysroot/vm/run -t 1500 -e SWIFTRUN_BIN_DIR -e SWIFTRUN_TEST_ROOTFS -- $(DEBUG_BIN)/swiftrunPackageTests.xctest $(VM_TESTS) 2>&1 | tee .build/vmtest.log; \
	  exit $${PIPESTATUS[0]}

unit: debug
	$(SWIFT) test $(SPM_FLAGS) --filter UnitTests

integration: debug sysroot
	SWIFTRUN_BIN_DIR=$(CURDIR)/$(DEBUG_BIN) SWIFTRUN_TEST_ROOTFS=$(CURDIR)/$(ROOTFS) $(SWIFT) test $(SPM_FLAGS) --filter IntegrationTests

demo: build sysroot images
	@Sysroot/demo.sh $(CURDIR)/$(RELEASE_BIN) $(CURDIR)/$(ROOTFS) $(CURDIR)/Sysroot/out

bench: build sysroot images vm Sysroot/out/minbase.tar.gz
	@bench/runtime.sh $(CURDIR)/$(RELEASE_BIN) $(CURDIR)/$(ROOTFS)
	@bench/unpack.sh $(CURDIR)/$(RELEASE_BIN) $(CURDIR)/Sysroot/out/minbase.tar.gz
	@bench/engine.sh $(CURDIR)/$(RELEASE_BIN) $(CURDIR)/$(ROOTFS) $(CURDIR)/Sysroot/out/busybox-docker.tar
	@bench/network.sh $(CURDIR)/$(RELEASE_BIN) $(CURDIR)/Sysroot/out/busybox-docker.tar
	@bench/build.sh $(CURDIR)/$(RELEASE_BIN) $(CURDIR)/Sysroot/out/busybox-docker.tar $(CURDIR)/Sysroot/out/minbase.tar.gz
	@bench/compose.sh $(CURDIR)/$(RELEASE_BIN) $(CURDIR)/Sysroot/out/busybox-docker.tar
	@bench/containerd.sh $(CURDIR)/$(RELEASE_BIN) $(CURDIR)/Sysroot/out/busybox-oci.tar

# The unpack benchmark's layer: Debian minbase via debootstrap (downloads ~40 MB once).
Sysroot/out/minbase.tar.gz: Sysroot/minbase-layer.sh
	@command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
	@mkdir -p Sysroot/out
	Sysroot/minbase-layer.sh $@

install: build
	install -D -m 0755 $(RELEASE_BIN)/swiftrun $(DESTDIR)$(PREFIX)/bin/swiftrun
	install -D -m 0755 $(RELEASE_BIN)/swiftrun-runc $(DESTDIR)$(PREFIX)/bin/swiftrun-runc
	install -D -m 0755 $(RELEASE_BIN)/swiftrun-init $(DESTDIR)$(PREFIX)/libexec/swiftrun/swiftrun-init
	install -D -m 0755 $(RELEASE_BIN)/swiftrun-idle $(DESTDIR)$(PREFIX)/libexec/swiftrun/swiftrun-idle
	install -D -m 0755 $(RELEASE_BIN)/swiftrun-supervise $(DESTDIR)$(PREFIX)/libexec/swiftrun/swiftrun-supervise
	install -D -m 0755 $(RELEASE_BIN)/swiftrun-compose $(DESTDIR)$(PREFIX)/libexec/swiftrun/swiftrun-compose

clean:
	rm -rf .build Sysroot/out

# Test images: OCI layout (dir + tar) and a docker-save archive, with a Healthcheck config;
# the Python, PostgreSQL and Redis images and the API's wheels the build and compose tests
# use (made once).
images: sysroot Sysroot/out/python-image.tar Sysroot/out/services-image.tar Sysroot/out/.wheels.stamp
	python3 Sysroot/make-images.py $(ROOTFS) Sysroot/out

# Debian bookworm minbase + python3, venv, pip, curl (debootstrap; ~60 MB downloaded once).
Sysroot/out/python-image.tar: Sysroot/python-image.sh Sysroot/docker-archive.py
	@mkdir -p Sysroot/out
	Sysroot/python-image.sh $@

# postgresql-15 and redis-server (debootstrap; ~50 MB downloaded once): the compose stack's databases.
Sysroot/out/services-image.tar: Sysroot/services-image.sh Sysroot/services-entrypoint.sh Sysroot/docker-archive.py
	@mkdir -p Sysroot/out
	Sysroot/services-image.sh $@

# fastapi, uvicorn, psycopg and redis wheels from PyPI, once.
Sysroot/out/.wheels.stamp: Sysroot/wheels.sh
	@mkdir -p Sysroot/out
	Sysroot/wheels.sh Sysroot/out/wheels
	touch $@

# crun's OCI test suite against swiftrun-runc and runc (fetched at run time; not part of make test).
conformance: debug
	@conformance/run.sh $(CURDIR)/$(DEBUG_BIN)
