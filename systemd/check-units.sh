#!/bin/sh
# SPDX-License-Identifier: MIT
# make check-units: systemd-analyze verify on the units, udevadm verify on
# the rules, xmllint on the bus policy, and the offline security score of massaged.service and
# massaged-sim.service, each failing above the limit.
#
#   systemd/check-units.sh BUILT_MASSAGED MAX_EXPOSURE
#
# verify wants ExecStart= to exist, so it runs on copies whose ExecStart=
# points at the built binary; the user "massaged" need not exist here.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$1
max=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

for u in massaged.service massaged-sim.service; do
	sed "s|^ExecStart=/usr/sbin/massaged|ExecStart=$bin|" \
		"$top/systemd/$u" >"$tmp/$u"
done
# Conflicts= names the other unit: verify both together.
if ! SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
	"$tmp/massaged.service" "$tmp/massaged-sim.service" >"$tmp/verify.log" 2>&1 ||
	grep -v -e 'Failed to .*dbus' -e '^$' "$tmp/verify.log" | grep -q .; then
	cat "$tmp/verify.log"
	echo "units: systemd-analyze verify failed" >&2
	fail=1
else
	echo "units: systemd-analyze verify: clean"
fi

# The names resolve only where sysusers has run: check the syntax here.
# udevadm verify came with systemd 253; bookworm has 252, where the
# rules are proved in a booted guest instead (check-vm-system's udev
# items), so its absence is said, not failed.
if ! udevadm verify --help >/dev/null 2>&1; then
	echo "udev: udevadm $(udevadm --version) has no verify (systemd >= 253): the rules are checked by check-vm-system's udev"
elif udevadm verify --resolve-names=never --no-summary \
	"$top/udev/60-massager.rules"; then
	echo "udev: udevadm verify: clean"
else
	echo "udev: udevadm verify failed" >&2
	fail=1
fi

# The bus policy must at least parse: dbus-daemon skips a broken file
# with a warning, and then nobody but root may call the daemon.
if xmllint --noout "$top/daemon/org.massaged.Massager1.conf"; then
	echo "dbus: org.massaged.Massager1.conf: well-formed"
else
	echo "dbus: org.massaged.Massager1.conf is not well-formed XML" >&2
	fail=1
fi

for u in massaged.service massaged-sim.service; do
	x=$(systemd-analyze security --offline=yes --no-pager \
		"$top/systemd/$u" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -z "$x" ]; then
		echo "units: no security score for $u" >&2
		fail=1
		continue
	fi
	echo "security: exposure=$x unit=$u limit=$max"
	awk -v x="$x" -v m="$max" 'BEGIN { exit !(x <= m) }' || {
		echo "units: $u exposure $x is above $max" >&2
		fail=1
	}
done
exit $fail
