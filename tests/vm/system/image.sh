#!/bin/sh
# SPDX-License-Identifier: MIT
# image.sh - the Debian bookworm base of the full-system test, cached.
#
# Usage: tests/vm/system/image.sh          (as root)
#
# Prints the path of a tarball of a debootstrapped bookworm (minbase plus
# tests/vm/system/base-packages), building it first when it is missing.
# The tarball is keyed by the package list, the suite, the mirror and the
# setup below: editing any of them builds a new one (the old ones are
# removed). debootstrap needs the network (deb.debian.org) the first time
# only; it takes 2-4 minutes here and the time is printed.
#
# Cache: $MASSAGED_VM_CACHE/system/, else /var/cache/massaged-vm/system/
# (as tests/vm/kernels.sh). Environment: MASSAGED_VM_MIRROR (default
# http://deb.debian.org/debian).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
. "$top/tests/cache-dir.sh"
cache=$(massaged_cache_dir "$top" system)
suite=bookworm
mirror=${MASSAGED_VM_MIRROR:-http://deb.debian.org/debian}
# Bump when the setup in build_base changes in a way the key cannot see.
setup_version=1

die() {
	echo "image.sh: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "debootstrap and chroot need root (make check runs as root)"
command -v debootstrap >/dev/null || die "debootstrap missing: run 'make deps'"

packages=$(sed 's/#.*//' "$here/base-packages" | tr -s ' \n' '\n' | sed '/^$/d' | sort | tr '\n' ',' | sed 's/,$//')
key=$(printf '%s\n' "$suite" "$mirror" "$packages" "$setup_version" | sha256sum | cut -c1-16)
tarball="$cache/base-$suite-$key.tar"

if [ -s "$tarball" ]; then
	echo "$tarball"
	exit 0
fi

# Only one build at a time; a second caller waits and then finds it.
mkdir -p "$cache"
exec 8>"$cache/.lock"
flock 8
if [ -s "$tarball" ]; then
	echo "$tarball"
	exit 0
fi

# The base: minbase, our packages, and what makes a quiet, quick,
# deterministic boot on a serial console with no network.
build_base() { # root
	debootstrap --variant=minbase --include="$packages" "$suite" "$1" "$mirror" >&2
	# A fixed machine-id: an empty one means "first boot", and
	# systemd-firstboot would then prompt on the console.
	rm -f "$1/etc/machine-id"
	chroot "$1" systemd-machine-id-setup >/dev/null
	echo massaged-vm >"$1/etc/hostname"
	# fsck pass 0: the image is made fresh for each run.
	echo '/dev/vda / ext4 rw,errors=remount-ro 0 0' >"$1/etc/fstab"
	# No login prompts, timers or network waits in a test guest.
	for u in serial-getty@ttyS0.service getty@tty1.service \
		apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
		fstrim.timer systemd-timesyncd.service; do
		ln -sf /dev/null "$1/etc/systemd/system/$u"
	done
	chroot "$1" apt-get clean
	rm -rf "$1/var/lib/apt/lists/"* "$1/var/cache/apt/"*.bin
}

t0=$(date +%s)
echo "image.sh: building the $suite base image ($packages) from $mirror; once, cached in $cache" >&2
tmp="$cache/build.$$"
rm -rf "$tmp"
mkdir -p "$tmp/root"
if ! build_base "$tmp/root"; then
	rm -rf "$tmp"
	die "debootstrap of $suite failed (network? $mirror)"
fi
tar -C "$tmp/root" --numeric-owner --xattrs -cf "$tmp/base.tar" .
rm -f "$cache"/base-"$suite"-*.tar
mv "$tmp/base.tar" "$tarball"
rm -rf "$tmp"
echo "image.sh: base image built in $(($(date +%s) - t0)) s: $tarball ($(du -m "$tarball" | cut -f1) MB)" >&2
echo "$tarball"
