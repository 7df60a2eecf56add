#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - run massager.ko and massager-sim.ko in real Debian kernels
#
# Usage: tests/vm/run.sh [--arch amd64|arm64] [--keep] [--build-only] [flavour...]
#        (flavours: amd64 6.1 6.12 rt, the default; arm64 6.1 6.12)
#
# For each flavour (see tests/vm/kernels.sh) this builds the modules
# against that kernel's headers, packs an initramfs with busybox, the
# kernel modules ours depend on (from modules.dep of that kernel's image),
# our modules and the static test program tests/vm/massager-test.c, boots
# it in QEMU (TCG, one host thread; no KVM: qemu-system-x86_64 -M pc, or
# for arm64 qemu-system-aarch64 -M virt, everything ours cross-built with
# aarch64-linux-gnu-gcc) and reads the verdict back from the serial
# console. --build-only builds the test program, massaged and the daemon
# test's tools for the architecture and boots nothing. The test program's
# TAP lines and measured figures ("# key=value") are printed; an Oops, BUG
# or WARNING in the guest's kernel log fails the flavour, and so does a
# timeout.
#
# Each flavour ends with "ARCH FLAVOUR: N passed, N failed"; the last
# line, "N passed, N failed", sums over the flavours. Exit status 0 only
# when nothing failed. Work files: build/vm/<kernel version>/ (the serial
# log is console.log there; the arm64 programs in build/vm/arm64/). Kernel
# images are cached by "kernels.sh install" in /var/cache/massaged-vm/ or
# tests/vm/cache/ (or $MASSAGED_VM_CACHE; "kernels.sh list" shows the
# paths).
#
# Environment: MASSAGED_VM_TIMEOUT seconds per boot (default 300);
# MASSAGER_TEST_ONLY=substring runs only the tests whose name has it;
# MASSAGED_VM_DAEMON="6.1 rt" the flavours that also run the real
# massaged against the modules (tests/vm/daemon-test.sh; default all
# three); MASSAGED_VM_CPU the arm64 CPU model (default cortex-a72, see
# docs/testing.md); MASSAGED_VM_TCG_THREAD=multi runs arm64's two vCPUs
# on two host threads (default single, as amd64).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/vm"
build="$top/build/vm"
timeout_s="${MASSAGED_VM_TIMEOUT:-300}"
# The daemon test (daemon-test.sh) runs on these flavours.
daemon_flavours="${MASSAGED_VM_DAEMON:-6.1 6.12 rt}"
keep=0
build_only=0
arch=${MASSAGED_VM_ARCH:-amd64}
total_pass=0
total_fail=0

usage() {
	sed -n '3,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0"
}

die() {
	echo "run.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--keep) keep=1; shift ;;
	--build-only) build_only=1; shift ;;
	--arch) [ $# -ge 2 ] || { usage >&2; exit 2; }; arch=$2; shift 2 ;;
	--) shift; break ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
# What differs between the architectures: the compiler, where the
# programs go, QEMU's machine and console, the libraries' directory.
case "$arch" in
amd64)
	cc=gcc
	tools="$build"
	qemu=qemu-system-x86_64
	# thread=single: with multi-threaded TCG the 6.12 kernel now and then
	# oopses on int3 while patching its text at boot (a cross-vCPU code
	# modification race in TCG), before any of our code runs.
	machine="-machine pc -accel tcg,thread=single"
	console=ttyS0
	triplet=x86_64-linux-gnu
	make_arch=""
	daemon_bin="$top/build/massaged"
	[ $# -gt 0 ] || set -- 6.1 6.12 rt
	;;
arm64)
	cc=aarch64-linux-gnu-gcc
	tools="$build/arm64"
	qemu=qemu-system-aarch64
	# The CPU model: docs/testing.md has the boot times measured. "max"
	# has pointer authentication, whose QARMA hashing TCG computes in
	# software on every function entry and return of the kernel. The
	# int3 race that keeps amd64 on one TCG thread is x86's; arm64 stays
	# on one thread too by default, for figures comparable with amd64's.
	machine="-machine virt -cpu ${MASSAGED_VM_CPU:-cortex-a72} -accel tcg,thread=${MASSAGED_VM_TCG_THREAD:-single}"
	console=ttyAMA0
	triplet=aarch64-linux-gnu
	make_arch="ARCH=arm64"
	daemon_bin="$top/build/arm64/massaged"
	[ $# -gt 0 ] || set -- 6.1 6.12
	;;
*) die "unknown architecture '$arch' (amd64, arm64)" ;;
esac

