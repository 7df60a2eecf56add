# The accelerometer goes silent while driving: the drive goes off.
. "$(dirname "$0")/lib.sh"
start_daemon
start_at 40
t0=$(ctl_t dropout 1)
wait_for state fault 2
ms=$(ms_between "$t0" "$(get drive_off_ns)")
echo "  dropout -> drive off after $ms ms ($(get fault_reason))"
assert_motor_off "after dropout"
ctl dropout 0 >/dev/null
sleep 0.2
assert_eq "$(get state)" fault "still latched"
stop_daemon
