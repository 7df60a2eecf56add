#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - the browser test of the Cockpit page (make check-ui).
#
# Usage: tests/ui/run.sh [--serve]        (as root)
#
# Headless Chromium, driven over WebDriver (Debian's chromium-driver) by
# tests/ui/browser-test.py, logs in to the real cockpit-ws with a password
# (PAM, cockpit-session, cockpit-bridge as that user) and uses the page as
# installed by "make install-ui", against the real massaged (simulation
# backend) on a real dbus-daemon with Debian's system-bus defaults and our
# shipped policy.
#
# Everything runs in a private mount namespace (unshare -m) in which:
#   - /run is a fresh tmpfs, so /run/dbus/system_bus_socket - the system
#     bus every client finds by default, cockpit-bridge included - is a
#     dbus-daemon of ours; the machine's own bus, if any, is never touched;
#   - /etc/passwd, /etc/group and /etc/shadow are copies that add alice
#     (in the group "massage") and bob (outside it), with passwords, so
#     PAM, dbus-daemon's policy and the daemon's group check see them as
#     real users without the machine's user database being changed;
#   - /usr/share/cockpit is a copy with our page installed in it.
# Nothing outside the namespace changes, and two clones can run at once
# (each picks free ports).
#
# Output: build/ui/ (screenshots/*.png at 800x480 and 1280x800, the
# downloaded export, logs). Last line: "ui: N passed, N failed".
# --serve: set everything up, print the URL and the logins, and wait (for
# a person with a browser and an ssh tunnel; Ctrl-C ends it).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/ui"
serve=0

die() {
	echo "ui: $*" >&2
	exit 1
}

case "${1:-}" in
--inside) ;;
--serve) serve=1 ;;
"") ;;
-h | --help) sed -n '3,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
*) die "unknown argument $1 (see --help)" ;;
esac

if [ "${1:-}" != --inside ]; then
	[ "$(id -u)" = 0 ] || die "needs root (a mount namespace, PAM logins as test users): run it as 'make check-ui' does"
	for tool in unshare dbus-daemon chromium chromedriver python3 openssl \
		/usr/lib/cockpit/cockpit-ws /usr/lib/cockpit/cockpit-session cockpit-bridge; do
		command -v "$tool" >/dev/null || die "$tool missing: run 'make deps'"
	done
	[ -x "$top/build/massaged" ] || die "build/massaged missing: run 'make daemon'"
	[ -f "$top/build/ui/dest/usr/share/cockpit/massaged/manifest.json" ] ||
		die "the page is not built: run 'make check-ui' (it installs into build/ui/dest)"
	exec unshare -m --propagation private env UI_SERVE=$serve sh "$0" --inside
fi

# ---- inside the private mount namespace from here on
T=$(mktemp -d /tmp/massaged-ui.XXXXXX)
chmod 755 "$T"
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	sleep 0.3
	for p in $pids; do
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- users: alice (massage), bob (outside), the daemon's group
mkdir -p "$T/etc" "$T/home/alice" "$T/home/bob"
cp /etc/passwd /etc/group /etc/shadow "$T/etc/"
alice_pw=alice-test-pw
bob_pw=bob-test-pw
cat >>"$T/etc/passwd" <<EOF
alice:x:61001:61001:Alice (massage group):$T/home/alice:/bin/sh
bob:x:61002:61002:Bob (outside the group):$T/home/bob:/bin/sh
EOF
for u in alice bob; do
	! grep -q "^$u:" /etc/passwd || die "this machine has a user $u already; the test needs its own"
done
# A station's own group massage (massaged installed here) gets alice in
# the copy; otherwise the copy has one.
if grep -q '^massage:' "$T/etc/group"; then
	sed -i '/^massage:/{s/:$/:alice/;t;s/$/,alice/}' "$T/etc/group"
else
	echo 'massage:x:61000:alice' >>"$T/etc/group"