for tool in $qemu cpio $cc make depmod readelf; do
	command -v "$tool" >/dev/null || die "$tool missing: run 'make deps'"
done
if [ "$arch" = amd64 ]; then
	busybox=$(command -v busybox || true)
	[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
		busybox=/bin/busybox
else
	busybox=$(sh "$here/kernels.sh" --arch "$arch" busybox)
fi
[ -x "$busybox" ] || die "busybox-static ($arch) missing: run 'make deps'"

mkdir -p "$build" "$tools"
# One run at a time per tree: runs share build/vm/ (and two TCG guests on
# two cores would upset each other's timing figures).
exec 9>"$build/.lock"
if ! flock -n 9; then
	echo "run.sh: another run holds $build/.lock; waiting for it" >&2
	flock 9
fi

# The test program: static, so that the initramfs needs no libc.
build_test() {
	$cc -std=gnu17 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
		-Wmissing-prototypes -Wstrict-prototypes -D_FORTIFY_SOURCE=3 \
		-fstack-protector-strong -static -pthread \
		-I"$top/include" -I"$top/lib" -o "$tools/massager-test" \
		"$here/massager-test.c" "$top/lib/plant.c" -lgpiod -lm
}

# The daemon test's tools, static too; the daemon itself as built by
# "make daemon" (dynamic: its libraries go into the initramfs, see
# copy_daemon).
build_daemon_test() {
	make -s -C "$top" $make_arch daemon &&
	for prog in "$here/vm-watch.c" "$top/tests/integration/massaged-ctl.c"; do
		$cc -std=gnu17 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
			-Wmissing-prototypes -Wstrict-prototypes \
			-D_FORTIFY_SOURCE=3 -D_GNU_SOURCE -fstack-protector-strong \
			-static -o "$tools/$(basename "$prog" .c)" "$prog" || return 1
	done
}

# The shared libraries an ELF file needs, its own and theirs, as paths
# in /lib/<triplet> or /usr/lib/<triplet>: from the files' DT_NEEDED entries (readelf reads
# any architecture's; ldd would have to run the arm64 loader).
lib_closure() { # elf
	todo=$1
	seen=" "
	while [ -n "$todo" ]; do
		next=""
		for f in $todo; do
			for n in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
				case "$seen" in *" $n "*) continue ;; esac
				seen="$seen$n "
				# Where ldd finds them: /lib first, as the loader searches.
				p=/lib/$triplet/$n
				[ -e "$p" ] || p=/usr/lib/$triplet/$n
				[ -e "$p" ] || die "$n (needed by $f) not in /lib/$triplet or /usr/lib/$triplet: run 'make deps'"
				echo "$p"
				next="$next $p"
			done
		done
		todo=$next
	done
}

