#!/bin/sh
# SPDX-License-Identifier: MIT
# root.sh - a fresh Debian bookworm root for tests/fresh/run.sh, cached.
#
# Usage: tests/fresh/root.sh          (as root)
#
# Prints the path of a tarball of `debootstrap --variant=minbase bookworm`
# and nothing else: no compiler, no pkg-config, no systemd, no dbus. That
# is less than a fresh Debian 12 installation has, so what the newcomer's
# commands work with here they work with there. Built once (about a
# minute; the time is printed), keyed by the suite, the mirror and the
# setup version; a new key removes the old tarball.
#
# Cache: $MASSAGED_VM_CACHE/fresh/, else /var/cache/massaged-vm/fresh/
# (as tests/vm/system/image.sh). Environment: MASSAGED_VM_MIRROR (default
# http://deb.debian.org/debian).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/cache-dir.sh"
cache=$(massaged_cache_dir "$top" fresh)
suite=bookworm
mirror=${MASSAGED_VM_MIRROR:-http://deb.debian.org/debian}
# Bump when what is done to the root below changes.
setup_version=1

die() {
	echo "root.sh: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "debootstrap needs root (make check runs as root)"
command -v debootstrap >/dev/null || die "debootstrap missing: run 'make deps'"

key=$(printf '%s\n' "$suite" "$mirror" minbase "$setup_version" | sha256sum | cut -c1-16)
tarball="$cache/root-$suite-$key.tar"
[ -s "$tarball" ] && { echo "$tarball"; exit 0; }

mkdir -p "$cache"
exec 8>"$cache/.lock"
flock 8
[ -s "$tarball" ] && { echo "$tarball"; exit 0; }

t0=$(date +%s)
echo "root.sh: debootstrap --variant=minbase $suite from $mirror; once, cached in $cache" >&2
tmp="$cache/build.$$"
rm -rf "$tmp"
mkdir -p "$tmp/root"
if ! debootstrap --variant=minbase "$suite" "$tmp/root" "$mirror" >&2; then
	rm -rf "$tmp"
	die "debootstrap of $suite failed (network? $mirror)"
fi
# What the installer leaves: an apt that has never run "update".
chroot "$tmp/root" apt-get clean
rm -rf "$tmp/root/var/lib/apt/lists/"* "$tmp/root/var/cache/apt/"*.bin
tar -C "$tmp/root" --numeric-owner --xattrs -cf "$tmp/root.tar" .
rm -f "$cache"/root-"$suite"-*.tar
mv "$tmp/root.tar" "$tarball"
rm -rf "$tmp"
echo "root.sh: fresh root built in $(($(date +%s) - t0)) s: $tarball ($(du -m "$tarball" | cut -f1) MB)" >&2
echo "$tarball"
