# SPDX-License-Identifier: MIT
# daemon/daemon.mk: massaged, its integration tests and its latency
# benchmark. Included from the top-level Makefile; uses its $(O), $(CC),
# $(CFLAGS), $(LDFLAGS), $(LDLIBS) and its $(O)/%.o: %.c rule.

DAEMON_PKGS := libsystemd libudev libgpiod sqlite3
# Recursive (=): worked out at recipe time, after `make deps` (mk/pkg-config.mk).
DAEMON_CFLAGS = $(call pkg_config,--cflags,$(DAEMON_PKGS))
DAEMON_LIBS = $(call pkg_config,--libs,$(DAEMON_PKGS)) -lpthread
DAEMON_SRC := $(wildcard daemon/*.c)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(O)/%.o)
DAEMON_BIN := $(O)/massaged
DAEMON_CTL := $(O)/tests/integration/massaged-ctl
# Sub-makes must see this fragment too, until the top-level Makefile
# includes it.
DAEMON_MAKE := $(MAKE) $(if $(shell grep -qs '^-\?include daemon/daemon.mk' Makefile && echo y),,-f Makefile -f daemon/daemon.mk)

$(DAEMON_OBJ) $(O)/tests/integration/massaged-ctl.o: CFLAGS += -D_GNU_SOURCE -Idaemon $(DAEMON_CFLAGS)

.PHONY: daemon check-daemon check-daemon-valgrind check-daemon-asan \
	bench-latency fuzz-daemon

daemon: $(DAEMON_BIN) $(DAEMON_CTL)

$(DAEMON_BIN): $(DAEMON_OBJ) $(O)/libmassage.a
	$(CC) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS) $(LDLIBS)

$(DAEMON_CTL): $(O)/tests/integration/massaged-ctl.o
	$(CC) $(LDFLAGS) -o $@ $^

# Integration tests: the real daemon against the simulated massager, then
# once under valgrind and once built with ASan/UBSan.
check-daemon: daemon
	tests/integration/run.sh $(DAEMON_BIN) $(DAEMON_CTL)
	+$(DAEMON_MAKE) check-daemon-valgrind
	+$(DAEMON_MAKE) check-daemon-asan

check-daemon-valgrind: daemon
	MASSAGED_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	MASSAGED_TESTS="test-sigterm-during-drive-ramps-down-then-exits test-estop-stops-and-latches-until-reset test-dbus-bad-arguments-get-named-errors-and-change-nothing test-dbus-queued-and-planned-sessions-wait-for-a-person test-erase-patient-removes-their-records-and-leaves-no-trace" \
	tests/integration/run.sh $(DAEMON_BIN) $(DAEMON_CTL)

check-daemon-asan:
	+$(DAEMON_MAKE) O=build/asan SAN=1 daemon
	tests/integration/run.sh build/asan/massaged build/asan/tests/integration/massaged-ctl

# libFuzzer on the configuration parser (clang), 30 s.
FUZZ_CONF := build/fuzz/fuzz-massaged-conf
fuzz-daemon:
	@mkdir -p build/fuzz
	clang -g -O1 -std=gnu17 -D_GNU_SOURCE -Iinclude -Ilib -Idaemon \
		-fsanitize=fuzzer,address,undefined -o $(FUZZ_CONF) \
		tests/fuzz/fuzz-massaged-conf.c daemon/massaged-conf.c \
		daemon/log.c lib/safety.c
	@mkdir -p build/fuzz/corpus-massaged-conf
	$(FUZZ_CONF) -max_total_time=30 -max_len=4096 \
		build/fuzz/corpus-massaged-conf tests/fuzz/corpus/massaged-conf

bench-latency: daemon
	bench/bench-latency.sh $(DAEMON_BIN) $(DAEMON_CTL)

-include $(DAEMON_OBJ:.o=.d) $(O)/tests/integration/massaged-ctl.d
