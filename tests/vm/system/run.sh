#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - the full-system test: a booted Debian bookworm with systemd as
# PID 1, udev and the system bus, our packages installed as a user would,
# the simulated board loaded; tests/vm/system/station-test.sh checks the
# station from inside (udev, the unit, the bus policy, kill -9, watchdog,
# e-stop, hardening, journal).
#
# Usage: tests/vm/system/run.sh [--keep]        (as root)
#
# 1. the base image: tests/vm/system/image.sh (debootstrap, cached in
#    /var/cache/massaged-vm/system/ and keyed by base-packages);
# 2. massager.ko and massager-sim.ko built against the 6.1 guest kernel's
#    headers (as tests/vm/run.sh does), installed into the image's
#    /lib/modules/<version>/updates/ with depmod: the massager-dkms package
#    would compile them in the guest, far too slow under TCG;
# 3. the packages: build/deb/massaged_*.deb from "make deb", installed with
#    dpkg -i in a chroot of the image. Until "make deb" exists, "make
#    install DESTDIR=" into the image instead (said loudly);
# 4. the test's own files: station-test.sh, a unit that runs it, a
#    drop-in arming the daemon's test hooks, a test configuration;
# 5. mkfs.ext4 -d (no loop mount) into a raw image, a busybox initramfs
#    that loads virtio and ext4 and switches root, and a boot under
#    qemu-system-x86_64 (TCG) with a hard timeout; the serial console is
#    the result.
#
# Last line: "N passed, N failed, N skipped". Exit status 0 only when
# nothing failed. Work files: build/vm-system/ (console.log there), the
# image's tree in /var/tmp/massaged-vm-system-<tree>.* (kept with --keep).
# Environment: MASSAGED_VM_SYSTEM_TIMEOUT seconds for the boot (default
# 720); MASSAGED_VM_KILL9 rounds of the kill -9 test (default 20).
set -eu

top=$(cd "$(dirname "$0")/../../.." && pwd)
here="$top/tests/vm/system"
build="$top/build/vm-system"
timeout_s="${MASSAGED_VM_SYSTEM_TIMEOUT:-720}"
kill9_rounds="${MASSAGED_VM_KILL9:-20}"
flavour=6.1
keep=0

die() {
	echo "run.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) sed -n '3,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	--keep) keep=1; shift ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, dpkg in the image): run it as 'make check' does"
for tool in qemu-system-x86_64 mkfs.ext4 debugfs chroot cpio gcc make depmod; do
	command -v "$tool" >/dev/null || die "$tool missing: run 'make deps'"
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	busybox=/bin/busybox
[ -x "$busybox" ] || die "busybox-static missing: run 'make deps'"

mkdir -p "$top/build/vm" "$build"
# Take turns with tests/vm/run.sh: two TCG guests on two cores would upset
# each other's timing.
exec 9>"$top/build/vm/.lock"
if ! flock -n 9; then
	echo "run.sh: another VM run holds build/vm/.lock; waiting for it" >&2
	flock 9
fi
t_start=$(date +%s)

# --- 1. the base image
base=$(sh "$here/image.sh") || die "no base image"

# --- 2. modules for the guest kernel
line=$(sh "$top/tests/vm/kernels.sh" list "$flavour") || die "cannot resolve kernels: run 'make deps'"
set -- $line
ver=$2 hdr=$3 vmlinuz=$4 moddir=$5
[ -d "$hdr" ] && [ -s "$vmlinuz" ] && [ -s "$moddir/modules.dep" ] ||
	die "kernel $ver not installed: run 'sh tests/vm/kernels.sh install' as root"
echo "== system: bookworm + systemd on $ver"

out="$build/$ver"
rm -rf "$out/src"
mkdir -p "$out/src"
cp -r "$top/kmod" "$top/include" "$top/lib" "$out/src/"
rm -f "$out/src/kmod/"*.o "$out/src/kmod/"*.ko
make -s -j2 -C "$hdr" M="$out/src/kmod" modules >"$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log"
	die "building the modules against $ver failed"
}

# The static timing helper of tests/vm (action, then poll debugfs every
# 100 us): the shell's clock is too coarse for drive-off times.
gcc -std=gnu17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -static \
	-o "$build/vm-watch" "$top/tests/vm/vm-watch.c" || die "building vm-watch failed"

