# The accelerometer goes silent while driving: the drive goes off within
# the configured sensor-loss time (SensorLossMSec) plus a margin for the
# supervisor's wake-up, measured on the simulated motor itself (when its
# applied duty went to 0), not from what the daemon reports. Inside a
# start's warm-up (WarmupMSec, docs/safety.md) the loss counts from the
# warm-up's end.
. "$(dirname "$0")/lib.sh"
if [ "$SLOW" = 1 ]; then
	loss_ms=100
	warm_ms=1000
	conf "[Safety]" "SensorLossMSec=$loss_ms" "WarmupMSec=$warm_ms"
else
	loss_ms=1000	# lib.sh's configuration for slow runs
	warm_ms=3000
fi
# Telemetry reaches the supervisor in batches of 25 periods (25 ms), and
# its (not real-time) thread may be late on a loaded machine: 50 ms more.
margin_ms=$((75 * SLOW))
start_daemon
start_at 40
# lose the sensor once the start's warm-up is over
sleep "$(awk -v w="$warm_ms" 'BEGIN { print w / 1000 + 0.1 }')"
t0=$(ctl_t dropout 1)
wait_for state fault 2
off=$(get sim_drive_off_ns)
[ "$off" -gt "$t0" ] || fail "the simulated motor was not switched off after the dropout"
ms=$(ms_between "$t0" "$off")
echo "  dropout -> simulated motor off after $ms ms (SensorLossMSec=$loss_ms, bound $((loss_ms + margin_ms)) ms; $(get fault_reason)); the daemon says $(ms_between "$t0" "$(get drive_off_ns)") ms"
awk -v ms="$ms" -v lo="$loss_ms" -v hi="$((loss_ms + margin_ms))" \
	'BEGIN { exit !(ms >= lo * 0.9 && ms <= hi) }' ||
	fail "drive off $ms ms after the dropout, want $loss_ms..$((loss_ms + margin_ms)) ms"
assert_motor_off "after dropout"
ctl dropout 0 >/dev/null
sleep 0.2
assert_eq "$(get state)" fault "still latched"
assert_motor_off "still latched"

# Inside the warm-up: off by WarmupMSec + SensorLossMSec after the
# simulated motor was first driven.
ctl reset >/dev/null || fail "reset: $(ctl reset)"
wait_for state idle 2
ctl start 40 1000 >/dev/null || fail "start 40"
wait_for state running 2
sleep 0.2
t0=$(ctl_t dropout 1)
t_start=$(get sim_drive_on_ns)
[ "$t_start" -lt "$t0" ] || fail "the simulated motor was not driven before the dropout"
wait_for state fault $((2 + warm_ms / 1000))
off=$(get sim_drive_off_ns)
[ "$off" -gt "$t0" ] || fail "the simulated motor was not switched off after the dropout in the warm-up"
bound=$((warm_ms + loss_ms + margin_ms))
ms=$(ms_between "$t_start" "$off")
echo "  dropout $(ms_between "$t_start" "$t0") ms into a start -> simulated motor off $ms ms after it was first driven (bound WarmupMSec + SensorLossMSec + margin = $bound ms; $(get fault_reason))"
awk -v ms="$ms" -v hi="$bound" 'BEGIN { exit !(ms <= hi) }' ||
	fail "drive off $ms ms after the motor was first driven, want <= $bound ms"
assert_motor_off "after the dropout in the warm-up"
ctl dropout 0 >/dev/null
stop_daemon
