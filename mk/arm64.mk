# SPDX-License-Identifier: MIT
# mk/arm64.mk: the arm64 targets (see mk/arch.mk for the variables and
# what each target does). Included from the top-level Makefile after its
# rules, so none of these becomes the default goal.

ifeq ($(ARCH),arm64)
.PHONY: arm64-extras
all: arm64-extras
arm64-extras:
	+tests/vm/run.sh --arch arm64 --build-only
	+$(MAKE) -C kmod ARCH=arm64 check-builds
endif

# Not under ARCH=arm64: make check calls it from an amd64 make.
.PHONY: check-arm64 check-abi
check-arm64: check-abi
	+$(MAKE) ARCH=arm64 all
	+$(MAKE) check-deb DEB_ARCH=arm64
	+$(MAKE) -C kmod dtbs
	sh kmod/tests/overlay-on-debian-dtb.sh
	tests/vm/run.sh --arch arm64

check-abi:
	@for cc in gcc aarch64-linux-gnu-gcc; do \
		$$cc -std=gnu17 -Wall -Wextra -Werror -Iinclude -fsyntax-only \
			tests/abi/uapi-layout.c || exit 1; \
	done; echo "check-abi: include/uapi/massager.h has one layout on amd64 and arm64"
