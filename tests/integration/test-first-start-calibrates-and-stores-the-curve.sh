# No stored calibration: the first start measures one in free air and
# stores it atomically; the next start loads it.
. "$(dirname "$0")/lib.sh"
NO_CALIBRATION=1
STATE_DIRECTORY=$T ${MASSAGED_WRAPPER:-} "$MASSAGED" --simulate \
	--config /dev/null --control-socket "$SOCK" >"$LOG" 2>&1 &
PID=$!
wait_for state calibrating 5
wait_for state idle 20
assert_eq "$(get calibrated)" yes "calibrated"
grep -q '^version 1' "$T/calibration" || fail "no stored curve"
[ "$(grep -c '^point' "$T/calibration")" -ge 4 ] || fail "too few points"
ls "$T"/.calibration.* >/dev/null 2>&1 && fail "temporary file left"
stop_daemon
STATE_DIRECTORY=$T "$MASSAGED" --simulate --config /dev/null \
	--control-socket "$SOCK" >"$LOG" 2>&1 &
PID=$!
wait_for state idle 5
grep -q "Loaded the calibration" "$LOG" || fail "not loaded"
stop_daemon
