# SPDX-License-Identifier: MIT
# cache-dir.sh - sourced by the test scripts that keep downloads and built
# images between runs (tests/vm/kernels.sh, tests/vm/system/image.sh,
# tests/fresh/root.sh), so that all of them agree on one place.
#
# massaged_cache_dir TOP [SUB] prints $MASSAGED_VM_CACHE[/SUB] if set;
# else /var/cache/massaged-vm[/SUB] when it exists or we may create it
# (it outlives clones: CI works in a fresh one); else TOP/tests/vm/cache
# [/SUB], gitignored.

massaged_cache_dir() {
	if [ -n "${MASSAGED_VM_CACHE:-}" ]; then
		set -- "$MASSAGED_VM_CACHE" "${2:-}"
	elif [ -d /var/cache/massaged-vm ] || [ "$(id -u)" = 0 ]; then
		set -- /var/cache/massaged-vm "${2:-}"
	else
		set -- "$1/tests/vm/cache" "${2:-}"
	fi
	echo "$1${2:+/$2}"
}
