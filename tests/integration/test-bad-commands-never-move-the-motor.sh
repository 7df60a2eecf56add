# Garbage, out-of-band targets and commands in the wrong state are refused
# and the motor stays off.
. "$(dirname "$0")/lib.sh"
start_daemon
for c in "" "start" "start abc" "start 120" "start 150" "start 85" \
	"start 5" "start 45 0" "start 45 2000" "start -45" "start 45 1 2 3" \
	"target 120" "resume" "stall 2" "contact 1 -3" "estop x" \
	"supply 99999999" "nonsense" "$(head -c 200 /dev/zero | tr '\0' A)"; do
	ctl $c >/dev/null 2>&1 && fail "accepted '$c'"
done
ctl "start 120" | grep -q "contraction band" || fail "no reason given for 120 Hz"
sleep 0.2
assert_eq "$(get state)" idle "state"
assert_motor_off "after bad commands"
stop_daemon
