#!/bin/sh
# SPDX-License-Identifier: MIT
# arm64.sh - the arm64 (Raspberry Pi 4/5) side of the cross build, as root.
#
# Run by mk/deps.sh through mk/deps/arm64.list after the amd64 packages.
# The daemon's libraries must come for the architecture they are linked
# for, so arm64 is added as a dpkg foreign architecture and their -dev
# packages are installed as :arm64 beside the amd64 ones (Multi-Arch:
# same; apt keeps both at the same version). The cross compiler itself
# (gcc-aarch64-linux-gnu) is an amd64 package and is in arm64.list.
set -eu

# Each is Multi-Arch: same. pkg-config:arm64 brings
# /usr/bin/aarch64-linux-gnu-pkg-config, which reads the arm64 .pc files;
# libc6-dev:arm64 the static libc the VM test program links.
pkgs="libc6-dev:arm64 pkg-config:arm64 libsystemd-dev:arm64 \
libudev-dev:arm64 libgpiod-dev:arm64 libsqlite3-dev:arm64 libcmocka-dev:arm64"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ]; then
	echo "arm64.sh: missing:$missing" >&2
	echo "Install them as root with:" >&2
	echo "  dpkg --add-architecture arm64 && apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	echo "arm64.sh: adding the arm64 architecture (dpkg --add-architecture)" >&2
	dpkg --add-architecture arm64
fi
apt-get update -qq
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $missing