fi
cat >>"$T/etc/group" <<EOF
alice:x:61001:
bob:x:61002:
EOF
printf 'alice:%s:19000:0:99999:7:::\nbob:%s:19000:0:99999:7:::\n' \
	"$(openssl passwd -6 "$alice_pw")" "$(openssl passwd -6 "$bob_pw")" >>"$T/etc/shadow"
chown 61001:61001 "$T/home/alice"
chown 61002:61002 "$T/home/bob"
for f in passwd group shadow; do
	mount --bind "$T/etc/$f" "/etc/$f"
done

# --- Cockpit's packages with ours installed among them
mkdir -p "$T/cockpit"
cp -a /usr/share/cockpit/. "$T/cockpit/"
cp -a "$top/build/ui/dest/usr/share/cockpit/massaged" "$T/cockpit/"
mount --bind "$T/cockpit" /usr/share/cockpit

# --- the system bus: a private /run, our dbus-daemon at the standard path
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/dbus
cat >"$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <!-- the test daemon runs as root, as in tests/integration -->
  <policy user="root"><allow own="org.massaged.Massager1"/></policy>
  <include>$top/daemon/org.massaged.Massager1.conf</include>
</busconfig>
EOF
dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile >"$T/dbus.log" 2>&1 &
pids="$pids $!"
i=0
while [ ! -S /run/dbus/system_bus_socket ]; do
	[ $i -lt 100 ] || die "dbus-daemon did not start: $(cat "$T/dbus.log")"
	sleep 0.05
	i=$((i + 1))
done

# --- massaged: the simulation backend, the shipped programs
mkdir -p "$T/state" "$out"
cp "$top/tests/integration/sim-calibration" "$T/state/calibration"
printf '# the ui test: defaults\n' >"$T/massaged.conf"
STATE_DIRECTORY="$T/state" MASSAGED_PROGRAMS_PATH="$top/tests/ui/programs:$top/programs" \
	"$top/build/massaged" --simulate --config "$T/massaged.conf" \
	--control-socket "$T/ctl" >"$out/massaged.log" 2>&1 &
pids="$pids $!"
i=0
while ! busctl --system status org.massaged.Massager1 >/dev/null 2>&1; do
	[ $i -lt 200 ] || die "massaged did not take its name: $(tail -n 20 "$out/massaged.log")"
	sleep 0.05
	i=$((i + 1))
done

# --- cockpit-ws, plain http on loopback (as behind a station's kiosk)
ws_port=$(free_port)
mkdir -p "$T/cockpit-etc/cockpit"
/usr/lib/cockpit/cockpit-ws --no-tls --address 127.0.0.1 --port "$ws_port" \
	>"$out/cockpit-ws.log" 2>&1 &
pids="$pids $!"
i=0
while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $ws_port), 1)" 2>/dev/null; do
	[ $i -lt 100 ] || die "cockpit-ws did not listen: $(cat "$out/cockpit-ws.log")"
	sleep 0.1
	i=$((i + 1))
done

if [ "${UI_SERVE:-0}" = 1 ]; then
	echo "ui: Cockpit on http://127.0.0.1:$ws_port/massaged (alice / $alice_pw in massage, bob / $bob_pw outside); Ctrl-C ends"
	while :; do sleep 3600; done
fi

# --- the browser
wd_port=$(free_port)
chromedriver --port="$wd_port" --log-path="$out/chromedriver.log" >/dev/null 2>&1 &
pids="$pids $!"
rm -rf "$out/screenshots" "$out/downloads"
mkdir -p "$out/screenshots" "$out/downloads"
python3 "$top/tests/ui/browser-test.py" \
	--cockpit "http://127.0.0.1:$ws_port" --webdriver "http://127.0.0.1:$wd_port" \
	--ctl "$T/ctl" --out "$out" --profile "$T/chromium-profile" \
	--member alice:"$alice_pw" --outsider bob:"$bob_pw"
