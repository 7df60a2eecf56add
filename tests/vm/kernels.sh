#!/bin/sh
# SPDX-License-Identifier: MIT
# kernels.sh - the Debian kernels the VM tests boot, resolved at run time.
#
# Flavours (ARCH the architecture, amd64 unless --arch arm64):
#   6.1   bookworm's linux-image-ARCH (on amd64 the one linux-headers-amd64
#         matches; on arm64 the same version when the arm64 archive has it)
#   6.12  the same metapackage from bookworm-backports
#   rt    bookworm's linux-image-rt-ARCH (PREEMPT_RT; on arm64 only when
#         asked for: "kernels.sh --arch arm64 install rt")
# Debian bumps the ABI number (6.1.0-NN) with every security update, so the
# exact versions are read from the metapackages' dependencies, never written
# down here.
#
#   kernels.sh [--arch A] install [flavour...]  install headers, fetch and unpack images
#   kernels.sh [--arch A] list [flavour...]     "flavour version headers_dir vmlinuz moddir"
#   kernels.sh [--arch A] resolve [flavour...]  "flavour version" only, no cache needed
#   kernels.sh --arch arm64 busybox             the guest's busybox (below)
#
# arm64 (the Raspberry Pi's architecture) is cross-built: its headers
# depend on an arm64 gcc-12, which cannot be installed beside the amd64
# toolchain, so they are not installed but unpacked into the cache with
# their -common tree and the amd64 linux-kbuild (Multi-Arch: foreign, its
# host tools run here): <cache>/<version>/headers/usr/src/linux-headers-*.
# The image's broadcom/ device trees are kept in <cache>/<version>/dtbs/.
# busybox-static:arm64 cannot be installed beside the amd64 one (both are
# /bin/busybox): install unpacks it into <cache>/busybox-arm64/.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/cache-dir.sh"
cache=$(massaged_cache_dir "$top")
arch=${MASSAGED_VM_ARCH:-amd64}
if [ "${1:-}" = --arch ]; then
	[ $# -ge 2 ] || { echo "kernels.sh: --arch needs amd64 or arm64" >&2; exit 2; }
	arch=$2
	shift 2
fi
case "$arch" in
amd64) all_flavours="6.1 6.12 rt"; pa="" ;;
# The arm64 packages are foreign here: apt names them NAME:arm64.
arm64) all_flavours="6.1 6.12"; pa=":arm64" ;;
*) echo "kernels.sh: unknown architecture '$arch' (amd64, arm64)" >&2; exit 2 ;;
esac
bpo_list=/etc/apt/sources.list.d/massaged-bookworm-backports.list

die() {
	echo "kernels.sh: $*" >&2
	exit 1
}

usage() {
	sed -n '3,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0"
}

have_backports() {
	grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/
}

# The first "linux-image-X" a metapackage version depends on.
meta_dep() { # meta-package version
	apt-cache show "$1$pa=$2" 2>/dev/null |
		sed -n 's/^Depends: //p' | head -n 1 | tr ',' '\n' |
		sed -n 's/^ *linux-image-\([^ ]*\).*/\1/p' | head -n 1
}

# Newest version of a package available from the suite (or "" when none).
suite_version() { # package suite
	apt-cache madison "$1$pa" 2>/dev/null |
		awk -F'|' -v s="$2" '$3 ~ " "s"[/ ]" || $3 ~ " "s"-security[/ ]" {gsub(/ /,"",$2); print $2}' |
		sort -V | tail -n 1
}

# The bookworm version of a 6.1 metapackage: the one of the installed
# linux-headers-amd64 when that is a 6.1 (so that the image matches the
# headers metapackage the rest of the project builds with; arm64 follows
# it, so that both architectures test one kernel), else the newest of
# bookworm and bookworm-security.
bookworm_version() { # meta-package
	v=$(dpkg-query -W -f='${Version}' linux-headers-amd64 2>/dev/null || true)
	case "$v" in
	6.1.*)
		if apt-cache show "$1$pa=$v" >/dev/null 2>&1; then
			echo "$v"
			return 0
		fi
		;;
	esac
	suite_version "$1" bookworm
}

