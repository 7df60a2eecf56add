#!/bin/sh
# SPDX-License-Identifier: MIT
# kernels.sh - the Debian kernels the VM tests boot, resolved at run time.
#
# Flavours:
#   6.1   bookworm's linux-image-amd64 (the one linux-headers-amd64 matches)
#   6.12  the same metapackage from bookworm-backports
#   rt    bookworm's linux-image-rt-amd64 (PREEMPT_RT)
# Debian bumps the ABI number (6.1.0-NN) with every security update, so the
# exact versions are read from the metapackages' dependencies, never written
# down here.
#
#   kernels.sh install [flavour...]  install headers, fetch and unpack images
#   kernels.sh list [flavour...]     "flavour version headers_dir vmlinuz moddir"
#   kernels.sh resolve [flavour...]  "flavour version" only, no cache needed
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
# The cache outlives clones (CI works in a fresh one): /var/cache when it
# exists or we may create it, else beside this script (gitignored).
if [ -n "${MASSAGED_VM_CACHE:-}" ]; then
	cache=$MASSAGED_VM_CACHE
elif [ -d /var/cache/massaged-vm ] || [ "$(id -u)" = 0 ]; then
	cache=/var/cache/massaged-vm
else
	cache="$top/tests/vm/cache"
fi
all_flavours="6.1 6.12 rt"
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
	apt-cache show "$1=$2" 2>/dev/null |
		sed -n 's/^Depends: //p' | head -n 1 | tr ',' '\n' |
		sed -n 's/^ *linux-image-\([^ ]*\).*/\1/p' | head -n 1
}

# Newest version of a package available from the suite (or "" when none).
suite_version() { # package suite
	apt-cache madison "$1" 2>/dev/null |
		awk -F'|' -v s="$2" '$3 ~ " "s"[/ ]" || $3 ~ " "s"-security[/ ]" {gsub(/ /,"",$2); print $2}' |
		sort -V | tail -n 1
}

# The bookworm version of a 6.1 metapackage: the one of the installed
# linux-headers-amd64 when that is a 6.1 (so that the image matches the
# headers metapackage the rest of the project builds with), else the newest
# of bookworm and bookworm-security.
bookworm_version() { # meta-package
	v=$(dpkg-query -W -f='${Version}' linux-headers-amd64 2>/dev/null || true)
	case "$v" in
	6.1.*)
		if apt-cache show "$1=$v" >/dev/null 2>&1; then
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
		v=$(bookworm_version linux-image-amd64)
		[ -n "$v" ] || die "no linux-image-amd64 in bookworm: run apt-get update"
		meta_dep linux-image-amd64 "$v"
		;;
	6.12)
		v=$(suite_version linux-image-amd64 bookworm-backports)
		[ -n "$v" ] || die "no linux-image-amd64 in bookworm-backports: run '$0 install' as root"
		meta_dep linux-image-amd64 "$v"
		;;
	rt)
		v=$(bookworm_version linux-image-rt-amd64)
		[ -n "$v" ] || die "no linux-image-rt-amd64 in bookworm: run apt-get update"
		meta_dep linux-image-rt-amd64 "$v"
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

install_one() { # flavour
	ver=$(resolve "$1")
	[ -n "$ver" ] || die "cannot resolve flavour $1"
	hdr="linux-headers-$ver"
	if ! dpkg-query -W -f='${Status}\n' "$hdr" 2>/dev/null | grep -q '^install ok installed$'; then
		echo "kernels.sh: installing $hdr" >&2
		# Exact names only and no "-t bookworm-backports": a target
		# release would also upgrade linux-headers-amd64, linux-libc-dev
		# and friends to backports. The versioned packages exist in one
		# suite only, so apt finds them without a pin.
		apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
			--no-install-recommends "$hdr"
	fi
	dir=$(image_dir "$ver")
	if [ -s "$dir/vmlinuz" ] && [ -s "$dir/lib/modules/$ver/modules.dep" ]; then
		return 0
	fi
	mkdir -p "$cache/debs"
	deb=$(ls "$cache/debs/linux-image-${ver}_"*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		echo "kernels.sh: downloading linux-image-$ver" >&2
		# apt-get download drops privileges to _apt: use a directory it may write.
		(cd "$cache/debs" && chmod 777 . && apt-get download "linux-image-$ver" >/dev/null) ||
			die "apt-get download linux-image-$ver failed"
		deb=$(ls "$cache/debs/linux-image-${ver}_"*.deb | head -n 1)
	fi
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
	# The deb ships no modules.dep: make it (depmod in a private root).
	depmod -b "$dir.tmp" "$ver"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	rm -f "$deb"
}

list_one() { # flavour
	ver=$(resolve "$1")
	dir=$(image_dir "$ver")
	echo "$1 $ver /usr/src/linux-headers-$ver $dir/vmlinuz $dir/lib/modules/$ver"
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
