# E-stop: motor off at once, latched until released AND reset; a reset
# never restarts the motor.
. "$(dirname "$0")/lib.sh"
start_daemon
start_at 45
t0=$(ctl_t estop 1)
wait_for state estop 2
echo "  e-stop -> drive off after $(ms_between "$t0" "$(get drive_off_ns)") ms"
assert_motor_off "after e-stop"
ctl start 45 >/dev/null && fail "started with the e-stop latched"
ctl reset >/dev/null && fail "reset while the e-stop is still pressed"
ctl estop 0 >/dev/null
sleep 0.2
assert_eq "$(get state)" estop "released but not reset"
assert_motor_off "released"
ctl reset >/dev/null || fail "reset after release: $(ctl reset)"
assert_eq "$(get state)" idle "after reset"
sleep 0.3
assert_motor_off "after reset"
start_at 45
stop_daemon
