# SPDX-License-Identifier: MIT
# mk/arch.mk: cross-building for the station's arm64 (Raspberry Pi 4/5).
# Included first by the top-level Makefile, before $(O) is used: variables
# only, so that `all` stays the default goal (the rules: mk/arm64.mk).
#
#   make ARCH=arm64     massaged, massagectl, libmassage and the benchmarks
#                       in build/arm64/, the VM tests' helpers in
#                       build/vm/arm64/, and both modules built W=1 against
#                       Debian's arm64 6.1 and 6.12 (kmod check-builds)
#   make check-abi      the UAPI's structures and ioctl numbers are the same
#                       for gcc and aarch64-linux-gnu-gcc (tests/abi/)
#   make check-arm64    check-abi, that build, the arm64 massaged .deb (lintian clean),
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
endif
