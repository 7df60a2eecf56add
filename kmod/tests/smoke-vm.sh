#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# smoke-vm.sh - boot massager-smoke.c against freshly built modules
#
# Usage: kmod/tests/smoke-vm.sh [version...]   (default: every version in
#                                              build/vm/ that has an initramfs)
#
# Reuses what the real VM suite leaves behind: tests/vm/run.sh must have run
# once for the kernel (its build/vm/<version>/initramfs.gz carries busybox
# and the kernel modules ours need). On top of it goes a second cpio archive
# (the kernel unpacks them in order, later files win) with our own /init,
# the static smoke test and the modules from make -C kmod check-builds
# (build/kmod/<version>/kmod/). Prints the TAP lines and figures.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/smoke"
mkdir -p "$out"

gcc -std=gnu17 -O2 -Wall -Wextra -Werror -static -I"$top/include" \
	-o "$out/massager-smoke" "$top/kmod/tests/massager-smoke.c"

# amd64's only (this boots qemu-system-x86_64; build/vm/ also holds arm64's)
[ $# -gt 0 ] || set -- $(for v in $(sh "$top/tests/vm/kernels.sh" list 2>/dev/null | awk '{print $2}'); do
	[ ! -s "$top/build/vm/$v/initramfs.gz" ] || echo "$v"
done)
[ $# -gt 0 ] || { echo "smoke-vm.sh: run tests/vm/run.sh first" >&2; exit 1; }

fail=0
for ver in "$@"; do
	base="$top/build/vm/$ver/initramfs.gz"
	kos="$top/build/kmod/$ver/kmod"
	vmlinuz=$(sh "$top/tests/vm/kernels.sh" list 2>/dev/null | awk -v v="$ver" '$2 == v {print $4}')
	if [ ! -s "$base" ] || [ ! -s "$kos/massager.ko" ] || [ ! -s "$vmlinuz" ]; then
		echo "smoke-vm.sh: $ver: need $base, $kos/massager.ko (make -C kmod check-builds) and its kernel" >&2
		fail=1
		continue
	fi
	root="$out/$ver/root"
	rm -rf "$root"
	mkdir -p "$root/lib/modules/massaged"
	cp "$kos/massager.ko" "$kos/massager-sim.ko" "$root/lib/modules/massaged/"
	cp "$out/massager-smoke" "$root/massager-smoke"
	cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
for m in $(cat /modules.load); do insmod /lib/modules/massaged/deps/$m; done
insmod /lib/modules/massaged/massager-sim.ko
insmod /lib/modules/massaged/massager.ko
/massager-smoke /lib/modules/massaged
rc=$?
dmesg | grep -E 'massager|WARNING|BUG|Oops' | sed 's/^/smoke-dmesg: /'
echo "smoke: verdict rc=$rc"
poweroff -f
EOF
	chmod +x "$root/init"
	{ cat "$base"; (cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1; } >"$out/$ver/initramfs.gz"
	echo "== $ver"
	timeout --foreground -k 5 "${SMOKE_TIMEOUT:-300}" qemu-system-x86_64 \
		-machine pc -accel tcg,thread=single -m 512 -smp 2 -nographic \
		-no-reboot -kernel "$vmlinuz" -initrd "$out/$ver/initramfs.gz" \
		-append "console=ttyS0 panic=-1 loglevel=4 oops=panic" \
		</dev/null 2>&1 | tr -d '\r' >"$out/$ver/console.log" || true
	grep -E '^(ok |not ok |# |1\.\.|smoke)' "$out/$ver/console.log" || true
	grep -q '^smoke: verdict rc=0' "$out/$ver/console.log" || fail=1
	! grep -qE 'smoke-dmesg: .*(WARNING|BUG|Oops)' "$out/$ver/console.log" || fail=1
done
exit $fail
