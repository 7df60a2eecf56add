# SPDX-License-Identifier: MIT
# mk/arch.mk: cross-building for the station's arm64 (Raspberry Pi 4/5).
# Included first by the top-level Makefile, before $(O) is used.
#
#   make ARCH=arm64     massaged, massagectl, libmassage and the benchmarks
#                       in build/arm64/, the VM tests' helpers in
#                       build/vm/arm64/, and both modules built W=1 against
#                       Debian's arm64 6.1 and 6.12 (kmod check-builds)
#   make check-arm64    that build, the arm64 massaged .deb (lintian clean),
#                       the Pi overlay on Debian's Pi 4 tree, and
#                       tests/vm/run.sh --arch arm64 (docs/testing.md)
#
# Debian's cross toolchain (gcc-aarch64-linux-gnu) and the :arm64 -dev
# packages (multiarch, mk/deps/arm64.sh) do the work: the arm64
# pkg-config wrapper finds the arm64 libraries. ARCH is also Kbuild's
# variable, so the modules follow it.

ifeq ($(ARCH),arm64)
CROSS_COMPILE ?= aarch64-linux-gnu-
CC := $(CROSS_COMPILE)gcc
AR := $(CROSS_COMPILE)ar
PKG_CONFIG := $(CROSS_COMPILE)pkg-config
O ?= build/arm64

.PHONY: arm64-extras
all: arm64-extras
arm64-extras:
	+tests/vm/run.sh --arch arm64 --build-only
	+$(MAKE) -C kmod ARCH=arm64 check-builds
endif

# Not under ARCH=arm64: make check calls it from an amd64 make.
.PHONY: check-arm64
check-arm64:
	+$(MAKE) ARCH=arm64 all
	+$(MAKE) check-deb DEB_ARCH=arm64
	+$(MAKE) -C kmod dtbs
	sh kmod/tests/overlay-on-debian-dtb.sh
	tests/vm/run.sh --arch arm64