# The daemon, its dynamic loader and libraries at the paths they name.
copy_daemon() { # root
	cp "$daemon_bin" "$1/massaged"
	cp "$tools/massaged-ctl" "$tools/vm-watch" "$1/"
	cp "$here/daemon-test.sh" "$1/daemon-test.sh"
	interp=$(readelf -l "$daemon_bin" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
	libs=$(lib_closure "$daemon_bin") || return 1
	for lib in $interp $libs; do
		mkdir -p "$1/$(dirname "$lib")"
		cp -L "$lib" "$1/$lib"
	done
}

# Build our modules against @hdr in a private copy of the tree, so that
# flavours (and kmod/'s own build) do not overwrite each other's objects.
build_modules() { # version headers_dir out
	rm -rf "$3/src"
	mkdir -p "$3/src"
	cp -r "$top/kmod" "$top/include" "$top/lib" "$3/src/"
	make -C "$3/src/kmod" clean >/dev/null 2>&1 || true
	rm -f "$3/src/kmod/"*.o "$3/src/kmod/"*.ko
	make -s -j2 -C "$2" M="$3/src/kmod" $make_arch \
		${make_arch:+CROSS_COMPILE=aarch64-linux-gnu-} modules >"$3/build.log" 2>&1
}

# Modules @names need from @moddir, dependencies first, one path a line
# relative to @moddir. Names may use - or _; built-in ones are skipped.
module_closure() { # moddir names...
	md=$1
	shift
	awk -v want="$*" '
	function norm(p,  b) {
		b = p; sub(/.*\//, "", b); sub(/\.ko(\.(xz|zst|gz))?$/, "", b)
		gsub(/-/, "_", b); return b
	}
	function visit(n,  k, i, d) {
		if (n in seen || !(n in path)) return
		seen[n] = 1
		k = split(deps[n], d, " ")
		for (i = k; i >= 1; i--) visit(norm(d[i]))
		print path[n]
	}
	{
		f = $1; sub(/:$/, "", f); n = norm(f); path[n] = f
		deps[n] = ""
		for (i = 2; i <= NF; i++) deps[n] = deps[n] " " $i
	}
	END {
		k = split(want, w, " ")
		for (i = 1; i <= k; i++) { x = w[i]; gsub(/-/, "_", x); visit(x) }
	}' "$md/modules.dep"
}

make_initramfs() { # version moddir out
	root="$3/root"
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" \
		"$root/lib/modules/massaged/deps"
	cp "$busybox" "$root/bin/busybox"
	case " $daemon_flavours " in *" $flavour "*) copy_daemon "$root" ;; esac
	cp "$tools/massager-test" "$root/massager-test"
	cp "$3/src/kmod/massager.ko" "$3/src/kmod/massager-sim.ko" \
		"$root/lib/modules/massaged/"
	# What our modules import from modules of that kernel (IIO core,
	# kfifo buffer, ...), from modinfo, closed over modules.dep.
	want=$(for ko in "$root/lib/modules/massaged/"*.ko; do
		modinfo -F depends "$ko"
	done | tr ',' ' ')
	: >"$root/modules.load"
	for rel in $(module_closure "$2" $want); do
		base=$(basename "$rel")
		case "$base" in
		*.ko.xz) xz -dc "$2/$rel" >"$root/lib/modules/massaged/deps/${base%.xz}"; base=${base%.xz} ;;
		*.ko.zst) zstd -qdc "$2/$rel" >"$root/lib/modules/massaged/deps/${base%.zst}"; base=${base%.zst} ;;
		*.ko.gz) gzip -dc "$2/$rel" >"$root/lib/modules/massaged/deps/${base%.gz}"; base=${base%.gz} ;;
		*) cp "$2/$rel" "$root/lib/modules/massaged/deps/$base" ;;
		esac
		echo "$base" >>"$root/modules.load"
	done
	cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
echo "massaged-vm: kernel \$(uname -r) \$(uname -v)"
for m in \$(cat /modules.load); do
	insmod /lib/modules/massaged/deps/\$m || echo "massaged-vm: insmod \$m failed"
done
export MASSAGER_TEST_ONLY="${MASSAGER_TEST_ONLY:-}" MASSAGED_VM_FLAVOUR="$flavour"
[ -n "\$MASSAGER_TEST_ONLY" ] || unset MASSAGER_TEST_ONLY
t0=\$(cut -d' ' -f1 /proc/uptime)
/massager-test /lib/modules/massaged
rc=\$?
t1=\$(cut -d' ' -f1 /proc/uptime)
# Under TCG a vCPU now and then stalls past the kernel's 50 ms heartbeat
# or the daemon's own silence timeout; such a run is shown as comments and
# tried once more. Any other failure counts.
if [ -f /daemon-test.sh ]; then
	if ! sh /daemon-test.sh >/tmp/daemon-test.out 2>&1 &&
		grep -qE 'heartbeat watchdog fired|stopped reporting' /tmp/daemon-test.out; then
		sed 's/^/# daemon_tcg_trip (retried): /' /tmp/daemon-test.out
		rm -rf /tmp/massaged
		sh /daemon-test.sh || rc=\$((rc + 100))
	else
		cat /tmp/daemon-test.out
		grep -q '^massaged-vm: daemon tests: 0 failed' /tmp/daemon-test.out || rc=\$((rc + 100))
	fi
fi
t2=\$(cut -d' ' -f1 /proc/uptime)
dmesg | sed 's/^/massaged-vm-dmesg: /'
if [ \$rc = 0 ]; then v=PASS; else v=FAIL; fi
echo "massaged-vm: verdict \$v rc=\$rc test_s=\$t0..\$t1 daemon_s=\$t1..\$t2"
sync
poweroff -f
EOF
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$3/initramfs.gz"
}

