# SPDX-License-Identifier: MIT
# bench/bench.mk: make bench-dbus, the cost of massaged's D-Bus API to
# its callers and to the control loop. Included from the top-level
# Makefile; uses its $(O), $(CC), $(CFLAGS), $(LDFLAGS), its
# $(O)/%.o: %.c and $(O)/bench/%: rules, and daemon/daemon.mk's
# $(DAEMON_BIN) and $(DAEMON_CTL).

# Recursive (=): worked out at recipe time (mk/pkg-config.mk).
BENCH_DBUS_CFLAGS = -D_GNU_SOURCE -Idaemon \
	$(call pkg_config,--cflags,libsystemd)
BENCH_DBUS_LIBS = $(call pkg_config,--libs,libsystemd) -lpthread
BENCH_DBUS_ECHO := $(O)/bench/dbus-echo-service

.PHONY: bench-dbus

$(O)/bench/bench-dbus.o $(O)/bench/dbus-echo-service.o: \
	CFLAGS += $(BENCH_DBUS_CFLAGS)
$(O)/bench/bench-dbus: LDLIBS += $(BENCH_DBUS_LIBS)

$(BENCH_DBUS_ECHO): $(O)/bench/dbus-echo-service.o
	$(CC) $(LDFLAGS) -o $@ $^ $(BENCH_DBUS_LIBS)

all: $(BENCH_DBUS_ECHO)

# A private dbus-daemon, the echo service and massaged --simulate; the
# figures of bench/bench-dbus.c. Prints figures, does not judge them.
bench-dbus: daemon $(O)/bench/bench-dbus $(BENCH_DBUS_ECHO)
	bench/bench-dbus.sh $(DAEMON_BIN) $(DAEMON_CTL) $(O)/bench/bench-dbus \
		$(BENCH_DBUS_ECHO)