# Modules @names need from @moddir, dependencies first (tests/vm/run.sh).
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

# --- 3. the image's root: base, packages, modules
# The image's tree lives outside build/: the top-level Makefile includes
# every "*.d" under build/, and a Debian tree is full of such directories.
# Named after this tree, so that a run in another clone keeps its own.
tree_id=$(echo "$top" | sha256sum | cut -c1-8)
rm -rf /var/tmp/massaged-vm-system-"$tree_id".*
root=$(mktemp -d /var/tmp/massaged-vm-system-"$tree_id".XXXXXX)
chmod 755 "$root"
cleanup() {
	umount "$root/proc" 2>/dev/null || true
	[ "$keep" = 1 ] || rm -rf "$root" "$root.initramfs"
}
trap cleanup EXIT
tar -C "$root" --numeric-owner --xattrs -xf "$base"

install_mode=
deb_target=$(make -s -C "$top" -n deb >/dev/null 2>&1 && echo yes || true)
if [ -n "$deb_target" ]; then
	echo "[system] make deb"
	rm -f "$top"/build/deb/massaged_*.deb
	make -s -C "$top" deb >"$build/deb.log" 2>&1 || {
		tail -n 15 "$build/deb.log" | sed 's/^/[system]   /'
		echo "[system] !!! make deb FAILED (log: $build/deb.log)"
	}
fi
deb=$(ls -t "$top"/build/deb/massaged_*.deb 2>/dev/null | head -n 1 || true)
# Services must not start in the chroot (policy-rc.d, as debootstrap and
# image builders do); deb-systemd-invoke honours it too.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
if [ -n "$deb" ]; then
	install_mode="deb $(basename "$deb")"
	cp "$deb" "$root/tmp/"
	echo "[system] installing $(basename "$deb") with dpkg -i in the image"
	chroot "$root" dpkg -i "/tmp/$(basename "$deb")" >"$build/dpkg.log" 2>&1 || {
		cat "$build/dpkg.log"
		die "dpkg -i $(basename "$deb") failed in the image (its dependencies must be in tests/vm/system/base-packages)"
	}
	rm -f "$root/tmp/$(basename "$deb")"
	dkms=$(ls -t "$top"/build/deb/massager-dkms_*.deb 2>/dev/null | head -n 1 || true)
	[ -n "$dkms" ] && echo "[system] $(basename "$dkms") not installed in the guest: DKMS would compile under TCG; modules built on the host for $ver instead"
