#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - the newcomer's first `make demo`, in a fresh Debian bookworm.
#
# Usage: tests/fresh/run.sh [--keep]        (as root; make check-fresh)
#
# README.md says: clone, then `make demo`, as root on Debian 12. This
# does exactly that in a root that has never built anything:
#
# 1. without pkg-config's packages (PKG_CONFIG=false) the build stops and
#    names them, rather than link massaged with empty flags;
# 2. a fresh root: tests/fresh/root.sh's minbase bookworm (cached), with
#    the host's resolv.conf and a policy-rc.d so that nothing apt installs
#    starts a service; the work tree's tracked and untracked files (what a
#    clone holds, with the changes under test) in /root/massaged;
# 3. `make demo` in it, as root, in a chroot inside private mount and PID
#    namespaces (proc, sysfs, cgroup2, /dev and a /run tmpfs mounted there only;
#    every process in it dies with it). It must install what it needs,
#    build, run the demo to the end (the session completed in the
#    history), and install nothing of the test toolchain (QEMU,
#    debootstrap, kernels and their sources, valgrind, clang, lintian,
#    dkms: `make check` installs those; `make demo` needs none);
# 4. the beginning of `make check` in the same root: `make deps` with
#    DEPS_SIMULATE=1, so that apt resolves every package of every
#    mk/deps/*.list on bookworm (and backports) without installing them.
#
# The .debs apt downloads are kept in the cache (archives/) for the next
# run; FRESH_APT_CACHE=no downloads everything, as a first run on a new
# machine does. Last line: "fresh: deps_s=.. build_s=.. demo_s=..
# total_s=.." (the phases of the first `make demo`, from the times its
# output lines came). The root is in /var/tmp/massaged-fresh.*, removed
# after the run unless --keep; the log is build/fresh/demo.log.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build="$top/build/fresh"
keep=0

die() {
	echo "fresh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) sed -n '3,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	--keep) keep=1; shift ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, apt in the root): run it as 'make check' does"
for tool in unshare chroot mount flock git tar; do
	command -v "$tool" >/dev/null || die "$tool missing: run 'make deps'"
done
mkdir -p "$build"
failed=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }

# 1. No pkg-config package: a loud stop, no binary.
out=$(make -C "$top" --no-print-directory O="$build/no-pkg-config" \
	PKG_CONFIG=false "$build/no-pkg-config/massaged" 2>&1) && rc=0 || rc=$?
if [ "$rc" != 0 ] && echo "$out" | grep -q "finds no libsystemd" &&
	[ ! -e "$build/no-pkg-config/massaged" ]; then
	ok "without the packages pkg-config knows, the build stops and names them"
else
	not_ok "a build without pkg-config's packages did not stop naming them (exit $rc): $(echo "$out" | tail -3)"
fi
rm -rf "$build/no-pkg-config"

# 2. The fresh root, one run at a time on this machine (apt's download
# cache is shared).
tarball=$(sh "$here/root.sh")
cache=$(dirname "$tarball")
exec 9>"$cache/.run.lock"
if ! flock -n 9; then
	echo "fresh: waiting for another run of tests/fresh on this machine"
	flock 9
fi
root=$(mktemp -d /var/tmp/massaged-fresh.XXXXXX)
archives=
[ "${FRESH_APT_CACHE:-yes}" = no ] || { archives="$cache/archives"; mkdir -p "$archives"; }

