#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages the build and the tests need.
#
# Every area lists its packages in mk/deps/<area>.list, one a line; a line
# "backports: NAME" takes NAME from bookworm-backports. A line may also be
# "cmd: SCRIPT" to run an area's own installer (kernel images, for example)
# after the packages are in. As root on Debian the missing packages are
# installed with apt-get; otherwise the exact command is printed and we fail.
# DEPS_SIMULATE=1 only resolves them (apt-get install -s) and runs no
# "cmd:" (tests/fresh: every list installs on a fresh bookworm).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
lists="${DEPS_LISTS:-$top/mk/deps/*.list}"
pkgs=""
bpo=""
cmds=""
for f in $lists; do
	while IFS= read -r line; do
		line=${line%%#*}
		set -- $line
		[ $# -gt 0 ] || continue
		case "$1" in
		backports:) bpo="$bpo $2" ;;
		cmd:) shift; cmds="$cmds
$*" ;;
		*) pkgs="$pkgs $1" ;;
		esac
	done <"$f"
done

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
missing_bpo=""
for p in $bpo; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing_bpo="$missing_bpo $p"
done

bpo_list=/etc/apt/sources.list.d/massaged-bookworm-backports.list
if [ -n "$missing$missing_bpo" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "massaged: missing packages:$missing$missing_bpo" >&2
		echo "Install them as root with:" >&2
		[ -z "$missing_bpo" ] || echo "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > $bpo_list" >&2
		echo "  apt-get update && apt-get install -y$missing${missing_bpo:+ -t bookworm-backports$missing_bpo}" >&2
		exit 1
	fi
	if [ -n "$missing_bpo" ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
		echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$bpo_list"
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	how="-qq"
	[ -z "${DEPS_SIMULATE:-}" ] || how="-s"
	[ -z "$missing" ] || apt-get install -y $how --no-install-recommends $missing
	[ -z "$missing_bpo" ] || apt-get install -y $how --no-install-recommends -t bookworm-backports $missing_bpo
fi
[ -z "${DEPS_SIMULATE:-}" ] || exit 0

echo "$cmds" | while IFS= read -r c; do
	[ -n "$c" ] || continue
	# "SCRIPT ARGS...": the script relative to the top, then its arguments.
	set -- $c
	script=$1
	shift
	sh "$top/$script" "$@"
done
