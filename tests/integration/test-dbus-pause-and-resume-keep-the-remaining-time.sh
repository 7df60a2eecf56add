# Pause keeps the session and its remaining time; resume continues from
# there (after a ramp) rather than starting the step again.
. "$(dirname "$0")/lib.sh"
start_bus
start_bus_daemon
ctl contact 1 3000 >/dev/null
bcall StartManual duta{sv} 45 800 4000000 1 outlive_client b true >/dev/null ||
	fail "start"
sleep 2.5
bcall Pause || fail "pause"
wait_prop State paused 1
assert_eq "$(bget FaultReason)" "" "FaultReason of a person's pause"
assert_eq "$(bget FaultText)" "by request" "FaultText of a person's pause"
left1=$(bget Progress | cut -d' ' -f6)
sleep 1.5
left2=$(bget Progress | cut -d' ' -f6)
assert_eq "$left2" "$left1" "time left while paused"
assert_motor_off "paused"
echo "  left when paused: $((left1 / 1000)) ms"
# 4 s + 1 s ramp - 2.5 s run, + the ramp again after the pause
[ "$left1" -gt 2500000 ] && [ "$left1" -lt 4000000 ] ||
	fail "time left at pause: $left1"
bcall Resume || fail "resume"
wait_prop State running 1
t0=$(date +%s%N)
wait_prop State idle $((5 * SLOW))
ran=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "  ran after resume: $ran ms for $((left1 / 1000)) ms left"
[ "$ran" -gt $((left1 / 1000 - 300)) ] && [ "$ran" -lt $((left1 / 1000 + 1500)) ] ||
	fail "resumed session ran $ran ms, $((left1 / 1000)) ms were left"
stop_daemon