cleanup() {
	[ "$keep" = 1 ] && { echo "fresh: kept the root in $root"; return; }
	# Nothing may be mounted there any more (the namespace held the
	# mounts); never follow one into the host's /dev.
	if grep -q " $root/" /proc/self/mountinfo; then
		echo "fresh: $root still has mounts; not removed" >&2
		return
	fi
	rm -rf --one-file-system "$root"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

tar -C "$root" --numeric-owner -xf "$tarball"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\n# tests/fresh: no service starts in this root\nexit 101\n' \
	>"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/root/massaged"
(cd "$top" && git ls-files -co --exclude-standard -z |
	xargs -0 sh -c 'for f; do [ ! -e "$f" ] || cp -P --parents "$f" "$0"; done' \
		"$root/root/massaged")

# in_root COMMAND: COMMAND by sh in the root, as root, with root's login
# environment; the namespaces go with it.
in_root() {
	unshare --mount --pid --fork --kill-child -- sh -c '
		set -e
		r=$1
		mount -t proc proc "$r/proc"
		mount -t sysfs -o ro sysfs "$r/sys"
		# as on a booted bookworm (busctl reads the peers cgroups)
		mount -t cgroup2 -o ro cgroup2 "$r/sys/fs/cgroup"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs -o mode=0755 tmpfs "$r/run"
		[ -z "$2" ] || mount --bind "$2" "$r/var/cache/apt/archives"
		exec chroot "$r" /usr/bin/env -i HOME=/root USER=root LOGNAME=root \
			SHELL=/bin/sh TERM=dumb \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			sh -c "$3"' sh "$root" "$archives" "$1"
}

# stamp T0: each line prefixed with the seconds since T0
stamp() {
	while IFS= read -r l; do
		printf '%s %s\n' "$(($(date +%s%N) / 10000000 - $1))" "$l"
	done
}

# 3. make demo
echo "fresh: make demo in a fresh bookworm root ($root; apt cache: ${archives:-none})"
t0=$(($(date +%s%N) / 10000000))
# (set -e does not reach into a pipeline: the status goes through a file)
# A fresh Debian has no make: README.md's first line installs it.
{ in_root 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq &&
	apt-get install -y -qq make && cd /root/massaged && make demo' 2>&1 && echo 0 >"$build/rc" ||
	echo $? >"$build/rc"; } | stamp "$t0" >"$build/demo.log"
t1=$(($(date +%s%N) / 10000000 - t0))
rc=$(cat "$build/rc")
# centiseconds at the first line matching $1, or empty
at() { grep -m1 -E "^[0-9]+ $1" "$build/demo.log" | cut -d' ' -f1; }
secs() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) / 100 }' || echo "?"; }
m=$(at '.*Entering directory')
b=$(at '(cc|gcc) ')
d=$(at '.*== A private system bus')
sed 's/^[0-9]* /[fresh] /' "$build/demo.log" | tail -n 40
if [ "$rc" = 0 ] && grep -q 'Demo Patient.*completed' "$build/demo.log"; then
	ok "the first make demo in a fresh bookworm installs, builds and runs the demo to a completed session"
else
	not_ok "the first make demo in a fresh bookworm failed (exit $rc; $build/demo.log)"
	grep -m5 -E 'undefined reference|\*\*\*|error:|not found| E: ' "$build/demo.log" | sed 's/^[0-9]* /    /'
fi

toolchain="qemu-system-x86 debootstrap linux-source-6.1 linux-headers-amd64 valgrind clang lintian dkms"
extra=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status} ${Package}\n' \
	$toolchain 2>/dev/null | sed -n 's/^install ok installed //p' | tr '\n' ' ')
[ ! -e "$root/var/cache/massaged-vm" ] || extra="$extra/var/cache/massaged-vm"
if [ -z "$extra" ]; then
	ok "make demo installs none of the test toolchain"
else
	not_ok "make demo installed what only make check needs: $extra"
fi

# 4. make check's first step, resolved only
out=$(in_root 'cd /root/massaged && DEPS_SIMULATE=1 make deps' 2>&1) && rc=0 || rc=$?
echo "$out" >"$build/deps-simulate.log"
if [ "$rc" = 0 ]; then
	ok "every package of mk/deps/*.list resolves on bookworm: $(echo "$out" | grep -E '^[0-9]+ upgraded' | tr '\n' ' ')"
else
	not_ok "make deps would fail in a fresh bookworm (exit $rc): $(echo "$out" | grep -E '^E:' | head -3 | tr '\n' ' ')"
fi

monitor=$(grep -c -E '^[0-9]+ [a-z]+ +[0-9.]+ Hz ' "$build/demo.log" || true)
echo "fresh: make_s=$(secs 0 "$m") deps_s=$(secs "$m" "$b") build_s=$(secs "$b" "$d") demo_s=$(secs "$d" "$t1") total_s=$(secs 0 "$t1") apt_cache=$([ -n "$archives" ] && echo yes || echo no) monitor_lines=$monitor"
exit $failed