else
	echo "[system] !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	echo "[system] !!! NO build/deb/massaged_*.deb (no 'make deb' yet): installing"
	echo "[system] !!! with 'make install DESTDIR=' into the image instead; this does"
	echo "[system] !!! NOT test the package's maintainer scripts"
	echo "[system] !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	install_mode="make-install (no .deb)"
	make -s -C "$top" install DESTDIR="$root" PREFIX=/usr \
		UNITDIR=/lib/systemd/system UDEVRULESDIR=/lib/udev/rules.d \
		>"$build/install.log" 2>&1 || {
		echo "[system] make install failed; installing by hand what exists:"
		tail -n 5 "$build/install.log" | sed 's/^/[system]   /'
		install_mode="by hand (no .deb, make install failed)"
		make -s -C "$top" daemon >/dev/null
		install -D -m 0755 "$top/build/massaged" "$root/usr/sbin/massaged"
		[ -x "$top/build/massagectl" ] && install -D -m 0755 "$top/build/massagectl" "$root/usr/bin/massagectl"
		install -D -m 0644 "$top/systemd/massaged.service" "$root/lib/systemd/system/massaged.service"
		for f in "$top"/udev/*.rules; do
			[ -f "$f" ] && install -D -m 0644 "$f" "$root/lib/udev/rules.d/$(basename "$f")"
		done
		for f in "$top"/systemd/sysusers.d/*.conf; do
			[ -f "$f" ] && install -D -m 0644 "$f" "$root/usr/lib/sysusers.d/$(basename "$f")"
		done
		for f in "$top"/daemon/*.conf "$top"/systemd/*.conf; do
			[ -f "$f" ] && grep -q busconfig "$f" &&
				install -D -m 0644 "$f" "$root/usr/share/dbus-1/system.d/$(basename "$f")"
		done
		true
	}
	chroot "$root" systemd-sysusers >/dev/null 2>&1 || true
	# What a package's postinst would have done.
	getent -s files passwd massaged >/dev/null 2>&1 ||
		chroot "$root" sh -c 'getent passwd massaged >/dev/null || useradd -r -U -d /nonexistent -s /usr/sbin/nologin massaged; getent group massage >/dev/null || groupadd -r massage' >/dev/null 2>&1 || true
fi
rm -f "$root/usr/sbin/policy-rc.d"
missing=$(chroot "$root" sh -c 'for b in /usr/sbin/massaged /usr/bin/massagectl; do [ -x $b ] && ldd $b; done' | grep 'not found' || true)
[ -z "$missing" ] || die "libraries missing in the image: $(echo $missing): add their packages to tests/vm/system/base-packages"
echo "[system] installed: $install_mode"

# Our modules for the guest kernel, and the kernel modules they and the
# board need (industrialio, kfifo_buf), then depmod as a package would.
mkdir -p "$root/lib/modules/$ver/updates"
cp "$out/src/kmod/massager.ko" "$out/src/kmod/massager-sim.ko" "$root/lib/modules/$ver/updates/"
want=$(for ko in "$out/src/kmod/"*.ko; do modinfo -F depends "$ko"; done | tr ',' ' ')
for rel in $(module_closure "$moddir" $want); do
	mkdir -p "$root/lib/modules/$ver/$(dirname "$rel")"
	cp "$moddir/$rel" "$root/lib/modules/$ver/$rel"
done
cp "$moddir"/modules.order "$moddir"/modules.builtin* "$root/lib/modules/$ver/" 2>/dev/null || true
depmod -b "$root" "$ver"

# --- 4. the test: script, unit, target, test users, test configuration
install -D -m 0755 "$here/station-test.sh" "$root/usr/local/libexec/massaged-test/station-test.sh"
install -m 0755 "$build/vm-watch" "$root/usr/local/libexec/massaged-test/vm-watch"
install -D -m 0644 "$here/massaged-station-test.service" "$root/etc/systemd/system/massaged-station-test.service"
install -D -m 0644 "$here/massaged-station-test.target" "$root/etc/systemd/system/massaged-station-test.target"
# The daemon's test fault hooks, in the guest only (never the shipped unit).
install -D -m 0644 "$here/massaged-test-hooks.conf" "$root/etc/systemd/system/massaged.service.d/50-test-hooks.conf"
# The station's configuration for TCG, as an administrator would edit it.
install -D -m 0644 "$here/massaged-test.conf" "$root/etc/massaged/massaged.conf"
cat >"$root/etc/massaged-test.env" <<EOF
INSTALL_MODE="$install_mode"
KILL9_ROUNDS=$kill9_rounds
GUEST_BUDGET_S=$((timeout_s - 60))
EOF
# A member of the station's group and a user outside it.
chroot "$root" sh -c '
	if getent group massage >/dev/null; then
		useradd -m -G massage alice
	else
		echo "[system] no group massage in the image: alice is not in it" >&2
		useradd -m alice
	fi
	useradd -m bob' || die "cannot add the test users"
umount "$root/proc"

# --- 5. the disk, the initramfs, the boot
img="$build/disk.img"
rm -f "$img"
size_mb=$(($(du -sm "$root" | cut -f1) * 3 / 2 + 256))
mkfs.ext4 -q -F -L massaged-vm -d "$root" "$img" "${size_mb}M" || die "mkfs.ext4 -d failed"

ird="$root.initramfs"
rm -rf "$ird"
mkdir -p "$ird/bin" "$ird/dev" "$ird/proc" "$ird/sys" "$ird/newroot" "$ird/mod"
cp "$busybox" "$ird/bin/busybox"
: >"$ird/modules.load"
for rel in $(module_closure "$moddir" virtio_pci virtio_blk ext4 crc32c_generic); do
	base_ko=$(basename "$rel")
	case "$base_ko" in
	*.ko.xz) xz -dc "$moddir/$rel" >"$ird/mod/${base_ko%.xz}"; base_ko=${base_ko%.xz} ;;
	*.ko.zst) zstd -qdc "$moddir/$rel" >"$ird/mod/${base_ko%.zst}"; base_ko=${base_ko%.zst} ;;
	*) cp "$moddir/$rel" "$ird/mod/$base_ko" ;;
	esac
	echo "$base_ko" >>"$ird/modules.load"
done
cat >"$ird/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
for m in $(/bin/busybox cat /modules.load); do
	/bin/busybox insmod /mod/$m || echo "massaged-vm: insmod $m failed"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do /bin/busybox sleep 0.1; i=$((i + 1)); done
/bin/busybox mount -t ext4 -o rw /dev/vda /newroot || {
	echo "massaged-vm: cannot mount /dev/vda"
	/bin/busybox poweroff -f
}
/bin/busybox umount /proc
/bin/busybox umount /dev
exec /bin/busybox switch_root /newroot /sbin/init
EOF
chmod +x "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet) | gzip -1 >"$build/initramfs.gz"
t_built=$(date +%s)
echo "[system] image ready in $((t_built - t_start)) s ($size_mb MB); booting $ver (TCG, timeout ${timeout_s} s)"

log="$build/console.log"
rc=0
# One guest at a time on this machine, from any clone: two TCG guests on
# two cores stall each other's vCPUs past the 50 ms heartbeat.
boot_lock=$(dirname "$base")/.boot.lock
exec 7>"$boot_lock"
if ! flock -n 7; then
	echo "[system] another full-system guest is running (lock $boot_lock); waiting"
	flock 7
fi
# thread=multi: with one host thread for both vCPUs (thread=single, as
# tests/vm/run.sh boots) TCG switches vCPUs on a 100 ms kick timer, so a
# busy vCPU (systemd, busctl) starved the control thread's past the
# kernel's 50 ms heartbeat in every calibration. tests/vm/run.sh keeps
# thread=single for 6.12's boot-time text-patching race; this boots 6.1.
timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 \
	-machine q35 -accel tcg,thread=multi -m 1024 -smp 2 \
	-nographic -no-reboot \
	-kernel "$vmlinuz" -initrd "$build/initramfs.gz" \
	-drive file="$img",format=raw,if=virtio \
	-append "console=ttyS0 root=/dev/vda rw panic=-1 loglevel=4 systemd.show_status=false systemd.unit=massaged-station-test.target" \
	</dev/null >"$log" 2>&1 || rc=$?
t_end=$(date +%s)
tr -d '\r' <"$log" >"$log.txt"

grep -E '^(ok |not ok |# |massaged-station(-journal)?: )' "$log.txt" | sed 's/^/[system] /' || true
pass=$(grep -c '^ok .*' "$log.txt" | tr -d ' ' || true)
skip=$(grep -c '^ok .*# SKIP' "$log.txt" || true)
pass=$((pass - skip))
fail=$(grep -c '^not ok ' "$log.txt" || true)
bad=$(grep -E 'Oops|(^|[^A-Z_])BUG[: ]|WARNING:|Call Trace:|general protection fault|Kernel panic' "$log.txt" || true)
if [ -n "$bad" ]; then
	echo "[system] kernel trouble in the guest log:"
	echo "$bad" | head -n 40 | sed 's/^/[system]   /'
	fail=$((fail + 1))
fi
verdict=$(grep '^massaged-station: verdict' "$log.txt" | tail -n 1 || true)
if [ -z "$verdict" ]; then
	if [ "$rc" = 124 ]; then
		echo "[system] TIMEOUT after ${timeout_s} s; last lines of $log.txt:"
	else
		echo "[system] no verdict (qemu exit $rc); last lines of $log.txt:"
	fi
	tail -n 60 "$log.txt" | sed 's/^/[system]   /'
	fail=$((fail + 1))
fi
echo "[system] installed: $install_mode"
echo "[system] build $((t_built - t_start)) s, boot and test $((t_end - t_built)) s"
[ "$keep" = 1 ] || rm -rf "$out/src" "$img"
[ "$keep" = 0 ] || echo "[system] kept: $root $img"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
