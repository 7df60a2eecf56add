# SPDX-License-Identifier: MIT
# tests/integration/lib.sh: helpers for the integration tests. Each test
# runs the real massaged binary against the simulated massager and talks
# to it through its debug control socket (massaged-ctl).
#
# Environment: MASSAGED (binary), MASSAGED_CTL (client), MASSAGED_WRAPPER
# (e.g. "valgrind ..."), set by run.sh; MASSAGECTL (the D-Bus client,
# default build/massagectl beside the tests).
set -u

MASSAGECTL=${MASSAGECTL:-$(cd "$(dirname "$0")/../.." && pwd)/build/massagectl}

T=$(mktemp -d /tmp/massaged-test.XXXXXX)
SOCK=$T/ctl
LOG=$T/log
PID=
BUS_PID=
# Never the machine's own system bus: start_bus makes a private one here.
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus
export MASSAGECTL_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS
# Under valgrind everything is ~20x slower.
SLOW=1
case "${MASSAGED_WRAPPER:-}" in *valgrind*) SLOW=8 ;; esac

cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -KILL "$PID" 2>/dev/null
	fi
	[ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	echo "--- daemon log:" >&2
	cat "$LOG" >&2 2>/dev/null
	exit 1
}

# conf TEXT: the configuration file the daemon will read
conf() {
	printf '%s\n' "$@" >"$T/massaged.conf"
}

# start_daemon [ARGS...]: start with the stored test calibration
start_daemon() {
	# Under valgrind a period can take far longer than 100 ms.
	[ -f "$T/massaged.conf" ] || [ "$SLOW" = 1 ] ||
		conf "[Safety]" "SensorLossMSec=1000" "WarmupMSec=3000"
	[ -f "$T/massaged.conf" ] || conf "# defaults"
	[ -n "${NO_CALIBRATION:-}" ] || cp "$(dirname "$0")/sim-calibration" "$T/calibration"
	[ -d "$T/programs" ] && export MASSAGED_PROGRAMS_PATH="$T/programs"
	STATE_DIRECTORY=$T ${MASSAGED_WRAPPER:-} "$MASSAGED" --simulate \
		--config "$T/massaged.conf" --control-socket "$SOCK" "$@" \
		>"$LOG" 2>&1 &
	PID=$!
	wait_for state idle 10
}

ctl() {
	"$MASSAGED_CTL" "$SOCK" "$@"
}

# get KEY: one value from "status"
get() {
	ctl status 2>/dev/null | sed -n "s/^$1=//p"
}

# wait_for KEY VALUE SECONDS
wait_for() {
	local i=0 n=$(( $3 * 20 * SLOW ))
	while [ $i -lt $n ]; do
		[ "$(get "$1")" = "$2" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "$1 did not become $2 within $(( $3 * SLOW )) s (is $(get "$1"))"
}

# t_ns of an "ok t_ns=..." answer
ctl_t() {
	ctl "$@" | sed -n 's/^ok t_ns=//p'
}

# start_at HZ: head on a body, start, wait until held near HZ
start_at() {
	ctl contact 1 3000 >/dev/null || fail "contact"
	ctl start "$1" 1000 >/dev/null || fail "start $1: $(ctl start "$1" 1000)"
	wait_for state running 2
	local i=0
	while [ $i -lt $(( 60 * SLOW )) ]; do
		awk -v f="$(get freq_hz)" -v t="$1" \
			'BEGIN { exit !(f > t - 1 && f < t + 1) }' && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "did not reach $1 Hz (at $(get freq_hz) Hz)"
}

# ms between two CLOCK_MONOTONIC ns stamps
ms_between() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'
}

# stop_daemon: SIGTERM, expect exit status 0 and the motor off
stop_daemon() {
	kill -TERM "$PID"
	wait "$PID"
	local rc=$?
	PID=
	[ $rc -eq 0 ] || fail "daemon exited with status $rc"
}

# for_nobody FILE: the path of a copy of FILE that the user nobody may run.
# Tests that run our binaries as another user must not run them from the
# checkout: a clone under a home directory (0700 on Debian) or mktemp -d
# is closed to everyone else, and exec would fail with "Permission
# denied". The copy is in $T, which start_bus and the tests open (0755).
for_nobody() {
	local copy
	mkdir -p "$T/bin"
	chmod 0755 "$T" "$T/bin"
	copy="$T/bin/$(basename "$1")"
	cp "$1" "$copy" && chmod 0755 "$copy" || fail "cannot copy $1 to $copy"
	setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$copy" ||
		fail "the user nobody cannot run $copy (is /tmp open to every user?)"
	echo "$copy"
}

assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

# assert_motor_off WHEN: off as the daemon says and as the simulated board
# says (the duty its motor is driven with, kept apart from the daemon's)
assert_motor_off() {
	local s
	s=$(ctl status 2>/dev/null)
	assert_eq "$(echo "$s" | sed -n 's/^duty_permille=//p')" 0 "duty ($1)"
	assert_eq "$(echo "$s" | sed -n 's/^sim_duty_permille=//p')" 0 \
		"the simulated motor's duty ($1)"
}

