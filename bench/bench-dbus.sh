#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/bench-dbus.sh MASSAGED MASSAGED_CTL BENCH_DBUS ECHO_SERVICE [BENCH_DBUS_ARGS...]
#
# What massaged's D-Bus API costs: a private dbus-daemon configured like
# the system bus (EXTERNAL auth, a unix socket, here in a temporary
# directory, with a permissive policy instead of the station's), the
# baseline dbus-echo-service on it, and massaged --simulate (SCHED_FIFO 40,
# 1 kHz, in contact at 3 N as bench-latency runs it) connected to it
# through DBUS_SYSTEM_BUS_ADDRESS. bench-dbus then starts a manual session
# at 45 Hz over D-Bus and measures (see bench/bench-dbus.c):
#   - Get and SetIntensity round trips, massaged against the echo service
#     (and a second echo service, the noise floor), interleaved call by
#     call;
#   - the control loop's wake-up latency p99 with the bus quiet, with the
#     CPUs kept busy without the bus, under a flood of Gets and under a
#     flood of Gets and SetIntensity calls, in turn, 3 x 5 s each.
# Nothing is pinned to a CPU: the flood, the echo service, dbus-daemon and
# the daemon's own threads share both CPUs with the control thread, as
# they would on a station where nobody set affinities.
# The last line is
#   dbus: get_p50_us=.. echo_p50_us=.. ratio=.. flood_calls_per_s=..
#         loop_p99_us_idle=.. loop_p99_us_flood=..
# Exit status non-zero when it could not measure (e.g. massaged does not
# serve org.massaged.Massager1), with the reason.
set -eu
MASSAGED=$1
CTL=$2
BENCH=$3
ECHO=$4
shift 4
PRIO=40
PERIOD_US=1000
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/massaged-bench-dbus.XXXXXX)
BUS=
ECHO_PID=
PID=
cleanup() {
	[ -z "$PID" ] || kill -TERM "$PID" 2>/dev/null || true
	[ -z "$PID" ] || wait "$PID" 2>/dev/null || true
	# shellcheck disable=SC2086 # two pids
	[ -z "$ECHO_PID" ] || kill -TERM $ECHO_PID 2>/dev/null || true
	[ -z "$BUS" ] || kill -TERM "$BUS" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

die() {
	echo "bench-dbus: $*" >&2
	exit 1
}

command -v dbus-daemon >/dev/null ||
	die "dbus-daemon missing (apt-get install dbus-daemon)"

cat >"$T/bus.conf" <<EOF
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
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$T/bus.conf" --nofork --nosyslog \
	>"$T/bus.log" 2>&1 &
BUS=$!
i=0
until [ -S "$T/bus" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$T/bus.log" >&2; die "dbus-daemon did not start"; }
	sleep 0.05
done
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus
export DBUS_SYSTEM_BUS_ADDRESS

# Two echo services: the baseline, and a second one whose ratio to the
# first shows what two identical services differ by on this machine.
"$ECHO" >"$T/echo.log" 2>&1 &
ECHO_PID=$!
"$ECHO" org.massaged.BenchEcho2 >"$T/echo2.log" 2>&1 &
ECHO_PID="$ECHO_PID $!"
i=0
until grep -qs '^ready' "$T/echo.log" && grep -qs '^ready' "$T/echo2.log"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$T/echo.log" "$T/echo2.log" >&2; die "dbus-echo-service did not start"; }
	sleep 0.05
done

cp "$here/../tests/integration/sim-calibration" "$T/calibration"
STATE_DIRECTORY=$T "$MASSAGED" --simulate --config /dev/null \
	--priority $PRIO --period-us $PERIOD_US --control-socket "$T/ctl" \
	>"$T/log" 2>&1 &
PID=$!
i=0
# Under load (make check beside us) the start has taken more than 5 s.
until "$CTL" "$T/ctl" status 2>/dev/null | grep -q '^state=idle'; do
	i=$((i + 1))
	[ $i -lt 400 ] || {
		cat "$T/log" >&2
		die "massaged did not become idle within 20 s (state: $("$CTL" "$T/ctl" status 2>&1 | sed -n 's/^state=//p'))"
	}
	sleep 0.05
done
# The head on a body, as in bench-latency: the loop holds 45 Hz in contact.
"$CTL" "$T/ctl" contact 1 3000 >/dev/null

echo "bus: private $(dbus-daemon --version | head -n 1), $DBUS_SYSTEM_BUS_ADDRESS; $(nproc) CPUs, kernel $(uname -r), nothing pinned; load average $(cut -d" " -f1-3 /proc/loadavg)"
rc=0
"$BENCH" --control-socket "$T/ctl" --second-echo org.massaged.BenchEcho2 "$@" ||
	rc=$?
if [ $rc -ne 0 ]; then
	echo "--- massaged log (last 20 lines):" >&2
	tail -n 20 "$T/log" >&2
	exit $rc
fi
