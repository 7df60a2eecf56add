# The accelerometer goes silent while driving: the drive goes off within
# the configured sensor-loss time (SensorLossMSec) plus a margin for the
# supervisor's wake-up, measured on the simulated motor itself (when its
# applied duty went to 0), not from what the daemon reports.
. "$(dirname "$0")/lib.sh"
if [ "$SLOW" = 1 ]; then
	loss_ms=100
	conf "[Safety]" "SensorLossMSec=$loss_ms"
else
	loss_ms=1000	# lib.sh's configuration for slow runs
fi
# Telemetry reaches the supervisor at least every 25 periods; the main
# loop may be a few periods late on a loaded machine.
margin_ms=$((50 * SLOW))
start_daemon
start_at 40
# A start tolerates an estimator warming up for WarmupMSec (1000 ms by
# default, docs/safety.md): lose the sensor once that is over.
warm_ms=1000
[ "$SLOW" = 1 ] || warm_ms=3000
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
stop_daemon