# --- D-Bus ------------------------------------------------------------------
# The daemon's interface on a private dbus-daemon: busctl drives it, gdbus
# reads the names of the errors it returns (busctl prints only their text).
DEST=org.massaged.Massager1
OBJ=/org/massaged/Massager1
IFACE=org.massaged.Massager1
TOP=$(cd "$(dirname "$0")/../.." && pwd)

# start_bus [policy]: a private system-type bus. Without an argument its
# policy lets everyone do everything, so that what a test sees is the
# daemon's own check; with "policy" it has the defaults of Debian's system
# bus plus our shipped daemon/org.massaged.Massager1.conf (and root may
# own the name, since the test daemon runs as root).
start_bus() {
	local pol
	if [ "${1:-}" = policy ]; then
		pol="<policy context=\"default\">
    <allow user=\"*\"/>
    <deny own=\"*\"/>
    <deny send_type=\"method_call\"/>
    <allow send_type=\"signal\"/>
    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>
    <allow send_requested_reply=\"true\" send_type=\"error\"/>
    <allow receive_type=\"method_call\"/>
    <allow receive_type=\"method_return\"/>
    <allow receive_type=\"error\"/>
    <allow receive_type=\"signal\"/>
    <allow send_destination=\"org.freedesktop.DBus\"
           send_interface=\"org.freedesktop.DBus\"/>
    <allow send_destination=\"org.freedesktop.DBus\"
           send_interface=\"org.freedesktop.DBus.Introspectable\"/>
    <allow send_destination=\"org.freedesktop.DBus\"
           send_interface=\"org.freedesktop.DBus.Properties\"/>
  </policy>
  <policy user=\"root\"><allow own=\"$DEST\"/></policy>
  <include>$TOP/daemon/org.massaged.Massager1.conf</include>"
	else
		pol="<policy context=\"default\">
    <allow user=\"*\"/>
    <allow own=\"*\"/>
    <allow send_type=\"method_call\"/>
    <allow eavesdrop=\"true\"/>
    <allow send_destination=\"*\" eavesdrop=\"true\"/>
  </policy>"
	fi
	cat >"$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus</listen>
  <auth>EXTERNAL</auth>
  $pol
</busconfig>
EOF
	# other users (the "outside the group" tests) must reach the socket
	chmod 755 "$T"
	BUS_PID=$(dbus-daemon --config-file="$T/bus.conf" --fork --print-pid) ||
		fail "dbus-daemon did not start"
	local i=0
	while [ ! -S "$T/bus" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

# start_bus_daemon [ARGS]: the daemon, then wait until it owns its name
start_bus_daemon() {
	start_daemon "$@"
	local i=0
	while ! busctl status "$DEST" >/dev/null 2>&1; do
		[ $i -lt $((100 * SLOW)) ] || fail "the daemon did not take $DEST"
		sleep 0.05
		i=$((i + 1))
	done
}

# bcall METHOD [SIGNATURE ARGS...]: call, print the reply as busctl does
bcall() {
	local m=$1
	shift
	busctl call "$DEST" "$OBJ" "$IFACE" "$m" "$@"
}

# bget PROPERTY: the value alone, strings unquoted
bget() {
	busctl get-property "$DEST" "$OBJ" "$IFACE" "$1" |
		sed 's/^[^ ]* //; s/^"//; s/"$//'
}

# gcall METHOD ARGS...: call with gdbus (GVariant text arguments); on
# failure print the error's name alone
gcall() {
	local m=$1 out
	shift
	if out=$(gdbus call --system --dest "$DEST" --object-path "$OBJ" \
		--method "$IFACE.$m" "$@" 2>&1); then
		echo "$out"
		return 0
	fi
	echo "$out" | sed -n 's/.*GDBus\.Error:\([A-Za-z0-9_.]*\):.*/\1/p' | head -1
	return 1
}

# berr NAME METHOD ARGS...: the call must fail with
# org.massaged.Massager1.Error.NAME (or NAME when it has a dot)
berr() {
	local want=$1 got
	shift
	case $want in *.*) ;; *) want=$IFACE.Error.$want ;; esac
	got=$(gcall "$@") && fail "$* succeeded ($got); expected $want"
	[ "$got" = "$want" ] || fail "$*: expected $want, got '$got'"
}

# wait_prop PROPERTY VALUE SECONDS
wait_prop() {
	local i=0 n=$(( $3 * 20 * SLOW ))
	while [ $i -lt $n ]; do
		[ "$(bget "$1")" = "$2" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "$1 did not become $2 within $(( $3 * SLOW )) s (is $(bget "$1"))"
}

# program NAME LINES...: a program file for this test only
program() {
	mkdir -p "$T/programs"
	local name=$1
	shift
	printf '%s\n' "$@" >"$T/programs/$name.program"
}

# history_outcome ID: the outcome of session ID from ListSessions
history_outcome() {
	gdbus call --system --dest "$DEST" --object-path "$OBJ" \
		--method "$IFACE.ListSessions" 0 0 |
		tr '(' '\n' | grep "^uint64 $1, \|^$1, " | cut -d, -f6 |
		tr -d " '"
}
