# SPDX-License-Identifier: MIT
# Fuzz targets, included by the top-level Makefile. `make check-fuzz`
# builds each parser's libFuzzer target with clang against lib/*.c and runs
# it for FUZZ_TIME seconds from the shipped programs as seed corpus. The
# corpus grows in $(O)/fuzz/corpus/, never in programs/. A crash leaves its
# input in $(O)/fuzz/ and fails the target.

FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_CFLAGS := -std=gnu17 -g -O1 -Wall -Wextra -Werror -Iinclude -Ilib \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_BIN := $(O)/fuzz/fuzz-program

.PHONY: check-fuzz
$(FUZZ_BIN): tests/fuzz/fuzz-program.c $(wildcard lib/*.c lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz-program.c \
		$(wildcard lib/*.c) -lm

check-fuzz: $(FUZZ_BIN)
	@mkdir -p $(O)/fuzz/corpus
	cp programs/*.program $(O)/fuzz/corpus/
	$(FUZZ_BIN) -max_total_time=$(FUZZ_TIME) -max_len=65537 \
		-timeout=10 -artifact_prefix=$(O)/fuzz/ \
		-dict=tests/fuzz/program.dict $(O)/fuzz/corpus