# Print the kernel ABI version (e.g. 6.1.0-56-amd64) of a flavour.
resolve() { # flavour
	case "$1" in
	6.1)
		# The image must match the installed headers metapackage so that
		# the modules we build load into it.
		v=$(bookworm_version linux-image-$arch)
		[ -n "$v" ] || die "no linux-image-$arch$pa in bookworm: run 'make deps'"
		meta_dep linux-image-$arch "$v"
		;;
	6.12)
		v=$(suite_version linux-image-$arch bookworm-backports)
		[ -n "$v" ] || die "no linux-image-$arch$pa in bookworm-backports: run '$0 install' as root"
		meta_dep linux-image-$arch "$v"
		;;
	rt)
		v=$(bookworm_version linux-image-rt-$arch)
		[ -n "$v" ] || die "no linux-image-rt-$arch$pa in bookworm: run apt-get update"
		meta_dep linux-image-rt-$arch "$v"
		;;
	*)
		die "unknown flavour '$1' (known: $all_flavours)"
		;;
	esac
}

ensure_backports() {
	have_backports && return 0
	echo "kernels.sh: adding bookworm-backports in $bpo_list" >&2
	echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$bpo_list"
	apt-get update -qq
}

# Unpacked image directory for a version: vmlinuz and lib/modules/<ver>.
image_dir() {
	echo "$cache/$1"
}

