# SPDX-License-Identifier: MIT
# massagectl/massagectl.mk: massagectl, the command-line client of
# massaged's D-Bus API, and its unit test. Included from the top-level
# Makefile; uses its $(O), $(CC), $(CFLAGS), $(LDFLAGS), $(LDLIBS) and its
# $(O)/%.o: %.c rule.

# Recursive (=): worked out at recipe time (mk/pkg-config.mk).
MASSAGECTL_CFLAGS = $(call pkg_config,--cflags,libsystemd)
MASSAGECTL_LIBS = $(call pkg_config,--libs,libsystemd)
MASSAGECTL_SRC := $(wildcard massagectl/*.c)
# $(O)/massagectl is the binary, so the objects cannot mirror the folder.
MASSAGECTL_OBJDIR := $(O)/massagectl-obj
MASSAGECTL_OBJ := $(MASSAGECTL_SRC:massagectl/%.c=$(MASSAGECTL_OBJDIR)/%.o)
MASSAGECTL_BIN := $(O)/massagectl

$(MASSAGECTL_OBJ) $(O)/tests/unit/test-massagectl-util.o: \
	CFLAGS += -D_GNU_SOURCE -Imassagectl $(MASSAGECTL_CFLAGS)

$(MASSAGECTL_OBJDIR)/%.o: massagectl/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

.PHONY: massagectl check-massagectl
all: massagectl
massagectl: $(MASSAGECTL_BIN)

$(MASSAGECTL_BIN): $(MASSAGECTL_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(MASSAGECTL_LIBS) $(LDLIBS)

# The parsers and formatters are pure: the unit test links them alone.
$(O)/tests/unit/test-massagectl-util: $(MASSAGECTL_OBJDIR)/massagectl-util.o

# Without a daemon: bad arguments exit 2, an unreachable daemon exits 3.
check-massagectl: $(MASSAGECTL_BIN)
	MASSAGECTL=$(MASSAGECTL_BIN) sh tests/integration/test-massagectl-refuses-bad-arguments-locally.sh

# tests/integration runs massagectl's own test too.
check-daemon: $(MASSAGECTL_BIN)
-include $(MASSAGECTL_OBJ:.o=.d)
