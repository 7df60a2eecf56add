#!/bin/sh
# SPDX-License-Identifier: MIT
# demo/run.sh: a simulated massage station, live, in about two minutes.
#
# Starts a private D-Bus system bus and massaged with its simulation
# backend (no kernel module, no root service: this runs on any Linux
# machine), lets it calibrate the simulated motor as a new station does,
# then runs the shipped program "upper-trapezius-pair" (2 x 30 s at
# 45 Hz) at real pacing with the pad on a simulated body, showing
# `massagectl monitor`, and ends with the session's history and dose.
#
# `make demo` runs it after `make deps` and `make`. For the same station
# under real systemd, udev and the kernel module, see
# docs/packaging.md ("A simulated station") and tests/vm/system.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$top/build}
PROGRAM=${DEMO_PROGRAM:-upper-trapezius-pair}
T=$(mktemp -d /tmp/massaged-demo.XXXXXX)
BUS_PID= D_PID= MON_PID=

cleanup() {
	[ -n "$MON_PID" ] && kill "$MON_PID" 2>/dev/null
	[ -n "$D_PID" ] && kill -TERM "$D_PID" 2>/dev/null && wait "$D_PID" 2>/dev/null
	[ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
sim() { "$B/tests/integration/massaged-ctl" "$T/ctl" "$@" >/dev/null; }
ctl() { "$B/massagectl" "$@"; }
prop() {
	busctl get-property org.massaged.Massager1 /org/massaged/Massager1 \
		org.massaged.Massager1 "$1" | sed 's/^[^ ]* //; s/"//g'
}
wait_state() {	# STATE SECONDS
	i=0
	while [ "$(prop State)" != "$1" ]; do
		i=$((i + 1))
		[ $i -le $(($2 * 10)) ] || { echo "demo: the station did not become $1 (it is $(prop State))" >&2; cat "$T/log" >&2; exit 1; }
		sleep 0.1
	done
}

say "A private system bus and the daemon, simulating the massager"
cat >"$T/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow eavesdrop="true"/>
    <allow send_destination="*" eavesdrop="true"/>
  </policy>
</busconfig>
CONF
BUS_PID=$(dbus-daemon --config-file="$T/bus.conf" --fork --print-pid)
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus
while [ ! -S "$T/bus" ]; do sleep 0.05; done
# Real-time scheduling needs root or RLIMIT_RTPRIO; elsewhere the demo
# runs degraded, and the daemon says so in its status.
degraded=
[ "$(id -u)" = 0 ] || degraded=--allow-degraded
echo "# demo station" >"$T/massaged.conf"
STATE_DIRECTORY=$T MASSAGED_PROGRAMS_PATH=$top/programs \
	"$B/massaged" --simulate --config "$T/massaged.conf" \
	--control-socket "$T/ctl" $degraded >"$T/log" 2>&1 &
D_PID=$!
i=0
until busctl status org.massaged.Massager1 >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -le 100 ] || { cat "$T/log" >&2; exit 1; }
	sleep 0.1
done
sed 's/^<[0-9]>/  massaged: /' "$T/log"

say "First start: calibrating the motor in free air (about 9 s)"
wait_state idle 30
ctl status

say "The program"
ctl show-program "$PROGRAM"

say "The pad goes onto the patient's upper back; the session starts"
sim contact 1 6000
ctl start "$PROGRAM" --patient="Demo Patient" --pain-before=6
echo "(Ctrl-C ends the demo; the session stops with it.)"

say "massagectl monitor: the frequency held at 45 Hz on the body"
"$B/massagectl" monitor &
MON_PID=$!
# The practitioner lifts the pad during the pause between the sides and
# puts it down on the other side.
while [ "$(prop Site)" = "upper trapezius, left" ]; do sleep 0.2; done
sim contact 0
sleep 3
sim contact 1 6000
while [ "$(prop State)" != idle ]; do sleep 0.5; done
sleep 0.3
kill "$MON_PID" 2>/dev/null || true
wait "$MON_PID" 2>/dev/null || true
MON_PID=
echo

id=$(prop SessionId)
ctl pain "$id" after 3
say "The treatment history"
ctl history
say "Session $id, site by site"
ctl history show "$id"
say "The same as JSON, for the clinic's records"
ctl export json | head -c 600
echo " ..."

say "On a station's screen"
cat <<'TXT'
A practitioner uses the same through Cockpit: install cockpit-massaged
(make deb; apt install ./build/deb/cockpit-massaged_*.deb), then open
https://STATION:9090/massaged and log in as a member of the "massage"
group; the station's own display opens
http://localhost:9090/cockpit/@localhost/massaged/index.html in a kiosk
browser. The page and its browser test: docs/ui.md.
TXT