# Download one package into the cache's debs/ and print its path.
fetch_deb() { # name[=version]
	mkdir -p "$cache/debs"
	name=${1%%=*}
	name=${name%%:*}
	deb=$(ls "$cache/debs/${name}_"*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		echo "kernels.sh: downloading $1" >&2
		# apt-get download drops privileges to _apt: use a directory it may write.
		(cd "$cache/debs" && chmod 777 . && apt-get download "$1" >/dev/null) ||
			die "apt-get download $1 failed"
		deb=$(ls "$cache/debs/${name}_"*.deb | head -n 1)
	fi
	echo "$deb"
}

# The headers of a foreign kernel, unpacked where list_one says.
headers_root() { # version
	echo "$cache/headers/$1"
}

install_headers() { # version
	hdr="linux-headers-$1"
	if [ "$arch" = amd64 ]; then
		dpkg-query -W -f='${Status}\n' "$hdr" 2>/dev/null | grep -q '^install ok installed$' &&
			return 0
		echo "kernels.sh: installing $hdr" >&2
		# Exact names only and no "-t bookworm-backports": a target
		# release would also upgrade linux-headers-amd64, linux-libc-dev
		# and friends to backports. The versioned packages exist in one
		# suite only, so apt finds them without a pin.
		apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
			--no-install-recommends "$hdr"
		return 0
	fi
	root=$(headers_root "$1")
	[ ! -x "$root/usr/src/$hdr/scripts/basic/fixdep" ] || return 0
	deb=$(fetch_deb "$hdr$pa")
	# Its -common tree (all) at the same version, and linux-kbuild (amd64:
	# fixdep, modpost and friends run on this machine).
	deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n')
	common=$(echo "$deps" | sed -n 's/^ *\(linux-headers-[^ ]*-common[^ ]*\) (= \([^)]*\)).*/\1=\2/p')
	kbuild=$(echo "$deps" | sed -n 's/^ *\(linux-kbuild-[^ ]*\).*/\1/p')
	[ -n "$common" ] && [ -n "$kbuild" ] ||
		die "$hdr: no -common or linux-kbuild in its Depends: $deps"
	debs="$deb $(fetch_deb "$common") $(fetch_deb "$kbuild")"
	rm -rf "$root.tmp"
	mkdir -p "$root.tmp"
	for d in $debs; do
		dpkg-deb -x "$d" "$root.tmp"
	done
	rm -rf "$root.tmp/lib/modules"
	# The arch tree includes the -common Makefile by absolute path; its
	# scripts and tools links are relative and land in the private root.
	sed -i "s|^include /usr/src/|include $root/usr/src/|" "$root.tmp/usr/src/$hdr/Makefile"
	[ -x "$root.tmp/usr/src/$hdr/scripts/basic/fixdep" ] ||
		die "$hdr: scripts/basic/fixdep missing after unpacking $debs"
	rm -rf "$root"
	mv "$root.tmp" "$root"
	rm -f $debs
}

install_one() { # flavour
	ver=$(resolve "$1")
	[ -n "$ver" ] || die "cannot resolve flavour $1"
	install_headers "$ver"
	dir=$(image_dir "$ver")
	if [ -s "$dir/vmlinuz" ] && [ -s "$dir/lib/modules/$ver/modules.dep" ]; then
		return 0
	fi
	deb=$(fetch_deb "linux-image-$ver$pa")
	# Each image's debs go after use: the unpacked tree is what we keep.
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$dir.tmp" --wildcards "./boot/vmlinuz-*" "./lib/modules/*" 2>/dev/null ||
		dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$dir.tmp" --wildcards "./boot/vmlinuz-*" "./usr/lib/modules/*"
	[ -d "$dir.tmp/lib/modules" ] || { mkdir -p "$dir.tmp/lib" && mv "$dir.tmp/usr/lib/modules" "$dir.tmp/lib/"; }
	mv "$dir.tmp/boot/vmlinuz-$ver" "$dir.tmp/vmlinuz"
	rmdir "$dir.tmp/boot"
	# arm64: the Raspberry Pi device trees the image ships (the base the
	# Pi overlay is applied to, tests/vm/dt-check.sh).
	if [ "$arch" = arm64 ]; then
		mkdir -p "$dir.tmp/dtbs"
		dpkg-deb --fsys-tarfile "$deb" |
			tar -x -C "$dir.tmp/dtbs" --strip-components=4 --wildcards \
				"./usr/lib/linux-image-$ver/broadcom/bcm27*-rpi-*.dtb"
	fi
	# The deb ships no modules.dep: make it (depmod in a private root).
	depmod -b "$dir.tmp" "$ver"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	rm -f "$deb"
}

# The static busybox of a foreign architecture, for the guest's initramfs.
busybox_path() {
	echo "$cache/busybox-$arch/bin/busybox"
}

install_busybox() {
	[ "$arch" != amd64 ] || return 0
	bb=$(busybox_path)
	[ ! -x "$bb" ] || return 0
	deb=$(fetch_deb "busybox-static$pa")
	rm -rf "$cache/busybox-$arch"
	dpkg-deb -x "$deb" "$cache/busybox-$arch"
	rm -f "$deb"
	[ -x "$bb" ] || die "no bin/busybox in $deb"
}

list_one() { # flavour
	ver=$(resolve "$1")
	dir=$(image_dir "$ver")
	hdr=/usr/src/linux-headers-$ver
	[ "$arch" = amd64 ] || hdr=$(headers_root "$ver")$hdr
	echo "$1 $ver $hdr $dir/vmlinuz $dir/lib/modules/$ver"
}

cmd="${1:-}"
[ $# -eq 0 ] || shift
[ $# -gt 0 ] || set -- $all_flavours
case "$cmd" in
install)
	[ "$(id -u)" = 0 ] || die "install needs root (apt-get install)"
	export DEBIAN_FRONTEND=noninteractive
	for f in "$@"; do
		[ "$f" != 6.12 ] || ensure_backports
	done
	for f in "$@"; do
		install_one "$f"
	done
	install_busybox
	;;
busybox)
	[ "$arch" != amd64 ] || die "amd64 uses the installed busybox-static"
	busybox_path
	;;
list)
	for f in "$@"; do
		list_one "$f"
	done
	;;
resolve)
	for f in "$@"; do
		echo "$f $(resolve "$f")"
	done
	;;
-h | --help | help)
	usage
	;;
*)
	usage >&2
	exit 2
	;;
esac
