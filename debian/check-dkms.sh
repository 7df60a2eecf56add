#!/bin/sh
# SPDX-License-Identifier: MIT
# make check-dkms: build the massager-dkms source tree with dkms against
# an installed kernel's headers, the way the package's postinst does, but
# in a private dkms and source tree (nothing under /var/lib/dkms or
# /usr/src is touched).
#
#   debian/check-dkms.sh [KERNEL_VERSION]
#
# Without a version: the newest installed Debian 6.1 amd64 headers (not
# -rt), resolved now: Debian bumps the ABI number with security updates.
# The source tree is laid out exactly as debian/rules installs it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
kver=${1:-}
if [ -z "$kver" ]; then
	kver=$(ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null |
		grep -v -- '-rt-' | sed 's|.*/linux-headers-||' | sort -V | tail -1)
fi
[ -n "$kver" ] && [ -d "/usr/src/linux-headers-$kver" ] || {
	echo "dkms: no linux-headers-6.1.*-amd64 installed: run 'make deps'" >&2
	exit 1
}
command -v dkms >/dev/null || {
	echo "dkms: dkms missing: run 'make deps'" >&2
	exit 1
}
ver=$(dpkg-parsechangelog -l "$top/debian/changelog" -SVersion)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src/massager-$ver
mkdir -p "$src/kmod" "$src/include/uapi" "$src/lib" "$tmp/dkms"
cp "$top"/kmod/Kbuild "$top"/kmod/*.c "$top"/kmod/*.h "$src/kmod/"
cp "$top"/include/*.h "$src/include/"
cp "$top"/include/uapi/*.h "$src/include/uapi/"
cp "$top"/lib/plant.c "$top"/lib/plant.h "$src/lib/"
sed "s/#MODULE_VERSION#/$ver/" "$top/debian/massager-dkms.dkms" >"$src/dkms.conf"

start=$(date +%s)
opts="--dkmstree $tmp/dkms --sourcetree $tmp/src"
if ! dkms add $opts -m massager -v "$ver" >"$tmp/log" 2>&1 ||
	! dkms build $opts -m massager -v "$ver" -k "$kver" \
		--kernelsourcedir "/usr/src/linux-headers-$kver" >>"$tmp/log" 2>&1; then
	cat "$tmp/log"
	find "$tmp/dkms" -name make.log -exec cat {} + 2>/dev/null || true
	echo "dkms: massager/$ver failed to build for $kver" >&2
	exit 1
fi
mods=$(cd "$tmp/dkms/massager/$ver/$kver" && find . -name '*.ko*' -printf '%f ')
if find "$tmp/dkms" -name make.log -exec grep -E 'warning:|error:' {} +; then
	echo "dkms: warnings building massager/$ver for $kver" >&2
	exit 1
fi
echo "dkms: massager/$ver built for $kver in $(($(date +%s) - start)) s:" $mods
