#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/integration/run.sh MASSAGED MASSAGED_CTL: run every test-*.sh (or
# those named in $MASSAGED_TESTS) against that daemon binary.
set -u
here=$(cd "$(dirname "$0")" && pwd)
MASSAGED=$(realpath "$1")
MASSAGED_CTL=$(realpath "$2")
export MASSAGED MASSAGED_CTL
tests=${MASSAGED_TESTS:-$(cd "$here" && ls test-*.sh | sed 's/\.sh$//')}
fail=0
for t in $tests; do
	start=$(date +%s.%N)
	if out=$(sh "$here/$t.sh" 2>&1); then
		res=PASS
	else
		res=FAIL
		fail=1
	fi
	printf '%s %-60s %5.1fs\n' "$res" "$t" \
		"$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
	[ "$res" = PASS ] && echo "$out" | grep -E '^  ' || true
	[ "$res" = FAIL ] && echo "$out" | sed 's/^/    /'
done
exit $fail