# Boot, wait, and judge the serial log; sets pass and fail.
boot_and_judge() { # flavour version vmlinuz out
	log="$4/console.log"
	t0=$(date +%s)
	rc=0
	timeout --foreground -k 5 "$timeout_s" $qemu \
		$machine -m 512 -smp 2 -nographic -no-reboot \
		-kernel "$3" -initrd "$4/initramfs.gz" \
		-append "console=$console panic=-1 loglevel=4 oops=panic" \
		</dev/null >"$log" 2>&1 || rc=$?
	t1=$(date +%s)
	tr -d '\r' <"$log" >"$log.txt"
	grep -E '^(ok |not ok |# |1\.\.)' "$log.txt" | sed "s/^/[$1] /" |
		tee -a "$build/report" || true
	pass=$(grep -c '^ok ' "$log.txt" || true)
	fail=$(grep -c '^not ok ' "$log.txt" || true)
	bad=$(grep -E 'Oops|(^|[^A-Z_])BUG[: ]|WARNING:|Call Trace:|general protection fault|Kernel panic' "$log.txt" || true)
	if [ -n "$bad" ]; then
		echo "[$1] kernel trouble in the guest log:"
		echo "$bad" | head -n 40 | sed "s/^/[$1]   /"
		fail=$((fail + 1))
	fi
	verdict=$(grep '^massaged-vm: verdict' "$log.txt" | tail -n 1 || true)
	if [ -z "$verdict" ]; then
		if [ "$rc" = 124 ]; then
			echo "[$1] TIMEOUT after ${timeout_s}s; last lines of $log.txt:"
		else
			echo "[$1] no verdict (qemu exit $rc); last lines of $log.txt:"
		fi
		tail -n 25 "$log.txt" | sed "s/^/[$1]   /"
		fail=$((fail + 1))
	else
		echo "[$1] $verdict boot_s=$((t1 - t0))"
	fi
}

build_test || die "building the test program failed"
build_daemon_test || die "building massaged and the daemon test's tools failed"
if [ "$build_only" = 1 ]; then
	ls "$daemon_bin" "$tools/massager-test" "$tools/massaged-ctl" "$tools/vm-watch"
	exit 0
fi
: >"$build/report"
kernels=$(sh "$here/kernels.sh" --arch "$arch" list "$@") || die "cannot resolve kernels: run 'make deps'"
echo "$kernels" | while read -r flavour ver hdr vmlinuz moddir; do
	echo "$flavour $ver $hdr $vmlinuz $moddir"
done >"$build/kernels"

# The list on fd 3: nothing in the loop may eat it from stdin.
while read -r flavour ver hdr vmlinuz moddir <&3; do
	out="$build/$ver"
	# amd64's lines keep their old prefix; arm64's say so.
	label=$flavour
	[ "$arch" = amd64 ] || label="$arch $flavour"
	mkdir -p "$out"
	echo "== $flavour: $ver"
	if [ ! -d "$hdr" ] || [ ! -s "$vmlinuz" ] || [ ! -s "$moddir/modules.dep" ]; then
		echo "[$label] kernel $ver not installed: run 'sh tests/vm/kernels.sh install' as root"
		total_fail=$((total_fail + 1))
		continue
	fi
	if ! build_modules "$ver" "$hdr" "$out"; then
		sed "s/^/[$label]   /" "$out/build.log" | tail -n 40
		echo "not ok - [$label] modules build against $ver"
		total_fail=$((total_fail + 1))
		continue
	fi
	make_initramfs "$ver" "$moddir" "$out"
	echo "[$label] initramfs deps: $(tr '\n' ' ' <"$out/root/modules.load")"
	boot_and_judge "$label" "$ver" "$vmlinuz" "$out"
	echo "$arch $flavour: $pass passed, $fail failed"
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	[ "$keep" = 1 ] || rm -rf "$out/root" "$out/src"
done 3<"$build/kernels" </dev/null

# The figures once more, together, for comparing kernels at a glance.
echo "== figures"
grep -E '^\[[^]]*\] # (drive|contact|trip_ms|owner_killed|estop_off|samples|daemon_|runaway:|runaway_wall)' \
	"$build/report" || true
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
