# SPDX-License-Identifier: MIT
# massaged: top-level build. `make` builds userspace, `make check` runs
# every test (installing what it needs first), `make bench-*` measure.

include mk/arch.mk
CC ?= gcc
O ?= build
SAN ?=

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
	-Wstrict-prototypes
HARDEN := -D_FORTIFY_SOURCE=3 -fstack-protector-strong
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu17 $(WARN) $(HARDEN) -Iinclude -Ilib -Ibench
LDLIBS += -lm
ifneq ($(SAN),)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

# UBSan and ASan stop at the first error so a test cannot pass past one.
export UBSAN_OPTIONS := halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS := detect_leaks=1:abort_on_error=1

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:%.c=$(O)/%)
BENCH_SRC := $(wildcard bench/bench-*.c)
BENCH_BIN := $(BENCH_SRC:%.c=$(O)/%)
# The control chain closed in simulated time, for benchmarks and tests.
SIM_OBJ := $(O)/bench/control-sim.o

.PHONY: all deps deps-demo check check-unit check-unit-asan check-kmod \
	check-vm check-vm-system check-fresh check-ui \
	bench-control bench-bodies clean demo
.SECONDARY:
all: $(O)/libmassage.a $(BENCH_BIN) daemon

# Everything `make check` needs (mk/deps/*.list), or only what `make` and
# `make demo` need (mk/deps/demo.list).
deps:
	@sh mk/deps.sh

deps-demo:
	@DEPS_LISTS=$(CURDIR)/mk/deps/demo.list sh mk/deps.sh

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/libmassage.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(SIM_OBJ) $(O)/libmassage.a
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

# test-history tests the daemon's SQLite store, not lib/.
$(O)/tests/unit/test-history: $(O)/tests/unit/test-history.o $(O)/daemon/history.o
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(call pkg_config,--libs,sqlite3) $(LDLIBS)
$(O)/tests/unit/test-history.o: CFLAGS += -D_GNU_SOURCE -Idaemon

$(O)/bench/%: $(O)/bench/%.o $(SIM_OBJ) $(O)/libmassage.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests: each binary is a cmocka group; all run even if one fails.
check-unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
		echo "== $$t"; $$t || fail=1; \
	done; exit $$fail

check-unit-asan:
	+$(MAKE) O=build/asan SAN=1 check-unit

check-kmod:
	+$(MAKE) -C kmod lint dtbs
	+$(MAKE) -C kmod check-builds

check-vm:
	tests/vm/run.sh

# A booted Debian with systemd, udev and the bus, our packages installed:
# tests/vm/system/ (docs/testing.md).
check-vm-system:
	tests/vm/system/run.sh

check: deps
	+$(MAKE) check-unit
	+$(MAKE) check-unit-asan
	+$(MAKE) check-fuzz FUZZ_TIME=30
	+$(MAKE) check-daemon
	+$(MAKE) check-units
	+$(MAKE) check-kmod
	+$(MAKE) check-dkms
	+$(MAKE) check-deb
	+$(MAKE) check-ui
	+$(MAKE) check-fresh
	+$(MAKE) check-vm
	+$(MAKE) check-vm-system
	+$(MAKE) check-arm64

# The newcomer's first look: a simulated station running a real program
# at real pacing, live, then its history (demo/run.sh, about 2 minutes).
# Steps, not prerequisites: the build must be a make that starts after
# the packages are in (and never runs beside their installation in -j).
demo:
	+$(MAKE) deps-demo
	+$(MAKE) all
	demo/run.sh

# The first `make demo` of a newcomer, in a fresh Debian bookworm root
# (tests/fresh/run.sh, docs/testing.md).
check-fresh:
	tests/fresh/run.sh

# Benchmarks print figures; they do not pass or fail.
# RATE_HZ= the accelerometer's rate (default 3200; the BMI160's is 1600)
bench-control: $(O)/bench/bench-control
	$(O)/bench/bench-control $(if $(RATE_HZ),--rate-hz=$(RATE_HZ))

# A population of simulated bodies and hands; RATE_HZ= the accelerometer's
# rate (default 3200).
bench-bodies: $(O)/bench/bench-bodies
	$(O)/bench/bench-bodies

clean:
	rm -rf build
	-$(MAKE) -C kmod clean

include mk/pkg-config.mk
include daemon/daemon.mk
include massagectl/massagectl.mk
include mk/install.mk
include mk/arm64.mk
include bench/bench.mk
include tests/fuzz/fuzz.mk
include ui/ui.mk

-include $(shell find $(O) -name "*.d" -type f 2>/dev/null)
