# SPDX-License-Identifier: MIT
# Fuzz targets of lib/, included by the top-level Makefile. `make
# check-fuzz` builds fuzz-program and fuzz-scheduler as libFuzzer targets
# with clang and ASan/UBSan against lib/*.c and runs each for FUZZ_TIME
# seconds (60 by default). fuzz-program starts from the shipped programs as
# seed corpus; corpora grow in $(O)/fuzz/corpus-*/, never in programs/. A
# crash leaves its input in $(O)/fuzz/ and fails the target.

FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_CFLAGS := -std=gnu17 -g -O1 -Wall -Wextra -Werror -Iinclude -Ilib \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
# The daemon's targets (fuzz-massaged-conf) need its sources: daemon.mk.
FUZZ_BIN := $(O)/fuzz/fuzz-program $(O)/fuzz/fuzz-scheduler

.PHONY: check-fuzz
$(FUZZ_BIN): $(O)/fuzz/%: tests/fuzz/%.c $(wildcard lib/*.c lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(wildcard lib/*.c) -lm

# One target after the other: the build machine has few cores.
check-fuzz: $(FUZZ_BIN)
	@mkdir -p $(O)/fuzz/corpus-program $(O)/fuzz/corpus-scheduler
	cp programs/*.program $(O)/fuzz/corpus-program/
	$(O)/fuzz/fuzz-program -max_total_time=$(FUZZ_TIME) -max_len=65537 \
		-timeout=10 -artifact_prefix=$(O)/fuzz/ \
		-dict=tests/fuzz/program.dict $(O)/fuzz/corpus-program
	$(O)/fuzz/fuzz-scheduler -max_total_time=$(FUZZ_TIME) -max_len=4096 \
		-timeout=10 -artifact_prefix=$(O)/fuzz/ \
		$(O)/fuzz/corpus-scheduler
