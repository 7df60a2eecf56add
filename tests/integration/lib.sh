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
# Under valgrind everything is ~20x slower.
SLOW=1
case "${MASSAGED_WRAPPER:-}" in *valgrind*) SLOW=8 ;; esac

cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -KILL "$PID" 2>/dev/null
	fi
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

assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

assert_motor_off() {
	assert_eq "$(get duty_permille)" 0 "duty ($1)"
}
